// The controller's planner (DESIGN §6): pure functions from what the controller read to the
// writes it should make. No I/O, no clock, no timers: like etcd's raft, which only says what to
// persist and send and leaves doing it to the application, the planner takes a snapshot of
// brokers, topics, partition records and move records (and the time, where a timeout depends on
// it) and returns actions and their guarded transactions; controller.ts does the reads, the
// transactions, the watches and the timers, and calls these. Everything here is unit-tested on
// plain inputs (test/cluster/controller-plan.test.ts).
//
// Actions (what a reconcile does to one partition):
//   request-move       a live leader should hand over: write partition-moves/<t>/<p> "moving"
//   retarget           a move in progress should go elsewhere: rewrite the move's target
//   cancel-move        the move is no longer wanted (or timed out): delete the move record
//   complete           the leader released: partition record {to, epoch + 1}, move record deleted
//   reassign-dead      the leader's broker is gone: partition record {to, epoch + 1} at once
//   delete-stale-move  a move record that no longer matches its partition record (or topic)
// Each action's transaction compares the modRevision of every record it was planned from (and
// that the target broker is registered, or the dead one still absent), so a plan made from a
// stale snapshot changes nothing.
//
// API: decodeControlSnapshot(keys, brokers, kvs) -> ControlSnapshot
//      planActions(snapshot, mode, { nowMs, moveTimeoutMs }) -> ControllerAction[]
//      actionTxn(keys, action, nowMs) / batchTxn(keys, actions, guard, nowMs) -> { compares, ops }
//      chunkActions(keys, actions, guard, nowMs, limits?) -> ControllerAction[][] (each one transaction)
//      deadBrokersOf(actions) -> node ids whose failover hook must run first
//      adminMoveStep(keys, state) -> AdminMoveStep (one round of movePartition)
//      drainingTxn(brokerKv, draining) -> the write that sets/clears a broker's draining flag, or null
//      leadsAnyPartition(snapshot, brokerId); describeAction(action)

import { computeAssignment, type AssignmentPartition } from './assignment.js';
import type { LiveBroker } from './membership.js';
import { decodeJson, encodeJson, ETCD_LIMITS, type Compare, type KeyValue, type Op } from './metadata-store.js';
import type { MetadataKeys } from './metadata-keys.js';
import {
  decodeMoveRecord, decodePartitionRecord, encodeMoveRecord, encodePartitionRecord, partitionKey,
  type PartitionLeaderRecord, type PartitionMoveRecord,
} from './partition-records.js';

export type ReconcileMode = 'balance' | 'repair';

export interface SnapshotRecord { topicId: string; partition: number; leader: number; leaderEpoch: number; modRevision: number }
export interface SnapshotMove { topicId: string; partition: number; move: PartitionMoveRecord; modRevision: number }
export interface ControlSnapshot {
  brokers: LiveBroker[];
  topics: { name: string; id: string; partitions: number }[];
  records: Map<string, SnapshotRecord>;
  moves: Map<string, SnapshotMove>;
}

export type ControllerAction =
  | { kind: 'request-move'; topicId: string; partition: number; from: number; to: number; epoch: number; recordRev: number }
  | { kind: 'retarget'; topicId: string; partition: number; from: number; to: number; move: PartitionMoveRecord; recordRev: number; moveRev: number }
  | { kind: 'cancel-move'; topicId: string; partition: number; from: number; recordRev: number; moveRev: number }
  | { kind: 'complete'; topicId: string; partition: number; from: number; to: number; newEpoch: number; recordRev: number; moveRev: number }
  | { kind: 'reassign-dead'; topicId: string; partition: number; from: number; to: number; newEpoch: number; recordRev: number; moveRev: number | null }
  | { kind: 'delete-stale-move'; topicId: string; partition: number; moveRev: number };

/** The compares and ops of one transaction. */
export interface PlannedTxn { compares: Compare[]; ops: Op[] }

/** What a reconcile reads, as the store returned it (brokers already decoded). */
export interface ControlKvs {
  topics: readonly KeyValue[];
  records: readonly KeyValue[];
  moves: readonly KeyValue[];
}

/** Decodes the listed topics, partition records and move records; keys that are not `<topicId>/<p>` are skipped. */
export function decodeControlSnapshot(keys: MetadataKeys, brokers: LiveBroker[], kvs: ControlKvs): ControlSnapshot {
  const topics = kvs.topics.map((kv) => {
    const t = decodeJson<{ id: string; partitions: number }>(kv.value, kv.key);
    return { name: kv.key.slice(keys.topicsPrefix().length), id: t.id, partitions: t.partitions };
  });
  const records = new Map<string, SnapshotRecord>();
  for (const kv of kvs.records) {
    const [topicId, p] = kv.key.slice(keys.allPartitionsPrefix().length).split('/');
    if (topicId === undefined || p === undefined || !/^\d+$/.test(p)) continue;
    const r = decodePartitionRecord(kv.value, kv.key);
    records.set(partitionKey(topicId, Number(p)), { topicId, partition: Number(p), leader: r.leader, leaderEpoch: r.leaderEpoch, modRevision: kv.modRevision });
  }
  const moves = new Map<string, SnapshotMove>();
  for (const kv of kvs.moves) {
    const [topicId, p] = kv.key.slice(keys.partitionMovesPrefix().length).split('/');
    if (topicId === undefined || p === undefined || !/^\d+$/.test(p)) continue;
    moves.set(partitionKey(topicId, Number(p)), { topicId, partition: Number(p), move: decodeMoveRecord(kv.value, kv.key), modRevision: kv.modRevision });
  }
  return { brokers, topics, records, moves };
}

export interface PlanOptions {
  /** Wall clock for move timeouts. Default Date.now(). */
  nowMs?: number;
  /** A move still "moving" after this long is cancelled (the leader cannot flush, e.g. S3 is down): writes resume. 0 = never. */
  moveTimeoutMs?: number;
}

/** Pure (given nowMs): what the controller should do about a snapshot. */
export function planActions(snap: ControlSnapshot, mode: ReconcileMode, options: PlanOptions = {}): ControllerAction[] {
  const nowMs = options.nowMs ?? Date.now();
  const moveTimeoutMs = options.moveTimeoutMs ?? 0;
  const registered = new Set(snap.brokers.map((b) => b.nodeId));
  const eligible = snap.brokers.filter((b) => !b.draining);
  const eligibleIds = new Set(eligible.map((b) => b.nodeId));
  const actions: ControllerAction[] = [];
  const inputs: AssignmentPartition[] = [];
  const known = new Set<string>();
  const blocked = new Set<string>();
  for (const t of snap.topics) {
    for (let p = 0; p < t.partitions; p++) {
      const key = partitionKey(t.id, p);
      const rec = snap.records.get(key);
      if (!rec) continue; // being created (or broken): nothing to assign yet
      known.add(key);
      const mv = snap.moves.get(key);
      let leader: number | null = rec.leader;
      if (mv && (mv.move.from !== rec.leader || mv.move.epoch !== rec.leaderEpoch)) {
        actions.push({ kind: 'delete-stale-move', topicId: t.id, partition: p, moveRev: mv.modRevision });
        blocked.add(key); // act on it once the stale record is gone
      } else if (mv) {
        leader = eligibleIds.has(mv.move.to) ? mv.move.to : null;
      }
      inputs.push({ topicId: t.id, partition: p, leader, leaderEpoch: rec.leaderEpoch });
    }
  }
  for (const [key, mv] of snap.moves) {
    if (!known.has(key)) actions.push({ kind: 'delete-stale-move', topicId: mv.topicId, partition: mv.partition, moveRev: mv.modRevision });
  }
  const { changes } = computeAssignment(eligible, inputs, { balance: mode === 'balance' });
  const target = new Map<string, number | null>(inputs.map((i) => [partitionKey(i.topicId, i.partition), i.leader]));
  for (const c of changes) target.set(partitionKey(c.topicId, c.partition), c.to);

  for (const input of inputs) {
    const key = partitionKey(input.topicId, input.partition);
    if (blocked.has(key)) continue;
    const rec = snap.records.get(key)!;
    const mv = snap.moves.get(key);
    const to = target.get(key) ?? null;
    const base = { topicId: rec.topicId, partition: rec.partition, recordRev: rec.modRevision };
    const L = rec.leader;
    if (mv) {
      const moveRev = mv.modRevision;
      if (mv.move.state === 'released') {
        // The leader has committed everything: hand over now (to itself again if that is the target).
        if (to !== null) actions.push({ kind: 'complete', ...base, from: L, to, newEpoch: rec.leaderEpoch + 1, moveRev });
      } else if (!registered.has(L)) {
        if (to !== null) actions.push({ kind: 'reassign-dead', ...base, from: L, to, newEpoch: rec.leaderEpoch + 1, moveRev });
      } else if (moveTimeoutMs > 0 && mv.move.requestedMs !== undefined && nowMs - mv.move.requestedMs > moveTimeoutMs) {
        // The leader has not released in time: give it its writes back; a later reconcile asks again.
        actions.push({ kind: 'cancel-move', ...base, from: L, moveRev });
      } else if (to === null || to === mv.move.to) {
        // waiting for the leader to release
      } else if (to === L) {
        actions.push({ kind: 'cancel-move', ...base, from: L, moveRev });
      } else {
        actions.push({ kind: 'retarget', ...base, from: L, to, move: mv.move, moveRev });
      }
    } else if (to !== null && to !== L) {
      if (registered.has(L)) actions.push({ kind: 'request-move', ...base, from: L, to, epoch: rec.leaderEpoch });
      else actions.push({ kind: 'reassign-dead', ...base, from: L, to, newEpoch: rec.leaderEpoch + 1, moveRev: null });
    }
  }
  return actions;
}

/** Compares and ops of one action (without the controller token). */
export function actionTxn(keys: MetadataKeys, a: ControllerAction, nowMs: number): PlannedTxn {
  const recKey = keys.partition(a.topicId, a.partition);
  const moveKey = keys.partitionMove(a.topicId, a.partition);
  const recordIs = (rev: number): Compare => ({ key: recKey, target: 'modRevision', op: '==', value: rev });
  const moveIs = (rev: number): Compare => ({ key: moveKey, target: 'modRevision', op: '==', value: rev });
  const moveAbsent: Compare = { key: moveKey, target: 'createRevision', op: '==', value: 0 };
  const live = (id: number): Compare => ({ key: keys.broker(id), target: 'createRevision', op: '>', value: 0 });
  const dead = (id: number): Compare => ({ key: keys.broker(id), target: 'createRevision', op: '==', value: 0 });
  const putLeader = (leader: number, leaderEpoch: number): Op => ({ type: 'put', key: recKey, value: encodePartitionRecord({ leader, leaderEpoch }) });
  switch (a.kind) {
    case 'request-move':
      return {
        compares: [recordIs(a.recordRev), moveAbsent, live(a.to)],
        ops: [{ type: 'put', key: moveKey, value: encodeMoveRecord({ from: a.from, to: a.to, epoch: a.epoch, state: 'moving', requestedMs: nowMs }) }],
      };
    case 'retarget':
      return {
        compares: [recordIs(a.recordRev), moveIs(a.moveRev), live(a.to)],
        ops: [{ type: 'put', key: moveKey, value: encodeMoveRecord({ ...a.move, to: a.to, requestedMs: nowMs }) }],
      };
    case 'cancel-move':
      return { compares: [recordIs(a.recordRev), moveIs(a.moveRev)], ops: [{ type: 'delete', key: moveKey }] };
    case 'complete':
      return { compares: [recordIs(a.recordRev), moveIs(a.moveRev), live(a.to)], ops: [putLeader(a.to, a.newEpoch), { type: 'delete', key: moveKey }] };
    case 'reassign-dead':
      return {
        compares: [recordIs(a.recordRev), dead(a.from), live(a.to), a.moveRev === null ? moveAbsent : moveIs(a.moveRev)],
        ops: a.moveRev === null ? [putLeader(a.to, a.newEpoch)] : [putLeader(a.to, a.newEpoch), { type: 'delete', key: moveKey }],
      };
    case 'delete-stale-move':
      return { compares: [moveIs(a.moveRev)], ops: [{ type: 'delete', key: moveKey }] };
  }
}

const compareId = (c: Compare): string => `${c.key}\u0000${c.target}\u0000${c.op}\u0000${String(c.value)}`;

/** One transaction for several actions, each guarded by `guard` (the fencing token compare, or none); equal compares count once. */
export function batchTxn(keys: MetadataKeys, actions: readonly ControllerAction[], guard: Compare | null, nowMs: number): PlannedTxn {
  const compares = new Map<string, Compare>();
  if (guard) compares.set(compareId(guard), guard);
  const ops: Op[] = [];
  for (const a of actions) {
    const t = actionTxn(keys, a, nowMs);
    for (const c of t.compares) compares.set(compareId(c), c);
    ops.push(...t.ops);
  }
  return { compares: [...compares.values()], ops };
}

/**
 * Greedy chunks of consecutive actions, each within the limits as one batchTxn (compares
 * deduplicate: shared broker compares count once). An action too large alone is a chunk alone.
 */
export function chunkActions(
  keys: MetadataKeys, actions: readonly ControllerAction[], guard: Compare | null, nowMs: number,
  limits: { txnOpsMax: number } = ETCD_LIMITS,
): ControllerAction[][] {
  const chunks: ControllerAction[][] = [];
  let chunk: ControllerAction[] = [];
  for (const a of actions) {
    const next = batchTxn(keys, [...chunk, a], guard, nowMs);
    if (chunk.length > 0 && (next.compares.length > limits.txnOpsMax || next.ops.length > limits.txnOpsMax)) {
      chunks.push(chunk);
      chunk = [];
    }
    chunk.push(a);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** The dead brokers whose partitions the actions fail over, once each, in order of appearance. */
export function deadBrokersOf(actions: readonly ControllerAction[]): number[] {
  const ids = new Set<number>();
  for (const a of actions) if (a.kind === 'reassign-dead') ids.add(a.from);
  return [...ids];
}

/** What movePartition read in one round. */
export interface AdminMoveState {
  topicId: string;
  partition: number;
  target: number;
  record: PartitionLeaderRecord;
  recordRev: number;
  /** The partition's move record, valid or stale, or null. */
  move: { record: PartitionMoveRecord; modRevision: number } | null;
  nowMs: number;
}

export type AdminMoveStep =
  /** The target leads, with no move pending. */
  | { kind: 'done'; leader: number; leaderEpoch: number }
  /** A valid move elsewhere is under way (the controller's, or a redirect of ours). */
  | { kind: 'in-progress'; to: number }
  /** Ask for the move: the transaction (a stale move record is replaced in it). */
  | { kind: 'request'; action: ControllerAction; txn: PlannedTxn }
  /** The move to the target is under way: read again later. */
  | { kind: 'wait' };

/** One round of an admin move: from the partition's records to what to do next. */
export function adminMoveStep(keys: MetadataKeys, s: AdminMoveState): AdminMoveStep {
  const rec = s.record;
  const mv = s.move?.record ?? null;
  const validMove = mv !== null && mv.from === rec.leader && mv.epoch === rec.leaderEpoch;
  if (rec.leader === s.target && !validMove) return { kind: 'done', leader: rec.leader, leaderEpoch: rec.leaderEpoch };
  if (validMove && mv.to !== s.target) return { kind: 'in-progress', to: mv.to };
  if (!validMove && rec.leader !== s.target) {
    const action: ControllerAction = { kind: 'request-move', topicId: s.topicId, partition: s.partition, from: rec.leader, to: s.target, epoch: rec.leaderEpoch, recordRev: s.recordRev };
    const txn = actionTxn(keys, action, s.nowMs);
    // A stale move record would block the create-if-absent: replace it in the same transaction.
    if (s.move) txn.compares[1] = { key: keys.partitionMove(s.topicId, s.partition), target: 'modRevision', op: '==', value: s.move.modRevision };
    return { kind: 'request', action, txn };
  }
  return { kind: 'wait' };
}

/** The write that sets (or clears) the draining flag of a broker's record, keeping its lease; null when it already is so. */
export function drainingTxn(kv: KeyValue, draining: boolean): PlannedTxn | null {
  const current = decodeJson<Record<string, unknown>>(kv.value, kv.key);
  if ((current.draining === true) === draining) return null;
  const next = { ...current };
  if (draining) next.draining = true;
  else delete next.draining;
  return {
    compares: [{ key: kv.key, target: 'modRevision', op: '==', value: kv.modRevision }],
    ops: [kv.leaseId ? { type: 'put', key: kv.key, value: encodeJson(next), leaseId: kv.leaseId } : { type: 'put', key: kv.key, value: encodeJson(next) }],
  };
}

/** True while any partition record of an existing topic names brokerId as leader. */
export function leadsAnyPartition(snap: ControlSnapshot, brokerId: number): boolean {
  const live = new Set(snap.topics.flatMap((t) => Array.from({ length: t.partitions }, (_, p) => partitionKey(t.id, p))));
  for (const [key, r] of snap.records) if (live.has(key) && r.leader === brokerId) return true;
  return false;
}

export function describeAction(a: ControllerAction): string {
  const tp = `${a.topicId.slice(0, 8)}/${a.partition}`;
  switch (a.kind) {
    case 'request-move': return `move ${tp} ${a.from}->${a.to} (epoch ${a.epoch})`;
    case 'retarget': return `retarget ${tp} ${a.from}->${a.to}`;
    case 'cancel-move': return `cancel ${tp} (stays on ${a.from})`;
    case 'complete': return `complete ${tp} ${a.from}->${a.to} epoch ${a.newEpoch}`;
    case 'reassign-dead': return `failover ${tp} ${a.from}->${a.to} epoch ${a.newEpoch}`;
    case 'delete-stale-move': return `drop stale move ${tp}`;
  }
}
