// The pure parts of the control plane: leader assignment (properties + fixed cases), the
// controller's action planning, and the group coordinator hash.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { computeAssignment, minimalMoves, type AssignmentBroker, type AssignmentPartition } from '../../src/cluster/assignment.js';
import { planActions, type ControlSnapshot, type SnapshotMove, type SnapshotRecord } from '../../src/cluster/controller.js';
import { coordinatorFor } from '../../src/cluster/coordinator.js';
import type { LiveBroker } from '../../src/cluster/membership.js';
import { partitionKey } from '../../src/cluster/partition-records.js';

const brokersArb = fc.uniqueArray(fc.record({ nodeId: fc.integer({ min: 0, max: 12 }), rack: fc.constantFrom('a', 'b', 'c', null) }), { minLength: 1, maxLength: 7, selector: (b) => b.nodeId });

/** Topics t0..tk with their partitions, each led by one of `candidates` (ids 0..15: some dead) or none. */
const stateArb = brokersArb.chain((brokers) => fc.record({
  brokers: fc.constant(brokers as AssignmentBroker[]),
  partitions: fc.array(fc.tuple(fc.integer({ min: 1, max: 30 }), fc.array(fc.option(fc.integer({ min: 0, max: 15 }), { nil: null }), { minLength: 30, maxLength: 30 }), fc.integer({ min: 0, max: 5 })), { minLength: 1, maxLength: 4 })
    .map((topics) => topics.flatMap(([count, leaders, epoch], t) => Array.from({ length: count }, (_, p): AssignmentPartition => ({
      topicId: `t${t}`, partition: p, leader: leaders[p]!, leaderEpoch: epoch + p,
    })))),
}));

function finalLeaders(partitions: readonly AssignmentPartition[], changes: ReturnType<typeof computeAssignment>['changes']): Map<string, number | null> {
  const m = new Map(partitions.map((p) => [partitionKey(p.topicId, p.partition), p.leader]));
  for (const c of changes) m.set(partitionKey(c.topicId, c.partition), c.to);
  return m;
}

describe('computeAssignment (balance)', () => {
  test('every partition gets an eligible leader, loads end within ±1, with the fewest moves, epoch + 1 per change', () => {
    fc.assert(fc.property(stateArb, ({ brokers, partitions }) => {
      const { changes, loads } = computeAssignment(brokers, partitions, { balance: true });
      const ids = new Set(brokers.map((b) => b.nodeId));
      const leaders = finalLeaders(partitions, changes);
      for (const l of leaders.values()) assert.ok(l !== null && ids.has(l));
      const counts = [...loads.values()];
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `loads ${counts}`);
      assert.equal(counts.reduce((a, b) => a + b, 0), partitions.length);
      assert.equal(changes.length, minimalMoves(brokers, partitions));
      const byKey = new Map(partitions.map((p) => [partitionKey(p.topicId, p.partition), p]));
      for (const c of changes) {
        const p = byKey.get(partitionKey(c.topicId, c.partition))!;
        assert.equal(c.from, p.leader);
        assert.notEqual(c.to, c.from);
        assert.equal(c.newEpoch, p.leaderEpoch + 1);
        assert.equal(c.reason, p.leader !== null && ids.has(p.leader) ? 'balance' : 'orphan');
      }
    }), { numRuns: 300 });
  });

  test('deterministic: input order does not matter; a balanced result is stable (no further changes)', () => {
    fc.assert(fc.property(stateArb, fc.integer(), ({ brokers, partitions }, seed) => {
      const a = computeAssignment(brokers, partitions, { balance: true });
      const shuffled = [...partitions].sort((x, y) => hash(`${seed}${x.topicId}${x.partition}`) - hash(`${seed}${y.topicId}${y.partition}`));
      const b = computeAssignment([...brokers].reverse(), shuffled, { balance: true });
      assert.deepEqual(b.changes, a.changes);
      const leaders = finalLeaders(partitions, a.changes);
      const after = partitions.map((p) => ({ ...p, leader: leaders.get(partitionKey(p.topicId, p.partition))! }));
      assert.deepEqual(computeAssignment(brokers, after, { balance: true }).changes, []);
    }), { numRuns: 200 });
  });

  test('a fresh topic spreads over brokers and racks within ±1', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 60 }), (racks, count) => {
      const brokers = Array.from({ length: racks * 2 }, (_, i) => ({ nodeId: i + 1, rack: `r${i % racks}` }));
      // Created by broker 1 (TopicRegistry writes leader = creating node).
      const partitions = Array.from({ length: count }, (_, p) => ({ topicId: 'T', partition: p, leader: 1, leaderEpoch: 0 }));
      const { changes } = computeAssignment(brokers, partitions, { balance: true });
      const leaders = finalLeaders(partitions, changes);
      const perRack = new Map<string, number>();
      for (const l of leaders.values()) perRack.set(brokers[l! - 1]!.rack, (perRack.get(brokers[l! - 1]!.rack) ?? 0) + 1);
      const rackCounts = Array.from({ length: racks }, (_, r) => perRack.get(`r${r}`) ?? 0);
      assert.ok(Math.max(...rackCounts) - Math.min(...rackCounts) <= 1, `racks ${rackCounts}`);
    }));
  });

  test('two topics on a new broker: each topic stays spread (the joiner gets some of each)', () => {
    const brokers = [1, 2, 3].map((id) => ({ nodeId: id, rack: 'abc'[id - 1]! }));
    const partitions: AssignmentPartition[] = [];
    for (const t of ['A', 'B']) for (let p = 0; p < 12; p++) partitions.push({ topicId: t, partition: p, leader: (p % 3) + 1, leaderEpoch: 3 });
    const { changes } = computeAssignment([...brokers, { nodeId: 4, rack: 'a' }], partitions, { balance: true });
    assert.equal(changes.length, 6);
    assert.ok(changes.every((c) => c.to === 4 && c.reason === 'balance'));
    assert.equal(changes.filter((c) => c.topicId === 'A').length, 3);
    assert.equal(changes.filter((c) => c.topicId === 'B').length, 3);
    assert.deepEqual([...new Set(changes.map((c) => c.from))].sort(), [1, 2, 3]);
  });

  test('no brokers: nothing to do', () => {
    assert.deepEqual(computeAssignment([], [{ topicId: 'T', partition: 0, leader: 1, leaderEpoch: 0 }], { balance: true }).changes, []);
  });
});

describe('computeAssignment (repair)', () => {
  test('only partitions without an eligible leader move, each to the least loaded broker', () => {
    fc.assert(fc.property(stateArb, ({ brokers, partitions }) => {
      const ids = new Set(brokers.map((b) => b.nodeId));
      const { changes } = computeAssignment(brokers, partitions, { balance: false });
      const orphans = partitions.filter((p) => p.leader === null || !ids.has(p.leader));
      assert.equal(changes.length, orphans.length);
      assert.ok(changes.every((c) => c.reason === 'orphan' && ids.has(c.to)));
    }), { numRuns: 200 });
  });
});

// ---- controller planning --------------------------------------------------------------------

function broker(nodeId: number, rack: string, draining = false): LiveBroker {
  return { nodeId, host: '127.0.0.1', port: 9000 + nodeId, rack, instanceId: null, volumeId: null, incarnation: 'x', draining, leaseId: '1', createRevision: 1, modRevision: 1 };
}

function snapshot(brokers: LiveBroker[], leaders: number[], moves: Record<number, SnapshotMove['move']> = {}): ControlSnapshot {
  const records = new Map<string, SnapshotRecord>();
  leaders.forEach((leader, p) => records.set(partitionKey('T', p), { topicId: 'T', partition: p, leader, leaderEpoch: 5, modRevision: 100 + p }));
  const mv = new Map<string, SnapshotMove>();
  for (const [p, move] of Object.entries(moves)) mv.set(partitionKey('T', Number(p)), { topicId: 'T', partition: Number(p), move, modRevision: 200 + Number(p) });
  return { brokers, topics: [{ name: 'topic', id: 'T', partitions: leaders.length }], records, moves: mv };
}

describe('planActions', () => {
  const abc = [broker(1, 'a'), broker(2, 'b'), broker(3, 'c')];

  test('balanced: nothing', () => {
    assert.deepEqual(planActions(snapshot(abc, [1, 2, 3, 1, 2, 3]), 'balance'), []);
  });

  test('a dead leader: immediate reassignment with epoch + 1; a live one: a move request at the same epoch', () => {
    const dead = planActions(snapshot(abc.slice(0, 2), [1, 2, 3, 1, 2, 3]), 'repair');
    assert.deepEqual(dead.map((a) => [a.kind, a.partition, 'to' in a ? a.to : -1, 'newEpoch' in a ? a.newEpoch : -1]), [['reassign-dead', 2, 1, 6], ['reassign-dead', 5, 2, 6]]);
    const joined = planActions(snapshot([...abc, broker(4, 'a')], [1, 2, 3, 1, 2, 3, 1, 2]), 'balance');
    assert.deepEqual(joined.map((a) => a.kind), ['request-move', 'request-move']);
    assert.ok(joined.every((a) => a.kind === 'request-move' && a.to === 4 && a.epoch === 5));
    assert.deepEqual(planActions(snapshot([...abc, broker(4, 'a')], [1, 2, 3, 1, 2, 3, 1, 2]), 'repair'), [], 'repair mode does not rebalance');
  });

  test('moves in flight: released completes, a dead leader fails over, a dead target is retargeted or cancelled, stale records go', () => {
    const released = planActions(snapshot(abc, [1, 2, 3, 1, 2, 3], { 0: { from: 1, to: 2, epoch: 5, state: 'released' } }), 'repair');
    assert.deepEqual(released, [{ kind: 'complete', topicId: 'T', partition: 0, recordRev: 100, from: 1, to: 2, newEpoch: 6, moveRev: 200 }]);
    const waiting = planActions(snapshot(abc, [1, 2, 3, 1, 2, 3], { 0: { from: 1, to: 2, epoch: 5, state: 'moving' } }), 'repair');
    assert.deepEqual(waiting, []);
    const leaderDied = planActions(snapshot(abc.slice(1), [1, 2, 3, 2, 3], { 0: { from: 1, to: 2, epoch: 5, state: 'moving' } }), 'repair');
    assert.deepEqual(leaderDied.map((a) => [a.kind, a.partition, 'to' in a ? a.to : -1]), [['reassign-dead', 0, 2]]);
    const targetDied = planActions(snapshot([broker(1, 'a'), broker(3, 'c')], [1, 3, 3, 1], { 0: { from: 1, to: 2, epoch: 5, state: 'moving' } }), 'balance');
    assert.deepEqual(targetDied.map((a) => a.kind), ['cancel-move'], 'back on its own leader: cancelled');
    const retarget = planActions(snapshot([broker(1, 'a'), broker(3, 'c'), broker(4, 'a')], [1, 1, 1, 3, 4, 3], { 0: { from: 1, to: 2, epoch: 5, state: 'moving' } }), 'balance');
    assert.deepEqual(retarget, [{ kind: 'retarget', topicId: 'T', partition: 0, recordRev: 100, from: 1, to: 4, move: { from: 1, to: 2, epoch: 5, state: 'moving' }, moveRev: 200 }]);
    const stale = planActions(snapshot(abc, [1, 2, 3], { 0: { from: 1, to: 2, epoch: 4, state: 'moving' } }), 'repair');
    assert.deepEqual(stale.map((a) => a.kind), ['delete-stale-move']);
  });

  test('a move the leader does not release within moveTimeoutMs is cancelled (its writes resume)', () => {
    const snap = snapshot(abc, [1, 2, 3, 1, 2, 3, 1], { 6: { from: 1, to: 3, epoch: 5, state: 'moving', requestedMs: 1000 } });
    assert.deepEqual(planActions(snap, 'repair', { nowMs: 1000 + 30_000, moveTimeoutMs: 60_000 }), []);
    assert.deepEqual(planActions(snap, 'repair', { nowMs: 1000 + 60_001, moveTimeoutMs: 60_000 }).map((a) => a.kind), ['cancel-move']);
    assert.deepEqual(planActions(snap, 'repair', { nowMs: 1000 + 600_000, moveTimeoutMs: 0 }), [], '0: never');
  });

  test('draining brokers get nothing and lose everything, gracefully', () => {
    const plan = planActions(snapshot([broker(1, 'a'), broker(2, 'b', true), broker(3, 'c')], [1, 2, 3, 1, 2, 3]), 'repair');
    assert.deepEqual(plan.map((a) => [a.kind, a.partition]), [['request-move', 1], ['request-move', 4]]);
    assert.ok(plan.every((a) => a.kind === 'request-move' && a.from === 2 && a.to !== 2));
  });
});

// ---- group coordinators ---------------------------------------------------------------------

describe('coordinatorFor', () => {
  const groups = Array.from({ length: 3000 }, (_, i) => `group-${i}`);

  test('deterministic, order-independent, spread evenly', () => {
    const counts = new Map<number, number>();
    for (const g of groups) {
      const c = coordinatorFor(g, [1, 2, 3, 4])!;
      assert.equal(coordinatorFor(g, [4, 3, 2, 1]), c);
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    for (const n of counts.values()) assert.ok(n > 600 && n < 900, `uneven: ${[...counts]}`);
    assert.equal(coordinatorFor('g', []), null);
  });

  test('a leaving broker moves only its own groups; a joining one takes only groups it wins', () => {
    let movedOnJoin = 0;
    for (const g of groups) {
      const before = coordinatorFor(g, [1, 2, 3])!;
      const after = coordinatorFor(g, [1, 3])!;
      if (before !== 2) assert.equal(after, before);
      const joined = coordinatorFor(g, [1, 2, 3, 4])!;
      if (joined !== before) { assert.equal(joined, 4); movedOnJoin++; }
    }
    assert.ok(movedOnJoin > 600 && movedOnJoin < 900, `${movedOnJoin} of ${groups.length} moved to the joiner`);
  });
});

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h;
}
