// Which broker coordinates a consumer group: rendezvous (highest-random-weight) hashing of the
// group id over the live broker ids. Every broker computes the same answer from the same broker
// set; when a broker joins or leaves, only the groups it wins or held change coordinator (about
// 1/n of them), unlike `hash mod n`, which would move almost every group.
// Group state that must survive a coordinator change (committed offsets) lives in the metadata
// store; in-memory membership simply rebalances, as after a Kafka coordinator move.
//
// API: coordinatorFor(groupId, brokerIds) -> nodeId | null (null: no brokers)

import { hash32 } from '../common/hash32.js';

export function coordinatorFor(groupId: string, brokerIds: readonly number[]): number | null {
  let best: number | null = null;
  let bestWeight = -1;
  for (const id of brokerIds) {
    const w = weight(groupId, id);
    if (w > bestWeight || (w === bestWeight && best !== null && id < best)) {
      best = id;
      bestWeight = w;
    }
  }
  return best;
}

/** The weight of broker `nodeId` for `groupId`. */
function weight(groupId: string, nodeId: number): number {
  return hash32(`${groupId}\u0000${nodeId}`);
}
