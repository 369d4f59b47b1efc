// The layer rule, checked on the sources: data flows server -> broker (handlers) -> log -> wal,
// then uploader -> objects and cluster (metadata); src/node assembles the process and is the only
// folder (besides the CLI) that may reach everything. Each folder lists what it may import; no
// import cycle between files (type imports included); protocol and common do no I/O; the WAL
// package knows nothing of src/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;

/** What each src/ folder may import besides itself. Anything not listed is a violation. */
const ALLOWED: Record<string, readonly string[]> = {
  common: [],
  protocol: ['common'],
  ops: ['common', 'protocol', 'topics', 'server'],
  objects: ['common', 'protocol'],
  log: ['common', 'protocol'],
  groups: ['common', 'protocol'],
  telemetry: ['common', 'protocol'],
  schema: ['common', 'protocol', 'cluster', 'server'],
  cluster: ['common', 'protocol', 'objects', 'groups'],
  topics: ['common', 'protocol', 'cluster', 'log'],
  server: ['common', 'protocol'],
  txn: ['common', 'protocol', 'cluster'],
  security: ['common', 'protocol', 'cluster', 'server'],
  broker: ['common', 'protocol', 'server', 'log', 'groups', 'topics', 'ops', 'txn', 'security', 'telemetry', 'schema'],
  uploader: ['common', 'protocol', 'ops', 'log', 'objects', 'cluster', 'topics'],
  failover: ['common', 'protocol', 'ops', 'log', 'objects', 'cluster', 'uploader'],
  cleaner: ['common', 'protocol', 'ops', 'log', 'objects', 'cluster', 'topics', 'uploader'],
  node: ['common', 'protocol', 'ops', 'log', 'objects', 'cluster', 'topics', 'groups', 'server', 'broker', 'uploader', 'failover', 'txn', 'admin', 'security', 'cleaner', 'telemetry', 'schema'],
  admin: ['common', 'protocol', 'server', 'security'],
  perf: ['common', 'protocol', 'admin'],
  cost: ['common'],
  drill: ['common', 'protocol', 'admin', 'perf', 'cluster'],
  cli: ['common', 'protocol', 'ops', 'admin', 'perf', 'cost', 'drill', 'cluster', 'node', 'security'],
};
/** Folders that must do no I/O: no node: modules that touch files, sockets or processes. */
const NO_IO = ['protocol', 'common'];
const IO_MODULES = /^node:(fs|fs\/promises|net|tls|http|https|child_process|dgram|worker_threads)$/;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Every module specifier of a file: static imports, re-exports and dynamic import(). */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)'([^']+)'/gm)].map((m) => m[1]!);
}

const resolveTs = (from: string, spec: string) => normalize(join(dirname(from), spec)).replace(/\.js$/, '.ts');
const folderOf = (file: string) => relative(join(ROOT, 'src'), file).split('/')[0]!;

const SRC = walk(join(ROOT, 'src'));
const graph = new Map<string, string[]>(SRC.map((f) => [f, specifiers(f).filter((s) => s.startsWith('.')).map((s) => resolveTs(f, s))]));

test('every src/ folder imports only the folders the layer rule allows', () => {
  const violations: string[] = [];
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    const allowed = ALLOWED[from];
    if (!allowed) { violations.push(`${relative(ROOT, file)}: folder src/${from} is not in the layer table`); continue; }
    for (const t of targets) {
      const to = folderOf(t);
      if (to !== from && !allowed.includes(to)) violations.push(`${relative(ROOT, file)} -> ${relative(ROOT, t)} (${from} may not import ${to})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the layer table itself has no cycle between folders', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === 'done') return;
    assert.notEqual(state.get(f), 'visiting', `folder cycle: ${[...path, f].join(' -> ')}`);
    state.set(f, 'visiting');
    for (const t of ALLOWED[f] ?? []) visit(t, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of Object.keys(ALLOWED)) visit(f, []);
});

test('no import cycle between src/ files (type imports included)', () => {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const strong = (v: string): void => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) { strong(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) { onStack.delete(w); comp.push(relative(ROOT, w)); if (w === v) break; }
      if (comp.length > 1) cycles.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) strong(v);
  assert.deepEqual(cycles, []);
});

test('protocol/ and common/ do no I/O; the WAL package imports nothing from src/', () => {
  for (const f of SRC.filter((x) => NO_IO.includes(folderOf(x)))) {
    for (const s of specifiers(f)) assert.doesNotMatch(s, IO_MODULES, `${relative(ROOT, f)} imports ${s}`);
  }
  for (const f of walk(join(ROOT, 'wal/src'))) {
    for (const s of specifiers(f)) assert.ok(!s.includes('/src/') && !s.startsWith('../../'), `${relative(ROOT, f)} imports ${s}`);
  }
});

test('every folder of src/ has a folder of tests', () => {
  const missing = Object.keys(ALLOWED).filter((f) => {
    try { return !statSync(join(ROOT, 'test', f)).isDirectory(); } catch { return true; }
  });
  assert.deepEqual(missing, [], 'test/<folder> per src/<folder>');
});
