/**
 * Consumer-group APIs, translating decoded requests to the GroupCoordinator (src/groups) and
 * its results back into responses:
 *   JoinGroup (11, v0–9), SyncGroup (14, v0–5), Heartbeat (12, v0–4), LeaveGroup (13, v0–5),
 *   OffsetCommit (8, v0–9), OffsetFetch (9, v0–9, v8+ batches groups), ListGroups (16, v0–5),
 *   DescribeGroups (15, v0–5), DeleteGroups (42, v0–2), OffsetDelete (47, v0).
 * This broker coordinates every group (single node). OffsetCommit for partitions that do not
 * exist answers UNKNOWN_TOPIC_OR_PARTITION for those partitions only; offsets are kept with the
 * topic's id. A deleted topic's committed offsets are removed from every group (as Kafka does):
 * when this broker deletes it or, in a cluster, sees another broker's deletion. A single node also
 * removes, at start, offsets whose topic no longer exists (left by a crash or an older version).
 *
 * ACLs (Kafka's), checked before the coordinator answers (so NOT_COORDINATOR tells nothing to a
 * refused principal): READ on the group for JoinGroup, SyncGroup, Heartbeat, LeaveGroup and
 * OffsetCommit (whose topics need READ too); DESCRIBE on the group for OffsetFetch (its topics
 * need DESCRIBE: refused ones are TOPIC_AUTHORIZATION_FAILED when named, left out when all are
 * asked for) and DescribeGroups; DELETE on the group for DeleteGroups and OffsetDelete (topics:
 * READ). ListGroups lists every group with DESCRIBE on the cluster, else the describable ones.
 */
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import type { JoinGroupRequest, JoinGroupResponse } from '../protocol/messages/join-group.js';
import type { SyncGroupRequest, SyncGroupResponse } from '../protocol/messages/sync-group.js';
import type { HeartbeatRequest, HeartbeatResponse } from '../protocol/messages/heartbeat.js';
import type { LeaveGroupRequest, LeaveGroupResponse } from '../protocol/messages/leave-group.js';
import type { OffsetCommitRequest, OffsetCommitResponse } from '../protocol/messages/offset-commit.js';
import type { OffsetFetchRequest, OffsetFetchResponse } from '../protocol/messages/offset-fetch.js';
import type { ListGroupsRequest, ListGroupsResponse } from '../protocol/messages/list-groups.js';
import type { DescribeGroupsRequest, DescribeGroupsResponse } from '../protocol/messages/describe-groups.js';
import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../protocol/messages/delete-groups.js';
import type { OffsetDeleteRequest, OffsetDeleteResponse } from '../protocol/messages/offset-delete.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext, Handler } from '../server/handler-registry.js';
import { leaveGroupV0Error, type OffsetFetchResult } from '../groups/coordinator.js';
import type { BrokerContext } from './context.js';
import { commitAnswer, commitRefused, existingPartitions } from './offset-commit-topics.js';
import { AUTHORIZED_OPERATIONS_OMITTED, requestAcl } from './authorize.js';

type Add = (key: number, v: { min: number; max: number }, handler: Handler) => void;

export function registerGroupApis(b: BrokerContext, add: Add): void {
  const groups = b.groups;
  // In a cluster each group has one coordinator (FindCoordinator names it); others refuse.
  const notMine = (groupId: string): boolean => b.leadership.clustered && b.leadership.coordinatorFor(groupId)?.nodeId !== b.self.nodeId;
  const NOT_COORDINATOR = ErrorCode.NOT_COORDINATOR;
  const GROUP_DENIED = ErrorCode.GROUP_AUTHORIZATION_FAILED;
  const mayRead = (ctx: RequestContext, groupId: string) => requestAcl(b, ctx).allowed('READ', 'GROUP', groupId);

  b.topics.onTopicsRemoved((topics) => groups.deleteTopicOffsets(topics.map((t) => ({ name: t.name, topicId: t.topicId }))));
  // OffsetFetch waits for this, so no client sees offsets of a topic that is gone.
  const swept: Promise<void> = b.leadership.clustered ? Promise.resolve() : groups.deleteOffsetsOfMissingTopics(new Map(b.topics.list().map((t) => [t.name, t.topicId]))).then(
    (refs) => { if (refs.length > 0) b.log.info({ topics: refs.map((r) => r.name) }, 'removed committed offsets of topics that no longer exist'); },
    (err) => b.log.warn({ err }, 'could not remove committed offsets of topics that no longer exist'),
  );

  add(ApiKey.JoinGroup, { min: 0, max: 9 }, async (ctx: RequestContext, req: JoinGroupRequest): Promise<DeepPartial<JoinGroupResponse>> => {
    const v = ctx.header.apiVersion;
    if (!mayRead(ctx, req.groupId)) return { throttleTimeMs: 0, errorCode: GROUP_DENIED, generationId: -1, protocolType: null, protocolName: v < 7 ? '' : null, leader: '', memberId: '', members: [] };
    if (notMine(req.groupId)) return { throttleTimeMs: 0, errorCode: NOT_COORDINATOR, generationId: -1, protocolType: null, protocolName: v < 7 ? '' : null, leader: '', memberId: req.memberId, members: [] };
    if (b.leadership.clustered) await groups.adoptGroup(req.groupId);
    const r = await groups.joinGroup({
      apiVersion: v, groupId: req.groupId, memberId: req.memberId, groupInstanceId: req.groupInstanceId,
      clientId: ctx.header.clientId ?? '', clientHost: `/${ctx.remoteAddress}`,
      sessionTimeoutMs: req.sessionTimeoutMs, rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocolType: req.protocolType, protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      reason: req.reason,
    });
    return {
      throttleTimeMs: 0, errorCode: r.errorCode, generationId: r.generationId,
      protocolType: r.protocolType, protocolName: v < 7 ? (r.protocolName ?? '') : r.protocolName,
      leader: r.leader, skipAssignment: r.skipAssignment, memberId: r.memberId, members: r.members,
    };
  });

  add(ApiKey.SyncGroup, { min: 0, max: 5 }, async (ctx: RequestContext, req: SyncGroupRequest): Promise<DeepPartial<SyncGroupResponse>> => {
    if (!mayRead(ctx, req.groupId)) return { throttleTimeMs: 0, errorCode: GROUP_DENIED, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
    if (notMine(req.groupId)) return { throttleTimeMs: 0, errorCode: NOT_COORDINATOR, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
    const r = await groups.syncGroup({
      groupId: req.groupId, generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId,
      protocolType: ctx.header.apiVersion >= 5 ? req.protocolType : null, protocolName: ctx.header.apiVersion >= 5 ? req.protocolName : null,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
    });
    return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
  });

  add(ApiKey.Heartbeat, { min: 0, max: 4 }, async (ctx: RequestContext, req: HeartbeatRequest): Promise<DeepPartial<HeartbeatResponse>> => {
    if (!mayRead(ctx, req.groupId)) return { throttleTimeMs: 0, errorCode: GROUP_DENIED };
    if (notMine(req.groupId)) return { throttleTimeMs: 0, errorCode: NOT_COORDINATOR };
    const r = await groups.heartbeat({ groupId: req.groupId, generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId });
    return { throttleTimeMs: 0, errorCode: r.errorCode };
  });

  add(ApiKey.LeaveGroup, { min: 0, max: 5 }, async (ctx: RequestContext, req: LeaveGroupRequest): Promise<DeepPartial<LeaveGroupResponse>> => {
    const v = ctx.header.apiVersion;
    const members = v <= 2 ? [{ memberId: req.memberId, groupInstanceId: null }] : req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: m.reason }));
    if (!mayRead(ctx, req.groupId)) return v <= 2 ? { throttleTimeMs: 0, errorCode: GROUP_DENIED } : { throttleTimeMs: 0, errorCode: GROUP_DENIED, members: [] };
    if (notMine(req.groupId)) return v <= 2 ? { throttleTimeMs: 0, errorCode: NOT_COORDINATOR } : { throttleTimeMs: 0, errorCode: NOT_COORDINATOR, members: [] };
    const r = await groups.leaveGroup({ groupId: req.groupId, members });
    if (v <= 2) return { throttleTimeMs: 0, errorCode: leaveGroupV0Error(r) };
    return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
  });

  add(ApiKey.OffsetCommit, { min: 0, max: 9 }, async (ctx: RequestContext, req: OffsetCommitRequest): Promise<DeepPartial<OffsetCommitResponse>> => {
    const acl = requestAcl(b, ctx);
    if (!acl.allowed('READ', 'GROUP', req.groupId)) return { throttleTimeMs: 0, topics: commitRefused(req.topics, GROUP_DENIED) };
    if (notMine(req.groupId)) return { throttleTimeMs: 0, topics: commitRefused(req.topics, NOT_COORDINATOR) };
    const readable = (topic: string) => acl.allowed('READ', 'TOPIC', topic);
    const known = existingPartitions(b.topics, req.topics, readable);
    const r = known.length
      ? await groups.commitOffsets({
        apiVersion: ctx.header.apiVersion, groupId: req.groupId, generationId: req.generationIdOrMemberEpoch,
        memberId: req.memberId, groupInstanceId: req.groupInstanceId, topics: known,
      })
      : { topics: [] };
    return { throttleTimeMs: 0, topics: commitAnswer(req.topics, r, readable) };
  });

  add(ApiKey.OffsetFetch, { min: 0, max: 9 }, async (ctx: RequestContext, req: OffsetFetchRequest): Promise<DeepPartial<OffsetFetchResponse>> => {
    const v = ctx.header.apiVersion;
    await swept;
    const acl = requestAcl(b, ctx);
    const describable = (topic: string) => acl.allowed('DESCRIBE', 'TOPIC', topic);
    const fetchOne = async (groupId: string, topics: { name: string; partitionIndexes: number[] }[] | null, member?: { memberId: string | null; memberEpoch: number }): Promise<OffsetFetchResult> => {
      if (!acl.allowed('DESCRIBE', 'GROUP', groupId)) return { errorCode: GROUP_DENIED, topics: [] };
      if (notMine(groupId)) return { errorCode: NOT_COORDINATOR, topics: [] };
      if (b.leadership.clustered) await groups.adoptGroup(groupId);
      const r = await groups.fetchOffsets({ groupId, topics: topics && topics.filter((t) => describable(t.name)), requireStable: req.requireStable, ...member });
      if (r.errorCode !== ErrorCode.NONE) return r;
      // All topics: the undescribable ones are left out. Named: they answer TOPIC_AUTHORIZATION_FAILED, in request order.
      if (topics === null) return { errorCode: r.errorCode, topics: r.topics.filter((t) => describable(t.name)) };
      const answered = new Map(r.topics.map((t) => [t.name, t]));
      return {
        errorCode: r.errorCode,
        topics: topics.map((t) => (describable(t.name) ? answered.get(t.name) : undefined) ?? {
          name: t.name,
          partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })),
        }),
      };
    };
    if (v >= 8) {
      // v9: a KIP-848 member's id and epoch are checked against its consumer group.
      const results = await Promise.all(req.groups.map((g) => fetchOne(g.groupId, g.topics, v >= 9 ? { memberId: g.memberId, memberEpoch: g.memberEpoch } : undefined)));
      return {
        throttleTimeMs: 0,
        groups: req.groups.map((g, i) => ({ groupId: g.groupId, errorCode: results[i].errorCode, topics: results[i].topics })),
      };
    }
    // v0-1 always name topics; v2+ may send null for "all".
    const r = await fetchOne(req.groupId, req.topics);
    const topics = r.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ ...p })),
    }));
    if (v <= 1 && r.errorCode !== ErrorCode.NONE) {
      // No top-level error field: report it on every partition (a refused group has none: the requested ones).
      if (r.errorCode === GROUP_DENIED) {
        return { throttleTimeMs: 0, errorCode: r.errorCode, topics: (req.topics ?? []).map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: r.errorCode })) })) };
      }
      for (const t of topics) for (const p of t.partitions) p.errorCode = r.errorCode;
    }
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics };
  });

  add(ApiKey.ListGroups, { min: 0, max: 5 }, async (ctx: RequestContext, req: ListGroupsRequest): Promise<DeepPartial<ListGroupsResponse>> => {
    const acl = requestAcl(b, ctx);
    const r = await groups.listGroups({ statesFilter: req.statesFilter, typesFilter: req.typesFilter });
    const visible = acl.allowedOnCluster('DESCRIBE') ? r.groups : r.groups.filter((g) => acl.allowed('DESCRIBE', 'GROUP', g.groupId));
    return { throttleTimeMs: 0, errorCode: r.errorCode, groups: visible };
  });

  add(ApiKey.DescribeGroups, { min: 0, max: 5 }, async (ctx: RequestContext, req: DescribeGroupsRequest): Promise<DeepPartial<DescribeGroupsResponse>> => {
    const acl = requestAcl(b, ctx);
    const refused = (groupId: string, errorCode: number) => ({ groupId, errorCode, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED });
    const mayDescribe = req.groups.map((g) => acl.allowed('DESCRIBE', 'GROUP', g));
    const described = new Map((await groups.describeGroups(req.groups.filter((_, i) => mayDescribe[i]))).map((g) => [g.groupId, g]));
    const withOperations = ctx.header.apiVersion >= 3 && req.includeAuthorizedOperations;
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((groupId, i) => {
        if (!mayDescribe[i]) return refused(groupId, GROUP_DENIED);
        if (notMine(groupId)) return refused(groupId, NOT_COORDINATOR);
        const g = described.get(groupId)!;
        const ops = withOperations && g.errorCode === ErrorCode.NONE ? acl.operations('GROUP', groupId) : AUTHORIZED_OPERATIONS_OMITTED;
        return { ...g, authorizedOperations: ops };
      }),
    };
  });

  add(ApiKey.DeleteGroups, { min: 0, max: 2 }, async (ctx: RequestContext, req: DeleteGroupsRequest): Promise<DeepPartial<DeleteGroupsResponse>> => {
    const acl = requestAcl(b, ctx);
    const mine: string[] = [];
    const others: { groupId: string; errorCode: number }[] = [];
    for (const groupId of new Set(req.groupsNames)) {
      if (!acl.allowed('DELETE', 'GROUP', groupId)) others.push({ groupId, errorCode: GROUP_DENIED });
      else if (notMine(groupId)) others.push({ groupId, errorCode: NOT_COORDINATOR });
      else mine.push(groupId);
    }
    const results = [...await groups.deleteGroups(mine), ...others];
    return { throttleTimeMs: 0, results };
  });

  add(ApiKey.OffsetDelete, { min: 0, max: 0 }, async (ctx: RequestContext, req: OffsetDeleteRequest): Promise<DeepPartial<OffsetDeleteResponse>> => {
    const acl = requestAcl(b, ctx);
    if (!acl.allowed('DELETE', 'GROUP', req.groupId)) return { throttleTimeMs: 0, errorCode: GROUP_DENIED, topics: [] };
    if (notMine(req.groupId)) return { throttleTimeMs: 0, errorCode: NOT_COORDINATOR, topics: [] };
    const readable = (topic: string) => acl.allowed('READ', 'TOPIC', topic);
    const r = await groups.deleteOffsets({ groupId: req.groupId, topics: req.topics.filter((t) => readable(t.name)) });
    if (r.errorCode !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: r.errorCode, topics: [] };
    const refused = req.topics.filter((t) => !readable(t.name))
      .map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })) }));
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics: [...r.topics, ...refused] };
  });
}
