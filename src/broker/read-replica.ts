/**
 * The read replica (KIP-392 across zones, docs/zone-local.md): this broker serves Fetch for a
 * partition another live broker leads, for consumers of its own zone, so their bytes do not cross
 * a zone. The leader is asked with FerryRemoteFetch (remote-fetch-api.ts) and answers the
 * partition's state and where the data is: uploaded data as object block references, which this
 * broker reads from the object store through its block cache (a second consumer of the same data
 * costs no GET), and (mode tail) the un-uploaded tail as record bytes.
 *
 * Tail cache: the tail batches a leader sent stay here (byte-bounded over all partitions, least
 * recently used partition evicted first, its oldest batches first; batches below what is known
 * to be uploaded are dropped), and a request says how far the cache holds the tail from the
 * consumer's offset (TailFrom), so each tail byte crosses the zone once per broker, not once per
 * consumer. The cached batches are copies (a response's buffer is not kept alive by a slice).
 *
 * Long polls: a consumer that must wait has the leader wait for it (MaxWaitMs, MinBytes 1, from
 * the position after what it read). At most one such poll per partition and isolation level is in
 * flight on this broker; other consumers waiting on the same partition wait for that poll to end
 * (the tail it brings lands in the cache and wakes them through the log's notifier) instead of
 * asking for the same bytes again.
 *
 * Errors: the leader's per-partition errors go to the consumer as they are; a leader that cannot
 * be reached, or answers the request with an error, gives NOT_LEADER_OR_FOLLOWER (the consumer
 * asks Metadata and goes back to the leader); a failed GET gives KAFKA_STORAGE_ERROR. Both retriable.
 */
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import type { FerryRemoteFetchRequest, FerryRemoteFetchResponse, FerryRemoteFetchResponseRemoteFetchPartitionResponse } from '../protocol/messages/ferry-remote-fetch.js';
import type { DeepPartial } from '../protocol/primitives.js';
import { baseOffsetOf, lastOffsetOf, splitBatches } from '../protocol/record-batch.js';
import { partitionKey } from '../log/data-notifier.js';
import type { ObjectBlockRef } from '../log/partition-log.js';
import type { TopicInfo } from '../topics/topic-service.js';
import type { BrokerContext } from './context.js';
import type { SessionPartition } from './fetch-sessions.js';
import { READ_REPLICA_TAIL_CACHE_BYTES } from '../ops/memory-budget.js';

/** Bytes of tail batches one broker keeps for all partitions it serves as a read replica (counted in memory.max.bytes). */
export const TAIL_CACHE_BYTES = READ_REPLICA_TAIL_CACHE_BYTES;
/** A long poll asks the leader to wait at most this long (then polls again): under the inter-broker request timeout. */
const POLL_WAIT_MS_MAX = 5_000;
/** Limits on what a leader's answer may hold (checked: it comes from the network). */
const BLOCKS_PER_PARTITION_MAX = 4096;
const BLOCK_BYTES_MAX = 256 * 1024 * 1024;
/** Partitions whose uploaded floor is remembered (a number each; forgotten all at once past this). */
const UPLOADED_FLOORS_MAX = 100_000;

/** One partition a consumer fetches through its leader. */
export interface RemotePart extends Pick<SessionPartition, 'topicId' | 'topicName' | 'partition' | 'fetchOffset' | 'partitionMaxBytes' | 'currentLeaderEpoch'> {
  uploadedOnly: boolean;
}

/** The leader's answer for one partition, with the tail this broker holds from the fetch offset. */
export interface RemoteAnswer {
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: { producerId: bigint; firstOffset: number }[] | null;
  blocks: ObjectBlockRef[];
  serveTo: number;
  /** Tail batches in offset order: the cached ones from the fetch offset, then the leader's. */
  tail: Buffer[];
  /** How many of `tail` the leader sent (the others were cached). */
  received: number;
}

/** What one partition's read served. */
export interface RemoteServed {
  errorCode: number;
  batches: Buffer[];
  bytes: number;
  objectBytes: number;
  tailBytes: number;
  /** The offset after the last batch served (the fetch offset when none). */
  next: number;
  /** Stopped before the end it may serve (the byte budget, or a hole): nothing to wait for. */
  more: boolean;
}

function errorAnswer(errorCode: number): RemoteAnswer {
  return { errorCode, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, abortedTransactions: null, blocks: [], serveTo: -1, tail: [], received: 0 };
}

/**
 * Tail batches per partition, sorted and non-overlapping (runs may have holes: consumers at
 * different offsets), bounded in bytes over all partitions.
 */
export class TailCache {
  /** Map order is recency: a partition used is moved to the end. */
  private readonly parts = new Map<string, Buffer[]>();
  private total = 0;

  constructor(readonly maxBytes: number = TAIL_CACHE_BYTES) {}

  get bytes(): number { return this.total; }

  /** The contiguous run of cached batches from the one holding `offset` (empty when it is not cached). */
  runFrom(key: string, offset: number): Buffer[] {
    const batches = this.parts.get(key);
    if (!batches) return [];
    this.touch(key, batches);
    let i = firstEndingAtOrAfter(batches, offset);
    if (i === batches.length || baseOffsetOf(batches[i]) > offset) return [];
    const run = [batches[i]];
    for (i++; i < batches.length && baseOffsetOf(batches[i]) === lastOffsetOf(batches[i - 1]) + 1; i++) run.push(batches[i]);
    return run;
  }

  /** Adds batches (in offset order); those already held or overlapping a held one are skipped. Copies them. */
  add(key: string, incoming: readonly Buffer[]): void {
    if (incoming.length === 0) return;
    let batches = this.parts.get(key);
    if (!batches) batches = [];
    this.touch(key, batches);
    for (const batch of incoming) {
      if (batch.length > this.maxBytes) continue;
      const base = baseOffsetOf(batch);
      const last = lastOffsetOf(batch);
      const i = firstEndingAtOrAfter(batches, base);
      // Overlap with the batch at i (it ends at or after our base and starts at or before our last): held already.
      if (i < batches.length && baseOffsetOf(batches[i]) <= last) continue;
      batches.splice(i, 0, Buffer.from(batch));
      this.total += batch.length;
    }
    this.evict(key);
  }

  /** Drops the partition's batches wholly below `offset` (uploaded: served from objects from now on). */
  dropBelow(key: string, offset: number): void {
    const batches = this.parts.get(key);
    if (!batches) return;
    let n = 0;
    while (n < batches.length && lastOffsetOf(batches[n]) < offset) this.total -= batches[n++].length;
    if (n > 0) batches.splice(0, n);
    if (batches.length === 0) this.parts.delete(key);
  }

  private touch(key: string, batches: Buffer[]): void {
    this.parts.delete(key);
    this.parts.set(key, batches);
  }

  /** Least recently used partitions first, oldest batches first; `keep` (just added to) last. */
  private evict(keep: string): void {
    for (const [key, batches] of this.parts) {
      if (this.total <= this.maxBytes) break;
      if (key === keep) continue;
      while (batches.length && this.total > this.maxBytes) this.total -= batches.shift()!.length;
      if (batches.length === 0) this.parts.delete(key);
    }
    const own = this.parts.get(keep);
    if (!own) return;
    while (own.length && this.total > this.maxBytes) this.total -= own.shift()!.length;
    if (own.length === 0) this.parts.delete(keep);
  }
}

/** Index of the first batch whose last offset is >= offset. */
function firstEndingAtOrAfter(batches: readonly Buffer[], offset: number): number {
  let lo = 0, hi = batches.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (lastOffsetOf(batches[mid]) < offset) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Checks block references from the leader before this broker GETs them. */
function blocksFrom(r: FerryRemoteFetchResponseRemoteFetchPartitionResponse): ObjectBlockRef[] | null {
  if (r.blocks.length > BLOCKS_PER_PARTITION_MAX) return null;
  const out: ObjectBlockRef[] = [];
  for (const b of r.blocks) {
    const ref: ObjectBlockRef = {
      objectId: b.objectId, objectKey: b.objectKey, objectSize: Number(b.objectSize), baseOffset: Number(b.baseOffset),
      endOffset: Number(b.endOffset), maxTimestamp: Number(b.maxTimestamp), position: Number(b.position), size: b.size,
    };
    const prev = out[out.length - 1];
    if (!ref.objectKey || !Number.isSafeInteger(ref.position) || ref.position < 0 || ref.size <= 0 || ref.size > BLOCK_BYTES_MAX
      || !Number.isSafeInteger(ref.baseOffset) || !Number.isSafeInteger(ref.endOffset) || ref.endOffset <= ref.baseOffset
      || (prev && ref.baseOffset < prev.endOffset)) return null;
    out.push(ref);
  }
  return out;
}

export class ReadReplica {
  readonly cache: TailCache;
  /** Long polls in flight, by partition key and isolation level: each ends (never rejects) when the leader answers. */
  private readonly polls = new Map<string, Promise<void>>();
  /** Per partition, an offset known to be uploaded (the end of a block the leader named): the uploaded end is at or past it. */
  private readonly uploadedFloor = new Map<string, number>();

  constructor(private readonly b: BrokerContext, cacheBytes = TAIL_CACHE_BYTES) {
    this.cache = new TailCache(cacheBytes);
  }

  /**
   * The leader to read `partition` through, when this broker serves it as a read replica: a
   * consumer's fetch of a partition another live broker leads, of a topic read remotely, or of a
   * zone-local topic whatever its read mode (Metadata names this broker its zone's leader: the
   * consumers come here).
   */
  leaderFor(topic: TopicInfo | undefined, partition: number, follower: boolean): number | null {
    if (follower || !topic || !this.b.zones.interBroker) return null;
    if (topic.remoteReadMode === 'leader' && topic.produceRouting !== 'zone-local') return null;
    const leader = this.b.leadership.leaderOf(topic.topicId, partition);
    return leader && leader.nodeId !== this.b.self.nodeId ? leader.nodeId : null;
  }

  /** Asks `leaderId` for `parts` (one FerryRemoteFetch); answers in the order of `parts`. */
  async fetch(leaderId: number, parts: readonly RemotePart[], o: { isolationLevel: number; maxBytes: number; maxWaitMs?: number; minBytes?: number }): Promise<RemoteAnswer[]> {
    const held = parts.map((p) => this.held(partitionKey(p.topicId, p.partition), p.fetchOffset));
    const byTopic = new Map<string, NonNullable<DeepPartial<FerryRemoteFetchRequest>['topics']>[number]>();
    parts.forEach((p, i) => {
      let t = byTopic.get(p.topicId);
      if (!t) byTopic.set(p.topicId, (t = { topicId: p.topicId, partitions: [] }));
      const run = held[i];
      t.partitions!.push({
        partition: p.partition, currentLeaderEpoch: p.currentLeaderEpoch, fetchOffset: BigInt(p.fetchOffset),
        partitionMaxBytes: p.partitionMaxBytes, uploadedOnly: p.uploadedOnly,
        tailFrom: run.length ? BigInt(lastOffsetOf(run[run.length - 1]) + 1) : -1n,
      });
    });
    const body: DeepPartial<FerryRemoteFetchRequest> = {
      replicaId: this.b.self.nodeId, maxWaitMs: o.maxWaitMs ?? 0, minBytes: o.minBytes ?? 0, maxBytes: o.maxBytes,
      isolationLevel: o.isolationLevel, topics: [...byTopic.values()],
    };
    let res: FerryRemoteFetchResponse;
    try {
      // A long poll on a connection of its own: parked, it would hold up later answers on a shared one.
      res = await this.b.zones.interBroker!.request<FerryRemoteFetchResponse>(leaderId, ApiKey.FerryRemoteFetch, 0, body, { lane: (o.maxWaitMs ?? 0) > 0 ? 'poll' : 'default' });
    } catch (err) {
      this.b.log.warn({ err, leader: leaderId, partitions: parts.length }, 'read replica: the leader did not answer FerryRemoteFetch');
      return parts.map(() => errorAnswer(ErrorCode.NOT_LEADER_OR_FOLLOWER));
    }
    if (res.errorCode !== ErrorCode.NONE) {
      this.b.log.warn({ leader: leaderId, errorCode: res.errorCode }, 'read replica: the leader refused FerryRemoteFetch');
      return parts.map(() => errorAnswer(ErrorCode.NOT_LEADER_OR_FOLLOWER));
    }
    const answers = new Map<string, FerryRemoteFetchResponseRemoteFetchPartitionResponse>();
    for (const t of res.responses) for (const p of t.partitions) answers.set(partitionKey(t.topicId, p.partition), p);
    return parts.map((p, i) => this.answer(p, answers.get(partitionKey(p.topicId, p.partition)), held[i], leaderId));
  }

  /**
   * The cached run this broker can say it holds from `fetchOffset`: every un-uploaded batch below
   * its end. The run from the fetch offset; or, when the fetch offset is below what is known to be
   * uploaded (the consumer reads objects), the run from there on.
   */
  private held(key: string, fetchOffset: number): Buffer[] {
    const run = this.cache.runFrom(key, fetchOffset);
    if (run.length) return run;
    const floor = this.uploadedFloor.get(key);
    return floor !== undefined && floor > fetchOffset ? this.cache.runFrom(key, floor) : [];
  }

  private answer(p: RemotePart, r: FerryRemoteFetchResponseRemoteFetchPartitionResponse | undefined, held: Buffer[], leaderId: number): RemoteAnswer {
    if (!r) return errorAnswer(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const state = {
      highWatermark: Number(r.highWatermark), lastStableOffset: Number(r.lastStableOffset), logStartOffset: Number(r.logStartOffset),
      abortedTransactions: r.abortedTransactions ? r.abortedTransactions.map((a) => ({ producerId: a.producerId, firstOffset: Number(a.firstOffset) })) : null,
    };
    if (r.errorCode !== ErrorCode.NONE) return { ...errorAnswer(r.errorCode), ...state };
    const key = partitionKey(p.topicId, p.partition);
    const blocks = blocksFrom(r);
    let records: Buffer[] = [];
    try {
      if (r.records && r.records.length) records = splitBatches(r.records);
    } catch { records = []; }
    if (!blocks || (r.records && r.records.length && records.length === 0)) {
      this.b.log.error({ leader: leaderId, topic: p.topicName, partition: p.partition }, 'read replica: the leader\'s answer does not make sense (block references or records)');
      return errorAnswer(ErrorCode.KAFKA_STORAGE_ERROR);
    }
    // Blocks end at or below the uploaded end: the tail cache needs nothing below.
    if (blocks.length) {
      const floor = blocks[blocks.length - 1].endOffset;
      if (floor > (this.uploadedFloor.get(key) ?? -1)) {
        if (this.uploadedFloor.size >= UPLOADED_FLOORS_MAX) this.uploadedFloor.clear();
        this.uploadedFloor.set(key, floor);
      }
      this.cache.dropBelow(key, floor);
    }
    this.cache.add(key, records);
    return { errorCode: ErrorCode.NONE, ...state, blocks, serveTo: Number(r.serveTo), tail: held.concat(records), received: records.length };
  }

  /**
   * Batches from `fetchOffset`, from wherever the next offset is: a tail batch of the answer or
   * of the cache, else the object blocks (one read through the block cache), else nothing (a
   * hole: the consumer fetches again); never at or past serveTo. At most `budget` bytes, but the
   * first batch whole when `minOneBatch` (KIP-74).
   */
  async serve(a: RemoteAnswer, key: string, fetchOffset: number, budget: number, minOneBatch: boolean): Promise<RemoteServed> {
    const out: RemoteServed = { errorCode: ErrorCode.NONE, batches: [], bytes: 0, objectBytes: 0, tailBytes: 0, next: fetchOffset, more: false };
    await this.collect(out, a, key, budget, minOneBatch);
    // Below the end it may serve: more is there now (a byte budget or a hole stopped it), no use waiting for it.
    out.more = out.next < a.serveTo;
    return out;
  }

  private async collect(out: RemoteServed, a: RemoteAnswer, key: string, budget: number, minOneBatch: boolean): Promise<void> {
    const fits = (n: number) => out.bytes + n <= budget || (minOneBatch && out.batches.length === 0);
    const take = (batch: Buffer) => {
      out.batches.push(batch);
      out.bytes += batch.length;
      out.next = lastOffsetOf(batch) + 1;
    };
    let tail = a.tail;
    let ti = 0;
    let blocksRead = a.blocks.length === 0;
    for (;;) {
      if (out.next >= a.serveTo) return;
      while (ti < tail.length && lastOffsetOf(tail[ti]) < out.next) ti++;
      if (ti < tail.length && baseOffsetOf(tail[ti]) <= out.next) {
        const batch = tail[ti++];
        if (!fits(batch.length)) return;
        take(batch);
        out.tailBytes += batch.length;
        continue;
      }
      // Cached since the request was sent (another consumer's answer, or past the blocks): no GET for it.
      const cached = this.cache.runFrom(key, out.next);
      if (cached.length) { tail = cached; ti = 0; continue; }
      if (blocksRead) return;
      blocksRead = true;
      let lo = 0;
      while (lo < a.blocks.length && a.blocks[lo].endOffset <= out.next) lo++;
      if (lo === a.blocks.length) return;
      if (!fits(1)) return;
      const buffers = await this.b.zones.blocks.readPartition(a.blocks, out.next, Math.max(0, budget - out.bytes));
      for (let k = 0; k < buffers.length; k++) {
        for (const batch of splitBatches(buffers[k])) {
          if (lastOffsetOf(batch) < out.next) continue;
          if (baseOffsetOf(batch) >= a.serveTo) return;
          if (!fits(batch.length)) return;
          take(batch);
          out.objectBytes += batch.length;
        }
        // Offsets the block covers without a batch (compacted away) are passed too.
        const ref = a.blocks[lo + k];
        if (ref && ref.endOffset > out.next) out.next = Math.min(ref.endOffset, a.serveTo);
      }
    }
  }

  /**
   * Waits for news on `parts` (at their positions): starts a long poll of their leaders for the
   * partitions no other poll covers, and resolves when any poll that covers one of them ends
   * (its tail is cached and its partitions notified by then). Null when there is nothing to poll.
   */
  poll(groups: ReadonlyMap<number, RemotePart[]>, o: { isolationLevel: number; maxBytes: number; maxWaitMs: number }): Promise<void> | null {
    const waits: Promise<void>[] = [];
    for (const [leaderId, parts] of groups) {
      const own: RemotePart[] = [];
      for (const p of parts) {
        const running = this.polls.get(this.pollKey(p, o.isolationLevel));
        if (running) waits.push(running); else own.push(p);
      }
      if (own.length === 0) continue;
      const done = this.longPoll(leaderId, own, o);
      for (const p of own) {
        const k = this.pollKey(p, o.isolationLevel);
        this.polls.set(k, done);
        void done.then(() => { if (this.polls.get(k) === done) this.polls.delete(k); });
      }
      waits.push(done);
    }
    return waits.length ? Promise.race(waits) : null;
  }

  private pollKey(p: RemotePart, isolationLevel: number): string {
    return `${partitionKey(p.topicId, p.partition)}/${isolationLevel}`;
  }

  private async longPoll(leaderId: number, parts: RemotePart[], o: { isolationLevel: number; maxBytes: number; maxWaitMs: number }): Promise<void> {
    const answers = await this.fetch(leaderId, parts, { ...o, maxWaitMs: Math.min(POLL_WAIT_MS_MAX, Math.max(0, o.maxWaitMs)), minBytes: 1 });
    answers.forEach((a, i) => {
      if (a.errorCode !== ErrorCode.NONE || a.blocks.length || a.received) this.b.logs.notifier.notify(partitionKey(parts[i].topicId, parts[i].partition));
    });
  }
}
