/**
 * KIP-714 against a real broker over raw requests: GetTelemetrySubscriptions assigns an instance id
 * and hands out the configured subscription; an accepted push shows on /metrics; every refusal of
 * PushTelemetry answers its error code (stale subscription, too early, unsupported compression, too
 * large, undecodable, after terminating, zero instance id) and a throttled GetTelemetrySubscriptions
 * too; the series cap drops and counts. The payloads are OTLP built with otlp-metrics.ts's schema;
 * test/clients/client-telemetry.test.ts has librdkafka's own pushes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { startBroker } from '../broker/in-process-broker.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/primitives.js';
import { compress } from '../../src/protocol/compression.js';
import { METRICS_DATA } from '../../src/telemetry/otlp-metrics.js';

const INTERVAL_MS = 400;

/** An OTLP MetricsData payload: one gauge and one monotonic sum per (name, value, attributes). */
export function otlpPayload(metrics: { name: string; value: number; sum?: boolean; attributes?: Record<string, string> }[]): Buffer {
  const msg = METRICS_DATA.fromObject({
    resourceMetrics: [{
      scopeMetrics: [{
        metrics: metrics.map((m) => {
          const dataPoints = [{ asDouble: m.value, timeUnixNano: Date.now() * 1e6, attributes: Object.entries(m.attributes ?? {}).map(([key, v]) => ({ key, value: { stringValue: v } })) }];
          return m.sum ? { name: m.name, sum: { dataPoints, isMonotonic: true, aggregationTemporality: 2 } } : { name: m.name, gauge: { dataPoints } };
        }),
      }],
    }],
  });
  return Buffer.from(METRICS_DATA.encode(msg).finish());
}

async function withBroker(t: { after(fn: () => Promise<void>): void }, extra: Record<string, string> = {}) {
  const b = await startBroker({ 'client.telemetry.metrics': 'org.apache.kafka.producer.,org.apache.kafka.consumer.', 'client.telemetry.push.interval.ms': String(INTERVAL_MS), ...extra });
  const conn = await RawKafkaConnection.connect(b.bootstrap);
  t.after(async () => { conn.close(); await b.cleanup(); });
  const scrape = () => b.broker.parts.metrics.scrape();
  return { ...b, conn, scrape };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function subscribe(conn: RawKafkaConnection, id = ZERO_UUID) {
  return conn.request(ApiKey.GetTelemetrySubscriptions, 0, { clientInstanceId: id });
}

test('GetTelemetrySubscriptions assigns an instance id and the configured subscription; a push shows on /metrics', async (t) => {
  const { conn, scrape } = await withBroker(t);
  const sub = await subscribe(conn);
  assert.equal(sub.errorCode, ErrorCode.NONE);
  assert.match(sub.clientInstanceId, /^[0-9a-f]{32}$/);
  assert.notEqual(sub.clientInstanceId, ZERO_UUID);
  assert.deepEqual(sub.requestedMetrics, ['org.apache.kafka.producer.', 'org.apache.kafka.consumer.']);
  assert.equal(sub.pushIntervalMs, INTERVAL_MS);
  assert.equal(sub.telemetryMaxBytes, 1048576);
  assert.deepEqual(sub.acceptedCompressionTypes, [4, 3, 1, 2]);
  assert.equal(sub.deltaTemporality, false);
  assert.notEqual(sub.subscriptionId, 0);

  const id = sub.clientInstanceId;
  const payload = otlpPayload([
    { name: 'org.apache.kafka.producer.record.queue.time.avg', value: 1.5 },
    { name: 'org.apache.kafka.producer.node.request.latency.max', value: 7, attributes: { 'node.id': '1' } },
    { name: 'org.apache.kafka.producer.topic.record.error.total', value: 3, sum: true, attributes: { topic: 't' } },
  ]);
  const push = await conn.request(ApiKey.PushTelemetry, 0, { clientInstanceId: id, subscriptionId: sub.subscriptionId, terminating: false, compressionType: 1, metrics: gzipSync(payload) });
  assert.equal(push.errorCode, ErrorCode.NONE);
  const text = await scrape();
  assert.match(text, new RegExp(`ferry_client_metric\\{client_instance_id="${id}",client_id="ferry-raw-test",metric="org.apache.kafka.producer.record.queue.time.avg",attributes=""[^}]*\\} 1.5`));
  assert.match(text, /metric="org.apache.kafka.producer.node.request.latency.max",attributes="node.id=1"[^}]*\} 7/);
  assert.match(text, /metric="org.apache.kafka.producer.topic.record.error.total",attributes="topic=t"[^}]*\} 3/);
  assert.match(text, /ferry_client_telemetry_pushes_total\{result="NONE"[^}]*\} 1/);
  assert.match(text, /ferry_client_telemetry_series\{[^}]*\} 3/);
  assert.match(text, /ferry_client_telemetry_clients\{[^}]*\} 1/);

  // Asking again with its id: the same subscription id, no new instance id.
  await sleep(INTERVAL_MS);
  const again = await subscribe(conn, id);
  assert.equal(again.errorCode, ErrorCode.NONE);
  assert.equal(again.clientInstanceId, ZERO_UUID);
  assert.equal(again.subscriptionId, sub.subscriptionId);
});

test('every PushTelemetry refusal answers its error code, and the pushes counter counts them', async (t) => {
  const { conn, scrape } = await withBroker(t, { 'client.telemetry.max.bytes': '8192' });
  const sub = await subscribe(conn);
  const id = sub.clientInstanceId;
  const good = otlpPayload([{ name: 'org.apache.kafka.consumer.poll.idle.ratio.avg', value: 0.5 }]);
  const push = (over: object) => conn.request(ApiKey.PushTelemetry, 0, { clientInstanceId: id, subscriptionId: sub.subscriptionId, terminating: false, compressionType: 0, metrics: good, ...over });

  assert.equal((await push({ subscriptionId: sub.subscriptionId + 1 })).errorCode, ErrorCode.UNKNOWN_SUBSCRIPTION_ID, 'stale subscription id');
  assert.equal((await push({ clientInstanceId: ZERO_UUID })).errorCode, ErrorCode.INVALID_REQUEST, 'zero instance id');
  assert.equal((await push({})).errorCode, ErrorCode.NONE, 'the first push after subscribing');
  assert.equal((await push({})).errorCode, ErrorCode.THROTTLING_QUOTA_EXCEEDED, 'a second push at once');
  await sleep(INTERVAL_MS);
  assert.equal((await push({ compressionType: 9 })).errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  await sleep(INTERVAL_MS);
  assert.equal((await push({ metrics: Buffer.alloc(9000, 1) })).errorCode, ErrorCode.TELEMETRY_TOO_LARGE, 'over client.telemetry.max.bytes');
  await sleep(INTERVAL_MS);
  // A zip bomb: a few KiB compressed, far more than 2x max.bytes decompressed.
  const bomb = compress(1, Buffer.alloc(1024 * 1024));
  assert.ok(bomb.length <= 8192);
  assert.equal((await push({ compressionType: 1, metrics: bomb })).errorCode, ErrorCode.TELEMETRY_TOO_LARGE, 'decompressed over the bound');
  await sleep(INTERVAL_MS);
  assert.equal((await push({ metrics: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]) })).errorCode, ErrorCode.INVALID_RECORD, 'not protobuf');
  await sleep(INTERVAL_MS);
  assert.equal((await push({ compressionType: 4, metrics: Buffer.from('not zstd at all') })).errorCode, ErrorCode.INVALID_RECORD, 'does not decompress');
  // Terminating: accepted at once whatever the interval, then nothing more.
  assert.equal((await push({ terminating: true })).errorCode, ErrorCode.NONE);
  await sleep(INTERVAL_MS);
  assert.equal((await push({})).errorCode, ErrorCode.INVALID_REQUEST, 'after the terminating push');

  const text = await scrape();
  for (const [result, n] of [['NONE', 2], ['UNKNOWN_SUBSCRIPTION_ID', 1], ['THROTTLING_QUOTA_EXCEEDED', 1], ['UNSUPPORTED_COMPRESSION_TYPE', 1], ['TELEMETRY_TOO_LARGE', 2], ['INVALID_RECORD', 2], ['INVALID_REQUEST', 2]] as const) {
    assert.match(text, new RegExp(`ferry_client_telemetry_pushes_total\\{result="${result}"[^}]*\\} ${n}\\n`), result);
  }
});

test('GetTelemetrySubscriptions again within the push interval, with no push between, is throttled', async (t) => {
  const { conn } = await withBroker(t);
  const sub = await subscribe(conn);
  const again = await subscribe(conn, sub.clientInstanceId);
  assert.equal(again.errorCode, ErrorCode.THROTTLING_QUOTA_EXCEEDED);
  await sleep(INTERVAL_MS);
  assert.equal((await subscribe(conn, sub.clientInstanceId)).errorCode, ErrorCode.NONE);
});

test('series past client.telemetry.max.series are dropped and counted; a client that stops pushing is forgotten after 3 intervals', async (t) => {
  const { conn, scrape } = await withBroker(t, { 'client.telemetry.max.series': '5' });
  const sub = await subscribe(conn);
  const many = otlpPayload(Array.from({ length: 12 }, (_, i) => ({ name: `org.apache.kafka.producer.m${i}`, value: i })));
  const r = await conn.request(ApiKey.PushTelemetry, 0, { clientInstanceId: sub.clientInstanceId, subscriptionId: sub.subscriptionId, terminating: false, compressionType: 0, metrics: many });
  assert.equal(r.errorCode, ErrorCode.NONE);
  let text = await scrape();
  assert.equal(text.match(/^ferry_client_metric\{/gm)?.length, 5);
  assert.match(text, /ferry_client_telemetry_series_dropped_total\{[^}]*\} 7/);
  await sleep(3 * INTERVAL_MS + 50);
  text = await scrape();
  assert.equal(text.match(/^ferry_client_metric\{/gm), null, 'expired');
  assert.match(text, /ferry_client_telemetry_clients\{[^}]*\} 0/);
});

test('with no metrics configured the subscription asks for none', async (t) => {
  const b = await startBroker();
  const conn = await RawKafkaConnection.connect(b.bootstrap);
  t.after(async () => { conn.close(); await b.cleanup(); });
  const sub = await subscribe(conn);
  assert.equal(sub.errorCode, ErrorCode.NONE);
  assert.deepEqual(sub.requestedMetrics, []);
  assert.equal(sub.pushIntervalMs, 300000);
});
