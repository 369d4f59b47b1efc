/**
 * Topic administration: CreateTopics (19, v0–7), DeleteTopics (20, v0–6),
 * CreatePartitions (37, v0–3), DeleteRecords (21, v0–2).
 *
 * Replication factor is always 1 (the volume is the replication): -1 and 1 are accepted,
 * anything else answers INVALID_REPLICATION_FACTOR. A manual replica assignment of one broker per
 * partition places the leaders (replica-assignment.ts); with it numPartitions and replicationFactor
 * must be -1, as Kafka requires.
 * Each topic succeeds or fails on its own.
 *
 * ACLs (Kafka's), checked before existence: CreateTopics needs CREATE on the cluster or the topic
 * (and DESCRIBE_CONFIGS on it to see its configs in the answer); DeleteTopics DELETE on the topic
 * (by id: DESCRIBE too, else the name is withheld); CreatePartitions ALTER; DeleteRecords DELETE.
 * Refusals are TOPIC_AUTHORIZATION_FAILED.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { CreateTopicsRequest, CreateTopicsResponse } from '../protocol/messages/create-topics.js';
import type { DeleteTopicsRequest, DeleteTopicsResponse } from '../protocol/messages/delete-topics.js';
import type { CreatePartitionsRequest, CreatePartitionsResponse } from '../protocol/messages/create-partitions.js';
import type { DeleteRecordsRequest, DeleteRecordsResponse } from '../protocol/messages/delete-records.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { missingPartitionError } from './partition-errors.js';
import { requestAcl } from './authorize.js';
import { applyPlacement, placementOf, type Placement } from './replica-assignment.js';

export const CREATE_TOPICS_VERSIONS = { min: 0, max: 7 } as const;
export const DELETE_TOPICS_VERSIONS = { min: 0, max: 6 } as const;
export const CREATE_PARTITIONS_VERSIONS = { min: 0, max: 3 } as const;
export const DELETE_RECORDS_VERSIONS = { min: 0, max: 2 } as const;
const ZERO_UUID = '0'.repeat(32);

function errorOf(err: unknown): { code: number; message: string } {
  if (err instanceof KafkaError) return { code: err.code, message: err.message };
  return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: (err as Error).message };
}

export function makeCreateTopicsHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: CreateTopicsRequest): Promise<DeepPartial<CreateTopicsResponse>> => {
    const acl = requestAcl(b, ctx);
    const clusterCreate = acl.allowedOnCluster('CREATE');
    const seen = new Map<string, number>();
    for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    const topics = [];
    for (const t of req.topics) {
      if ((seen.get(t.name) ?? 0) > 1) {
        topics.push({ name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `topic ${t.name} appears more than once in the request` });
        continue;
      }
      if (!clusterCreate && !acl.allowed('CREATE', 'TOPIC', t.name)) {
        topics.push({ name: t.name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.', numPartitions: -1, replicationFactor: -1, configs: null });
        continue;
      }
      try {
        let placement: Placement | null = null;
        if (t.assignments.length > 0) {
          if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
            throw new KafkaError(ErrorCode.INVALID_REQUEST, 'both numPartitions or replicationFactor and replicasAssignments were set; with an assignment both must be -1');
          }
          placement = placementOf(b, 0, t.assignments);
        } else if (t.replicationFactor !== -1 && t.replicationFactor !== 1) {
          throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor must be 1 (or -1 for the default): Ferry's WAL volume is replicated by the cloud`);
        }
        const info = await b.topics.create(t.name, placement ? placement.size : t.numPartitions, t.configs.map((c) => ({ name: c.name, value: c.value })), req.validateOnly);
        if (placement && !req.validateOnly) await applyPlacement(b, t.name, placement, req.timeoutMs);
        const topicId = req.validateOnly ? ZERO_UUID : info.topicId;
        if (acl.allowed('DESCRIBE_CONFIGS', 'TOPIC', t.name)) {
          const configs = b.topics.describeConfigs(info, null).map((c) => ({ name: c.name, value: c.value, readOnly: c.readOnly, configSource: c.source, isSensitive: false }));
          topics.push({ name: t.name, topicId, errorCode: ErrorCode.NONE, errorMessage: null, numPartitions: info.partitionCount, replicationFactor: 1, configs });
        } else {
          // Created, but its configs and layout are not the principal's to see (Kafka: v5+ says why).
          topics.push({ name: t.name, topicId, errorCode: ErrorCode.NONE, errorMessage: null, numPartitions: -1, replicationFactor: -1, configs: [], topicConfigErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
        }
        ctx.log.info({ topic: t.name, partitions: info.partitionCount, validateOnly: req.validateOnly }, 'topic created');
      } catch (err) {
        const e = errorOf(err);
        topics.push({ name: t.name, errorCode: e.code, errorMessage: e.message, numPartitions: -1, replicationFactor: -1, configs: null });
      }
    }
    return { throttleTimeMs: 0, topics };
  };
}

export function makeDeleteTopicsHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: DeleteTopicsRequest): Promise<DeepPartial<DeleteTopicsResponse>> => {
    const acl = requestAcl(b, ctx);
    const targets = ctx.header.apiVersion >= 6 ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId })) : req.topicNames.map((n) => ({ name: n as string | null, topicId: ZERO_UUID }));
    const responses = [];
    for (const t of targets) {
      const info = t.name !== null ? b.topics.byName(t.name) : b.topics.byId(t.topicId);
      const refused = (name: string | null) => responses.push({ name, topicId: t.topicId, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null });
      // By id: the id is no secret, the name is (withheld without DESCRIBE). By name: refused whether it exists or not.
      if (t.name === null && info && !acl.allowed('DESCRIBE', 'TOPIC', info.name)) { refused(null); continue; }
      const name = t.name ?? info?.name;
      if (name !== undefined && !acl.allowed('DELETE', 'TOPIC', name)) { refused(name); continue; }
      if (!info) {
        responses.push({ name: t.name, topicId: t.topicId, errorCode: t.name !== null ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: null });
        continue;
      }
      try {
        await b.topics.delete(info.name);
        ctx.log.info({ topic: info.name }, 'topic deleted');
        responses.push({ name: info.name, topicId: info.topicId, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (err) {
        const e = errorOf(err);
        responses.push({ name: info.name, topicId: info.topicId, errorCode: e.code, errorMessage: e.message });
      }
    }
    return { throttleTimeMs: 0, responses };
  };
}

export function makeCreatePartitionsHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: CreatePartitionsRequest): Promise<DeepPartial<CreatePartitionsResponse>> => {
    const acl = requestAcl(b, ctx);
    const results = [];
    for (const t of req.topics) {
      if (!acl.allowed('ALTER', 'TOPIC', t.name)) {
        results.push({ name: t.name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'The topic authorization is failed.' });
        continue;
      }
      try {
        const existing = b.topics.byName(t.name);
        let placement: Placement | null = null;
        if (t.assignments !== null && t.assignments.length > 0 && existing) {
          const first = existing.partitionCount;
          if (t.assignments.length !== t.count - first) {
            throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `${t.assignments.length} assignments for ${t.count - first} new partitions`);
          }
          placement = placementOf(b, first, t.assignments.map((a, i) => ({ partitionIndex: first + i, brokerIds: a.brokerIds })));
        }
        await b.topics.addPartitions(t.name, t.count, req.validateOnly);
        if (placement && !req.validateOnly) await applyPlacement(b, t.name, placement, req.timeoutMs);
        results.push({ name: t.name, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (err) {
        const e = errorOf(err);
        results.push({ name: t.name, errorCode: e.code, errorMessage: e.message });
      }
    }
    return { throttleTimeMs: 0, results };
  };
}

export function makeDeleteRecordsHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: DeleteRecordsRequest): Promise<DeepPartial<DeleteRecordsResponse>> => {
    const acl = requestAcl(b, ctx);
    const topics = [];
    for (const t of req.topics) {
      if (!acl.allowed('DELETE', 'TOPIC', t.name)) {
        topics.push({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })) });
        continue;
      }
      const topic = b.topics.byName(t.name);
      const partitions = [];
      for (const p of t.partitions) {
        const st = topic ? b.logs.get(topic.topicId, p.partitionIndex) : undefined;
        if (!topic || !st) { partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: missingPartitionError(topic, p.partitionIndex) }); continue; }
        // -1 means "up to the high watermark".
        const target = p.offset === -1n ? st.log.highWatermark : Number(p.offset);
        if (target < 0 || target > st.log.highWatermark) {
          partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: BigInt(st.log.logStartOffset), errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
          continue;
        }
        try {
          const low = await b.topics.advanceLogStart(topic, p.partitionIndex, target);
          partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: BigInt(low), errorCode: ErrorCode.NONE });
        } catch (err) {
          partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: errorOf(err).code });
        }
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  };
}
