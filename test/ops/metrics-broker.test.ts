/**
 * /metrics of a running broker under a real client (kcat): the counters move consistently
 * (bytes produced = record-batch bytes appended to the WAL, less the WAL entry headers; uploads
 * follow), and /readyz flips at start and at shutdown.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerProcess } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';
import { requireTool } from '../helpers/require-tool.js';
import { runChecked } from '../helpers/run-process.js';
import { waitFor } from '../helpers/wait.js';
import { WAL_ENTRY_HEADER_BYTES } from '../../src/log/wal-entry.js';
import { startBroker } from '../broker/in-process-broker.js';

let broker: BrokerProcess | undefined;
after(() => broker?.dispose());

function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z0-9_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).some(([k, v]) => !(m[2] ?? '').includes(`${k}="${v}"`))) continue;
    total += Number(m[3]);
  }
  return total;
}

test('metrics move consistently under a kcat workload; readiness flips at start and stop', { timeout: 60_000 }, async () => {
  const kcat = requireTool('kcat');
  const port = await freePort();
  broker = new BrokerProcess({ config: { 'metrics.listener': `127.0.0.1:${port}`, 'upload.interval.ms': '200' } });
  await broker.start();
  const url = `http://127.0.0.1:${port}`;
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  assert.equal((await fetch(`${url}/readyz`)).status, 200);

  const lines = Array.from({ length: 2000 }, (_, i) => `k${i}:${'v'.repeat(200)}${i}`).join('\n') + '\n';
  await runChecked(kcat, ['-b', broker.bootstrap, '-t', 'm', '-P', '-K:', '-X', 'acks=all'], { input: lines, timeoutMs: 30_000 });
  await runChecked(kcat, ['-b', broker.bootstrap, '-t', 'm', '-C', '-e', '-o', 'beginning'], { timeoutMs: 30_000 });
  // Uploads run every 200 ms: wait until one has happened.
  let text = '';
  await waitFor(async () => {
    text = await (await fetch(`${url}/metrics`)).text();
    const up = metric(text, 'ferry_uploaded_bytes_total');
    return up > 0 && up >= metric(text, 'ferry_produced_bytes_total', { topic: 'm' });
  }, 10_000, 'the uploads to cover everything produced');

  const produced = metric(text, 'ferry_produced_bytes_total', { topic: 'm' });
  const records = metric(text, 'ferry_produced_records_total', { topic: 'm' });
  const walBytes = metric(text, 'ferry_wal_appended_bytes_total');
  const walRecords = metric(text, 'ferry_wal_appended_records_total');
  assert.equal(records, 2000);
  assert.ok(produced > 2000 * 200);
  assert.equal(walBytes, produced + walRecords * WAL_ENTRY_HEADER_BYTES, 'every produced byte went through the WAL, once');
  assert.ok(metric(text, 'ferry_fetched_bytes_total', { topic: 'm' }) >= produced, 'the consumer read it all back');
  assert.ok(metric(text, 'ferry_requests_total', { api: 'Produce' }) > 0);
  assert.ok(metric(text, 'ferry_wal_fsync_duration_seconds_count') > 0);
  assert.ok(metric(text, 'ferry_uploaded_bytes_total') >= produced, 'uploads follow: the object holds all produced batches');
  assert.ok(metric(text, 'ferry_s3_requests_total', { operation: 'put' }) >= 1);
  assert.equal(metric(text, 'ferry_partitions_led'), 1);

  assert.equal(await broker.stop(), 0, 'SIGTERM stops the broker cleanly');
});

test('/readyz answers 503 as soon as a stop begins', async () => {
  const port = await freePort();
  const env = await startBroker({ 'metrics.listener': `127.0.0.1:${port}` });
  const url = `http://127.0.0.1:${port}/readyz`;
  assert.equal((await fetch(url)).status, 200);
  // Hold the stop inside its final upload so the endpoint can be asked mid-shutdown.
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const uploader = env.broker.tier.uploader;
  const original = uploader.stop.bind(uploader);
  uploader.stop = async () => { await gate; return original(); };
  const stopping = env.broker.stop();
  assert.equal((await fetch(url)).status, 503);
  release();
  await stopping;
  await env.cleanup();
});
