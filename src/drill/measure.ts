// Numbers the drill derives from its ledger: time until each partition was writable again after a
// fault, percentile summaries, and the produce-latency timeline (bucketed, so its size is bounded).
import { Ledger, SendState } from './ledger.js';

export interface Summary { count: number; p50: number | null; p99: number | null; max: number | null }

/** Nearest-rank percentiles of `values` (ms, rounded to 0.1). */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { count: 0, p50: null, p99: null, max: null };
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => round1(s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!);
  return { count: s.length, p50: at(0.5), p99: at(0.99), max: round1(s[s.length - 1]!) };
}

export const round1 = (x: number) => Math.round(x * 10) / 10;

/** First ledger index whose send started at or after t (sends are recorded in time order). */
export function firstIndexAtOrAfter(ledger: Ledger, t: number): number {
  let lo = 0, hi = ledger.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ledger.sendMs(mid) < t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * Per partition: ms from t0 to the first ack of a send that started at or after t0 (the partition
 * is writable again), or absent when there is none yet. `from` is firstIndexAtOrAfter(ledger, t0).
 */
export function writableAfter(ledger: Ledger, t0: number, from = firstIndexAtOrAfter(ledger, t0)): Map<number, number> {
  const out = new Map<number, number>();
  for (let i = from; i < ledger.size; i++) {
    if (ledger.state(i) !== SendState.Acked || ledger.sendMs(i) < t0) continue;
    const p = ledger.partition(i);
    const ms = ledger.ackMs(i) - t0;
    const prev = out.get(p);
    if (prev === undefined || ms < prev) out.set(p, ms);
  }
  return out;
}

/**
 * Per partition: the longest time within [t0, end] without an acknowledgement (from t0, between
 * acks, and to `end`): how long the partition could not be written, however the outage started.
 * A first-ack-after-t0 time misses an outage that begins after t0 (e.g. etcd gone: brokers keep
 * writing until their leases run out). `from` should start a little before t0 (sends in flight).
 */
export function longestAckGap(ledger: Ledger, t0: number, end: number, from = 0): Map<number, number> {
  const acks = new Map<number, number[]>();
  for (let i = from; i < ledger.size; i++) {
    if (ledger.state(i) !== SendState.Acked) continue;
    const at = ledger.ackMs(i);
    if (at < t0 || at > end) continue;
    const p = ledger.partition(i);
    let list = acks.get(p);
    if (!list) acks.set(p, (list = []));
    list.push(at);
  }
  const out = new Map<number, number>();
  for (const [p, list] of acks) {
    list.sort((a, b) => a - b);
    let prev = t0;
    let gap = 0;
    for (const at of list) { gap = Math.max(gap, at - prev); prev = at; }
    out.set(p, Math.max(gap, end - prev));
  }
  return out;
}

/** Produce latencies (ack − send) of acknowledged messages with index in [from, to). */
export function latencies(ledger: Ledger, from = 0, to = ledger.size, filter?: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) if (ledger.state(i) === SendState.Acked && (!filter || filter(i))) out.push(ledger.ackMs(i) - ledger.sendMs(i));
  return out;
}

/** One timeline bucket: [start ms relative to the run, p50 latency, max latency, acks, failed sends]. */
export type TimelinePoint = [number, number, number, number, number];

/**
 * Latency over time in buckets of bucketMs by send time (a send stuck through an outage shows at
 * the moment it started, with its full latency). Buckets with no ack and no failure are omitted.
 */
export function latencyTimeline(ledger: Ledger, startMs: number, bucketMs: number): TimelinePoint[] {
  if (!(bucketMs > 0)) throw new RangeError(`bucketMs ${bucketMs}`);
  const buckets = new Map<number, { lat: number[]; failed: number }>();
  for (let i = 0; i < ledger.size; i++) {
    const s = ledger.state(i);
    if (s === SendState.Pending) continue;
    const b = Math.floor((ledger.sendMs(i) - startMs) / bucketMs);
    let e = buckets.get(b);
    if (!e) { e = { lat: [], failed: 0 }; buckets.set(b, e); }
    if (s === SendState.Acked) e.lat.push(ledger.ackMs(i) - ledger.sendMs(i));
    else e.failed++;
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([b, e]) => {
    const sum = summarize(e.lat);
    return [b * bucketMs, sum.p50 ?? 0, sum.max ?? 0, e.lat.length, e.failed];
  });
}

/** A bucket size that keeps the timeline near `pointsMax` points. */
export function timelineBucketMs(durationMs: number, pointsMax = 1500): number {
  const raw = Math.max(50, durationMs / pointsMax);
  const steps = [50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000];
  return steps.find((s) => s >= raw) ?? Math.ceil(raw / 60_000) * 60_000;
}
