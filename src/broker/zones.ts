/**
 * Zones (racks, AZs) of clients and the broker that serves a client's zone.
 *
 * A client's zone is Fetch's rackId (client.rack, v11+) or the `ferry_az=<zone>` token of its
 * client id (Produce and Metadata carry no rack). Each partition has, in each zone, one broker
 * that serves that zone's clients for it: the zone-local produce proxy and the read replica. The
 * choice depends only on the live membership and the partition's leader, so every broker that
 * sees the same membership makes the same one.
 */
import { clientRackFromClientId } from '../protocol/client-id.js';
import { hash32 } from '../common/hash32.js';
import type { BrokerEndpoint } from './context.js';

/** The zone a client says it is in, or null when it says nothing. */
export function clientZone(clientId: string | null | undefined, rackId?: string | null): string | null {
  if (rackId) return rackId;
  return clientRackFromClientId(clientId);
}

/**
 * The live broker of `zone` that serves `zone`'s clients for the partition, or null when the zone
 * has no live broker. `brokers` is the live membership (Leadership.brokers()).
 *
 * With the partition's leader known, each leader outside the zone is paired with the zone's
 * brokers in turn (leaders and zone brokers sorted by id): a zone broker then proxies for few
 * leaders, so each staging object it writes is read by few leaders (one GET each) and holds more
 * bytes per leader. The object store bills per request: with every proxy serving every leader, a
 * cluster's GETs would grow with the square of its size. When the zone has more brokers than
 * there are leaders outside it, the partitions of one leader are spread over its share of them.
 */
export function zoneBrokerFor(brokers: readonly BrokerEndpoint[], zone: string, topicId: string, partition: number, leaderId?: number): BrokerEndpoint | null {
  const inZone = brokers.filter((b) => b.rack === zone).sort((a, b) => a.nodeId - b.nodeId);
  if (inZone.length === 0) return null;
  const outside = brokers.filter((b) => b.rack !== zone).map((b) => b.nodeId).sort((a, b) => a - b);
  const i = leaderId === undefined ? -1 : outside.indexOf(leaderId);
  if (i < 0) return rendezvous(inZone, topicId, partition);
  if (inZone.length <= outside.length) return inZone[i % inZone.length]!;
  return rendezvous(inZone.filter((_, k) => k % outside.length === i), topicId, partition);
}

/** Rendezvous (highest random weight) hashing: stable, and a member leaving moves only its share. */
function rendezvous(candidates: readonly BrokerEndpoint[], topicId: string, partition: number): BrokerEndpoint | null {
  let best: BrokerEndpoint | null = null;
  let bestWeight = -1;
  for (const b of candidates) {
    const w = hash32(`${topicId}/${partition}/${b.nodeId}`);
    if (w > bestWeight || (w === bestWeight && best !== null && b.nodeId < best.nodeId)) { best = b; bestWeight = w; }
  }
  return best;
}

/** Every zone with a live broker, sorted. */
export function liveZones(brokers: readonly BrokerEndpoint[]): string[] {
  return [...new Set(brokers.map((b) => b.rack).filter((r): r is string => r !== null && r !== ''))].sort();
}
