// The remount controller (DESIGN §6). It runs in the elected cluster controller as its
// beforeReassignDeadBroker hook: before a dead broker's partitions get new leaders, its WAL volume
// is moved to a live broker that replays it into S3, so no acknowledged byte is lost.
//
// State machine: failovers/<brokerId> (failover-records.ts), every write a transaction on the
// record's modRevision, so a controller that takes over mid-failover resumes from the stored phase
// and a stale controller's writes fail:
//
//   detected  --choose target-->  moving  --detach(force) + attach(target)-->  replaying
//   replaying --(the target replays, fences, commits, closes the WAL)-->       releasing
//   releasing --detach from target-->  done  --> the hook resolves; the controller moves the partitions
//   any phase --target died / timed out / volume reclaimed--> failed  (the next reconcile starts over)
//
// Target choice: a live broker that is not already replaying another volume (one takeover per
// target at a time), in the volume's rack (AZ) when one is alive there, else in another rack when
// the provider can attach across zones (local, Azure ZRS). A zonal provider (AWS EBS) with no
// live broker in the volume's zone cannot move it: the partitions wait (never lose the tail) and
// the log says so; a broker in that zone, or the dead broker's return, unblocks them.
//
// API: new RemountController(options); beforeReassign(deadBrokerId) -> Promise<void>; close()

import { decodeFailover, isActivePhase, listVolumeOwners, type FailoverRecord, type VolumeOwnerRecord } from '../cluster/failover-records.js';
import { readBrokers, type LiveBroker } from '../cluster/membership.js';
import { encodeJson, type MetadataStore } from '../cluster/metadata-store.js';
import type { MetadataKeys } from '../cluster/metadata-keys.js';
import { VolumeBusyError, type VolumeProvider } from './volume-provider.js';
import { crashPoint } from '../ops/crash-point.js';

export interface FailoverMetrics {
  failoverFinished(result: 'done' | 'failed'): void;
  failoverPhase(phase: string, seconds: number): void;
}

export interface RemountControllerOptions {
  store: MetadataStore;
  keys: MetadataKeys;
  provider: VolumeProvider;
  /** This controller's broker id (written into the records). */
  nodeId: number;
  attachTimeoutMs: number;
  /** A broker still starting (owner record starting=true) is not failed over for this long after its claim. Default 60 s. */
  startGraceMs?: number;
  /** A target that has not replayed within this time (from attach) is given up on. Default 120 s. */
  replayTimeoutMs?: number;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  metrics?: FailoverMetrics;
  now?: () => number;
}

export class FailoverError extends Error {
  constructor(readonly code: 'NO_TARGET' | 'BROKER_STARTING' | 'TARGET_LOST' | 'REPLAY_TIMEOUT' | 'REPLAY_FAILED' | 'CONFLICT' | 'ZONAL_VOLUME', message: string) {
    super(message);
    this.name = 'FailoverError';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RemountController {
  private readonly inFlight = new Map<number, Promise<void>>();
  /** Targets chosen by failovers running in this controller (they run in parallel on a rack loss). */
  private readonly reserved = new Map<number, number>(); // target -> dead broker
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly o: RemountControllerOptions) {
    this.now = o.now ?? Date.now;
  }

  close(): void { this.closed = true; }

  /** The controller hook: resolves once the dead broker's volume, if any, is replayed into S3 and released. */
  beforeReassign(deadBrokerId: number): Promise<void> {
    let p = this.inFlight.get(deadBrokerId);
    if (!p) {
      p = this.recover(deadBrokerId).finally(() => {
        this.inFlight.delete(deadBrokerId);
        for (const [t, d] of this.reserved) if (d === deadBrokerId) this.reserved.delete(t);
      });
      this.inFlight.set(deadBrokerId, p);
    }
    return p;
  }

  private async recover(dead: number): Promise<void> {
    const { store, keys } = this.o;
    for (let round = 0; ; round++) {
      if (this.closed) throw new Error('remount controller closed');
      const brokers = await readBrokers(store, keys);
      if (brokers.some((b) => b.nodeId === dead)) return; // came back: nothing to move
      const kv = await store.get(keys.failover(dead));
      let rec = kv ? decodeFailover(kv) : null;
      let rev = kv?.modRevision ?? 0;
      if (!rec || !isActivePhase(rec.phase)) {
        const vol = (await listVolumeOwners(store, keys)).find((v) => v.owner.homeBrokerId === dead);
        if (!vol) return; // this broker has no volume: nothing to replay
        // Replayed and released by the last failover: nothing left in it. (Held by anyone else
        // without a finished failover, e.g. a target that timed out, it is replayed again; the
        // new claim fences that holder.)
        if (rec?.phase === 'done' && vol.owner.brokerId !== dead && vol.owner.brokerId === rec.target) return;
        // A broker that claimed its volume and is still starting (WAL recovery) is coming back:
        // give it a grace period before moving its volume away.
        const graceMs = this.o.startGraceMs ?? 60_000;
        if (vol.owner.brokerId === dead && vol.owner.starting && vol.owner.claimedMs !== undefined && this.now() - vol.owner.claimedMs < graceMs) {
          throw new FailoverError('BROKER_STARTING', `broker ${dead} claimed volume ${vol.owner.volumeId} ${this.now() - vol.owner.claimedMs} ms ago and is starting; not failing it over (grace ${graceMs} ms)`);
        }
        const created = await this.create(dead, vol.owner, vol.modRevision, rev);
        if (!created) continue;
        ({ rec, rev } = created);
      }
      try {
        const next = await this.step(rec, rev, brokers);
        if (next === 'done') return;
      } catch (err) {
        if (err instanceof FailoverError && err.code === 'CONFLICT') continue;
        await this.fail(dead, err as Error);
        throw err;
      }
    }
  }

  private async create(dead: number, owner: VolumeOwnerRecord, ownerRevision: number, prevRev: number): Promise<{ rec: FailoverRecord; rev: number } | null> {
    const detected = this.now();
    const rec: FailoverRecord = {
      id: `${dead}-${detected}`, brokerId: dead, volumeId: owner.volumeId,
      fromInstance: owner.instanceId, fromRack: owner.rack, ownerRevision,
      target: null, targetInstance: null, targetRack: null, phase: 'detected', times: { detected }, controller: this.o.nodeId,
    };
    const rev = await this.write(rec, prevRev);
    if (rev === null) return null;
    this.o.log.warn({ failover: rec.id, brokerId: dead, volumeId: rec.volumeId, ownerEpoch: owner.epoch, heldBy: owner.brokerId }, 'broker lease expired: failing over its WAL volume');
    return { rec, rev };
  }

  /** Advance one phase. Returns 'done' when the volume is replayed and released. */
  private async step(rec: FailoverRecord, rev: number, brokers: LiveBroker[]): Promise<'done' | 'continue'> {
    const { provider } = this.o;
    const timeoutMs = this.o.attachTimeoutMs;
    switch (rec.phase) {
      case 'detected': {
        const target = this.chooseTarget(rec, brokers, await this.busyTargets(rec.brokerId));
        this.reserved.set(target.nodeId, rec.brokerId);
        const next: FailoverRecord = { ...rec, phase: 'moving', target: target.nodeId, targetInstance: target.instanceId, targetRack: target.rack, controller: this.o.nodeId };
        if ((await this.write(next, rev)) === null) throw new FailoverError('CONFLICT', 'record changed');
        this.o.log.info({ failover: rec.id, volumeId: rec.volumeId, target: target.nodeId, targetRack: target.rack, fromRack: rec.fromRack }, 'failover target chosen');
        return 'continue';
      }
      case 'moving': {
        this.requireLive(rec, brokers);
        const info = await provider.describe(rec.volumeId);
        if (info.attachedTo !== null && info.attachedTo !== rec.targetInstance) {
          // The owner is dead (its lease expired): force, and only from the instance we saw.
          await provider.detach(rec.volumeId, { force: true, instanceId: info.attachedTo });
          await provider.waitDetached(rec.volumeId, { timeoutMs });
        }
        const detached = this.now();
        await provider.attach(rec.volumeId, rec.targetInstance!, { zone: rec.targetRack ?? undefined });
        await provider.waitAttached(rec.volumeId, rec.targetInstance!, { timeoutMs });
        const attached = this.now();
        const next: FailoverRecord = { ...rec, phase: 'replaying', times: { ...rec.times, detached, attached }, controller: this.o.nodeId };
        if ((await this.write(next, rev)) === null) throw new FailoverError('CONFLICT', 'record changed');
        crashPoint('remount-after-attach');
        this.phaseDone('attach', rec.times.detected, attached);
        this.o.log.info({ failover: rec.id, volumeId: rec.volumeId, target: rec.target, ms: attached - rec.times.detected }, 'volume attached to the failover target; it replays the WAL');
        return 'continue';
      }
      case 'replaying': {
        // The target drives this phase; wait for it, or for it to die.
        const started = rec.times.attached ?? rec.times.detected;
        for (;;) {
          const kv = await this.o.store.get(this.o.keys.failover(rec.brokerId));
          if (!kv || kv.modRevision !== rev) {
            // The target gave up: reject; the controller's next reconcile starts over (no retry storm).
            const now = kv ? decodeFailover(kv) : null;
            if (now?.id === rec.id && now.phase === 'failed') throw new FailoverError('REPLAY_FAILED', now.error ?? `broker ${rec.target} failed to replay volume ${rec.volumeId}`);
            return 'continue';
          }
          const live = await readBrokers(this.o.store, this.o.keys);
          this.requireLive(rec, live);
          if (this.now() - started > (this.o.replayTimeoutMs ?? 120_000)) {
            throw new FailoverError('REPLAY_TIMEOUT', `broker ${rec.target} did not replay volume ${rec.volumeId} within ${this.o.replayTimeoutMs ?? 120_000} ms`);
          }
          if (this.closed) throw new Error('remount controller closed');
          await sleep(50);
        }
      }
      case 'releasing': {
        if (rec.times.replayed !== undefined) this.phaseDone('replay', rec.times.attached ?? rec.times.detected, rec.times.replayed);
        // The target closed the WAL before reporting; a plain detach then succeeds. If the target
        // died meanwhile, its lock is gone too; a target that hangs is detached by force.
        for (let attempt = 0; ; attempt++) {
          try {
            await provider.detach(rec.volumeId, { force: attempt >= 20, instanceId: rec.targetInstance! });
            break;
          } catch (err) {
            if (!(err instanceof VolumeBusyError)) throw err;
            await sleep(100);
          }
        }
        await provider.waitDetached(rec.volumeId, { timeoutMs });
        const released = this.now();
        const next: FailoverRecord = { ...rec, phase: 'done', times: { ...rec.times, released, done: released }, controller: this.o.nodeId };
        if ((await this.write(next, rev)) === null) throw new FailoverError('CONFLICT', 'record changed');
        this.phaseDone('total', rec.times.detected, released);
        this.o.metrics?.failoverFinished('done');
        this.o.log.info({
          failover: rec.id, volumeId: rec.volumeId, target: rec.target, replay: rec.replay,
          detectedToReleasedMs: released - rec.times.detected,
        }, 'failover done: WAL replayed into the object store and volume released; moving the partitions');
        return 'done';
      }
      case 'done':
        return 'done';
      case 'failed':
        throw new FailoverError('REPLAY_FAILED', rec.error ?? 'failed');
    }
  }

  private requireLive(rec: FailoverRecord, brokers: LiveBroker[]): void {
    if (rec.target === null || !brokers.some((b) => b.nodeId === rec.target)) {
      throw new FailoverError('TARGET_LOST', `failover target broker ${rec.target} is gone`);
    }
  }

  /** Brokers replaying another volume right now. */
  private async busyTargets(except: number): Promise<Set<number>> {
    const busy = new Set<number>();
    for (const kv of await this.o.store.list(this.o.keys.failoversPrefix())) {
      const r = decodeFailover(kv);
      if (r.brokerId !== except && isActivePhase(r.phase) && r.target !== null) busy.add(r.target);
    }
    return busy;
  }

  private chooseTarget(rec: FailoverRecord, brokers: LiveBroker[], busy: Set<number>): LiveBroker {
    // A target needs a volume provider: brokers that run with a volume of their own have one.
    const candidates = brokers.filter((b) => b.nodeId !== rec.brokerId && b.instanceId !== null && b.volumeId !== null && !b.draining);
    if (candidates.length === 0) throw new FailoverError('NO_TARGET', `no live broker with a volume and an instance id can take volume ${rec.volumeId}`);
    // The controller itself last: it has the control plane to run.
    const free = candidates.filter((b) => !busy.has(b.nodeId) && (this.reserved.get(b.nodeId) ?? rec.brokerId) === rec.brokerId)
      .sort((a, b) => Number(a.nodeId === this.o.nodeId) - Number(b.nodeId === this.o.nodeId) || a.nodeId - b.nodeId);
    if (free.length === 0) throw new FailoverError('NO_TARGET', `every live broker is replaying another volume; volume ${rec.volumeId} waits`);
    const sameRack = free.filter((b) => rec.fromRack !== null && b.rack === rec.fromRack);
    if (sameRack.length > 0) return sameRack[0]!;
    if (!this.o.provider.crossZone && rec.fromRack !== null) {
      throw new FailoverError('ZONAL_VOLUME', `volume ${rec.volumeId} is zonal (${this.o.provider.kind}) and no live broker is in its zone ${rec.fromRack}: `
        + `broker ${rec.brokerId}'s partitions wait until a broker in ${rec.fromRack} is live or broker ${rec.brokerId} returns (its un-uploaded tail is unavailable, not lost)`);
    }
    return free[0]!;
  }

  /** Guarded write of the record; null when it changed meanwhile. */
  private async write(rec: FailoverRecord, prevRev: number): Promise<number | null> {
    const key = this.o.keys.failover(rec.brokerId);
    const r = await this.o.store.txn(
      [prevRev === 0 ? { key, target: 'createRevision', op: '==', value: 0 } : { key, target: 'modRevision', op: '==', value: prevRev }],
      [{ type: 'put', key, value: encodeJson(rec) }],
    );
    return r.succeeded ? r.revision : null;
  }

  private async fail(dead: number, err: Error): Promise<void> {
    const kv = await this.o.store.get(this.o.keys.failover(dead)).catch(() => null);
    if (!kv) return;
    const rec = decodeFailover(kv);
    if (!isActivePhase(rec.phase)) return;
    const code = (err as { code?: string }).code;
    // Waiting for a free or in-zone target is not a failure of this failover: keep the record.
    if (code === 'NO_TARGET' || code === 'ZONAL_VOLUME' || code === 'BROKER_STARTING') {
      this.o.log.warn({ failover: rec.id, err: err.message }, 'failover waits');
      return;
    }
    await this.write({ ...rec, phase: 'failed', error: err.message, controller: this.o.nodeId }, kv.modRevision).catch(() => null);
    this.o.metrics?.failoverFinished('failed');
    this.o.log.error({ failover: rec.id, err: err.message }, 'failover failed; the next reconcile starts over');
  }

  private phaseDone(phase: string, fromMs: number, toMs: number): void {
    this.o.metrics?.failoverPhase(phase, Math.max(0, toMs - fromMs) / 1000);
  }
}
