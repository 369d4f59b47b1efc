/**
 * KIP-848 consumer-group APIs: ConsumerGroupHeartbeat (68) and ConsumerGroupDescribe (69),
 * translated to the GroupCoordinator (src/groups/consumer-group-coordinator.ts has the behaviour).
 * Served only while group.coordinator.rebalance.protocols includes "consumer" (else neither is
 * advertised). ConsumerGroupHeartbeat v1 adds SubscribedTopicRegex and member ids chosen by the
 * client (Kafka 4.0; librdkafka >= 2.10 sends only v1).
 *
 * ACLs (Kafka's): READ on the group for the heartbeat, and DESCRIBE on every subscribed topic name
 * (else TOPIC_AUTHORIZATION_FAILED); a regex only matches topics the principal may describe.
 * DESCRIBE on the group for ConsumerGroupDescribe (a group assigned topics the principal may not
 * describe answers TOPIC_AUTHORIZATION_FAILED); includeAuthorizedOperations as DescribeGroups.
 * In a cluster only the group's coordinator (FindCoordinator's) answers; others NOT_COORDINATOR.
 */
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '../protocol/messages/consumer-group-heartbeat.js';
import type { ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse } from '../protocol/messages/consumer-group-describe.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext, Handler } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { AUTHORIZED_OPERATIONS_OMITTED, requestAcl } from './authorize.js';

type Add = (key: number, v: { min: number; max: number }, handler: Handler) => void;

export const CONSUMER_GROUP_HEARTBEAT_VERSIONS = { min: 0, max: 1 };
export const CONSUMER_GROUP_DESCRIBE_VERSIONS = { min: 0, max: 0 };

export function registerConsumerGroupApis(b: BrokerContext, add: Add): void {
  const groups = b.groups;
  if (!groups.consumerProtocolEnabled()) return;
  const notMine = (groupId: string): boolean => b.leadership.clustered && b.leadership.coordinatorFor(groupId)?.nodeId !== b.self.nodeId;

  add(ApiKey.ConsumerGroupHeartbeat, CONSUMER_GROUP_HEARTBEAT_VERSIONS, async (ctx: RequestContext, req: ConsumerGroupHeartbeatRequest): Promise<DeepPartial<ConsumerGroupHeartbeatResponse>> => {
    const fail = (errorCode: number, errorMessage: string | null = null) => ({ throttleTimeMs: 0, errorCode, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null });
    const acl = requestAcl(b, ctx);
    if (!acl.allowed('READ', 'GROUP', req.groupId)) return fail(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const mayDescribe = (topic: string) => acl.allowed('DESCRIBE', 'TOPIC', topic);
    if (req.subscribedTopicNames !== null && req.subscribedTopicNames.some((t) => !mayDescribe(t))) {
      return fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'The member may not describe every subscribed topic.');
    }
    if (notMine(req.groupId)) return fail(ErrorCode.NOT_COORDINATOR);
    if (b.leadership.clustered && req.memberEpoch === 0) await groups.adoptGroup(req.groupId);
    const r = await groups.consumerGroupHeartbeat({
      apiVersion: ctx.header.apiVersion, groupId: req.groupId, memberId: req.memberId, memberEpoch: req.memberEpoch,
      instanceId: req.instanceId, rackId: req.rackId, rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      subscribedTopicNames: req.subscribedTopicNames, subscribedTopicRegex: req.subscribedTopicRegex ?? null,
      serverAssignor: req.serverAssignor, topicPartitions: req.topicPartitions,
      clientId: ctx.header.clientId ?? '', clientHost: `/${ctx.remoteAddress}`, mayDescribe,
    });
    return { throttleTimeMs: 0, ...r };
  });

  add(ApiKey.ConsumerGroupDescribe, CONSUMER_GROUP_DESCRIBE_VERSIONS, async (ctx: RequestContext, req: ConsumerGroupDescribeRequest): Promise<DeepPartial<ConsumerGroupDescribeResponse>> => {
    const acl = requestAcl(b, ctx);
    const refused = (groupId: string, errorCode: number) => ({
      errorCode, errorMessage: null, groupId, groupState: '', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    });
    const ids = [...new Set(req.groupIds)];
    const allowed = ids.filter((g) => acl.allowed('DESCRIBE', 'GROUP', g) && !notMine(g));
    const described = new Map((await groups.consumerGroupDescribe(allowed)).map((g) => [g.groupId, g]));
    return {
      throttleTimeMs: 0,
      groups: ids.map((groupId) => {
        if (!acl.allowed('DESCRIBE', 'GROUP', groupId)) return refused(groupId, ErrorCode.GROUP_AUTHORIZATION_FAILED);
        if (notMine(groupId)) return refused(groupId, ErrorCode.NOT_COORDINATOR);
        const g = described.get(groupId)!;
        if (g.errorCode !== ErrorCode.NONE) return { ...refused(groupId, g.errorCode), errorMessage: g.errorMessage };
        const topics = new Set(g.members.flatMap((m) => [...m.assignment.topicPartitions, ...m.targetAssignment.topicPartitions].map((t) => t.topicName)));
        if ([...topics].some((t) => !acl.allowed('DESCRIBE', 'TOPIC', t))) {
          return { ...refused(groupId, ErrorCode.TOPIC_AUTHORIZATION_FAILED), errorMessage: 'The described group uses topics that the client is not authorized to describe.' };
        }
        const ops = req.includeAuthorizedOperations ? acl.operations('GROUP', groupId) : AUTHORIZED_OPERATIONS_OMITTED;
        return { ...g, authorizedOperations: ops };
      }),
    };
  });
}
