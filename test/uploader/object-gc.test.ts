/**
 * The object GC (src/uploader/object-gc.ts) on the fs object store and the local metadata store:
 * dead objects (dropped by retention or compaction) are deleted once their grace period is over,
 * then their markers; orphans (PUT, never committed) likewise by their age in the store; what
 * metadata references and keys that are not object keys are never touched. The clock is injected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectGc } from '../../src/uploader/object-gc.js';
import { Retention } from '../../src/uploader/retention.js';
import { newObjectId, objectIdOfKey, objectKey, objectKeyPrefix } from '../../src/objects/object-format.js';
import { CLUSTER, openTier, silent } from './tier-fixture.js';

const GRACE_MS = 60_000;

test('dead objects are deleted after the grace period, then forgotten; live ones stay', async (t) => {
  let now = 1_700_000_000_000;
  const tier = await openTier(t, { registryNow: () => now });
  const topic = await tier.topics.create('aging', 1, [{ name: 'retention.ms', value: '1000' }], false);
  const uploader = tier.uploader();
  await tier.produce(topic, 0, 2, { ts: now - 10_000 });
  await uploader.flush('old');
  await tier.produce(topic, 0, 2, { ts: now + 10_000_000 });
  await uploader.flush('new');
  const [oldObject, newObject] = (await tier.registry.list()).sort((a, b) => a.blocks[0]!.baseOffset - b.blocks[0]!.baseOffset);
  assert.ok(oldObject && newObject);
  await new Retention(tier.topics, tier.logs, tier.index, tier.registry, silent, () => now).runOnce();
  assert.deepEqual((await tier.registry.listDead()).map((d) => d.id), [oldObject.id]);

  const gc = new ObjectGc(tier.store, tier.registry, tier.index, objectKeyPrefix(CLUSTER), objectIdOfKey, GRACE_MS, silent, () => now);
  now += GRACE_MS - 1;
  assert.equal(await gc.runOnce(), 0, 'a reader that started before the drop may still be reading it');
  assert.ok(await tier.store.head(oldObject.key));
  now += 1;
  assert.equal(await gc.runOnce(), 1);
  assert.equal(await tier.store.head(oldObject.key), null, 'deleted from the store');
  assert.deepEqual(await tier.registry.listDead(), [], 'and its marker forgotten');
  assert.ok(await tier.store.head(newObject.key), 'the live object stays');
  assert.equal(await gc.runOnce(), 0, 'nothing left to do');
  assert.equal(gc.deleted, 1);
});

test('orphans (in the store, never in metadata) are deleted once older than the grace period; other keys are left alone', async (t) => {
  const tier = await openTier(t);
  const topic = await tier.topics.create('live', 1, [], false);
  await tier.produce(topic, 0, 1);
  await tier.uploader().flush('live');
  const [live] = await tier.registry.list();
  assert.ok(live);
  const orphanKey = objectKey(CLUSTER, newObjectId());
  await tier.store.put(orphanKey, Buffer.from('an upload that never committed'));
  const strangers = [`${objectKeyPrefix(CLUSTER)}not-an-object`, `other-cluster/o/00/${newObjectId()}`];
  for (const k of strangers) await tier.store.put(k, Buffer.from('x'));
  const written = Date.now();

  const at = (ms: number) => new ObjectGc(tier.store, tier.registry, tier.index, objectKeyPrefix(CLUSTER), objectIdOfKey, GRACE_MS, silent, () => ms);
  assert.equal(await at(written).runOnce(), 0, 'too young: its upload may be about to commit');
  assert.equal(await at(written + GRACE_MS + 5_000).runOnce(), 1);
  assert.equal(await tier.store.head(orphanKey), null);
  assert.ok(await tier.store.head(live.key), 'the committed object is never an orphan, however old');
  for (const k of strangers) assert.ok(await tier.store.head(k), `${k} is not the GC's to delete`);
});

test('an object the index knows (committed while the GC listed) is not deleted as an orphan', async (t) => {
  const tier = await openTier(t);
  const id = newObjectId();
  const key = objectKey(CLUSTER, id);
  await tier.store.put(key, Buffer.from('just committed'));
  // Known to this broker's index but not yet in the metadata list the GC read.
  tier.index.added([{ id, key, size: 14, kind: 'stream', createdMs: 0, blocks: [] }]);
  const gc = new ObjectGc(tier.store, tier.registry, tier.index, objectKeyPrefix(CLUSTER), objectIdOfKey, 0, silent, () => Date.now() + GRACE_MS);
  assert.equal(await gc.runOnce(), 0);
  assert.ok(await tier.store.head(key));
});
