#!/usr/bin/env node
// Runs every *.test.ts under test/ and wal/test/ with Node's test runner (through tsx, on the
// sources). Extra arguments narrow the set: `node scripts/run-tests.mjs wal protocol`.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

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
const res = spawnSync(process.execPath, [
  '--conditions=ferry-source', '--import', 'tsx', '--import', join(root, 'test/helpers/optional-deps.mjs'),
  '--test', '--test-reporter=spec', `--test-concurrency=${process.env.FERRY_TEST_CONCURRENCY ?? 2}`,
  ...files,
], { cwd: root, stdio: 'inherit' });
process.exit(res.status ?? 1);
