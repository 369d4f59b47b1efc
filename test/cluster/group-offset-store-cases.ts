// Cases of MetadataGroupOffsetStore run on both backends (typed-metadata.test.ts: local,
// etcd-typed-metadata.test.ts: a real etcd).
import assert from 'node:assert/strict';
import { MetadataGroupOffsetStore, type CommittedOffset } from '../../src/cluster/metadata-group-offset-store.js';
import type { MetadataStore } from '../../src/cluster/metadata-store.js';

const offset = (topic: string, partition: number, o: bigint, topicId?: string): CommittedOffset =>
  ({ topic, partition, offset: o, leaderEpoch: -1, metadata: '', commitTimestampMs: 1000, ...(topicId ? { topicId } : {}) });

/**
 * deleteTopicOffsets (a deleted topic, issue 11): from every group, by topic id (a re-created
 * topic's offsets stay; offsets with no id match any topic of the name), past one transaction, and
 * a key re-committed between the sweep's read and its delete stays (the delete is guarded).
 */
export async function deleteTopicOffsetsCase(store: MetadataStore, clusterName: string): Promise<void> {
  let duringList: (() => Promise<void>) | null = null;
  // The sweep lists, then deletes: `duringList` runs in between, once.
  const racing = new Proxy(store, {
    get(target, prop) {
      if (prop === 'list') {
        return async (prefix: string) => {
          const kvs = await target.list(prefix);
          const hook = duringList;
          duringList = null;
          if (hook) await hook();
          return kvs;
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const groups = new MetadataGroupOffsetStore(racing, { clusterName });
  await groups.commit('g1', [offset('x', 0, 1n, 'id-1'), offset('x', 1, 2n, 'id-1'), offset('y', 0, 3n, 'id-y')]);
  await groups.commit('legacy', [offset('x', 0, 4n)]);
  await groups.commit('recreated', [offset('x', 0, 5n, 'id-2')]);
  await groups.commit('wide', Array.from({ length: 300 }, (_, p) => offset('x', p, BigInt(p), 'id-1')));
  const loaded = new Map((await groups.loadAll()).map((g) => [g.groupId, g.offsets]));
  assert.equal(loaded.get('g1')![0]!.topicId, 'id-1', 'the topic id round-trips');
  assert.equal(loaded.get('legacy')![0]!.topicId, undefined);

  // While the sweep runs, a consumer of the re-created topic commits g1's x/1 again.
  const other = new MetadataGroupOffsetStore(store, { clusterName });
  duringList = () => other.commit('g1', [offset('x', 1, 9n, 'id-2')]);
  await groups.deleteTopicOffsets([{ name: 'x', topicId: 'id-1' }]);

  const after = new Map((await groups.loadAll()).map((g) => [g.groupId, g.offsets.map((o) => [o.topic, o.partition, o.offset, o.topicId ?? null])]));
  assert.deepEqual([...after.keys()].sort(), ['g1', 'recreated']);
  assert.deepEqual(after.get('g1'), [['x', 1, 9n, 'id-2'], ['y', 0, 3n, 'id-y']]);
  assert.deepEqual(after.get('recreated'), [['x', 0, 5n, 'id-2']]);
}
