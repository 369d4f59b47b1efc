// Which broker coordinates a consumer group: rendezvous (highest-random-weight) hashing of the
// group id over the live broker ids. Every broker computes the same answer from the same broker
// set; when a broker joins or leaves, only the groups it wins or held change coordinator (about
// 1/n of them), unlike `hash mod n`, which would move almost every group.
// Group state that must survive a coordinator change (committed offsets) lives in the metadata
// store; in-memory membership simply rebalances, as after a Kafka coordinator move.
//
// API: coordinatorFor(groupId, brokerIds) -> nodeId | null (null: no brokers)

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

/** 32-bit FNV-1a of "<group>\0<id>", then a murmur3 finalizer so near keys spread. */
function weight(groupId: string, nodeId: number): number {
  let h = 0x811c9dc5;
  const s = `${groupId}\u0000${nodeId}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
