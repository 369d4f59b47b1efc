// Malformed and hostile input over raw TCP. Each case gets the right error or a closed connection;
// meanwhile a healthy kafkajs client keeps producing and consuming, the broker keeps answering new
// connections, and nothing of a rejected request is stored.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as KafkaJs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule } from '../helpers/require-tool.js';
import { RawKafkaConnection, fetchAllBatches, encodeRequestFrame } from '../helpers/raw-kafka.js';
import { waitFor, sleep } from '../helpers/wait.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { decodeResponseHeader, encodeRequestHeader } from '../../src/protocol/headers.js';
import { buildRecordBatch, recomputeCrc } from '../../src/protocol/record-batch.js';
import { API_TABLE, ApiKey, decodeApiVersionsResponse, encodeProduceRequest } from '../../src/protocol/messages/index.js';

const UNSUPPORTED_VERSION = 35;
const CORRUPT_MESSAGE = 2;
const MESSAGE_TOO_LARGE = 10;
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const UNSUPPORTED_FOR_MESSAGE_FORMAT = 43;
const INVALID_RECORD = 87;

describe('bad input over raw TCP while a healthy client works', { timeout: 150_000 }, () => {
  let broker: BrokerProcess;
  let kjs: typeof KafkaJs;
  let producer: KafkaJs.Producer;
  let consumer: KafkaJs.Consumer;
  let healthyStop = false;
  let healthyLoop: Promise<void>;
  let sent = 0;
  const received = new Set<number>();
  const healthyErrors: string[] = [];

  before(async () => {
    kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    broker = new BrokerProcess();
    await broker.start();
    const kafka = new kjs.Kafka({ clientId: 'healthy', brokers: [broker.bootstrap], logLevel: kjs.logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'healthy', numPartitions: 1 },
        { topic: 'bad-crc', numPartitions: 2 },
        { topic: 'small-max', numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '1024' }] },
      ],
      waitForLeaders: true,
    });
    await admin.disconnect();
    producer = kafka.producer({ createPartitioner: kjs.Partitioners.DefaultPartitioner });
    await producer.connect();
    consumer = kafka.consumer({ groupId: 'healthy-g', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'healthy', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { received.add(Number(message.value!.toString())); } });
    healthyLoop = (async () => {
      while (!healthyStop) {
        try {
          await producer.send({ topic: 'healthy', acks: -1, messages: [{ value: String(sent) }] });
          sent++;
        } catch (e) { healthyErrors.push((e as Error).message); }
        await sleep(10);
      }
    })();
    await waitFor(() => received.size > 0, 30_000, 'the healthy client consumes its first message');
  });

  after(async () => {
    healthyStop = true;
    await healthyLoop?.catch(() => undefined);
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await broker?.dispose();
  });

  /** After each case: the broker process lives, answers a new connection, and the healthy client progresses. */
  async function assertHealthy(what: string): Promise<void> {
    assert.ok(broker.running, `broker process still running after ${what}`);
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const res = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'ferry-test', clientSoftwareVersion: '1' });
      assert.equal(res.errorCode, 0);
    } finally { conn.close(); }
    const before = sent;
    await waitFor(() => sent >= before + 5 && received.size >= before + 5, 15_000, () => `healthy client progresses after ${what} (sent ${sent}, received ${received.size})`);
  }

  test('random bytes (a hostile size prefix) close the connection', async () => {
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    const junk = randomBytes(4096);
    junk[0] = 0xff; // negative size
    await conn.writeRaw(junk);
    assert.equal(await conn.waitClosed(5_000), true, 'connection closed');
    assert.equal(conn.pendingFrames, 0, 'no answer to junk');
    await assertHealthy('random bytes');
  });

  test('a well-framed request full of random bytes closes the connection', async () => {
    for (let i = 0; i < 20; i++) {
      const conn = await RawKafkaConnection.connect(broker.bootstrap);
      const body = randomBytes(32 + i * 50);
      body.writeInt16BE(0x7f00 + i, 0); // an api key nobody has, so it cannot be a valid request by luck
      const frame = Buffer.alloc(4 + body.length);
      frame.writeInt32BE(body.length, 0);
      body.copy(frame, 4);
      await conn.writeRaw(frame);
      assert.equal(await conn.waitClosed(5_000), true, `connection ${i} closed`);
    }
    await assertHealthy('random frames');
  });

  test('a request truncated inside its body closes the connection', async () => {
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    const full = encodeRequestFrame(ApiKey.Metadata, 9, { topics: [{ name: 'healthy', topicId: '00000000000000000000000000000000' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, 1);
    const cut = full.subarray(4, full.length - 8); // frame size says what is there, but the body ends early
    const frame = Buffer.alloc(4 + cut.length);
    frame.writeInt32BE(cut.length, 0);
    cut.copy(frame, 4);
    await conn.writeRaw(frame);
    assert.equal(await conn.waitClosed(5_000), true, 'connection closed');
    await assertHealthy('truncated body');
  });

  test('a frame cut short by the peer (half a frame, then FIN) is dropped', async () => {
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    const full = encodeRequestFrame(ApiKey.ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }, 7);
    await conn.writeRaw(full.subarray(0, 10));
    (conn as any).socket.end();
    assert.equal(await conn.waitClosed(5_000), true, 'connection closed');
    assert.equal(conn.pendingFrames, 0);
    await assertHealthy('truncated frame');
  });

  test('a 2 GiB length prefix closes the connection without allocating it', async () => {
    const rssBefore = rssBytes(broker.pid!);
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(0x7fffffff, 0);
    await conn.writeRaw(Buffer.concat([prefix, randomBytes(1024)]));
    assert.equal(await conn.waitClosed(5_000), true, 'connection closed');
    const rssAfter = rssBytes(broker.pid!);
    assert.ok(rssAfter - rssBefore < 256 * 1024 * 1024, `RSS grew by ${((rssAfter - rssBefore) / 1048576).toFixed(0)} MiB`);
    await assertHealthy('2 GiB prefix');
  });

  test('an unknown api key closes the connection', async () => {
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    const w = new Writer();
    const at = w.reserveInt32();
    encodeRequestHeader(w, 1, { apiKey: 1000, apiVersion: 0, correlationId: 5, clientId: 'bad' });
    w.int32(0);
    w.patchInt32(at, w.length - 4);
    await conn.writeRaw(Buffer.from(w.toBuffer()));
    assert.equal(await conn.waitClosed(5_000), true, 'connection closed');
    assert.equal(conn.pendingFrames, 0, 'no answer');
    await assertHealthy('unknown api key');
  });

  test('Produce v99 closes the connection', async () => {
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    const w = new Writer();
    const at = w.reserveInt32();
    encodeRequestHeader(w, 2, { apiKey: ApiKey.Produce, apiVersion: 99, correlationId: 9, clientId: 'bad' });
    encodeProduceRequest(w, 11, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'healthy', partitionData: [{ index: 0, records: buildRecordBatch([{ value: Buffer.from('never') }]) }] }] });
    w.patchInt32(at, w.length - 4);
    await conn.writeRaw(Buffer.from(w.toBuffer()));
    assert.equal(await conn.waitClosed(5_000), true, 'connection closed');
    assert.equal(conn.pendingFrames, 0, 'no answer');
    await assertHealthy('Produce v99');
    // Nothing reached the log: every stored value is one of the healthy client's counters.
    const check = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const { batches } = await fetchAllBatches(check, 'healthy', 0);
      for (const b of batches) assert.equal(b.bytes.includes(Buffer.from('never')), false, 'the v99 batch was not stored');
    } finally { check.close(); }
  });

  test('ApiVersions v99 answers UNSUPPORTED_VERSION with the supported list (v0 body)', async () => {
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const w = new Writer();
      const at = w.reserveInt32();
      encodeRequestHeader(w, 2, { apiKey: ApiKey.ApiVersions, apiVersion: 99, correlationId: 4242, clientId: 'future-client' });
      w.uvarint(1); w.uvarint(1); w.emptyTaggedFields(); // a v3-like body the broker must not need to parse
      w.patchInt32(at, w.length - 4);
      await conn.writeRaw(Buffer.from(w.toBuffer()));
      const frame = await conn.readFrame(5_000);
      assert.ok(frame, 'an answer, not a closed connection');
      const r = new Reader(frame);
      assert.equal(decodeResponseHeader(r, 0).correlationId, 4242);
      const res = decodeApiVersionsResponse(r, 0);
      assert.equal(r.error, null);
      assert.equal(res.errorCode, UNSUPPORTED_VERSION);
      const apis = new Map(res.apiKeys.map((a) => [a.apiKey, a]));
      for (const key of [ApiKey.Produce, ApiKey.Fetch, ApiKey.Metadata, ApiKey.ApiVersions]) assert.ok(apis.has(key), `api ${key} listed`);
      assert.equal(apis.get(ApiKey.ApiVersions)!.minVersion, 0);
      assert.ok(apis.get(ApiKey.ApiVersions)!.maxVersion >= 3);
      // The connection stays usable.
      const ok = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' });
      assert.equal(ok.errorCode, 0);
    } finally { conn.close(); }
    await assertHealthy('ApiVersions v99');
  });

  test('a batch with a wrong CRC gets CORRUPT_MESSAGE for its partition only, and is not stored', async () => {
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const good = buildRecordBatch([{ key: Buffer.from('g'), value: Buffer.from('good') }]);
      const bad = buildRecordBatch([{ key: Buffer.from('b'), value: Buffer.from('corrupted') }]);
      bad[bad.length - 1] ^= 0xff; // flip bits in the last record: the stored CRC no longer matches
      for (const version of [3, 7, 9]) {
        const res = await conn.request(ApiKey.Produce, version, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'bad-crc', partitionData: [{ index: 0, records: good }, { index: 1, records: bad }] }] });
        const parts = new Map<number, any>(res.responses[0].partitionResponses.map((p: any) => [p.index, p]));
        assert.equal(parts.get(0).errorCode, 0, `v${version}: the healthy partition is written`);
        assert.equal(parts.get(1).errorCode, CORRUPT_MESSAGE, `v${version}: the corrupt partition is refused`);
      }
      const p0 = await fetchAllBatches(conn, 'bad-crc', 0);
      const p1 = await fetchAllBatches(conn, 'bad-crc', 1);
      assert.equal(p0.highWatermark, 3n);
      assert.equal(p1.highWatermark, 0n, 'nothing stored on the corrupt partition');
      assert.equal(p1.batches.length, 0);
    } finally { conn.close(); }
    await assertHealthy('wrong CRC');
  });

  test('a batch above the topic max.message.bytes gets MESSAGE_TOO_LARGE and is not stored', async () => {
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const big = buildRecordBatch([{ value: Buffer.alloc(4096, 7) }]);
      const small = buildRecordBatch([{ value: Buffer.alloc(100, 1) }]);
      const res = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'small-max', partitionData: [{ index: 0, records: big }] }] });
      assert.equal(res.responses[0].partitionResponses[0].errorCode, MESSAGE_TOO_LARGE);
      const ok = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'small-max', partitionData: [{ index: 0, records: small }] }] });
      assert.equal(ok.responses[0].partitionResponses[0].errorCode, 0, 'a batch under the limit is accepted');
      assert.equal(ok.responses[0].partitionResponses[0].baseOffset, 0n, 'the refused batch took no offset');
      const stored = await fetchAllBatches(conn, 'small-max', 0);
      assert.equal(stored.highWatermark, 1n);
      assert.equal(stored.batches[0]!.bytes.length, small.length);
    } finally { conn.close(); }
    await assertHealthy('oversized batch');
  });

  test('one bad batch among good ones rejects the whole partition slice; other partitions and unknown partitions are independent', async () => {
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const p0Before = (await fetchAllBatches(conn, 'bad-crc', 0)).highWatermark;
      const p1Before = (await fetchAllBatches(conn, 'bad-crc', 1)).highWatermark;
      const good1 = buildRecordBatch([{ value: Buffer.from('first of the slice') }]);
      const bad = buildRecordBatch([{ value: Buffer.from('second, corrupt') }]);
      bad[bad.length - 1] ^= 0x01;
      // recordsCount != lastOffsetDelta + 1: INVALID_RECORD (87) or CORRUPT_MESSAGE (2).
      const miscounted = buildRecordBatch([{ value: Buffer.from('a') }, { value: Buffer.from('b') }]);
      miscounted.writeInt32BE(5, 57);
      recomputeCrc(miscounted);
      const res = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [
        { name: 'bad-crc', partitionData: [{ index: 0, records: Buffer.concat([good1, bad]) }, { index: 1, records: miscounted }, { index: 7, records: good1 }] },
        { name: 'healthy', partitionData: [{ index: 3, records: good1 }] },
      ] });
      const byPart = new Map<string, number>();
      for (const t of res.responses) for (const p of t.partitionResponses) byPart.set(`${t.name}/${p.index}`, p.errorCode);
      assert.equal(byPart.get('bad-crc/0'), CORRUPT_MESSAGE, 'a corrupt batch anywhere in the slice rejects the slice');
      assert.ok([INVALID_RECORD, CORRUPT_MESSAGE].includes(byPart.get('bad-crc/1')!), `miscounted batch: ${byPart.get('bad-crc/1')}`);
      assert.equal(byPart.get('bad-crc/7'), UNKNOWN_TOPIC_OR_PARTITION, 'a partition that does not exist');
      assert.equal(byPart.get('healthy/3'), UNKNOWN_TOPIC_OR_PARTITION);
      assert.equal((await fetchAllBatches(conn, 'bad-crc', 0)).highWatermark, p0Before, 'the good first batch of the rejected slice is not written');
      assert.equal((await fetchAllBatches(conn, 'bad-crc', 1)).highWatermark, p1Before);
    } finally { conn.close(); }
    await assertHealthy('mixed bad slices');
  });

  test('a magic v1 message set is refused, not stored', async () => {
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const before = (await fetchAllBatches(conn, 'bad-crc', 0)).highWatermark;
      const legacy = buildRecordBatch([{ value: Buffer.from('legacy') }]);
      legacy.writeInt8(1, 16); // magic 1
      const res = await conn.request(ApiKey.Produce, 3, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'bad-crc', partitionData: [{ index: 0, records: legacy }] }] });
      const code = res.responses[0].partitionResponses[0].errorCode;
      assert.ok([UNSUPPORTED_FOR_MESSAGE_FORMAT, CORRUPT_MESSAGE, INVALID_RECORD].includes(code), `error ${code}`);
      assert.equal((await fetchAllBatches(conn, 'bad-crc', 0)).highWatermark, before);
    } finally { conn.close(); }
    await assertHealthy('magic v1');
  });

  test('every advertised api and version: a body cut short closes the connection; random bodies never hurt the broker', { timeout: 90_000 }, async () => {
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    const advertised = (await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' })).apiKeys as Array<{ apiKey: number; minVersion: number; maxVersion: number }>;
    conn.close();
    const answeredTruncated: string[] = [];
    let cases = 0;
    for (const a of advertised) {
      const api = API_TABLE.get(a.apiKey);
      assert.ok(api, `advertised api ${a.apiKey} has a codec`);
      for (let v = a.minVersion; v <= a.maxVersion; v++) {
        // A default (empty) request of this version, then cut one byte short: always a short read.
        const full = encodeRequestFrame(a.apiKey, v, {}, 1);
        const headerBytes = full.length - 4 - bodyLength(a.apiKey, v);
        if (full.length - 4 > headerBytes) {
          const cut = Buffer.from(full.subarray(0, full.length - 1));
          cut.writeInt32BE(cut.length - 4, 0);
          const c = await RawKafkaConnection.connect(broker.bootstrap);
          await c.writeRaw(cut);
          const closed = await c.waitClosed(3_000);
          if (!closed || c.pendingFrames > 0) answeredTruncated.push(`${api.name} v${v}`);
          c.close();
          cases++;
        }
        // Random bytes after a valid header: an error answer or a closed connection, never a crash.
        const c = await RawKafkaConnection.connect(broker.bootstrap);
        const header = full.subarray(4, 4 + headerBytes);
        const body = randomBytes(8 + ((a.apiKey * 31 + v * 7) % 200));
        const frame = Buffer.alloc(4 + header.length + body.length);
        frame.writeInt32BE(header.length + body.length, 0);
        header.copy(frame, 4);
        body.copy(frame, 4 + header.length);
        await c.writeRaw(frame);
        await Promise.race([c.waitClosed(1_000), c.readFrame(1_000).catch(() => null)]);
        c.close();
        cases++;
      }
    }
    assert.ok(cases > 100, `${cases} cases`);
    assert.deepEqual(answeredTruncated, [], 'truncated requests must close the connection, not be answered');
    await assertHealthy('truncated and random bodies for every api and version');
  });

  test('the healthy client lost nothing and saw no errors', async () => {
    healthyStop = true;
    await healthyLoop;
    await waitFor(() => received.size >= sent, 20_000, () => `healthy consumer caught up (${received.size} of ${sent})`);
    assert.deepEqual(healthyErrors, []);
    for (let i = 0; i < sent; i++) assert.ok(received.has(i), `healthy message ${i} consumed`);
  });
});

/** Bytes of a default (empty) request body of this api and version. */
function bodyLength(apiKey: number, version: number): number {
  const w = new Writer();
  API_TABLE.get(apiKey)!.encodeRequest(w, version, {});
  return w.length;
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}
