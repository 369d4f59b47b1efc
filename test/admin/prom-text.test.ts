/**
 * The Prometheus text reader (src/admin/prom-text.ts): samples and labels (escapes, +Inf,
 * timestamps), sums over label filters, values by label, histogram quantiles; and the broker's
 * own /metrics text (prom-client) read back to the values recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsSnapshot, parsePrometheusText } from '../../src/admin/prom-text.js';
import { BrokerMetrics } from '../../src/ops/metrics.js';

const TEXT = `# HELP ferry_requests_total Kafka requests answered.
# TYPE ferry_requests_total counter
ferry_requests_total{api="Produce",version="9",outcome="NONE"} 10
ferry_requests_total{api="Produce",version="9",outcome="NOT_LEADER_OR_FOLLOWER"} 2
ferry_requests_total{api="Fetch",version="12",outcome="NONE"} 5 1700000000000

ferry_wal_used_bytes 1.5e6
weird_label{path="C:\\\\wal",msg="say \\"hi\\"\\nbye"} -3
ferry_lat_bucket{le="0.001"} 1
ferry_lat_bucket{le="0.01"} 3
ferry_lat_bucket{le="0.1"} 4
ferry_lat_bucket{le="+Inf"} 4
ferry_lat_sum 0.2
ferry_lat_count 4
gauge_inf +Inf
not a sample line
`;

test('samples: names, labels with escapes, numbers in any notation, timestamps ignored, comments and junk skipped', () => {
  const samples = parsePrometheusText(TEXT);
  assert.equal(samples.length, 12);
  assert.deepEqual(samples[0], { name: 'ferry_requests_total', labels: { api: 'Produce', version: '9', outcome: 'NONE' }, value: 10 });
  assert.equal(samples[2]!.value, 5, 'the trailing timestamp is not the value');
  assert.deepEqual(samples[3], { name: 'ferry_wal_used_bytes', labels: {}, value: 1_500_000 });
  assert.deepEqual(samples[4]!.labels, { path: 'C:\\wal', msg: 'say "hi"\nbye' });
  assert.equal(samples[4]!.value, -3);
  assert.equal(samples.at(-1)!.value, Infinity);
});

test('sum over label filters, presence, and values by one label', () => {
  const m = MetricsSnapshot.parse(TEXT, 42);
  assert.equal(m.atMs, 42);
  assert.equal(m.sum('ferry_requests_total'), 17);
  assert.equal(m.sum('ferry_requests_total', { api: 'Produce' }), 12);
  assert.equal(m.sum('ferry_requests_total', { api: 'Produce', outcome: 'NONE' }), 10);
  assert.equal(m.sum('ferry_requests_total', { api: 'Metadata' }), 0);
  assert.equal(m.sum('no_such_metric'), 0);
  assert.ok(m.has('ferry_wal_used_bytes'));
  assert.ok(!m.has('ferry_wal'), 'whole names only');
  assert.deepEqual([...m.byLabel('ferry_requests_total', 'api')], [['Produce', 12], ['Fetch', 5]]);
  assert.deepEqual([...m.byLabel('ferry_requests_total', 'nope')], []);
});

test('histogram quantiles interpolate inside the bucket; none without observations', () => {
  const m = MetricsSnapshot.parse(TEXT);
  // 4 observations: 1 <= 1ms, 2 more <= 10ms, 1 more <= 100ms.
  assert.equal(m.histogramQuantile('ferry_lat', 0.25), 0.001);
  assert.ok(Math.abs(m.histogramQuantile('ferry_lat', 0.5)! - 0.0055) < 1e-12, 'half way between 1 ms and 10 ms');
  assert.ok(Math.abs(m.histogramQuantile('ferry_lat', 1)! - 0.1) < 1e-12);
  assert.equal(m.histogramQuantile('ferry_lat', 0.5, { api: 'none' }), null);
  assert.equal(m.histogramQuantile('missing', 0.99), null);
  // Past the last finite bucket the answer is that bucket's bound.
  const tail = MetricsSnapshot.parse('h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\n');
  assert.equal(tail.histogramQuantile('h', 0.99), 1);
});

test('the broker\'s own metrics text reads back to what was recorded', async () => {
  const metrics = new BrokerMetrics({ processMetrics: false });
  metrics.producedBytes('orders', 1_000, 10);
  metrics.producedBytes('orders', 500, 5);
  metrics.producedBytes('audit', 7, 1);
  for (const s of [0.0004, 0.002, 0.003, 0.2]) metrics.walAppendSeconds(s);
  const m = MetricsSnapshot.parse(await metrics.scrape());
  assert.equal(m.sum('ferry_produced_bytes_total', { topic: 'orders' }), 1_500);
  assert.equal(m.sum('ferry_produced_bytes_total'), 1_507);
  assert.deepEqual(Object.fromEntries(m.byLabel('ferry_produced_bytes_total', 'topic')), { orders: 1_500, audit: 7 });
  assert.equal(m.sum('ferry_wal_append_duration_seconds_count'), 4);
  const p50 = m.histogramQuantile('ferry_wal_append_duration_seconds', 0.5)!;
  assert.ok(p50 > 0.0004 && p50 <= 0.005, `median between the 2nd and 3rd observation's buckets (${p50})`);
});
