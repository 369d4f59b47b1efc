/**
 * OTLP MetricsData decoding (src/telemetry/otlp-metrics.ts): gauges, sums with int and double
 * values, histograms, exponential histograms and summaries as .count/.sum, attribute values of
 * every scalar type; the point cap; and random bytes only ever giving OtlpDecodeError or points,
 * never another exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { METRICS_DATA, OtlpDecodeError, decodeMetricsData } from '../../src/telemetry/otlp-metrics.js';
import { ClientMetricStore } from '../../src/telemetry/metric-store.js';

const encode = (obj: object) => Buffer.from(METRICS_DATA.encode(METRICS_DATA.fromObject(obj)).finish());
const attrs = [
  { key: 's', value: { stringValue: 'x' } }, { key: 'i', value: { intValue: 42 } },
  { key: 'd', value: { doubleValue: 0.5 } }, { key: 'b', value: { boolValue: true } },
];

test('every metric kind decodes to points with their attributes', () => {
  const payload = encode({ resourceMetrics: [{ scopeMetrics: [{ metrics: [
    { name: 'g', gauge: { dataPoints: [{ asDouble: 1.25, attributes: attrs }] } },
    { name: 'c', sum: { isMonotonic: true, aggregationTemporality: 2, dataPoints: [{ asInt: 9007199254740991 }] } },
    { name: 'u', sum: { isMonotonic: false, dataPoints: [{ asInt: -3 }] } },
    { name: 'h', histogram: { dataPoints: [{ count: 10, sum: 99.5 }] } },
    { name: 'e', exponentialHistogram: { dataPoints: [{ count: 4, sum: 2 }] } },
    { name: 's', summary: { dataPoints: [{ count: 3, sum: 1.5 }] } },
    { name: '', gauge: { dataPoints: [{ asDouble: 1 }] } },
  ] }] }] });
  const { points, dropped } = decodeMetricsData(payload, 100);
  assert.equal(dropped, 0);
  assert.deepEqual(points.map((p) => [p.metric, p.value, p.kind]), [
    ['g', 1.25, 'gauge'], ['c', 9007199254740991, 'counter'], ['u', -3, 'gauge'],
    ['h.count', 10, 'counter'], ['h.sum', 99.5, 'counter'], ['e.count', 4, 'counter'], ['e.sum', 2, 'counter'],
    ['s.count', 3, 'counter'], ['s.sum', 1.5, 'counter'],
  ]);
  assert.deepEqual(points[0]!.attributes, { s: 'x', i: '42', d: '0.5', b: 'true' });
});

test('points past the cap are counted, not returned', () => {
  const payload = encode({ resourceMetrics: [{ scopeMetrics: [{ metrics: Array.from({ length: 10 }, (_, i) => ({ name: `m${i}`, gauge: { dataPoints: [{ asDouble: i }] } })) }] }] });
  const { points, dropped } = decodeMetricsData(payload, 4);
  assert.equal(points.length, 4);
  assert.equal(dropped, 6);
});

test('random bytes give OtlpDecodeError or points, nothing else', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
    try {
      decodeMetricsData(Buffer.from(bytes), 1000);
    } catch (err) {
      assert.ok(err instanceof OtlpDecodeError, String(err));
    }
  }), { numRuns: 2000 });
});

test('the store bounds clients and attribute sizes, and keeps the latest value of a series', () => {
  const store = new ClientMetricStore({ seriesMax: 100, expireAfterMs: 1000, clientsMax: 2 });
  const point = (value: number) => ({ metric: 'm', attributes: { topic: 'x'.repeat(500) }, value, kind: 'gauge' as const });
  store.record('a', 'ca', [point(1)], 0);
  store.record('a', 'ca', [point(2)], 10);
  store.record('b', 'cb', [point(1)], 500);
  store.record('c', 'cc', [point(1)], 500);
  assert.equal(store.clientCount, 2, 'the third client is refused');
  assert.equal(store.droppedSeries, 1);
  const a = store.snapshot(20).find((s) => s.clientInstanceId === 'a')!;
  assert.equal(a.value, 2);
  assert.equal(a.attributes.length, 'topic='.length + 128);
  assert.equal(store.snapshot(1010).length, 1, 'a expired, b not yet');
  assert.equal(store.snapshot(1500).length, 0);
});
