/**
 * The S3 tier of one broker: the object store backend named by the config, the object index
 * loaded from metadata, the block reader for the read path, and the background jobs (uploader,
 * compaction, retention, object GC) with their timers. Started after WAL recovery, stopped
 * before the WAL closes (the final upload empties the WAL into the object store).
 */
import type { Logger } from 'pino';
import type { Wal } from '@ferry/wal';
import type { BrokerConfig } from '../ops/config.js';
import type { LogManager } from '../log/log-manager.js';
import type { BlockReader } from '../log/read-path.js';
import type { ObjectStore } from '../objects/object-store.js';
import { FsObjectStore } from '../objects/fs-object-store.js';
import { S3ObjectStore } from '../objects/s3-object-store.js';
import { BlockCache, ObjectReader } from '../objects/block-cache.js';
import { objectKeyPrefix, objectIdOfKey } from '../objects/object-format.js';
import { ObjectRegistry } from '../cluster/object-registry.js';
import { decodeJson } from '../cluster/metadata-store.js';
import type { ProducerSnapshot } from '../log/producer-state.js';
import type { ClusterMetadata } from './cluster-metadata.js';
import type { TopicService } from '../topics/topic-service.js';
import { ObjectIndex, partitionBlocks } from '../uploader/object-index.js';
import type { ObjectBlockRef } from '../log/partition-log.js';
import { Uploader } from '../uploader/uploader.js';
import { Compactor, DEFAULT_COMPACTOR_SIZES } from '../uploader/compactor.js';
import { Retention } from '../uploader/retention.js';
import { ObjectGc } from '../uploader/object-gc.js';
import type { BrokerMetrics } from '../ops/metrics.js';
import { InstrumentedObjectStore } from '../objects/instrumented-object-store.js';
import { Turns } from '../common/turns.js';
import { LogCleaner } from '../cleaner/log-cleaner.js';
import { CleanerThread } from '../cleaner/cleaner-thread.js';

/** Decompressed bytes one batch may have in the cleaner (a zip bomb guard; a larger batch makes its partition uncleanable). */
const CLEANER_BATCH_BYTES_MIN = 64 * 1024 * 1024;

export async function createObjectStore(config: BrokerConfig, log: Logger): Promise<ObjectStore> {
  if (config.objectStore === 'azure-blob') {
    if (!config.azureBlobContainer) throw new Error('config azure.blob.container: required when object.store=azure-blob');
    if (!config.azureBlobAccount && !config.azureBlobEndpoint) throw new Error('config azure.blob.account: required when object.store=azure-blob (or azure.blob.endpoint)');
    const { createAzureBlobObjectStore } = await import('../objects/azure-blob-object-store.js');
    return createAzureBlobObjectStore({
      container: config.azureBlobContainer, account: config.azureBlobAccount ?? undefined,
      endpoint: config.azureBlobEndpoint ?? undefined, prefix: config.azureBlobPrefix ?? undefined,
    });
  }
  if (config.objectStore === 's3') {
    if (!config.s3Bucket) throw new Error('config s3.bucket: required when object.store=s3');
    return new S3ObjectStore({
      bucket: config.s3Bucket, prefix: config.s3Prefix ?? '', region: config.s3Region,
      endpoint: config.s3Endpoint ?? undefined, forcePathStyle: config.s3ForcePathStyle,
      credentials: config.s3AccessKeyId && config.s3SecretAccessKey ? { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey } : undefined,
      log: log.child({ component: 's3' }),
    });
  }
  return new FsObjectStore({ root: config.objectStorePath });
}

/** Periodic job that never overlaps itself and logs failures instead of crashing. */
class Periodic {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  constructor(readonly name: string, private readonly intervalMs: number, private readonly job: () => Promise<unknown>, private readonly log: Logger) {}
  start(): void {
    this.timer = setInterval(() => { void this.runNow(); }, this.intervalMs);
    this.timer.unref();
  }
  runNow(): Promise<unknown> {
    this.running ??= this.job().catch((err) => this.log.warn({ err, job: this.name }, 'background job failed; retrying next interval')).finally(() => { this.running = null; });
    return this.running;
  }
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}

export class ObjectTier {
  readonly reader: BlockReader;
  /** Block cache and readahead (its stats feed metrics). */
  readonly objectReader: ObjectReader;
  readonly index: ObjectIndex;
  readonly uploader: Uploader;
  readonly compactor: Compactor;
  readonly retention: Retention;
  readonly gc: ObjectGc;
  /** Null when log.cleaner.enable is false. */
  readonly cleaner: LogCleaner | null;
  private readonly cleanerThread: CleanerThread | null;
  private readonly jobs: Periodic[];

  private constructor(
    readonly store: ObjectStore, readonly registry: ObjectRegistry, logs: LogManager, wal: Wal,
    topics: TopicService, config: BrokerConfig, private readonly log: Logger, metrics: BrokerMetrics,
    private readonly meta: ClusterMetadata,
  ) {
    const objectReader = new ObjectReader(store, new BlockCache({ maxBytes: config.blockCacheMaxBytes }));
    this.objectReader = objectReader;
    this.reader = {
      readBlocks: (refs) => objectReader.readRefs(refs),
      readPartition: async (blocks, offset, maxBytes) => (await objectReader.readPartition(blocks, offset, maxBytes)).blocks,
    };
    this.index = new ObjectIndex(logs);
    this.uploader = new Uploader(logs, wal, store, registry, this.index, {
      intervalMs: config.uploadIntervalMs, pendingBytesMax: config.uploadMaxBytes, streamSplitBytes: config.uploadStreamSplitBytes,
      cacheMaxBytes: config.cacheMaxBytes, clusterName: config.clusterName,
    }, log.child({ component: 'uploader' }), metrics);
    // Pulled at each scrape: caches and upload lag.
    let seenHits = 0, seenMisses = 0;
    metrics.addCollector(() => {
      const cs = objectReader.cache.stats;
      if (cs.hits > seenHits) metrics.cacheLookup('block', true, cs.hits - seenHits);
      if (cs.misses > seenMisses) metrics.cacheLookup('block', false, cs.misses - seenMisses);
      seenHits = cs.hits;
      seenMisses = cs.misses;
      metrics.cacheBytes('block', objectReader.cache.bytes);
      let cached = 0;
      for (const st of logs.all()) cached += st.log.sizeBytes;
      metrics.cacheBytes('log', cached);
      this.uploader.reportLag();
      metrics.objects(this.index.size);
    });
    this.compactor = new Compactor(store, registry, this.index, logs, (id) => topics.byId(id) !== undefined, {
      clusterName: config.clusterName, bytesPerSecMax: config.compactionMaxBytesPerSec, ...compactorSizes(config.compactionStepMaxBytes),
    }, log.child({ component: 'compactor' }), (id) => topics.byId(id)?.compactPolicy === true);
    this.retention = new Retention(topics, logs, this.index, registry, log.child({ component: 'retention' }));
    // Compaction steps and cleaning passes take turns: they share compaction.step.max.bytes.
    const turns = new Turns();
    this.cleanerThread = config.logCleanerEnable ? new CleanerThread() : null;
    this.cleaner = this.cleanerThread ? new LogCleaner(store, registry, this.index, logs, () => topics.list(), this.cleanerThread, {
      clusterName: config.clusterName, dedupeBufferBytes: config.logCleanerDedupeBufferSize, ioBytesPerSecMax: config.logCleanerIoMaxBytesPerSecond,
      targetObjectBytes: compactorSizes(config.compactionStepMaxBytes).targetObjectBytes,
      batchBytesMax: Math.max(CLEANER_BATCH_BYTES_MIN, 32 * config.messageMaxBytes),
    }, log.child({ component: 'log-cleaner' }), {
      passDone: (r) => metrics.cleanerPass('done', {
        bytesRead: r.bytesRead, bytesWritten: r.bytesWritten, bytesCleaned: r.stats.bytesIn,
        removed: { superseded: r.stats.superseded, tombstone: r.stats.tombstonesRemoved, keyless: r.stats.keylessRemoved, aborted: r.stats.abortedRemoved, marker: r.stats.markersRemoved },
      }),
      passFailed: () => metrics.cleanerPass('failed'),
      passLost: () => metrics.cleanerPass('lost_race'),
    }, (job) => turns.run(job)) : null;
    if (this.cleaner) {
      const cleaner = this.cleaner;
      metrics.addCollector(() => metrics.cleanerPartitions(cleaner.partitionStates()));
    }
    this.gc = new ObjectGc(store, registry, this.index, objectKeyPrefix(config.clusterName), objectIdOfKey, config.objectGcGraceMs, log.child({ component: 'object-gc' }));
    this.jobs = [
      new Periodic('compaction', config.compactionIntervalMs, async () => metrics.compactionStepsDone(await turns.run(() => this.compactor.runOnce())), log),
      ...(this.cleaner ? [new Periodic('log-cleaner', config.logCleanerBackoffMs, () => this.cleaner!.runOnce(), log)] : []),
      new Periodic('retention', config.retentionCheckIntervalMs, () => this.retention.runOnce(), log),
      new Periodic('object-gc', Math.max(10_000, Math.min(config.objectGcGraceMs, 300_000)), () => this.gc.runOnce(), log),
    ];
  }

  /** Load committed objects into the partition logs (before WAL replay, so replay skips what is uploaded). */
  static async open(meta: ClusterMetadata, logs: LogManager, wal: Wal, topics: TopicService, config: BrokerConfig, log: Logger, metrics: BrokerMetrics, wrap?: (s: ObjectStore) => ObjectStore): Promise<ObjectTier> {
    const real = await createObjectStore(config, log);
    const store = new InstrumentedObjectStore(wrap ? wrap(real) : real, metrics);
    const registry = new ObjectRegistry(meta.store, meta.keys);
    const tier = new ObjectTier(store, registry, logs, wal, topics, config, log, metrics, meta);
    const records = await registry.list();
    tier.index.load(records);
    for (const t of topics.list()) {
      for (const [p, value] of await registry.producerSnapshots(t.topicId)) {
        logs.get(t.topicId, p)?.producers.restore(decodeJson<ProducerSnapshot>(value, `producers of ${t.name}/${p}`));
      }
    }
    log.info({ objects: records.length, store: store.description }, 'object index loaded');
    return tier;
  }

  /**
   * A partition this broker just became leader of (cluster mode): its blocks, producer snapshot
   * and log start, read fresh from metadata (another broker may have uploaded since our start).
   * Returns what to apply to the partition once it exists.
   */
  async partitionData(topicId: string, partition: number): Promise<{ blocks: ObjectBlockRef[]; producers: ProducerSnapshot | null; logStart: number }> {
    // Objects known before the listing and missing from it were retired by other brokers (their
    // compaction, cleaning or retention): forgotten, or this broker's jobs would plan with them.
    const known = [...this.index.all()];
    const records = await this.registry.list();
    const live = new Set(records.map((o) => o.id));
    this.index.removed(known.filter((o) => !live.has(o.id)));
    const fresh = records.filter((o) => !this.index.has(o.id));
    this.index.added(fresh);
    const blocks = partitionBlocks(records, topicId, partition);
    const snap = (await this.registry.producerSnapshots(topicId)).get(partition);
    const logStart = (await this.meta.logStarts(topicId)).get(partition) ?? 0;
    return { blocks, producers: snap ? decodeJson<ProducerSnapshot>(snap, `producers of ${topicId}/${partition}`) : null, logStart };
  }

  start(): void {
    this.uploader.start();
    for (const j of this.jobs) j.start();
  }

  async stop(): Promise<void> {
    for (const j of this.jobs) await j.stop();
    await this.cleanerThread?.close();
    await this.uploader.stop();
    await this.store.close();
  }
}

/** A step reads up to half of compaction.step.max.bytes and writes merged objects of at most half. */
function compactorSizes(stepMaxBytes: number): typeof DEFAULT_COMPACTOR_SIZES {
  const half = Math.floor(stepMaxBytes / 2);
  return {
    smallObjectBytes: Math.min(DEFAULT_COMPACTOR_SIZES.smallObjectBytes, half),
    targetObjectBytes: Math.min(DEFAULT_COMPACTOR_SIZES.targetObjectBytes, half),
    stepBytesMax: Math.min(DEFAULT_COMPACTOR_SIZES.stepBytesMax, half),
  };
}
