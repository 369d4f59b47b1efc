// In-process fixtures for the failover unit tests: a local metadata store, local volumes, an fs
// object store with its registry, registered brokers, and a "broker WAL" that appends through a
// real LogManager (as the broker does) and can upload without trimming (a crash between the
// upload commit and the WAL trim). Everything is cleaned up, in reverse order, after the test.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { openWal, type Wal } from '@ferry/wal';
import { LocalMetadataStore } from '../../src/cluster/local-metadata-store.js';
import { MetadataKeys } from '../../src/cluster/metadata-keys.js';
import { encodeJson, type MetadataStore, type WatchEvent } from '../../src/cluster/metadata-store.js';
import { registerBroker, type BrokerRegistration } from '../../src/cluster/membership.js';
import { ObjectRegistry, type ObjectRecord } from '../../src/cluster/object-registry.js';
import { encodePartitionRecord } from '../../src/cluster/partition-records.js';
import { decodeFailover, type FailoverRecord } from '../../src/cluster/failover-records.js';
import { createLocalVolume, LocalVolumeProvider } from '../../src/failover/local-volume-provider.js';
import { claimVolume, type VolumeClaim } from '../../src/failover/volume-owner.js';
import { TakeoverWorker } from '../../src/failover/takeover-worker.js';
import { FsObjectStore } from '../../src/objects/fs-object-store.js';
import { LogManager } from '../../src/log/log-manager.js';
import { buildRecordBatch, BatchView, setBaseOffset, setPartitionLeaderEpoch, splitBatches } from '../../src/protocol/record-batch.js';
import { ObjectIndex } from '../../src/uploader/object-index.js';
import { Uploader } from '../../src/uploader/uploader.js';

export const CLUSTER = 'c1';
export const WAL_CAPACITY_BYTES = 8 << 20;
export const instanceOf = (brokerId: number) => `i-${brokerId}`;
export const volumeOf = (brokerId: number) => `wal-${brokerId}`;
/** A 16-byte topic id as 32 hex characters. */
export const topicIdOf = (n: number) => n.toString(16).padStart(2, '0').repeat(16);

type TestContext = { after(fn: () => Promise<void> | void): void };

export interface FailoverFixture {
  store: LocalMetadataStore;
  keys: MetadataKeys;
  provider: LocalVolumeProvider;
  objectStore: FsObjectStore;
  registry: ObjectRegistry;
  volumesRoot: string;
  log: Logger;
  /** Runs fn at cleanup, before everything registered earlier (the store closes last). */
  defer(fn: () => Promise<unknown> | unknown): void;
}

export async function failoverFixture(t: TestContext): Promise<FailoverFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-failover-unit-'));
  const store = await LocalMetadataStore.open(join(dir, 'meta'));
  const keys = new MetadataKeys(CLUSTER);
  const volumesRoot = join(dir, 'volumes');
  const provider = new LocalVolumeProvider({ root: volumesRoot, store, keys });
  const objectStore = new FsObjectStore({ root: join(dir, 'objects'), fsync: false });
  const registry = new ObjectRegistry(store, keys);
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  t.after(async () => {
    for (const fn of cleanups.reverse()) {
      try { await fn(); } catch { /* best effort */ }
    }
    await objectStore.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, keys, provider, objectStore, registry, volumesRoot, log: pino({ level: 'silent' }), defer: (fn) => cleanups.push(fn) };
}

/** Broker `id`'s volume in zone `rack`, tagged as Ferry's; optionally attached to its instance and claimed. */
export async function makeBrokerVolume(f: FailoverFixture, brokerId: number, rack: string | null, options: { attach?: boolean; claim?: boolean } = {}): Promise<{ volumeId: string; claim: VolumeClaim | null; walPath: string }> {
  const volumeId = volumeOf(brokerId);
  await createLocalVolume(f.volumesRoot, volumeId, { zone: rack, tags: { 'ferry:cluster': CLUSTER, 'ferry:role': 'wal', 'ferry:broker-id': String(brokerId) } });
  if (options.attach ?? true) await f.provider.attach(volumeId, instanceOf(brokerId));
  const claim = (options.claim ?? true)
    ? await claimVolume(f.store, f.keys, { volumeId, brokerId, instanceId: instanceOf(brokerId), rack, homeBrokerId: brokerId })
    : null;
  return { volumeId, claim, walPath: join(f.volumesRoot, volumeId, 'ferry.wal') };
}

/** Registers broker `id` as live (its instance and volume named as makeBrokerVolume names them). */
export async function registerLive(f: FailoverFixture, brokerId: number, rack: string | null, options: { volume?: boolean } = {}): Promise<BrokerRegistration> {
  const reg = await registerBroker(f.store, f.keys, {
    nodeId: brokerId, host: '127.0.0.1', port: 9000 + brokerId, rack,
    instanceId: instanceOf(brokerId), volumeId: (options.volume ?? true) ? volumeOf(brokerId) : null,
  }, { sessionTimeoutMs: 5000 });
  f.defer(() => reg.close());
  return reg;
}

export async function createTopic(f: FailoverFixture, topicId: string): Promise<void> {
  await f.store.put(f.keys.topicId(topicId), encodeJson({ name: `t-${topicId.slice(0, 4)}` }));
}

/** Writes partitions/<topicId>/<p>; returns its new modRevision. */
export async function setLeader(f: FailoverFixture, topicId: string, partition: number, leader: number, leaderEpoch: number): Promise<number> {
  return f.store.put(f.keys.partition(topicId, partition), encodePartitionRecord({ leader, leaderEpoch }));
}

export async function writeFailover(f: FailoverFixture, rec: FailoverRecord): Promise<number> {
  return f.store.put(f.keys.failover(rec.brokerId), encodeJson(rec));
}

export async function readFailover(f: FailoverFixture, brokerId: number): Promise<{ rec: FailoverRecord; modRevision: number } | null> {
  const kv = await f.store.get(f.keys.failover(brokerId));
  return kv ? { rec: decodeFailover(kv), modRevision: kv.modRevision } : null;
}

/** Every put of failovers/<brokerId> from now on, in order. */
export async function watchFailovers(f: FailoverFixture, brokerId: number): Promise<{ seen: FailoverRecord[]; phases: () => string[]; stop(): void }> {
  const seen: FailoverRecord[] = [];
  const key = f.keys.failover(brokerId);
  const from = (await f.store.revision()) + 1;
  const stop = f.store.watch(key, from, (e: WatchEvent) => {
    if (e.type === 'put' && e.kv.key === key) seen.push(decodeFailover(e.kv));
  });
  f.defer(stop);
  return { seen, phases: () => seen.map((r) => r.phase), stop };
}

/** A TakeoverWorker for broker `id` (the target side), closed at cleanup. */
export async function startWorker(f: FailoverFixture, brokerId: number): Promise<TakeoverWorker> {
  const w = new TakeoverWorker({
    store: f.store, keys: f.keys, provider: f.provider, objectStore: f.objectStore, registry: f.registry,
    clusterName: CLUSTER, nodeId: brokerId, instanceId: instanceOf(brokerId), streamSplitBytes: 1 << 20, log: f.log,
  });
  await w.start();
  f.defer(() => w.close());
  return w;
}

export interface AppendedBatch {
  topicId: string;
  partition: number;
  baseOffset: number;
  lastOffset: number;
  /** The batch as the log stores it (base offset and leader epoch stamped). */
  bytes: Buffer;
}

/**
 * A broker's WAL driven like the broker drives it: a LogManager appends record batches (one WAL
 * entry per append), an Uploader commits them to the registry. lockPath per instance, as the
 * local provider does, so a takeover on "another host" can open the file while this is open.
 */
export class BrokerWal {
  readonly logs: LogManager;
  readonly appended: AppendedBatch[] = [];
  private timestamp = 1_700_000_000_000;

  private constructor(readonly wal: Wal, private readonly f: FailoverFixture) {
    this.logs = new LogManager(wal);
  }

  static async open(f: FailoverFixture, walPath: string, brokerId: number, epoch: number): Promise<BrokerWal> {
    const wal = await openWal(walPath, {
      nodeId: `${CLUSTER}/broker-${brokerId}`, epoch, capacityBytes: WAL_CAPACITY_BYTES,
      lockPath: f.provider.lockPath(volumeOf(brokerId), instanceOf(brokerId)),
    });
    const records = await wal.recover();
    assert.equal(records.length, 0, 'a fresh WAL');
    const bw = new BrokerWal(wal, f);
    f.defer(() => wal.close());
    return bw;
  }

  /** Appends one batch of `count` records (idempotent when producer is given); resolves once durable. */
  async append(topicId: string, partition: number, leaderEpoch: number, count: number, producer?: { id: bigint; epoch: number; seq: number }): Promise<AppendedBatch> {
    const st = this.logs.ensure(topicId, partition, leaderEpoch);
    const ts = this.timestamp;
    this.timestamp += count;
    const raw = buildRecordBatch(
      Array.from({ length: count }, (_, i) => ({ value: Buffer.from(`${topicId.slice(0, 4)}/${partition}/${ts + i}`), timestamp: BigInt(ts + i) })),
      producer ? { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.seq } : {},
    );
    const view = new BatchView(raw);
    const out = this.logs.append(st, [{
      bytes: raw, recordsCount: count, maxTimestamp: Number(view.maxTimestamp),
      producerId: view.producerId, producerEpoch: view.producerEpoch, baseSequence: view.baseSequence,
    }], null);
    await out.done;
    const bytes = Buffer.from(raw);
    setBaseOffset(bytes, BigInt(out.baseOffset));
    setPartitionLeaderEpoch(bytes, leaderEpoch);
    const a: AppendedBatch = { topicId, partition, baseOffset: out.baseOffset, lastOffset: out.lastOffset, bytes };
    this.appended.push(a);
    return a;
  }

  /** Uploads and commits everything pending (guarded by the partition records) but never trims the WAL. */
  async uploadWithoutTrim(): Promise<void> {
    const wal = this.wal;
    const noTrim = {
      get nextOffset() { return wal.nextOffset; },
      get trimOffset() { return wal.trimOffset; },
      trim: async () => {},
    } as unknown as Wal;
    const uploader = new Uploader(this.logs, noTrim, this.f.objectStore, this.f.registry, new ObjectIndex(this.logs), {
      intervalMs: 3_600_000, pendingBytesMax: Number.MAX_SAFE_INTEGER, streamSplitBytes: 1 << 20,
      cacheMaxBytes: Number.MAX_SAFE_INTEGER, clusterName: CLUSTER,
    }, this.f.log);
    await uploader.flush('test upload before the crash');
  }
}

/** The batches the committed objects hold for one partition, read back from the object store, in offset order. */
export async function committedBatches(f: FailoverFixture, topicId: string, partition: number, objects?: ObjectRecord[]): Promise<{ blocks: { baseOffset: number; endOffset: number; objectId: string }[]; batches: Buffer[] }> {
  const all = objects ?? await f.registry.list();
  const blocks: { baseOffset: number; endOffset: number; objectId: string; key: string; position: number; size: number }[] = [];
  for (const o of all) {
    for (const b of o.blocks) {
      if (b.topicId === topicId && b.partition === partition) blocks.push({ baseOffset: b.baseOffset, endOffset: b.endOffset, objectId: o.id, key: o.key, position: b.position, size: b.size });
    }
  }
  blocks.sort((a, b) => a.baseOffset - b.baseOffset);
  const batches: Buffer[] = [];
  for (const b of blocks) {
    const data = await f.objectStore.get(b.key, { start: b.position, end: b.position + b.size });
    batches.push(...splitBatches(data));
  }
  return { blocks: blocks.map(({ baseOffset, endOffset, objectId }) => ({ baseOffset, endOffset, objectId })), batches };
}

/** A volume provider like the local one but zonal (as AWS EBS): attaches only within its zone. */
export function zonal(provider: LocalVolumeProvider): LocalVolumeProvider {
  return Object.create(provider, { crossZone: { value: false } }) as LocalVolumeProvider;
}

export const silentControllerLog = { info() {}, warn() {}, error() {} };

export function stateOf<T>(p: Promise<T>): { settled: () => boolean } {
  let settled = false;
  p.then(() => { settled = true; }, () => { settled = true; });
  return { settled: () => settled };
}

export { type MetadataStore };
