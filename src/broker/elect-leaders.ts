/**
 * ElectLeaders (api key 43), versions 0–2, with replication factor 1.
 *
 * The leader is a partition's only replica, so it is also its preferred one and there is never
 * another in-sync replica to elect. A partition with a live leader: ELECTION_NOT_NEEDED. A broker
 * counts as live while it is registered, i.e. until its session expires (broker.session.timeout.ms),
 * as Kafka's controller sees a broker until its session times out. One whose leader is gone and not
 * yet failed over (the controller reassigns at once, after the failover hook has made the dead
 * broker's WAL durable; Ferry cannot move it sooner without risking two leaders) is waited for, up
 * to timeoutMs (30 s at most): a live leader then is NONE (elected); otherwise
 * PREFERRED_LEADER_NOT_AVAILABLE (preferred election) or ELIGIBLE_LEADERS_NOT_AVAILABLE (unclean),
 * with the reason.
 *
 * topicPartitions null means every partition; then, as Kafka's controller does, only partitions
 * that needed an election are answered (those already led are left out).
 *
 * ACL (Kafka's): ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED on the request, v1+, and on
 * every partition).
 */
import { ErrorCode } from '../protocol/errors.js';
import type { ElectLeadersRequest, ElectLeadersResponse } from '../protocol/messages/elect-leaders.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { requestAcl } from './authorize.js';
import { movesOf } from './partition-reassignments.js';

export const ELECT_LEADERS_VERSIONS = { min: 0, max: 2 } as const;
const PREFERRED = 0;
const UNCLEAN = 1;
const WAIT_MS_MAX = 30_000;
const POLL_MS = 100;

type Response = DeepPartial<ElectLeadersResponse>;
interface Outcome { partitionId: number; errorCode: number; errorMessage: string | null }

export function makeElectLeadersHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: ElectLeadersRequest): Promise<Response> => {
    const version = ctx.header.apiVersion;
    const electionType = version === 0 ? PREFERRED : req.electionType;
    const asked = req.topicPartitions?.map((t) => ({ topic: t.topic, partitions: [...new Set(t.partitions)] })) ?? null;
    const everyone = (errorCode: number, errorMessage: string): Response => ({
      throttleTimeMs: 0, errorCode,
      replicaElectionResults: (asked ?? []).map((t) => ({ topic: t.topic, partitionResult: t.partitions.map((p) => ({ partitionId: p, errorCode, errorMessage })) })),
    });
    if (!requestAcl(b, ctx).allowedOnCluster('ALTER')) return everyone(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'ALTER on the cluster is required');
    if (electionType !== PREFERRED && electionType !== UNCLEAN) return everyone(ErrorCode.INVALID_REQUEST, `unknown election type ${electionType}`);

    const targets = asked ?? b.topics.list().map((t) => ({ topic: t.name, partitions: Array.from({ length: t.partitionCount }, (_, i) => i) }));
    const results = targets.map((t) => ({ topic: t.topic, topicInfo: b.topics.byName(t.topic), outcomes: [] as Outcome[], partitions: t.partitions }));
    const waiting: { topicId: string; out: Outcome }[] = [];
    for (const r of results) {
      for (const p of r.partitions) {
        const out: Outcome = { partitionId: p, errorCode: ErrorCode.NONE, errorMessage: null };
        r.outcomes.push(out);
        if (!r.topicInfo || p < 0 || p >= r.topicInfo.partitionCount) {
          out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          out.errorMessage = `${r.topic}-${p} does not exist`;
        } else if (b.leadership.leaderOf(r.topicInfo.topicId, p)) {
          out.errorCode = ErrorCode.ELECTION_NOT_NEEDED;
          out.errorMessage = 'the leader is the only replica and it is live';
        } else {
          waiting.push({ topicId: r.topicInfo.topicId, out });
        }
      }
    }
    const deadline = b.now() + Math.min(Math.max(req.timeoutMs, 0), WAIT_MS_MAX);
    let pending = waiting;
    for (;;) {
      pending = pending.filter((w) => b.leadership.leaderOf(w.topicId, w.out.partitionId) === null);
      if (pending.length === 0 || b.now() >= deadline || ctx.signal.aborted) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const moves = movesOf(b);
    for (const w of pending) {
      const recorded = moves.recordedLeader(w.topicId, w.out.partitionId);
      w.out.errorCode = electionType === PREFERRED ? ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE : ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE;
      w.out.errorMessage = recorded === null
        ? 'the partition has no leader assigned yet'
        : `its only replica, on broker ${recorded}, is not live; the controller fails it over once that broker's session expires and its WAL is durable`;
    }
    return {
      throttleTimeMs: 0, errorCode: ErrorCode.NONE,
      replicaElectionResults: results
        .map((r) => ({ topic: r.topic, partitionResult: asked ? r.outcomes : r.outcomes.filter((o) => o.errorCode !== ErrorCode.ELECTION_NOT_NEEDED) }))
        .filter((r) => asked !== null || r.partitionResult.length > 0),
    };
  };
}
