// Crash soak (not part of the suite): the crash test's cycle, many more times and with a larger
// ring. Each cycle spawns a child that appends from 8 appenders (and trims), SIGKILLs it at a random
// moment, reopens and checks every acknowledged record byte-exact and in order.
// Usage: node --conditions=ferry-source --import tsx wal/bench/wal-soak.ts [--minutes 10] [--cycles N]
//        [--capacity-mib 64] [--path <file>] [--seed N]
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CrashModel, crashCycle } from '../test/crash-harness.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const minutes = Number(arg('minutes', '10'));
const cyclesMax = Number(arg('cycles', String(Number.MAX_SAFE_INTEGER)));
const capacityBytes = Number(arg('capacity-mib', '64')) * 1024 * 1024;
let seed = Number(arg('seed', String(Date.now() % 1e9))) >>> 0;
const dir = arg('path', '') ? '' : fs.mkdtempSync(join(tmpdir(), 'ferry-wal-soak-'));
const path = arg('path', '') || join(dir, 'soak.wal');

console.log(`WAL crash soak on ${path}: up to ${minutes} min / ${cyclesMax} cycles, capacity ${capacityBytes >> 20} MiB, seed ${seed}`);
const model = new CrashModel();
const end = Date.now() + minutes * 60_000;
let cycles = 0;
let acked = 0;
let checked = 0;
try {
  while (Date.now() < end && cycles < cyclesMax) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const killAfterMs = 10 + (seed % 1500);
    const r = await crashCycle(path, model, capacityBytes, killAfterMs, seed);
    cycles++;
    acked += r.acked;
    checked += r.checked;
    if (cycles % 10 === 0) {
      console.log(`${cycles} cycles: ${acked} acknowledged appends, ${checked} acknowledged records re-checked after kills, trim ${r.trimOffset}`);
    }
  }
  console.log(`OK: ${cycles} SIGKILL cycles, ${acked} acknowledged appends, ${checked} re-checks, no acknowledged record lost`);
} catch (err) {
  console.error(`FAILED after ${cycles} cycles (seed ${seed}): ${String(err)}`);
  process.exitCode = 1;
} finally {
  if (dir && process.exitCode !== 1) fs.rmSync(dir, { recursive: true, force: true });
}
