// Partition leader assignment: a pure, deterministic function from (eligible brokers with racks,
// partitions with their current leaders) to the leader changes the controller should make.
//
// Rules, in priority order:
//   1. Every partition gets an eligible leader. Partitions whose leader is not eligible (dead,
//      draining, unknown, or none) are "orphans" and must move.
//   2. balance: true -- leader counts per broker end within ±1 of each other (q or q+1 for
//      q = floor(N/B)), with the fewest moves that achieve it: the r = N mod B brokers that already
//      lead the most keep q+1, everyone else keeps at most q, and only the excess and the orphans
//      move. So a dead broker moves only its own partitions (plus what balance then needs), and a
//      new broker takes exactly its share.
//      balance: false ("repair") -- only orphans move, each to the least loaded broker.
//   3. Tie-breakers that spread each topic: an excess broker gives away partitions of the topics it
//      leads most above their fair share (topic size / brokers); a partition goes to the eligible
//      broker leading the fewest of its topic, then whose rack leads the fewest of its topic per
//      broker in that rack, then with the most room, then the lowest id.
// Determinism: inputs are sorted first, so the same state gives the same answer on every controller.
// Epochs: every change bumps the partition's leader epoch (newEpoch = leaderEpoch + 1).
//
// API: computeAssignment(brokers, partitions, { balance }) -> { changes, loads }
//      minimalMoves(brokers, partitions) -> number (the lower bound rule 2 achieves; for tests/metrics)
//      types AssignmentBroker, AssignmentPartition, LeaderChange

import assert from 'node:assert/strict';

export interface AssignmentBroker {
  nodeId: number;
  rack: string | null;
}

export interface AssignmentPartition {
  topicId: string;
  partition: number;
  /** The current (or already intended) leader; null for none. */
  leader: number | null;
  leaderEpoch: number;
}

export interface LeaderChange {
  topicId: string;
  partition: number;
  from: number | null;
  to: number;
  newEpoch: number;
  reason: 'orphan' | 'balance';
}

export interface AssignmentResult {
  changes: LeaderChange[];
  /** Leader count per eligible broker after the changes. */
  loads: Map<number, number>;
}

const byPartition = (a: { topicId: string; partition: number }, b: { topicId: string; partition: number }): number =>
  (a.topicId < b.topicId ? -1 : a.topicId > b.topicId ? 1 : a.partition - b.partition);

/** Per-broker and per-rack counts of each topic's partitions, kept current as partitions move. */
class Spread {
  private readonly byBroker = new Map<number, Map<string, number>>();
  private readonly byRack = new Map<string, Map<string, number>>();
  constructor(private readonly rackOf: Map<number, string>) {}

  onBroker(nodeId: number, topicId: string): number { return this.byBroker.get(nodeId)?.get(topicId) ?? 0; }
  onRack(nodeId: number, topicId: string): number { return this.byRack.get(this.rackOf.get(nodeId)!)?.get(topicId) ?? 0; }

  add(nodeId: number, topicId: string, delta: number): void {
    bump(this.byBroker, nodeId, topicId, delta);
    bump(this.byRack, this.rackOf.get(nodeId)!, topicId, delta);
  }
}

function bump<K>(m: Map<K, Map<string, number>>, k: K, topicId: string, delta: number): void {
  let inner = m.get(k);
  if (!inner) { inner = new Map(); m.set(k, inner); }
  const v = (inner.get(topicId) ?? 0) + delta;
  assert.ok(v >= 0);
  inner.set(topicId, v);
}

export function computeAssignment(
  brokersIn: readonly AssignmentBroker[], partitionsIn: readonly AssignmentPartition[], options: { balance: boolean },
): AssignmentResult {
  const brokers = [...brokersIn].sort((a, b) => a.nodeId - b.nodeId);
  for (let i = 1; i < brokers.length; i++) assert.notEqual(brokers[i]!.nodeId, brokers[i - 1]!.nodeId, `broker ${brokers[i]!.nodeId} listed twice`);
  const partitions = [...partitionsIn].sort(byPartition);
  for (let i = 1; i < partitions.length; i++) assert.ok(byPartition(partitions[i - 1]!, partitions[i]!) < 0, `partition ${partitions[i]!.topicId}/${partitions[i]!.partition} listed twice`);
  const loads = new Map<number, number>(brokers.map((b) => [b.nodeId, 0]));
  if (brokers.length === 0) return { changes: [], loads };

  // Brokers without a rack each count as a rack of their own.
  const rackOf = new Map<number, string>(brokers.map((b) => [b.nodeId, b.rack === null ? `\u0000node-${b.nodeId}` : `r:${b.rack}`]));
  const spread = new Spread(rackOf);
  const owned = new Map<number, AssignmentPartition[]>(brokers.map((b) => [b.nodeId, []]));
  const pool: AssignmentPartition[] = [];
  for (const p of partitions) {
    const list = p.leader === null ? undefined : owned.get(p.leader);
    if (list) {
      list.push(p);
      loads.set(p.leader!, loads.get(p.leader!)! + 1);
      spread.add(p.leader!, p.topicId, 1);
    } else {
      pool.push(p);
    }
  }
  const orphans = new Set(pool);
  const topicSizes = new Map<string, number>();
  for (const p of partitions) topicSizes.set(p.topicId, (topicSizes.get(p.topicId) ?? 0) + 1);
  const rackSizes = new Map<string, number>();
  for (const r of rackOf.values()) rackSizes.set(r, (rackSizes.get(r) ?? 0) + 1);
  /** A topic's leaders in x's rack per broker of that rack: comparable across racks of different sizes. */
  const rackShare = (x: AssignmentBroker, topicId: string): number => spread.onRack(x.nodeId, topicId) / rackSizes.get(rackOf.get(x.nodeId)!)!;

  // Capacities: with balance, q+1 for the r brokers leading the most now (ties: lower id), q for the rest.
  const caps = new Map<number, number>();
  if (options.balance) {
    const n = partitions.length;
    const q = Math.floor(n / brokers.length);
    const r = n % brokers.length;
    const order = [...brokers].sort((a, b) => loads.get(b.nodeId)! - loads.get(a.nodeId)! || a.nodeId - b.nodeId);
    order.forEach((b, i) => caps.set(b.nodeId, i < r ? q + 1 : q));
    // Excess: each over-cap broker gives away partitions of the topics it leads most of.
    for (const b of brokers) {
      const list = owned.get(b.nodeId)!;
      let excess = loads.get(b.nodeId)! - caps.get(b.nodeId)!;
      while (excess-- > 0) {
        // Give away the partition whose topic this broker holds most above that topic's fair share;
        // then the highest partition (keeps low partitions where they are).
        let best = -1;
        let bestSurplus = -Infinity;
        for (let i = 0; i < list.length; i++) {
          const x = list[i]!;
          const surplus = spread.onBroker(b.nodeId, x.topicId) - topicSizes.get(x.topicId)! / brokers.length;
          if (surplus > bestSurplus || (surplus === bestSurplus && x.topicId === list[best]!.topicId)) {
            best = i;
            bestSurplus = surplus;
          }
        }
        const [p] = list.splice(best, 1);
        loads.set(b.nodeId, loads.get(b.nodeId)! - 1);
        spread.add(b.nodeId, p!.topicId, -1);
        pool.push(p!);
      }
    }
    pool.sort(byPartition);
  }

  const changes: LeaderChange[] = [];
  for (const p of pool) {
    let best: AssignmentBroker | null = null;
    for (const b of brokers) {
      const room = options.balance ? caps.get(b.nodeId)! - loads.get(b.nodeId)! : -loads.get(b.nodeId)!;
      if (options.balance && room <= 0) continue;
      if (best === null) { best = b; continue; }
      const bestRoom = options.balance ? caps.get(best.nodeId)! - loads.get(best.nodeId)! : -loads.get(best.nodeId)!;
      const key = (x: AssignmentBroker, xRoom: number): number[] => options.balance
        ? [spread.onBroker(x.nodeId, p.topicId), rackShare(x, p.topicId), -xRoom, x.nodeId]
        : [-xRoom, spread.onBroker(x.nodeId, p.topicId), rackShare(x, p.topicId), x.nodeId];
      if (lexLess(key(b, room), key(best, bestRoom))) best = b;
    }
    assert.ok(best !== null, 'capacities cover every partition');
    loads.set(best.nodeId, loads.get(best.nodeId)! + 1);
    spread.add(best.nodeId, p.topicId, 1);
    if (best.nodeId !== p.leader) {
      changes.push({ topicId: p.topicId, partition: p.partition, from: p.leader, to: best.nodeId, newEpoch: p.leaderEpoch + 1, reason: orphans.has(p) ? 'orphan' : 'balance' });
    }
  }
  changes.sort(byPartition);
  return { changes, loads };
}

/** The fewest leader changes that reach rule 1 and rule 2 (independent of computeAssignment, for checks). */
export function minimalMoves(brokers: readonly AssignmentBroker[], partitions: readonly AssignmentPartition[]): number {
  if (brokers.length === 0) return 0;
  const counts = new Map<number, number>(brokers.map((b) => [b.nodeId, 0]));
  let orphans = 0;
  for (const p of partitions) {
    if (p.leader !== null && counts.has(p.leader)) counts.set(p.leader, counts.get(p.leader)! + 1);
    else orphans++;
  }
  const q = Math.floor(partitions.length / brokers.length);
  const r = partitions.length % brokers.length;
  let excess = 0;
  let high = 0;
  for (const c of counts.values()) {
    if (c > q + 1) excess += c - q - 1;
    if (c >= q + 1) high++;
  }
  return orphans + excess + Math.max(0, high - r);
}

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}
