// The controller's planner on its own (controller-plan.ts): plain inputs -> actions and the
// transactions that carry them out, with no store, no clock and no timers. A model cluster held in
// a KvState (the pure in-memory key-value state with etcd's revisions) stands in for the store
// where transactions must be evaluated: the planner's writes are applied there exactly as a store
// would, so the property tests see every guard and every op.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  actionTxn, adminMoveStep, batchTxn, chunkActions, deadBrokersOf, decodeControlSnapshot, describeAction, drainingTxn,
  leadsAnyPartition, planActions, type ControlSnapshot, type ControllerAction, type PlannedTxn, type ReconcileMode,
} from '../../src/cluster/controller-plan.js';
import { KvState } from '../../src/cluster/kv-state.js';
import type { KeyChange } from '../../src/cluster/local-store-format.js';
import { decodeBroker, type LiveBroker } from '../../src/cluster/membership.js';
import { MetadataKeys } from '../../src/cluster/metadata-keys.js';
import { encodeJson, type Compare, type KeyValue } from '../../src/cluster/metadata-store.js';
import { decodeMoveRecord, decodePartitionRecord, encodeMoveRecord, encodePartitionRecord, partitionKey } from '../../src/cluster/partition-records.js';

const keys = new MetadataKeys('plan');

// ---- a model cluster in a KvState ------------------------------------------------------------

interface ModelBroker { nodeId: number; rack: string; draining: boolean }
interface ModelTopic { id: string; leaders: number[]; epoch: number }

function brokerValue(b: ModelBroker): Buffer {
  return encodeJson({ host: '127.0.0.1', port: 9000 + b.nodeId, rack: b.rack, instanceId: null, volumeId: null, incarnation: 'i', ...(b.draining ? { draining: true } : {}) });
}

function modelState(brokers: readonly ModelBroker[], topics: readonly ModelTopic[]): KvState {
  const state = new KvState(1);
  const changes: KeyChange[] = [];
  for (const b of brokers) changes.push({ type: 'put', key: keys.broker(b.nodeId), value: brokerValue(b), leaseId: `lease-${b.nodeId}` });
  for (const t of topics) {
    changes.push({ type: 'put', key: keys.topic(`name-${t.id}`), value: encodeJson({ id: t.id, partitions: t.leaders.length }) });
    t.leaders.forEach((leader, p) => changes.push({ type: 'put', key: keys.partition(t.id, p), value: encodePartitionRecord({ leader, leaderEpoch: t.epoch }) }));
  }
  state.apply(2, changes);
  return state;
}

function readModel(state: KvState): ControlSnapshot {
  const brokers = state.range(keys.brokersPrefix()).map((kv) => decodeBroker(kv, keys)).filter((b): b is LiveBroker => b !== null);
  return decodeControlSnapshot(keys, brokers, {
    topics: state.range(keys.topicsPrefix()), records: state.range(keys.allPartitionsPrefix()), moves: state.range(keys.partitionMovesPrefix()),
  });
}

/** Evaluates and applies one transaction as a store would; true when its compares held. */
function applyTxn(state: KvState, t: PlannedTxn): boolean {
  if (!t.compares.every((c) => state.evaluate(c))) return false;
  const changes: KeyChange[] = [];
  for (const op of t.ops) {
    if (op.type === 'put') changes.push(op.leaseId === undefined ? { type: 'put', key: op.key, value: op.value } : { type: 'put', key: op.key, value: op.value, leaseId: op.leaseId });
    else if (op.type === 'delete') { if (state.get(op.key)) changes.push({ type: 'delete', key: op.key }); }
    else for (const key of state.keysWithPrefix(op.prefix)) changes.push({ type: 'delete', key });
  }
  if (changes.length > 0) state.apply(state.revision + 1, changes);
  return true;
}

/** The leaders' side of a graceful move: every live leader asked to move releases. */
function releaseMoves(state: KvState): void {
  const registered = new Set(readModel(state).brokers.map((b) => b.nodeId));
  for (const kv of state.range(keys.partitionMovesPrefix())) {
    const m = decodeMoveRecord(kv.value, kv.key);
    if (m.state === 'moving' && registered.has(m.from)) {
      applyTxn(state, { compares: [], ops: [{ type: 'put', key: kv.key, value: encodeMoveRecord({ ...m, state: 'released' }) }] });
    }
  }
}

/** Reconciles until the plan is empty; every transaction must succeed (nobody else writes). */
function converge(state: KvState, mode: ReconcileMode, txnOpsMax = 128): { rounds: number; actions: ControllerAction[] } {
  const all: ControllerAction[] = [];
  for (let round = 1; round <= 10; round++) {
    const plan = planActions(readModel(state), mode, { nowMs: 0 });
    if (plan.length === 0) return { rounds: round, actions: all };
    all.push(...plan);
    for (const chunk of chunkActions(keys, plan, null, 0, { txnOpsMax })) {
      const t = batchTxn(keys, chunk, null, 0);
      assert.ok(t.compares.length <= txnOpsMax && t.ops.length <= txnOpsMax, 'a chunk within the limits');
      assert.ok(applyTxn(state, t), `a transaction planned from a fresh snapshot applies: ${chunk.map(describeAction).join(', ')}`);
    }
    releaseMoves(state);
  }
  assert.fail('no fixed point after 10 reconciles');
}

function leaders(state: KvState): Map<string, { leader: number; leaderEpoch: number }> {
  const m = new Map<string, { leader: number; leaderEpoch: number }>();
  for (const kv of state.range(keys.allPartitionsPrefix())) m.set(kv.key, decodePartitionRecord(kv.value, kv.key));
  return m;
}

const clusterArb = fc.record({
  brokers: fc.uniqueArray(fc.record({ nodeId: fc.integer({ min: 1, max: 9 }), rack: fc.constantFrom('a', 'b', 'c'), draining: fc.boolean() }), { minLength: 1, maxLength: 6, selector: (b) => b.nodeId }),
  topics: fc.array(fc.record({ leaders: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 24 }), epoch: fc.integer({ min: 0, max: 9 }) }), { minLength: 1, maxLength: 3 })
    .map((ts) => ts.map((t, i): ModelTopic => ({ id: `T${i}`, ...t }))),
}).filter((c) => c.brokers.some((b) => !b.draining));

describe('controller plan: reconciling a model cluster', () => {
  test('balance converges: every partition on an eligible broker, loads within ±1, epoch + 1 per leader change, no move left, every guarded txn applies', () => {
    fc.assert(fc.property(clusterArb, fc.integer({ min: 4, max: 128 }), ({ brokers, topics }, txnOpsMax) => {
      const state = modelState(brokers, topics);
      const before = leaders(state);
      const { rounds } = converge(state, 'balance', txnOpsMax);
      assert.ok(rounds <= 4, `converged in ${rounds} reconciles`);
      const eligible = new Set(brokers.filter((b) => !b.draining).map((b) => b.nodeId));
      const after = leaders(state);
      const loads = new Map([...eligible].map((id) => [id, 0]));
      for (const [key, r] of after) {
        assert.ok(eligible.has(r.leader), `${key} led by eligible broker (${r.leader})`);
        loads.set(r.leader, loads.get(r.leader)! + 1);
        const was = before.get(key)!;
        assert.equal(r.leaderEpoch, was.leaderEpoch + (r.leader === was.leader ? 0 : 1), `${key}: epoch + 1 exactly when the leader changed`);
      }
      const counts = [...loads.values()];
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `loads ${counts}`);
      assert.deepEqual(state.range(keys.partitionMovesPrefix()), [], 'no move record left');
    }), { numRuns: 150 });
  });

  test('repair converges too, moving only partitions without an eligible leader', () => {
    fc.assert(fc.property(clusterArb, ({ brokers, topics }) => {
      const state = modelState(brokers, topics);
      const before = leaders(state);
      converge(state, 'repair');
      const eligible = new Set(brokers.filter((b) => !b.draining).map((b) => b.nodeId));
      for (const [key, r] of leaders(state)) {
        const was = before.get(key)!;
        assert.ok(eligible.has(r.leader));
        if (eligible.has(was.leader)) assert.deepEqual(r, was, `${key} had an eligible leader: untouched`);
      }
    }), { numRuns: 150 });
  });

  test('a plan is stale once the partition records it read change: its transactions then change nothing', () => {
    fc.assert(fc.property(clusterArb, ({ brokers, topics }) => {
      const state = modelState(brokers, topics);
      const plan = planActions(readModel(state), 'balance', { nowMs: 0 });
      fc.pre(plan.length > 0);
      // Someone else rewrites every partition record in between (same content, new modRevision).
      applyTxn(state, { compares: [], ops: state.range(keys.allPartitionsPrefix()).map((kv) => ({ type: 'put' as const, key: kv.key, value: kv.value })) });
      const revision = state.revision;
      for (const a of plan) assert.equal(applyTxn(state, actionTxn(keys, a, 0)), false, describeAction(a));
      assert.equal(state.revision, revision);
    }), { numRuns: 100 });
  });

  test('the fencing guard: a transaction with a stale controller token changes nothing', () => {
    const state = modelState([{ nodeId: 1, rack: 'a', draining: false }, { nodeId: 2, rack: 'b', draining: false }], [{ id: 'T', leaders: [1, 1, 1, 1], epoch: 0 }]);
    applyTxn(state, { compares: [], ops: [{ type: 'put', key: keys.root + 'controller', value: encodeJson({ nodeId: 1 }) }] });
    const token = state.get(keys.root + 'controller')!.createRevision;
    const guard = (t: number): Compare => ({ key: keys.root + 'controller', target: 'createRevision', op: '==', value: t });
    const plan = planActions(readModel(state), 'balance', { nowMs: 0 });
    assert.equal(plan.length, 2);
    assert.equal(applyTxn(state, batchTxn(keys, plan, guard(token - 1), 0)), false);
    assert.equal(applyTxn(state, batchTxn(keys, plan, guard(token), 0)), true);
  });
});

// ---- snapshot decoding -----------------------------------------------------------------------

describe('controller plan: decodeControlSnapshot', () => {
  const kv = (key: string, value: Buffer, modRevision = 7): KeyValue => ({ key, value, createRevision: 3, modRevision, version: 1 });

  test('topics by name, records and moves by topicId/partition with their modRevisions; other keys skipped', () => {
    const snap = decodeControlSnapshot(keys, [], {
      topics: [kv(keys.topic('orders'), encodeJson({ id: 'T1', partitions: 2, configs: {} }))],
      records: [
        kv(keys.partition('T1', 0), encodePartitionRecord({ leader: 3, leaderEpoch: 4 }), 11),
        kv(keys.allPartitionsPrefix() + 'T1/x', encodePartitionRecord({ leader: 3, leaderEpoch: 4 })),
        kv(keys.allPartitionsPrefix() + 'T1', encodePartitionRecord({ leader: 3, leaderEpoch: 4 })),
      ],
      moves: [kv(keys.partitionMove('T1', 1), encodeMoveRecord({ from: 3, to: 4, epoch: 4, state: 'moving', requestedMs: 5 }), 12)],
    });
    assert.deepEqual(snap.topics, [{ name: 'orders', id: 'T1', partitions: 2 }]);
    assert.deepEqual([...snap.records], [[partitionKey('T1', 0), { topicId: 'T1', partition: 0, leader: 3, leaderEpoch: 4, modRevision: 11 }]]);
    assert.deepEqual([...snap.moves], [[partitionKey('T1', 1), { topicId: 'T1', partition: 1, move: { from: 3, to: 4, epoch: 4, state: 'moving', requestedMs: 5 }, modRevision: 12 }]]);
  });
});

// ---- one action's transaction ----------------------------------------------------------------

describe('controller plan: actionTxn', () => {
  const rec = keys.partition('T', 2);
  const mv = keys.partitionMove('T', 2);
  const base = { topicId: 'T', partition: 2, recordRev: 40 };
  const recordIs: Compare = { key: rec, target: 'modRevision', op: '==', value: 40 };
  const moveIs: Compare = { key: mv, target: 'modRevision', op: '==', value: 50 };
  const moveAbsent: Compare = { key: mv, target: 'createRevision', op: '==', value: 0 };
  const live = (id: number): Compare => ({ key: keys.broker(id), target: 'createRevision', op: '>', value: 0 });
  const dead = (id: number): Compare => ({ key: keys.broker(id), target: 'createRevision', op: '==', value: 0 });
  const putRecord = (leader: number, leaderEpoch: number) => ({ type: 'put', key: rec, value: encodePartitionRecord({ leader, leaderEpoch }) });
  const del = { type: 'delete', key: mv };

  const cases: [string, ControllerAction, Compare[], unknown[]][] = [
    ['request-move: move record "moving" at the same epoch, if absent and the target is live',
      { kind: 'request-move', ...base, from: 1, to: 2, epoch: 6 }, [recordIs, moveAbsent, live(2)],
      [{ type: 'put', key: mv, value: encodeMoveRecord({ from: 1, to: 2, epoch: 6, state: 'moving', requestedMs: 99 }) }]],
    ['retarget: same move, new target and request time',
      { kind: 'retarget', ...base, from: 1, to: 3, move: { from: 1, to: 2, epoch: 6, state: 'moving', requestedMs: 5 }, moveRev: 50 }, [recordIs, moveIs, live(3)],
      [{ type: 'put', key: mv, value: encodeMoveRecord({ from: 1, to: 3, epoch: 6, state: 'moving', requestedMs: 99 }) }]],
    ['cancel-move: the move record goes', { kind: 'cancel-move', ...base, from: 1, moveRev: 50 }, [recordIs, moveIs], [del]],
    ['complete: new leader at epoch + 1 and the move record goes',
      { kind: 'complete', ...base, from: 1, to: 2, newEpoch: 7, moveRev: 50 }, [recordIs, moveIs, live(2)], [putRecord(2, 7), del]],
    ['reassign-dead without a move: guarded by the old broker still absent',
      { kind: 'reassign-dead', ...base, from: 1, to: 2, newEpoch: 7, moveRev: null }, [recordIs, dead(1), live(2), moveAbsent], [putRecord(2, 7)]],
    ['reassign-dead with a move: the move record goes too',
      { kind: 'reassign-dead', ...base, from: 1, to: 2, newEpoch: 7, moveRev: 50 }, [recordIs, dead(1), live(2), moveIs], [putRecord(2, 7), del]],
    ['delete-stale-move: only the move record, guarded by its own revision',
      { kind: 'delete-stale-move', topicId: 'T', partition: 2, moveRev: 50 }, [moveIs], [del]],
  ];
  for (const [name, action, compares, ops] of cases) {
    test(name, () => {
      assert.deepEqual(actionTxn(keys, action, 99), { compares, ops });
    });
  }
});

// ---- batching ---------------------------------------------------------------------------------

describe('controller plan: batchTxn and chunkActions', () => {
  const moveTo = (p: number, to: number): ControllerAction => ({ kind: 'request-move', topicId: 'T', partition: p, from: 1, to, epoch: 0, recordRev: 10 + p });
  const guard: Compare = { key: '/ferry/plan/controller', target: 'createRevision', op: '==', value: 5 };

  test('batchTxn: the guard first, shared compares once, ops in action order', () => {
    const t = batchTxn(keys, [moveTo(0, 2), moveTo(1, 2)], guard, 0);
    assert.deepEqual(t.compares[0], guard);
    assert.equal(t.compares.filter((c) => c.key === keys.broker(2)).length, 1, 'the live(2) compare is shared');
    assert.equal(t.compares.length, 1 + 2 * 2 + 1);
    assert.deepEqual(t.ops.map((o) => (o.type === 'deletePrefix' ? o.prefix : o.key)), [keys.partitionMove('T', 0), keys.partitionMove('T', 1)]);
    assert.deepEqual(batchTxn(keys, [], null, 0), { compares: [], ops: [] });
  });

  test('chunkActions: consecutive chunks in order, each within the limit, as large as the limit allows', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 2, max: 6 })), { maxLength: 120 }), fc.integer({ min: 4, max: 40 }), fc.boolean(), (specs, max, guarded) => {
      const actions = specs.map(([p, to], i) => ({ ...moveTo(p, to), recordRev: i }));
      const g = guarded ? guard : null;
      const chunks = chunkActions(keys, actions, g, 0, { txnOpsMax: max });
      assert.deepEqual(chunks.flat(), actions);
      for (const [i, c] of chunks.entries()) {
        assert.ok(c.length > 0);
        const t = batchTxn(keys, c, g, 0);
        assert.ok(t.compares.length <= max && t.ops.length <= max, `chunk ${i}: ${t.compares.length} compares, ${t.ops.length} ops`);
        const next = chunks[i + 1];
        if (next) {
          const grown = batchTxn(keys, [...c, next[0]!], g, 0);
          assert.ok(grown.compares.length > max || grown.ops.length > max, 'greedy: the next action would not have fitted');
        }
      }
    }));
  });

  test('deadBrokersOf: each dead broker once, in order; only failovers count', () => {
    const dead = (p: number, from: number): ControllerAction => ({ kind: 'reassign-dead', topicId: 'T', partition: p, from, to: 9, newEpoch: 1, recordRev: p, moveRev: null });
    assert.deepEqual(deadBrokersOf([dead(0, 3), moveTo(1, 2), dead(2, 1), dead(3, 3)]), [3, 1]);
    assert.deepEqual(deadBrokersOf([moveTo(0, 2)]), []);
  });
});

// ---- admin moves, draining, leadership ---------------------------------------------------------

describe('controller plan: adminMoveStep', () => {
  const state = (leader: number, move: { from: number; to: number; epoch: number } | null, target = 2) => ({
    topicId: 'T', partition: 0, target, record: { leader, leaderEpoch: 4 }, recordRev: 30,
    move: move ? { record: { ...move, state: 'moving' as const }, modRevision: 31 } : null, nowMs: 77,
  });

  test('the target leads with no valid move: done', () => {
    assert.deepEqual(adminMoveStep(keys, state(2, null)), { kind: 'done', leader: 2, leaderEpoch: 4 });
    assert.deepEqual(adminMoveStep(keys, state(2, { from: 1, to: 3, epoch: 3 })), { kind: 'done', leader: 2, leaderEpoch: 4 }, 'a stale move does not count');
  });

  test('a valid move elsewhere: in progress; a valid move to the target: wait', () => {
    assert.deepEqual(adminMoveStep(keys, state(1, { from: 1, to: 3, epoch: 4 })), { kind: 'in-progress', to: 3 });
    assert.deepEqual(adminMoveStep(keys, state(1, { from: 1, to: 2, epoch: 4 })), { kind: 'wait' });
    assert.deepEqual(adminMoveStep(keys, state(2, { from: 2, to: 2, epoch: 4 })), { kind: 'wait' }, 'a move back to its own leader is still under way');
  });

  test('no move: request one, create-if-absent; a stale move record is replaced in the same transaction', () => {
    const fresh = adminMoveStep(keys, state(1, null));
    assert.equal(fresh.kind, 'request');
    if (fresh.kind !== 'request') return;
    assert.deepEqual(fresh.action, { kind: 'request-move', topicId: 'T', partition: 0, from: 1, to: 2, epoch: 4, recordRev: 30 });
    assert.deepEqual(fresh.txn, actionTxn(keys, fresh.action, 77));
    const stale = adminMoveStep(keys, state(1, { from: 3, to: 2, epoch: 1 }));
    assert.equal(stale.kind, 'request');
    if (stale.kind !== 'request') return;
    assert.deepEqual(stale.txn.compares[1], { key: keys.partitionMove('T', 0), target: 'modRevision', op: '==', value: 31 });
    assert.deepEqual(stale.txn.ops, fresh.txn.ops);
  });
});

describe('controller plan: drainingTxn and leadsAnyPartition', () => {
  const brokerKv = (draining: boolean, leaseId?: string): KeyValue => ({
    key: keys.broker(4), value: encodeJson({ host: 'h', port: 1, incarnation: 'i', ...(draining ? { draining: true } : {}) }),
    createRevision: 3, modRevision: 8, version: 2, ...(leaseId ? { leaseId } : {}),
  });

  test('sets or clears the flag, keeps the lease, guarded by modRevision; nothing when already so', () => {
    assert.equal(drainingTxn(brokerKv(true), true), null);
    assert.equal(drainingTxn(brokerKv(false), false), null);
    assert.deepEqual(drainingTxn(brokerKv(false, '77'), true), {
      compares: [{ key: keys.broker(4), target: 'modRevision', op: '==', value: 8 }],
      ops: [{ type: 'put', key: keys.broker(4), value: encodeJson({ host: 'h', port: 1, incarnation: 'i', draining: true }), leaseId: '77' }],
    });
    assert.deepEqual(drainingTxn(brokerKv(true), false)?.ops, [{ type: 'put', key: keys.broker(4), value: encodeJson({ host: 'h', port: 1, incarnation: 'i' }) }]);
  });

  test('leadership counts only partitions of existing topics', () => {
    const snap: ControlSnapshot = {
      brokers: [], topics: [{ name: 'a', id: 'A', partitions: 1 }],
      records: new Map([
        [partitionKey('A', 0), { topicId: 'A', partition: 0, leader: 1, leaderEpoch: 0, modRevision: 1 }],
        [partitionKey('A', 1), { topicId: 'A', partition: 1, leader: 2, leaderEpoch: 0, modRevision: 1 }],
        [partitionKey('Gone', 0), { topicId: 'Gone', partition: 0, leader: 3, leaderEpoch: 0, modRevision: 1 }],
      ]),
      moves: new Map(),
    };
    assert.equal(leadsAnyPartition(snap, 1), true);
    assert.equal(leadsAnyPartition(snap, 2), false, 'beyond the topic\'s partition count');
    assert.equal(leadsAnyPartition(snap, 3), false, 'topic deleted');
  });
});
