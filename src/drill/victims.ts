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

/** Partitions whose leader is one of the victims. */
export function affectedPartitions(partitions: readonly PartitionInfo[], victims: readonly number[]): number[] {
  return partitions.filter((p) => victims.includes(p.leader)).map((p) => p.partition).sort((a, b) => a - b);
}
