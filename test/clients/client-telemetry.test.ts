// KIP-714 with a real client: node-rdkafka (librdkafka 2.12, enable.metrics.push defaults to true)
// asks a Ferry broker process for its telemetry subscription, pushes its producer metrics (zstd or
// lz4 compressed OTLP, as librdkafka chooses from the broker's list), and the values appear on the
// broker's /metrics endpoint as ferry_client_metric; its pushes are never refused (none throttled:
// librdkafka keeps the push interval the broker gives), and its last push on close is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Rd from 'node-rdkafka';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule } from '../helpers/require-tool.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const PUSH_INTERVAL_MS = 1000;

test('node-rdkafka pushes its metrics and they appear on /metrics', { timeout: 90_000 }, async (t) => {
  const rd = requireNodeModule<typeof Rd>('node-rdkafka');
  const metricsPort = await freePort();
  const broker = new BrokerProcess({
    config: {
      'metrics.listener': `127.0.0.1:${metricsPort}`,
      'client.telemetry.metrics': 'org.apache.kafka.producer.',
      'client.telemetry.push.interval.ms': String(PUSH_INTERVAL_MS),
    },
  });
  await broker.start();
  t.after(() => broker.dispose());
  const scrape = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const cb = <T>(f: (done: (err: any, v?: T) => void) => void) => new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))));

  const producer = new rd.Producer({ 'metadata.broker.list': broker.bootstrap, 'client.id': 'rd-telemetry', 'enable.metrics.push': true, dr_cb: true });
  await cb((done) => producer.connect({ timeout: 10_000 }, done));
  producer.setPollInterval(50);
  let connected = true;
  t.after(async () => { if (connected) await cb((done) => producer.disconnect(done)).catch(() => undefined); });
  for (let i = 0; i < 20; i++) producer.produce('telemetry-topic', null, Buffer.from(`m${i}`), null);

  let text = '';
  await waitFor(async () => {
    text = await scrape();
    return /ferry_client_metric\{[^}]*client_id="rd-telemetry"[^}]*metric="org\.apache\.kafka\.producer\./.test(text);
  }, 30_000, 'producer metrics on /metrics');
  const series = [...text.matchAll(/^ferry_client_metric\{([^}]*)\} (\S+)$/gm)].map((m) => m[1]!);
  assert.ok(series.every((labels) => /metric="org\.apache\.kafka\.producer\./.test(labels)), 'only the subscribed prefix is pushed');
  const instance = /client_instance_id="([0-9a-f]{32})"/.exec(series[0]!)?.[1];
  assert.ok(instance && instance !== '0'.repeat(32), 'the broker-assigned instance id');
  // A second push, then close: librdkafka sends its terminating push.
  await waitFor(async () => Number(/ferry_client_telemetry_pushes_total\{result="NONE"[^}]*\} (\d+)/.exec(await scrape())?.[1] ?? 0) >= 2, 20_000, 'two pushes');
  const before = Number(/ferry_client_telemetry_pushes_total\{result="NONE"[^}]*\} (\d+)/.exec(await scrape())![1]);
  await cb((done) => producer.disconnect(done));
  connected = false;
  text = await scrape();
  const after = Number(/ferry_client_telemetry_pushes_total\{result="NONE"[^}]*\} (\d+)/.exec(text)![1]);
  assert.ok(after > before, `librdkafka's terminating push on close is accepted (${before} -> ${after})`);
  const refused = [...text.matchAll(/^ferry_client_telemetry_pushes_total\{result="(\w+)"[^}]*\} (\d+)$/gm)].filter((m) => m[1] !== 'NONE');
  assert.deepEqual(refused.map((m) => `${m[1]}=${m[2]}`), [], 'no push refused');
  t.diagnostic(`${series.length} series from librdkafka; ${after} pushes accepted`);
});
