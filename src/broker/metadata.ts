/**
 * Metadata (api key 3), versions 0–12.
 *
 * Lists this broker (and, in a cluster, all live brokers) and the requested topics with their
 * leaders and epochs. A null topic list (v1+) or an empty one at v0 means all topics. Unknown
 * topics are auto-created when `auto.create.topics.enable` and the request allows it (v4+).
 * With replication factor 1 the replica and ISR lists hold just the leader.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { MetadataRequest, MetadataResponse } from '../protocol/messages/metadata.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import { endpointFor, type BrokerContext } from './context.js';
import type { TopicInfo } from '../topics/topic-service.js';
import { validateTopicName } from '../topics/topic-service.js';

export const METADATA_VERSIONS = { min: 0, max: 12 } as const;
const ZERO_UUID = '0'.repeat(32);

type TopicResult = NonNullable<DeepPartial<MetadataResponse>['topics']>[number];

export function makeMetadataHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: MetadataRequest): Promise<DeepPartial<MetadataResponse>> => {
    const version = ctx.header.apiVersion;
    const all = req.topics === null || (version === 0 && req.topics.length === 0);
    const topics: TopicResult[] = [];
    if (all) {
      for (const t of b.topics.list()) topics.push(describeTopic(b, t));
    } else {
      for (const rt of req.topics!) {
        let t = rt.name !== null ? b.topics.byName(rt.name) : (rt.topicId !== ZERO_UUID ? b.topics.byId(rt.topicId) : undefined);
        if (!t && rt.name !== null && b.limits.autoCreateTopics && req.allowAutoTopicCreation && validateTopicName(rt.name) === null) {
          try {
            t = await b.topics.autoCreate(rt.name) ?? undefined;
          } catch (err) {
            ctx.log.warn({ err, topic: rt.name }, 'auto-create failed');
          }
        }
        if (t) topics.push(describeTopic(b, t));
        else {
          const invalid = rt.name !== null && validateTopicName(rt.name) !== null;
          topics.push({
            errorCode: invalid ? ErrorCode.INVALID_TOPIC_EXCEPTION : (rt.name === null ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
            name: rt.name, topicId: rt.topicId, isInternal: false, partitions: [],
          });
        }
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: b.leadership.brokers().map((x) => ({ nodeId: x.nodeId, ...endpointFor(x, ctx.session?.listenerName), rack: x.rack })),
      clusterId: b.clusterId,
      controllerId: b.leadership.controllerId(),
      topics,
    };
  };
}

function describeTopic(b: BrokerContext, t: TopicInfo): TopicResult {
  const partitions = [];
  for (let p = 0; p < t.partitionCount; p++) {
    const leader = b.leadership.leaderOf(t.topicId, p);
    // Replication factor 1: the leader is the only replica.
    partitions.push({
      errorCode: leader ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
      partitionIndex: p,
      leaderId: leader ? leader.nodeId : -1,
      leaderEpoch: leader ? leader.epoch : -1,
      replicaNodes: leader ? [leader.nodeId] : [],
      isrNodes: leader ? [leader.nodeId] : [],
      offlineReplicas: [],
    });
  }
  return { errorCode: ErrorCode.NONE, name: t.name, topicId: t.topicId, isInternal: false, partitions };
}
