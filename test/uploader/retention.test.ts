/**
 * Retention (src/uploader/retention.ts) without a broker: retention.ms and retention.bytes move
 * the log start over whole uploaded blocks (durable in metadata first), objects nothing needs any
 * more move to dead-objects, data not yet uploaded is never dropped, and topics whose
 * cleanup.policy lacks delete are left alone. The clock is injected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Retention } from '../../src/uploader/retention.js';
import type { TopicInfo } from '../../src/topics/topic-service.js';
import { openTier, silent, type Tier } from './tier-fixture.js';

const HOUR = 3_600_000;
const T0 = 1_700_000_000_000;

/** `rounds` uploads of one batch each (one object, one block per round), at T0 + i hours. */
async function uploadRounds(tier: Tier, topic: TopicInfo, rounds: number): Promise<void> {
  const uploader = tier.uploader();
  for (let i = 0; i < rounds; i++) {
    await tier.produce(topic, 0, 5, { valueBytes: 200, ts: T0 + i * HOUR });
    await uploader.flush(`round ${i}`);
  }
}

const blockRanges = (tier: Tier, topic: TopicInfo) => tier.partition(topic).log.objectBlocks().map((b) => [b.baseOffset, b.endOffset]);

test('retention.ms: whole blocks older than the limit go; the log start is in metadata; their objects become dead', async (t) => {
  let now = T0;
  const tier = await openTier(t, { registryNow: () => now });
  const topic = await tier.topics.create('timed', 1, [{ name: 'retention.ms', value: String(2 * HOUR) }], false);
  await uploadRounds(tier, topic, 4); // blocks [0,5) [5,10) [10,15) [15,20) with records at T0, +1h, +2h, +3h
  const objects = (await tier.registry.list()).sort((a, b) => a.blocks[0]!.baseOffset - b.blocks[0]!.baseOffset);
  assert.equal(objects.length, 4);
  const retention = new Retention(tier.topics, tier.logs, tier.index, tier.registry, silent, () => now);

  now = T0 + 3 * HOUR + 1; // cutoff T0 + 1h + 1: the first two rounds are older
  assert.deepEqual(await retention.runOnce(), { partitionsTrimmed: 1, objectsRemoved: 2 });
  assert.equal(tier.partition(topic).log.logStartOffset, 10);
  assert.deepEqual((await tier.meta.logStarts(topic.topicId)).get(0), 10, 'the new log start is durable in metadata');
  assert.deepEqual(blockRanges(tier, topic), [[10, 15], [15, 20]]);
  const dead = await tier.registry.listDead();
  assert.deepEqual(dead.map((d) => d.id).sort(), objects.slice(0, 2).map((o) => o.id).sort());
  assert.ok(dead.every((d) => d.deadSinceMs === now));
  assert.deepEqual((await tier.registry.list()).map((o) => o.id).sort(), objects.slice(2).map((o) => o.id).sort());
  assert.ok(!tier.index.has(objects[0]!.id) && tier.index.has(objects[2]!.id));
  // The objects themselves stay in the store until the GC's grace period is over.
  assert.equal((await tier.storedKeys()).length, 4);

  assert.deepEqual(await retention.runOnce(), { partitionsTrimmed: 0, objectsRemoved: 0 }, 'nothing more at the same time');
});

test('retention never drops data that is not uploaded yet, however old', async (t) => {
  let now = T0;
  const tier = await openTier(t, { registryNow: () => now });
  const topic = await tier.topics.create('tail', 1, [{ name: 'retention.ms', value: '1000' }], false);
  await uploadRounds(tier, topic, 2);
  await tier.produce(topic, 0, 3, { ts: T0 }); // offsets 10..12: old, but only in the WAL and the cache
  const retention = new Retention(tier.topics, tier.logs, tier.index, tier.registry, silent, () => now);
  now = T0 + 100 * HOUR;
  const r = await retention.runOnce();
  assert.equal(r.objectsRemoved, 2);
  const log = tier.partition(topic).log;
  assert.equal(log.logStartOffset, 10, 'up to what is uploaded, not past it');
  assert.equal(log.highWatermark, 13);
  assert.equal(log.read(0, 1 << 20, true).batches.length, 1, 'the un-uploaded batch is still readable');
});

test('retention.bytes: the oldest blocks go while what remains is still at least the limit', async (t) => {
  const tier = await openTier(t);
  const probe = await tier.topics.create('probe', 1, [], false);
  await uploadRounds(tier, probe, 1);
  const blockBytes = tier.partition(probe).log.objectBlocks()[0]!.size;
  // Room for two and a half blocks: of five, the two oldest may go (three remain, 3 >= 2.5 but 2 < 2.5).
  const topic = await tier.topics.create('sized', 1, [{ name: 'retention.bytes', value: String(Math.floor(2.5 * blockBytes)) }], false);
  await uploadRounds(tier, topic, 5);
  assert.ok(tier.partition(topic).log.objectBlocks().every((b) => b.size === blockBytes), 'blocks of equal size');
  const retention = new Retention(tier.topics, tier.logs, tier.index, tier.registry, silent, () => T0);
  const r = await retention.runOnce();
  assert.equal(r.partitionsTrimmed, 1);
  assert.equal(tier.partition(topic).log.logStartOffset, 10);
  assert.deepEqual(blockRanges(tier, topic), [[10, 15], [15, 20], [20, 25]]);
  assert.equal(tier.partition(topic).log.retainedBytes(), 3 * blockBytes);
  assert.equal(tier.partition(probe).log.logStartOffset, 0, 'a topic without limits is untouched');
});

test('topics without cleanup.policy delete, or without limits, keep everything', async (t) => {
  const tier = await openTier(t);
  const compacted = await tier.topics.create('compacted', 1, [{ name: 'cleanup.policy', value: 'compact' }, { name: 'retention.ms', value: '1' }], false);
  const forever = await tier.topics.create('forever', 1, [{ name: 'retention.ms', value: '-1' }, { name: 'retention.bytes', value: '-1' }], false);
  await uploadRounds(tier, compacted, 2);
  await uploadRounds(tier, forever, 2);
  const retention = new Retention(tier.topics, tier.logs, tier.index, tier.registry, silent, () => T0 + 1000 * HOUR);
  assert.deepEqual(await retention.runOnce(), { partitionsTrimmed: 0, objectsRemoved: 0 });
  assert.equal(tier.partition(compacted).log.logStartOffset, 0);
  assert.equal(tier.partition(forever).log.logStartOffset, 0);
  assert.deepEqual(await tier.registry.listDead(), []);
});

test('objects of a deleted topic are released', async (t) => {
  const tier = await openTier(t);
  const topic = await tier.topics.create('gone', 1, [], false);
  const kept = await tier.topics.create('kept', 1, [], false);
  await uploadRounds(tier, topic, 2);
  await uploadRounds(tier, kept, 1);
  await tier.topics.delete('gone');
  const retention = new Retention(tier.topics, tier.logs, tier.index, tier.registry, silent, () => T0);
  assert.deepEqual(await retention.runOnce(), { partitionsTrimmed: 0, objectsRemoved: 2 });
  const left = await tier.registry.list();
  assert.equal(left.length, 1);
  assert.equal(left[0]!.blocks[0]!.topicId, kept.topicId);
});
