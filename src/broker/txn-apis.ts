/**
 * Transaction APIs, translating requests to the transaction coordinator (src/txn), the group
 * coordinator (transactional offsets) and the partition logs (markers):
 *   AddPartitionsToTxn (24, v0–5: v0–3 from clients, v4+ batched and verifyOnly from brokers),
 *   AddOffsetsToTxn (25, v0–4), EndTxn (26, v0–4), WriteTxnMarkers (27, v0–1),
 *   TxnOffsetCommit (28, v0–4), DescribeTransactions (65, v0), ListTransactions (66, v0–1).
 *
 * WriteTxnMarkers is how a coordinator on another broker ends a transaction at the partitions
 * this broker leads (as Kafka does): each marker is a control batch through the normal append
 * path (WAL, then objects), answered once durable. The pseudo-topic `__consumer_offsets` stands
 * for this broker's groups: the marker makes the producer's pending transactional offsets
 * visible (commit) or drops them (abort). Between Ferry brokers it is named
 * `__consumer_offsets:<group id>` (partition 0), so the receiver first re-reads that group from
 * the store: it may coordinate the group since a failover and not have loaded its pending offsets.
 *
 * ACLs (Kafka's): WRITE on the transactional id for AddPartitionsToTxn (v0–3), AddOffsetsToTxn,
 * EndTxn and TxnOffsetCommit (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); AddPartitionsToTxn also WRITE
 * on each topic (one refused partition fails the whole transaction's request: the others answer
 * OPERATION_NOT_ATTEMPTED); AddOffsetsToTxn and TxnOffsetCommit READ on the group, TxnOffsetCommit
 * READ on each topic. From brokers: AddPartitionsToTxn v4+ needs CLUSTER_ACTION, WriteTxnMarkers
 * ALTER or CLUSTER_ACTION on the cluster (the inter-broker principal, a super user, has them).
 * DescribeTransactions needs DESCRIBE on each id and shows only describable topics;
 * ListTransactions lists only describable ids.
 */
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from '../protocol/messages/add-partitions-to-txn.js';
import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from '../protocol/messages/add-offsets-to-txn.js';
import type { EndTxnRequest, EndTxnResponse } from '../protocol/messages/end-txn.js';
import type { WriteTxnMarkersRequest, WriteTxnMarkersResponse } from '../protocol/messages/write-txn-markers.js';
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '../protocol/messages/txn-offset-commit.js';
import type { DescribeTransactionsRequest, DescribeTransactionsResponse } from '../protocol/messages/describe-transactions.js';
import type { ListTransactionsRequest, ListTransactionsResponse } from '../protocol/messages/list-transactions.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext, Handler } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { commitAnswer, commitRefused, existingPartitions } from './offset-commit-topics.js';
import { requestAcl, type RequestAcl } from './authorize.js';
import type { TxnTopicPartition } from '../txn/types.js';
import { isFatalAppendError } from '../log/log-manager.js';

type Add = (key: number, v: { min: number; max: number }, handler: Handler) => void;

/** The topic name WriteTxnMarkers uses for group offsets (Kafka's offsets topic). */
export const GROUP_OFFSETS_TOPIC = '__consumer_offsets';

/** The marker topic that names one group (Ferry's brokers among themselves). */
export function groupMarkerTopic(groupId: string): string { return `${GROUP_OFFSETS_TOPIC}:${groupId}`; }

/** The group a marker topic names: null for a topic, '' for the bare offsets topic (every group here). */
function groupOfMarkerTopic(name: string): string | null {
  if (name === GROUP_OFFSETS_TOPIC) return '';
  return name.startsWith(`${GROUP_OFFSETS_TOPIC}:`) ? name.slice(GROUP_OFFSETS_TOPIC.length + 1) : null;
}

type TopicResults = { name: string; resultsByPartition: { partitionIndex: number; partitionErrorCode: number }[] }[];

/** Results by topic, in the order of `topics`. */
function byTopic(topics: { name: string; partitions: number[] }[], code: (tp: TxnTopicPartition) => number): TopicResults {
  return topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: code({ topic: t.name, partition: p }) })) }));
}

/**
 * A client's AddPartitionsToTxn refused on some topic: as Kafka, nothing is added; refused topics
 * answer TOPIC_AUTHORIZATION_FAILED, missing partitions UNKNOWN_TOPIC_OR_PARTITION, the rest
 * OPERATION_NOT_ATTEMPTED. null when every topic may be written.
 */
function refusedAddPartitions(b: BrokerContext, acl: RequestAcl, topics: { name: string; partitions: number[] }[]): TopicResults | null {
  if (topics.every((t) => acl.allowed('WRITE', 'TOPIC', t.name))) return null;
  return byTopic(topics, (tp) => {
    if (!acl.allowed('WRITE', 'TOPIC', tp.topic)) return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    const t = b.topics.byName(tp.topic);
    return t && tp.partition >= 0 && tp.partition < t.partitionCount ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  });
}

export function registerTxnApis(b: BrokerContext, add: Add): void {
  const txns = b.transactions;

  add(ApiKey.AddPartitionsToTxn, { min: 0, max: 5 }, async (ctx: RequestContext, req: AddPartitionsToTxnRequest): Promise<DeepPartial<AddPartitionsToTxnResponse>> => {
    const v = ctx.header.apiVersion;
    const acl = requestAcl(b, ctx);
    // v4+ comes from brokers only (Kafka's batched verification).
    if (v >= 4 && !acl.allowedOnCluster('CLUSTER_ACTION')) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [] };
    const one = async (transactionalId: string, producerId: bigint, producerEpoch: number, verifyOnly: boolean, topics: { name: string; partitions: number[] }[]): Promise<TopicResults> => {
      if (v <= 3) {
        if (!acl.allowed('WRITE', 'TRANSACTIONAL_ID', transactionalId)) return byTopic(topics, () => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        const refused = refusedAddPartitions(b, acl, topics);
        if (refused) return refused;
      }
      const partitions = topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p })));
      const results = await txns.addPartitions({ transactionalId, producerId, producerEpoch, partitions, verifyOnly, apiVersion: v });
      const codes = new Map(results.map((r) => [`${r.tp.topic}\u0000${r.tp.partition}`, r.errorCode]));
      return byTopic(topics, (tp) => codes.get(`${tp.topic}\u0000${tp.partition}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR);
    };
    if (v <= 3) {
      return { throttleTimeMs: 0, resultsByTopicV3AndBelow: await one(req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch, false, req.v3AndBelowTopics) };
    }
    const resultsByTransaction = await Promise.all(req.transactions.map(async (t) => ({
      transactionalId: t.transactionalId, topicResults: await one(t.transactionalId, t.producerId, t.producerEpoch, t.verifyOnly, t.topics),
    })));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
  });

  add(ApiKey.AddOffsetsToTxn, { min: 0, max: 4 }, async (ctx: RequestContext, req: AddOffsetsToTxnRequest): Promise<DeepPartial<AddOffsetsToTxnResponse>> => {
    const acl = requestAcl(b, ctx);
    if (!acl.allowed('WRITE', 'TRANSACTIONAL_ID', req.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    if (!acl.allowed('READ', 'GROUP', req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    return {
      throttleTimeMs: 0,
      errorCode: await txns.addOffsets({ transactionalId: req.transactionalId, producerId: req.producerId, producerEpoch: req.producerEpoch, groupId: req.groupId, apiVersion: ctx.header.apiVersion }),
    };
  });

  add(ApiKey.EndTxn, { min: 0, max: 4 }, async (ctx: RequestContext, req: EndTxnRequest): Promise<DeepPartial<EndTxnResponse>> => {
    if (!requestAcl(b, ctx).allowed('WRITE', 'TRANSACTIONAL_ID', req.transactionalId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1n, producerEpoch: -1 };
    }
    const r = await txns.endTxn({ transactionalId: req.transactionalId, producerId: req.producerId, producerEpoch: req.producerEpoch, committed: req.committed, apiVersion: ctx.header.apiVersion });
    return { throttleTimeMs: 0, errorCode: r.errorCode, producerId: r.producerId, producerEpoch: r.producerEpoch };
  });

  add(ApiKey.TxnOffsetCommit, { min: 0, max: 4 }, async (ctx: RequestContext, req: TxnOffsetCommitRequest): Promise<DeepPartial<TxnOffsetCommitResponse>> => {
    const all = (code: number) => ({ throttleTimeMs: 0, topics: commitRefused(req.topics, code) });
    const acl = requestAcl(b, ctx);
    if (!acl.allowed('WRITE', 'TRANSACTIONAL_ID', req.transactionalId)) return all(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    if (!acl.allowed('READ', 'GROUP', req.groupId)) return all(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    if (b.leadership.clustered && b.leadership.coordinatorFor(req.groupId)?.nodeId !== b.self.nodeId) return all(ErrorCode.NOT_COORDINATOR);
    if (b.leadership.clustered) await b.groups.adoptGroup(req.groupId);
    const readable = (topic: string) => acl.allowed('READ', 'TOPIC', topic);
    const known = existingPartitions(b.topics, req.topics, readable);
    const r = known.length
      ? await b.groups.commitTxnOffsets({
        apiVersion: ctx.header.apiVersion, transactionalId: req.transactionalId, groupId: req.groupId,
        producerId: req.producerId, producerEpoch: req.producerEpoch,
        generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId, topics: known,
      })
      : { topics: [] };
    return { throttleTimeMs: 0, topics: commitAnswer(req.topics, r, readable) };
  });

  add(ApiKey.WriteTxnMarkers, { min: 0, max: 1 }, async (ctx: RequestContext, req: WriteTxnMarkersRequest): Promise<DeepPartial<WriteTxnMarkersResponse>> => {
    const acl = requestAcl(b, ctx);
    if (!acl.allowedOnCluster('ALTER') && !acl.allowedOnCluster('CLUSTER_ACTION')) {
      return {
        markers: req.markers.map((m) => ({
          producerId: m.producerId,
          topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED })) })),
        })),
      };
    }
    const markers = await Promise.all(req.markers.map(async (m) => ({
      producerId: m.producerId,
      topics: await Promise.all(m.topics.map(async (t) => {
        const group = groupOfMarkerTopic(t.name);
        return {
          name: t.name,
          partitions: await Promise.all(t.partitionIndexes.map(async (p) => ({
            partitionIndex: p,
            errorCode: group !== null
              ? await completeGroups(b, m.producerId, m.transactionResult, group === '' ? [] : [group])
              : await writeMarker(b, t.name, p, m.producerId, m.producerEpoch, m.transactionResult, m.coordinatorEpoch),
          }))),
        };
      })),
    })));
    return { markers };
  });

  add(ApiKey.DescribeTransactions, { min: 0, max: 0 }, async (ctx: RequestContext, req: DescribeTransactionsRequest): Promise<DeepPartial<DescribeTransactionsResponse>> => {
    const acl = requestAcl(b, ctx);
    const mayDescribe = req.transactionalIds.map((id) => acl.allowed('DESCRIBE', 'TRANSACTIONAL_ID', id));
    const described = await txns.describe(req.transactionalIds.filter((_, i) => mayDescribe[i]));
    let next = 0;
    return {
      throttleTimeMs: 0,
      transactionStates: req.transactionalIds.map((transactionalId, i) => {
        if (!mayDescribe[i]) {
          return { transactionalId, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: 0n, producerId: 0n, producerEpoch: 0, topics: [] };
        }
        // Only the partitions of topics the principal may describe.
        const s = described[next++];
        return { ...s, topics: s.topics.filter((t) => acl.allowed('DESCRIBE', 'TOPIC', t.topic)) };
      }),
    };
  });

  add(ApiKey.ListTransactions, { min: 0, max: 1 }, async (ctx: RequestContext, req: ListTransactionsRequest): Promise<DeepPartial<ListTransactionsResponse>> => {
    const acl = requestAcl(b, ctx);
    const r = await txns.list({ stateFilters: req.stateFilters, producerIdFilters: req.producerIdFilters, durationFilterMs: ctx.header.apiVersion >= 1 ? req.durationFilter : -1n });
    return { throttleTimeMs: 0, ...r, transactionStates: r.transactionStates.filter((t) => acl.allowed('DESCRIBE', 'TRANSACTIONAL_ID', t.transactionalId)) };
  });
}

/**
 * A marker for this broker's groups: `groupIds` are re-read from the store first in a cluster
 * (this broker may coordinate them since a failover), then every pending offset of the producer
 * here is committed or dropped.
 */
export async function completeGroups(b: BrokerContext, producerId: bigint, commit: boolean, groupIds: readonly string[]): Promise<number> {
  try {
    if (b.leadership.clustered) {
      for (const g of groupIds) {
        if (b.leadership.coordinatorFor(g)?.nodeId !== b.self.nodeId) return ErrorCode.NOT_COORDINATOR;
        await b.groups.adoptGroup(g);
      }
    }
    await b.groups.completeTxn(producerId, commit);
    return ErrorCode.NONE;
  } catch (err) {
    b.log.warn({ err, producerId: String(producerId) }, 'applying a transaction marker to group offsets failed');
    return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }
}

/**
 * One marker at one partition this broker leads: durable before NONE. A topic that no longer
 * exists answers UNKNOWN_TOPIC_OR_PARTITION (the coordinator counts it as done).
 */
export async function writeMarker(b: BrokerContext, topicName: string, partition: number, producerId: bigint, producerEpoch: number, commit: boolean, coordinatorEpoch: number): Promise<number> {
  const topic = b.topics.byName(topicName);
  if (!topic || partition < 0 || partition >= topic.partitionCount) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  const epoch = b.leadership.acceptsWrites(topic.topicId, partition);
  const st = b.logs.get(topic.topicId, partition);
  if (epoch === null || !st || st.log.leaderEpoch !== epoch) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  const outcome = b.logs.appendMarker(st, { producerId, producerEpoch, commit, coordinatorEpoch });
  if (outcome === null) return ErrorCode.NONE; // superseded by a newer epoch's markers
  try {
    await outcome.done;
  } catch (err) {
    if (isFatalAppendError(err)) b.fatal(err as Error);
    b.log.warn({ err, topic: topicName, partition }, 'transaction marker not written');
    return (err as { retriable?: boolean }).retriable === true ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.KAFKA_STORAGE_ERROR;
  }
  if (!b.leadership.mayAcknowledge(topic.topicId, partition, epoch)) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  return ErrorCode.NONE;
}
