/**
 * Manual replica assignments of CreateTopics and CreatePartitions, with replication factor 1: an
 * assignment of one broker per partition places that partition's leader there (Kafka's tools and
 * librdkafka's admin tests send `[[broker]]` per partition on a one-replica cluster). More than one
 * broker is INVALID_REPLICATION_FACTOR (the volume is the replication); an unknown broker, a
 * duplicate or missing partition index INVALID_REPLICA_ASSIGNMENT, as Kafka answers.
 *
 * Placement: a single node leads everything, so only its own id is valid. In a cluster the
 * controller places new partitions first; each partition whose leader is not the one asked for is
 * then moved there (a leader move copies nothing), requested within the request's timeout.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { BrokerContext } from './context.js';

/** partition index -> the broker to lead it. */
export type Placement = Map<number, number>;

/** Validates one replica list per partition; returns the placement it asks for. */
export function placementOf(b: BrokerContext, firstPartition: number, lists: Array<{ partitionIndex: number; brokerIds: number[] }>): Placement {
  const placement: Placement = new Map();
  for (const a of lists) {
    if (a.brokerIds.length > 1) {
      throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, `partition ${a.partitionIndex} lists ${a.brokerIds.length} replicas; Ferry keeps one replica per partition (its WAL volume is replicated by the cloud)`);
    }
    const broker = a.brokerIds[0];
    if (broker === undefined) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${a.partitionIndex} lists no replica`);
    if (placement.has(a.partitionIndex)) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${a.partitionIndex} is assigned twice`);
    const known = b.leadership.clustered ? b.leadership.broker(broker) !== null : broker === b.self.nodeId;
    if (!known) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `broker ${broker} (partition ${a.partitionIndex}) is not a live broker of this cluster`);
    placement.set(a.partitionIndex, broker);
  }
  for (let i = 0; i < placement.size; i++) {
    if (!placement.has(firstPartition + i)) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partitions must be numbered consecutively from ${firstPartition}; ${firstPartition + i} is missing`);
    }
  }
  return placement;
}

/**
 * Moves each placed partition whose leader is another broker. Waits (up to timeoutMs) for the
 * controller to give the new partitions their first leaders. Failures are logged: the topic exists
 * and serves wherever the controller put it.
 */
export async function applyPlacement(b: BrokerContext, topicName: string, placement: Placement, timeoutMs: number): Promise<void> {
  const moves = b.partitionMoves;
  if (!b.leadership.clustered || !moves || placement.size === 0) return;
  const deadline = Date.now() + Math.max(1000, timeoutMs);
  const pending = new Map(placement);
  while (pending.size > 0 && Date.now() < deadline) {
    const topic = b.topics.byName(topicName);
    for (const [p, to] of [...pending]) {
      const leader = topic ? b.leadership.leaderOf(topic.topicId, p) : null;
      if (!leader) continue;
      pending.delete(p);
      if (leader.nodeId === to) continue;
      const r = await moves.move(topicName, p, to, Math.max(0, deadline - Date.now())).catch((err: Error) => ({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: err.message }));
      if (r.errorCode !== ErrorCode.NONE) b.log.warn({ topic: topicName, partition: p, to, errorCode: r.errorCode, reason: r.errorMessage }, 'could not place a partition on the broker its replica assignment names');
    }
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (pending.size > 0) b.log.warn({ topic: topicName, partitions: [...pending.keys()] }, 'partitions got no leader in time to be placed as assigned');
}
