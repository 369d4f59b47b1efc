// Transactional offset commits (TxnOffsetCommit, the transaction's marker, OffsetFetch requireStable)
// against both real stores: the in-memory one and the MetadataStore-backed one on a
// LocalMetadataStore in a temporary directory (restart = reopen the store and a new coordinator).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  GroupCoordinator, ManualClock, MemoryGroupOffsetStore,
  type GroupOffsetStore, type OffsetFetchResult, type StoredGroupOffsets, type TxnOffsetCommitParams,
} from '../../src/groups/coordinator.js';
import { MetadataGroupOffsetStore } from '../../src/cluster/metadata-group-offset-store.js';
import { tempStore } from '../cluster/temp-store.js';
import { ErrorCode, commitParams, joinParams, stableSingle, sync, joinNew } from './helpers.js';

type Entry = { topic: string; partition: number; offset: bigint; metadata?: string | null };

function txnParams(groupId: string, producerId: bigint, entries: Entry[], member: Partial<Pick<TxnOffsetCommitParams, 'generationId' | 'memberId' | 'groupInstanceId'>> = {}): TxnOffsetCommitParams {
  const p = commitParams(groupId, entries);
  return {
    apiVersion: 3, transactionalId: `tx-${producerId}`, groupId, producerId, producerEpoch: 0,
    generationId: -1, memberId: '', groupInstanceId: null, ...member, topics: p.topics,
  };
}

function errorsOf(r: { topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }> }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of r.topics) for (const p of t.partitions) out[`${t.name}-${p.partitionIndex}`] = p.errorCode;
  return out;
}

/** topic-partition -> [offset, errorCode] of a fetch. */
function fetched(r: OffsetFetchResult): Record<string, [bigint, number]> {
  assert.equal(r.errorCode, ErrorCode.NONE);
  const out: Record<string, [bigint, number]> = {};
  for (const t of r.topics) for (const p of t.partitions) out[`${t.name}-${p.partitionIndex}`] = [p.committedOffset, p.errorCode];
  return out;
}

function fetch(c: GroupCoordinator, groupId: string, requireStable: boolean, partitions: number[] | null = [0, 1]): Promise<OffsetFetchResult> {
  return c.fetchOffsets({ groupId, topics: partitions === null ? null : [{ name: 't', partitionIndexes: partitions }], requireStable });
}

/** The in-memory store with loadGroup, so adoptGroup reads it as a cluster store would. */
class LoadingMemoryStore extends MemoryGroupOffsetStore {
  async loadGroup(groupId: string): Promise<StoredGroupOffsets> { return this.stored(groupId); }
}

interface Backend {
  name: string;
  /** A store; `restart` closes and reopens its backing (a process restart). */
  open(t: { after(fn: () => Promise<void>): void }): Promise<{ store: GroupOffsetStore; restart(): Promise<GroupOffsetStore> }>;
}

const backends: Backend[] = [
  {
    name: 'in-memory store',
    async open() {
      const store = new LoadingMemoryStore();
      return { store, restart: async () => store };
    },
  },
  {
    name: 'MetadataGroupOffsetStore on a LocalMetadataStore',
    async open(t) {
      const ctx = await tempStore(t);
      return {
        store: new MetadataGroupOffsetStore(ctx.store, { clusterName: 'txn' }),
        restart: async () => new MetadataGroupOffsetStore(await ctx.reopen(), { clusterName: 'txn' }),
      };
    },
  },
];

async function open(store: GroupOffsetStore, clock = new ManualClock()): Promise<GroupCoordinator> {
  let n = 0;
  return GroupCoordinator.open({ store, clock, config: { initialRebalanceDelayMs: 0 }, newMemberIdSuffix: () => `id${++n}` });
}

for (const backend of backends) {
  describe(`transactional offsets (${backend.name})`, () => {
    test('pending offsets are not visible; requireStable answers UNSTABLE_OFFSET_COMMIT per partition; commit applies; idempotent', async (t) => {
      const { store } = await backend.open(t);
      const c = await open(store);
      await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 5n }, { topic: 't', partition: 1, offset: 6n }]));
      const r = await c.commitTxnOffsets(txnParams('g', 7n, [{ topic: 't', partition: 0, offset: 10n, metadata: 'tx' }, { topic: 't', partition: 2, offset: 20n }]));
      assert.deepEqual(errorsOf(r), { 't-0': ErrorCode.NONE, 't-2': ErrorCode.NONE });
      assert.equal(c.inspect('g')?.pendingTxnOffsetCount, 2);

      // Not stable: the last committed offsets, the pending ones ignored.
      assert.deepEqual(fetched(await fetch(c, 'g', false, [0, 1, 2])), { 't-0': [5n, 0], 't-1': [6n, 0], 't-2': [-1n, 0] });
      // Stable: the partitions with a pending offset are unstable, the others answer as usual.
      const stable = await fetch(c, 'g', true, [0, 1, 2]);
      assert.deepEqual(fetched(stable), { 't-0': [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT], 't-1': [6n, 0], 't-2': [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT] });
      assert.deepEqual(stable.topics[0]!.partitions[0], { partitionIndex: 0, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
      // All partitions: the committed ones only (a partition with only a pending offset is not listed).
      assert.deepEqual(fetched(await fetch(c, 'g', true, null)), { 't-0': [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT], 't-1': [6n, 0] });
      assert.deepEqual(fetched(await fetch(c, 'g', false, null)), { 't-0': [5n, 0], 't-1': [6n, 0] });

      await c.completeTxn(7n, true);
      assert.deepEqual(fetched(await fetch(c, 'g', true, [0, 1, 2])), { 't-0': [10n, 0], 't-1': [6n, 0], 't-2': [20n, 0] });
      assert.equal((await fetch(c, 'g', true, [0])).topics[0]!.partitions[0]!.metadata, 'tx');
      assert.equal(c.inspect('g')?.pendingTxnOffsetCount, 0);
      // A second marker finds nothing and changes nothing.
      await c.completeTxn(7n, true);
      await c.completeTxn(7n, false);
      assert.deepEqual(fetched(await fetch(c, 'g', true, [0, 1, 2])), { 't-0': [10n, 0], 't-1': [6n, 0], 't-2': [20n, 0] });
      const loaded = await store.loadAll();
      assert.deepEqual(loaded.map((g) => [g.groupId, g.offsets.length, g.pending ?? []]), [['g', 3, []]]);
      c.close();
    });

    test('abort drops the pending offsets; the committed ones stay', async (t) => {
      const { store } = await backend.open(t);
      const c = await open(store);
      await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 5n }]));
      await c.commitTxnOffsets(txnParams('g', 7n, [{ topic: 't', partition: 0, offset: 10n }, { topic: 't', partition: 1, offset: 11n }]));
      await c.completeTxn(7n, false);
      assert.deepEqual(fetched(await fetch(c, 'g', true)), { 't-0': [5n, 0], 't-1': [-1n, 0] });
      await c.completeTxn(7n, true); // the abort's repeat as a commit: nothing left to commit
      assert.deepEqual(fetched(await fetch(c, 'g', true)), { 't-0': [5n, 0], 't-1': [-1n, 0] });
      assert.deepEqual((await store.loadAll()).flatMap((g) => g.pending ?? []), []);
      c.close();
    });

    test('pending offsets survive a restart: the marker after it commits (or aborts) them', async (t) => {
      const b = await backend.open(t);
      let c = await open(b.store);
      await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 5n }]));
      await c.commitTxnOffsets(txnParams('g', 7n, [{ topic: 't', partition: 0, offset: 10n }]));
      await c.commitTxnOffsets(txnParams('only-pending', 8n, [{ topic: 't', partition: 1, offset: 30n }]));
      c.close();

      let store = await b.restart();
      c = await open(store);
      assert.deepEqual(fetched(await fetch(c, 'g', false)), { 't-0': [5n, 0], 't-1': [-1n, 0] });
      assert.deepEqual(fetched(await fetch(c, 'g', true)), { 't-0': [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT], 't-1': [-1n, 0] });
      assert.equal(c.inspect('only-pending')?.state, 'Empty', 'a group with only pending offsets is loaded');
      await c.completeTxn(7n, true);
      await c.completeTxn(8n, false);
      assert.deepEqual(fetched(await fetch(c, 'g', true)), { 't-0': [10n, 0], 't-1': [-1n, 0] });
      assert.deepEqual(fetched(await fetch(c, 'only-pending', true)), { 't-0': [-1n, 0], 't-1': [-1n, 0] });
      c.close();

      store = await b.restart();
      c = await open(store);
      assert.deepEqual(fetched(await fetch(c, 'g', true)), { 't-0': [10n, 0], 't-1': [-1n, 0] }, 'the commit was durable');
      assert.equal(c.inspect('g')?.pendingTxnOffsetCount, 0);
      assert.equal(c.inspect('only-pending'), undefined, 'nothing left of the aborted group');
      c.close();
    });

    test('Kafka keeps the later of a regular and a transactional commit of a partition (in the order of the store, also after a restart)', async (t) => {
      const b = await backend.open(t);
      let c = await open(b.store);
      await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 1n }]));
      await c.commitTxnOffsets(txnParams('g', 7n, [{ topic: 't', partition: 0, offset: 10n }, { topic: 't', partition: 1, offset: 11n }]));
      // Committed after the TxnOffsetCommit, before the marker: this one is later, it stays.
      await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 1, offset: 50n }]));
      c.close();
      c = await open(await b.restart());
      await c.completeTxn(7n, true);
      assert.deepEqual(fetched(await fetch(c, 'g', true)), { 't-0': [10n, 0], 't-1': [50n, 0] });

      // Two transactions on one partition: the later TxnOffsetCommit wins whatever the markers' order.
      await c.commitTxnOffsets(txnParams('g', 8n, [{ topic: 't', partition: 0, offset: 20n }]));
      await c.commitTxnOffsets(txnParams('g', 9n, [{ topic: 't', partition: 0, offset: 30n }]));
      await c.completeTxn(9n, true);
      await c.completeTxn(8n, true);
      assert.deepEqual(fetched(await fetch(c, 'g', true)), { 't-0': [30n, 0], 't-1': [50n, 0] });
      await c.commitTxnOffsets(txnParams('g', 10n, [{ topic: 't', partition: 0, offset: 40n }]));
      await c.commitTxnOffsets(txnParams('g', 11n, [{ topic: 't', partition: 0, offset: 45n }]));
      await c.completeTxn(10n, true);
      c.close();
      c = await open(await b.restart());
      await c.completeTxn(11n, true);
      assert.deepEqual(fetched(await fetch(c, 'g', true)), { 't-0': [45n, 0], 't-1': [50n, 0] });
      c.close();
    });

    test('a group moved to another broker: adoptGroup reads its pending offsets; the marker there commits them', async (t) => {
      const { store } = await backend.open(t);
      const first = await open(store);
      await first.commitTxnOffsets(txnParams('g', 7n, [{ topic: 't', partition: 0, offset: 10n }]));
      const second = await open(store); // started before, knows nothing of g
      await second.adoptGroup('g');
      assert.deepEqual(fetched(await fetch(second, 'g', true)), { 't-0': [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT], 't-1': [-1n, 0] });
      await second.completeTxn(7n, true);
      assert.deepEqual(fetched(await fetch(second, 'g', true)), { 't-0': [10n, 0], 't-1': [-1n, 0] });
      // Back on the first broker: adoptGroup replaces its stale pending offsets with the store's.
      await first.adoptGroup('g');
      assert.deepEqual(fetched(await fetch(first, 'g', true)), { 't-0': [10n, 0], 't-1': [-1n, 0] });
      first.close();
      second.close();
    });

    test('DeleteGroups, OffsetDelete and deleted topics drop pending offsets too; a later marker brings nothing back', async (t) => {
      const b = await backend.open(t);
      const c = await open(b.store);
      await c.commitTxnOffsets(txnParams('deleted', 7n, [{ topic: 't', partition: 0, offset: 10n }]));
      assert.deepEqual(await c.deleteGroups(['deleted']), [{ groupId: 'deleted', errorCode: ErrorCode.NONE }]);
      await c.commitTxnOffsets(txnParams('od', 7n, [{ topic: 't', partition: 0, offset: 10n }, { topic: 't', partition: 1, offset: 11n }]));
      const del = await c.deleteOffsets({ groupId: 'od', topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] });
      assert.equal(del.errorCode, ErrorCode.NONE);
      const topicParams = txnParams('topic', 7n, [{ topic: 'gone', partition: 0, offset: 10n }, { topic: 'other', partition: 0, offset: 3n }]);
      topicParams.topics[0]!.topicId = 'id-gone';
      await c.commitTxnOffsets(topicParams);
      await c.deleteTopicOffsets([{ name: 'gone', topicId: 'id-gone' }]);
      assert.deepEqual(fetched(await fetch(c, 'od', true)), { 't-0': [-1n, 0], 't-1': [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT] });
      await c.completeTxn(7n, true);
      assert.equal(c.inspect('deleted'), undefined);
      assert.deepEqual(fetched(await fetch(c, 'deleted', true)), { 't-0': [-1n, 0], 't-1': [-1n, 0] });
      assert.deepEqual(fetched(await fetch(c, 'od', true)), { 't-0': [-1n, 0], 't-1': [11n, 0] });
      const topicFetch = await c.fetchOffsets({ groupId: 'topic', topics: null, requireStable: true });
      assert.deepEqual(topicFetch.topics.map((x) => [x.name, x.partitions.map((p) => p.committedOffset)]), [['other', [3n]]]);
      c.close();
      const reopened = await open(await b.restart());
      assert.equal(reopened.inspect('deleted'), undefined, 'durably deleted');
      assert.deepEqual(fetched(await fetch(reopened, 'od', true)), { 't-0': [-1n, 0], 't-1': [11n, 0] });
      reopened.close();
    });

    test('one producer\'s marker leaves the other producers\' pending offsets alone, in every group', async (t) => {
      const { store } = await backend.open(t);
      const c = await open(store);
      await c.commitTxnOffsets(txnParams('a', 1n, [{ topic: 't', partition: 0, offset: 10n }]));
      await c.commitTxnOffsets(txnParams('b', 1n, [{ topic: 't', partition: 0, offset: 20n }]));
      await c.commitTxnOffsets(txnParams('b', 2n, [{ topic: 't', partition: 1, offset: 21n }]));
      await c.completeTxn(1n, true);
      assert.deepEqual(fetched(await fetch(c, 'a', true)), { 't-0': [10n, 0], 't-1': [-1n, 0] });
      assert.deepEqual(fetched(await fetch(c, 'b', true)), { 't-0': [20n, 0], 't-1': [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT] });
      c.close();
    });
  });
}

describe('TxnOffsetCommit checks (Kafka\'s handleTxnCommitOffsets)', () => {
  test('an unknown group is created Empty; metadata too large -> OFFSET_METADATA_TOO_LARGE for that partition only', async () => {
    const store = new MemoryGroupOffsetStore();
    const c = await GroupCoordinator.open({ store, clock: new ManualClock(), config: { offsetMetadataMaxBytes: 4 } });
    const r = await c.commitTxnOffsets(txnParams('new', 7n, [{ topic: 't', partition: 0, offset: 1n, metadata: 'xxxxx' }, { topic: 't', partition: 1, offset: 2n, metadata: 'xxxx' }]));
    assert.deepEqual(errorsOf(r), { 't-0': ErrorCode.OFFSET_METADATA_TOO_LARGE, 't-1': ErrorCode.NONE });
    assert.equal(c.inspect('new')?.state, 'Empty');
    assert.deepEqual(store.pendingSnapshot('new', 7n).map((o) => o.partition), [1]);
    assert.deepEqual(store.snapshot('new'), [], 'pending, not committed');
    assert.equal(errorsOf(await c.commitTxnOffsets(txnParams('', 7n, [{ topic: 't', partition: 0, offset: 1n }])))['t-0'], ErrorCode.INVALID_GROUP_ID);
    c.close();
    assert.equal(errorsOf(await c.commitTxnOffsets(txnParams('new', 7n, [{ topic: 't', partition: 0, offset: 1n }])))['t-0'], ErrorCode.COORDINATOR_NOT_AVAILABLE);
    await assert.rejects(c.completeTxn(7n, true), /closed/);
  });

  test('v3+ generation and member: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID; without them any group state', async () => {
    const c = await open(new MemoryGroupOffsetStore());
    const one = [{ topic: 't', partition: 0, offset: 1n }];
    const err = async (p: TxnOffsetCommitParams) => errorsOf(await c.commitTxnOffsets(p))['t-0'];
    const { memberId, generationId } = await stableSingle(c, 'g');
    assert.equal(await err(txnParams('g', 7n, one, { memberId, generationId })), ErrorCode.NONE);
    assert.equal(await err(txnParams('g', 7n, one, { memberId, generationId: generationId + 1 })), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(await err(txnParams('g', 7n, one, { memberId: 'stranger', generationId })), ErrorCode.UNKNOWN_MEMBER_ID);
    // v0-2 (no generation or member): accepted from a group with members, unlike OffsetCommit.
    assert.equal(await err({ ...txnParams('g', 7n, one), apiVersion: 2 }), ErrorCode.NONE);
    assert.equal(errorsOf(await c.commitOffsets(commitParams('g', one)))['t-0'], ErrorCode.UNKNOWN_MEMBER_ID);
    // An unknown group with a generation: created, and the member is unknown in it.
    assert.equal(await err(txnParams('fresh', 7n, one, { memberId: 'm', generationId: 1 })), ErrorCode.UNKNOWN_MEMBER_ID);

    // Static member: a stale member id with its instance id is fenced.
    const join = await c.joinGroup(joinParams('s', { groupInstanceId: 'inst' }));
    assert.equal(join.errorCode, ErrorCode.NONE);
    assert.equal((await sync(c, 's', join.memberId, join.generationId, [{ memberId: join.memberId, assignment: Buffer.alloc(0) }])).errorCode, ErrorCode.NONE);
    assert.equal(await err(txnParams('s', 7n, one, { memberId: 'old-id', generationId: join.generationId, groupInstanceId: 'inst' })), ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(await err(txnParams('s', 7n, one, { memberId: join.memberId, generationId: join.generationId, groupInstanceId: 'inst' })), ErrorCode.NONE);
    assert.equal(await err(txnParams('s', 7n, one, { memberId: join.memberId, generationId: join.generationId, groupInstanceId: 'other' })), ErrorCode.UNKNOWN_MEMBER_ID);
    c.close();
  });

  test('CompletingRebalance does not refuse a transactional commit (no REBALANCE_IN_PROGRESS, unlike OffsetCommit)', async () => {
    const c = await open(new MemoryGroupOffsetStore());
    const { memberId, join } = await joinNew(c, 'g');
    const j = await join;
    assert.equal(c.inspect('g')?.state, 'CompletingRebalance');
    const one = [{ topic: 't', partition: 0, offset: 1n }];
    assert.equal(errorsOf(await c.commitOffsets(commitParams('g', one, { memberId, generationId: j.generationId })))['t-0'], ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(errorsOf(await c.commitTxnOffsets(txnParams('g', 7n, one, { memberId, generationId: j.generationId })))['t-0'], ErrorCode.NONE);
    c.close();
  });

  test('store failures: TxnOffsetCommit answers COORDINATOR_NOT_AVAILABLE and nothing is pending; a failed marker rejects, keeps the offsets pending, and can be repeated', async () => {
    const store = new MemoryGroupOffsetStore();
    const c = await open(store);
    store.failNext();
    assert.equal(errorsOf(await c.commitTxnOffsets(txnParams('g', 7n, [{ topic: 't', partition: 0, offset: 1n }])))['t-0'], ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(c.inspect('g')?.pendingTxnOffsetCount, 0);
    assert.deepEqual(store.pendingSnapshot('g', 7n), []);
    await c.commitTxnOffsets(txnParams('g', 7n, [{ topic: 't', partition: 0, offset: 2n }]));
    store.failNext();
    await assert.rejects(c.completeTxn(7n, true), /injected/);
    assert.deepEqual(fetched(await fetch(c, 'g', true, [0])), { 't-0': [-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT] });
    await c.completeTxn(7n, true);
    assert.deepEqual(fetched(await fetch(c, 'g', true, [0])), { 't-0': [2n, 0] });
    c.close();
  });

  test('the answer waits until the pending offsets are durable', async () => {
    class GatedStore extends MemoryGroupOffsetStore {
      gate: (() => void) | null = null;
      override async putPending(groupId: string, producerId: bigint, offsets: readonly import('../../src/groups/coordinator.js').CommittedOffset[]): Promise<void> {
        await new Promise<void>((r) => { this.gate = r; });
        return super.putPending(groupId, producerId, offsets);
      }
    }
    const store = new GatedStore();
    const c = await open(store);
    let answered = false;
    const p = c.commitTxnOffsets(txnParams('g', 7n, [{ topic: 't', partition: 0, offset: 1n }])).then((r) => { answered = true; return r; });
    await new Promise((r) => setImmediate(r));
    assert.equal(answered, false);
    assert.deepEqual(fetched(await fetch(c, 'g', true, [0])), { 't-0': [-1n, 0] });
    store.gate!();
    assert.equal(errorsOf(await p)['t-0'], ErrorCode.NONE);
    assert.deepEqual(store.pendingSnapshot('g', 7n).map((o) => o.offset), [1n]);
    c.close();
  });

  test('the empty-group sweep keeps a group whose only offsets are pending', async () => {
    const clock = new ManualClock();
    const c = await GroupCoordinator.open({ store: new MemoryGroupOffsetStore(), clock, config: { emptyGroupSweepIntervalMs: 60_000 } });
    await c.commitTxnOffsets(txnParams('g', 7n, [{ topic: 't', partition: 0, offset: 1n }]));
    clock.advance(120_000);
    assert.equal(c.inspect('g')?.pendingTxnOffsetCount, 1);
    await c.completeTxn(7n, false);
    clock.advance(60_000);
    assert.equal(c.inspect('g'), undefined);
    c.close();
  });
});
