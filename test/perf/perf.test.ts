// `ferry perf` smoke runs against a real broker: the JSON report's fields and their consistency.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { LatencyRecorder } from '../../src/perf/latency.js';
import { buildPerfBatch, recordValues, walkBatches } from '../../src/perf/records.js';
import { ferry } from '../cli/run-cli.js';

function assertReportShape(r: any, kind: string): void {
  assert.equal(r.kind, kind);
  for (const k of ['records', 'bytes', 'seconds', 'recordsPerSec', 'mbPerSec', 'errors', 'clientRssBytes', 'partitions']) assert.equal(typeof r[k], 'number', k);
  for (const k of ['count', 'avgMs', 'p50Ms', 'p95Ms', 'p99Ms', 'p999Ms', 'maxMs']) assert.equal(typeof r.latency[k], 'number', `latency.${k}`);
  assert.ok(r.latency.p50Ms <= r.latency.p95Ms && r.latency.p95Ms <= r.latency.p99Ms && r.latency.p99Ms <= r.latency.p999Ms && r.latency.p999Ms <= r.latency.maxMs, 'percentiles ordered');
  assert.ok(Array.isArray(r.histogram) && r.histogram.length > 5);
  assert.ok(r.clientRssBytes > 1 << 20);
  assert.ok(r.seconds > 0 && r.recordsPerSec > 0 && r.mbPerSec > 0);
}

describe('ferry perf against a broker', { timeout: 120_000 }, () => {
  const broker = new BrokerProcess();
  let diskDir: string;
  before(async () => { await broker.start(); diskDir = mkdtempSync(join(tmpdir(), 'ferry-perf-disk-')); });
  after(async () => { await broker.dispose(); rmSync(diskDir, { recursive: true, force: true }); });

  test('produce: every record acknowledged and stored; JSON report fields; disk ratio', async () => {
    const r = await ferry('perf', 'produce', '--topic', 'perf-p', '--partitions', '3', '--num-records', '3000', '--record-size', '200',
      '--concurrency', '4', '--batch-records', '50', '--acks', 'all', '--progress-interval-ms', '0', '--json', '-b', broker.bootstrap,
      '--disk', diskDir, '--sync-writes', '50', '--sequential-mb', '8');
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assertReportShape(rep, 'produce');
    assert.equal(rep.records, 3000);
    assert.equal(rep.bytes, 3000 * 200);
    assert.equal(rep.partitions, 3);
    assert.equal(rep.errors, 0);
    assert.equal(rep.latency.count, 3000);
    assert.equal(rep.histogram.reduce((a: number, h: any) => a + h.count, 0), 3000);
    assert.equal(rep.settings.acks, -1);
    assert.ok(rep.disk.limit.fsync4k.p50Ms > 0 && rep.disk.limit.sequential.mbPerSec > 0);
    assert.ok(rep.disk.latencyP50OverFsyncP50 > 0 && rep.disk.mbPerSecOverDiskMbPerSec > 0);
    assert.deepEqual(readdirSync(diskDir), [], 'the disk test file is removed');
    // The broker holds exactly those records: 1000 per partition (round robin of 50-record batches).
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      for (let p = 0; p < 3; p++) {
        const { highWatermark } = await fetchAllBatches(conn, 'perf-p', p);
        assert.equal(highWatermark, 1000n);
      }
    } finally {
      conn.close();
    }
  });

  test('produce with gzip and a rate limit; a live progress line', async () => {
    const r = await ferry('perf', 'produce', '--topic', 'perf-gz', '--partitions', '1', '--num-records', '400', '--record-size', '100',
      '--compression', 'gzip', '--throughput', '1000', '--batch-records', '10', '--progress-interval-ms', '100', '--json', '-b', broker.bootstrap);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.equal(rep.records, 400);
    assert.ok(rep.seconds >= 0.35, `400 records at 1000/s took ${rep.seconds} s`);
    assert.match(r.stderr, /\d+ records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency\./);
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const { batches } = await fetchAllBatches(conn, 'perf-gz', 0);
      assert.ok(batches.length > 0 && batches.every((b) => b.compression === 1), 'stored batches are gzip');
    } finally {
      conn.close();
    }
  });

  test('consume reads back what produce wrote; text report has percentiles and a histogram', async () => {
    const r = await ferry('perf', 'consume', '--topic', 'perf-p', '--num-records', '3000', '--progress-interval-ms', '0', '--json', '-b', broker.bootstrap);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assertReportShape(rep, 'consume');
    assert.equal(rep.records, 3000);
    assert.equal(rep.errors, 0);
    assert.ok(rep.bytes > 3000 * 200, 'batch bytes include headers');
    const text = await ferry('perf', 'consume', '--topic', 'perf-gz', '--num-records', '400', '--progress-interval-ms', '0', '-b', broker.bootstrap);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /400 records/);
    assert.match(text.stdout, /p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms, p99\.9 [\d.]+ ms/);
    assert.match(text.stdout, /latency histogram:\n\s+<= [\d.]+ ms\s+\d+/);
  });

  test('e2e: every produced record is consumed and timed', async () => {
    const r = await ferry('perf', 'e2e', '--topic', 'perf-e2e', '--partitions', '1', '--num-records', '200', '--throughput', '500', '--progress-interval-ms', '0', '--json', '-b', broker.bootstrap);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assertReportShape(rep, 'e2e');
    assert.equal(rep.records, 200);
    assert.equal(rep.latency.count, 200);
    assert.equal(rep.settings.produced, 200);
    assert.ok(rep.latency.p50Ms > 0 && rep.latency.p50Ms < 1000);
  });

  test('disk: latency and throughput; usage errors', async () => {
    const r = await ferry('perf', 'disk', diskDir, '--sync-writes', '40', '--sequential-mb', '4', '--json');
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.fsync4k.count, 40);
    assert.ok(d.fsync4k.p50Ms > 0 && d.fsync4k.p99Ms >= d.fsync4k.p50Ms);
    assert.equal(d.sequential.bytes, 4 << 20);
    assert.ok(d.sequential.mbPerSec > 0);
    assert.equal((await ferry('perf', 'disk', join(diskDir, 'missing'))).code, 2);
    assert.equal((await ferry('perf', 'produce', '--topic', 'x', '-b', broker.bootstrap)).code, 2);
  });

  test('without --partitions, produce and e2e get the topic auto-created, as a producer would', async () => {
    const p = await ferry('perf', 'produce', '--topic', 'perf-auto', '--num-records', '10', '--progress-interval-ms', '0', '-b', broker.bootstrap, '--json');
    assert.equal(p.code, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).records, 10);
    const e = await ferry('perf', 'e2e', '--topic', 'perf-e2e-auto', '--num-records', '20', '--throughput', '200', '--progress-interval-ms', '0', '-b', broker.bootstrap, '--json');
    assert.equal(e.code, 0, e.stderr);
    const rep = JSON.parse(e.stdout);
    assert.equal(rep.records, 20);
    assert.equal(rep.partitions, 1, 'num.partitions of the broker');
  });
});

describe('ferry perf against a broker that does not auto-create topics', { timeout: 60_000 }, () => {
  const broker = new BrokerProcess({ config: { 'auto.create.topics.enable': 'false' } });
  before(async () => { await broker.start(); });
  after(async () => { await broker.dispose(); });

  test('a missing topic without --partitions is an error naming the fix; with --partitions it is created', async () => {
    for (const action of ['produce', 'e2e']) {
      const r = await ferry('perf', action, '--topic', `perf-none-${action}`, '--num-records', '1', '--progress-interval-ms', '0', '-b', broker.bootstrap, '--json');
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);
      assert.match(r.stderr, /does not auto-create topics: give --partitions N/);
    }
    const r = await ferry('perf', 'e2e', '--topic', 'perf-made', '--partitions', '2', '--num-records', '10', '--progress-interval-ms', '0', '-b', broker.bootstrap, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).partitions, 2);
  });
});

describe('perf building blocks', () => {
  test('latency percentiles are exact for small sets; histogram counts every sample', () => {
    const l = new LatencyRecorder();
    for (let i = 1; i <= 1000; i++) l.record(i / 10);
    const s = l.summary();
    assert.equal(s.count, 1000);
    assert.equal(s.p50Ms, 50);
    assert.equal(s.p99Ms, 99);
    assert.equal(s.p999Ms, 99.9);
    assert.equal(s.maxMs, 100);
    assert.equal(l.histogram().reduce((a, b) => a + b.count, 0), 1000);
  });

  test('perf batches round-trip through the record walker, plain and gzip', () => {
    for (const c of ['none', 'gzip'] as const) {
      const b = buildPerfBatch(7, Buffer.from('abcdefghijklmnop'), c, (i, v) => v.writeUInt32BE(i, 0));
      const batches = [...walkBatches(Buffer.concat([b, b.subarray(0, 20)]))];
      assert.equal(batches.length, 1, 'the partial trailing batch is skipped');
      assert.equal(batches[0]!.recordsCount, 7);
      assert.deepEqual(recordValues(batches[0]!).map((v) => v.readUInt32BE(0)), [0, 1, 2, 3, 4, 5, 6]);
    }
  });
});
