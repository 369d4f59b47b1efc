// A broker's view of leadership (DESIGN §6): follows partitions/ and partition-moves/ (one watch,
// so both arrive in revision order), brokers/, topics/ and the controller key, and tells its broker
// which partitions it leads at which epoch and when to hand one over.
//
// Events (listeners get them synchronously, in order; each on*() returns an unsubscribe):
//   onAcquired(topicId, p, epoch)     this broker now leads p at epoch: load the end offset from
//                                     metadata and serve. (Also when only the epoch rose: treat it as
//                                     lost + acquired -- onLost comes first.)
//   onMoveRequested(topicId, p, to)   the controller wants p on broker `to`: stop accepting writes
//                                     for p, let appends in flight finish, upload and commit
//                                     everything pending, then call release(topicId, p).
//   onMoveCancelled(topicId, p)       a requested move was withdrawn before release: accept writes again.
//   onLost(topicId, p, epoch)         no longer the leader at epoch: drop the partition's state;
//                                     answer NOT_LEADER_OR_FOLLOWER.
//   onBrokersChanged(brokers), onControllerChanged(nodeId)
//
// Fencing for produce (check both; together they never acknowledge a write someone else could
// also acknowledge, nor one that cannot commit):
//   acceptsWrites(topicId, p) -> epoch | null      before appending: leader, no move pending, safe lease
//   mayAcknowledge(topicId, p, epoch) -> boolean    right before answering: still leader at that epoch,
//                                                   not released, lease alive with margin, and the view
//                                                   resynchronised since the current lease was granted
// After a lost lease the registration registers again (new generation); until this view has
// re-read all partition state after that, nothing is acknowledged: the controller may have moved
// partitions away meanwhile.
//
// API: new LeadershipView(store, keys, { nodeId, registration?, log? }); await start(); close()
//   leads(t, p) -> epoch | null; leaderOf(t, p) -> { nodeId, epoch } | null; ledPartitions()
//   commitGuard(t, p) -> PartitionGuard | null   (for the uploader's guarded commits)
//   moveTarget(t, p) -> nodeId | null; release(t, p) -> Promise<boolean>
//   brokers() -> LiveBroker[]; broker(id); isLive(id); controllerId() -> nodeId | -1
//   topics() -> TopicSummary[]; topicByName(name); topicById(id)
//   coordinatorFor(groupId) -> nodeId | null
//   waitUntilLeadingNothing(timeoutMs) -> boolean        (controlled shutdown)
//   controlledShutdown(registration, view, { timeoutMs }) -> { clean }   (SIGTERM helper)

import { coordinatorFor } from './coordinator.js';
import { trueWithin } from '../common/within.js';
import { silentLog, watchBrokers, type BrokerRegistration, type BrokerWatch, type ClusterLog, type LiveBroker } from './membership.js';
import { decodeJson, type KeyValue, type MetadataStore, type WatchEvent } from './metadata-store.js';
import type { MetadataKeys } from './metadata-keys.js';
import {
  decodeMoveRecord, decodePartitionRecord, encodeMoveRecord, parsePartitionStateKey, partitionKey,
  type PartitionMoveRecord,
} from './partition-records.js';

export interface TopicSummary { name: string; id: string; partitions: number }

interface RecordState { topicId: string; partition: number; leader: number; epoch: number; modRevision: number }
interface MoveState { move: PartitionMoveRecord; modRevision: number }
/** This broker's standing on one partition it leads. */
interface Mine { topicId: string; partition: number; epoch: number; moveTarget: number | null; released: boolean }

type Listener<A extends unknown[]> = (...args: A) => void;

export interface LeadershipViewOptions {
  nodeId: number;
  /** The broker's registration: enables the lease checks of acceptsWrites / mayAcknowledge. */
  registration?: BrokerRegistration | null;
  log?: ClusterLog;
}

/** How long controlled shutdown goes on while no other live, non-draining broker could take a partition. */
const NO_TAKER_GRACE_MS = 1000;

export class LeadershipView {
  readonly nodeId: number;
  private readonly registration: BrokerRegistration | null;
  private readonly log: ClusterLog;
  private readonly records = new Map<string, RecordState>();
  private readonly moves = new Map<string, MoveState>();
  private readonly mine = new Map<string, Mine>();
  /** Epoch at which we released a partition: never writable again at that epoch. */
  private readonly releasedAt = new Map<string, number>();
  private readonly topicsByName = new Map<string, TopicSummary>();
  private readonly topicsById = new Map<string, TopicSummary>();
  private controller = -1;
  private brokerWatch: BrokerWatch | null = null;
  private cancelPartitions: (() => void) | null = null;
  private cancelOthers: (() => void)[] = [];
  private syncedGeneration = -1;
  private syncing: Promise<void> | null = null;
  private closed = false;
  private unsubscribe: (() => void) | null = null;

  private readonly acquired = new Set<Listener<[string, number, number]>>();
  private readonly lost = new Set<Listener<[string, number, number]>>();
  private readonly moveRequested = new Set<Listener<[string, number, number]>>();
  private readonly moveCancelled = new Set<Listener<[string, number]>>();
  private readonly brokersChanged = new Set<Listener<[LiveBroker[]]>>();
  private readonly controllerChanged = new Set<Listener<[number]>>();

  constructor(private readonly store: MetadataStore, private readonly keys: MetadataKeys, options: LeadershipViewOptions) {
    this.nodeId = options.nodeId;
    this.registration = options.registration ?? null;
    this.log = options.log ?? silentLog;
  }

  onAcquired(fn: (topicId: string, partition: number, epoch: number) => void): () => void { return sub(this.acquired, fn); }
  onLost(fn: (topicId: string, partition: number, epoch: number) => void): () => void { return sub(this.lost, fn); }
  onMoveRequested(fn: (topicId: string, partition: number, target: number) => void): () => void { return sub(this.moveRequested, fn); }
  onMoveCancelled(fn: (topicId: string, partition: number) => void): () => void { return sub(this.moveCancelled, fn); }
  onBrokersChanged(fn: (brokers: LiveBroker[]) => void): () => void { return sub(this.brokersChanged, fn); }
  onControllerChanged(fn: (nodeId: number) => void): () => void { return sub(this.controllerChanged, fn); }

  /** Reads everything and starts following it. Register listeners first: initial leaderships fire onAcquired. */
  async start(): Promise<void> {
    this.brokerWatch = watchBrokers(this.store, this.keys, (brokers) => { for (const fn of this.brokersChanged) fn(brokers); }, this.log);
    await Promise.all([this.brokerWatch.ready, this.followTopics(), this.followController(), this.resync()]);
    if (this.registration) {
      this.unsubscribe = this.registration.onRegistered(() => { void this.resync(); });
    }
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.brokerWatch?.stop();
    this.cancelPartitions?.();
    for (const c of this.cancelOthers.splice(0)) c();
  }

  // ---- queries -----------------------------------------------------------------------------

  /** The epoch at which this broker leads the partition, or null. */
  leads(topicId: string, partition: number): number | null {
    return this.mine.get(partitionKey(topicId, partition))?.epoch ?? null;
  }

  /** Who leads the partition per the metadata (live or not: check isLive for Metadata answers). */
  leaderOf(topicId: string, partition: number): { nodeId: number; epoch: number } | null {
    const r = this.records.get(partitionKey(topicId, partition));
    return r ? { nodeId: r.leader, epoch: r.epoch } : null;
  }

  /**
   * The upload commit guard (object-registry.ts PartitionGuard) for a partition this broker leads:
   * the modRevision of the partition record at our epoch. It changes only with the leader epoch
   * (moves are separate records), so it stays valid through a graceful move's final upload and
   * fails once the partition has a new epoch. Null when we do not lead it.
   */
  commitGuard(topicId: string, partition: number): { topicId: string; partition: number; modRevision: number } | null {
    const key = partitionKey(topicId, partition);
    const rec = this.records.get(key);
    return this.mine.has(key) && rec ? { topicId, partition, modRevision: rec.modRevision } : null;
  }

  /** Partitions this broker leads, with epochs and pending moves. */
  ledPartitions(): { topicId: string; partition: number; epoch: number; moveTarget: number | null; released: boolean }[] {
    return [...this.mine.values()].map((m) => ({ ...m }));
  }

  /** The broker a pending move of one of our partitions goes to (null: none, or already released). */
  moveTarget(topicId: string, partition: number): number | null {
    const m = this.mine.get(partitionKey(topicId, partition));
    return m && !m.released ? m.moveTarget : null;
  }

  /** Before appending a produce batch: the epoch to stamp, or null (answer NOT_LEADER_OR_FOLLOWER). */
  acceptsWrites(topicId: string, partition: number): number | null {
    const m = this.mine.get(partitionKey(topicId, partition));
    if (!m || m.moveTarget !== null || m.released) return null;
    return this.leaseOk() ? m.epoch : null;
  }

  /** Right before answering a produce request appended at `epoch`. */
  mayAcknowledge(topicId: string, partition: number, epoch: number): boolean {
    const m = this.mine.get(partitionKey(topicId, partition));
    return m !== undefined && m.epoch === epoch && !m.released && this.leaseOk();
  }

  brokers(): LiveBroker[] { return this.brokerWatch?.current() ?? []; }
  broker(nodeId: number): LiveBroker | undefined { return this.brokerWatch?.get(nodeId); }
  isLive(nodeId: number): boolean { return this.brokerWatch?.get(nodeId) !== undefined; }
  /** The controller's node id, or -1 when there is none right now. */
  controllerId(): number { return this.controller; }

  topics(): TopicSummary[] { return [...this.topicsByName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)); }
  topicByName(name: string): TopicSummary | undefined { return this.topicsByName.get(name); }
  topicById(id: string): TopicSummary | undefined { return this.topicsById.get(id); }

  /** FindCoordinator: the group's coordinator among live brokers that are not draining (all live ones if every broker drains). */
  coordinatorFor(groupId: string): number | null {
    const live = this.brokers();
    const serving = live.filter((b) => !b.draining);
    return coordinatorFor(groupId, (serving.length > 0 ? serving : live).map((b) => b.nodeId));
  }

  // ---- moves -------------------------------------------------------------------------------

  /**
   * After onMoveRequested, once everything pending is uploaded and committed: hand the partition
   * over. True when released (or already released); false when there is no move of ours to release
   * (cancelled, or we no longer lead). From here on the partition is never writable again at
   * this epoch, even if the answer was lost in flight.
   */
  async release(topicId: string, partition: number): Promise<boolean> {
    const key = partitionKey(topicId, partition);
    const recKey = this.keys.partition(topicId, partition);
    const moveKey = this.keys.partitionMove(topicId, partition);
    for (let attempt = 0; attempt < 10; attempt++) {
      const [recKv, mvKv] = await Promise.all([this.store.get(recKey), this.store.get(moveKey)]);
      if (!recKv || !mvKv) return false;
      const rec = decodePartitionRecord(recKv.value, recKv.key);
      const mv = decodeMoveRecord(mvKv.value, mvKv.key);
      if (rec.leader !== this.nodeId || mv.from !== this.nodeId || mv.epoch !== rec.leaderEpoch) return false;
      this.markReleased(key, rec.leaderEpoch);
      if (mv.state === 'released') return true;
      // If this throws, the outcome is unknown: we stay released (conservative); a retry finds out.
      const ok = (await this.store.txn(
        [{ key: recKey, target: 'modRevision', op: '==', value: recKv.modRevision }, { key: moveKey, target: 'modRevision', op: '==', value: mvKv.modRevision }],
        [{ type: 'put', key: moveKey, value: encodeMoveRecord({ ...mv, state: 'released' }) }],
      )).succeeded;
      if (ok) {
        this.log.info({ topicId, partition, epoch: rec.leaderEpoch, to: mv.to }, 'partition released');
        return true;
      }
      // Changed meanwhile (retargeted, cancelled): unmark and look again.
      this.releasedAt.delete(key);
      this.recompute(key);
    }
    return false;
  }

  /** Controlled shutdown: true once this broker leads nothing (false on timeout). */
  async waitUntilLeadingNothing(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let nobodySince: number | null = null;
    while (this.mine.size > 0) {
      if (Date.now() > deadline) return false;
      // The last broker standing has nobody to hand over to: waiting out the timeout moves nothing.
      const takers = (this.brokerWatch?.current() ?? []).filter((b) => b.nodeId !== this.nodeId && !b.draining);
      nobodySince = takers.length > 0 ? null : (nobodySince ?? Date.now());
      if (nobodySince !== null && Date.now() - nobodySince >= NO_TAKER_GRACE_MS) return false;
      await new Promise((r) => setTimeout(r, 25));
    }
    return true;
  }

  // ---- following the store -----------------------------------------------------------------

  private leaseOk(): boolean {
    if (this.syncing !== null) return false;
    if (!this.registration) return true;
    return this.registration.safeToAcknowledge() && this.syncedGeneration === this.registration.generation;
  }

  private markReleased(key: string, epoch: number): void {
    this.releasedAt.set(key, epoch);
    this.recompute(key);
  }

  /** (Re)reads partition state and restarts its watch. Differences fire events. */
  private resync(): Promise<void> {
    this.syncing ??= (async () => {
      let delayMs = 50;
      while (!this.closed) {
        const generation = this.registration?.generation ?? 0;
        try {
          this.cancelPartitions?.();
          this.cancelPartitions = null;
          const { kvs, revision } = await this.store.listWithRevision(this.keys.partitionStatePrefix());
          if (this.closed) return;
          const before = new Set([...this.records.keys(), ...this.moves.keys()]);
          this.records.clear();
          this.moves.clear();
          for (const kv of kvs) this.apply(kv, 'put');
          for (const key of new Set([...before, ...this.records.keys(), ...this.moves.keys()])) this.recompute(key);
          this.cancelPartitions = this.store.watch(this.keys.partitionStatePrefix(), revision + 1, (e: WatchEvent) => {
            const key = this.apply(e.kv, e.type);
            if (key) this.recompute(key);
          }, (err) => {
            this.log.warn({ err }, 'partition watch failed; resynchronising');
            this.cancelPartitions = null;
            void this.resync();
          });
          this.syncedGeneration = generation;
          // Registered again while we read: read again, for the newer registration.
          if ((this.registration?.generation ?? 0) !== generation) continue;
          return;
        } catch (err) {
          this.log.debug({ err }, 'reading partition state failed; retrying');
          await new Promise((r) => setTimeout(r, delayMs));
          delayMs = Math.min(1000, delayMs * 2);
        }
      }
    })().finally(() => { this.syncing = null; });
    return this.syncing;
  }

  /** Stores one partition or move record (or its deletion). Returns its map key. */
  private apply(kv: KeyValue, type: 'put' | 'delete'): string | null {
    const parsed = parsePartitionStateKey(this.keys, kv.key);
    if (!parsed) return null;
    const key = partitionKey(parsed.topicId, parsed.partition);
    if (parsed.kind === 'partition') {
      if (type === 'delete') this.records.delete(key);
      else {
        const r = decodePartitionRecord(kv.value, kv.key);
        this.records.set(key, { topicId: parsed.topicId, partition: parsed.partition, leader: r.leader, epoch: r.leaderEpoch, modRevision: kv.modRevision });
      }
    } else if (type === 'delete') {
      this.moves.delete(key);
    } else {
      this.moves.set(key, { move: decodeMoveRecord(kv.value, kv.key), modRevision: kv.modRevision });
    }
    return key;
  }

  /** Recomputes our standing on one partition and fires what changed. */
  private recompute(key: string): void {
    const rec = this.records.get(key);
    const prev = this.mine.get(key);
    let next: Mine | undefined;
    if (rec && rec.leader === this.nodeId && this.topicIsLive(rec.topicId, rec.partition)) {
      const mv = this.moves.get(key);
      const valid = mv !== undefined && mv.move.from === rec.leader && mv.move.epoch === rec.epoch;
      const released = (valid && mv.move.state === 'released') || this.releasedAt.get(key) === rec.epoch;
      next = { topicId: rec.topicId, partition: rec.partition, epoch: rec.epoch, moveTarget: valid && mv.move.state === 'moving' ? mv.move.to : null, released };
    }
    const released = this.releasedAt.get(key);
    if (released !== undefined && (!next || next.epoch !== released)) this.releasedAt.delete(key);
    if (next) this.mine.set(key, next);
    else this.mine.delete(key);

    if (prev && (!next || next.epoch !== prev.epoch)) for (const fn of this.lost) fn(prev.topicId, prev.partition, prev.epoch);
    if (next && (!prev || next.epoch !== prev.epoch)) for (const fn of this.acquired) fn(next.topicId, next.partition, next.epoch);
    if (next && !next.released) {
      const prevTarget = prev && prev.epoch === next.epoch && !prev.released ? prev.moveTarget : null;
      if (next.moveTarget !== null && prevTarget === null) for (const fn of this.moveRequested) fn(next.topicId, next.partition, next.moveTarget);
      if (next.moveTarget === null && prevTarget !== null) for (const fn of this.moveCancelled) fn(next.topicId, next.partition);
    }
  }

  /** A partition record counts only while its topic exists with that many partitions (records of deleted topics may linger briefly). */
  private topicIsLive(topicId: string, partition: number): boolean {
    const t = this.topicsById.get(topicId);
    return t !== undefined && partition < t.partitions;
  }

  private async followTopics(): Promise<void> {
    const prefix = this.keys.topicsPrefix();
    const setTopic = (kv: KeyValue): void => {
      const name = kv.key.slice(prefix.length);
      const old = this.topicsByName.get(name);
      if (old) this.topicsById.delete(old.id);
      const t = decodeJson<{ id: string; partitions: number }>(kv.value, kv.key);
      const summary = { name, id: t.id, partitions: t.partitions };
      this.topicsByName.set(name, summary);
      this.topicsById.set(t.id, summary);
    };
    const recomputeTopic = (topicId: string | undefined): void => {
      if (topicId === undefined) return;
      for (const key of [...this.records.keys()].filter((k) => k.startsWith(`${topicId}/`))) this.recompute(key);
    };
    for (let delayMs = 50; ; delayMs = Math.min(1000, delayMs * 2)) {
      try {
        const { kvs, revision } = await this.store.listWithRevision(prefix);
        for (const kv of kvs) setTopic(kv);
        this.cancelOthers.push(this.store.watch(prefix, revision + 1, (e) => {
          const name = e.kv.key.slice(prefix.length);
          const old = this.topicsByName.get(name);
          if (e.type === 'delete') {
            this.topicsByName.delete(name);
            if (old) this.topicsById.delete(old.id);
          } else {
            setTopic(e.kv);
          }
          recomputeTopic(old?.id);
          recomputeTopic(this.topicsByName.get(name)?.id);
        }, (err) => {
          this.log.warn({ err }, 'topic watch failed; relisting');
          if (!this.closed) void this.followTopics();
        }));
        for (const key of this.records.keys()) this.recompute(key);
        return;
      } catch (err) {
        if (this.closed) return;
        this.log.debug({ err }, 'listing topics failed; retrying');
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  private async followController(): Promise<void> {
    const key = this.keys.controller();
    const set = (id: number): void => {
      if (id === this.controller) return;
      this.controller = id;
      for (const fn of this.controllerChanged) fn(id);
    };
    for (let delayMs = 50; ; delayMs = Math.min(1000, delayMs * 2)) {
      try {
        const { kvs, revision } = await this.store.listWithRevision(key);
        const kv = kvs.find((x) => x.key === key);
        set(kv ? decodeJson<{ nodeId: number }>(kv.value, kv.key).nodeId : -1);
        this.cancelOthers.push(this.store.watch(key, revision + 1, (e) => {
          if (e.kv.key !== key) return;
          set(e.type === 'delete' ? -1 : decodeJson<{ nodeId: number }>(e.kv.value, e.kv.key).nodeId);
        }, (err) => {
          this.log.warn({ err }, 'controller watch failed; relisting');
          if (!this.closed) void this.followController();
        }));
        return;
      } catch (err) {
        if (this.closed) return;
        this.log.debug({ err }, 'reading the controller key failed; retrying');
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }
}

/**
 * SIGTERM: mark this broker draining, keep handling onMoveRequested (flush + release) until it
 * leads nothing or timeoutMs passes, then deregister. `clean` is false when partitions were
 * still led at the deadline (they fail over when the lease goes).
 */
export async function controlledShutdown(registration: BrokerRegistration, view: LeadershipView, options: { timeoutMs?: number } = {}): Promise<{ clean: boolean; ms: number }> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 30_000;
  let clean = false;
  try {
    // With etcd unreachable the flag cannot be written (the registration retries for as long as
    // it lives): the whole shutdown stays within its timeout, and the lease's TTL hands over.
    const draining = registration.setDraining(true).then(() => true);
    draining.catch(() => undefined); // still retrying when close() ends it
    const flagged = await trueWithin(draining, timeoutMs);
    if (flagged) clean = await view.waitUntilLeadingNothing(Math.max(0, timeoutMs - (Date.now() - started)));
  } finally {
    view.close();
    await registration.close();
  }
  return { clean, ms: Date.now() - started };
}

function sub<F>(set: Set<F>, fn: F): () => void {
  set.add(fn);
  return () => { set.delete(fn); };
}
