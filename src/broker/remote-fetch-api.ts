/**
 * FerryRemoteFetch (api key 30001, Ferry's own, v0, never advertised): the leader's half of a
 * read replica's Fetch (KIP-392 across zones, docs/zone-local.md). A broker in a consumer's zone
 * asks the partition's leader what to serve; the leader answers per partition its leader epoch,
 * high watermark, last stable offset, log start and (read_committed) aborted transactions, and the
 * data from the fetch offset as
 *   - Blocks: references to the object blocks of what is uploaded (about the byte budget, then a
 *     few more for the replica's readahead); the replica GETs them from the object store in its
 *     own zone, so no uploaded byte crosses a zone;
 *   - Records: the un-uploaded tail as record bytes (mode tail only), from TailFrom when the replica
 *     says it already holds every un-uploaded batch below it (from the fetch offset), so each tail
 *     byte reaches a replica once. Only when the blocks reached the uploaded end (the replica
 *     serves contiguous data).
 * ferry.remote.read.mode=uploaded-only (the topic's, or the request's UploadedOnly): nothing past
 * the uploaded end, which is reported as the high watermark (and bounds the LSO) so the consumer's
 * lag is honest; a fetch offset between that end and the real high watermark is not out of range.
 * ServeTo is the end the replica may serve up to (the high watermark, or the LSO for read_committed).
 *
 * Long poll as Fetch: MinBytes counts block and tail bytes past what the replica holds, woken by
 * the log's notifier; an error answers at once. Needs CLUSTER_ACTION on the cluster (the
 * inter-broker principal), else CLUSTER_AUTHORIZATION_FAILED for the whole request. Epochs are
 * checked as Fetch checks them (FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH). Tail bytes sent to a
 * replica in another rack count in ferry_replica_cross_az_bytes_total.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { FerryRemoteFetchRequest, FerryRemoteFetchResponse } from '../protocol/messages/ferry-remote-fetch.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { requestAcl } from './authorize.js';
import { missingPartitionError } from './partition-errors.js';
import { partitionKey } from '../log/data-notifier.js';
import { blockRefs } from '../log/read-path.js';
import { lastOffsetOf } from '../protocol/record-batch.js';

export const FERRY_REMOTE_FETCH_VERSIONS = { min: 0, max: 0 } as const;
const READ_COMMITTED = 1;
/** Block references past the byte budget, for the replica's readahead (references only: a few KiB). */
const READAHEAD_REF_BYTES = 8 * 1024 * 1024;
/** A replica's long poll never waits longer (its inter-broker request times out at 10 s). */
const MAX_WAIT_MS = 5_000;

type TopicResponse = NonNullable<DeepPartial<FerryRemoteFetchResponse>['responses']>[number];
type PartitionData = NonNullable<TopicResponse['partitions']>[number];

interface Wanted {
  topicId: string;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  /** The replica holds the tail from the fetch offset up to here (exclusive); -1: nothing. */
  tailFrom: number;
  uploadedOnly: boolean;
}

interface PartitionRead {
  data: PartitionData;
  /** Block (within budget) and tail bytes: what MinBytes and MaxBytes count. */
  bytes: number;
  /** Record bytes sent. */
  tailBytes: number;
}

export function makeRemoteFetchHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: FerryRemoteFetchRequest): Promise<DeepPartial<FerryRemoteFetchResponse>> => {
    if (!requestAcl(b, ctx).allowedOnCluster('CLUSTER_ACTION')) return { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, responses: [] };
    const wanted: Wanted[] = [];
    for (const t of req.topics) {
      for (const p of t.partitions) {
        wanted.push({
          topicId: t.topicId, partition: p.partition, fetchOffset: Number(p.fetchOffset), partitionMaxBytes: Math.max(0, p.partitionMaxBytes),
          currentLeaderEpoch: p.currentLeaderEpoch, tailFrom: Number(p.tailFrom), uploadedOnly: p.uploadedOnly,
        });
      }
    }
    const reads = new RemoteReads(b, req, wanted);
    const watch = b.logs.notifier.watch(wanted.map((w) => partitionKey(w.topicId, w.partition)));
    try {
      const deadline = b.now() + Math.min(MAX_WAIT_MS, Math.max(0, req.maxWaitMs));
      reads.readAll();
      for (;;) {
        const remaining = deadline - b.now();
        if (reads.bytes >= req.minBytes || reads.hasError() || remaining <= 0 || ctx.signal.aborted || wanted.length === 0) break;
        await watch.wait(remaining, ctx.signal);
        reads.readAgain(watch.take());
      }
    } finally {
      watch.close();
    }
    b.metrics.replicaBytes(b.leadership.broker(req.replicaId)?.rack ?? null, b.self.rack, reads.tailBytes());
    return { errorCode: ErrorCode.NONE, responses: reads.responses() };
  };
}

/** The latest read of every wanted partition (all in memory: block references and the log cache). */
class RemoteReads {
  private readonly reads: PartitionRead[] = [];
  bytes = 0;
  private readonly maxBytes: number;

  constructor(private readonly b: BrokerContext, private readonly req: FerryRemoteFetchRequest, private readonly wanted: readonly Wanted[]) {
    this.maxBytes = Math.min(Math.max(0, req.maxBytes), b.limits.fetchMaxBytes);
  }

  readAll(): void {
    for (let i = 0; i < this.wanted.length; i++) this.read(i);
  }

  readAgain(keys: ReadonlySet<string>): void {
    for (let i = 0; i < this.wanted.length; i++) {
      if (keys.has(partitionKey(this.wanted[i].topicId, this.wanted[i].partition))) this.read(i);
    }
  }

  hasError(): boolean {
    return this.reads.some((r) => r.data.errorCode !== ErrorCode.NONE);
  }

  tailBytes(): number {
    return this.reads.reduce((n, r) => n + r.tailBytes, 0);
  }

  private read(i: number): void {
    this.bytes -= this.reads[i]?.bytes ?? 0;
    const { b, req } = this;
    const w = this.wanted[i];
    const readCommitted = req.isolationLevel === READ_COMMITTED;
    const data: PartitionData = {
      partition: w.partition, errorCode: ErrorCode.NONE, leaderEpoch: -1, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n,
      abortedTransactions: readCommitted ? [] : null, blocks: [], serveTo: -1n, records: null,
    };
    const out: PartitionRead = { data, bytes: 0, tailBytes: 0 };
    this.reads[i] = out;
    const topic = b.topics.byId(w.topicId);
    if (!topic) { data.errorCode = ErrorCode.UNKNOWN_TOPIC_ID; return; }
    const st = b.logs.get(w.topicId, w.partition);
    if (!st) { data.errorCode = missingPartitionError(topic, w.partition); return; }
    const log = st.log;
    data.leaderEpoch = log.leaderEpoch;
    if (w.currentLeaderEpoch >= 0 && w.currentLeaderEpoch < log.leaderEpoch) { data.errorCode = ErrorCode.FENCED_LEADER_EPOCH; return; }
    if (w.currentLeaderEpoch > log.leaderEpoch) { data.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH; return; }

    const uploadedOnly = w.uploadedOnly || topic.remoteReadMode === 'uploaded-only';
    const uploadedEnd = log.uploadedEndOffset;
    const realHw = log.highWatermark;
    let hw = realHw;
    let lso = st.producers.txns.lastStableOffset(hw);
    if (uploadedOnly) { hw = Math.min(hw, uploadedEnd); lso = Math.min(lso, uploadedEnd); }
    const upTo = readCommitted ? lso : hw;
    data.highWatermark = BigInt(hw);
    data.lastStableOffset = BigInt(lso);
    data.logStartOffset = BigInt(log.logStartOffset);
    data.serveTo = BigInt(upTo);
    // Out of range against the real end: a consumer that read the tail from the leader before it
    // was sent here waits for the upload instead of resetting its offset.
    if (w.fetchOffset < log.logStartOffset || w.fetchOffset > realHw) { data.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE; return; }

    const budget = Math.min(w.partitionMaxBytes, Math.max(0, this.maxBytes - this.bytes));
    const minOneBatch = this.bytes === 0;
    // The replica holds every un-uploaded batch of [fetch offset, held): the tail starts after it.
    const held = w.tailFrom > w.fetchOffset ? Math.min(w.tailFrom, upTo) : -1;
    const objectEnd = Math.min(upTo, uploadedEnd);
    let end = w.fetchOffset;
    let describedEnd = Math.max(w.fetchOffset, held);
    if (w.fetchOffset < objectEnd && (budget > 0 || minOneBatch)) {
      const r = blockRefs(log, w.fetchOffset, upTo, budget, READAHEAD_REF_BYTES);
      data.blocks = r.refs.map((ref) => ({
        objectId: ref.objectId, objectKey: ref.objectKey, objectSize: BigInt(ref.objectSize), baseOffset: BigInt(ref.baseOffset),
        endOffset: BigInt(ref.endOffset), maxTimestamp: BigInt(ref.maxTimestamp), position: BigInt(ref.position), size: ref.size,
      }));
      out.bytes += r.bytes;
      end = r.end;
      if (r.refs.length) describedEnd = Math.max(describedEnd, Math.min(upTo, r.refs[r.refs.length - 1].endOffset));
    }
    // The tail only right after the blocks (never bytes of uploaded data).
    if (!uploadedOnly && end >= objectEnd && upTo > uploadedEnd) {
      const tailFrom = Math.max(uploadedEnd, w.fetchOffset, held);
      const left = budget - out.bytes;
      const firstBatch = minOneBatch && data.blocks!.length === 0 && held < 0;
      if (tailFrom < upTo && (left > 0 || firstBatch)) {
        const tail = log.read(tailFrom, Math.max(0, left), firstBatch, upTo);
        if (tail.bytes > 0) {
          data.records = tail.batches;
          out.tailBytes = tail.bytes;
          out.bytes += tail.bytes;
          describedEnd = Math.max(describedEnd, lastOffsetOf(tail.batches[tail.batches.length - 1]) + 1);
        }
      }
    }
    if (readCommitted && describedEnd > w.fetchOffset) {
      data.abortedTransactions = st.producers.txns.abortedIn(w.fetchOffset, describedEnd - 1).map((a) => ({ producerId: a.producerId, firstOffset: BigInt(a.firstOffset) }));
    }
    this.bytes += out.bytes;
  }

  /** Partitions grouped by topic, in request order. */
  responses(): TopicResponse[] {
    const out: TopicResponse[] = [];
    const byTopic = new Map<string, TopicResponse>();
    this.reads.forEach((r, i) => {
      const id = this.wanted[i].topicId;
      let t = byTopic.get(id);
      if (!t) { t = { topicId: id, partitions: [] }; byTopic.set(id, t); out.push(t); }
      t.partitions!.push(r.data);
    });
    return out;
  }
}
