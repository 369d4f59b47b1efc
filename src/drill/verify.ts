// The drill's checker: fed every record read back from the topic (partition, offset, value), in
// offset order per partition, it decides for each acknowledged ledger entry whether the log holds
// that exact message (same id, same payload hash) at the acknowledged offset. Pure: no I/O.
//
//   ackedLost       acknowledged, but at its offset there is nothing, another message, or other bytes
//   duplicates      extra copies of one message id (at more than one offset)
//   unackedPresent  sent, never acknowledged (client gave up or still pending), yet in the log: allowed
import { Ledger, SendState, decodeMessageId, hashHex, payloadHash } from './ledger.js';

export const SAMPLES_MAX = 20;

export interface LostSample { partition: number; offset: number; cycle: number; seq: number; expectedHash: string; found: string }
export interface DuplicateSample { partition: number; cycle: number; seq: number; copies: number }

export interface CycleVerdict { ackedLost: number; duplicates: number; unackedPresent: number }

export interface VerifyResult {
  /** Acknowledged entries checked. */
  acked: number;
  ackedLost: number;
  duplicates: number;
  unackedPresent: number;
  /** Records read back in total, and those not written by this run (earlier runs, other writers). */
  recordsRead: number;
  foreignRecords: number;
  /** Records of this run whose bytes do not hash to what was sent (each also makes its ack lost). */
  corruptRecords: number;
  /** Records of this run found in a partition other than the one they were sent to. */
  misplacedRecords: number;
  lostSamples: LostSample[];
  duplicateSamples: DuplicateSample[];
  /** By the cycle the message was sent in. */
  byCycle: Map<number, CycleVerdict>;
}

export class Verifier {
  private readonly occurrences: Uint8Array;
  private readonly verified: Uint8Array;
  /** Per partition: acknowledged offset -> ledger index. */
  private readonly ackedAt = new Map<number, Map<number, number>>();
  private readonly lastOffset = new Map<number, number>();
  /** What was found at an acknowledged offset instead of its message (bounded). */
  private readonly mismatch = new Map<number, string>();
  private recordsRead = 0;
  private foreign = 0;
  private corrupt = 0;
  private misplaced = 0;

  constructor(private readonly ledger: Ledger) {
    this.occurrences = new Uint8Array(ledger.size);
    this.verified = new Uint8Array(ledger.size);
    for (let i = 0; i < ledger.size; i++) {
      if (ledger.state(i) !== SendState.Acked) continue;
      const p = ledger.partition(i);
      let m = this.ackedAt.get(p);
      if (!m) { m = new Map(); this.ackedAt.set(p, m); }
      const other = m.get(ledger.offset(i));
      // Two acks for one offset: the second cannot be there; the checker below reports it lost.
      if (other === undefined) m.set(ledger.offset(i), i);
    }
  }

  /** One record read back. Offsets must increase per partition (a re-read offset is ignored). */
  record(partition: number, offset: number, value: Buffer): void {
    const last = this.lastOffset.get(partition) ?? -1;
    if (offset <= last) return;
    this.lastOffset.set(partition, offset);
    this.recordsRead++;
    const id = decodeMessageId(value);
    const hash = payloadHash(value);
    let idx = -1;
    if (id && id.run === this.ledger.run) {
      if (id.partition !== partition) this.misplaced++;
      else idx = this.ledger.indexOf(partition, id.seq);
    }
    if (idx < 0) this.foreign += id && id.run === this.ledger.run ? 0 : 1;
    if (idx >= 0) {
      if (this.occurrences[idx]! < 255) this.occurrences[idx]!++;
      if (hash !== this.ledger.hash(idx)) this.corrupt++;
      else if (this.ledger.state(idx) === SendState.Acked && this.ledger.offset(idx) === offset) this.verified[idx] = 1;
    }
    const expected = this.ackedAt.get(partition)?.get(offset);
    if (expected !== undefined && expected !== idx && this.mismatch.size < SAMPLES_MAX * 4) {
      this.mismatch.set(expected, id ? `message c${id.cycle}/p${id.partition}/s${id.seq}${id.run === this.ledger.run ? '' : ` of run ${id.run}`} (hash ${hashHex(hash)})` : `a foreign record (hash ${hashHex(hash)})`);
    } else if (expected !== undefined && expected === idx && hash !== this.ledger.hash(idx) && this.mismatch.size < SAMPLES_MAX * 4) {
      this.mismatch.set(expected, `the same id with other bytes (hash ${hashHex(hash)})`);
    }
  }

  finish(): VerifyResult {
    const l = this.ledger;
    const byCycle = new Map<number, CycleVerdict>();
    const verdict = (c: number) => {
      let v = byCycle.get(c);
      if (!v) { v = { ackedLost: 0, duplicates: 0, unackedPresent: 0 }; byCycle.set(c, v); }
      return v;
    };
    const out: VerifyResult = {
      acked: 0, ackedLost: 0, duplicates: 0, unackedPresent: 0, recordsRead: this.recordsRead, foreignRecords: this.foreign,
      corruptRecords: this.corrupt, misplacedRecords: this.misplaced, lostSamples: [], duplicateSamples: [], byCycle,
    };
    for (let i = 0; i < l.size; i++) {
      const v = verdict(l.cycle(i));
      const copies = this.occurrences[i]!;
      if (copies > 1) {
        out.duplicates += copies - 1;
        v.duplicates += copies - 1;
        if (out.duplicateSamples.length < SAMPLES_MAX) out.duplicateSamples.push({ partition: l.partition(i), cycle: l.cycle(i), seq: l.seq(i), copies });
      }
      if (l.state(i) === SendState.Acked) {
        out.acked++;
        if (this.verified[i] !== 1) {
          out.ackedLost++;
          v.ackedLost++;
          if (out.lostSamples.length < SAMPLES_MAX) {
            out.lostSamples.push({
              partition: l.partition(i), offset: l.offset(i), cycle: l.cycle(i), seq: l.seq(i), expectedHash: hashHex(l.hash(i)),
              found: this.mismatch.get(i) ?? 'nothing at that offset',
            });
          }
        }
      } else if (copies > 0) {
        out.unackedPresent++;
        v.unackedPresent++;
      }
    }
    return out;
  }
}
