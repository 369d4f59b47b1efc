/**
 * Reading object blocks for the read path: an LRU cache of blocks bounded by bytes
 * (`block.cache.max.bytes`), single-flight GETs, and readahead for sequential consumers.
 *
 *   const cache = new BlockCache({ maxBytes: 256 << 20 });
 *   const reader = new ObjectReader(store, cache);            // readahead 512 KiB .. 32 MiB
 *   // The blocks of one partition from the block holding `offset`, about `maxBytes` of them:
 *   const { refs, blocks } = await reader.readPartition(partitionBlocks, offset, maxBytes);
 *   // Or exact blocks (consecutive blocks of one partition), with the blocks that follow them
 *   // so readahead can prefetch:
 *   const buffers = await reader.readRefs(refs, following);
 *
 * A block is named by (object key, position); refs carry `size` (from the object index). Blocks
 * missing from the cache that sit next to each other in one object are fetched with ONE ranged
 * GET. Concurrent readers of the same block share one GET (single-flight, also across readers
 * sharing a cache). There is no lock: a cache hit never waits for a slow GET of another block.
 *
 * Readahead: a read that starts at the block right after where an earlier read (of any caller)
 * ended is sequential. On a sequential read, if less than half of the current window is already
 * cached or in flight ahead of it, the reader prefetches the following blocks of the partition
 * (the `following` refs) in one ranged GET of about the window (per object), without making the
 * caller wait, and doubles the window: 512 KiB, 1 MiB, ... up to 32 MiB (and at most a quarter of
 * the cache). A read anywhere else starts a new sequence at 512 KiB. Prefetch failures are only
 * counted: a reader that then needs the block GETs it itself.
 *
 * `cache.stats` and `reader.stats` are counters for metrics (hits, misses, bytes, GETs,
 * prefetches, evictions).
 */
import { ObjectStoreError, type ObjectStore } from './object-store.js';
import { assert } from '../common/assert.js';

export interface BlockRef {
  objectKey: string;
  position: number;
  size: number;
}

/** A block of a partition: the index entry fields the read path keeps (ObjectBlockRef fits). */
export interface PartitionBlockRef extends BlockRef {
  baseOffset: number;
  /** Exclusive. */
  endOffset: number;
}

export interface BlockCacheStats {
  hits: number;
  hitBytes: number;
  misses: number;
  missBytes: number;
  insertedBytes: number;
  evictions: number;
  evictedBytes: number;
}

interface Inflight {
  promise: Promise<Buffer>;
  prefetch: boolean;
}

export class BlockCache {
  readonly maxBytes: number;
  readonly stats: BlockCacheStats = { hits: 0, hitBytes: 0, misses: 0, missBytes: 0, insertedBytes: 0, evictions: 0, evictedBytes: 0 };
  /** Map order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, { objectKey: string; block: Buffer }>();
  private readonly byObject = new Map<string, Set<string>>();
  private readonly inflightMap = new Map<string, Inflight>();
  private sizeBytes = 0;
  /** Bytes of readahead GETs in flight, all readers: held to half the cache, so prefetching cannot outgrow it. */
  prefetchBytesInFlight = 0;

  constructor(options: { maxBytes: number }) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) throw new RangeError(`block cache maxBytes must be >= 0, got ${options.maxBytes}`);
    this.maxBytes = options.maxBytes;
  }

  get bytes(): number { return this.sizeBytes; }
  get size(): number { return this.entries.size; }

  /** The cached block (and marks it recently used), or undefined. Counts nothing: readers do. */
  get(objectKey: string, position: number): Buffer | undefined {
    const id = blockId(objectKey, position);
    const e = this.entries.get(id);
    if (!e) return undefined;
    this.entries.delete(id);
    this.entries.set(id, e);
    return e.block;
  }

  has(objectKey: string, position: number): boolean {
    return this.entries.has(blockId(objectKey, position));
  }

  /** Caches a block, evicting least recently used ones; a block larger than the cache is not kept. */
  put(objectKey: string, position: number, block: Buffer): void {
    const id = blockId(objectKey, position);
    this.remove(id);
    if (block.length > this.maxBytes) return;
    this.entries.set(id, { objectKey, block });
    let ids = this.byObject.get(objectKey);
    if (!ids) this.byObject.set(objectKey, (ids = new Set()));
    ids.add(id);
    this.sizeBytes += block.length;
    this.stats.insertedBytes += block.length;
    for (const [oldId] of this.entries) {
      if (this.sizeBytes <= this.maxBytes) break;
      this.stats.evictions++;
      this.stats.evictedBytes += this.entries.get(oldId)!.block.length;
      this.remove(oldId);
    }
    assert(this.sizeBytes >= 0 && this.sizeBytes <= this.maxBytes, `block cache holds ${this.sizeBytes} bytes, bound ${this.maxBytes}`);
  }

  /** Forgets every block of an object (it was deleted or replaced). */
  dropObject(objectKey: string): void {
    for (const id of [...(this.byObject.get(objectKey) ?? [])]) this.remove(id);
  }

  /** The GET in flight for a block, if any (single-flight). */
  inflight(objectKey: string, position: number): Inflight | undefined {
    return this.inflightMap.get(blockId(objectKey, position));
  }

  /** Registers a GET in flight for a block; it is forgotten once settled. */
  trackInflight(objectKey: string, position: number, promise: Promise<Buffer>, prefetch: boolean): void {
    const id = blockId(objectKey, position);
    const entry = { promise, prefetch };
    this.inflightMap.set(id, entry);
    const clear = (): void => { if (this.inflightMap.get(id) === entry) this.inflightMap.delete(id); };
    promise.then(clear, clear);
  }

  private remove(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    this.sizeBytes -= e.block.length;
    const ids = this.byObject.get(e.objectKey);
    ids?.delete(id);
    if (ids?.size === 0) this.byObject.delete(e.objectKey);
  }
}

function blockId(objectKey: string, position: number): string {
  return `${objectKey}\n${position}`;
}

export interface ObjectReaderOptions {
  /** First readahead window. Default 512 KiB. */
  readaheadStartBytes?: number;
  /** Largest readahead window. Default 32 MiB (capped at a quarter of the cache). */
  readaheadMaxBytes?: number;
  /** Sequential streams remembered. Default 4096. */
  streamsMax?: number;
}

export interface ObjectReaderStats {
  gets: number;
  getBytes: number;
  prefetches: number;
  prefetchBytes: number;
  prefetchErrors: number;
  sequentialReads: number;
}

export class ObjectReader {
  readonly stats: ObjectReaderStats = { gets: 0, getBytes: 0, prefetches: 0, prefetchBytes: 0, prefetchErrors: 0, sequentialReads: 0 };
  private readonly startBytes: number;
  private readonly maxBytes: number;
  private readonly streamsMax: number;
  /** Readahead state of sequential streams, keyed by the id of the block each expects next. */
  private readonly streams = new Map<string, { windowBytes: number }>();

  constructor(private readonly store: ObjectStore, readonly cache: BlockCache, options: ObjectReaderOptions = {}) {
    this.startBytes = options.readaheadStartBytes ?? 512 * 1024;
    this.maxBytes = Math.max(this.startBytes, Math.min(options.readaheadMaxBytes ?? 32 * 1024 * 1024, Math.floor(cache.maxBytes / 4)));
    this.streamsMax = options.streamsMax ?? 4096;
  }

  /** The current readahead window a read starting at `ref` would use (0: not sequential). For tests and metrics. */
  windowAt(ref: BlockRef): number {
    return this.streams.get(blockId(ref.objectKey, ref.position))?.windowBytes ?? 0;
  }

  /**
   * The blocks of a partition from the one holding `offset`, at least one block and then while
   * the total stays within `maxBytes`. `blocks` is the partition's block list in offset order;
   * the blocks after the ones returned feed readahead.
   */
  async readPartition<R extends PartitionBlockRef>(blocks: readonly R[], offset: number, maxBytes: number): Promise<{ refs: R[]; blocks: Buffer[] }> {
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (blocks[mid]!.endOffset <= offset) lo = mid + 1; else hi = mid;
    }
    if (lo === blocks.length) return { refs: [], blocks: [] };
    let end = lo + 1;
    let bytes = blocks[lo]!.size;
    while (end < blocks.length && bytes + blocks[end]!.size <= maxBytes) bytes += blocks[end++]!.size;
    let aheadEnd = end;
    // Up to two windows ahead: what is already prefetched plus the next window.
    for (let ahead = 0; aheadEnd < blocks.length && ahead < 2 * this.maxBytes; aheadEnd++) ahead += blocks[aheadEnd]!.size;
    const refs = blocks.slice(lo, end);
    return { refs, blocks: await this.readRefs(refs, blocks.slice(end, aheadEnd)) };
  }

  /**
   * Exactly these blocks, in order (each Buffer is `size` bytes). `refs` should be consecutive
   * blocks of one partition and `following` the blocks after them (readahead candidates).
   */
  async readRefs(refs: readonly BlockRef[], following: readonly BlockRef[] = []): Promise<Buffer[]> {
    const results: (Buffer | Promise<Buffer>)[] = new Array(refs.length);
    const missing: number[] = [];
    for (let i = 0; i < refs.length; i++) {
      const r = refs[i]!;
      checkRef(r);
      const cached = this.cache.get(r.objectKey, r.position);
      if (cached) {
        this.cache.stats.hits++;
        this.cache.stats.hitBytes += cached.length;
        results[i] = cached;
        continue;
      }
      this.cache.stats.misses++;
      this.cache.stats.missBytes += r.size;
      const inflight = this.cache.inflight(r.objectKey, r.position);
      if (inflight) {
        // A failed prefetch is not this reader's failure: fetch the block itself then.
        results[i] = inflight.prefetch ? inflight.promise.catch(() => this.fetchRun([r], false)[0]!) : inflight.promise;
      } else {
        missing.push(i);
      }
    }
    for (const run of runs(missing.map((i) => refs[i]!))) {
      const promises = this.fetchRun(run, false);
      for (const p of promises) results[missing.shift()!] = p;
    }
    if (refs.length > 0) this.readahead(refs[0]!, following);
    return Promise.all(results);
  }

  private readahead(first: BlockRef, following: readonly BlockRef[]): void {
    const id = blockId(first.objectKey, first.position);
    const state = this.streams.get(id);
    this.streams.delete(id);
    let windowBytes = this.startBytes;
    if (state) {
      this.stats.sequentialReads++;
      windowBytes = state.windowBytes;
      let ready = 0;
      let i = 0;
      for (; i < following.length; i++) {
        const f = following[i]!;
        if (!this.cache.has(f.objectKey, f.position) && !this.cache.inflight(f.objectKey, f.position)) break;
        ready += f.size;
      }
      if (i < following.length && ready < windowBytes / 2) {
        const chosen: BlockRef[] = [];
        let bytes = 0;
        for (; i < following.length && (chosen.length === 0 || bytes + following[i]!.size <= windowBytes); i++) {
          const f = following[i]!;
          if (this.cache.has(f.objectKey, f.position) || this.cache.inflight(f.objectKey, f.position)) continue;
          checkRef(f);
          chosen.push(f);
          bytes += f.size;
        }
        // Readahead of all readers together stays within half the cache (20 readers of a cold
        // topic must not hold 20 windows of GETs on top of it); past that, readers fetch on demand.
        if (this.cache.prefetchBytesInFlight + bytes > this.cache.maxBytes / 2) chosen.length = 0;
        for (const run of runs(chosen)) {
          this.stats.prefetches++;
          this.stats.prefetchBytes += runBytes(run);
          for (const p of this.fetchRun(run, true)) p.catch(() => {});
        }
        windowBytes = Math.min(windowBytes * 2, this.maxBytes);
      }
    }
    const next = following[0];
    if (next === undefined) return;
    this.streams.set(blockId(next.objectKey, next.position), { windowBytes });
    if (this.streams.size > this.streamsMax) this.streams.delete(this.streams.keys().next().value!);
  }

  /** One ranged GET for a run of adjacent blocks of one object; per-block promises, cached on arrival. */
  private fetchRun(run: readonly BlockRef[], prefetch: boolean): Promise<Buffer>[] {
    const first = run[0]!;
    const start = first.position;
    const end = start + runBytes(run);
    this.stats.gets++;
    if (prefetch) this.cache.prefetchBytesInFlight += end - start;
    const range = this.store.get(first.objectKey, { start, end }).finally(() => {
      if (prefetch) this.cache.prefetchBytesInFlight -= end - start;
      assert(this.cache.prefetchBytesInFlight >= 0, 'prefetch accounting went negative');
    }).then((buf) => {
      if (buf.length !== end - start) {
        throw new ObjectStoreError(`block read of ${first.objectKey} [${start}, ${end}) returned ${buf.length} bytes`, true, first.objectKey);
      }
      this.stats.getBytes += buf.length;
      return buf;
    });
    return run.map((r) => {
      const p = range.then((buf) => {
        const slice = buf.subarray(r.position - start, r.position - start + r.size);
        // Copy when the GET held several blocks, so evicting one really frees its bytes.
        const block = run.length === 1 ? slice : Buffer.from(slice);
        this.cache.put(r.objectKey, r.position, block);
        return block;
      });
      this.cache.trackInflight(r.objectKey, r.position, p, prefetch);
      return p;
    });
  }
}

function checkRef(r: BlockRef): void {
  if (!Number.isSafeInteger(r.position) || r.position < 0 || !Number.isSafeInteger(r.size) || r.size <= 0) {
    throw new RangeError(`bad block ref ${r.objectKey} @${r.position} size ${r.size}`);
  }
}

function runBytes(run: readonly BlockRef[]): number {
  let n = 0;
  for (const r of run) n += r.size;
  return n;
}

/** Splits refs (in order) into runs of blocks adjacent in one object. */
function runs(refs: readonly BlockRef[]): BlockRef[][] {
  const out: BlockRef[][] = [];
  for (const r of refs) {
    const cur = out[out.length - 1];
    const last = cur?.[cur.length - 1];
    if (cur && last && last.objectKey === r.objectKey && last.position + last.size === r.position) cur.push(r);
    else out.push([r]);
  }
  return out;
}
