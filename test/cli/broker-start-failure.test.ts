// `ferry broker` that cannot start: it fails before allocating the WAL, exits non-zero and says
// why in one line on stderr (the JSON log stays on stdout).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess } from '../helpers/broker-process.js';
import { ferryProcess } from './run-cli.js';

function listenOn(host: string, port: number): Promise<Server> {
  const server = createServer((s) => s.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function stderrLines(stderr: string): string[] { return stderr.split('\n').filter((l) => l.trim() !== ''); }

describe('ferry broker start failures', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  const tempDir = () => { const d = mkdtempSync(join(tmpdir(), 'ferry-start-fail-')); dirs.push(d); return d; };
  after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  test('Kafka port in use: exit 1, one readable stderr line, no data directory, no WAL file', async () => {
    const taken = await listenOn('127.0.0.1', 0);
    const port = (taken.address() as { port: number }).port;
    const dataDir = join(tempDir(), 'data');
    try {
      const started = Date.now();
      const r = await ferryProcess(['broker', `--listeners=PLAINTEXT://127.0.0.1:${port}`, `--data.dir=${dataDir}`]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const lines = stderrLines(r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, new RegExp(`^ferry broker: failed to start: cannot listen on 127\\.0\\.0\\.1:${port} \\(listeners\\): the port is already in use`));
      assert.match(r.stdout, /"level":"fatal".*broker failed to start/);
      assert.equal(existsSync(join(dataDir, 'wal', 'ferry.wal')), false, 'no WAL file');
      assert.equal(existsSync(dataDir), false, 'the data directory is not even created');
      assert.ok(Date.now() - started < 30_000);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  test('metrics.listener port in use: the same, before the WAL', async () => {
    const taken = await listenOn('127.0.0.1', 0);
    const port = (taken.address() as { port: number }).port;
    const dataDir = join(tempDir(), 'data');
    try {
      const r = await ferryProcess(['broker', '--listeners=PLAINTEXT://127.0.0.1:0', `--metrics.listener=127.0.0.1:${port}`, `--data.dir=${dataDir}`]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const lines = stderrLines(r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^ferry broker: failed to start: cannot listen on 127\.0\.0\.1:\d+ \(metrics\.listener\): the port is already in use/);
      assert.equal(existsSync(join(dataDir, 'wal', 'ferry.wal')), false, 'no WAL file');
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  test('data directory locked by a running broker: one readable line, the running WAL untouched', async () => {
    const dataDir = tempDir();
    const running = new BrokerProcess({ dataDir });
    await running.start();
    try {
      const walPath = join(dataDir, 'wal', 'ferry.wal');
      const r = await ferryProcess(['broker', '--listeners=PLAINTEXT://127.0.0.1:0', `--data.dir=${dataDir}`, `--wal.path=${join(dataDir, 'wal', 'other.wal')}`]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const lines = stderrLines(r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^ferry broker: failed to start: .*lock/i);
      assert.ok(existsSync(walPath));
      assert.equal(existsSync(join(dataDir, 'wal', 'other.wal')), false, 'no second WAL allocated');
    } finally {
      await running.dispose();
    }
  });
});
