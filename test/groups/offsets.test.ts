import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCoordinator, MemoryGroupOffsetStore, ManualClock, type CommittedOffset, type StoredGroupOffsets } from '../../src/groups/coordinator.js';
import { ErrorCode, harness, joinNew, joinParams, sync, stableSingle, commitParams, isPending, subscription } from './helpers.js';

function errorsOf(r: { topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }> }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of r.topics) for (const p of t.partitions) out[`${t.name}-${p.partitionIndex}`] = p.errorCode;
  return out;
}

/** A store whose commits wait until released, to observe that answers follow durability. */
class GatedStore extends MemoryGroupOffsetStore {
  private gates: Array<() => void> = [];
  override async commit(groupId: string, offsets: readonly CommittedOffset[]): Promise<void> {
    await new Promise<void>((r) => this.gates.push(r));
    return super.commit(groupId, offsets);
  }
  release(): void {
    for (const g of this.gates.splice(0)) g();
  }
  get waiting(): number {
    return this.gates.length;
  }
}

describe('OffsetCommit / OffsetFetch', () => {
  test('a simple (standalone) commit creates an Empty group; fetch returns offset, leader epoch, metadata', async () => {
    const { coordinator: c, clock, store } = await harness();
    const p = commitParams('simple', [{ topic: 't', partition: 0, offset: 42n, metadata: 'meta' }, { topic: 't', partition: 1, offset: 7n, metadata: null }]);
    p.topics[0]!.partitions[0]!.committedLeaderEpoch = 5;
    const r = await c.commitOffsets(p);
    assert.deepEqual(errorsOf(r), { 't-0': ErrorCode.NONE, 't-1': ErrorCode.NONE });
    assert.equal(c.inspect('simple')?.state, 'Empty');
    const stored = store.snapshot('simple').sort((a, b) => a.partition - b.partition);
    assert.deepEqual(stored, [
      { topic: 't', partition: 0, offset: 42n, leaderEpoch: 5, metadata: 'meta', commitTimestampMs: clock.nowMs() },
      { topic: 't', partition: 1, offset: 7n, leaderEpoch: -1, metadata: '', commitTimestampMs: clock.nowMs() },
    ]);
    const f = await c.fetchOffsets({ groupId: 'simple', topics: [{ name: 't', partitionIndexes: [0, 1, 2] }, { name: 'other', partitionIndexes: [0] }], requireStable: true });
    assert.equal(f.errorCode, ErrorCode.NONE);
    assert.deepEqual(f.topics, [
      { name: 't', partitions: [
        { partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: 5, metadata: 'meta', errorCode: 0 },
        { partitionIndex: 1, committedOffset: 7n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
        { partitionIndex: 2, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
      ] },
      { name: 'other', partitions: [{ partitionIndex: 0, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] },
    ]);
    // null topics: everything committed.
    const all = await c.fetchOffsets({ groupId: 'simple', topics: null, requireStable: false });
    assert.deepEqual(all.topics.map((t) => [t.name, t.partitions.map((x) => x.committedOffset)]), [['t', [42n, 7n]]]);
    // Unknown group: -1 for what is asked, nothing for "all".
    const unknown = await c.fetchOffsets({ groupId: 'nope', topics: [{ name: 't', partitionIndexes: [0] }], requireStable: false });
    assert.equal(unknown.topics[0]!.partitions[0]!.committedOffset, -1n);
    assert.deepEqual((await c.fetchOffsets({ groupId: 'nope', topics: null, requireStable: false })).topics, []);
    c.close();
  });

  test('v1 commit timestamp is kept; -1 means now; later commits overwrite', async () => {
    const { coordinator: c, clock, store } = await harness();
    const p = commitParams('g', [{ topic: 't', partition: 0, offset: 1n }, { topic: 't', partition: 1, offset: 1n }]);
    p.topics[0]!.partitions[0]!.commitTimestampMs = 1234;
    p.topics[0]!.partitions[1]!.commitTimestampMs = -1;
    await c.commitOffsets(p);
    clock.advance(10);
    await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 1, offset: 2n }]));
    const s = store.snapshot('g').sort((a, b) => a.partition - b.partition);
    assert.equal(s[0]!.commitTimestampMs, 1234);
    assert.equal(s[1]!.commitTimestampMs, clock.nowMs());
    assert.equal(s[1]!.offset, 2n);
    c.close();
  });

  test('answers only after the store made the commit durable; the fetch sees it only then', async () => {
    const store = new GatedStore();
    const c = await GroupCoordinator.open({ store, clock: new ManualClock() });
    const pending = c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 5n }]));
    await new Promise((r) => setImmediate(r));
    assert.equal(store.waiting, 1);
    assert.ok(await isPending(pending));
    assert.equal((await c.fetchOffsets({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }], requireStable: false })).topics[0]!.partitions[0]!.committedOffset, -1n);
    store.release();
    assert.equal(errorsOf(await pending)['t-0'], ErrorCode.NONE);
    assert.equal((await c.fetchOffsets({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }], requireStable: false })).topics[0]!.partitions[0]!.committedOffset, 5n);
    c.close();
  });

  test('commits of one group are applied in order', async () => {
    const store = new GatedStore();
    const c = await GroupCoordinator.open({ store, clock: new ManualClock() });
    const first = c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 1n }]));
    const second = c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 2n }]));
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setImmediate(r));
      store.release();
    }
    await Promise.all([first, second]);
    assert.equal(store.snapshot('g')[0]!.offset, 2n);
    assert.equal((await c.fetchOffsets({ groupId: 'g', topics: null, requireStable: false })).topics[0]!.partitions[0]!.committedOffset, 2n);
    c.close();
  });

  test('a store failure answers COORDINATOR_NOT_AVAILABLE and changes nothing', async () => {
    const { coordinator: c, store } = await harness();
    store.failNext();
    const r = await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 5n }]));
    assert.equal(errorsOf(r)['t-0'], ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.deepEqual((await c.fetchOffsets({ groupId: 'g', topics: null, requireStable: false })).topics, []);
    // The next commit goes through.
    assert.equal(errorsOf(await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 6n }])))['t-0'], ErrorCode.NONE);
    c.close();
  });

  test('OFFSET_METADATA_TOO_LARGE only for the partition with too much metadata', async () => {
    const { coordinator: c, store } = await harness({ offsetMetadataMaxBytes: 10 });
    const r = await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 1n, metadata: 'x'.repeat(11) }, { topic: 't', partition: 1, offset: 1n, metadata: 'x'.repeat(10) }]));
    assert.deepEqual(errorsOf(r), { 't-0': ErrorCode.OFFSET_METADATA_TOO_LARGE, 't-1': ErrorCode.NONE });
    assert.deepEqual(store.snapshot('g').map((o) => o.partition), [1]);
    c.close();
  });

  test('generation fencing', async () => {
    const { coordinator: c } = await harness();
    // Unknown group with a generation: ILLEGAL_GENERATION before v9, GROUP_ID_NOT_FOUND from v9.
    const member = { memberId: 'm', generationId: 3 };
    assert.equal(errorsOf(await c.commitOffsets(commitParams('none', [{ topic: 't', partition: 0, offset: 1n }], member)))['t-0'], ErrorCode.ILLEGAL_GENERATION);
    assert.equal(errorsOf(await c.commitOffsets({ ...commitParams('none', [{ topic: 't', partition: 0, offset: 1n }], member), apiVersion: 9 }))['t-0'], ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(c.inspect('none'), undefined);

    // CompletingRebalance: members get REBALANCE_IN_PROGRESS.
    const a = await joinNew(c, 'g');
    const ra = await a.join;
    const at = (gen: number, memberId = a.memberId) => commitParams('g', [{ topic: 't', partition: 0, offset: 1n }], { memberId, generationId: gen });
    assert.equal(errorsOf(await c.commitOffsets(at(ra.generationId)))['t-0'], ErrorCode.REBALANCE_IN_PROGRESS);
    await sync(c, 'g', a.memberId, ra.generationId);
    // Stable: the current generation commits; others are fenced.
    assert.equal(errorsOf(await c.commitOffsets(at(ra.generationId)))['t-0'], ErrorCode.NONE);
    assert.equal(errorsOf(await c.commitOffsets(at(ra.generationId - 1)))['t-0'], ErrorCode.ILLEGAL_GENERATION);
    assert.equal(errorsOf(await c.commitOffsets(at(ra.generationId, 'stranger')))['t-0'], ErrorCode.UNKNOWN_MEMBER_ID);
    // A standalone commit into a group with members is refused.
    assert.equal(errorsOf(await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 9n }])))['t-0'], ErrorCode.UNKNOWN_MEMBER_ID);
    // PreparingRebalance: the previous generation may still commit (the heartbeat tells it to rejoin).
    const b = await joinNew(c, 'g', { clientId: 'b' });
    assert.equal(c.inspect('g')?.state, 'PreparingRebalance');
    assert.equal(errorsOf(await c.commitOffsets(at(ra.generationId)))['t-0'], ErrorCode.NONE);
    // Once everyone left the group is Empty again: standalone commits are allowed, member commits are not.
    await c.leaveGroup({ groupId: 'g', members: [{ memberId: a.memberId, groupInstanceId: null }] });
    assert.equal((await b.join).errorCode, ErrorCode.NONE);
    await c.leaveGroup({ groupId: 'g', members: [{ memberId: b.memberId, groupInstanceId: null }] });
    assert.equal(c.inspect('g')?.state, 'Empty');
    assert.equal(errorsOf(await c.commitOffsets(at(ra.generationId + 1)))['t-0'], ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(errorsOf(await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 9n }])))['t-0'], ErrorCode.NONE);
    c.close();
  });

  test('a member\'s commit counts as a heartbeat', async () => {
    const { coordinator: c, clock } = await harness();
    const a = await stableSingle(c, 'g');
    for (let i = 0; i < 5; i++) {
      clock.advance(8_000);
      assert.equal(errorsOf(await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: BigInt(i) }], a)))['t-0'], ErrorCode.NONE);
    }
    assert.equal(c.inspect('g')?.state, 'Stable');
    c.close();
  });

  test('offsets survive a coordinator restart through the store; the group exists again, Empty', async () => {
    const store = new MemoryGroupOffsetStore();
    const first = await harness({}, store);
    const a = await stableSingle(first.coordinator, 'live');
    await first.coordinator.commitOffsets(commitParams('live', [{ topic: 't', partition: 0, offset: 100n, metadata: 'm0' }, { topic: 't', partition: 3, offset: 300n }], a));
    await first.coordinator.commitOffsets(commitParams('simple', [{ topic: 'u', partition: 1, offset: 11n }]));
    first.coordinator.close();

    const second = await harness({}, store);
    const c = second.coordinator;
    assert.equal(store.calls.loadAll, 2);
    const listed = await c.listGroups();
    assert.deepEqual(listed.groups.map((g) => [g.groupId, g.groupState]).sort(), [['live', 'Empty'], ['simple', 'Empty']]);
    const f = await c.fetchOffsets({ groupId: 'live', topics: null, requireStable: false });
    assert.deepEqual(f.topics, [{ name: 't', partitions: [
      { partitionIndex: 0, committedOffset: 100n, committedLeaderEpoch: -1, metadata: 'm0', errorCode: 0 },
      { partitionIndex: 3, committedOffset: 300n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
    ] }]);
    // The old member is gone (membership is not durable): it must join again.
    assert.equal((await sync(c, 'live', a.memberId, a.generationId)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const again = await stableSingle(c, 'live');
    assert.equal(again.generationId, 1);
    assert.equal((await c.fetchOffsets({ groupId: 'simple', topics: [{ name: 'u', partitionIndexes: [1] }], requireStable: false })).topics[0]!.partitions[0]!.committedOffset, 11n);
    c.close();
  });
});

describe('OffsetDelete', () => {
  test('Empty group: offsets deleted from memory and store; unknown group: GROUP_ID_NOT_FOUND', async () => {
    const { coordinator: c, store } = await harness();
    assert.equal((await c.deleteOffsets({ groupId: 'none', topics: [] })).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal((await c.deleteOffsets({ groupId: '', topics: [] })).errorCode, ErrorCode.INVALID_GROUP_ID);
    await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 1n }, { topic: 't', partition: 1, offset: 2n }]));
    const r = await c.deleteOffsets({ groupId: 'g', topics: [{ name: 't', partitions: [{ partitionIndex: 0 }, { partitionIndex: 9 }] }] });
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.deepEqual(errorsOf(r), { 't-0': ErrorCode.NONE, 't-9': ErrorCode.NONE });
    assert.deepEqual(store.snapshot('g').map((o) => o.partition), [1]);
    const f = await c.fetchOffsets({ groupId: 'g', topics: null, requireStable: false });
    assert.deepEqual(f.topics.map((t) => t.partitions.map((p) => p.partitionIndex)), [[1]]);
    c.close();
  });

  test('active consumer group: GROUP_SUBSCRIBED_TO_TOPIC for subscribed topics, others deleted', async () => {
    const { coordinator: c } = await harness();
    await c.commitOffsets(commitParams('g', [{ topic: 'sub', partition: 0, offset: 1n }, { topic: 'old', partition: 0, offset: 1n }]));
    await stableSingle(c, 'g', { protocols: [{ name: 'range', metadata: subscription(['sub', 'other'], 3) }] });
    const r = await c.deleteOffsets({ groupId: 'g', topics: [{ name: 'sub', partitions: [{ partitionIndex: 0 }] }, { name: 'old', partitions: [{ partitionIndex: 0 }] }] });
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.deepEqual(errorsOf(r), { 'sub-0': ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, 'old-0': ErrorCode.NONE });
    assert.deepEqual((await c.fetchOffsets({ groupId: 'g', topics: null, requireStable: false })).topics.map((t) => t.name), ['sub']);
    c.close();
  });

  test('active consumer group with unparseable subscriptions: every topic counts as subscribed', async () => {
    const { coordinator: c } = await harness();
    await stableSingle(c, 'g', { protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0x7f]) }] });
    const r = await c.deleteOffsets({ groupId: 'g', topics: [{ name: 'any', partitions: [{ partitionIndex: 0 }] }] });
    assert.deepEqual(errorsOf(r), { 'any-0': ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC });
    c.close();
  });

  test('active non-consumer group: NON_EMPTY_GROUP', async () => {
    const { coordinator: c } = await harness();
    await stableSingle(c, 'g', { protocolType: 'connect', protocols: [{ name: 'default', metadata: Buffer.alloc(0) }] });
    const r = await c.deleteOffsets({ groupId: 'g', topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] });
    assert.deepEqual(r, { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] });
    c.close();
  });

  test('deleteTopicOffsets removes a deleted topic\'s offsets from every group', async () => {
    const { coordinator: c, store } = await harness();
    await c.commitOffsets(commitParams('g1', [{ topic: 'gone', partition: 0, offset: 1n }, { topic: 'kept', partition: 0, offset: 1n }]));
    await c.commitOffsets(commitParams('g2', [{ topic: 'gone', partition: 3, offset: 1n }]));
    await c.deleteTopicOffsets([{ name: 'gone', topicId: 'id-gone' }]);
    assert.deepEqual(store.snapshot('g1').map((o) => o.topic), ['kept']);
    assert.deepEqual(store.snapshot('g2'), []);
    assert.equal(c.inspect('g2')?.offsetCount, 0);
    c.close();
  });

  test('deleteTopicOffsets keeps what a re-created topic of the same name committed (topic ids)', async () => {
    const { coordinator: c, store } = await harness();
    const withId = (groupId: string, topicId: string) => {
      const p = commitParams(groupId, [{ topic: 'x', partition: 0, offset: 5n }]);
      p.topics[0]!.topicId = topicId;
      return p;
    };
    await c.commitOffsets(withId('old', 'id-1'));
    await c.commitOffsets(withId('new', 'id-2'));
    assert.equal(store.snapshot('old')[0]!.topicId, 'id-1', 'the topic id is stored with the offset');
    await c.deleteTopicOffsets([{ name: 'x', topicId: 'id-1' }]);
    assert.deepEqual(store.snapshot('old'), []);
    assert.deepEqual(store.snapshot('new').map((o) => [o.topic, o.offset, o.topicId]), [['x', 5n, 'id-2']]);
    c.close();
  });

  test('deleteTopicOffsets also removes them from groups this coordinator does not hold (cluster: another broker\'s)', async () => {
    const store = new MemoryGroupOffsetStore();
    const here = await GroupCoordinator.open({ store });
    // Another broker's coordinator, on the same store, commits for a group this one never loaded.
    const there = await GroupCoordinator.open({ store });
    await there.commitOffsets(commitParams('elsewhere', [{ topic: 'gone', partition: 0, offset: 3n }, { topic: 'kept', partition: 1, offset: 4n }]));
    assert.equal(here.inspect('elsewhere'), undefined);
    await here.deleteTopicOffsets([{ name: 'gone', topicId: 'id-gone' }]);
    assert.deepEqual(store.snapshot('elsewhere').map((o) => o.topic), ['kept']);
    here.close();
    there.close();
  });

  test('adoptGroup replaces the offsets a broker remembers with the store\'s (another broker removed some)', async () => {
    class LoadingStore extends MemoryGroupOffsetStore {
      async loadGroup(groupId: string): Promise<StoredGroupOffsets> { return this.stored(groupId); }
    }
    const store = new LoadingStore();
    const first = await GroupCoordinator.open({ store });
    await first.commitOffsets(commitParams('g', [{ topic: 'a', partition: 0, offset: 1n }, { topic: 'b', partition: 0, offset: 2n }]));
    // The group moves to another coordinator, which sees topic a deleted; then it comes back.
    const second = await GroupCoordinator.open({ store });
    await second.adoptGroup('g');
    await second.deleteTopicOffsets([{ name: 'a', topicId: 'id-a' }]);
    await first.adoptGroup('g');
    const f = await first.fetchOffsets({ groupId: 'g', topics: null, requireStable: false });
    assert.deepEqual(f.topics.map((t) => t.name), ['b']);
    first.close();
    second.close();
  });

  test('deleteOffsetsOfMissingTopics: offsets of a topic that is gone, or was re-created since, go; current ones stay', async () => {
    const { coordinator: c, store } = await harness();
    const commit = async (groupId: string, topic: string, topicId?: string) => {
      const p = commitParams(groupId, [{ topic, partition: 0, offset: 1n }]);
      if (topicId) p.topics[0]!.topicId = topicId;
      await c.commitOffsets(p);
    };
    await commit('g', 'gone');
    await commit('g', 'recreated', 'id-old');
    await commit('g', 'kept', 'id-kept');
    await commit('g', 'legacy'); // no id recorded, and the topic exists: kept
    const refs = await c.deleteOffsetsOfMissingTopics(new Map([['recreated', 'id-new'], ['kept', 'id-kept'], ['legacy', 'id-legacy']]));
    assert.deepEqual(refs.map((r) => r.name).sort(), ['gone', 'recreated']);
    assert.deepEqual(store.snapshot('g').map((o) => o.topic).sort(), ['kept', 'legacy']);
    c.close();
  });
});

describe('DeleteGroups / ListGroups / DescribeGroups', () => {
  test('DeleteGroups: NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, NONE (offsets gone from the store), duplicates answered once', async () => {
    const { coordinator: c, store } = await harness();
    await stableSingle(c, 'busy');
    await c.commitOffsets(commitParams('idle', [{ topic: 't', partition: 0, offset: 1n }]));
    const r = await c.deleteGroups(['busy', 'idle', 'missing', 'idle']);
    assert.deepEqual(r, [
      { groupId: 'busy', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'idle', errorCode: ErrorCode.NONE },
      { groupId: 'missing', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    assert.equal(c.inspect('idle'), undefined);
    assert.deepEqual(store.snapshot('idle'), []);
    assert.equal((await c.fetchOffsets({ groupId: 'idle', topics: [{ name: 't', partitionIndexes: [0] }], requireStable: false })).topics[0]!.partitions[0]!.committedOffset, -1n);
    assert.equal(c.inspect('busy')?.state, 'Stable');
    c.close();
  });

  test('DeleteGroups: a store failure keeps the group', async () => {
    const { coordinator: c, store } = await harness();
    await c.commitOffsets(commitParams('idle', [{ topic: 't', partition: 0, offset: 1n }]));
    store.failNext();
    assert.deepEqual(await c.deleteGroups(['idle']), [{ groupId: 'idle', errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE }]);
    assert.equal(c.inspect('idle')?.state, 'Empty');
    assert.equal(c.inspect('idle')?.offsetCount, 1);
    c.close();
  });

  test('while a deletion is being made durable the group is Dead: requests get COORDINATOR_NOT_AVAILABLE', async () => {
    let release = (): void => {};
    class SlowDeleteStore extends MemoryGroupOffsetStore {
      override async deleteGroup(groupId: string): Promise<void> {
        await new Promise<void>((r) => { release = r; });
        return super.deleteGroup(groupId);
      }
    }
    const store = new SlowDeleteStore();
    const c = await GroupCoordinator.open({ store, clock: new ManualClock(), config: { initialRebalanceDelayMs: 0 } });
    await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 1n }]));
    const deleting = c.deleteGroups(['g']);
    await new Promise((r) => setImmediate(r));
    assert.equal(c.inspect('g')?.state, 'Dead');
    assert.equal((await c.joinGroup(joinParams('g'))).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(errorsOf(await c.commitOffsets(commitParams('g', [{ topic: 't', partition: 0, offset: 2n }])))['t-0'], ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal((await c.describeGroups(['g']))[0]!.groupState, 'Dead');
    assert.deepEqual((await c.listGroups()).groups, []);
    assert.deepEqual(await c.deleteGroups(['g']), [{ groupId: 'g', errorCode: ErrorCode.GROUP_ID_NOT_FOUND }]);
    release();
    assert.deepEqual(await deleting, [{ groupId: 'g', errorCode: ErrorCode.NONE }]);
    assert.equal(c.inspect('g'), undefined);
    assert.deepEqual(store.snapshot('g'), []);
    c.close();
  });

  test('ListGroups: states filter (case-insensitive) and types filter', async () => {
    const { coordinator: c } = await harness();
    await stableSingle(c, 'stable');
    await c.commitOffsets(commitParams('empty', [{ topic: 't', partition: 0, offset: 1n }]));
    const a = await joinNew(c, 'completing');
    await a.join;
    const all = await c.listGroups({});
    assert.equal(all.errorCode, ErrorCode.NONE);
    assert.deepEqual(all.groups.map((g) => [g.groupId, g.groupState, g.protocolType, g.groupType]).sort(), [
      ['completing', 'CompletingRebalance', 'consumer', 'classic'],
      ['empty', 'Empty', '', 'classic'],
      ['stable', 'Stable', 'consumer', 'classic'],
    ]);
    assert.deepEqual((await c.listGroups({ statesFilter: ['STABLE', 'empty'] })).groups.map((g) => g.groupId).sort(), ['empty', 'stable']);
    assert.deepEqual((await c.listGroups({ statesFilter: ['Dead'] })).groups, []);
    assert.equal((await c.listGroups({ typesFilter: ['Classic'] })).groups.length, 3);
    assert.equal((await c.listGroups({ typesFilter: ['consumer'] })).groups.length, 0);
    c.close();
  });

  test('DescribeGroups: members with client id, host, metadata and assignment while Stable; none of those otherwise; unknown = Dead', async () => {
    const { coordinator: c } = await harness();
    const a = await stableSingle(c, 'g', { clientId: 'app', clientHost: '/10.0.0.7' });
    const [d, unknown] = await c.describeGroups(['g', 'nope']);
    assert.deepEqual(d, {
      errorCode: ErrorCode.NONE, groupId: 'g', groupState: 'Stable', protocolType: 'consumer', protocolData: 'range',
      members: [{ memberId: a.memberId, groupInstanceId: null, clientId: 'app', clientHost: '/10.0.0.7', memberMetadata: subscription(['t1']), memberAssignment: Buffer.from('a-' + a.memberId) }],
    });
    assert.deepEqual(unknown, { errorCode: ErrorCode.NONE, groupId: 'nope', groupState: 'Dead', protocolType: '', protocolData: '', members: [] });
    const b = await joinNew(c, 'g', { clientId: 'b' });
    const [p] = await c.describeGroups(['g']);
    assert.equal(p!.groupState, 'PreparingRebalance');
    assert.equal(p!.protocolData, '');
    assert.equal(p!.members.length, 2);
    for (const m of p!.members) {
      assert.equal(m.memberMetadata.length, 0);
      assert.equal(m.memberAssignment.length, 0);
    }
    c.close();
    await b.join;
  });

  test('Empty groups without offsets are forgotten by the periodic sweep; groups with offsets stay', async () => {
    const { coordinator: c, clock } = await harness({ emptyGroupSweepIntervalMs: 60_000 });
    const a = await stableSingle(c, 'transient');
    await c.commitOffsets(commitParams('kept', [{ topic: 't', partition: 0, offset: 1n }]));
    await c.leaveGroup({ groupId: 'transient', members: [{ memberId: a.memberId, groupInstanceId: null }] });
    assert.equal(c.inspect('transient')?.state, 'Empty');
    clock.advance(60_000);
    assert.equal(c.inspect('transient'), undefined);
    assert.equal(c.inspect('kept')?.state, 'Empty');
    c.close();
  });
});
