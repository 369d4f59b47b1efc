/**
 * Metadata (api key 3), versions 0–12.
 *
 * Lists this broker (and, in a cluster, all live brokers) and the requested topics with their
 * leaders and epochs. A null topic list (v1+) or an empty one at v0 means all topics. Unknown
 * topics are auto-created when `auto.create.topics.enable` and the request allows it (v4+).
 * With replication factor 1 the replica and ISR lists hold just the leader.
 *
 * ACLs (Kafka's): DESCRIBE on each topic (all topics: only the describable ones are listed;
 * named ones: TOPIC_AUTHORIZATION_FAILED); auto-creation needs CREATE on the cluster or the topic.
 * v8+ answers the authorized operations of topics (and, v8–10, of the cluster) when asked.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { MetadataRequest, MetadataResponse } from '../protocol/messages/metadata.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import { endpointFor, type BrokerContext } from './context.js';
import type { TopicInfo } from '../topics/topic-service.js';
import { validateTopicName } from '../topics/topic-service.js';
import { CLUSTER_RESOURCE_NAME } from '../security/types.js';
import { AUTHORIZED_OPERATIONS_OMITTED, requestAcl, type RequestAcl } from './authorize.js';
import { clientZone, liveZones, zoneBrokerFor } from './zones.js';

export const METADATA_VERSIONS = { min: 0, max: 12 } as const;
const ZERO_UUID = '0'.repeat(32);

/** One topic of a Metadata answer (DescribeTopicPartitions maps the same answer onto its own shape). */
export type TopicResult = NonNullable<DeepPartial<MetadataResponse>['topics']>[number];

export function makeMetadataHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: MetadataRequest): Promise<DeepPartial<MetadataResponse>> => {
    const version = ctx.header.apiVersion;
    const all = req.topics === null || (version === 0 && req.topics.length === 0);
    const acl = requestAcl(b, ctx);
    const zone = clientZone(ctx.header.clientId);
    const topics: TopicResult[] = [];
    if (all) {
      // Topics the principal may not describe are left out, unseen.
      for (const t of b.topics.list()) if (acl.allowed('DESCRIBE', 'TOPIC', t.name)) topics.push(withOperations(acl, req, describeTopic(b, t, zone)));
    } else {
      for (const rt of req.topics!) topics.push(withOperations(acl, req, await requestedTopic(b, ctx, req, acl, rt, zone)));
    }
    let clusterAuthorizedOperations = AUTHORIZED_OPERATIONS_OMITTED;
    if (version >= 8 && version <= 10 && req.includeClusterAuthorizedOperations) {
      clusterAuthorizedOperations = acl.allowedOnCluster('DESCRIBE') ? acl.operations('CLUSTER', CLUSTER_RESOURCE_NAME) : 0;
    }
    return {
      throttleTimeMs: 0,
      brokers: b.leadership.brokers().map((x) => ({ nodeId: x.nodeId, ...endpointFor(x, ctx.session?.listenerName), rack: x.rack })),
      clusterId: b.clusterId,
      controllerId: b.leadership.controllerId(),
      topics,
      clusterAuthorizedOperations,
    };
  };
}

/**
 * One requested topic, in Kafka's order: an unknown id is no secret (UNKNOWN_TOPIC_ID); a topic the
 * principal may not describe is TOPIC_AUTHORIZATION_FAILED whether it exists or not (no id given
 * back for a name); an unknown one is auto-created only with CREATE on the cluster or the topic.
 */
async function requestedTopic(b: BrokerContext, ctx: RequestContext, req: MetadataRequest, acl: RequestAcl, rt: NonNullable<MetadataRequest['topics']>[number], zone: string | null): Promise<TopicResult> {
  const denied = (name: string | null, topicId: string): TopicResult => ({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, topicId, isInternal: false, partitions: [] });
  if (rt.name === null) {
    const t = rt.topicId !== ZERO_UUID ? b.topics.byId(rt.topicId) : undefined;
    if (!t) return { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId: rt.topicId, isInternal: false, partitions: [] };
    return acl.allowed('DESCRIBE', 'TOPIC', t.name) ? describeTopic(b, t, zone) : denied(null, rt.topicId);
  }
  if (!acl.allowed('DESCRIBE', 'TOPIC', rt.name)) return denied(rt.name, ZERO_UUID);
  let t = b.topics.byName(rt.name);
  if (!t && b.limits.autoCreateTopics && req.allowAutoTopicCreation) {
    if (!acl.allowedOnCluster('CREATE') && !acl.allowed('CREATE', 'TOPIC', rt.name)) return denied(rt.name, ZERO_UUID);
    if (validateTopicName(rt.name) === null) {
      try {
        t = await b.topics.autoCreate(rt.name) ?? undefined;
      } catch (err) {
        ctx.log.warn({ err, topic: rt.name }, 'auto-create failed');
      }
    }
  }
  if (t) return describeTopic(b, t, zone);
  const invalid = validateTopicName(rt.name) !== null;
  return {
    errorCode: invalid ? ErrorCode.INVALID_TOPIC_EXCEPTION : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    name: rt.name, topicId: rt.topicId, isInternal: false, partitions: [],
  };
}

/** v8+: the operations the principal may do on each topic it may describe, when asked. */
function withOperations(acl: RequestAcl, req: MetadataRequest, t: TopicResult): TopicResult {
  if (req.includeTopicAuthorizedOperations && t.errorCode !== ErrorCode.TOPIC_AUTHORIZATION_FAILED && t.errorCode !== ErrorCode.UNKNOWN_TOPIC_ID && t.name) {
    t.topicAuthorizedOperations = acl.operations('TOPIC', t.name);
  }
  return t;
}

/**
 * One topic's partitions as this client should see them. Replication factor 1: the leader is the
 * only copy. Zones (docs/zone-local.md): a zone-local topic names, to a client whose client id
 * carries ferry_az=<zone>, the broker of its zone as the leader (it proxies produce and serves
 * reads), with the real leader's epoch. Where consumers of other zones may read from a broker of
 * their zone (ferry.remote.read.mode not leader), those brokers are listed as replicas and in the
 * ISR: they serve every acknowledged offset (the Java client follows a preferredReadReplica only
 * to a listed replica).
 */
export function describeTopic(b: BrokerContext, t: TopicInfo, zone: string | null): TopicResult {
  const partitions = [];
  const brokers = b.leadership.clustered ? b.leadership.brokers() : [];
  const zones = t.remoteReadMode !== 'leader' || t.produceRouting === 'zone-local' ? liveZones(brokers) : [];
  for (let p = 0; p < t.partitionCount; p++) {
    const leader = b.leadership.leaderOf(t.topicId, p);
    let shown = leader?.nodeId ?? -1;
    const replicas = leader ? [leader.nodeId] : [];
    if (leader && zones.length > 1) {
      const leaderRack = b.leadership.broker(leader.nodeId)?.rack ?? null;
      for (const z of zones) {
        if (z === leaderRack) continue;
        const zb = zoneBrokerFor(brokers, z, t.topicId, p, leader.nodeId);
        if (!zb) continue;
        replicas.push(zb.nodeId);
        if (z === zone && t.produceRouting === 'zone-local') shown = zb.nodeId;
      }
    }
    partitions.push({
      errorCode: leader ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
      partitionIndex: p,
      leaderId: shown,
      leaderEpoch: leader ? leader.epoch : -1,
      replicaNodes: replicas,
      isrNodes: replicas,
      offlineReplicas: [],
    });
  }
  return { errorCode: ErrorCode.NONE, name: t.name, topicId: t.topicId, isInternal: false, partitions };
}
