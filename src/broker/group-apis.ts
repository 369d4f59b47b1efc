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
import { commitAnswer, existingPartitions } from './offset-commit-topics.js';

type Add = (key: number, v: { min: number; max: number }, handler: Handler) => void;

export function registerGroupApis(b: BrokerContext, add: Add): void {
  const groups = b.groups;
  // In a cluster each group has one coordinator (FindCoordinator names it); others refuse.
  const notMine = (groupId: string): boolean => b.leadership.clustered && b.leadership.coordinatorFor(groupId)?.nodeId !== b.self.nodeId;
  const NOT_COORDINATOR = ErrorCode.NOT_COORDINATOR;

  b.topics.onTopicsRemoved((topics) => groups.deleteTopicOffsets(topics.map((t) => ({ name: t.name, topicId: t.topicId }))));
  // OffsetFetch waits for this, so no client sees offsets of a topic that is gone.
  const swept: Promise<void> = b.leadership.clustered ? Promise.resolve() : groups.deleteOffsetsOfMissingTopics(new Map(b.topics.list().map((t) => [t.name, t.topicId]))).then(
    (refs) => { if (refs.length > 0) b.log.info({ topics: refs.map((r) => r.name) }, 'removed committed offsets of topics that no longer exist'); },
    (err) => b.log.warn({ err }, 'could not remove committed offsets of topics that no longer exist'),
  );

  add(ApiKey.JoinGroup, { min: 0, max: 9 }, async (ctx: RequestContext, req: JoinGroupRequest): Promise<DeepPartial<JoinGroupResponse>> => {
    const v = ctx.header.apiVersion;
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
    if (notMine(req.groupId)) return { throttleTimeMs: 0, errorCode: NOT_COORDINATOR, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
    const r = await groups.syncGroup({
      groupId: req.groupId, generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId,
      protocolType: ctx.header.apiVersion >= 5 ? req.protocolType : null, protocolName: ctx.header.apiVersion >= 5 ? req.protocolName : null,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
    });
    return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
  });

  add(ApiKey.Heartbeat, { min: 0, max: 4 }, async (_ctx: RequestContext, req: HeartbeatRequest): Promise<DeepPartial<HeartbeatResponse>> => {
    if (notMine(req.groupId)) return { throttleTimeMs: 0, errorCode: NOT_COORDINATOR };
    const r = await groups.heartbeat({ groupId: req.groupId, generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId });
    return { throttleTimeMs: 0, errorCode: r.errorCode };
  });

  add(ApiKey.LeaveGroup, { min: 0, max: 5 }, async (ctx: RequestContext, req: LeaveGroupRequest): Promise<DeepPartial<LeaveGroupResponse>> => {
    const v = ctx.header.apiVersion;
    const members = v <= 2 ? [{ memberId: req.memberId, groupInstanceId: null }] : req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: m.reason }));
    if (notMine(req.groupId)) return v <= 2 ? { throttleTimeMs: 0, errorCode: NOT_COORDINATOR } : { throttleTimeMs: 0, errorCode: NOT_COORDINATOR, members: [] };
    const r = await groups.leaveGroup({ groupId: req.groupId, members });
    if (v <= 2) return { throttleTimeMs: 0, errorCode: leaveGroupV0Error(r) };
    return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
  });

  add(ApiKey.OffsetCommit, { min: 0, max: 9 }, async (ctx: RequestContext, req: OffsetCommitRequest): Promise<DeepPartial<OffsetCommitResponse>> => {
    if (notMine(req.groupId)) {
      return { throttleTimeMs: 0, topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: NOT_COORDINATOR })) })) };
    }
    const known = existingPartitions(b.topics, req.topics);
    const r = known.length
      ? await groups.commitOffsets({
        apiVersion: ctx.header.apiVersion, groupId: req.groupId, generationId: req.generationIdOrMemberEpoch,
        memberId: req.memberId, groupInstanceId: req.groupInstanceId, topics: known,
      })
      : { topics: [] };
    return { throttleTimeMs: 0, topics: commitAnswer(req.topics, r) };
  });

  add(ApiKey.OffsetFetch, { min: 0, max: 9 }, async (ctx: RequestContext, req: OffsetFetchRequest): Promise<DeepPartial<OffsetFetchResponse>> => {
    const v = ctx.header.apiVersion;
    await swept;
    const fetchOne = (groupId: string, topics: { name: string; partitionIndexes: number[] }[] | null): Promise<OffsetFetchResult> =>
      notMine(groupId) ? Promise.resolve({ errorCode: NOT_COORDINATOR, topics: [] })
        : (b.leadership.clustered ? groups.adoptGroup(groupId) : Promise.resolve()).then(() => groups.fetchOffsets({ groupId, topics, requireStable: req.requireStable }));
    if (v >= 8) {
      const results = await Promise.all(req.groups.map((g) => fetchOne(g.groupId, g.topics)));
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
      // No top-level error field: report it on every partition.
      for (const t of topics) for (const p of t.partitions) p.errorCode = r.errorCode;
    }
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics };
  });

  add(ApiKey.ListGroups, { min: 0, max: 5 }, async (_ctx: RequestContext, req: ListGroupsRequest): Promise<DeepPartial<ListGroupsResponse>> => {
    const r = await groups.listGroups({ statesFilter: req.statesFilter, typesFilter: req.typesFilter });
    return { throttleTimeMs: 0, errorCode: r.errorCode, groups: r.groups };
  });

  add(ApiKey.DescribeGroups, { min: 0, max: 5 }, async (_ctx: RequestContext, req: DescribeGroupsRequest): Promise<DeepPartial<DescribeGroupsResponse>> => {
    const described = await groups.describeGroups(req.groups);
    return {
      throttleTimeMs: 0,
      groups: described.map((g) => (notMine(g.groupId)
        ? { groupId: g.groupId, errorCode: NOT_COORDINATOR, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: -2147483648 }
        : { ...g, authorizedOperations: -2147483648 })),
    };
  });

  add(ApiKey.DeleteGroups, { min: 0, max: 2 }, async (_ctx: RequestContext, req: DeleteGroupsRequest): Promise<DeepPartial<DeleteGroupsResponse>> => {
    const mine = req.groupsNames.filter((g) => !notMine(g));
    const results = [...await groups.deleteGroups(mine), ...req.groupsNames.filter(notMine).map((groupId) => ({ groupId, errorCode: NOT_COORDINATOR }))];
    return { throttleTimeMs: 0, results };
  });

  add(ApiKey.OffsetDelete, { min: 0, max: 0 }, async (_ctx: RequestContext, req: OffsetDeleteRequest): Promise<DeepPartial<OffsetDeleteResponse>> => {
    if (notMine(req.groupId)) return { throttleTimeMs: 0, errorCode: NOT_COORDINATOR, topics: [] };
    const r = await groups.deleteOffsets({ groupId: req.groupId, topics: req.topics });
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
  });
}
