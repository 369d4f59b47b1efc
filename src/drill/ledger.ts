// Every message the drill's workload sent, in compact growable typed arrays (about 50 bytes per
// message, so hours at hundreds of messages per second stay small). A message is "acked" only when
// the client returned its offset; a send the client gave up on stays unacked forever (its bytes may
// still be in the log: that is "unacked present", allowed). Message ids are (cycle, partition, seq)
// with seq counting per partition from 0; the payload hash is the first 48 bits of its SHA-256.
import { createHash } from 'node:crypto';

export const SendState = { Pending: 0, Acked: 1, Failed: 2 } as const;
export type SendState = (typeof SendState)[keyof typeof SendState];

export interface MessageId { run: string; cycle: number; partition: number; seq: number }

const MAGIC = 'ferry-drill ';

/** The message value: a readable id in JSON, padded with 'x' to `sizeBytes`. */
export function encodeMessage(id: MessageId, sizeBytes: number): Buffer {
  const head = `${MAGIC}${JSON.stringify({ run: id.run, c: id.cycle, p: id.partition, s: id.seq })}`;
  return Buffer.from(head.length >= sizeBytes ? head : head + ' ' + 'x'.repeat(sizeBytes - head.length - 1), 'utf8');
}

/** The id in a value written by encodeMessage, or null for anything else (other writers, garbage). */
export function decodeMessageId(value: Buffer): MessageId | null {
  if (value.length < MAGIC.length || value.toString('latin1', 0, MAGIC.length) !== MAGIC) return null;
  const end = value.indexOf('}', MAGIC.length);
  if (end < 0) return null;
  try {
    const j = JSON.parse(value.toString('utf8', MAGIC.length, end + 1)) as { run?: unknown; c?: unknown; p?: unknown; s?: unknown };
    if (typeof j.run !== 'string' || !Number.isInteger(j.c) || !Number.isInteger(j.p) || !Number.isInteger(j.s)) return null;
    return { run: j.run, cycle: j.c as number, partition: j.p as number, seq: j.s as number };
  } catch {
    return null;
  }
}

/** First 48 bits of SHA-256, as an exact integer. */
export function payloadHash(value: Buffer): number {
  return parseInt(createHash('sha256').update(value).digest('hex').slice(0, 12), 16);
}

export function hashHex(hash: number): string { return hash.toString(16).padStart(12, '0'); }

const INITIAL_CAPACITY = 1024;

function grow<T extends Float64Array | Int32Array | Uint16Array | Uint8Array>(a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  return b;
}

export class Ledger {
  private n = 0;
  private cap = INITIAL_CAPACITY;
  private partitionA = new Int32Array(INITIAL_CAPACITY);
  private cycleA = new Uint16Array(INITIAL_CAPACITY);
  private seqA = new Int32Array(INITIAL_CAPACITY);
  private hashA = new Float64Array(INITIAL_CAPACITY);
  private sendA = new Float64Array(INITIAL_CAPACITY);
  private ackA = new Float64Array(INITIAL_CAPACITY);
  private offsetA = new Float64Array(INITIAL_CAPACITY);
  private stateA = new Uint8Array(INITIAL_CAPACITY);
  /** Per partition: ledger index by seq (seq counts from 0 per partition, so this is dense). */
  private readonly bySeq = new Map<number, { idx: Int32Array; n: number }>();
  private readonly nextSeqByPartition = new Map<number, number>();

  constructor(readonly run: string) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(run)) throw new RangeError(`run id ${run} is not 1-32 of A-Z a-z 0-9 _ -`);
  }

  get size(): number { return this.n; }

  /** Records a send about to start; returns its ledger index and the message id. */
  beginSend(cycle: number, partition: number, hash: number, sendMs: number, seq = this.nextSeq(partition)): number {
    if (!Number.isInteger(cycle) || cycle < 0 || cycle > 0xffff) throw new RangeError(`cycle ${cycle} out of range`);
    if (this.n === this.cap) this.resize(this.cap * 2);
    const i = this.n++;
    this.partitionA[i] = partition;
    this.cycleA[i] = cycle;
    this.seqA[i] = seq;
    this.hashA[i] = hash;
    this.sendA[i] = sendMs;
    this.ackA[i] = NaN;
    this.offsetA[i] = -1;
    this.stateA[i] = SendState.Pending;
    let s = this.bySeq.get(partition);
    if (!s) { s = { idx: new Int32Array(256).fill(-1), n: 0 }; this.bySeq.set(partition, s); }
    if (seq >= s.idx.length) {
      const bigger = new Int32Array(Math.max(seq + 1, s.idx.length * 2)).fill(-1);
      bigger.set(s.idx);
      s.idx = bigger;
    }
    if (s.idx[seq] !== -1) throw new Error(`partition ${partition} seq ${seq} recorded twice`);
    s.idx[seq] = i;
    s.n = Math.max(s.n, seq + 1);
    this.nextSeqByPartition.set(partition, Math.max(this.nextSeqByPartition.get(partition) ?? 0, seq + 1));
    return i;
  }

  /** The seq the next send on `partition` gets. */
  nextSeq(partition: number): number { return this.nextSeqByPartition.get(partition) ?? 0; }

  ack(i: number, offset: number, ackMs: number): void {
    this.check(i);
    if (this.stateA[i] !== SendState.Pending) throw new Error(`ledger entry ${i} acked after ${this.stateA[i] === SendState.Acked ? 'an ack' : 'failing'}`);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset ${offset} of ledger entry ${i}`);
    this.stateA[i] = SendState.Acked;
    this.offsetA[i] = offset;
    this.ackA[i] = ackMs;
  }

  fail(i: number, atMs: number): void {
    this.check(i);
    if (this.stateA[i] !== SendState.Pending) throw new Error(`ledger entry ${i} failed after it was settled`);
    this.stateA[i] = SendState.Failed;
    this.ackA[i] = atMs;
  }

  /** Ledger index of (partition, seq), or -1. */
  indexOf(partition: number, seq: number): number {
    const s = this.bySeq.get(partition);
    if (!s || seq < 0 || seq >= s.n) return -1;
    return s.idx[seq]!;
  }

  partition(i: number): number { return this.partitionA[i]!; }
  cycle(i: number): number { return this.cycleA[i]!; }
  seq(i: number): number { return this.seqA[i]!; }
  hash(i: number): number { return this.hashA[i]!; }
  sendMs(i: number): number { return this.sendA[i]!; }
  /** Ack time (acked), give-up time (failed), NaN (pending). */
  ackMs(i: number): number { return this.ackA[i]!; }
  offset(i: number): number { return this.offsetA[i]!; }
  state(i: number): SendState { return this.stateA[i]! as SendState; }
  id(i: number): MessageId { return { run: this.run, cycle: this.cycleA[i]!, partition: this.partitionA[i]!, seq: this.seqA[i]! }; }

  /** For tests and the negative check: overwrite what the ledger believes was acknowledged. */
  tamper(i: number, change: { offset?: number; hash?: number }): void {
    this.check(i);
    if (change.offset !== undefined) this.offsetA[i] = change.offset;
    if (change.hash !== undefined) this.hashA[i] = change.hash;
  }

  counts(): { sent: number; acked: number; failed: number; pending: number } {
    let acked = 0, failed = 0, pending = 0;
    for (let i = 0; i < this.n; i++) {
      const s = this.stateA[i];
      if (s === SendState.Acked) acked++;
      else if (s === SendState.Failed) failed++;
      else pending++;
    }
    return { sent: this.n, acked, failed, pending };
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.n) throw new RangeError(`ledger index ${i} out of 0..${this.n - 1}`);
  }

  private resize(cap: number): void {
    this.partitionA = grow(this.partitionA, cap);
    this.cycleA = grow(this.cycleA, cap);
    this.seqA = grow(this.seqA, cap);
    this.hashA = grow(this.hashA, cap);
    this.sendA = grow(this.sendA, cap);
    this.ackA = grow(this.ackA, cap);
    this.offsetA = grow(this.offsetA, cap);
    this.stateA = grow(this.stateA, cap);
    this.cap = cap;
  }
}
