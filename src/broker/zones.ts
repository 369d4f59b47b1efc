/**
 * Zones (racks, AZs) of clients and the broker that serves a client's zone.
 *
 * A client's zone is Fetch's rackId (client.rack, v11+) or the `ferry_az=<zone>` token of its
 * client id (Produce and Metadata carry no rack). Each partition has, in each zone, one broker
 * that serves that zone's clients for it: the zone-local produce proxy and the read replica. It is
 * chosen by rendezvous hashing over the zone's live brokers, so the choice is the same on every
 * broker that sees the same membership, and a broker joining or leaving moves only its share.
 */
import { clientRackFromClientId } from '../protocol/client-id.js';
import type { BrokerEndpoint } from './context.js';

/** The zone a client says it is in, or null when it says nothing. */
export function clientZone(clientId: string | null | undefined, rackId?: string | null): string | null {
  if (rackId) return rackId;
  return clientRackFromClientId(clientId);
}

/** 32-bit FNV-1a, then a murmur-style finalizer (FNV alone mixes short keys poorly). */
function hash32(s: string): number {
  let h = 0x811c9dc5;
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

/**
 * The live broker of `zone` that serves `zone`'s clients for the partition, or null when the zone
 * has no live broker. `brokers` is the live membership (Leadership.brokers()).
 */
export function zoneBrokerFor(brokers: readonly BrokerEndpoint[], zone: string, topicId: string, partition: number): BrokerEndpoint | null {
  let best: BrokerEndpoint | null = null;
  let bestWeight = -1;
  for (const b of brokers) {
    if (b.rack !== zone) continue;
    const w = hash32(`${topicId}/${partition}/${b.nodeId}`);
    if (w > bestWeight || (w === bestWeight && best !== null && b.nodeId < best.nodeId)) { best = b; bestWeight = w; }
  }
  return best;
}

/** Every zone with a live broker, sorted. */
export function liveZones(brokers: readonly BrokerEndpoint[]): string[] {
  return [...new Set(brokers.map((b) => b.rack).filter((r): r is string => r !== null && r !== ''))].sort();
}
