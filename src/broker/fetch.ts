/**
 * Fetch (api key 1), versions 4–17.
 *
 * Long poll: answers as soon as `minBytes` are available or `maxWaitMs` passes, woken by new
 * durable data on any requested partition. Honors `maxBytes` and `partitionMaxBytes`, always
 * returning at least one whole batch of the first partition with data so a consumer can make
 * progress (KIP-74). No transactions: the last stable offset is the high watermark and
 * read_committed sees the same data with an empty aborted-transaction list.
 * v7+: fetch sessions (see fetch-sessions.ts). v13+: topics by id.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { FetchRequest, FetchResponse } from '../protocol/messages/fetch.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { missingPartitionError } from './partition-errors.js';
import { FetchSessionCache, sessionKey, type SessionPartition, type FetchSession } from './fetch-sessions.js';
import { partitionKey } from '../log/data-notifier.js';

export const FETCH_VERSIONS = { min: 4, max: 17 } as const;
const READ_COMMITTED = 1;

type TopicResponse = NonNullable<DeepPartial<FetchResponse>['responses']>[number];
type PartitionData = NonNullable<TopicResponse['partitions']>[number];

interface Wanted extends SessionPartition {
  /** Error found while resolving the topic (unknown topic/id), if any. */
  resolveError: number;
}

export function makeFetchHandler(b: BrokerContext) {
  const sessions = new FetchSessionCache(b.limits.fetchSessionSlots);

  return async (ctx: RequestContext, req: FetchRequest): Promise<DeepPartial<FetchResponse>> => {
    const version = ctx.header.apiVersion;
    const byId = version >= 13;
    const lookup = version >= 7 ? sessions.lookup(req.sessionId, req.sessionEpoch, b.now()) : { kind: 'sessionless' as const };
    if (lookup.kind === 'error') return { errorCode: lookup.errorCode, sessionId: 0, responses: [] };

    const requested: Wanted[] = [];
    for (const t of req.topics) {
      const topic = byId ? b.topics.byId(t.topicId) : b.topics.byName(t.topic);
      for (const p of t.partitions) {
        requested.push({
          topicId: topic?.topicId ?? t.topicId, topicName: topic?.name ?? t.topic, partition: p.partition,
          fetchOffset: Number(p.fetchOffset), partitionMaxBytes: p.partitionMaxBytes, currentLeaderEpoch: p.currentLeaderEpoch,
          lastHighWatermark: -1, lastLogStartOffset: -1,
          resolveError: topic ? ErrorCode.NONE : (byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
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
        ...p, resolveError: resolveErrors.get(sessionKey(p.topicId, p.partition)) ?? (b.topics.byId(p.topicId) ? ErrorCode.NONE : (byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)),
      }));
    } else {
      wanted = requested;
    }

    const deadline = b.now() + Math.max(0, req.maxWaitMs);
    const keys = wanted.map((w) => partitionKey(w.topicId, w.partition));
    for (;;) {
      const built = await build(b, ctx, req, wanted, incremental, byId);
      const remaining = deadline - b.now();
      if (built.bytes >= req.minBytes || built.hasError || remaining <= 0 || ctx.signal.aborted || wanted.length === 0) {
        if (session) remember(session, built.sent);
        return { errorCode: ErrorCode.NONE, sessionId: session ? session.id : 0, responses: built.responses, throttleTimeMs: 0 };
      }
      // Not enough yet: this build is thrown away, and so is its claim on the send queue.
      ctx.responseBytes?.adjust(-built.bytes);
      await b.logs.notifier.wait(keys, remaining, ctx.signal);
    }
  };
}

function remember(session: FetchSession, sent: { key: string; hw: number; logStart: number }[]): void {
  for (const s of sent) {
    const p = session.partitions.get(s.key);
    if (p) { p.lastHighWatermark = s.hw; p.lastLogStartOffset = s.logStart; }
  }
}

/**
 * One pass over the partitions. The records read are claimed in the connection's send queue
 * (ctx.responseBytes) before each read, so a client that pipelines fetches and does not read the
 * answers gets smaller ones, not unbounded memory; past the grant only KIP-74's first batch is read.
 */
async function build(b: BrokerContext, ctx: RequestContext, req: FetchRequest, wanted: Wanted[], incremental: boolean, byId: boolean) {
  const responses: TopicResponse[] = [];
  const topicIndex = new Map<string, TopicResponse>();
  const sent: { key: string; hw: number; logStart: number }[] = [];
  let bytes = 0;
  let hasError = false;
  const maxBytes = Math.min(req.maxBytes, b.limits.fetchMaxBytes);

  for (const w of wanted) {
    const data: PartitionData = {
      partitionIndex: w.partition, errorCode: ErrorCode.NONE, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n,
      abortedTransactions: req.isolationLevel === READ_COMMITTED ? [] : null, preferredReadReplica: -1, records: Buffer.alloc(0),
    };
    const st = w.resolveError === ErrorCode.NONE ? b.logs.get(w.topicId, w.partition) : undefined;
    let changed = true;
    if (w.resolveError !== ErrorCode.NONE) {
      data.errorCode = w.resolveError;
    } else if (!st) {
      data.errorCode = missingPartitionError(b.topics.byId(w.topicId), w.partition);
    } else if (w.currentLeaderEpoch >= 0 && w.currentLeaderEpoch < st.log.leaderEpoch) {
      data.errorCode = ErrorCode.FENCED_LEADER_EPOCH;
    } else if (w.currentLeaderEpoch > st.log.leaderEpoch) {
      data.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH;
    } else {
      const log = st.log;
      data.highWatermark = BigInt(log.highWatermark);
      data.lastStableOffset = BigInt(log.highWatermark);
      data.logStartOffset = BigInt(log.logStartOffset);
      if (w.fetchOffset < log.logStartOffset || w.fetchOffset > log.highWatermark) {
        data.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
      } else {
        const wantBytes = Math.min(w.partitionMaxBytes, Math.max(0, maxBytes - bytes));
        const budget = ctx.responseBytes ? ctx.responseBytes.claim(wantBytes) : wantBytes;
        let read;
        try {
          read = await b.reads.read(log, w.fetchOffset, budget, bytes === 0);
        } catch (err) {
          // The object store failed this read: a retriable error for this partition only.
          b.log.warn({ err, topic: w.topicName, partition: w.partition, offset: w.fetchOffset }, 'fetch from the object store failed');
          read = { batches: [], bytes: 0 };
          data.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        }
        ctx.responseBytes?.adjust(read.bytes - budget);
        if (read.bytes > 0) {
          data.records = read.batches.length === 1 ? read.batches[0] : Buffer.concat(read.batches, read.bytes);
          bytes += read.bytes;
          b.metrics.fetchedBytes(w.topicName, read.bytes);
          b.metrics.crossAzBytes(req.rackId || null, b.self.rack, read.bytes, 'out');
        }
        changed = read.bytes > 0 || data.errorCode !== ErrorCode.NONE || log.highWatermark !== w.lastHighWatermark || log.logStartOffset !== w.lastLogStartOffset;
      }
    }
    if (data.errorCode !== ErrorCode.NONE) hasError = true;
    if (incremental && !changed) continue;
    if (st) sent.push({ key: sessionKey(w.topicId, w.partition), hw: st.log.highWatermark, logStart: st.log.logStartOffset });
    const tkey = byId ? w.topicId : w.topicName;
    let topic = topicIndex.get(tkey);
    if (!topic) {
      topic = { topic: w.topicName, topicId: w.topicId, partitions: [] };
      topicIndex.set(tkey, topic);
      responses.push(topic);
    }
    topic.partitions!.push(data);
  }
  return { responses, bytes, hasError, sent };
}
