import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConfig } from '../../src/cli/config-command.js';
import { ferryProcess } from './run-cli.js';

function check(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = runConfig(argv, { out: (t) => { stdout += t; }, err: (t) => { stderr += t; } }, env, '/');
  return { code, stdout, stderr };
}

describe('ferry config check', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ferry-config-check-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a valid .properties file: OK, the explicit keys, exit 0', () => {
    const f = join(dir, 'good.properties');
    writeFileSync(f, 'num.partitions=6\nlog.level=debug\n');
    const r = check(['check', f]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^OK /);
    assert.match(r.stdout, /num\.partitions=6/);
    assert.match(r.stdout, /log\.level=debug/);
  });

  test('an unknown key is named with its file and line, exit 2', () => {
    const f = join(dir, 'unknown.properties');
    writeFileSync(f, 'num.partitions=6\nnum.partitons=7\n');
    const r = check(['check', f]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^INVALID /);
    assert.match(r.stderr, /num\.partitons/);
    assert.match(r.stderr, /unknown\.properties:2/);
  });

  test('a bad value names the key and what was expected; --json gives the key', () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify({ 'num.partitions': 'many' }));
    const r = check(['check', f, '--json']);
    assert.equal(r.code, 2);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.ok, false);
    assert.equal(doc.key, 'num.partitions');
    assert.match(doc.error, /num\.partitions/);
  });

  test('FERRY_* environment counts unless --no-env; flags after the file are checked too', () => {
    const f = join(dir, 'env.properties');
    writeFileSync(f, 'num.partitions=2\n');
    const bad = check(['check', f], { FERRY_LOG_LEVEL: 'loud' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /log\.level/);
    assert.match(bad.stderr, /FERRY_LOG_LEVEL/);
    assert.equal(check(['check', f, '--no-env'], { FERRY_LOG_LEVEL: 'loud' }).code, 0);
    const flag = check(['check', f, '--no-env', '--wal.capacity.bytes=12x']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /wal\.capacity\.bytes/);
  });

  test('a missing file and missing arguments', () => {
    const r = check(['check', join(dir, 'nope.properties')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /config/);
    assert.match(r.stderr, /ENOENT/);
    assert.equal(check(['check']).code, 2);
    assert.equal(check([]).code, 2);
    assert.equal(check(['lint', 'x']).code, 2);
  });

  test('the example of docs/operations.md is true: its file passes with the output shown', () => {
    const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    const block = /```console\n\$ cat \/etc\/ferry\/server\.properties\n([\s\S]*?)\$ ferry config check \/etc\/ferry\/server\.properties\n([\s\S]*?)\$ ferry config check/.exec(doc);
    assert.ok(block, 'the config check example in docs/operations.md');
    const f = join(dir, 'server.properties');
    writeFileSync(f, block[1]!);
    const r = check(['check', f, '--no-env']);
    assert.equal(r.code, 0, r.stderr);
    // The documented lines (up to the elided memory table) are the start of the real output.
    const shown = block[2]!.split('\n').filter((l) => l.trim() !== '...' && l !== '').map((l) => l.replace('/etc/ferry/server.properties', f));
    assert.deepEqual(r.stdout.split('\n').slice(0, shown.length), shown);
    // And the 0.0.0.0 trap the doc describes.
    writeFileSync(f, 'listeners=PLAINTEXT://0.0.0.0:9092\n');
    const bare = check(['check', f, '--no-env']);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /advertised\.listeners/);
  });

  test('through the real entry point: exit status 0 and 2', async () => {
    const good = join(dir, 'p-good.properties');
    writeFileSync(good, 'num.partitions=3\n');
    const bad = join(dir, 'p-bad.properties');
    writeFileSync(bad, 'no.such.key=1\n');
    const ok = await ferryProcess(['config', 'check', good]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^OK/);
    const ko = await ferryProcess(['config', 'check', bad]);
    assert.equal(ko.code, 2);
    assert.match(ko.stderr, /no\.such\.key/);
  });
});
