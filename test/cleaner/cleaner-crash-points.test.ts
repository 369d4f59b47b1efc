/**
 * A cleaning pass under SIGKILL at each of its steps: after indexing the keys (nothing written),
 * after the PUT of the new objects (not committed: they are orphans) and after the metadata swap
 * (before the broker's own object index follows it). A broker process with FERRY_CRASH_POINT
 * takes updates from kafkajs until its first pass kills it there; restarted without the crash
 * point, its next pass cleans up to the high watermark, and then every acknowledged key reads
 * back with its latest acknowledged value, no record twice, offsets increasing.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type * as KafkaJs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule } from '../helpers/require-tool.js';
import { freePort } from '../helpers/ports.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { MetricsSnapshot } from '../../src/admin/prom-text.js';

const TOPIC = 'cp-kv';
const KEYS = 200;
const BATCH = 50;

const brokers: BrokerProcess[] = [];
after(async () => { for (const b of brokers) await b.dispose(); });

/** The broker's "cleaned partition" log lines for TOPIC in `logs`. */
function passesOf(logs: string): { partition: number; mapEnd: number }[] {
  return logs.split('\n').filter((l) => l.includes('"msg":"cleaned partition"')).map((l) => JSON.parse(l)).filter((j) => j.topic === TOPIC);
}

interface Read { offset: number; key: string; value: string | null }

async function readAll(kafka: KafkaJs.Kafka, lastOffset: number): Promise<Read[]> {
  const consumer = kafka.consumer({ groupId: `cp-read-${Date.now()}`, maxWaitTimeInMs: 100 });
  const out: Read[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => { out.push({ offset: Number(message.offset), key: message.key!.toString(), value: message.value === null ? null : message.value.toString() }); },
    });
    await waitFor(() => out.length > 0 && out[out.length - 1]!.offset >= lastOffset, 20_000, () => `reading up to offset ${lastOffset} (at ${out[out.length - 1]?.offset})`);
  } finally { await consumer.disconnect(); }
  return out;
}

for (const point of ['clean-after-index', 'clean-after-put', 'clean-after-commit']) {
  test(`SIGKILL at ${point}: every acknowledged key keeps its latest value, nothing twice`, { timeout: 60_000 }, async (t) => {
    const kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    const metricsPort = await freePort();
    // Compaction once a second: a pass planned before a compaction step merged its objects loses
    // its swap, and at 200 ms most early passes did, delaying the first commit by many seconds.
    const broker = new BrokerProcess({
      config: {
        'metrics.listener': `127.0.0.1:${metricsPort}`, 'upload.interval.ms': '100', 'compaction.interval.ms': '1000',
        'log.cleaner.backoff.ms': '200', 'object.gc.grace.ms': '0',
      },
      env: { FERRY_CRASH_POINT: point },
    });
    brokers.push(broker);
    await broker.start();
    const kafka = () => new kjs.Kafka({ clientId: 'cp', brokers: [broker.bootstrap], logLevel: kjs.logLevel.NOTHING, retry: { retries: 0 }, requestTimeout: 5000 });
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: TOPIC, numPartitions: 1, configEntries: [
        { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.ms', value: '100' },
        { name: 'min.cleanable.dirty.ratio', value: '0.01' }, { name: 'delete.retention.ms', value: '600000' },
      ] }],
    });
    await admin.disconnect();

    // Key -> latest acknowledged value (null: a tombstone); the batch in flight when the broker died may or may not be stored.
    const acked = new Map<string, string | null>();
    let inFlight = new Map<string, string | null>();
    let seq = 0;
    const batchOf = () => {
      const m = new Map<string, string | null>();
      for (let i = 0; i < BATCH; i++) {
        const s = seq++;
        const k = `k-${(s * 7) % KEYS}`;
        // Tombstones inside a batch, never last: the partition's last record is a value (the reader's end).
        m.set(k, s % 13 === 5 && i < BATCH - 1 ? null : `${k}=${s}`);
      }
      return m;
    };
    const send = async (producer: KafkaJs.Producer, batch: Map<string, string | null>) => {
      await producer.send({ topic: TOPIC, acks: -1, messages: [...batch].map(([key, value]) => ({ key, value })) });
      for (const [k, v] of batch) acked.set(k, v);
    };

    const producer = kafka().producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const deadline = Date.now() + 20_000;
    while (broker.running && Date.now() < deadline) {
      inFlight = batchOf();
      try {
        await send(producer, inFlight);
        inFlight = new Map();
      } catch {
        break; // the broker died during this produce
      }
      await sleep(10);
    }
    await producer.disconnect().catch(() => undefined);
    await waitFor(() => !broker.running, 5000, 'the broker process exits');
    assert.equal(broker.exitCode, null, `the broker died by a signal at ${point}, not by exiting (${broker.exitCode})`);
    assert.equal(passesOf(broker.logs).length, 0, `no pass finished before ${point} killed the broker`);
    assert.ok(acked.size > 0, 'updates were acknowledged before the crash');

    broker.envOverride = {};
    const restartedAt = broker.logs.length;
    await broker.start();
    // One more acknowledged batch: dirty data for the next pass, whatever the crash left.
    const after = kafka().producer({ allowAutoTopicCreation: false });
    await after.connect();
    await send(after, batchOf());
    await after.disconnect();
    const admin2 = kafka().admin();
    await admin2.connect();
    const hw = Number((await admin2.fetchTopicOffsets(TOPIC))[0]!.high);
    await admin2.disconnect();
    // Writes to another topic meanwhile: compaction splits a stream-set object only once a newer
    // upload exists, so the last batch reaches the cleaner only after a later upload.
    let ticking = true;
    const ticker = kafka().producer();
    await ticker.connect();
    const ticks = (async () => {
      while (ticking) {
        await ticker.send({ topic: 'cp-tick', acks: 1, messages: [{ value: 'tick' }] }).catch(() => undefined);
        await sleep(150);
      }
    })();
    try {
      await waitFor(async () => (await MetricsSnapshot.fetch(`http://127.0.0.1:${metricsPort}`)).sum('ferry_cleaner_passes_total', { result: 'done' }) >= 1, 20_000, 'a pass after the restart');
      await waitFor(() => passesOf(broker.logs.slice(restartedAt)).some((p) => p.mapEnd === hw), 20_000,
        () => `a pass up to the high watermark ${hw}; passes since the restart: ${JSON.stringify(passesOf(broker.logs.slice(restartedAt)))}`);
    } finally {
      ticking = false;
      await ticks;
      await ticker.disconnect();
    }

    const records = await readAll(kafka(), hw - 1);
    for (let i = 1; i < records.length; i++) assert.ok(records[i]!.offset > records[i - 1]!.offset, `offset ${records[i]!.offset} after ${records[i - 1]!.offset}`);
    const byKey = new Map<string, Read[]>();
    for (const r of records) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
    for (const [k, rs] of byKey) assert.equal(rs.length, 1, `${k} once after a pass up to the high watermark: at offsets ${rs.map((r) => r.offset).join(', ')}`);
    for (const [k, v] of acked) {
      const got = byKey.get(k)?.[0];
      assert.ok(got, `${k} (acknowledged) is there`);
      const allowed = inFlight.has(k) ? [v, inFlight.get(k)] : [v];
      assert.ok(allowed.includes(got.value), `${k}: latest acknowledged value ${JSON.stringify(v)}${inFlight.has(k) ? ` or the unacknowledged ${JSON.stringify(inFlight.get(k))}` : ''}, read ${JSON.stringify(got.value)} at ${got.offset}`);
    }
    const m = await MetricsSnapshot.fetch(`http://127.0.0.1:${metricsPort}`);
    assert.equal(m.sum('ferry_cleaner_passes_total', { result: 'failed' }), 0, 'no failed pass after the restart');
    t.diagnostic(`${seq} records produced (${inFlight.size ? 'one batch unacknowledged at the crash' : 'all acknowledged'}), ${records.length} read back up to offset ${hw - 1}`);
  });
}
