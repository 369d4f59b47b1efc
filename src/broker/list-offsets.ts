/**
 * ListOffsets (api key 2), versions 0–10.
 *
 * Timestamps: -2 earliest (log start), -1 latest (high watermark; the same for read_committed,
 * as there are no transactions), -3 max timestamp, -4 earliest local and -5 earliest pending
 * upload (both the log start here). Any other value: the first offset whose record timestamp is
 * >= the target. Uncompressed batches are searched record by record (off the hot path);
 * compressed batches answer with the batch's first offset.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { ListOffsetsRequest, ListOffsetsResponse } from '../protocol/messages/list-offsets.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { firstRecordAtOrAfter } from '../log/timestamp-index.js';

export const LIST_OFFSETS_VERSIONS = { min: 0, max: 10 } as const;

const LATEST = -1n, EARLIEST = -2n, MAX_TIMESTAMP = -3n, EARLIEST_LOCAL = -4n, EARLIEST_PENDING_UPLOAD = -5n;

export function makeListOffsetsHandler(b: BrokerContext) {
  return (ctx: RequestContext, req: ListOffsetsRequest): DeepPartial<ListOffsetsResponse> => {
    const version = ctx.header.apiVersion;
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => {
        const topic = b.topics.byName(t.name);
        return {
          name: t.name,
          partitions: t.partitions.map((p) => {
            const out = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE as number, timestamp: -1n, offset: -1n, leaderEpoch: -1, oldStyleOffsets: [] as bigint[] };
            const st = topic ? b.logs.get(topic.topicId, p.partitionIndex) : undefined;
            if (!st) { out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION; return out; }
            const log = st.log;
            if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch < log.leaderEpoch) { out.errorCode = ErrorCode.FENCED_LEADER_EPOCH; return out; }
            if (p.currentLeaderEpoch > log.leaderEpoch) { out.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH; return out; }
            out.leaderEpoch = log.leaderEpoch;
            const ts = p.timestamp;
            if (ts === LATEST) out.offset = BigInt(log.highWatermark);
            else if (ts === EARLIEST || ts === EARLIEST_LOCAL || ts === EARLIEST_PENDING_UPLOAD) out.offset = BigInt(log.logStartOffset);
            else if (ts === MAX_TIMESTAMP) {
              const m = log.maxTimestamp();
              if (m) { out.offset = BigInt(m.offset); out.timestamp = BigInt(m.timestamp); }
            } else if (ts >= 0n) {
              const hit = firstRecordAtOrAfter(log, Number(ts));
              if (hit) { out.offset = BigInt(hit.offset); out.timestamp = BigInt(hit.timestamp); }
            } else {
              out.errorCode = ErrorCode.INVALID_REQUEST;
            }
            if (version === 0) out.oldStyleOffsets = out.offset >= 0n ? [out.offset] : [];
            return out;
          }),
        };
      }),
    };
  };
}
