/**
 * ListOffsets (api key 2), versions 0–10.
 *
 * Timestamps: -2 earliest (log start), -1 latest (the high watermark; for read_committed the
 * last stable offset), -3 max timestamp, -4 earliest local and -5 earliest pending
 * upload (both the log start here). Any other value: the first offset whose record timestamp is
 * >= the target. Uncompressed batches are searched record by record (off the hot path);
 * compressed batches answer with the batch's first offset.
 * ACLs (Kafka's): DESCRIBE on each topic, else TOPIC_AUTHORIZATION_FAILED whether it exists or not.
 * Zone-local topics: a partition led elsewhere, asked by a client of this broker's zone, is
 * answered by its leader (zone-forward.ts).
 */
import { ErrorCode } from '../protocol/errors.js';
import type { ListOffsetsRequest, ListOffsetsResponse } from '../protocol/messages/list-offsets.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { missingPartitionError } from './partition-errors.js';
import { firstRecordAtOrAfter } from '../log/timestamp-index.js';
import type { PartitionLog } from '../log/partition-log.js';
import { requestAcl } from './authorize.js';
import { Forwarded, FORWARD_FAILED, zoneLeaderFor } from './zone-forward.js';
import { ApiKey } from '../protocol/messages/index.js';

export const LIST_OFFSETS_VERSIONS = { min: 0, max: 10 } as const;

const LATEST = -1n, EARLIEST = -2n, MAX_TIMESTAMP = -3n, EARLIEST_LOCAL = -4n, EARLIEST_PENDING_UPLOAD = -5n;

type PartitionAnswer = { partitionIndex: number; errorCode: number; timestamp: bigint; offset: bigint; leaderEpoch: number; oldStyleOffsets: bigint[] };

export function makeListOffsetsHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: ListOffsetsRequest): Promise<DeepPartial<ListOffsetsResponse>> => {
    const version = ctx.header.apiVersion;
    const acl = requestAcl(b, ctx);
    const topics = [];
    // Zone-local topics: partitions this broker answers for its zone but does not lead.
    const forwarded = new Forwarded<ListOffsetsRequest['topics'][number]['partitions'][number], PartitionAnswer>();
    for (const t of req.topics) {
      if (!acl.allowed('DESCRIBE', 'TOPIC', t.name)) {
        topics.push({ name: t.name, partitions: t.partitions.map((p) => refused(p.partitionIndex)) });
        continue;
      }
      const topic = b.topics.byName(t.name);
      const partitions: PartitionAnswer[] = [];
      for (const p of t.partitions) {
        const leaderId = zoneLeaderFor(b, ctx, topic, p.partitionIndex);
        if (leaderId !== null) {
          const slot = partitions.length;
          partitions.push({ partitionIndex: p.partitionIndex, errorCode: FORWARD_FAILED, timestamp: -1n, offset: -1n, leaderEpoch: -1, oldStyleOffsets: [] });
          forwarded.add(leaderId, t.name, p, (a) => { if (a) partitions[slot] = { ...a, oldStyleOffsets: a.oldStyleOffsets ?? [] }; });
          continue;
        }
        const st = topic ? b.logs.get(topic.topicId, p.partitionIndex) : undefined;
        const latest = st ? (req.isolationLevel === 1 ? st.producers.txns.lastStableOffset(st.log.highWatermark) : st.log.highWatermark) : -1;
        const out = st ? await answer(b, st.log, p.partitionIndex, p.currentLeaderEpoch, p.timestamp, latest)
          : { partitionIndex: p.partitionIndex, errorCode: missingPartitionError(topic, p.partitionIndex), timestamp: -1n, offset: -1n, leaderEpoch: -1, oldStyleOffsets: [] };
        if (version === 0) out.oldStyleOffsets = out.offset >= 0n ? [out.offset] : [];
        partitions.push(out);
      }
      topics.push({ name: t.name, partitions });
    }
    if (forwarded.size > 0) {
      await forwarded.send<ListOffsetsResponse>(b, ctx, ApiKey.ListOffsets, (ts) => ({ ...req, topics: ts }),
        (res, name, p) => res.topics.find((x) => x.name === name)?.partitions.find((x) => x.partitionIndex === p.partitionIndex));
    }
    return { throttleTimeMs: 0, topics };
  };
}

function refused(partitionIndex: number): PartitionAnswer {
  return { partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, timestamp: -1n, offset: -1n, leaderEpoch: -1, oldStyleOffsets: [] };
}

async function answer(b: BrokerContext, log: PartitionLog | undefined, partitionIndex: number, currentLeaderEpoch: number, ts: bigint, latest: number): Promise<PartitionAnswer> {
  const out: PartitionAnswer = { partitionIndex, errorCode: ErrorCode.NONE, timestamp: -1n, offset: -1n, leaderEpoch: -1, oldStyleOffsets: [] };
  if (!log) return { ...out, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  if (currentLeaderEpoch >= 0 && currentLeaderEpoch < log.leaderEpoch) return { ...out, errorCode: ErrorCode.FENCED_LEADER_EPOCH };
  if (currentLeaderEpoch > log.leaderEpoch) return { ...out, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH };
  out.leaderEpoch = log.leaderEpoch;
  let hit: { offset: number; timestamp: number } | null = null;
  if (ts === LATEST) out.offset = BigInt(latest);
  else if (ts === EARLIEST || ts === EARLIEST_LOCAL || ts === EARLIEST_PENDING_UPLOAD) out.offset = BigInt(log.logStartOffset);
  else if (ts < 0n && ts !== MAX_TIMESTAMP) return { ...out, errorCode: ErrorCode.INVALID_REQUEST };
  else {
    try {
      hit = ts === MAX_TIMESTAMP ? await b.reads.maxTimestamp(log) : await b.reads.offsetForTimestamp(log, Number(ts), () => firstRecordAtOrAfter(log, Number(ts)));
    } catch (err) {
      b.log.warn({ err, partition: partitionIndex }, 'offset lookup in the object store failed');
      return { ...out, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
    }
  }
  if (hit) { out.offset = BigInt(hit.offset); out.timestamp = BigInt(hit.timestamp); }
  return out;
}
