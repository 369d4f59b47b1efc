/**
 * Idempotent-producer state of one partition: per producer id, its epoch and the last 5 batches'
 * sequence ranges (Kafka keeps 5, matching max.in.flight.requests.per.connection <= 5).
 *
 * A batch is checked and recorded before its WAL write; `durable` lets a retried duplicate of a
 * batch still in flight wait for the original instead of being acknowledged early.
 */
import { ErrorCode } from '../protocol/errors.js';
import { PartitionTransactions, type TransactionsSnapshot } from './partition-transactions.js';

export const PRODUCER_BATCHES_KEPT = 5;

export interface SequencedBatch {
  firstSeq: number;
  lastSeq: number;
  /** -1 until the WAL admits the write and offsets are assigned. */
  baseOffset: number;
  lastOffset: number;
  /** Resolves when the batch is durable; rejects if its write failed. */
  durable: Promise<void>;
}

interface ProducerEntry {
  epoch: number;
  batches: SequencedBatch[];
  lastTimestamp: number;
  /** Offset of the producer's last transaction marker here, or -1 (a marker may set the epoch). */
  markerOffset: number;
  /** Broker time (ms) the producer last wrote here (or was restored), for producer.id.expiration.ms. */
  lastSeenMs: number;
}

/** Compact JSON form: producer id as a string (int64), batches as [firstSeq, lastSeq, baseOffset, lastOffset]. */
export type ProducerEntries = { id: string; epoch: number; ts: number; b: [number, number, number, number][]; m?: number }[];
/** What goes with each upload: the producers and (v2) the partition's transactions. Older uploads hold the bare array. */
export type ProducerSnapshot = ProducerEntries | { v: 2; p: ProducerEntries; txn: TransactionsSnapshot };

/** True when a snapshot holds nothing worth storing. */
export function isEmptySnapshot(s: ProducerSnapshot): boolean {
  if (Array.isArray(s)) return s.length === 0;
  return s.p.length === 0 && s.txn.open.length === 0 && s.txn.aborted.length === 0;
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; batch: SequencedBatch }
  | { kind: 'error'; errorCode: number; message: string };

const INT32_MAX = 0x7fffffff;

function nextSeq(seq: number): number { return seq === INT32_MAX ? 0 : seq + 1; }

export class ProducerStateTable {
  private readonly producers = new Map<bigint, ProducerEntry>();
  /** Open and aborted transactions of the partition (beside the producers, snapshotted with them). */
  readonly txns = new PartitionTransactions();

  /** `now`: the broker's clock (ms), injectable for tests. */
  constructor(private readonly now: () => number = Date.now) {}

  get size(): number { return this.producers.size; }

  /**
   * Forget producers that have not written here for `expirationMs` (producer.id.expiration.ms),
   * unless a transaction of theirs is open here or a batch of theirs is still in flight. A retry
   * from such a producer then starts over (UNKNOWN_PRODUCER_ID for a sequence above 0), as in Kafka.
   */
  expire(nowMs: number, expirationMs: number): number {
    let n = 0;
    for (const [producerId, e] of this.producers) {
      if (nowMs - e.lastSeenMs < expirationMs) continue;
      if (this.txns.openFirstOffset(producerId) >= 0 || e.batches.some((b) => b.baseOffset < 0)) continue;
      this.producers.delete(producerId);
      this.txns.forget(producerId);
      n++;
    }
    return n;
  }

  check(producerId: bigint, epoch: number, firstSeq: number, lastSeq: number): SequenceCheck {
    const entry = this.producers.get(producerId);
    if (!entry) {
      if (firstSeq === 0) return { kind: 'append' };
      return { kind: 'error', errorCode: ErrorCode.UNKNOWN_PRODUCER_ID, message: `no state for producer ${producerId}, sequence ${firstSeq}` };
    }
    if (epoch < entry.epoch) {
      return { kind: 'error', errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer ${producerId} epoch ${epoch} is older than ${entry.epoch}` };
    }
    if (epoch > entry.epoch) {
      if (firstSeq === 0) return { kind: 'append' };
      return { kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `new epoch ${epoch} of producer ${producerId} must start at sequence 0, got ${firstSeq}` };
    }
    for (const b of entry.batches) {
      if (b.firstSeq === firstSeq && b.lastSeq === lastSeq) return { kind: 'duplicate', batch: b };
    }
    const last = entry.batches[entry.batches.length - 1];
    if (!last || firstSeq === nextSeq(last.lastSeq)) return { kind: 'append' };
    return {
      kind: 'error', errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      message: `producer ${producerId} sequence ${firstSeq} does not follow ${last.lastSeq}`,
    };
  }

  record(producerId: bigint, epoch: number, batch: SequencedBatch, timestamp: number): void {
    let entry = this.producers.get(producerId);
    if (!entry || entry.epoch !== epoch) {
      entry = { epoch, batches: [], lastTimestamp: timestamp, markerOffset: entry?.markerOffset ?? -1, lastSeenMs: 0 };
      this.producers.set(producerId, entry);
    }
    entry.lastSeenMs = this.now();
    entry.batches.push(batch);
    if (entry.batches.length > PRODUCER_BATCHES_KEPT) entry.batches.shift();
    entry.lastTimestamp = Math.max(entry.lastTimestamp, timestamp);
  }

  /** The producer's current epoch here, or -1 when it has no state. */
  epochOf(producerId: bigint): number { return this.producers.get(producerId)?.epoch ?? -1; }

  /**
   * Whether a marker of (producerId, epoch) may be written: not when the producer has moved to a
   * newer epoch here (its older transaction was already closed by the newer epoch's markers).
   */
  markerIsCurrent(producerId: bigint, epoch: number): boolean {
    const entry = this.producers.get(producerId);
    return !entry || epoch >= entry.epoch;
  }

  /**
   * A transaction marker admitted at `offset`: ends the producer's transaction here and, when it
   * carries a newer epoch (a fencing abort), moves the producer to it so the old epoch's late
   * batches are refused (INVALID_PRODUCER_EPOCH) and the new epoch starts at sequence 0.
   */
  applyMarker(producerId: bigint, epoch: number, offset: number, commit: boolean, timestamp: number): void {
    let entry = this.producers.get(producerId);
    if (!entry || epoch > entry.epoch) {
      entry = { epoch, batches: [], lastTimestamp: timestamp, markerOffset: offset, lastSeenMs: this.now() };
      this.producers.set(producerId, entry);
    } else {
      entry.markerOffset = offset;
      entry.lastTimestamp = Math.max(entry.lastTimestamp, timestamp);
      entry.lastSeenMs = this.now();
    }
    this.txns.onMarker(producerId, offset, commit);
  }

  /** Drop a batch whose write failed, so a retry is not taken for a duplicate. */
  forget(producerId: bigint, batch: SequencedBatch): void {
    const entry = this.producers.get(producerId);
    if (!entry) return;
    const i = entry.batches.indexOf(batch);
    if (i >= 0) entry.batches.splice(i, 1);
  }

  /**
   * The durable part of the state (batches ending below `endOffset`), for a snapshot kept with
   * uploaded data so idempotence survives a restart after the WAL was trimmed. The most recently
   * active `producersMax` producers are kept.
   */
  snapshot(endOffset: number, logStartOffset = 0, producersMax = 1000): ProducerSnapshot {
    const out: ProducerEntries = [];
    for (const [producerId, e] of this.producers) {
      const batches = e.batches.filter((b) => b.baseOffset >= 0 && b.lastOffset < endOffset).map((b): [number, number, number, number] => [b.firstSeq, b.lastSeq, b.baseOffset, b.lastOffset]);
      const marker = e.markerOffset >= 0 && e.markerOffset < endOffset;
      if (batches.length || marker) out.push({ id: producerId.toString(), epoch: e.epoch, ts: e.lastTimestamp, b: batches, ...(marker ? { m: e.markerOffset } : {}) });
    }
    out.sort((a, b) => b.ts - a.ts);
    const txn = this.txns.snapshot(endOffset, logStartOffset);
    // Producers with a transaction open at endOffset are kept whatever their age.
    const open = new Set(txn.open.map(([id]) => id));
    const kept = out.filter((p, i) => i < producersMax || open.has(p.id));
    return { v: 2, p: kept, txn };
  }

  /** Load a snapshot (before replaying newer batches from the WAL). */
  restore(snapshot: ProducerSnapshot): void {
    const entries = Array.isArray(snapshot) ? snapshot : snapshot.p;
    for (const p of entries) {
      const durable = Promise.resolve();
      this.producers.set(BigInt(p.id), {
        epoch: p.epoch, lastTimestamp: p.ts, markerOffset: p.m ?? -1, lastSeenMs: this.now(),
        batches: p.b.map(([firstSeq, lastSeq, baseOffset, lastOffset]) => ({ firstSeq, lastSeq, baseOffset, lastOffset, durable })),
      });
    }
    if (!Array.isArray(snapshot)) this.txns.restore(snapshot.txn);
  }

  /** For DescribeProducers. */
  describe(): { producerId: bigint; epoch: number; lastSequence: number; lastTimestamp: number; firstOffset: number; currentTxnStartOffset: number }[] {
    const out = [];
    for (const [producerId, e] of this.producers) {
      const last = e.batches[e.batches.length - 1];
      const first = e.batches.find((b) => b.baseOffset >= 0);
      out.push({
        producerId, epoch: e.epoch, lastSequence: last ? last.lastSeq : -1,
        lastTimestamp: e.lastTimestamp, firstOffset: first ? first.baseOffset : -1,
        currentTxnStartOffset: this.txns.openFirstOffset(producerId),
      });
    }
    return out;
  }
}
