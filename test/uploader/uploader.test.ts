/**
 * The uploader (src/uploader/uploader.ts) without a broker: objects are cut at upload.max.bytes,
 * a partition's runs commit in offset order (stream objects first, its remainder in a shared
 * stream-set after them), the WAL is trimmed only after the commit, and a failed commit guard
 * (a fenced leader) commits nothing, trims nothing and leaves at most garbage for the GC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectGc } from '../../src/uploader/object-gc.js';
import { UploadFencedError } from '../../src/uploader/uploader.js';
import { objectIdOfKey, objectKeyPrefix } from '../../src/objects/object-format.js';
import type { ObjectRecord } from '../../src/cluster/object-registry.js';
import { decodeJson } from '../../src/cluster/metadata-store.js';
import { ProducerStateTable, type ProducerSnapshot } from '../../src/log/producer-state.js';
import { buildRecordBatch, lastOffsetOf, parseBatches } from '../../src/protocol/record-batch.js';
import { CLUSTER, openTier, silent, type Tier } from './tier-fixture.js';

/** Per committed object: its kind and, per partition, [base, end) of its block(s). */
function layout(tier: Tier, topicIds: Map<string, string>): Array<{ kind: string; runs: string[] }> {
  return tier.registry.commits.filter((c) => c.succeeded).flatMap((c) => c.add).map((o: ObjectRecord) => ({
    kind: o.kind,
    runs: o.blocks.map((b) => `${topicIds.get(b.topicId)}/${b.partition}:${b.baseOffset}-${b.endOffset}`),
  }));
}

async function readAll(tier: Tier, topicId: string, partition: number): Promise<Buffer[]> {
  const st = tier.logs.get(topicId, partition)!;
  const out: Buffer[] = [];
  let offset = 0;
  while (offset < st.log.highWatermark) {
    const r = await tier.reads.read(st.log, offset, 1 << 20, true);
    assert.ok(r.batches.length > 0, `something to read at ${offset}`);
    for (const b of r.batches) { out.push(b); offset = lastOffsetOf(b) + 1; }
  }
  return out;
}

const sameBatches = (got: Buffer[], want: Buffer[]) => got.length === want.length && got.every((g, i) => g.equals(want[i]!));

test('objects are cut at upload.max.bytes; a partition\'s runs commit in offset order, its remainder in a stream-set after them', async (t) => {
  const tier = await openTier(t);
  const a = await tier.topics.create('big', 1, [], false);
  const b = await tier.topics.create('small', 1, [], false);
  const produced: Buffer[] = [];
  for (let i = 0; i < 10; i++) produced.push(await tier.produce(a, 0, 2, { valueBytes: 1_000 }));
  const small = await tier.produce(b, 0, 1, { valueBytes: 10 });
  const batchBytes = produced[0]!.length;
  // Three batches per object; a partition with at least 2.5 batches pending gets stream objects.
  const uploader = tier.uploader({ pendingBytesMax: 3 * batchBytes + 10, streamSplitBytes: Math.floor(2.5 * batchBytes), cacheMaxBytes: 0 });
  await uploader.flush('test');

  const names = new Map([[a.topicId, 'big'], [b.topicId, 'small']]);
  const objects = layout(tier, names);
  assert.deepEqual(objects.slice(0, 3), [
    { kind: 'stream', runs: ['big/0:0-6'] },
    { kind: 'stream', runs: ['big/0:6-12'] },
    { kind: 'stream', runs: ['big/0:12-18'] },
  ], 'stream objects of three batches each, in offset order');
  assert.equal(objects.length, 4);
  assert.equal(objects[3]!.kind, 'stream-set');
  assert.deepEqual([...objects[3]!.runs].sort(), ['big/0:18-20', 'small/0:0-1'], 'the remainder of big, after its stream objects, shares a stream-set with small');
  for (const o of tier.registry.commits.flatMap((c) => c.add)) {
    assert.ok(o.size <= 3 * batchBytes + 10 + 4096, `object ${o.id} of ${o.size} bytes stays near upload.max.bytes (index and footer aside)`);
  }
  assert.equal(tier.partition(a).log.uploadedEndOffset, 20);
  assert.equal(tier.partition(b).log.uploadedEndOffset, 1);
  assert.equal(tier.logs.bytesPendingUpload, 0);
  assert.equal(uploader.stats.objects, 4);

  // The WAL is trimmed past everything; the cache was emptied (cache.max.bytes 0): reads come from the objects, byte-exact.
  assert.equal(tier.wal.trimOffset, tier.wal.nextOffset);
  assert.equal(tier.partition(a).log.batchCount, 0);
  assert.ok(sameBatches(await readAll(tier, a.topicId, 0), produced), 'big reads back byte-exact from objects');
  assert.ok(sameBatches(await readAll(tier, b.topicId, 0), [small]), 'small reads back byte-exact from objects');
  // Metadata holds exactly what the index and the store hold.
  const committed = (await tier.registry.list()).map((o) => o.id).sort();
  assert.deepEqual([...tier.index.all()].map((o) => o.id).sort(), committed);
  assert.deepEqual((await tier.storedKeys()).map(objectIdOfKey).sort(), committed);
});

test('a single batch larger than upload.max.bytes is an object of its own, never split', async (t) => {
  const tier = await openTier(t);
  const topic = await tier.topics.create('huge', 1, [], false);
  const first = await tier.produce(topic, 0, 1, { valueBytes: 20_000 });
  await tier.produce(topic, 0, 1, { valueBytes: 20_000 });
  await tier.uploader({ pendingBytesMax: 1_000, streamSplitBytes: 1_000 }).flush('test');
  const objects = tier.registry.commits.flatMap((c) => c.add);
  assert.deepEqual(objects.map((o) => o.blocks.map((b) => [b.baseOffset, b.endOffset])), [[[0, 1]], [[1, 2]]]);
  assert.ok(objects.every((o) => o.size > first.length));
});

test('a commit whose partition guard fails commits nothing and trims nothing; a retry re-reads the guard and uploads it all', async (t) => {
  const tier = await openTier(t);
  const topic = await tier.topics.create('fenced', 1, [], false);
  for (let i = 0; i < 4; i++) await tier.produce(topic, 0, 1, { valueBytes: 500 });
  const uploader = tier.uploader();
  // First upload: fine (it learns the partition record's revision).
  await uploader.flush('first');
  const trimmed = tier.wal.trimOffset;
  assert.equal(trimmed, tier.wal.nextOffset);
  for (let i = 0; i < 3; i++) await tier.produce(topic, 0, 1, { valueBytes: 500 });
  const walEnd = tier.wal.nextOffset;
  // Leadership changes between the PUT and the commit: the remembered revision is stale.
  tier.registry.beforeCommit = async () => { tier.registry.beforeCommit = null; await tier.bumpPartitionRecord(topic, 0); };
  await uploader.trigger('fenced');
  assert.ok(uploader.failingError instanceof UploadFencedError, `failing with ${uploader.failingError}`);
  assert.equal(uploader.stats.failures, 1);
  assert.equal(tier.registry.commits.at(-1)!.succeeded, false);
  assert.equal(tier.partition(topic).log.uploadedEndOffset, 4, 'nothing of the failed commit is readable from objects');
  assert.equal(tier.partition(topic).log.pendingUpload().length, 3);
  assert.equal(tier.wal.trimOffset, trimmed, 'the WAL still holds the data');
  assert.equal(tier.wal.nextOffset, walEnd);
  // The PUT object exists but metadata never referenced it: garbage.
  const committed = new Set((await tier.registry.list()).map((o) => o.id));
  const orphans = (await tier.storedKeys()).filter((k) => !committed.has(objectIdOfKey(k)!));
  assert.equal(orphans.length, 1);

  await uploader.trigger('retry');
  assert.equal(uploader.failingError, null, 'recovered');
  assert.equal(tier.partition(topic).log.uploadedEndOffset, 7);
  assert.equal(tier.wal.trimOffset, walEnd);
  const gc = new ObjectGc(tier.store, tier.registry, tier.index, objectKeyPrefix(CLUSTER), objectIdOfKey, 60_000, silent, () => Date.now() + 120_000);
  assert.equal(await gc.runOnce(), 1, 'the GC deletes the orphan of the failed commit');
  const left = await tier.storedKeys();
  assert.deepEqual(left.map(objectIdOfKey).sort(), (await tier.registry.list()).map((o) => o.id).sort());
});

test('when a later run of an upload fails its guard, the runs before it stay committed and the WAL is not trimmed in that pass', async (t) => {
  const tier = await openTier(t);
  const topic = await tier.topics.create('partial', 1, [], false);
  const produced: Buffer[] = [];
  for (let i = 0; i < 6; i++) produced.push(await tier.produce(topic, 0, 1, { valueBytes: 1_000 }));
  const uploader = tier.uploader({ pendingBytesMax: 2 * produced[0]!.length + 10, streamSplitBytes: 1 });
  await uploader.flush('learn-revision');
  // Fresh data for a second upload of three runs; the second run's commit is fenced.
  for (let i = 0; i < 6; i++) produced.push(await tier.produce(topic, 0, 1, { valueBytes: 1_000 }));
  const trimmed = tier.wal.trimOffset;
  const before = tier.registry.commits.length;
  tier.registry.beforeCommit = async (n) => { if (n === before + 1) { tier.registry.beforeCommit = null; await tier.bumpPartitionRecord(topic, 0); } };
  await uploader.trigger('partly-fenced');
  const attempts = tier.registry.commits.slice(before);
  assert.deepEqual(attempts.map((c) => c.succeeded), [true, false], 'the third run is not even tried after the second failed');
  assert.equal(tier.partition(topic).log.uploadedEndOffset, 8, 'the first run (6..7) is committed and readable');
  assert.equal(tier.wal.trimOffset, trimmed, 'no trim in a failed pass');
  await uploader.trigger('retry');
  assert.equal(tier.partition(topic).log.uploadedEndOffset, 12);
  assert.ok(tier.wal.trimOffset > trimmed);
  const blocks = tier.partition(topic).log.objectBlocks().map((b) => [b.baseOffset, b.endOffset]);
  for (let i = 1; i < blocks.length; i++) assert.equal(blocks[i]![0], blocks[i - 1]![1], `blocks are dense and disjoint: ${JSON.stringify(blocks)}`);
});

test('a failing commit compare (the WAL volume owner changed) refuses the commit', async (t) => {
  const tier = await openTier(t);
  const topic = await tier.topics.create('owner', 1, [], false);
  await tier.produce(topic, 0, 1);
  const uploader = tier.uploader();
  uploader.useCommitCompares(() => [{ key: `${tier.meta.keys.root}volumes/nobody`, target: 'modRevision', op: '==', value: 99 }]);
  await assert.rejects(uploader.flush('owned'), UploadFencedError);
  assert.equal(tier.partition(topic).log.uploadedEndOffset, 0);
  assert.equal(tier.wal.trimOffset, 0n);
  uploader.useCommitCompares(() => []);
  await uploader.flush('owned-again');
  assert.equal(tier.partition(topic).log.uploadedEndOffset, 1);
});

test('cluster guards: a partition this broker does not lead is not committed', async (t) => {
  const tier = await openTier(t);
  const topic = await tier.topics.create('led-elsewhere', 1, [], false);
  await tier.produce(topic, 0, 1);
  const uploader = tier.uploader();
  uploader.useGuards(() => null);
  await assert.rejects(uploader.flush('not-leader'), /not the leader any more/);
  assert.equal(tier.registry.commits.length, 0, 'no commit attempted');
  assert.equal(tier.wal.trimOffset, 0n);
});

test('the producer state of uploaded data is committed with it (idempotence survives the WAL trim)', async (t) => {
  const tier = await openTier(t);
  const topic = await tier.topics.create('idem', 1, [], false);
  const st = tier.partition(topic);
  const parsed = parseBatches(buildRecordBatch([{ value: Buffer.from('x') }, { value: Buffer.from('y') }], { producerId: 77n, producerEpoch: 0, baseSequence: 0 }), { batchBytesMax: 1 << 20 });
  assert.ok(Array.isArray(parsed));
  const v = parsed[0]!;
  const seq = { firstSeq: 0, lastSeq: 1, baseOffset: -1, lastOffset: -1, durable: Promise.resolve() };
  const outcome = tier.logs.append(st, [{ bytes: v.bytes, recordsCount: 2, maxTimestamp: Number(v.maxTimestamp), producerId: 77n, producerEpoch: 0, baseSequence: 0 }], null, (base, last) => { seq.baseOffset = base; seq.lastOffset = last; });
  st.producers.record(77n, 0, seq, Number(v.maxTimestamp));
  await outcome.done;
  await tier.uploader().flush('test');
  const snaps = await tier.registry.producerSnapshots(topic.topicId);
  assert.ok(snaps.has(0), 'a snapshot for partition 0');
  // What a broker restarting after the WAL trim restores: the batch is still known, a retry is a duplicate.
  const restored = new ProducerStateTable();
  restored.restore(decodeJson<ProducerSnapshot>(snaps.get(0)!, 'snapshot'));
  const check = restored.check(77n, 0, 0, 1);
  assert.equal(check.kind, 'duplicate');
  assert.equal(check.kind === 'duplicate' && check.batch.baseOffset, 0);
  assert.equal(restored.check(77n, 0, 2, 2).kind, 'append');
});
