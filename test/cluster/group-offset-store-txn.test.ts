// MetadataGroupOffsetStore's pending transactional offsets on a LocalMetadataStore: key layout,
// loading, large batches within ETCD_LIMITS, a failure between the transactions of one
// completePending (each partition pending or committed, a repeat finishes), and the order of
// regular vs transactional commits kept across the move.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MetadataGroupOffsetStore, type CommittedOffset } from '../../src/cluster/metadata-group-offset-store.js';
import { ETCD_LIMITS, type MetadataStore } from '../../src/cluster/metadata-store.js';
import type { GroupOffsetStore } from '../../src/groups/offset-store.js';
import { tempStore } from './temp-store.js';

const offset = (topic: string, partition: number, o: bigint, extra: Partial<CommittedOffset> = {}): CommittedOffset =>
  ({ topic, partition, offset: o, leaderEpoch: -1, metadata: '', commitTimestampMs: 1000, ...extra });

/** Wraps a store: counts txn calls and can fail the n-th one from now. */
function counting(store: MetadataStore): { store: MetadataStore; txns: () => number; failTxnAfter(n: number): void } {
  let txns = 0;
  let failAt = -1;
  const wrapped = new Proxy(store, {
    get(target, prop) {
      if (prop === 'txn') {
        return async (...args: Parameters<MetadataStore['txn']>) => {
          if (txns === failAt) {
            failAt = -1;
            throw new Error('injected txn failure');
          }
          txns++;
          return target.txn(...args);
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { store: wrapped, txns: () => txns, failTxnAfter: (n) => { failAt = txns + n; } };
}

describe('MetadataGroupOffsetStore: pending transactional offsets', () => {
  test('keys under the group prefix per producer; loaded as pending, not committed; commit moves them; abort drops them', async (t) => {
    const ctx = await tempStore(t);
    const groups: GroupOffsetStore = new MetadataGroupOffsetStore(ctx.store, { clusterName: 'test' });
    await groups.commit('g', [offset('t', 0, 1n)]);
    await groups.putPending('g', 7n, [offset('t', 0, 10n, { topicId: 'id-t', metadata: 'm' }), offset('t/x', 1, 11n)]);
    await groups.putPending('g', 8n, [offset('t', 2, 12n)]);
    const keys = (await ctx.store.list('/ferry/test/groups/g/')).map((kv) => kv.key).sort();
    assert.deepEqual(keys, [
      '/ferry/test/groups/g/offsets/t/0',
      '/ferry/test/groups/g/txn/7/t%2Fx/1',
      '/ferry/test/groups/g/txn/7/t/0',
      '/ferry/test/groups/g/txn/8/t/2',
    ]);

    const reopened = new MetadataGroupOffsetStore(await ctx.reopen(), { clusterName: 'test' });
    const g = await reopened.loadGroup('g');
    assert.deepEqual(g.offsets.map((o) => o.offset), [1n]);
    assert.deepEqual(g.pending?.map((p) => [p.producerId, p.offsets.map((o) => [o.topic, o.partition, o.offset, o.topicId ?? null, o.metadata])]), [
      [7n, [['t/x', 1, 11n, null, ''], ['t', 0, 10n, 'id-t', 'm']]],
      [8n, [['t', 2, 12n, null, '']]],
    ]);
    assert.deepEqual(await reopened.loadAll(), [g]);
    assert.deepEqual(await reopened.loadGroup('none'), { groupId: 'none', offsets: [] });

    const applied = await reopened.completePending('g', 7n, true);
    assert.deepEqual(applied.map((o) => [o.topic, o.partition, o.offset]), [['t/x', 1, 11n], ['t', 0, 10n]]);
    assert.deepEqual(await reopened.completePending('g', 7n, true), [], 'idempotent');
    assert.deepEqual(await reopened.completePending('g', 8n, false), []);
    const after = await reopened.loadGroup('g');
    assert.equal(after.pending, undefined);
    assert.deepEqual(after.offsets.map((o) => [o.topic, o.partition, o.offset, o.topicId ?? null]), [['t/x', 1, 11n, null], ['t', 0, 10n, 'id-t']]);
  });

  test('a regular commit after the TxnOffsetCommit wins; one before loses; the order survives the move to the committed key', async (t) => {
    const { store } = await tempStore(t);
    const groups = new MetadataGroupOffsetStore(store, { clusterName: 'test' });
    await groups.commit('g', [offset('t', 0, 1n)]);
    await groups.putPending('g', 1n, [offset('t', 0, 10n), offset('t', 1, 11n)]);
    await groups.putPending('g', 2n, [offset('t', 0, 20n)]);
    await groups.commit('g', [offset('t', 1, 50n)]);
    assert.deepEqual((await groups.completePending('g', 2n, true)).map((o) => o.offset), [20n]);
    // Producer 1's offset of t-0 is older than producer 2's, which is committed now: it stays out.
    assert.deepEqual((await groups.completePending('g', 1n, true)).map((o) => o.offset), []);
    assert.deepEqual((await groups.loadGroup('g')).offsets.map((o) => [o.partition, o.offset]), [[0, 20n], [1, 50n]]);
  });

  test('large batches stay within ETCD_LIMITS; a failure between transactions leaves each partition pending or committed; a repeat finishes', async (t) => {
    const ctx = await tempStore(t);
    const c = counting(ctx.store);
    const groups = new MetadataGroupOffsetStore(c.store, { clusterName: 'test' });
    const many = Array.from({ length: 300 }, (_, p) => offset('wide', p, BigInt(p), { metadata: 'x'.repeat(20_000) }));
    const before = c.txns();
    await groups.putPending('big', 5n, many);
    const putTxns = c.txns() - before;
    assert.ok(putTxns >= Math.ceil((300 * 20_000) / ETCD_LIMITS.requestBytesMax), `split by bytes (${putTxns} txns)`);
    assert.equal((await groups.loadGroup('big')).pending![0]!.offsets.length, 300);

    c.failTxnAfter(2); // two transactions of the move go through, the third fails
    await assert.rejects(groups.completePending('big', 5n, true), /injected/);
    const half = await groups.loadGroup('big');
    const committed = half.offsets.map((o) => o.partition);
    const pending = half.pending![0]!.offsets.map((o) => o.partition);
    assert.ok(committed.length > 0 && pending.length > 0);
    assert.deepEqual([...committed, ...pending].sort((a, b) => a - b), many.map((o) => o.partition), 'every partition in exactly one place');

    const rest = await groups.completePending('big', 5n, true);
    assert.deepEqual(rest.map((o) => o.partition).sort((a, b) => a - b), pending.sort((a, b) => a - b));
    const done = await groups.loadGroup('big');
    assert.equal(done.pending, undefined);
    assert.equal(done.offsets.length, 300);

    // 300 small pending offsets: split by op count, each partition's put and delete together.
    await groups.putPending('small', 6n, Array.from({ length: 300 }, (_, p) => offset('s', p, 1n)));
    const b2 = c.txns();
    await groups.completePending('small', 6n, true);
    assert.equal(c.txns() - b2, Math.ceil(300 / (ETCD_LIMITS.txnOpsMax / 2)));
  });

  test('deleteOffsets, deleteGroup and deleteTopicOffsets remove pending offsets too', async (t) => {
    const { store } = await tempStore(t);
    const groups = new MetadataGroupOffsetStore(store, { clusterName: 'test' });
    await groups.commit('g', [offset('t', 0, 1n)]);
    await groups.putPending('g', 1n, [offset('t', 0, 10n), offset('t', 1, 11n), offset('gone', 0, 3n, { topicId: 'id-gone' }), offset('gone', 1, 4n, { topicId: 'id-new' })]);
    await groups.deleteOffsets('g', [{ topic: 't', partition: 0 }]);
    await groups.deleteTopicOffsets([{ name: 'gone', topicId: 'id-gone' }]);
    const g = await groups.loadGroup('g');
    assert.deepEqual(g.offsets, []);
    assert.deepEqual(g.pending?.[0]?.offsets.map((o) => [o.topic, o.partition]), [['gone', 1], ['t', 1]]);
    await groups.putPending('h', 1n, [offset('t', 0, 1n)]);
    await groups.deleteGroup('h');
    assert.deepEqual(await groups.completePending('h', 1n, true), []);
    assert.deepEqual((await groups.loadAll()).map((x) => x.groupId), ['g']);
  });
});
