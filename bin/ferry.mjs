#!/usr/bin/env node
// The `ferry` command of a checkout (package.json "bin": `npx ferry ...`, `npm start`): runs the
// compiled CLI, dist/src/cli/main.js, compiling the TypeScript first when dist/ is missing or
// older than the sources (the first run after `npm ci`, or after an edit). Otherwise it only
// compares file times (a few ms) and starts at once. Build messages go to stderr, so stdout stays
// the command's own (--json output).
//
// Installed images that ship dist/ without sources or TypeScript (deploy/Dockerfile) run
// dist/src/cli/main.js directly; this launcher also runs a dist/ it cannot rebuild, with a warning.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
/** Written after each successful build, with the time the build started. */
const STAMP = join(ROOT, 'dist/.ferry-build-stamp');
const BUILD_CONFIG = 'tsconfig.build.json';
/** Sources -> where tsc writes their JavaScript. */
const TREES = [
  { src: join(ROOT, 'src'), out: join(ROOT, 'dist/src') },
  { src: join(ROOT, 'wal/src'), out: join(ROOT, 'wal/dist') },
];
const CONFIGS = ['tsconfig.base.json', BUILD_CONFIG, 'wal/tsconfig.json'].map((f) => join(ROOT, f));

const mtime = (p) => { try { return statSync(p).mtimeMs; } catch { return -1; } };

/** Why dist/ needs a build (a path), or null when it is up to date. */
function staleReason() {
  if (!existsSync(MAIN)) return 'dist/src/cli/main.js is missing';
  const stamp = mtime(STAMP);
  for (const c of CONFIGS) if (mtime(c) > stamp) return `${relative(ROOT, c)} changed`;
  for (const { src, out } of TREES) {
    const stack = [src];
    while (stack.length > 0) {
      const dir = stack.pop();
      let entries;
      try { entries = readdirSync(dir, { withFileTypes: true }); } catch { continue; }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) { stack.push(p); continue; }
        if (!e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) continue;
        const t = mtime(p);
        // Newer than its output and than the last build (tsc leaves unchanged files' output alone).
        const js = join(out, relative(src, p)).replace(/\.ts$/, '.js');
        if (t > stamp && t > mtime(js)) return `${relative(ROOT, p)} is newer than ${relative(ROOT, js)}`;
      }
    }
  }
  return null;
}

function findTsc() {
  try {
    return join(dirname(createRequire(join(ROOT, 'package.json')).resolve('typescript/package.json')), 'bin/tsc');
  } catch {
    return null;
  }
}

function build(reason) {
  const tsc = findTsc();
  if (tsc === null) {
    if (existsSync(MAIN)) {
      process.stderr.write(`ferry: ${reason}, but TypeScript is not installed (npm ci without --omit=dev); running the existing build\n`);
      return true;
    }
    process.stderr.write('ferry: dist/ is missing and TypeScript is not installed: run `npm ci` (with dev dependencies), then `npm run build`\n');
    return false;
  }
  const started = Date.now();
  process.stderr.write(`ferry: compiling TypeScript (${reason}) ...\n`);
  const run = (extra) => spawnSync(process.execPath, [tsc, '-b', BUILD_CONFIG, ...extra], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  let res = run([]);
  // Build info kept from an earlier build whose outputs were deleted: tsc thinks it is up to date.
  if (res.status === 0 && !existsSync(MAIN)) res = run(['--force']);
  if (res.status !== 0 || !existsSync(MAIN)) {
    process.stderr.write(`ferry: the TypeScript build failed (errors above; \`npx tsc -b ${BUILD_CONFIG}\` repeats it)\n`);
    return false;
  }
  writeFileSync(STAMP, `built by bin/ferry.mjs with tsc -b ${BUILD_CONFIG}\n`);
  const at = new Date(started);
  utimesSync(STAMP, at, at);
  process.stderr.write(`ferry: compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return true;
}

const reason = staleReason();
if (reason !== null && !build(reason)) process.exit(1);
await import(pathToFileURL(MAIN).href);
