// The cluster controller (DESIGN §6): one broker, elected on the MetadataStore
// (controller-election.ts), keeps every partition led by a live broker, spread evenly over brokers
// and racks (assignment.ts), and carries out the moves.
//
// Loop: on election, on every change under brokers/ (join, leave, draining) and topics/ (create,
// delete, grow) it reconciles in "balance" mode; on changes under partition-moves/ (a leader
// released) and every repairIntervalMs in "repair" mode (only partitions without a usable leader
// move, and moves in progress are carried on). A reconcile reads brokers, topics, partition records
// and move records, plans actions, and applies them in transactions of at most 128 compares and
// 128 ops; each action is guarded by the modRevision of the records it read and every transaction
// by the controller's fencing token (the controller key's createRevision), so a stale or
// concurrent controller cannot change anything. A chunk that fails is split in halves until the
// failing actions are isolated; the next reconcile re-reads and retries them.
//
// Moves:
//   - from a LIVE broker (registered, also when draining): two-phase. The controller writes
//     partition-moves/<t>/<p> = {from, to, epoch, state: "moving"} (the partition record and its
//     epoch stay as they are, so the leader's upload commits keep passing their guard). The leader
//     (its LeadershipView fires onMoveRequested) stops writes for the partition, uploads and
//     commits its pending data, then writes state "released". The controller then writes the
//     partition record {leader: to, leaderEpoch: epoch + 1} and deletes the move record, in one
//     transaction.
//   - from a DEAD broker (brokers/<id> gone: its lease expired): immediate, epoch + 1, guarded by
//     "brokers/<id> still absent". Before that the controller awaits
//     `beforeReassignDeadBroker(brokerId)` -- the hook for the failover issue (remount the dead
//     broker's volume, replay its WAL into S3, commit). It may be called more than once for the
//     same broker (every reconcile while its partitions are still there) and must be idempotent;
//     if it rejects, that broker's partitions wait for the next reconcile.
//
// Admin: movePartition(topic, p, target) and drain(brokerId) work from any broker (they only write
// guarded records and wait); rebalance() needs the controller. A rebalance (any "balance"
// reconcile) may undo an admin move that left the brokers more than ±1 apart.
//
// What to write is decided by the pure planner (controller-plan.ts: actions, their guarded
// transactions, chunking, admin-move rounds); this file does the I/O around it: reads, the
// transactions, the watches, the timers and the failover hook.
//
// API: new ClusterController(store, keys, options); start(); close()
//   isController, onElected(fn), onResigned(fn)
//   movePartition(topicName, partition, targetNodeId, { timeoutMs? }) -> { topicId, partition, leader, leaderEpoch }
//   requestMove(...) (returns once asked for), cancelMove(topicName, partition) -> boolean, listMoves()
//   rebalance() -> ReconcileResult;  drain(brokerId, { timeoutMs? });  undrain(brokerId)
//   reconcileNow(mode) -> ReconcileResult; whenSettled(timeoutMs)
//   readSnapshot(store, keys) / applyActions(...)  (exported for tests); planActions and the rest of the planner are re-exported
// A move still "moving" after moveTimeoutMs (default 60 s; e.g. the leader cannot upload while S3
// is down) is cancelled so the partition takes writes again; the next reconcile that wants it
// moved asks again (a drain at once, a rebalance at its next trigger).
//   errors: ControllerError (code NOT_CONTROLLER, UNKNOWN_TOPIC_OR_PARTITION, BROKER_NOT_AVAILABLE,
//           REASSIGNMENT_IN_PROGRESS, REQUEST_TIMED_OUT)

import { ControllerElection } from './controller-election.js';
import {
  adminMoveStep, batchTxn, chunkActions, deadBrokersOf, decodeControlSnapshot, describeAction, drainingTxn, leadsAnyPartition,
  planActions, type ControlSnapshot, type ControllerAction, type ReconcileMode,
} from './controller-plan.js';
import { decodeBroker, readBrokers, silentLog, type ClusterLog } from './membership.js';
import { decodeJson, type Compare, type MetadataStore } from './metadata-store.js';
import type { MetadataKeys } from './metadata-keys.js';
import { decodeMoveRecord, decodePartitionRecord } from './partition-records.js';

export {
  actionTxn, adminMoveStep, batchTxn, chunkActions, deadBrokersOf, decodeControlSnapshot, describeAction, drainingTxn,
  leadsAnyPartition, planActions,
  type AdminMoveState, type AdminMoveStep, type ControlKvs, type ControlSnapshot, type ControllerAction, type PlannedTxn,
  type PlanOptions, type ReconcileMode, type SnapshotMove, type SnapshotRecord,
} from './controller-plan.js';

export class ControllerError extends Error {
  constructor(readonly code: 'NOT_CONTROLLER' | 'UNKNOWN_TOPIC_OR_PARTITION' | 'BROKER_NOT_AVAILABLE' | 'REASSIGNMENT_IN_PROGRESS' | 'REQUEST_TIMED_OUT', message: string) {
    super(message);
    this.name = 'ControllerError';
  }
}

export interface ControllerOptions {
  nodeId: number;
  /** TTL of the controller key's lease. Default 6000. */
  sessionTimeoutMs?: number;
  /** Repair reconcile period (catches anything a lost watch event missed). Default 5000. */
  repairIntervalMs?: number;
  /** Events within this window share one reconcile. Default 20. */
  debounceMs?: number;
  /** A graceful move not released within this time is cancelled (writes resume on the old leader). Default 60000; 0 = never. */
  moveTimeoutMs?: number;
  /** Failover hook: make a dead broker's acknowledged data durable in S3 before its partitions move. */
  beforeReassignDeadBroker?: (brokerId: number) => Promise<void>;
  log?: ClusterLog;
}

export interface ReconcileResult {
  mode: ReconcileMode;
  planned: ControllerAction[];
  applied: ControllerAction[];
  failed: ControllerAction[];
  /** Actions skipped because beforeReassignDeadBroker rejected. */
  deferred: ControllerAction[];
}

export interface ControllerStats {
  reconciles: number;
  txns: number;
  txnsFailed: number;
  movesRequested: number;
  movesCompleted: number;
  deadReassigned: number;
}

/** Reads everything a reconcile needs. Lists are separate reads; the transactions' compares catch any skew. */
export async function readSnapshot(store: MetadataStore, keys: MetadataKeys): Promise<ControlSnapshot> {
  const [brokers, topics, records, moves] = await Promise.all([
    readBrokers(store, keys),
    store.list(keys.topicsPrefix()),
    store.list(keys.allPartitionsPrefix()),
    store.list(keys.partitionMovesPrefix()),
  ]);
  return decodeControlSnapshot(keys, brokers, { topics, records, moves });
}

/**
 * Applies actions in as few transactions as etcd's limits allow, each with `guard` (the fencing
 * token compare, or none). A failed transaction is split in halves until single actions remain.
 */
export async function applyActions(
  store: MetadataStore, keys: MetadataKeys, actions: readonly ControllerAction[], guard: Compare | null,
  onTxn: (ok: boolean) => void = () => undefined, nowMs: number = Date.now(),
): Promise<{ applied: ControllerAction[]; failed: ControllerAction[] }> {
  const applied: ControllerAction[] = [];
  const failed: ControllerAction[] = [];
  const run = async (group: ControllerAction[]): Promise<void> => {
    const t = batchTxn(keys, group, guard, nowMs);
    const r = await store.txn(t.compares, t.ops);
    onTxn(r.succeeded);
    if (r.succeeded) { applied.push(...group); return; }
    if (group.length === 1) { failed.push(group[0]!); return; }
    const half = Math.ceil(group.length / 2);
    await run(group.slice(0, half));
    await run(group.slice(half));
  };
  for (const c of chunkActions(keys, actions, guard, nowMs)) await run(c);
  return { applied, failed };
}

export class ClusterController {
  readonly election: ControllerElection;
  readonly stats: ControllerStats = { reconciles: 0, txns: 0, txnsFailed: 0, movesRequested: 0, movesCompleted: 0, deadReassigned: 0 };
  private readonly log: ClusterLog;
  private readonly repairIntervalMs: number;
  private readonly debounceMs: number;
  private readonly hook: ((brokerId: number) => Promise<void>) | null;
  private readonly moveTimeoutMs: number;
  private requested: ReconcileMode | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private tick: NodeJS.Timeout | null = null;
  private cancels: (() => void)[] = [];
  private closed = false;
  private lastResult: ReconcileResult | null = null;
  private readonly resultWaiters = new Set<(r: ReconcileResult) => void>();

  constructor(private readonly store: MetadataStore, private readonly keys: MetadataKeys, options: ControllerOptions) {
    this.log = options.log ?? silentLog;
    this.repairIntervalMs = options.repairIntervalMs ?? 5000;
    this.debounceMs = options.debounceMs ?? 20;
    this.hook = options.beforeReassignDeadBroker ?? null;
    this.moveTimeoutMs = options.moveTimeoutMs ?? 60_000;
    this.election = new ControllerElection(store, keys, {
      nodeId: options.nodeId, log: this.log,
      ...(options.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}),
    });
    this.election.onElected(() => this.becameController());
    this.election.onResigned(() => this.stoppedBeingController());
  }

  get isController(): boolean { return this.election.isLeader; }
  onElected(fn: (token: number) => void): () => void { return this.election.onElected(fn); }
  onResigned(fn: () => void): () => void { return this.election.onResigned(fn); }

  start(): void { this.election.start(); }

  async close(): Promise<void> {
    this.closed = true;
    this.stoppedBeingController();
    await this.election.close();
    await this.running;
  }

  /** Runs one reconcile now (queued behind a running one). Controller only. */
  async reconcileNow(mode: ReconcileMode): Promise<ReconcileResult> {
    if (!this.isController) throw new ControllerError('NOT_CONTROLLER', `broker ${this.election.nodeId} is not the controller`);
    const waiter = new Promise<ReconcileResult>((resolve) => this.resultWaiters.add(resolve));
    this.schedule(mode, 0);
    return waiter; // answered with an empty result if this broker stops being controller first
  }

  /** Admin: rebalance leaders over the live brokers now (within ±1, fewest moves). */
  rebalance(): Promise<ReconcileResult> {
    return this.reconcileNow('balance');
  }

  /** Waits until a reconcile plans nothing (every move finished). Controller only. */
  async whenSettled(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.reconcileNow('repair');
      if (r.planned.length === 0 && (await this.store.list(this.keys.partitionMovesPrefix())).length === 0) return;
      if (Date.now() > deadline) throw new ControllerError('REQUEST_TIMED_OUT', `not settled after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /**
   * Admin: move one partition to `target` (graceful when its leader is live). Works from any
   * broker; resolves once the target leads it.
   */
  async movePartition(topicName: string, partition: number, target: number, options: { timeoutMs?: number } = {}): Promise<{ topicId: string; partition: number; leader: number; leaderEpoch: number }> {
    const r = await this.moveSteps(topicName, partition, target, options.timeoutMs ?? 30_000, true);
    return { topicId: r.topicId, partition, leader: r.leader, leaderEpoch: r.leaderEpoch };
  }

  /**
   * Admin (AlterPartitionReassignments): ask for `target` to lead the partition and return once
   * the move is requested (or already under way to it, or done) -- without waiting for it to finish.
   */
  async requestMove(topicName: string, partition: number, target: number, options: { timeoutMs?: number } = {}): Promise<{ topicId: string; state: 'done' | 'requested' }> {
    const r = await this.moveSteps(topicName, partition, target, options.timeoutMs ?? 30_000, false);
    return { topicId: r.topicId, state: r.done ? 'done' : 'requested' };
  }

  /**
   * Admin: withdraw the partition's pending move (the leader takes writes again). False when no
   * move is pending; REASSIGNMENT_IN_PROGRESS once the leader has released (the move completes).
   */
  async cancelMove(topicName: string, partition: number): Promise<boolean> {
    const topic = await this.topicOf(topicName, partition);
    for (let attempt = 0; attempt < 20; attempt++) {
      const recKv = await this.store.get(this.keys.partition(topic.id, partition));
      const mvKv = await this.store.get(this.keys.partitionMove(topic.id, partition));
      if (!recKv || !mvKv) return false;
      const rec = decodePartitionRecord(recKv.value, recKv.key);
      const mv = decodeMoveRecord(mvKv.value, mvKv.key);
      if (mv.from !== rec.leader || mv.epoch !== rec.leaderEpoch) return false; // stale: nothing in progress
      if (mv.state === 'released') throw new ControllerError('REASSIGNMENT_IN_PROGRESS', `${topicName}/${partition} was already released by broker ${mv.from}; the move to broker ${mv.to} completes`);
      // The same guards as the controller's own cancel: the leader's release races this and one wins.
      const ok = await this.store.txn([
        { key: recKv.key, target: 'modRevision', op: '==', value: recKv.modRevision },
        { key: mvKv.key, target: 'modRevision', op: '==', value: mvKv.modRevision },
      ], [{ type: 'delete', key: mvKv.key }]);
      if (ok.succeeded) {
        this.log.info({ topic: topicName, partition, from: mv.from, to: mv.to }, 'admin move cancelled');
        return true;
      }
    }
    throw new ControllerError('REQUEST_TIMED_OUT', `${topicName}/${partition}: its records kept changing`);
  }

  /** The moves in progress: move records that match their partition record (stale ones are left out). */
  async listMoves(): Promise<{ topicId: string; partition: number; from: number; to: number; state: 'moving' | 'released' }[]> {
    const snap = await readSnapshot(this.store, this.keys);
    const out: { topicId: string; partition: number; from: number; to: number; state: 'moving' | 'released' }[] = [];
    for (const [key, mv] of snap.moves) {
      const rec = snap.records.get(key);
      if (!rec || rec.leader !== mv.move.from || rec.leaderEpoch !== mv.move.epoch) continue;
      out.push({ topicId: mv.topicId, partition: mv.partition, from: mv.move.from, to: mv.move.to, state: mv.move.state });
    }
    return out;
  }

  private async topicOf(topicName: string, partition: number): Promise<{ id: string; partitions: number }> {
    const topicKv = await this.store.get(this.keys.topic(topicName));
    if (!topicKv) throw new ControllerError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topicName} does not exist`);
    const topic = decodeJson<{ id: string; partitions: number }>(topicKv.value, topicKv.key);
    if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitions) throw new ControllerError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topicName} has no partition ${partition}`);
    return topic;
  }

  /** The admin move loop: `untilDone` waits for the target to lead; otherwise it returns once the move is asked for. */
  private async moveSteps(topicName: string, partition: number, target: number, timeoutMs: number, untilDone: boolean): Promise<{ topicId: string; done: boolean; leader: number; leaderEpoch: number }> {
    const topic = await this.topicOf(topicName, partition);
    const deadline = Date.now() + timeoutMs;
    let requested = false;
    for (;;) {
      const targetKv = await this.store.get(this.keys.broker(target));
      const targetBroker = targetKv ? decodeBroker(targetKv, this.keys) : null;
      if (!targetBroker || targetBroker.draining) throw new ControllerError('BROKER_NOT_AVAILABLE', `broker ${target} is not live (or is draining)`);
      const recKv = await this.store.get(this.keys.partition(topic.id, partition));
      if (!recKv) throw new ControllerError('UNKNOWN_TOPIC_OR_PARTITION', `partition ${topicName}/${partition} has no record`);
      const rec = decodePartitionRecord(recKv.value, recKv.key);
      const mvKv = await this.store.get(this.keys.partitionMove(topic.id, partition));
      const step = adminMoveStep(this.keys, {
        topicId: topic.id, partition, target, record: rec, recordRev: recKv.modRevision,
        move: mvKv ? { record: decodeMoveRecord(mvKv.value, mvKv.key), modRevision: mvKv.modRevision } : null, nowMs: Date.now(),
      });
      if (step.kind === 'done') return { topicId: topic.id, done: true, leader: step.leader, leaderEpoch: step.leaderEpoch };
      if (step.kind === 'in-progress') {
        if (requested) throw new ControllerError('REASSIGNMENT_IN_PROGRESS', `${topicName}/${partition} was redirected to broker ${step.to} by the controller`);
        throw new ControllerError('REASSIGNMENT_IN_PROGRESS', `${topicName}/${partition} is already moving to broker ${step.to}`);
      }
      if (step.kind === 'request') {
        if ((await this.store.txn(step.txn.compares, step.txn.ops)).succeeded) {
          requested = true;
          this.log.info({ topic: topicName, partition, from: rec.leader, to: target }, 'admin move requested');
        }
        continue;
      }
      if (!untilDone) return { topicId: topic.id, done: false, leader: rec.leader, leaderEpoch: rec.leaderEpoch };
      if (Date.now() > deadline) throw new ControllerError('REQUEST_TIMED_OUT', `${topicName}/${partition} did not reach broker ${target} within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /**
   * Admin / controlled shutdown: mark `brokerId` draining (the controller then moves all its
   * partitions away, gracefully) and wait until it leads nothing. Works from any broker.
   */
  async drain(brokerId: number, options: { timeoutMs?: number } = {}): Promise<void> {
    await setBrokerDraining(this.store, this.keys, brokerId, true);
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    while (await leadsAnything(this.store, this.keys, brokerId)) {
      if (Date.now() > deadline) throw new ControllerError('REQUEST_TIMED_OUT', `broker ${brokerId} still leads partitions after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  async undrain(brokerId: number): Promise<void> {
    await setBrokerDraining(this.store, this.keys, brokerId, false);
  }

  // ---- the loop ----------------------------------------------------------------------------

  private becameController(): void {
    if (this.closed) return;
    this.startWatching();
    this.tick = setInterval(() => this.schedule('repair', this.debounceMs), this.repairIntervalMs);
    this.tick.unref();
    this.schedule('balance', 0);
  }

  private startWatching(): void {
    const restart = (err: Error): void => {
      this.log.warn({ err }, 'controller watch failed; restarting watches');
      if (!this.isController || this.closed) return;
      this.stoppedWatching();
      setTimeout(() => { if (this.isController && !this.closed) { this.startWatching(); this.schedule('balance', 0); } }, 100);
    };
    this.cancels.push(
      this.store.watch(this.keys.brokersPrefix(), 0, () => this.schedule('balance', this.debounceMs), restart),
      this.store.watch(this.keys.topicsPrefix(), 0, () => this.schedule('balance', this.debounceMs), restart),
      this.store.watch(this.keys.partitionMovesPrefix(), 0, (e) => {
        // Our own writes come back here too; only a release needs a prompt follow-up.
        if (e.type === 'put' && decodeMoveRecord(e.kv.value, e.kv.key).state === 'released') this.schedule('repair', 0);
      }, restart),
    );
  }

  private stoppedWatching(): void {
    for (const c of this.cancels.splice(0)) c();
  }

  private stoppedBeingController(): void {
    this.stoppedWatching();
    if (this.tick) { clearInterval(this.tick); this.tick = null; }
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.retryTimer) { clearTimeout(this.retryTimer); this.retryTimer = null; }
    this.requested = null;
    const empty: ReconcileResult = { mode: 'repair', planned: [], applied: [], failed: [], deferred: [] };
    for (const w of this.resultWaiters) w(empty);
    this.resultWaiters.clear();
  }

  private schedule(mode: ReconcileMode, delayMs: number): void {
    if (this.closed) return;
    this.requested = this.requested === 'balance' || mode === 'balance' ? 'balance' : 'repair';
    if (this.running) return; // the loop picks it up
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.loop().finally(() => {
        this.running = null;
        if (this.requested && this.isController) this.schedule(this.requested, 0);
      });
    }, delayMs);
  }

  private async loop(): Promise<void> {
    while (this.requested && this.isController && !this.closed) {
      const mode = this.requested;
      this.requested = null;
      // Waiters registered before this reconcile starts get its result.
      const waiters = [...this.resultWaiters];
      this.resultWaiters.clear();
      let result: ReconcileResult;
      try {
        result = await this.reconcileOnce(mode);
      } catch (err) {
        this.log.warn({ err, mode }, 'reconcile failed; retrying');
        result = { mode, planned: [], applied: [], failed: [], deferred: [] };
        this.retryLater(mode, 250);
      }
      this.lastResult = result;
      for (const w of waiters) w(result);
    }
  }

  private retryLater(mode: ReconcileMode, delayMs: number): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => { this.retryTimer = null; this.schedule(mode, 0); }, delayMs);
  }

  private async reconcileOnce(mode: ReconcileMode): Promise<ReconcileResult> {
    this.stats.reconciles++;
    const snap = await readSnapshot(this.store, this.keys);
    const planned = planActions(snap, mode, { moveTimeoutMs: this.moveTimeoutMs });
    if (planned.length === 0) return { mode, planned, applied: [], failed: [], deferred: [] };
    // Failover hook, once per dead broker, before any of its partitions move.
    const deferred: ControllerAction[] = [];
    const deadBrokers = deadBrokersOf(planned);
    const refused = new Set<number>();
    // In parallel: a rack loss fails over every broker of the rack at once (onto different targets).
    const hook = this.hook;
    if (hook) {
      await Promise.all(deadBrokers.map(async (b) => {
        try {
          await hook(b);
        } catch (err) {
          refused.add(b);
          this.log.warn({ err, brokerId: b }, 'beforeReassignDeadBroker failed; its partitions wait');
        }
      }));
    }
    const actions = planned.filter((a) => {
      if (a.kind === 'reassign-dead' && refused.has(a.from)) { deferred.push(a); return false; }
      return true;
    });
    if (!this.isController) return { mode, planned, applied: [], failed: actions, deferred };
    const { applied, failed } = await applyActions(this.store, this.keys, actions, this.election.tokenCompare(), (ok) => {
      this.stats.txns++;
      if (!ok) this.stats.txnsFailed++;
    });
    for (const a of applied) {
      if (a.kind === 'request-move') this.stats.movesRequested++;
      else if (a.kind === 'complete') this.stats.movesCompleted++;
      else if (a.kind === 'reassign-dead') this.stats.deadReassigned++;
    }
    this.log.info({
      mode, applied: applied.length, failed: failed.length, deferred: deferred.length,
      actions: applied.slice(0, 20).map(describeAction),
    }, 'controller reconciled');
    // Stale deletions unblock their partitions next round; failures and deferrals retry.
    if (failed.length > 0 || deferred.length > 0 || applied.some((a) => a.kind === 'delete-stale-move')) this.retryLater(mode, failed.length > 0 || deferred.length > 0 ? 250 : 0);
    return { mode, planned, applied, failed, deferred };
  }

  /** The last reconcile's result (for tests and metrics). */
  get last(): ReconcileResult | null { return this.lastResult; }
}

/** Sets the draining flag of a live broker's record, keeping its lease binding. */
export async function setBrokerDraining(store: MetadataStore, keys: MetadataKeys, brokerId: number, draining: boolean): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const kv = await store.get(keys.broker(brokerId));
    if (!kv) throw new ControllerError('BROKER_NOT_AVAILABLE', `broker ${brokerId} is not live`);
    const t = drainingTxn(kv, draining);
    if (t === null) return;
    const r = await store.txn(t.compares, t.ops);
    if (r.succeeded) return;
  }
  throw new ControllerError('REQUEST_TIMED_OUT', `brokers/${brokerId} kept changing`);
}

/** True while any partition record names brokerId as leader. */
export async function leadsAnything(store: MetadataStore, keys: MetadataKeys, brokerId: number): Promise<boolean> {
  return leadsAnyPartition(await readSnapshot(store, keys), brokerId);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
