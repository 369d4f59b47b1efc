/**
 * DescribeLogDirs (api key 35), versions 0–4.
 *
 * A Ferry broker has one "log dir": the directory of its WAL (its WAL volume in a cluster with
 * volume.id), with the volume's size and free bytes (statfs; v4). The WAL file is preallocated, so
 * the free bytes do not move with produce; its fill is ferry_wal_fill_ratio.
 *
 * Partitions listed: those this broker leads (replication factor 1: a partition lives in one
 * broker's dir), of every topic (null filter) or of the named ones. partitionSize is the bytes the
 * partition keeps: its blocks in objects of the object store at or above the log start, plus its
 * batches not uploaded yet (in the WAL) -- what Kafka counts as the size of its segments. offsetLag
 * is 0 and isFutureKey false (there are no future replicas: nothing is ever copied).
 *
 * No second entry for the object store: Kafka tools read a partition listed in two dirs of one
 * broker as an intra-broker move, and the store is shared by all brokers (every broker would report
 * it). Object-store figures are in the metrics (ferry_objects, ferry_uploaded_bytes_total, ferry_upload_lag_bytes).
 *
 * ACL (Kafka's): DESCRIBE on the cluster; without it v3+ answers CLUSTER_AUTHORIZATION_FAILED and
 * older versions an empty list.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { DescribeLogDirsRequest, DescribeLogDirsResponse } from '../protocol/messages/describe-log-dirs.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import type { TopicInfo } from '../topics/topic-service.js';
import { requestAcl } from './authorize.js';

export const DESCRIBE_LOG_DIRS_VERSIONS = { min: 0, max: 4 } as const;

type Response = DeepPartial<DescribeLogDirsResponse>;
type TopicOut = NonNullable<NonNullable<Response['results']>[number]['topics']>[number];

export function makeDescribeLogDirsHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: DescribeLogDirsRequest): Promise<Response> => {
    if (!requestAcl(b, ctx).allowedOnCluster('DESCRIBE')) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    const dir = b.logDir;
    if (!dir) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results: [] };
    const wanted: { topic: TopicInfo; partitions: Iterable<number> }[] = [];
    if (req.topics === null) {
      for (const t of b.topics.list()) wanted.push({ topic: t, partitions: range(t.partitionCount) });
    } else {
      for (const rt of req.topics) {
        const t = b.topics.byName(rt.topic);
        if (t) wanted.push({ topic: t, partitions: new Set(rt.partitions) });
      }
    }
    const topics: TopicOut[] = [];
    for (const { topic, partitions } of wanted) {
      const out: NonNullable<TopicOut['partitions']> = [];
      for (const p of partitions) {
        const st = p >= 0 && p < topic.partitionCount ? b.logs.get(topic.topicId, p) : undefined;
        if (st) out.push({ partitionIndex: p, partitionSize: BigInt(st.log.retainedBytes()), offsetLag: 0n, isFutureKey: false });
      }
      if (out.length > 0) topics.push({ name: topic.name, partitions: out });
    }
    const usage = await dir.usage();
    return {
      throttleTimeMs: 0, errorCode: ErrorCode.NONE,
      results: [{ errorCode: ErrorCode.NONE, logDir: dir.path, topics, totalBytes: usage?.totalBytes ?? -1n, usableBytes: usage?.usableBytes ?? -1n }],
    };
  };
}

function* range(n: number): Iterable<number> {
  for (let i = 0; i < n; i++) yield i;
}
