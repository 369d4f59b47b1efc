// The target side of a failover, in every broker of a cluster with volumes: follows failovers/
// and, when a record in phase "replaying" names this broker as its target, takes the WAL over
// (wal-takeover.ts) and reports "releasing" (or "failed"). One takeover at a time per broker.
//
// API: new TakeoverWorker(options); start(); close(); busy

import type { Logger } from 'pino';
import { decodeFailover, type FailoverRecord } from '../cluster/failover-records.js';
import { encodeJson, type MetadataStore } from '../cluster/metadata-store.js';
import type { MetadataKeys } from '../cluster/metadata-keys.js';
import type { ObjectRegistry } from '../cluster/object-registry.js';
import type { ObjectStore } from '../objects/object-store.js';
import { LocalVolumeProvider } from './local-volume-provider.js';
import type { VolumeProvider } from './volume-provider.js';
import { takeOverWal } from './wal-takeover.js';

export interface TakeoverWorkerOptions {
  store: MetadataStore;
  keys: MetadataKeys;
  provider: VolumeProvider;
  objectStore: ObjectStore;
  registry: ObjectRegistry;
  clusterName: string;
  nodeId: number;
  instanceId: string;
  streamSplitBytes: number;
  log: Logger;
  /** Volumes attached here (own + takeovers), for metrics. */
  onTakeover?: (event: 'start' | 'end', ok: boolean) => void;
}

export class TakeoverWorker {
  private readonly done = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private cancelWatch: (() => void) | null = null;
  private closed = false;
  busy = false;

  constructor(private readonly o: TakeoverWorkerOptions) {}

  async start(): Promise<void> {
    const { kvs, revision } = await this.o.store.listWithRevision(this.o.keys.failoversPrefix());
    for (const kv of kvs) this.consider(decodeFailover(kv), kv.modRevision);
    this.watch(revision + 1);
  }

  private watch(from: number): void {
    if (this.closed) return;
    this.cancelWatch = this.o.store.watch(this.o.keys.failoversPrefix(), from, (e) => {
      if (e.type === 'put') this.consider(decodeFailover(e.kv), e.kv.modRevision);
    }, (err) => {
      this.o.log.warn({ err }, 'failover watch lost; re-listing');
      setTimeout(() => { void this.relist(); }, 500).unref();
    });
  }

  private async relist(): Promise<void> {
    if (this.closed) return;
    try {
      const { kvs, revision } = await this.o.store.listWithRevision(this.o.keys.failoversPrefix());
      for (const kv of kvs) this.consider(decodeFailover(kv), kv.modRevision);
      this.watch(revision + 1);
    } catch (err) {
      this.o.log.warn({ err }, 'failover re-list failed; retrying');
      setTimeout(() => { void this.relist(); }, 1000).unref();
    }
  }

  private consider(rec: FailoverRecord, rev: number): void {
    if (this.closed || rec.phase !== 'replaying' || rec.target !== this.o.nodeId || this.done.has(rec.id)) return;
    this.done.add(rec.id);
    this.queue = this.queue.then(() => this.run(rec, rev));
  }

  private async run(rec: FailoverRecord, rev: number): Promise<void> {
    if (this.closed) return;
    const log = this.o.log.child({ failover: rec.id, volumeId: rec.volumeId, deadBrokerId: rec.brokerId });
    this.busy = true;
    this.o.onTakeover?.('start', true);
    let fenced: number | undefined;
    let ok = false;
    try {
      const walPath = await this.o.provider.devicePath(rec.volumeId, this.o.instanceId);
      log.info({ walPath }, 'taking over a dead broker\'s WAL');
      const stats = await takeOverWal({
        store: this.o.store, keys: this.o.keys, objectStore: this.o.objectStore, registry: this.o.registry,
        clusterName: this.o.clusterName, volumeId: rec.volumeId, deadBrokerId: rec.brokerId, ownerRevision: rec.ownerRevision,
        self: { brokerId: this.o.nodeId, instanceId: this.o.instanceId }, walPath,
        lockPath: this.o.provider instanceof LocalVolumeProvider ? this.o.provider.lockPath(rec.volumeId, this.o.instanceId) : undefined,
        streamSplitBytes: this.o.streamSplitBytes, log, onFenced: () => { fenced = Date.now(); },
      });
      ok = await this.report(rec, rev, { ...rec, phase: 'releasing', replay: stats, times: { ...rec.times, fenced, replayed: Date.now() } });
      if (!ok) log.warn('the failover record changed while replaying (a controller gave up on it); the replay stands, the controller decides again');
    } catch (err) {
      log.error({ err }, 'WAL takeover failed');
      await this.report(rec, rev, { ...rec, phase: 'failed', error: `takeover by broker ${this.o.nodeId}: ${(err as Error).message}`, times: { ...rec.times, ...(fenced ? { fenced } : {}) } });
    } finally {
      this.busy = false;
      this.o.onTakeover?.('end', ok);
    }
  }

  /** Write the outcome if the record is still the one we acted on. */
  private async report(rec: FailoverRecord, rev: number, next: FailoverRecord): Promise<boolean> {
    const key = this.o.keys.failover(rec.brokerId);
    try {
      const r = await this.o.store.txn([{ key, target: 'modRevision', op: '==', value: rev }], [{ type: 'put', key, value: encodeJson(next) }]);
      return r.succeeded;
    } catch (err) {
      this.o.log.warn({ err, failover: rec.id }, 'could not record the takeover outcome');
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelWatch?.();
    await this.queue.catch(() => {});
  }
}
