// kafka-python (pure Python, Debian) against a real Ferry broker process.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { runJson } from '../helpers/run-process.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';

const SCRIPT = fileURLToPath(new URL('./py/kp_client.py', import.meta.url));

describe('kafka-python against a Ferry broker', { timeout: 120_000 }, () => {
  let broker: BrokerProcess;
  let python: string;

  before(async () => {
    python = requirePythonModules('kafka');
    broker = new BrokerProcess();
    await broker.start();
  });
  after(async () => { await broker?.dispose(); });

  const run = (command: string, args: Record<string, string | number>, timeoutMs = 60_000) =>
    runJson(python, [SCRIPT, command, '--bootstrap', broker.bootstrap, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)])], { timeoutMs });

  test('produce and consume back byte-exact', { timeout: 60_000 }, async () => {
    const r = await run('produce-consume', { topic: 'kp-basic', count: 500 });
    assert.equal(r.acked, 500);
    assert.deepEqual(r.ackOffsets, [0, 1, 2]);
    assert.equal(r.consumed, 500);
    assert.equal(r.distinct, 500);
    assert.deepEqual(r.mismatches, []);
  });

  test('gzip batches from kafka-python are stored compressed and consumed back byte-exact', { timeout: 60_000 }, async () => {
    const r = await run('produce-consume', { topic: 'kp-gzip', count: 300, compression: 'gzip' });
    assert.equal(r.acked, 300);
    assert.equal(r.consumed, 300);
    assert.deepEqual(r.mismatches, []);
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const stored = await fetchAllBatches(conn, 'kp-gzip', 0);
      assert.equal(stored.highWatermark, 300n);
      for (const b of stored.batches) assert.equal(b.compression, 1, `batch at ${b.baseOffset} is gzip`);
    } finally { conn.close(); }
  });

  test('a group commits, closes, and a new member resumes after the committed offset', { timeout: 60_000 }, async () => {
    const r = await run('commit-resume', { topic: 'kp-resume', group: 'kp-resume-g', count: 100, 'stop-at': 40 });
    assert.deepEqual(r.firstOffsets, Array.from({ length: 40 }, (_, i) => i));
    assert.equal(r.committedAfterFirst, 40);
    assert.equal(r.committedSeenBySecond, 40);
    assert.equal(r.secondFirstOffset, 40, 'resumes exactly at the committed offset');
    assert.equal(r.secondCount, 60);
    assert.equal(r.secondDistinct, 60);
    assert.equal(r.committedAtEnd, 100);
  });
});
