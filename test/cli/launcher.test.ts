// bin/ferry.mjs (`npx ferry`, `npm start`) in a copy of the checkout: the first run compiles,
// the next ones start without compiling, an edited source compiles again, a type error stops it.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Moves the last build `seconds` into the past, so that an edit now is newer than it. */
function backdateBuild(dir: string, seconds = 120): void {
  backdate(join(dir, 'dist'), seconds);
  backdate(join(dir, 'wal/dist'), seconds);
}

function backdate(path: string, seconds: number): void {
  const t = new Date(Date.now() - seconds * 1000);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) backdate(join(path, e), seconds);
  else utimesSync(path, t, t);
}

function run(dir: string, args: string[]): { code: number; stdout: string; stderr: string; ms: number } {
  const started = Date.now();
  const r = spawnSync(process.execPath, [join(dir, 'bin/ferry.mjs'), ...args], { cwd: dir, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

describe('bin/ferry.mjs', { timeout: 300_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-launcher-'));
    for (const p of ['bin', 'src', 'wal/src', 'package.json', 'tsconfig.base.json', 'tsconfig.json', 'tsconfig.build.json', 'wal/package.json', 'wal/tsconfig.json']) {
      cpSync(join(ROOT, p), join(dir, p), { recursive: true });
      // Sources as of long ago, so a build backdated by backdateBuild() is still newer than them.
      backdate(join(dir, p), 3600);
    }
    // The checkout's dependencies, except the workspace link, which must point at this copy's wal/.
    mkdirSync(join(dir, 'node_modules/@ferry'), { recursive: true });
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      if (name === '@ferry' || name === '.package-lock.json') continue;
      symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
    }
    symlinkSync(join(dir, 'wal'), join(dir, 'node_modules/@ferry/wal'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the first run compiles dist/ and runs the command; stdout is only the command\'s', () => {
    const r = run(dir, ['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ferry 0.1.0\n');
    assert.match(r.stderr, /^ferry: compiling TypeScript \(dist\/src\/cli\/main\.js is missing\) \.\.\.\n/);
    assert.match(r.stderr, /ferry: compiled in \d+\.\d s\n$/);
  });

  test('nothing changed: no compile, started at once', () => {
    const r = run(dir, ['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ferry 0.1.0\n');
    assert.equal(r.stderr, '');
    assert.ok(r.ms < 10_000, `${r.ms} ms`);
  });

  test('an edited source is compiled before the run; a touched but unchanged one only once', () => {
    const file = join(dir, 'src/cli/main.ts');
    backdateBuild(dir);
    writeFileSync(file, readFileSync(file, 'utf8').replace("'ferry 0.1.0\\n'", "'ferry 0.1.0-edited\\n'"));
    let r = run(dir, ['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ferry 0.1.0-edited\n');
    assert.match(r.stderr, /compiling TypeScript \(src\/cli\/main\.ts is newer than dist\/src\/cli\/main\.js\)/);
    r = run(dir, ['version']);
    assert.equal(r.stderr, '', 'compiled once');
    // Touched without a change: tsc leaves main.js as it is; the build stamp says it was checked.
    backdateBuild(dir);
    const now = new Date();
    utimesSync(join(dir, 'src/cli/output.ts'), now, now);
    r = run(dir, ['version']);
    assert.match(r.stderr, /compiling TypeScript/);
    r = run(dir, ['version']);
    assert.equal(r.stderr, '', 'not again');
  });

  test('a type error stops it with the compiler\'s message, exit 1', () => {
    const file = join(dir, 'src/cli/output.ts');
    backdateBuild(dir);
    writeFileSync(file, `${readFileSync(file, 'utf8')}\nexport const broken: number = 'not a number';\n`);
    const r = run(dir, ['version']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /src\/cli\/output\.ts.*error TS2322/);
    assert.match(r.stderr, /ferry: the TypeScript build failed/);
  });
});
