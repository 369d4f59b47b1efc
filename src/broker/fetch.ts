/**
 * Fetch (api key 1), versions 4–17.
 *
 * Long poll: answers as soon as `minBytes` are available or `maxWaitMs` passes, woken by new
 * durable data on any requested partition; a wake-up reads again only the partitions that were
 * notified, the others keep what they read. Honors `maxBytes` and `partitionMaxBytes`, always
 * returning at least one whole batch of the first partition with data so a consumer can make
 * progress (KIP-74). Records go into the response as the log's own batch buffers (a list, never
 * concatenated), and from there to the socket as chunks of their own: no copy of record bytes.
 * read_committed (isolation level 1) reads only below the last stable offset (the first offset of
 * the oldest open transaction) and gets the aborted transactions overlapping what it read, so the
 * client drops their records; read_uncommitted reads up to the high watermark.
 * v7+: fetch sessions (see fetch-sessions.ts). v13+: topics by id.
 *
 * ACLs (Kafka's): a consumer needs READ on each topic, a follower (replica id >= 0) CLUSTER_ACTION
 * on the cluster; refused partitions answer TOPIC_AUTHORIZATION_FAILED whether they exist or not
 * (an unknown topic id stays UNKNOWN_TOPIC_ID: ids are no secret). Checked on every request, for
 * the session's partitions too.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { FetchRequest, FetchResponse } from '../protocol/messages/fetch.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { missingPartitionError } from './partition-errors.js';
import { FetchSessionCache, sessionKey, type SessionPartition, type FetchSession } from './fetch-sessions.js';
import { partitionKey } from '../log/data-notifier.js';
import type { ReadResult } from '../log/partition-log.js';
import { lastOffsetOf } from '../protocol/record-batch.js';
import type { TopicInfo } from '../topics/topic-service.js';
import { requestAcl } from './authorize.js';

export const FETCH_VERSIONS = { min: 4, max: 17 } as const;
const READ_COMMITTED = 1;

type TopicResponse = NonNullable<DeepPartial<FetchResponse>['responses']>[number];
type PartitionData = NonNullable<TopicResponse['partitions']>[number];

interface Wanted extends SessionPartition {
  /** Error found while resolving the topic (unknown topic or id, or not authorized), if any. */
  resolveError: number;
}

/** What one partition's last read gave. */
interface PartitionRead {
  data: PartitionData;
  /** Record bytes in `data.records`, claimed in the send queue for as long as they are held. */
  bytes: number;
  /** Whether an incremental session response carries the partition. */
  changed: boolean;
  /** High watermark and log start as read, for the session; null when the partition is not here. */
  seen: { hw: number; logStart: number } | null;
}

const NO_RECORDS: readonly Buffer[] = [];

export function makeFetchHandler(b: BrokerContext) {
  const sessions = new FetchSessionCache(b.limits.fetchSessionSlots);

  return async (ctx: RequestContext, req: FetchRequest): Promise<DeepPartial<FetchResponse>> => {
    const version = ctx.header.apiVersion;
    const byId = version >= 13;
    const lookup = version >= 7 ? sessions.lookup(req.sessionId, req.sessionEpoch, b.now()) : { kind: 'sessionless' as const };
    if (lookup.kind === 'error') return { errorCode: lookup.errorCode, sessionId: 0, responses: [] };

    const acl = requestAcl(b, ctx);
    const follower = (version >= 15 ? req.replicaState.replicaId : req.replicaId) >= 0;
    const followerDenied = follower && !acl.allowedOnCluster('CLUSTER_ACTION');
    // Authorization before existence, so a refused client cannot tell which topics exist.
    const resolveError = (topic: TopicInfo | undefined, name: string): number => {
      if (followerDenied) return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      if (!topic && byId) return ErrorCode.UNKNOWN_TOPIC_ID;
      if (!follower && !acl.allowed('READ', 'TOPIC', topic?.name ?? name)) return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      return topic ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    };

    const requested: Wanted[] = [];
    for (const t of req.topics) {
      const topic = byId ? b.topics.byId(t.topicId) : b.topics.byName(t.topic);
      const error = resolveError(topic, t.topic);
      for (const p of t.partitions) {
        requested.push({
          topicId: topic?.topicId ?? t.topicId, topicName: topic?.name ?? t.topic, partition: p.partition,
          fetchOffset: Number(p.fetchOffset), partitionMaxBytes: p.partitionMaxBytes, currentLeaderEpoch: p.currentLeaderEpoch,
          lastHighWatermark: -1, lastLogStartOffset: -1, resolveError: error,
        });
      }
    }

    let session: FetchSession | null = null;
    let incremental = false;
    let wanted: Wanted[];
    if (lookup.kind === 'new' || lookup.kind === 'incremental') {
      session = lookup.session;
      incremental = lookup.kind === 'incremental';
      if (incremental) {
        for (const f of req.forgottenTopicsData) {
          const id = byId ? f.topicId : b.topics.byName(f.topic)?.topicId;
          if (id) for (const p of f.partitions) session.partitions.delete(sessionKey(id, p));
        }
      }
      for (const w of requested) {
        const key = sessionKey(w.topicId, w.partition);
        const prev = session.partitions.get(key);
        session.partitions.set(key, { ...w, lastHighWatermark: prev?.lastHighWatermark ?? -1, lastLogStartOffset: prev?.lastLogStartOffset ?? -1 });
      }
      const resolveErrors = new Map(requested.map((w) => [sessionKey(w.topicId, w.partition), w.resolveError]));
      wanted = [...session.partitions.values()].map((p) => ({
        ...p, resolveError: resolveErrors.get(sessionKey(p.topicId, p.partition)) ?? resolveError(b.topics.byId(p.topicId), p.topicName),
      }));
    } else {
      wanted = requested;
    }

    const reads = new PartitionReads(b, ctx, req, wanted);
    const watch = b.logs.notifier.watch(wanted.map((w) => partitionKey(w.topicId, w.partition)));
    try {
      const deadline = b.now() + Math.max(0, req.maxWaitMs);
      await reads.readAll();
      for (;;) {
        const remaining = deadline - b.now();
        if (reads.bytes >= req.minBytes || reads.hasError() || remaining <= 0 || ctx.signal.aborted || wanted.length === 0) break;
        // Not enough yet: what was read stays (and stays claimed); only partitions with news are read again.
        await watch.wait(remaining, ctx.signal);
        await reads.readAgain(watch.take());
      }
    } finally {
      watch.close();
    }
    if (session) remember(session, reads.seen(incremental));
    return { errorCode: ErrorCode.NONE, sessionId: session ? session.id : 0, responses: reads.responses(incremental, byId), throttleTimeMs: 0 };
  };
}

function remember(session: FetchSession, seen: { key: string; hw: number; logStart: number }[]): void {
  for (const s of seen) {
    const p = session.partitions.get(s.key);
    if (p) { p.lastHighWatermark = s.hw; p.lastLogStartOffset = s.logStart; }
  }
}

/**
 * The latest read of every wanted partition. The records read are claimed in the connection's
 * send queue (ctx.responseBytes) before each read and held until the response is built, so a
 * client that pipelines fetches and does not read the answers gets smaller ones, not unbounded
 * memory; past the grant only KIP-74's first batch is read. A partition read again first gives
 * back what it held.
 */
class PartitionReads {
  private readonly reads: PartitionRead[] = [];
  /** Record bytes held over all partitions. */
  bytes = 0;
  private readonly maxBytes: number;

  constructor(
    private readonly b: BrokerContext,
    private readonly ctx: RequestContext,
    private readonly req: FetchRequest,
    private readonly wanted: readonly Wanted[],
  ) {
    this.maxBytes = Math.min(req.maxBytes, b.limits.fetchMaxBytes);
  }

  async readAll(): Promise<void> {
    for (let i = 0; i < this.wanted.length; i++) await this.read(i);
  }

  /** Reads again the partitions whose keys were notified, in request order. */
  async readAgain(keys: ReadonlySet<string>): Promise<void> {
    if (keys.size === 0) return;
    for (let i = 0; i < this.wanted.length; i++) {
      if (keys.has(partitionKey(this.wanted[i].topicId, this.wanted[i].partition))) await this.read(i);
    }
  }

  hasError(): boolean {
    return this.reads.some((r) => r.data.errorCode !== ErrorCode.NONE);
  }

  private release(i: number): void {
    const prev = this.reads[i];
    if (!prev || prev.bytes === 0) return;
    this.bytes -= prev.bytes;
    this.ctx.responseBytes?.adjust(-prev.bytes);
    prev.bytes = 0;
  }

  private async read(i: number): Promise<void> {
    this.release(i);
    const { b, ctx, req } = this;
    const w = this.wanted[i];
    const data: PartitionData = {
      partitionIndex: w.partition, errorCode: ErrorCode.NONE, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n,
      abortedTransactions: req.isolationLevel === READ_COMMITTED ? [] : null, preferredReadReplica: -1, records: NO_RECORDS,
    };
    const st = w.resolveError === ErrorCode.NONE ? b.logs.get(w.topicId, w.partition) : undefined;
    const out: PartitionRead = { data, bytes: 0, changed: true, seen: null };
    this.reads[i] = out;
    if (w.resolveError !== ErrorCode.NONE) {
      data.errorCode = w.resolveError;
      return;
    }
    if (!st) {
      data.errorCode = missingPartitionError(b.topics.byId(w.topicId), w.partition);
      return;
    }
    const log = st.log;
    out.seen = { hw: log.highWatermark, logStart: log.logStartOffset };
    if (w.currentLeaderEpoch >= 0 && w.currentLeaderEpoch < log.leaderEpoch) {
      data.errorCode = ErrorCode.FENCED_LEADER_EPOCH;
      return;
    }
    if (w.currentLeaderEpoch > log.leaderEpoch) {
      data.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH;
      return;
    }
    const lso = st.producers.txns.lastStableOffset(log.highWatermark);
    const readCommitted = req.isolationLevel === READ_COMMITTED;
    data.highWatermark = BigInt(log.highWatermark);
    data.lastStableOffset = BigInt(lso);
    data.logStartOffset = BigInt(log.logStartOffset);
    if (w.fetchOffset < log.logStartOffset || w.fetchOffset > log.highWatermark) {
      data.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
      return;
    }
    const wantBytes = Math.min(w.partitionMaxBytes, Math.max(0, this.maxBytes - this.bytes));
    const budget = ctx.responseBytes ? ctx.responseBytes.claim(wantBytes) : wantBytes;
    let read: ReadResult;
    try {
      read = await b.reads.read(log, w.fetchOffset, budget, this.bytes === 0, readCommitted ? lso : log.highWatermark);
    } catch (err) {
      // The object store failed this read: a retriable error for this partition only.
      b.log.warn({ err, topic: w.topicName, partition: w.partition, offset: w.fetchOffset }, 'fetch from the object store failed');
      read = { batches: [], bytes: 0 };
      data.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
    }
    ctx.responseBytes?.adjust(read.bytes - budget);
    if (read.bytes > 0) {
      data.records = read.batches;
      if (readCommitted) {
        const to = lastOffsetOf(read.batches[read.batches.length - 1]);
        data.abortedTransactions = st.producers.txns.abortedIn(w.fetchOffset, to).map((a) => ({ producerId: a.producerId, firstOffset: BigInt(a.firstOffset) }));
      }
    }
    out.bytes = read.bytes;
    this.bytes += read.bytes;
    // The high watermark and log start as they were when the read began (what the data matches).
    out.changed = read.bytes > 0 || data.errorCode !== ErrorCode.NONE || out.seen.hw !== w.lastHighWatermark || out.seen.logStart !== w.lastLogStartOffset;
  }

  /** Session bookkeeping: the high watermark and log start each partition in the response carries. */
  seen(incremental: boolean): { key: string; hw: number; logStart: number }[] {
    const out: { key: string; hw: number; logStart: number }[] = [];
    this.reads.forEach((r, i) => {
      const w = this.wanted[i];
      if (r.seen && (r.changed || !incremental)) out.push({ key: sessionKey(w.topicId, w.partition), ...r.seen });
    });
    return out;
  }

  /** The response's topics, in request order; an incremental response leaves out partitions without news. Counts the bytes sent. */
  responses(incremental: boolean, byId: boolean): TopicResponse[] {
    const responses: TopicResponse[] = [];
    const topicIndex = new Map<string, TopicResponse>();
    this.reads.forEach((r, i) => {
      if (incremental && !r.changed) return;
      const w = this.wanted[i];
      if (r.bytes > 0) {
        this.b.metrics.fetchedBytes(w.topicName, r.bytes);
        this.b.metrics.crossAzBytes(this.req.rackId || null, this.b.self.rack, r.bytes, 'out');
      }
      const tkey = byId ? w.topicId : w.topicName;
      let topic = topicIndex.get(tkey);
      if (!topic) {
        topic = { topic: w.topicName, topicId: w.topicId, partitions: [] };
        topicIndex.set(tkey, topic);
        responses.push(topic);
      }
      topic.partitions!.push(r.data);
    });
    return responses;
  }
}
