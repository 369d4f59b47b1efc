// Real processes, real files, SIGKILL at random moments: acknowledged means durable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CrashModel, crashCycle } from './crash-harness.js';
import { tempDir } from './helpers.js';

const CYCLES = 50;

test(`SIGKILL during appends, ${CYCLES} cycles: every acknowledged record survives byte-exact and in order`, async (t) => {
  const path = join(tempDir(t), 'crash.wal');
  const model = new CrashModel();
  let seed = 12345;
  let acked = 0;
  let checked = 0;
  let trims = 0;
  let lastTrim = 0n;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const killAfterMs = 20 + (seed % 200);
    const r = await crashCycle(path, model, 4 * 1024 * 1024, killAfterMs, seed);
    acked += r.acked;
    checked += r.checked;
    if (r.trimOffset > lastTrim) trims++;
    lastTrim = r.trimOffset;
  }
  t.diagnostic(`${CYCLES} kills, ${acked} acknowledged appends, ${checked} acknowledged records re-checked, trim moved in ${trims} cycles`);
  assert.ok(acked > CYCLES * 10, 'children acknowledged appends before being killed');
  assert.ok(trims > 0, 'trim was exercised');
});
