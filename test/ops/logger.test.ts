import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { childLogger, createLogger } from '../../src/ops/logger.js';
import { loadConfig } from '../../src/ops/config.js';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { chunks.push(chunk.toString()); cb(); } });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('JSON lines at the configured level, with node id and child context', () => {
  const out = capture();
  const config = loadConfig({ argv: ['--log.level=warn', '--node.id=5'], env: {}, cwd: '/' });
  const log = createLogger(config, { destination: out.stream });
  log.info('dropped');
  log.warn({ partition: 3 }, 'kept');
  childLogger(log, 'wal', { path: '/x' }).error('child');
  const lines = out.lines();
  assert.equal(lines.length, 2);
  assert.deepEqual([lines[0]!.level, lines[0]!.msg, lines[0]!.nodeId, lines[0]!.partition], ['warn', 'kept', 5, 3]);
  assert.deepEqual([lines[1]!.component, lines[1]!.path, lines[1]!.msg], ['wal', '/x', 'child']);
  assert.equal(typeof lines[0]!.time, 'string');
});

test('secret-looking fields are redacted, also nested and in the effective config', () => {
  const out = capture();
  const config = loadConfig({ argv: ['--etcd.password=hunter2'], env: {}, cwd: '/' });
  const log = createLogger(config, { destination: out.stream });
  log.info({ password: 'p1', s3: { secretAccessKey: 'p2' }, a: { b: { token: 'p3' } }, config }, 'effective');
  log.info({ config: config.redacted() }, 'redacted config');
  const text = out.lines().map((l) => JSON.stringify(l)).join('\n');
  for (const secret of ['hunter2', 'p1', 'p2', 'p3']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  assert.ok(text.includes('[redacted]'));
});

test('silent logs nothing', () => {
  const out = capture();
  createLogger({ logLevel: 'silent' }, { destination: out.stream }).fatal('x');
  assert.equal(out.lines().length, 0);
});
