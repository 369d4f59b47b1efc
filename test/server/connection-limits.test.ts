// The server's limits over raw TCP against an in-process broker, with small limits: queued
// response bytes per connection and in total (clients that pipeline fetches and never read),
// partly received requests (receive timeout, the request-bytes budget, no up-front allocation),
// idle connections, and connections per client address.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Broker } from '../../src/node/broker.js';
import { settingsFrom } from '../../src/cli/broker-command.js';
import { loadConfig, ConfigError } from '../../src/ops/config.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { parseConnectionOverrides } from '../../src/server/limits.js';
import { RawKafkaConnection, encodeRequestFrame } from '../helpers/raw-kafka.js';
import { waitFor, sleep } from '../helpers/wait.js';

interface Env { broker: Broker; bootstrap: string; logLines: string[]; cleanup: () => Promise<void> }

async function start(extra: Record<string, string>): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-limits-'));
  const argv = [
    '--listeners=PLAINTEXT://127.0.0.1:0', `--data.dir=${dir}`, '--wal.capacity.bytes=33554432',
    ...Object.entries(extra).map(([k, v]) => `--${k}=${v}`),
  ];
  const logLines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { logLines.push(...String(chunk).split('\n').filter(Boolean)); cb(); } });
  const broker = await Broker.start(settingsFrom(loadConfig({ argv, env: {}, cwd: process.cwd() })), pino({ level: 'info' }, sink));
  return {
    broker, bootstrap: `127.0.0.1:${broker.address.port}`, logLines,
    cleanup: async () => { await broker.stop(); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** Sum of a metric's samples whose labels include `labels`. */
async function metric(broker: Broker, name: string, labels: Record<string, string> = {}): Promise<number> {
  let sum = 0;
  for (const line of (await broker.parts.metrics.scrape()).split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** A socket that connects and never reads (no 'data' listener: Node stops reading once its buffer is full). */
function connectNonReader(bootstrap: string): Promise<Socket> {
  const [host, port] = bootstrap.split(':');
  return new Promise((resolve, reject) => {
    const s = connect({ host: host!, port: Number(port) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

const BATCH = buildRecordBatch([{ value: randomBytes(16 * 1024 - 80) }]);
/** Response bytes beyond the records: headers and per-partition fields. */
const OVERHEAD = 1024;

/** Produces `batches` copies of BATCH to topic-0, 64 per request. */
async function fill(bootstrap: string, topic: string, batches: number): Promise<void> {
  const c = await RawKafkaConnection.connect(bootstrap);
  try {
    const created = await c.request(ApiKey.CreateTopics, 7, { topics: [{ name: topic, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, 0);
    for (let done = 0; done < batches; done += 64) {
      const records = Buffer.concat(Array.from({ length: Math.min(64, batches - done) }, () => BATCH));
      const r = await c.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
      assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
    }
  } finally { c.close(); }
}

/** As in the report: Fetch v4, max_bytes 1e9, 100 MB per partition, from offset 0. */
function hugeFetch(topic: string, correlationId: number, maxWaitMs = 0): Buffer {
  return encodeRequestFrame(ApiKey.Fetch, 4, {
    replicaId: -1, maxWaitMs, minBytes: 0, maxBytes: 1_000_000_000, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 100 * 1024 * 1024 }] }],
    forgottenTopicsData: [], rackId: '',
  }, correlationId);
}

/** A reading client is answered: ApiVersions, and a Fetch that returns records. */
async function assertAnswered(bootstrap: string, topic: string): Promise<void> {
  const c = await RawKafkaConnection.connect(bootstrap);
  try {
    assert.equal((await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'ferry-test', clientSoftwareVersion: '1' })).errorCode, 0);
    const f = await c.request(ApiKey.Fetch, 4, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 64 * 1024, isolationLevel: 0,
      topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 64 * 1024 }] }],
    });
    const p = f.responses[0].partitions[0];
    assert.equal(p.errorCode, 0);
    assert.ok(p.records.length >= BATCH.length, `the reading client got records (${p.records.length} bytes)`);
  } finally { c.close(); }
}

const PIPELINED = 400;

describe('queued response bytes per connection (socket.send.queue.max.bytes)', { timeout: 60_000 }, () => {
  const LIMIT = 256 * 1024;
  let env: Env;
  before(async () => {
    env = await start({ 'socket.send.queue.max.bytes': String(LIMIT), 'queued.max.response.bytes': '-1' });
    await fill(env.bootstrap, 'big', 256); // 4 MiB: each unlimited fetch would answer all of it
  });
  after(async () => { await env?.cleanup(); });

  test('a client pipelining fetches and never reading is held at the limit while another is answered; closing it releases everything', async () => {
    const s = await connectNonReader(env.bootstrap);
    s.write(Buffer.concat(Array.from({ length: PIPELINED }, (_, i) => hugeFetch('big', i + 1))));
    // Once the kernel's socket buffers are full, the connection holds its limit and stops dispatching.
    await waitFor(() => env.broker.serverStats.mutedConnections === 1, 20_000, () => `the non-reader is muted (${JSON.stringify(env.broker.serverStats)})`);
    await sleep(300);
    const stats = env.broker.serverStats;
    assert.equal(stats.mutedConnections, 1);
    assert.ok(stats.queuedResponseBytes > 0);
    assert.ok(stats.queuedResponsePeakBytes <= LIMIT + BATCH.length + OVERHEAD,
      `peak queued ${stats.queuedResponsePeakBytes} <= limit ${LIMIT} + one batch (KIP-74) + headers`);
    const fetches = await metric(env.broker, 'ferry_requests_total', { api: 'Fetch' });
    assert.ok(fetches < PIPELINED, `the broker held back requests (${fetches} of ${PIPELINED} fetches handled)`);
    assert.ok(await metric(env.broker, 'ferry_connection_mutes_total', { reason: 'connection' }) >= 1);
    assert.equal(await metric(env.broker, 'ferry_connections_muted'), 1);

    await assertAnswered(env.bootstrap, 'big');

    s.destroy();
    await waitFor(() => env.broker.serverStats.connections === 0, 5_000, 'the non-reader is gone');
    assert.equal(env.broker.serverStats.queuedResponseBytes, 0, 'its queued responses are released');
    assert.equal(env.broker.serverStats.mutedConnections, 0);
    assert.equal(await metric(env.broker, 'ferry_send_queue_bytes'), 0);
  });

  test('the result of a handler still running when its connection closes is dropped', async () => {
    const s = await connectNonReader(env.bootstrap);
    // A long poll past the end waits for data; the connection closes before any arrives.
    s.write(encodeRequestFrame(ApiKey.Fetch, 4, {
      replicaId: -1, maxWaitMs: 5_000, minBytes: 1, maxBytes: 1_000_000_000, isolationLevel: 0,
      topics: [{ topic: 'big', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 256n, logStartOffset: -1n, partitionMaxBytes: 100 * 1024 * 1024 }] }],
    }, 1));
    await waitFor(async () => (await metric(env.broker, 'ferry_requests_in_flight')) === 1, 5_000, 'the long poll is parked');
    s.destroy();
    await waitFor(() => env.broker.serverStats.connections === 0, 5_000, 'the connection is gone');
    await fill(env.bootstrap, 'big2', 1); // wakes nothing of ours, but shows the broker still serves
    const c = await RawKafkaConnection.connect(env.bootstrap);
    try {
      await c.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'big', partitionData: [{ index: 0, records: BATCH }] }] });
    } finally { c.close(); }
    await waitFor(async () => (await metric(env.broker, 'ferry_requests_in_flight')) === 0, 5_000, 'the woken long poll finishes');
    assert.equal(env.broker.serverStats.queuedResponseBytes, 0, 'its response was not kept');
  });
});

describe('queued response bytes in total (queued.max.response.bytes)', { timeout: 60_000 }, () => {
  const TOTAL = 512 * 1024;
  const CLIENTS = 3;
  let env: Env;
  before(async () => {
    env = await start({ 'socket.send.queue.max.bytes': String(1024 * 1024), 'queued.max.response.bytes': String(TOTAL) });
    await fill(env.bootstrap, 'big', 256);
  });
  after(async () => { await env?.cleanup(); });

  test('several non-readers together stay at the broker-wide limit and a reading client is still answered', async () => {
    const sockets = await Promise.all(Array.from({ length: CLIENTS }, () => connectNonReader(env.bootstrap)));
    for (const s of sockets) s.write(Buffer.concat(Array.from({ length: PIPELINED }, (_, i) => hugeFetch('big', i + 1))));
    await waitFor(() => env.broker.serverStats.mutedConnections === CLIENTS, 20_000, () => `every non-reader is muted (${JSON.stringify(env.broker.serverStats)})`);
    await sleep(300);
    const stats = env.broker.serverStats;
    // A connection holding nothing may always send one request (so nobody starves); it then gets
    // at most one batch, hence one batch per connection above the limit.
    assert.ok(stats.queuedResponsePeakBytes <= TOTAL + CLIENTS * (BATCH.length + OVERHEAD),
      `peak queued ${stats.queuedResponsePeakBytes} <= limit ${TOTAL} + one batch per connection`);
    assert.ok(await metric(env.broker, 'ferry_connection_mutes_total', { reason: 'broker' }) >= 1);
    assert.ok(await metric(env.broker, 'ferry_requests_total', { api: 'Fetch' }) < CLIENTS * PIPELINED);

    await assertAnswered(env.bootstrap, 'big');

    for (const s of sockets) s.destroy();
    await waitFor(() => env.broker.serverStats.connections === 0, 5_000, 'the non-readers are gone');
    assert.equal(env.broker.serverStats.queuedResponseBytes, 0);
    assert.equal(env.broker.serverStats.mutedConnections, 0);
  });
});

describe('partly received requests (request.receive.timeout.ms)', { timeout: 60_000 }, () => {
  let env: Env;
  before(async () => {
    // The budget is smaller than the request: a request may always proceed alone.
    env = await start({ 'request.receive.timeout.ms': '400', 'queued.max.request.bytes': String(1024 * 1024) });
  });
  after(async () => { await env?.cleanup(); });

  test('a request declaring 50 MB with 100 bytes sent is never allocated and is closed after the receive timeout', async () => {
    const declared = 50 * 1024 * 1024;
    const before = process.memoryUsage().arrayBuffers;
    const conns = await Promise.all(Array.from({ length: 4 }, () => RawKafkaConnection.connect(env.bootstrap)));
    const head = Buffer.alloc(4);
    head.writeInt32BE(declared, 0);
    await conns[0]!.writeRaw(Buffer.concat([head, randomBytes(100)]));
    await waitFor(() => env.broker.serverStats.receivingRequestBytes === 4 + declared, 5_000, 'the 50 MB request is being received');
    const grew = process.memoryUsage().arrayBuffers - before;
    assert.ok(grew < 20 * 1024 * 1024, `array buffers grew by ${grew} bytes while a 50 MB request had sent 100`);
    assert.equal(await conns[0]!.waitClosed(5_000), true, 'closed after the receive timeout');
    assert.equal(env.broker.serverStats.receivingRequestBytes, 0);
    assert.equal(await metric(env.broker, 'ferry_connections_timed_out_total', { reason: 'receive' }), 1);
    assert.ok(env.logLines.some((l) => l.includes('request receive timeout')), 'logged');
    for (const c of conns.slice(1)) {
      assert.equal((await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'ferry-test', clientSoftwareVersion: '1' })).errorCode, 0, 'others are answered');
      c.close();
    }
  });

});

describe('the budget of partly received requests (queued.max.request.bytes)', { timeout: 60_000 }, () => {
  const REQUEST_BUDGET = 1024 * 1024;
  let env: Env;
  before(async () => {
    env = await start({ 'request.receive.timeout.ms': '400', 'queued.max.request.bytes': String(REQUEST_BUDGET) });
  });
  after(async () => { await env?.cleanup(); });

  test('a request that cannot reserve its size waits for room (no deadlock) and is answered once it frees', async () => {
    const holder = await RawKafkaConnection.connect(env.bootstrap);
    const head = Buffer.alloc(4);
    head.writeInt32BE(900 * 1024, 0);
    await holder.writeRaw(Buffer.concat([head, randomBytes(100)]));
    await waitFor(() => env.broker.serverStats.receivingRequestBytes === 4 + 900 * 1024, 5_000, 'the holder reserved its request');
    let holderClosed = false;
    void holder.closedPromise.then(() => { holderClosed = true; });

    const big = await RawKafkaConnection.connect(env.bootstrap);
    const created = await big.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'waits', numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, 0);
    const records = buildRecordBatch([{ value: randomBytes(900 * 1024) }]);
    const answer = big.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'waits', partitionData: [{ index: 0, records }] }] }, 15_000);
    const res = await answer;
    assert.equal(holderClosed, true, 'the second request was read only after the first released its reservation');
    assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
    assert.ok(env.broker.serverStats.receivingRequestPeakBytes <= REQUEST_BUDGET, `peak reserved ${env.broker.serverStats.receivingRequestPeakBytes} <= ${REQUEST_BUDGET}`);
    big.close();
  });
});

describe('idle connections (connections.max.idle.ms)', { timeout: 30_000 }, () => {
  let env: Env;
  before(async () => { env = await start({ 'connections.max.idle.ms': '400' }); });
  after(async () => { await env?.cleanup(); });

  test('a connection with nothing in flight is closed when idle, one with a long poll in flight is not', async () => {
    const idle = await RawKafkaConnection.connect(env.bootstrap);
    assert.equal((await idle.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'ferry-test', clientSoftwareVersion: '1' })).errorCode, 0);
    assert.equal(await idle.waitClosed(5_000), true, 'closed when idle');
    assert.equal(await metric(env.broker, 'ferry_connections_timed_out_total', { reason: 'idle' }), 1);
    assert.ok(env.logLines.some((l) => l.includes('"reason":"idle"')), 'logged');

    const polling = await RawKafkaConnection.connect(env.bootstrap);
    const created = await polling.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'quiet', numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, 0);
    const res = await polling.request(ApiKey.Fetch, 4, {
      replicaId: -1, maxWaitMs: 1_500, minBytes: 1, maxBytes: 1024, isolationLevel: 0,
      topics: [{ topic: 'quiet', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1024 }] }],
    });
    assert.equal(res.responses[0].partitions[0].errorCode, 0, 'the long poll (longer than the idle limit) was answered');
    assert.equal(await polling.waitClosed(5_000), true, 'and the connection is closed once idle after it');
    assert.equal(await metric(env.broker, 'ferry_connections_timed_out_total', { reason: 'idle' }), 2);
  });
});

describe('connections per client address (max.connections.per.ip)', { timeout: 30_000 }, () => {
  test('connections beyond the cap are refused with one log line per interval and a metric; closing one makes room', async () => {
    const env = await start({ 'max.connections.per.ip': '2' });
    try {
      const kept = await Promise.all([RawKafkaConnection.connect(env.bootstrap), RawKafkaConnection.connect(env.bootstrap)]);
      for (const c of kept) assert.equal((await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'ferry-test', clientSoftwareVersion: '1' })).errorCode, 0);
      const refused = await Promise.all(Array.from({ length: 20 }, () => RawKafkaConnection.connect(env.bootstrap)));
      for (const c of refused) assert.equal(await c.waitClosed(5_000), true, 'refused');
      assert.equal(await metric(env.broker, 'ferry_connections_refused_total', { reason: 'per_ip' }), 20);
      assert.equal(env.logLines.filter((l) => l.includes('max.connections.per.ip')).length, 1, 'a flood logs once');
      assert.equal(env.broker.serverStats.connections, 2);
      kept[0]!.close();
      await waitFor(() => env.broker.serverStats.connections === 1, 5_000, 'the closed one is released');
      const again = await RawKafkaConnection.connect(env.bootstrap);
      assert.equal((await again.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'ferry-test', clientSoftwareVersion: '1' })).errorCode, 0, 'a new one fits');
      again.close();
      kept[1]!.close();
    } finally { await env.cleanup(); }
  });

  test('an override by host name raises the cap for that address', async () => {
    const env = await start({ 'max.connections.per.ip': '1', 'max.connections.per.ip.overrides': 'localhost:3,10.9.9.9:7' });
    try {
      const kept = await Promise.all(Array.from({ length: 3 }, () => RawKafkaConnection.connect(env.bootstrap)));
      for (const c of kept) assert.equal((await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'ferry-test', clientSoftwareVersion: '1' })).errorCode, 0);
      const fourth = await RawKafkaConnection.connect(env.bootstrap);
      assert.equal(await fourth.waitClosed(5_000), true, 'the fourth is refused');
      for (const c of kept) c.close();
    } finally { await env.cleanup(); }
  });

  test('overrides parse as Kafka writes them, and bad values stop the broker at start', () => {
    assert.deepEqual([...parseConnectionOverrides(['10.0.0.1:5', ' ::1:7 ', 'Broker.Example:0', '::ffff:10.0.0.2:9'])], [['10.0.0.1', 5], ['::1', 7], ['broker.example', 0], ['10.0.0.2', 9]]);
    assert.throws(() => parseConnectionOverrides(['10.0.0.1']));
    const load = (flag: string) => () => loadConfig({ argv: [flag], env: {}, cwd: process.cwd() });
    assert.throws(load('--max.connections.per.ip.overrides=10.0.0.1'), ConfigError);
    assert.throws(load('--max.connections.per.ip.overrides=host:many'), ConfigError);
    assert.throws(load('--request.receive.timeout.ms=0'), ConfigError);
    assert.throws(load('--socket.send.queue.max.bytes=0'), ConfigError);
    assert.equal(loadConfig({ argv: [], env: {}, cwd: process.cwd() }).connectionsMaxIdleMs, 600000);
    assert.equal(loadConfig({ argv: ['--queued.max.response.bytes=-1'], env: {}, cwd: process.cwd() }).queuedMaxResponseBytes, -1);
  });
});
