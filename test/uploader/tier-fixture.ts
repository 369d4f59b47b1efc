/**
 * The object tier's parts built as src/node/object-tier.ts builds them, without a broker: a local
 * metadata store, a real WAL file and the fs object store in a temp dir, the topic service, the
 * log manager, the object registry and index, and a block reader for reading back. No timers
 * run: tests call the jobs themselves.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openWal, type Wal } from '@ferry/wal';
import { LocalMetadataStore } from '../../src/cluster/local-metadata-store.js';
import { ObjectRegistry, type ObjectRecord, type PartitionGuard } from '../../src/cluster/object-registry.js';
import type { Compare } from '../../src/cluster/metadata-store.js';
import { wrapStore, type ClusterMetadata } from '../../src/node/cluster-metadata.js';
import { TopicService, type TopicInfo } from '../../src/topics/topic-service.js';
import { LogManager, type PartitionState } from '../../src/log/log-manager.js';
import { ReadPath } from '../../src/log/read-path.js';
import { FsObjectStore } from '../../src/objects/fs-object-store.js';
import { BlockCache, ObjectReader } from '../../src/objects/block-cache.js';
import { ObjectIndex } from '../../src/uploader/object-index.js';
import { Uploader, type UploaderOptions } from '../../src/uploader/uploader.js';
import { loadConfig } from '../../src/ops/config.js';
import { buildRecordBatch, parseBatches } from '../../src/protocol/record-batch.js';

export const CLUSTER = 'tier-test';
export const silent = pino({ level: 'silent' });

/** ObjectRegistry that records each commit and can run a hook right before one goes to the store. */
export class RecordingRegistry extends ObjectRegistry {
  readonly commits: Array<{ add: ObjectRecord[]; remove: ObjectRecord[]; succeeded: boolean }> = [];
  beforeCommit: ((n: number) => Promise<void>) | null = null;
  override async commit(change: { add: ObjectRecord[]; remove?: ObjectRecord[]; guards: PartitionGuard[]; producerSnapshots?: { topicId: string; partition: number; value: Buffer }[]; compares?: Compare[] }): Promise<boolean> {
    await this.beforeCommit?.(this.commits.length);
    const succeeded = await super.commit(change);
    this.commits.push({ add: change.add, remove: change.remove ?? [], succeeded });
    return succeeded;
  }
}

export interface Tier {
  dir: string;
  meta: ClusterMetadata;
  topics: TopicService;
  wal: Wal;
  logs: LogManager;
  store: FsObjectStore;
  registry: RecordingRegistry;
  index: ObjectIndex;
  reads: ReadPath;
  uploader(options?: Partial<UploaderOptions>): Uploader;
  /** Append one batch of `count` records of `valueBytes` at timestamp `ts`; resolves once durable, with the batch as stored. */
  produce(topic: TopicInfo, partition: number, count: number, opts?: { valueBytes?: number; ts?: number }): Promise<Buffer>;
  partition(topic: TopicInfo, p?: number): PartitionState;
  /** Bump a partition's metadata record (what a leadership change does): its guard no longer holds. */
  bumpPartitionRecord(topic: TopicInfo, p: number): Promise<void>;
  /** Keys under the cluster's object prefix in the store. */
  storedKeys(): Promise<string[]>;
}

export async function openTier(t: { after(fn: () => Promise<void>): void }, opts: { registryNow?: () => number } = {}): Promise<Tier> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-tier-'));
  const metaStore = await LocalMetadataStore.open(join(dir, 'meta'));
  const meta = await wrapStore(metaStore, { clusterName: CLUSTER, nodeId: 1 }, silent);
  const config = loadConfig({ argv: [], env: {}, cwd: '/' });
  const topics = await TopicService.load(meta, { numPartitions: 1, config }, silent);
  const wal = await openWal(join(dir, 'wal'), { nodeId: 'test', epoch: 1, capacityBytes: 8 << 20 });
  await wal.recover();
  const logs = new LogManager(wal);
  await topics.attachLogs(logs);
  const store = new FsObjectStore({ root: join(dir, 'objects'), fsync: false });
  const registry = new RecordingRegistry(meta.store, meta.keys, opts.registryNow);
  const index = new ObjectIndex(logs);
  const objectReader = new ObjectReader(store, new BlockCache({ maxBytes: 16 << 20 }));
  const reads = new ReadPath({
    readBlocks: (refs) => objectReader.readRefs(refs),
    readPartition: async (blocks, offset, maxBytes) => (await objectReader.readPartition(blocks, offset, maxBytes)).blocks,
  });
  const uploaders: Uploader[] = [];
  t.after(async () => {
    for (const u of uploaders) await u.stop().catch(() => {});
    await wal.close().catch(() => {});
    await metaStore.close();
    await rm(dir, { recursive: true, force: true });
  });
  const tier: Tier = {
    dir, meta, topics, wal, logs, store, registry, index, reads,
    uploader(options = {}) {
      const u = new Uploader(logs, wal, store, registry, index, {
        intervalMs: 3_600_000, retryBackoffMs: 3_600_000, pendingBytesMax: 1 << 20, streamSplitBytes: 1 << 20,
        cacheMaxBytes: 1 << 30, clusterName: CLUSTER, ...options,
      }, silent);
      uploaders.push(u);
      return u;
    },
    async produce(topic, partition, count, o = {}) {
      const ts = o.ts ?? 1_000_000;
      const bytes = buildRecordBatch(Array.from({ length: count }, (_, i) => ({ value: Buffer.alloc(o.valueBytes ?? 100, i & 0xff), timestamp: BigInt(ts) })));
      const parsed = parseBatches(bytes, { batchBytesMax: 1 << 20 });
      if (!Array.isArray(parsed)) throw new Error(parsed.message);
      const v = parsed[0]!;
      const st = tier.partition(topic, partition);
      const outcome = logs.append(st, [{ bytes: v.bytes, recordsCount: v.recordsCount, maxTimestamp: Number(v.maxTimestamp), producerId: v.producerId, producerEpoch: v.producerEpoch, baseSequence: v.baseSequence }], null);
      await outcome.done;
      // The batch as stored (offset and leader epoch stamped), copied: the cache may drop it later.
      const stored = st.log.batchesFrom(outcome.baseOffset).next();
      if (stored.done || stored.value.baseOffset !== outcome.baseOffset) throw new Error('the appended batch is not in the cache');
      return Buffer.from(stored.value.bytes);
    },
    partition(topic, p = 0) {
      const st = logs.get(topic.topicId, p);
      if (!st) throw new Error(`no partition ${topic.name}/${p}`);
      return st;
    },
    async bumpPartitionRecord(topic, p) {
      const key = meta.keys.partition(topic.topicId, p);
      const kv = await meta.store.get(key);
      if (!kv) throw new Error(`no partition record ${key}`);
      await meta.store.put(key, kv.value);
    },
    async storedKeys() {
      const keys: string[] = [];
      for await (const info of store.list(`${CLUSTER}/`)) keys.push(info.key);
      return keys;
    },
  };
  return tier;
}
