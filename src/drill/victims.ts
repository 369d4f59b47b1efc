// Which broker(s) a cycle's fault hits. Explicit choices (--broker, --rack) win; otherwise rotate
// so consecutive cycles hit different brokers/racks, preferring brokers that lead drill partitions
// (killing a broker that leads nothing proves little).
import type { BrokerInfo, PartitionInfo } from '../admin/admin-client.js';

export class VictimError extends Error {
  readonly code = 'NO_VICTIM';
  constructor(message: string) {
    super(message);
    this.name = 'VictimError';
  }
}

/** The smallest element greater than `last` in sorted ids, wrapping around; the first if last is null. */
export function rotateAfter<T extends number | string>(sorted: readonly T[], last: T | null): T {
  if (sorted.length === 0) throw new VictimError('nothing to rotate over');
  if (last === null) return sorted[0]!;
  return sorted.find((x) => x > last) ?? sorted[0]!;
}

export function leaderCounts(partitions: readonly PartitionInfo[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const p of partitions) if (p.leader >= 0) m.set(p.leader, (m.get(p.leader) ?? 0) + 1);
  return m;
}

/** One broker: `explicit` if given (must be listed), else the next leader of drill partitions after `last`. */
export function pickBroker(brokers: readonly BrokerInfo[], partitions: readonly PartitionInfo[], last: number | null, explicit?: number): BrokerInfo {
  if (explicit !== undefined) {
    const b = brokers.find((x) => x.nodeId === explicit);
    if (!b) throw new VictimError(`broker ${explicit} is not in the cluster metadata (brokers: ${brokers.map((x) => x.nodeId).join(', ') || 'none'})`);
    return b;
  }
  if (brokers.length === 0) throw new VictimError('the cluster metadata lists no broker');
  const leaders = leaderCounts(partitions);
  const leading = brokers.filter((b) => (leaders.get(b.nodeId) ?? 0) > 0).map((b) => b.nodeId).sort((a, b) => a - b);
  const pool = leading.length > 0 ? leading : brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  const id = rotateAfter(pool, last);
  return brokers.find((b) => b.nodeId === id)!;
}

/** Every broker of one rack: `explicit` if given, else the next rack after `last`. */
export function pickRack(brokers: readonly BrokerInfo[], last: string | null, explicit?: string): { rack: string; brokers: BrokerInfo[] } {
  const racks = [...new Set(brokers.map((b) => b.rack).filter((r): r is string => r !== null && r !== ''))].sort();
  if (racks.length === 0) throw new VictimError('no broker in the cluster metadata has a rack (set broker.rack on the brokers)');
  const rack = explicit ?? rotateAfter(racks, last);
  const members = brokers.filter((b) => b.rack === rack);
  if (members.length === 0) throw new VictimError(`rack ${rack} has no broker in the cluster metadata (racks: ${racks.join(', ')})`);
  return { rack, brokers: members };
}

/**
 * Zone-local produce: the brokers a zone's clients are told lead partitions that another broker
 * really leads (the proxies), with those partitions. `zoneView` is Metadata asked as a client of
 * the zone (ferry_az in the client id), `real` as a plain client.
 */
export function proxiedPartitions(real: readonly PartitionInfo[], zoneView: readonly PartitionInfo[]): Map<number, number[]> {
  const leaderOf = new Map(real.map((p) => [p.partition, p.leader]));
  const out = new Map<number, number[]>();
  for (const p of zoneView) {
    const leader = leaderOf.get(p.partition);
    if (p.leader < 0 || leader === undefined || leader < 0 || leader === p.leader) continue;
    out.set(p.leader, [...(out.get(p.leader) ?? []), p.partition]);
  }
  return out;
}

/** One proxy broker: `explicit` if given (must proxy a drill partition), else the next proxy after `last`. */
export function pickProxy(brokers: readonly BrokerInfo[], real: readonly PartitionInfo[], zoneView: readonly PartitionInfo[], last: number | null, explicit?: number): BrokerInfo {
  const proxies = proxiedPartitions(real, zoneView);
  const ids = [...proxies.keys()].filter((id) => brokers.some((b) => b.nodeId === id)).sort((a, b) => a - b);
  if (ids.length === 0) throw new VictimError('no drill partition is proxied for the client zone: Metadata names its real leader to the zone\'s clients (is the topic ferry.produce.routing=zone-local, and does the zone have a live broker other than the leaders?)');
  if (explicit !== undefined) {
    if (!ids.includes(explicit)) throw new VictimError(`broker ${explicit} proxies no drill partition for the client zone (proxies: ${ids.join(', ')})`);
    return brokers.find((b) => b.nodeId === explicit)!;
  }
  const id = rotateAfter(ids, last);
  return brokers.find((b) => b.nodeId === id)!;
}

/** Partitions whose leader is one of the victims. */
export function affectedPartitions(partitions: readonly PartitionInfo[], victims: readonly number[]): number[] {
  return partitions.filter((p) => victims.includes(p.leader)).map((p) => p.partition).sort((a, b) => a - b);
}
