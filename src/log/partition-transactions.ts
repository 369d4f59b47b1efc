/**
 * Transactions as one partition sees them: which producers have a transaction open here (and its
 * first offset), the aborted transactions a read_committed reader must drop, and the last stable
 * offset (LSO): the first offset of the oldest open transaction, or the high watermark.
 *
 * A transaction opens at the admission of its first transactional batch and closes at the
 * admission of its marker (a control batch): both happen in offset order, as the WAL admits
 * writes in call order. The state below the upload point is kept in the producer snapshot that
 * goes with every upload (see ProducerStateTable), so a restart or a new leader that replays only
 * the WAL above it rebuilds the rest.
 */
import { assert } from '../common/assert.js';

export interface AbortedTxn {
  producerId: bigint;
  firstOffset: number;
  /** The abort marker's offset. */
  lastOffset: number;
}

interface ClosedTxn extends AbortedTxn { aborted: boolean }

/** [producer id, first offset] of open transactions; [producer id, first, last] of aborted ones. */
export interface TransactionsSnapshot {
  open: [string, number][];
  aborted: [string, number, number][];
}

export class PartitionTransactions {
  /** Producer id -> first offset of its open transaction. */
  private readonly open = new Map<bigint, number>();
  /** By lastOffset (markers are admitted in offset order). */
  private aborted: AbortedTxn[] = [];
  /** Transactions closed but maybe not yet covered by a snapshot (needed to say what was open at an upload's end). */
  private closed: ClosedTxn[] = [];
  /** Counts markers per producer: a produce verified before a marker must verify again. */
  private readonly markerCounts = new Map<bigint, number>();

  /** A transactional data batch admitted at `baseOffset`: opens the producer's transaction here if none is. */
  onData(producerId: bigint, baseOffset: number): void {
    if (!this.open.has(producerId)) this.open.set(producerId, baseOffset);
  }

  /** A marker admitted at `offset`: closes the producer's transaction (if one is open). */
  onMarker(producerId: bigint, offset: number, commit: boolean): void {
    this.markerCounts.set(producerId, (this.markerCounts.get(producerId) ?? 0) + 1);
    const first = this.open.get(producerId);
    if (first === undefined) return;
    assert(offset > first, `marker at ${offset} not after its transaction's first offset ${first}`);
    this.open.delete(producerId);
    const txn = { producerId, firstOffset: first, lastOffset: offset };
    if (!commit) {
      const last = this.aborted[this.aborted.length - 1];
      assert(!last || last.lastOffset < offset, `abort markers out of offset order: ${offset} after ${last?.lastOffset}`);
      this.aborted.push(txn);
    }
    this.closed.push({ ...txn, aborted: !commit });
  }

  markerCount(producerId: bigint): number { return this.markerCounts.get(producerId) ?? 0; }

  /** An expired producer (nothing open here): drop its marker count. */
  forget(producerId: bigint): void {
    assert(!this.open.has(producerId), `forgetting producer ${producerId} with a transaction open`);
    this.markerCounts.delete(producerId);
  }

  /** First offset of the producer's open transaction here, or -1. */
  openFirstOffset(producerId: bigint): number { return this.open.get(producerId) ?? -1; }

  get openCount(): number { return this.open.size; }

  /** The LSO given the high watermark. */
  lastStableOffset(highWatermark: number): number {
    let lso = highWatermark;
    for (const first of this.open.values()) if (first < lso) lso = first;
    return lso;
  }

  /** Aborted transactions overlapping [from, to] (what a read_committed fetch of that range must drop). */
  abortedIn(from: number, to: number): AbortedTxn[] {
    let lo = 0, hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.aborted[mid].lastOffset < from) lo = mid + 1; else hi = mid;
    }
    const out: AbortedTxn[] = [];
    for (let i = lo; i < this.aborted.length; i++) if (this.aborted[i].firstOffset <= to) out.push(this.aborted[i]);
    return out;
  }

  /** Forget aborted transactions wholly below the log start (no reader can fetch them). */
  dropBelow(logStartOffset: number): void {
    if (this.aborted.length && this.aborted[0].lastOffset < logStartOffset) this.aborted = this.aborted.filter((a) => a.lastOffset >= logStartOffset);
  }

  /**
   * The state as of `endOffset` (exclusive: what an upload ending there makes durable): aborted
   * transactions whose marker is below it, and transactions open at it. Closed transactions
   * wholly below `endOffset` are no longer needed after this (uploads only move forward).
   */
  snapshot(endOffset: number, logStartOffset: number): TransactionsSnapshot {
    this.dropBelow(logStartOffset);
    const open: [string, number][] = [];
    for (const [pid, first] of this.open) if (first < endOffset) open.push([pid.toString(), first]);
    for (const c of this.closed) if (c.firstOffset < endOffset && c.lastOffset >= endOffset) open.push([c.producerId.toString(), c.firstOffset]);
    const aborted: [string, number, number][] = [];
    for (const a of this.aborted) if (a.lastOffset < endOffset) aborted.push([a.producerId.toString(), a.firstOffset, a.lastOffset]);
    this.closed = this.closed.filter((c) => c.lastOffset >= endOffset);
    return { open, aborted };
  }

  /** Load a snapshot (before replaying newer batches). */
  restore(snap: TransactionsSnapshot): void {
    this.open.clear();
    this.closed = [];
    for (const [pid, first] of snap.open) this.open.set(BigInt(pid), first);
    this.aborted = snap.aborted.map(([pid, firstOffset, lastOffset]) => ({ producerId: BigInt(pid), firstOffset, lastOffset }))
      .sort((a, b) => a.lastOffset - b.lastOffset);
  }

  /** For DescribeTransactions/DescribeProducers and tests. */
  openTransactions(): { producerId: bigint; firstOffset: number }[] {
    return [...this.open].map(([producerId, firstOffset]) => ({ producerId, firstOffset }));
  }
}
