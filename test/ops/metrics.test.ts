import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerMetrics } from '../../src/ops/metrics.js';
import { clientRackFromClientId } from '../../src/protocol/client-id.js';
import { startOpsHttpServer } from '../../src/ops/http-server.js';
import { MetricsSnapshot } from '../../src/admin/prom-text.js';

async function snapshot(m: BrokerMetrics): Promise<MetricsSnapshot> {
  return MetricsSnapshot.parse(await m.scrape());
}

describe('BrokerMetrics hooks', () => {
  test('requests: counted per api, version and outcome; latency observed; in-flight tracked', async () => {
    let now = 100;
    const m = new BrokerMetrics({ processMetrics: false, nowSeconds: () => now });
    const done1 = m.requestStarted(0, 9);
    const done2 = m.requestStarted(3, 12);
    let s = await snapshot(m);
    assert.equal(s.sum('ferry_requests_in_flight'), 2);
    now += 0.004;
    done1(0);
    done1(0); // a second call is ignored
    now += 0.5;
    done2(3);
    m.requestStarted(1, 11)('closed');
    s = await snapshot(m);
    assert.equal(s.sum('ferry_requests_in_flight'), 0);
    assert.equal(s.sum('ferry_requests_total', { api: 'Produce', version: '9', outcome: 'NONE' }), 1);
    assert.equal(s.sum('ferry_requests_total', { api: 'Metadata', version: '12', outcome: 'UNKNOWN_TOPIC_OR_PARTITION' }), 1);
    assert.equal(s.sum('ferry_requests_total', { api: 'Fetch', outcome: 'closed' }), 1);
    assert.equal(s.sum('ferry_request_duration_seconds_count', { api: 'Produce' }), 1);
    assert.ok(Math.abs(s.sum('ferry_request_duration_seconds_sum', { api: 'Produce' }) - 0.004) < 1e-9);
    // 0.004 s falls in the (0.0025, 0.005] bucket
    assert.equal(s.sum('ferry_request_duration_seconds_bucket', { api: 'Produce', le: '0.0025' }), 0);
    assert.equal(s.sum('ferry_request_duration_seconds_bucket', { api: 'Produce', le: '0.005' }), 1);
  });

  test('connections, produced/fetched bytes per topic, WAL hooks', async () => {
    const m = new BrokerMetrics({ processMetrics: false });
    m.connectionOpened(); m.connectionOpened(); m.connectionClosed();
    m.producedBytes('orders', 1000, 10);
    m.producedBytes('orders', 500, 5);
    m.producedBytes('audit', 70, 1);
    m.fetchedBytes('orders', 3000);
    const wal = m.walMetrics();
    m.walCapacityBytesSet(1 << 20);
    wal.onAppend!(2, 1570);
    wal.onFsync!(0.0002);
    wal.onFsync!(0.003);
    wal.onHeaderWrite!(0.001);
    wal.onTrim!(4096n, 4096, 262144);
    wal.onFull!('ring');
    wal.onBackpressure!(3);
    wal.onRecover!(10, 2000, 0.05);
    m.walAppendSeconds(0.0004);
    const s = await snapshot(m);
    assert.equal(s.sum('ferry_connections'), 1);
    assert.equal(s.sum('ferry_connections_opened_total'), 2);
    assert.equal(s.sum('ferry_connections_closed_total'), 1);
    assert.equal(s.sum('ferry_produced_bytes_total', { topic: 'orders' }), 1500);
    assert.equal(s.sum('ferry_produced_records_total'), 16);
    assert.equal(s.sum('ferry_fetched_bytes_total', { topic: 'orders' }), 3000);
    assert.equal(s.sum('ferry_wal_appended_bytes_total'), 1570);
    assert.equal(s.sum('ferry_wal_appended_records_total'), 2);
    assert.equal(s.sum('ferry_wal_group_commits_total'), 1);
    assert.equal(s.sum('ferry_wal_fsync_duration_seconds_count'), 2);
    assert.equal(s.sum('ferry_wal_header_write_duration_seconds_count'), 1);
    assert.equal(s.sum('ferry_wal_append_duration_seconds_count'), 1);
    assert.equal(s.sum('ferry_wal_trimmed_bytes_total'), 4096);
    assert.equal(s.sum('ferry_wal_used_bytes'), 262144);
    assert.equal(s.sum('ferry_wal_fill_ratio'), 0.25);
    assert.equal(s.sum('ferry_wal_full_total', { reason: 'ring' }), 1);
    assert.equal(s.sum('ferry_wal_backpressure_waiting_appends'), 3);
    assert.equal(s.sum('ferry_wal_recovered_records'), 10);
    const p99 = s.histogramQuantile('ferry_wal_fsync_duration_seconds', 0.99);
    assert.ok(p99 !== null && p99 > 0.002 && p99 <= 0.005, `fsync p99 ${p99}`);
  });

  test('cross-AZ bytes: same AZ, cross AZ and unknown are told apart', async () => {
    const m = new BrokerMetrics({ processMetrics: false });
    m.crossAzBytes('az1', 'az1', 100, 'in');
    m.crossAzBytes('az2', 'az1', 40, 'in');
    m.crossAzBytes('az3', 'az1', 7, 'out');
    m.crossAzBytes(null, 'az1', 5, 'out');
    m.crossAzBytes('az2', null, 3, 'out');
    const s = await snapshot(m);
    assert.equal(s.sum('ferry_client_bytes_total', { direction: 'in', locality: 'same_az' }), 100);
    assert.equal(s.sum('ferry_client_bytes_total', { direction: 'in', locality: 'cross_az' }), 40);
    assert.equal(s.sum('ferry_client_bytes_total', { direction: 'out', locality: 'unknown' }), 8);
    assert.equal(s.sum('ferry_cross_az_bytes_total'), 47);
    assert.equal(s.sum('ferry_cross_az_bytes_total', { direction: 'in', client_rack: 'az2', broker_rack: 'az1' }), 40);
  });

  test('client rack from the client id', () => {
    assert.equal(clientRackFromClientId('orders;ferry_az=use1-az1'), 'use1-az1');
    assert.equal(clientRackFromClientId('client.rack=az2,app'), 'az2');
    assert.equal(clientRackFromClientId('rdkafka'), null);
    assert.equal(clientRackFromClientId(null), null);
  });

  test('upload, S3, cache, cluster and failover setters', async () => {
    const m = new BrokerMetrics({ processMetrics: false, labels: { node_id: '7' } });
    m.uploadLag(1234, 2.5);
    m.uploadCompleted(8 << 20, 0.3);
    m.uploadFailed();
    m.s3Request('put', 0.1, 8 << 20);
    m.s3Request('get', 0.02, 4096);
    m.s3Request('put', 0.5);
    m.s3Error('put', 'SlowDown');
    m.cacheLookup('block', true, 3);
    m.cacheLookup('block', false);
    m.cacheBytes('block', 999);
    m.partitionsLed(12);
    m.controller(true);
    m.brokersAlive(3);
    m.failoverCompleted(4.2);
    m.failoverCompleted(0, 'failed');
    const s = await snapshot(m);
    assert.equal(s.sum('ferry_upload_lag_bytes', { node_id: '7' }), 1234);
    assert.equal(s.sum('ferry_upload_lag_seconds'), 2.5);
    assert.equal(s.sum('ferry_uploads_total', { result: 'ok' }), 1);
    assert.equal(s.sum('ferry_uploads_total', { result: 'failed' }), 1);
    assert.equal(s.sum('ferry_uploaded_bytes_total'), 8 << 20);
    assert.equal(s.sum('ferry_s3_requests_total', { operation: 'put' }), 2);
    assert.equal(s.sum('ferry_s3_bytes_total', { operation: 'put', direction: 'out' }), 8 << 20);
    assert.equal(s.sum('ferry_s3_bytes_total', { operation: 'get', direction: 'in' }), 4096);
    assert.equal(s.sum('ferry_s3_errors_total', { operation: 'put', code: 'SlowDown' }), 1);
    assert.equal(s.sum('ferry_cache_hit_ratio', { cache: 'block' }), 0.75);
    assert.equal(s.sum('ferry_cache_bytes', { cache: 'block' }), 999);
    assert.equal(s.sum('ferry_partitions_led'), 12);
    assert.equal(s.sum('ferry_controller'), 1);
    assert.equal(s.sum('ferry_brokers_alive'), 3);
    assert.equal(s.sum('ferry_failovers_total', { result: 'ok' }), 1);
    assert.equal(s.sum('ferry_failovers_total', { result: 'failed' }), 1);
    assert.equal(s.sum('ferry_failover_duration_seconds_count'), 1);
  });

  test('metric names follow Prometheus conventions', async () => {
    const m = new BrokerMetrics({ processMetrics: false });
    const text = await m.scrape();
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((x) => ({ name: x[1]!, type: x[2]! }));
    assert.ok(types.length >= 40, `only ${types.length} metrics`);
    for (const { name, type } of types) {
      assert.match(name, /^ferry_[a-z0-9_]+$/);
      if (type === 'counter') assert.match(name, /_total$/, name);
      else assert.doesNotMatch(name, /_total$/, name);
      if (type === 'histogram') assert.match(name, /_(seconds|bytes)$/, name);
    }
  });
});

describe('ops HTTP server', () => {
  test('/metrics, /healthz, /readyz flipping with readiness, 404 and 405', async () => {
    const m = new BrokerMetrics();
    let ready = false;
    const srv = await startOpsHttpServer({ host: '127.0.0.1', port: 0, metrics: m, readiness: () => ready });
    try {
      m.producedBytes('t', 42, 1);
      let res = await fetch(`${srv.url}/healthz`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'ok\n');
      res = await fetch(`${srv.url}/readyz`);
      assert.equal(res.status, 503);
      await res.text();
      let s = MetricsSnapshot.parse(await (await fetch(`${srv.url}/metrics`)).text());
      assert.equal(s.sum('ferry_ready'), 0);
      ready = true;
      res = await fetch(`${srv.url}/readyz`);
      assert.equal(res.status, 200);
      await res.text();
      res = await fetch(`${srv.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      s = MetricsSnapshot.parse(await res.text());
      assert.equal(s.sum('ferry_ready'), 1);
      assert.equal(s.sum('ferry_produced_bytes_total', { topic: 't' }), 42);
      assert.ok(s.has('process_resident_memory_bytes'), 'process metrics present');
      const fromUrl = await MetricsSnapshot.fetch(srv.url);
      assert.equal(fromUrl.sum('ferry_produced_bytes_total'), 42);
      res = await fetch(`${srv.url}/nope`);
      assert.equal(res.status, 404);
      await res.text();
      res = await fetch(`${srv.url}/metrics`, { method: 'POST' });
      assert.equal(res.status, 405);
      await res.text();
    } finally {
      await srv.close();
    }
    await assert.rejects(fetch(`${srv.url}/healthz`));
  });
});

describe('metrics wiring helpers', () => {
  test('instrumentHandler: sync, async, error responses and throwing handlers', async () => {
    const { instrumentHandler, responseErrorCode } = await import('../../src/ops/metrics-wiring.js');
    const m = new BrokerMetrics({ processMetrics: false });
    const ctx = (apiKey: number, apiVersion: number) => ({ header: { apiKey, apiVersion } });
    const sync = instrumentHandler(m, () => ({ errorCode: 0, topics: [] }));
    const asyncErr = instrumentHandler(m, async () => ({ errorCode: 15 }));
    const acks0 = instrumentHandler(m, async () => null);
    const throws = instrumentHandler(m, () => { throw new Error('boom'); });
    const rejects = instrumentHandler(m, async () => { throw new Error('boom'); });
    assert.deepEqual(sync(ctx(3, 12), {}), { errorCode: 0, topics: [] });
    assert.deepEqual(await asyncErr(ctx(10, 4), {}), { errorCode: 15 });
    assert.equal(await acks0(ctx(0, 9), {}), null);
    assert.throws(() => throws(ctx(1, 12), {}), /boom/);
    await assert.rejects(Promise.resolve(rejects(ctx(1, 12), {})), /boom/);
    const s = MetricsSnapshot.parse(await m.scrape());
    assert.equal(s.sum('ferry_requests_total', { api: 'Metadata', outcome: 'NONE' }), 1);
    assert.equal(s.sum('ferry_requests_total', { api: 'FindCoordinator', outcome: 'COORDINATOR_NOT_AVAILABLE' }), 1);
    assert.equal(s.sum('ferry_requests_total', { api: 'Produce', outcome: 'NONE' }), 1);
    assert.equal(s.sum('ferry_requests_total', { api: 'Fetch', outcome: 'closed' }), 2);
    assert.equal(s.sum('ferry_requests_in_flight'), 0);
    assert.equal(responseErrorCode({ errorCode: 7 }), 7);
    assert.equal(responseErrorCode({}), 0);
  });

  test('startMetricsListener: off when unset, serves on host:port when set', async () => {
    const { startMetricsListener } = await import('../../src/ops/metrics-wiring.js');
    const m = new BrokerMetrics({ processMetrics: false });
    assert.equal(await startMetricsListener(null, m, () => true), null);
    const srv = await startMetricsListener('127.0.0.1:0', m, () => true);
    assert.ok(srv);
    try {
      const res = await fetch(`${srv.url}/readyz`);
      assert.equal(res.status, 200);
      await res.text();
    } finally {
      await srv.close();
    }
  });
});
