// Broker membership (DESIGN §5, issue 5): each running broker keeps `brokers/<nodeId>` alive,
// bound to a lease of `broker.session.timeout.ms`. The key's existence is the definition of
// "live broker": the controller moves partitions away from brokers whose key is gone.
//
//   brokers/<nodeId>   {"host","port","rack","instanceId","volumeId","incarnation","draining"}
//
// Registration is create-if-absent: a key left by an earlier process with the same id (crashed,
// or paused and about to lose its lease) is waited out, never overwritten, so two processes can
// never both count as broker <id>. After a lost lease (etcd unreachable longer than the TTL, or
// the process was paused), a still-running broker registers again under a new lease; every new
// lease bumps `generation`, which the LeadershipView uses to resynchronise before the broker
// acknowledges anything again.
//
// Write fencing: `safeToAcknowledge()` is true only while the lease is alive with a margin, judged
// by the lease's own conservative clock (etcd-lease.ts: validity counts from when a renewal was
// SENT). A broker that checks it just before answering a produce request therefore stops
// acknowledging before etcd can expire the lease and the controller can hand its partitions to
// someone else.
//
// API:
//   registerBroker(store, keys, info, options?) -> Promise<BrokerRegistration>
//   registration.generation / isAlive() / remainingMs() / safeToAcknowledge()
//   registration.onLost(fn(reason)) / onRegistered(fn(generation))   (each returns an unsubscribe)
//   registration.setDraining(bool)   controlled shutdown: the controller moves everything away
//   registration.close()             revoke the lease: clean deregistration
//   watchBrokers(store, keys, onChange) -> BrokerWatch (ready, current(), get(id), stop())
//   readBrokers(store, keys) -> LiveBroker[];  BrokerIdInUseError

import { randomBytes } from 'node:crypto';
import {
  decodeJson, encodeJson, isRetriableMetadataError, MetadataStoreError, type KeyValue, type Lease, type LeaseLossReason,
  type MetadataStore, type WatchEvent,
} from './metadata-store.js';
import type { MetadataKeys } from './metadata-keys.js';

/** What a broker advertises about itself. */
export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  /** Rack / availability zone (broker.rack); null when unset. */
  rack: string | null;
  /** Cloud instance id (for the remount controller); null when unknown. */
  instanceId: string | null;
  /** The WAL volume this broker writes (failover moves it); null when unknown. */
  volumeId: string | null;
  /** Advertised address of each listener by name (host/port are the first one's); absent on old records. */
  listeners?: Record<string, { host: string; port: number }>;
}

/** A registered broker as read from the store. */
export interface LiveBroker extends BrokerInfo {
  /** Random per registration: tells two processes with the same node id apart. */
  incarnation: string;
  /** Controlled shutdown in progress: the controller gives this broker no partitions and moves its own away. */
  draining: boolean;
  leaseId: string | null;
  createRevision: number;
  modRevision: number;
}

/** Minimal pino-compatible logger. */
export interface ClusterLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export const silentLog: ClusterLog = { debug() {}, info() {}, warn() {} };

export class BrokerIdInUseError extends Error {
  readonly code = 'BROKER_ID_IN_USE';
  constructor(readonly nodeId: number, holder: string) {
    super(`broker id ${nodeId} is registered by another process (${holder}) that did not go away in time`);
    this.name = 'BrokerIdInUseError';
  }
}

export interface RegisterOptions {
  /** broker.session.timeout.ms: the lease TTL (etcd rounds it up to whole seconds). Default 6000. */
  sessionTimeoutMs?: number;
  /** safeToAcknowledge() turns false this long before the lease could expire. Default max(250, ttl/4). */
  ackMarginMs?: number;
  /** How long the first registration waits for a previous holder of the id to go. Default ttl + 2000. */
  registerTimeoutMs?: number;
  log?: ClusterLog;
}

interface StoredBroker {
  host: string; port: number; rack: string | null; instanceId: string | null; volumeId: string | null;
  incarnation: string; draining?: boolean; listeners?: Record<string, { host: string; port: number }>;
}

export function decodeBroker(kv: KeyValue, keys: MetadataKeys): LiveBroker | null {
  const id = kv.key.slice(keys.brokersPrefix().length);
  if (!/^(0|[1-9][0-9]{0,9})$/.test(id)) return null;
  const s = decodeJson<StoredBroker>(kv.value, kv.key);
  return {
    nodeId: Number(id), host: s.host, port: s.port, rack: s.rack ?? null, instanceId: s.instanceId ?? null,
    volumeId: s.volumeId ?? null, incarnation: s.incarnation, draining: s.draining === true,
    ...(s.listeners ? { listeners: s.listeners } : {}),
    leaseId: kv.leaseId ?? null, createRevision: kv.createRevision, modRevision: kv.modRevision,
  };
}

function encodeBroker(info: BrokerInfo, incarnation: string, draining: boolean): Buffer {
  const s: StoredBroker = {
    host: info.host, port: info.port, rack: info.rack, instanceId: info.instanceId, volumeId: info.volumeId, incarnation,
    ...(draining ? { draining: true } : {}), ...(info.listeners ? { listeners: info.listeners } : {}),
  };
  return encodeJson(s);
}

export async function readBrokers(store: MetadataStore, keys: MetadataKeys): Promise<LiveBroker[]> {
  const kvs = await store.list(keys.brokersPrefix());
  return kvs.map((kv) => decodeBroker(kv, keys)).filter((b): b is LiveBroker => b !== null).sort((a, b) => a.nodeId - b.nodeId);
}

export async function registerBroker(store: MetadataStore, keys: MetadataKeys, info: BrokerInfo, options: RegisterOptions = {}): Promise<BrokerRegistration> {
  if (!Number.isSafeInteger(info.nodeId) || info.nodeId < 0) throw new RangeError(`node id ${info.nodeId} must be a non-negative integer`);
  if (!Number.isInteger(info.port) || info.port < 1 || info.port > 65535) throw new RangeError(`port ${info.port} is not a TCP port`);
  const reg = new BrokerRegistration(store, keys, info, options);
  await reg.registerFirst();
  return reg;
}

export class BrokerRegistration {
  readonly sessionTimeoutMs: number;
  readonly ackMarginMs: number;
  /** Random per process: stored in the record. */
  readonly incarnation = randomBytes(8).toString('hex');
  /** 1 after the first registration; +1 for every later one (after a lost lease). */
  generation = 0;
  /** The lease brokers/<id> is bound to (the current registration). */
  private lease: Lease | null = null;
  /** A lease granted for a registration attempt not yet written. */
  private candidate: Lease | null = null;
  private draining = false;
  private closed = false;
  private reregistering: Promise<void> | null = null;
  private readonly lostListeners = new Set<(reason: LeaseLossReason) => void>();
  private readonly registeredListeners = new Set<(generation: number) => void>();
  private readonly key: string;
  private readonly registerTimeoutMs: number;
  private readonly log: ClusterLog;

  constructor(private readonly store: MetadataStore, private readonly keys: MetadataKeys, readonly info: Readonly<BrokerInfo>, options: RegisterOptions) {
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 6000;
    if (!Number.isSafeInteger(this.sessionTimeoutMs) || this.sessionTimeoutMs < 1000) throw new RangeError(`sessionTimeoutMs ${this.sessionTimeoutMs} must be an integer >= 1000`);
    this.ackMarginMs = options.ackMarginMs ?? Math.max(250, Math.floor(this.sessionTimeoutMs / 4));
    if (this.ackMarginMs >= this.sessionTimeoutMs) throw new RangeError(`ackMarginMs ${this.ackMarginMs} must be below sessionTimeoutMs ${this.sessionTimeoutMs}`);
    this.registerTimeoutMs = options.registerTimeoutMs ?? this.sessionTimeoutMs + 2000;
    this.key = keys.broker(info.nodeId);
    this.log = options.log ?? silentLog;
  }

  get nodeId(): number { return this.info.nodeId; }
  /** The current lease id (null while re-registering or after close). */
  get leaseId(): string | null { return this.lease && !this.lease.isLost ? this.lease.id : null; }
  get isDraining(): boolean { return this.draining; }

  isAlive(): boolean {
    return !this.closed && this.lease !== null && !this.lease.isLost;
  }

  /** Milliseconds until etcd could expire the lease (0 when lost). The local backend reports the TTL while alive. */
  remainingMs(): number {
    const lease = this.lease;
    if (this.closed || lease === null || lease.isLost) return 0;
    const r = (lease as Lease & { remainingMs?: number }).remainingMs;
    return typeof r === 'number' ? r : lease.ttlMs;
  }

  /** Check right before acknowledging a write: the lease is alive with ackMarginMs to spare. */
  safeToAcknowledge(): boolean {
    return this.remainingMs() > this.ackMarginMs;
  }

  onLost(listener: (reason: LeaseLossReason) => void): () => void {
    this.lostListeners.add(listener);
    return () => { this.lostListeners.delete(listener); };
  }

  /** Called after every registration after the first (a new lease; generation passed). */
  onRegistered(listener: (generation: number) => void): () => void {
    this.registeredListeners.add(listener);
    return () => { this.registeredListeners.delete(listener); };
  }

  /** Sets or clears the draining flag in the record (same lease). */
  async setDraining(draining: boolean): Promise<void> {
    this.draining = draining;
    for (let attempt = 0; attempt < 20; attempt++) {
      const lease = this.lease;
      if (this.closed) throw new MetadataStoreError('BROKER_DEREGISTERED', `broker ${this.nodeId} is deregistered`);
      if (lease === null || lease.isLost) {
        await (this.reregistering ?? sleep(50)); // the new registration writes the flag
        continue;
      }
      const kv = await this.store.get(this.key);
      if (kv === null || kv.leaseId !== lease.id) { await sleep(50); continue; }
      const r = await this.store.txn(
        [{ key: this.key, target: 'modRevision', op: '==', value: kv.modRevision }],
        [{ type: 'put', key: this.key, value: encodeBroker(this.info, this.incarnation, draining), leaseId: lease.id }],
      );
      if (r.succeeded) return;
    }
    throw new MetadataStoreError('BROKER_RECORD_CONFLICT', `could not update brokers/${this.nodeId}: kept changing`);
  }

  /** Deregisters: revokes the lease, which deletes brokers/<id> at once. Best effort when etcd is down (the TTL then expires it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const lease = this.lease;
    const candidate = this.candidate;
    this.lease = null;
    this.candidate = null;
    await candidate?.revoke().catch(() => undefined);
    try {
      await lease?.revoke();
    } catch (err) {
      this.log.warn({ err, nodeId: this.nodeId }, 'could not revoke the broker lease; the registration expires with its TTL');
    }
  }

  /** @internal First registration: waits out an earlier holder of the id. */
  async registerFirst(): Promise<void> {
    const deadline = Date.now() + this.registerTimeoutMs;
    for (;;) {
      const done = await this.tryRegister();
      if (done) return;
      if (Date.now() > deadline) {
        const kv = await this.store.get(this.key);
        throw new BrokerIdInUseError(this.nodeId, kv ? kv.value.toString('utf8').slice(0, 200) : 'gone now');
      }
      await sleep(Math.min(200, this.sessionTimeoutMs / 10));
    }
  }

  /** One attempt: a lease (reused if still good) and create-if-absent. False when another process holds the id. */
  private async tryRegister(): Promise<boolean> {
    if (this.closed) return true;
    // A new lease is only a candidate until the record is written with it: safeToAcknowledge must
    // not turn true on a lease no registration stands on (the view has not resynchronised yet).
    let lease = this.candidate;
    if (lease === null || lease.isLost) {
      lease = await this.store.grantLease(this.sessionTimeoutMs);
      if (this.closed) { await lease.revoke().catch(() => undefined); return true; }
      this.candidate = lease;
    }
    const value = encodeBroker(this.info, this.incarnation, this.draining);
    const r = await this.store.txn(
      [{ key: this.key, target: 'createRevision', op: '==', value: 0 }],
      [{ type: 'put', key: this.key, value, leaseId: lease.id }],
    );
    if (!r.succeeded) {
      const kv = await this.store.get(this.key);
      // Ours already (an earlier attempt whose answer was lost): fine as long as it is on this lease.
      if (!(kv && kv.leaseId === lease.id && decodeJson<StoredBroker>(kv.value, kv.key).incarnation === this.incarnation)) return false;
    }
    // Together, synchronously: a reader sees the new lease only with the new generation.
    this.candidate = null;
    this.lease = lease;
    this.generation++;
    const current = lease;
    lease.onLost((reason) => this.leaseLost(current, reason));
    this.log.info({ nodeId: this.nodeId, leaseId: lease.id, generation: this.generation }, 'broker registered');
    return true;
  }

  private leaseLost(lease: Lease, reason: LeaseLossReason): void {
    if (this.lease !== lease) return;
    if (!this.closed) this.log.warn({ nodeId: this.nodeId, reason }, 'broker lease lost: not acknowledging writes; registering again');
    for (const l of this.lostListeners) l(reason);
    if (this.closed || reason === 'revoked' || reason === 'closed') return;
    this.reregistering ??= this.reregister().finally(() => { this.reregistering = null; });
  }

  private async reregister(): Promise<void> {
    let delayMs = 50;
    while (!this.closed) {
      try {
        if (await this.tryRegister()) {
          if (!this.closed) for (const l of this.registeredListeners) l(this.generation);
          return;
        }
      } catch (err) {
        // Retriable (etcd unreachable) or not, a running broker keeps trying: it serves nothing meanwhile.
        (isRetriableMetadataError(err) ? this.log.debug : this.log.warn).call(this.log, { err, nodeId: this.nodeId }, 'registration attempt failed');
      }
      await sleep(delayMs);
      delayMs = Math.min(1000, delayMs * 2);
    }
  }
}

export interface BrokerWatch {
  /** Resolves once the first listing is in. */
  readonly ready: Promise<void>;
  /** Live brokers sorted by id. */
  current(): LiveBroker[];
  get(nodeId: number): LiveBroker | undefined;
  stop(): void;
}

/**
 * Follows brokers/: calls onChange(brokers) after the first listing and after every change. A
 * failed watch (compacted history, lost connection that cannot resume) relists and carries on.
 */
export function watchBrokers(store: MetadataStore, keys: MetadataKeys, onChange: (brokers: LiveBroker[]) => void, log: ClusterLog = silentLog): BrokerWatch {
  const byId = new Map<number, LiveBroker>();
  let cancel: (() => void) | null = null;
  let stopped = false;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => { resolveReady = r; });
  const current = (): LiveBroker[] => [...byId.values()].sort((a, b) => a.nodeId - b.nodeId);

  const start = async (): Promise<void> => {
    let delayMs = 50;
    while (!stopped) {
      try {
        const { kvs, revision } = await store.listWithRevision(keys.brokersPrefix());
        if (stopped) return;
        byId.clear();
        for (const kv of kvs) { const b = decodeBroker(kv, keys); if (b) byId.set(b.nodeId, b); }
        cancel = store.watch(keys.brokersPrefix(), revision + 1, (e: WatchEvent) => {
          const id = Number(e.kv.key.slice(keys.brokersPrefix().length));
          if (e.type === 'delete') byId.delete(id);
          else { const b = decodeBroker(e.kv, keys); if (b) byId.set(b.nodeId, b); }
          onChange(current());
        }, (err) => {
          log.warn({ err }, 'broker watch failed; relisting');
          cancel = null;
          if (!stopped) void start();
        });
        onChange(current());
        resolveReady();
        return;
      } catch (err) {
        if (stopped) return;
        log.debug({ err }, 'listing brokers failed; retrying');
        await sleep(delayMs);
        delayMs = Math.min(1000, delayMs * 2);
      }
    }
  };
  void start();
  return {
    ready,
    current,
    get: (id) => byId.get(id),
    stop() { stopped = true; cancel?.(); cancel = null; resolveReady(); },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
