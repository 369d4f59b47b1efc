// Batches written by real clients, as a real Ferry broker stores them: node-rdkafka (librdkafka 2.12,
// every codec), kafkajs (gzip), kafka-python (gzip, snappy-java framing, lz4) and confluent-kafka-python
// (Debian's librdkafka 2.0, every codec) produce; the raw batches come back with Fetch, and readRecords
// must give the keys, values and timestamps produced. A subset of each batch is then rebuilt and read
// again (CRC checked). Clients reading rebuilt batches are covered by the cleaner's end-to-end tests
// (the broker refuses to take a batch with offset gaps by Produce, so it cannot be fed back here).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type * as Rd from 'node-rdkafka';
import type * as KafkaJs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule, requirePythonModules } from '../helpers/require-tool.js';
import { runJson } from '../helpers/run-process.js';
import { RawKafkaConnection, fetchAllBatches, type StoredBatch } from '../helpers/raw-kafka.js';
import { loadCompressionCodecs } from '../../src/protocol/compression.js';
import { Reader } from '../../src/protocol/primitives.js';
import { verifyCrc, BatchView } from '../../src/protocol/record-batch.js';
import { keylessRecords, readRecords, rebuildBatch, type RecordView } from '../../src/protocol/records.js';

const CODEC_IDS: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
const T0 = Date.now() - 3_600_000;
const COUNT = 40;

interface Message { key: string | null; value: string; timestamp: number }

/** Compressible values (clients send a batch uncompressed when compressing does not help), some keys null. */
function messages(topic: string): Message[] {
  return Array.from({ length: COUNT }, (_, i) => ({
    key: i % 7 === 3 ? null : `${topic}-key-${i % 9}`,
    value: `${topic} value ${i}: ${'lorem ipsum dolor sit amet '.repeat(4 + (i % 5))}`,
    timestamp: T0 + i * 1_000 + (i % 3),
  }));
}

/** The value of a record, from its bytes (RecordView does not carry it: the cleaner never needs it). */
function valueOf(r: RecordView): string | null {
  const rd = new Reader(r.bytes);
  rd.varint();
  rd.int8();
  rd.varlong();
  rd.varint();
  const keyLength = rd.varint();
  if (keyLength > 0) rd.raw(keyLength);
  const valueLength = rd.varint();
  const value = valueLength < 0 ? null : rd.raw(valueLength).toString();
  assert.equal(rd.error, null);
  return value;
}

function decoded(records: RecordView[]): Message[] {
  return records.map((r) => ({ key: r.key === null ? null : r.key.toString(), value: valueOf(r)!, timestamp: r.timestamp }));
}

const PYTHON_PRODUCER = `
import json, sys
job = json.load(sys.stdin)
for t in job['topics']:
    msgs = [(m['key'].encode() if m['key'] is not None else None, m['value'].encode(), m['timestamp']) for m in t['messages']]
    if t['lib'] == 'kafka-python':
        from kafka import KafkaProducer
        p = KafkaProducer(bootstrap_servers=job['bootstrap'], acks='all', linger_ms=200, batch_size=1 << 20,
                          compression_type=t['codec'], request_timeout_ms=15000)
        futures = [p.send(t['topic'], key=k, value=v, partition=0, timestamp_ms=ts) for k, v, ts in msgs]
        p.flush(30)
        for f in futures: f.get(timeout=30)
        p.close()
    else:
        from confluent_kafka import Producer
        errors = []
        p = Producer({'bootstrap.servers': job['bootstrap'], 'compression.codec': t['codec'], 'linger.ms': 200,
                      'socket.timeout.ms': 10000})
        for k, v, ts in msgs:
            p.produce(t['topic'], value=v, key=k, partition=0, timestamp=ts,
                      on_delivery=lambda err, m: errors.append(str(err)) if err else None)
        left = p.flush(30)
        if left or errors: raise SystemExit('confluent_kafka: %d undelivered, errors %s' % (left, errors[:3]))
print(json.dumps({'ok': True}))
`;

describe('records of batches written by real clients', { timeout: 60_000 }, () => {
  let broker: BrokerProcess;
  let conn: RawKafkaConnection;
  const sent = new Map<string, { codec: number; messages: Message[] }>();

  before(async () => {
    const rd = requireNodeModule<typeof Rd>('node-rdkafka');
    const kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    const python = requirePythonModules('kafka', 'confluent_kafka', 'snappy', 'lz4');
    await loadCompressionCodecs();
    broker = new BrokerProcess();
    await broker.start();
    conn = await RawKafkaConnection.connect(broker.bootstrap);

    const rdCodecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
    const pyTopics = [
      ...['gzip', 'snappy', 'lz4'].map((codec) => ({ lib: 'kafka-python', codec, topic: `kafka-python-${codec}` })),
      ...['gzip', 'snappy', 'lz4', 'zstd'].map((codec) => ({ lib: 'confluent-kafka', codec, topic: `confluent-kafka-${codec}` })),
    ];
    const topics = [...rdCodecs.map((c) => `rdkafka-${c}`), 'kafkajs-gzip', ...pyTopics.map((t) => t.topic)];
    for (const topic of topics) sent.set(topic, { codec: CODEC_IDS[topic.slice(topic.lastIndexOf('-') + 1)]!, messages: messages(topic) });

    const kafka = new kjs.Kafka({ clientId: 'records-interop', brokers: [broker.bootstrap], logLevel: kjs.logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 1 })), waitForLeaders: true });
    await admin.disconnect();

    const viaPython = runJson(python, ['-c', PYTHON_PRODUCER], {
      input: JSON.stringify({ bootstrap: broker.bootstrap, topics: pyTopics.map((t) => ({ ...t, messages: sent.get(t.topic)!.messages })) }),
      timeoutMs: 40_000,
    });

    const viaRdkafka = Promise.all(rdCodecs.map(async (codec) => {
      const topic = `rdkafka-${codec}`;
      const p = new rd.Producer({ 'metadata.broker.list': broker.bootstrap, 'compression.codec': codec, 'linger.ms': 200, 'socket.timeout.ms': 10_000 } as any);
      await new Promise<void>((resolve, reject) => p.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
      for (const m of sent.get(topic)!.messages) p.produce(topic, 0, Buffer.from(m.value), m.key === null ? null : Buffer.from(m.key), m.timestamp);
      await new Promise<void>((resolve, reject) => p.flush(15_000, (err) => (err ? reject(err) : resolve())));
      await new Promise<void>((resolve) => p.disconnect(() => resolve()));
    }));

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'kafkajs-gzip', compression: kjs.CompressionTypes.GZIP, acks: -1,
      messages: sent.get('kafkajs-gzip')!.messages.map((m) => ({ key: m.key, value: m.value, timestamp: String(m.timestamp), partition: 0 })),
    });
    await producer.disconnect();
    await Promise.all([viaRdkafka, viaPython]);
  });

  after(async () => {
    conn?.close();
    await broker?.dispose();
  });

  async function stored(topic: string): Promise<StoredBatch[]> {
    const { batches } = await fetchAllBatches(conn, topic, 0);
    assert.ok(batches.length > 0, `${topic}: no batches`);
    return batches;
  }

  test('readRecords gives the keys, values and timestamps each client produced, with each codec', async () => {
    for (const [topic, { codec, messages: want }] of sent) {
      const batches = await stored(topic);
      const layout = batches.map((b) => `${b.baseOffset}+${b.recordsCount}:codec ${b.compression}`).join(', ');
      // A client sends a batch uncompressed when compressing does not make it smaller (a batch of one record);
      // how many batches it makes depends on timing.
      for (const b of batches) assert.ok(b.compression === codec || b.compression === 0, `${topic}: ${layout}`);
      assert.ok(batches.some((b) => b.compression === codec), `${topic}: ${layout}`);
      for (const b of batches) assert.ok(verifyCrc(b.bytes));
      const records = batches.flatMap((b) => readRecords(b.bytes));
      assert.deepEqual(decoded(records), want, topic);
      // Offsets: baseOffset + offsetDelta run 0..COUNT-1 across the batches.
      assert.deepEqual(batches.flatMap((b) => readRecords(b.bytes).map((r) => Number(b.baseOffset) + r.offsetDelta)), want.map((_, i) => i), `${topic} offsets`);
      const keyless = batches.flatMap((b) => keylessRecords(b.bytes).map((i) => Number(b.baseOffset) + readRecords(b.bytes)[i]!.offsetDelta));
      assert.deepEqual(keyless, want.flatMap((m, i) => (m.key === null ? [i] : [])), `${topic} keyless`);
    }
  });

  test('a rebuilt subset of each stored batch keeps its offsets, CRC and codec and reads back the same', async () => {
    let rebuiltBatches = 0;
    for (const [topic, { codec }] of sent) {
      for (const b of await stored(topic)) {
        const all = readRecords(b.bytes);
        if (all.length < 2) continue;
        const kept = all.filter((_, i) => i % 3 !== 1);
        const rebuilt = rebuildBatch(b.bytes, kept);
        assert.ok(verifyCrc(rebuilt), `${topic}: CRC`);
        const v = new BatchView(rebuilt);
        assert.equal(v.compression, codec);
        assert.equal(v.baseOffset, b.baseOffset);
        assert.equal(v.lastOffset, b.lastOffset);
        assert.equal(v.recordsCount, kept.length);
        assert.equal(Number(v.maxTimestamp), Math.max(...kept.map((r) => r.timestamp)));
        assert.deepEqual(decoded(readRecords(rebuilt)), decoded(kept), `${topic}: rebuilt records`);
        assert.deepEqual(readRecords(rebuilt).map((r) => r.offsetDelta), kept.map((r) => r.offsetDelta));
        rebuiltBatches++;
      }
    }
    assert.ok(rebuiltBatches >= sent.size / 2, `${rebuiltBatches} batches rebuilt`);
  });
});
