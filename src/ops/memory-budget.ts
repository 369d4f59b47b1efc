/**
 * What the broker's memory is made of, each part bounded by a config key, and their sum: the
 * figure `memory.max.bytes` is checked against and `ferry config check` prints. RSS should stay
 * within ~1.25x of the total at any load (`npm run bench:memory` measures it).
 */

export interface MemoryPart {
  /** The config key that bounds it (or "runtime" for what no key sets). */
  key: string;
  bytes: number;
  what: string;
}

export interface MemoryBudget {
  parts: MemoryPart[];
  /** Infinity when a part is unbounded (a -1 limit). */
  totalBytes: number;
}

/** Node itself, the code, heap for metadata, groups and per-connection state (measured idle RSS is ~110 MiB). */
export const RUNTIME_BASELINE_BYTES = 160 * 1024 * 1024;
/** The WAL's group buffer (@ferry/wal's default groupBytesMax). */
const WAL_GROUP_BUFFER_BYTES = 4 * 1024 * 1024;
/** The WAL's default inFlightBytesMax (the broker raises it to the record limit when larger). */
const WAL_IN_FLIGHT_BYTES = 64 * 1024 * 1024;

/** The config values the budget reads (the BrokerConfig field names). */
export interface MemoryConfig {
  cacheMaxBytes: number;
  blockCacheMaxBytes: number;
  queuedMaxResponseBytes: number;
  queuedMaxRequestBytes: number;
  uploadMaxBytes: number;
  compactionStepMaxBytes: number;
  logCleanerEnable: boolean;
  logCleanerDedupeBufferSize: number;
  ferryProxyBufferBytes: number;
}

/** The read replica's tail cache (fixed). */
export const READ_REPLICA_TAIL_CACHE_BYTES = 32 * 1024 * 1024;

const bounded = (n: number): number => (n < 0 ? Infinity : n);

/**
 * Bytes not yet uploaded that memory may hold before produce waits: the cache's size, but room
 * for two uploads at least (an upload starts at upload.max.bytes), so a tiny cache still flows.
 */
export function pendingMaxBytes(c: Pick<MemoryConfig, 'cacheMaxBytes' | 'uploadMaxBytes'>): number {
  return Math.max(c.cacheMaxBytes, 2 * c.uploadMaxBytes);
}

export function memoryBudget(c: MemoryConfig): MemoryBudget {
  const parts: MemoryPart[] = [
    { key: 'runtime', bytes: RUNTIME_BASELINE_BYTES, what: 'Node.js, code, metadata, groups, connections' },
    { key: 'cache.max.bytes', bytes: pendingMaxBytes(c), what: 'log cache: recent batches, incl. those not yet uploaded (produce waits past it; at least 2x upload.max.bytes)' },
    { key: 'block.cache.max.bytes', bytes: c.blockCacheMaxBytes, what: 'blocks read from the object store, incl. readahead in flight' },
    { key: 'queued.max.response.bytes', bytes: bounded(c.queuedMaxResponseBytes), what: 'responses built or waiting to be sent, all connections' },
    { key: 'queued.max.request.bytes', bytes: bounded(c.queuedMaxRequestBytes), what: 'requests being received, all connections' },
    { key: 'upload.max.bytes', bytes: c.uploadMaxBytes, what: 'the object an upload is building (uploads are cut at this size)' },
    { key: 'compaction.step.max.bytes', bytes: c.compactionStepMaxBytes, what: 'objects one compaction step reads and writes' },
    // The cleaner's objects take turns with compaction's steps in compaction.step.max.bytes.
    { key: 'log.cleaner.dedupe.buffer.size', bytes: c.logCleanerEnable ? c.logCleanerDedupeBufferSize : 0, what: 'the log cleaner\'s key map (its objects share compaction.step.max.bytes, taking turns with compaction)' },
    { key: 'ferry.proxy.buffer.bytes', bytes: 2 * c.ferryProxyBufferBytes, what: 'zone-local produce: batches a proxy gathers and those staged for leaders (twice the key)' },
    // src/broker/read-replica.ts TAIL_CACHE_BYTES (test/ops checks they agree).
    { key: 'read-replica tail cache', bytes: READ_REPLICA_TAIL_CACHE_BYTES, what: 'un-uploaded tail batches kept for consumers of this zone reading partitions led elsewhere' },
    { key: 'wal', bytes: WAL_GROUP_BUFFER_BYTES + WAL_IN_FLIGHT_BYTES, what: 'WAL group buffer and appends in flight' },
  ];
  return { parts, totalBytes: parts.reduce((n, p) => n + p.bytes, 0) };
}

export function formatBudget(b: MemoryBudget): string {
  const mib = (n: number) => (Number.isFinite(n) ? `${(n / 1048576).toFixed(0)} MiB` : 'unbounded');
  return b.parts.map((p) => `  ${p.key.padEnd(27)} ${mib(p.bytes).padStart(10)}  ${p.what}`).join('\n') + `\n  ${'total'.padEnd(27)} ${mib(b.totalBytes).padStart(10)}`;
}
