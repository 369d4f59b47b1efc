// The log cleaner inside one in-process broker, its jobs driven by the test: several passes when
// the offset map is smaller than the partition's keys (a pass that stops inside an object leaves
// the rest as a stream object), a pass that loses its swap to a leadership change changes nothing
// and the next one succeeds, a corrupt object makes only its partition uncleanable, and
// compact,delete topics get both retention and cleaning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { buildRecordBatch, baseOffsetOf } from '../../src/protocol/record-batch.js';
import { readRecords } from '../../src/protocol/records.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { startBroker } from '../broker/in-process-broker.js';
import { filesUnder } from '../helpers/files-under.js';
import type { ObjectTier } from '../../src/node/object-tier.js';

const MANUAL = {
  'upload.interval.ms': '3600000', 'compaction.interval.ms': '3600000', 'retention.check.interval.ms': '3600000',
  'log.cleaner.backoff.ms': '3600000', 'object.gc.grace.ms': '0', 'cache.max.bytes': '0',
};
const COMPACT = [
  { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.ms', value: '1' }, { name: 'min.cleanable.dirty.ratio', value: '0' },
];

async function createTopic(conn: RawKafkaConnection, name: string, configs = COMPACT): Promise<void> {
  const r = await conn.request(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: 1, replicationFactor: -1, assignments: [], configs }], timeoutMs: 5000, validateOnly: false });
  assert.equal(r.topics[0].errorCode, 0);
}

/** One batch of `keys` records: key k<i>, value <prefix>-<i>. */
async function produce(conn: RawKafkaConnection, topic: string, from: number, count: number, prefix: string, ts = Date.now()): Promise<void> {
  const records = buildRecordBatch(Array.from({ length: count }, (_, i) => ({ key: Buffer.from(`k${from + i}`), value: Buffer.from(`${prefix}-${from + i}`), timestamp: BigInt(ts) })));
  const r = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
}

type Env = Awaited<ReturnType<typeof startBroker>>;

/** An in-process broker and a connection to it for `body`, both closed after. */
async function withBroker(config: Record<string, string>, body: (env: Env, conn: RawKafkaConnection, tier: ObjectTier) => Promise<void>): Promise<void> {
  const env = await startBroker(config);
  const conn = await RawKafkaConnection.connect(env.bootstrap);
  try {
    await body(env, conn, env.broker.tier);
  } finally {
    conn.close();
    await env.cleanup();
  }
}

/** Upload, split stream-sets, and clean until nothing is due. Returns the passes done. */
async function settle(tier: ObjectTier): Promise<number> {
  await tier.uploader.trigger('test');
  for (let i = 0; i < 5; i++) if (await tier.compactor.runOnce() === 0) break;
  let passes = 0;
  for (let i = 0; i < 20; i++) {
    const n = await tier.cleaner!.runOnce();
    if (n === 0) break;
    passes += n;
  }
  return passes;
}

async function readTable(conn: RawKafkaConnection, topic: string, from = 0): Promise<{ records: { offset: number; key: string; value: string }[]; table: Map<string, string> }> {
  const { batches } = await fetchAllBatches(conn, topic, 0, from);
  const records: { offset: number; key: string; value: string }[] = [];
  for (const b of batches) for (const r of readRecords(b.bytes)) {
    const value = r.value?.toString() ?? '<null>';
    records.push({ offset: baseOffsetOf(b.bytes) + r.offsetDelta, key: r.key!.toString(), value });
  }
  const table = new Map<string, string>();
  for (const r of records) table.set(r.key, r.value);
  return { records, table };
}

test('a partition with more keys than the offset map holds is cleaned in several passes; every key ends at its latest value', { timeout: 60_000 }, async () => {
  // 64 KiB: 2730 slots, 2457 keys per pass.
  await withBroker({ ...MANUAL, 'log.cleaner.dedupe.buffer.size': '65536' }, async (env, conn, tier) => {
  await createTopic(conn, 'many-keys');
  for (let round = 0; round < 3; round++) for (let from = 0; from < 3000; from += 100) await produce(conn, 'many-keys', from, 100, `r${round}`);
  const passes = await settle(tier);
  assert.ok(passes >= 3, `several passes (${passes})`);
  const { records } = await readTable(conn, 'many-keys');
  // Each key once, at its last round, at the offset that round gave it.
  assert.equal(records.length, 3000);
  for (const r of records) {
    const k = Number(r.key.slice(1));
    assert.equal(r.offset, 6000 + k, `k${k} at its latest offset`);
    assert.equal(r.value, `r2-${k}`, `k${k} has its latest value`);
  }
  const kinds = [...tier.index.all()].map((o) => o.kind);
  assert.ok(kinds.every((k) => k === 'compacted'), `all data cleaned into compacted objects: ${kinds}`);
  assert.equal(tier.cleaner!.partitionStates()[0]!.dirtyRatio, 0);
  });
});

test('a pass that loses its swap (leadership changed meanwhile) changes nothing; the next pass cleans; its orphans are collected', { timeout: 60_000 }, async () => {
  await withBroker(MANUAL, async (env, conn, tier) => {
  await createTopic(conn, 'race');
  for (let round = 0; round < 4; round++) await produce(conn, 'race', 0, 50, `r${round}`);
  await tier.uploader.trigger('test');
  await tier.compactor.runOnce();
  const before = [...tier.index.all()].map((o) => o.id).sort();
  const beforeRead = await readTable(conn, 'race');
  // Right before the cleaner's commit, the partition record changes (as a new leader epoch would).
  const registry = tier.registry;
  const commit = registry.commit.bind(registry);
  let raced = false;
  registry.commit = async (change) => {
    if (!raced && change.add.some((o) => o.kind === 'compacted')) {
      raced = true;
      const topic = env.broker.context.topics.byName('race')!;
      const store = (registry as unknown as { store: { put(k: string, v: Buffer): Promise<unknown>; get(k: string): Promise<{ value: Buffer } | null> } }).store;
      const key = (registry as unknown as { keys: { partition(t: string, p: number): string } }).keys.partition(topic.topicId, 0);
      await store.put(key, (await store.get(key))!.value);
    }
    return commit(change);
  };
  assert.equal(await tier.cleaner!.runOnce(), 0, 'the first pass lost its race');
  assert.deepEqual([...tier.index.all()].map((o) => o.id).sort(), before, 'nothing swapped');
  assert.deepEqual((await readTable(conn, 'race')).records, beforeRead.records);
  assert.equal(await tier.cleaner!.runOnce(), 1, 'the next pass succeeds');
  const after = await readTable(conn, 'race');
  assert.equal(after.records.length, 50);
  assert.ok(after.records.every((r) => r.value.startsWith('r3-')));
  // The lost pass's objects were never referenced: the GC deletes them with the retired ones.
  const files = () => filesUnder(join(env.dataDir, 'objects')).length;
  await tier.gc.runOnce();
  assert.equal(files(), tier.index.size, 'only referenced objects are left');
  });
});

test('a corrupt object makes only its partition uncleanable; other partitions are cleaned; reads of the rest go on', { timeout: 60_000 }, async () => {
  await withBroker(MANUAL, async (env, conn, tier) => {
  await createTopic(conn, 'bad');
  await createTopic(conn, 'good');
  for (let round = 0; round < 3; round++) { await produce(conn, 'bad', 0, 20, `r${round}`); await produce(conn, 'good', 0, 20, `r${round}`); }
  await tier.uploader.trigger('test');
  await tier.compactor.runOnce();
  // Flip a byte inside the first batch of the bad topic's stream object (its CRC no longer matches).
  const badId = env.broker.context.topics.byName('bad')!.topicId;
  const obj = [...tier.index.all()].find((o) => o.blocks.some((b) => b.topicId === badId))!;
  const file = filesUnder(join(env.dataDir, 'objects')).find((f) => f.endsWith(obj.id))!;
  const bytes = readFileSync(file);
  bytes[obj.blocks[0]!.position + 70] ^= 0xff;
  writeFileSync(file, bytes);
  assert.equal(await tier.cleaner!.runOnce(), 1, 'the good partition is cleaned');
  const states = new Map(tier.cleaner!.partitionStates().map((s) => [s.topic, s]));
  assert.equal(states.get('bad')!.uncleanable, true);
  assert.equal(states.get('good')!.uncleanable, false);
  assert.equal((await readTable(conn, 'good')).records.length, 20);
  // Skipped until the retry time, not retried every run.
  assert.equal(await tier.cleaner!.runOnce(), 0);
  const scraped = await env.broker.parts.metrics.scrape();
  assert.match(scraped, /ferry_cleaner_uncleanable_partitions\{[^}]*\} 1/);
  assert.match(scraped, /ferry_cleaner_passes_total\{result="failed"[^}]*\} 1/);
  });
});

test('compact,delete: retention moves the log start and the cleaner keeps the latest values above it', { timeout: 60_000 }, async () => {
  await withBroker(MANUAL, async (env, conn, tier) => {
  await createTopic(conn, 'both', [...COMPACT.filter((c) => c.name !== 'cleanup.policy'), { name: 'cleanup.policy', value: 'compact,delete' }, { name: 'retention.ms', value: '60000' }]);
  const old = Date.now() - 120_000;
  await produce(conn, 'both', 0, 10, 'old', old); // older than retention.ms: dropped (retention works on whole blocks)
  await tier.uploader.trigger('test');
  await produce(conn, 'both', 10, 10, 'r0');
  await tier.uploader.trigger('test');
  await produce(conn, 'both', 10, 10, 'r1');
  await tier.uploader.trigger('test');
  // Retention works on whole blocks (as Kafka's on segments): before compaction merges them.
  assert.equal((await tier.retention.runOnce()).partitionsTrimmed, 1);
  assert.ok(await settle(tier) >= 1);
  const { records } = await readTable(conn, 'both', 10);
  assert.deepEqual(records.map((r) => r.key), Array.from({ length: 10 }, (_, i) => `k${10 + i}`));
  assert.ok(records.every((r) => r.value.startsWith('r1-')), JSON.stringify(records));
  assert.equal(env.broker.context.logs.get(env.broker.context.topics.byName('both')!.topicId, 0)!.log.logStartOffset, 10);
  });
});
