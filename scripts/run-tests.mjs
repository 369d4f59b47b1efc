#!/usr/bin/env node
// Runs every *.test.ts under test/ and wal/test/ with Node's test runner (through tsx, on the
// sources). Extra arguments narrow the set: `node scripts/run-tests.mjs wal protocol`.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const roots = ['test', 'wal/test'];

function walk(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const filters = process.argv.slice(2);
const files = roots.flatMap((r) => walk(join(root, r), []))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
// A test file that never exits (a hook waiting forever, a leaked handle) would hold the suite until
// CI's own limit, with nothing said: past the deadline the run is killed and the files still
// running are named.
const deadlineS = Number(process.env.FERRY_TEST_DEADLINE_S ?? 2700);
const child = spawn(process.execPath, [
  '--conditions=ferry-source', '--import', 'tsx', '--import', join(root, 'test/helpers/optional-deps.mjs'),
  '--test', '--test-reporter=spec', `--test-concurrency=${process.env.FERRY_TEST_CONCURRENCY ?? 2}`,
  ...files,
], { cwd: root, stdio: 'inherit', detached: true });
const timer = setTimeout(() => {
  const running = spawnSync('ps', ['-eo', 'etimes=,args='], { encoding: 'utf8' }).stdout.split('\n')
    .filter((l) => l.includes('--test-concurrency') && l.includes(root) && !l.includes('--test-reporter')).map((l) => l.trim().slice(0, 300));
  console.error(`run-tests: the suite did not finish within ${deadlineS} s (FERRY_TEST_DEADLINE_S); test files still running (seconds, command):`);
  for (const l of running) console.error(`  ${l}`);
  try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  process.exit(1);
}, deadlineS * 1000);
child.on('exit', (code, signal) => {
  clearTimeout(timer);
  process.exit(code ?? (signal ? 1 : 0));
});
