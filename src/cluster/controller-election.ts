// Controller election on any MetadataStore (etcd or the local single-node one): the `controller`
// key, created if absent and bound to the candidate's own lease. Whoever created it is the
// controller until its lease is lost (expired, revoked, store closed) or the key is deleted.
//
//   controller   {"nodeId": n, "incarnation": "<hex>"}
//
// Fencing token: the key's createRevision. Every controller write includes the compare
// `controller.createRevision == token` (tokenCompare()), so a controller that was paused past its
// lease and has not noticed yet cannot change anything: its successor's key has another
// createRevision. Losers watch the key (and poll, in case the watch is down) and campaign again
// as soon as it is gone: takeover takes at most the lease TTL plus one round trip.
//
// API: new ControllerElection(store, keys, { nodeId, sessionTimeoutMs?, pollIntervalMs?, log? })
//   start(); close() (resigns: revokes the lease, deletes the key)
//   isLeader, token (createRevision while leader, else 0), tokenCompare() -> Compare
//   onElected(fn(token)), onResigned(fn()) -> unsubscribe
//   readController(store, keys) -> { nodeId, createRevision } | null

import { randomBytes } from 'node:crypto';
import { decodeJson, encodeJson, type Compare, type Lease, type MetadataStore } from './metadata-store.js';
import type { MetadataKeys } from './metadata-keys.js';
import { silentLog, type ClusterLog } from './membership.js';

export interface ElectionOptions {
  nodeId: number;
  /** Lease TTL of the controller key. Default 6000 (broker.session.timeout.ms). */
  sessionTimeoutMs?: number;
  /** A candidate also re-checks the key this often (the watch is the fast path). Default ttl/3. */
  pollIntervalMs?: number;
  log?: ClusterLog;
}

export async function readController(store: MetadataStore, keys: MetadataKeys): Promise<{ nodeId: number; createRevision: number } | null> {
  const kv = await store.get(keys.controller());
  if (!kv) return null;
  return { nodeId: decodeJson<{ nodeId: number }>(kv.value, kv.key).nodeId, createRevision: kv.createRevision };
}

export class ControllerElection {
  private readonly ttlMs: number;
  private readonly pollIntervalMs: number;
  private readonly log: ClusterLog;
  private readonly key: string;
  private readonly incarnation = randomBytes(8).toString('hex');
  private lease: Lease | null = null;
  private leaderToken = 0;
  private closed = false;
  private started = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private cancelWatch: (() => void) | null = null;
  private readonly elected = new Set<(token: number) => void>();
  private readonly resigned = new Set<() => void>();

  constructor(private readonly store: MetadataStore, private readonly keys: MetadataKeys, options: ElectionOptions) {
    this.nodeId = options.nodeId;
    this.ttlMs = options.sessionTimeoutMs ?? 6000;
    this.pollIntervalMs = options.pollIntervalMs ?? Math.max(100, Math.floor(this.ttlMs / 3));
    this.log = options.log ?? silentLog;
    this.key = keys.controller();
  }

  readonly nodeId: number;
  get isLeader(): boolean { return this.leaderToken !== 0 && this.lease !== null && !this.lease.isLost; }
  /** The createRevision of our controller key while leader; 0 otherwise. */
  get token(): number { return this.isLeader ? this.leaderToken : 0; }

  /** The compare every controller transaction carries: our key still stands. */
  tokenCompare(): Compare {
    return { key: this.key, target: 'createRevision', op: '==', value: this.leaderToken === 0 ? -1 : this.leaderToken };
  }

  onElected(fn: (token: number) => void): () => void { this.elected.add(fn); return () => { this.elected.delete(fn); }; }
  onResigned(fn: () => void): () => void { this.resigned.add(fn); return () => { this.resigned.delete(fn); }; }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.loop = this.campaign();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelWatch?.();
    this.wake?.();
    const wasLeader = this.leaderToken !== 0;
    const lease = this.lease;
    this.lease = null;
    // Revoking deletes the key at once: the next controller need not wait for the TTL.
    await lease?.revoke().catch((err) => this.log.warn({ err }, 'controller lease revoke failed; the key expires with its TTL'));
    if (wasLeader) this.resign('closed');
    await this.loop;
  }

  private async campaign(): Promise<void> {
    let delayMs = 50;
    while (!this.closed) {
      try {
        if (this.lease === null || this.lease.isLost) {
          const lease = await this.store.grantLease(this.ttlMs);
          if (this.closed) { await lease.revoke().catch(() => undefined); return; }
          this.lease = lease;
          lease.onLost((reason) => {
            if (this.lease !== lease) return;
            if (this.leaderToken !== 0) this.resign(`lease ${reason}`);
            this.wake?.();
          });
        }
        const lease = this.lease;
        const r = await this.store.txn(
          [{ key: this.key, target: 'createRevision', op: '==', value: 0 }],
          [{ type: 'put', key: this.key, value: encodeJson({ nodeId: this.nodeId, incarnation: this.incarnation }), leaseId: lease.id }],
        );
        let token = 0;
        const kv = await this.store.get(this.key);
        if (kv && kv.leaseId === lease.id) token = kv.createRevision; // ours (also after an answer lost in flight)
        else if (r.succeeded) token = r.revision; // ours, and already gone again: resigned below at once
        delayMs = 50;
        if (token !== 0 && !lease.isLost && !this.closed) {
          this.leaderToken = token;
          this.log.info({ nodeId: this.nodeId, token }, 'elected controller');
          for (const fn of this.elected) fn(token);
          await this.holdUntilLost(token);
        } else {
          await this.waitForVacancy();
        }
      } catch (err) {
        if (this.closed) return;
        this.log.debug({ err, nodeId: this.nodeId }, 'controller campaign step failed; retrying');
        await this.sleep(delayMs);
        delayMs = Math.min(1000, delayMs * 2);
      }
    }
  }

  /** Leader: until the lease is lost or the key is gone or replaced. */
  private async holdUntilLost(token: number): Promise<void> {
    while (!this.closed && this.leaderToken === token) {
      const kv = await this.store.get(this.key).catch(() => undefined);
      if (kv === null || (kv !== undefined && kv.createRevision !== token)) {
        this.resign('controller key gone');
        return;
      }
      if (this.lease === null || this.lease.isLost) {
        if (this.leaderToken === token) this.resign('lease lost');
        return;
      }
      await this.watchOnce();
    }
  }

  /** Candidate: until the key is gone (watch, or the poll interval). */
  private async waitForVacancy(): Promise<void> {
    await this.watchOnce();
  }

  /** Waits for a change of the key (delete or put), the poll interval, or a wake-up. */
  private watchOnce(): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        cancel();
        if (this.wake === finish) this.wake = null;
        resolve();
      };
      const timer = setTimeout(finish, this.pollIntervalMs);
      let cancel: () => void = () => undefined;
      try {
        cancel = this.store.watch(this.key, 0, (e) => { if (e.kv.key === this.key) finish(); }, () => undefined);
      } catch { /* poll only */ }
      this.cancelWatch = () => finish();
      this.wake = finish;
    });
  }

  private resign(why: string): void {
    if (this.leaderToken === 0) return;
    this.leaderToken = 0;
    this.log.info({ nodeId: this.nodeId, why }, 'no longer controller');
    for (const fn of this.resigned) fn();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = null; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = null; resolve(); };
    });
  }
}
