/**
 * AlterPartitionReassignments (api key 45) and ListPartitionReassignments (api key 46), version 0,
 * mapped onto Ferry's replication factor 1 (DESIGN §6).
 *
 * Alter: replicas=[X] moves the partition's leader to broker X, gracefully (the old leader stops
 * writes, uploads what is pending, releases; X leads at epoch + 1; no data is copied). The answer
 * comes once the move is requested (as Kafka answers once a reassignment is started), within
 * timeoutMs. More than one replica, none, or a broker that is not live (or is draining):
 * INVALID_REPLICA_ASSIGNMENT. replicas=null cancels the partition's pending move
 * (NO_REASSIGNMENT_IN_PROGRESS when there is none). A move already under way to another broker:
 * REASSIGNMENT_IN_PROGRESS (cancel it first). A single node: moving to itself is a no-op success.
 *
 * List: the moves in progress, as Kafka tools expect them during a reassignment: replicas = target
 * then current ([to, from], Kafka's merged order), addingReplicas [to], removingReplicas [from].
 *
 * ACLs (Kafka's): ALTER on the cluster for Alter (CLUSTER_AUTHORIZATION_FAILED on the request and
 * every partition), DESCRIBE on the cluster for List.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse } from '../protocol/messages/alter-partition-reassignments.js';
import type { ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse } from '../protocol/messages/list-partition-reassignments.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext, BrokerEndpoint, PartitionMoveResult, PartitionMoves } from './context.js';
import { requestAcl } from './authorize.js';

export const ALTER_PARTITION_REASSIGNMENTS_VERSIONS = { min: 0, max: 0 } as const;
export const LIST_PARTITION_REASSIGNMENTS_VERSIONS = { min: 0, max: 0 } as const;
/** Longest a request may hold its connection, whatever timeoutMs asks. */
const TIMEOUT_MS_MAX = 60_000;

type AlterResponse = DeepPartial<AlterPartitionReassignmentsResponse>;
type ListResponse = DeepPartial<ListPartitionReassignmentsResponse>;

const ok: PartitionMoveResult = { errorCode: ErrorCode.NONE, errorMessage: null };
const fail = (errorCode: number, errorMessage: string): PartitionMoveResult => ({ errorCode, errorMessage });

/** A single node: every partition is here and stays here. */
export function singleNodeMoves(self: BrokerEndpoint, leads: (topicId: string, partition: number) => boolean): PartitionMoves {
  return {
    move: async (_topic, _p, to) => to === self.nodeId ? ok : fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `broker ${to} is not in this cluster (a single node: broker ${self.nodeId} only)`),
    cancel: async (topic, p) => fail(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, `no reassignment of ${topic}-${p} is in progress`),
    list: async () => [],
    recordedLeader: (topicId, p) => leads(topicId, p) ? self.nodeId : null,
  };
}

/** The context's moves, or a single node's when the context has none. */
export function movesOf(b: BrokerContext): PartitionMoves {
  return b.partitionMoves ?? singleNodeMoves(b.self, (t, p) => b.logs.get(t, p) !== undefined);
}

export function makeAlterPartitionReassignmentsHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: AlterPartitionReassignmentsRequest): Promise<AlterResponse> => {
    type Asked = AlterPartitionReassignmentsRequest['topics'][number]['partitions'][number];
    const answer = async (f: (topic: string, p: Asked) => PartitionMoveResult | Promise<PartitionMoveResult>) => sequential(req.topics, async (t) => ({
      name: t.name,
      partitions: await sequential(t.partitions, async (p) => ({ partitionIndex: p.partitionIndex, ...(await f(t.name, p)) })),
    }));
    if (!requestAcl(b, ctx).allowedOnCluster('ALTER')) {
      const denied = fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'ALTER on the cluster is required');
      return { throttleTimeMs: 0, ...denied, responses: await answer(() => denied) };
    }
    const moves = movesOf(b);
    const deadline = b.now() + Math.min(Math.max(req.timeoutMs, 0), TIMEOUT_MS_MAX);
    const responses = await answer(async (topic, asked) => {
      const p = asked.partitionIndex;
      const t = b.topics.byName(topic);
      if (!t || p < 0 || p >= t.partitionCount) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic}-${p} does not exist`);
      const replicas = asked.replicas;
      const left = deadline - b.now();
      if (left <= 0) return fail(ErrorCode.REQUEST_TIMED_OUT, `timeoutMs passed before ${topic}-${p} was reached`);
      if (replicas === null) return moves.cancel(topic, p);
      if (replicas.length !== 1) {
        return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, replicas.length === 0
          ? 'the replica list is empty: name the one broker that is to lead the partition'
          : `Ferry keeps one replica per partition (replication factor 1, the data is in the object store): name one broker, the new leader, not ${replicas.length}`);
      }
      const to = replicas[0]!;
      if (!b.leadership.broker(to)) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `broker ${to} is not a live broker of this cluster`);
      return moves.move(topic, p, to, left);
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses };
  };
}

export function makeListPartitionReassignmentsHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: ListPartitionReassignmentsRequest): Promise<ListResponse> => {
    if (!requestAcl(b, ctx).allowedOnCluster('DESCRIBE')) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'DESCRIBE on the cluster is required', topics: [] };
    }
    const wanted = req.topics === null ? null : new Map(req.topics.map((t) => [t.name, new Set(t.partitionIndexes)]));
    const byTopic = new Map<string, { partitionIndex: number; replicas: number[]; addingReplicas: number[]; removingReplicas: number[] }[]>();
    for (const m of await movesOf(b).list()) {
      const name = b.topics.byId(m.topicId)?.name;
      if (name === undefined) continue; // being deleted
      if (wanted && !wanted.get(name)?.has(m.partition)) continue;
      let list = byTopic.get(name);
      if (!list) byTopic.set(name, list = []);
      list.push({ partitionIndex: m.partition, replicas: [m.to, m.from], addingReplicas: [m.to], removingReplicas: [m.from] });
    }
    const topics = [...byTopic].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0))
      .map(([name, partitions]) => ({ name, partitions: partitions.sort((x, y) => x.partitionIndex - y.partitionIndex) }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics };
  };
}

/** One at a time: each move is a few guarded metadata writes, and the deadline is shared. */
async function sequential<T, R>(items: readonly T[], f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const x of items) out.push(await f(x));
  return out;
}
