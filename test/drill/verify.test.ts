// The checker on synthetic logs: a faithful log passes; a missing, replaced or altered message at an
// acknowledged offset is an acked loss; extra copies are duplicates; unacknowledged messages found in
// the log are reported, not failures; other writers' records are ignored. Plus the message codec.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Ledger, SendState, decodeMessageId, encodeMessage, payloadHash } from '../../src/drill/ledger.js';
import { Verifier } from '../../src/drill/verify.js';

interface Sent { idx: number; value: Buffer; partition: number }

/** A ledger with `perPartition` acked messages on each of `partitions` partitions, offsets 0..n-1. */
function scenario(partitions: number, perPartition: number, run = 'r1') {
  const ledger = new Ledger(run);
  const sent: Sent[] = [];
  let t = 1000;
  for (let s = 0; s < perPartition; s++) for (let p = 0; p < partitions; p++) {
    const value = encodeMessage({ run, cycle: s < perPartition / 2 ? 1 : 2, partition: p, seq: ledger.nextSeq(p) }, 80);
    const idx = ledger.beginSend(s < perPartition / 2 ? 1 : 2, p, payloadHash(value), t++);
    ledger.ack(idx, s, t++);
    sent.push({ idx, value, partition: p });
  }
  return { ledger, sent };
}

/** The log as the broker would return it: per partition, values by offset. */
function logOf(sent: Sent[], ledger: Ledger): Map<number, Buffer[]> {
  const log = new Map<number, Buffer[]>();
  for (const s of sent) {
    const l = log.get(s.partition) ?? [];
    l[ledger.offset(s.idx)] = s.value;
    log.set(s.partition, l);
  }
  return log;
}

function check(ledger: Ledger, log: Map<number, Buffer[]>) {
  const v = new Verifier(ledger);
  for (const [p, values] of log) values.forEach((value, offset) => { if (value) v.record(p, offset, value); });
  return v.finish();
}

describe('drill message codec', () => {
  test('ids round-trip; other bytes are not ids', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 64, max: 2000 }), (c, p, s, size) => {
      const v = encodeMessage({ run: 'abc', cycle: c, partition: p, seq: s }, size);
      assert.equal(v.length, size);
      assert.deepEqual(decodeMessageId(v), { run: 'abc', cycle: c, partition: p, seq: s });
    }));
    assert.equal(decodeMessageId(Buffer.from('hello')), null);
    assert.equal(decodeMessageId(Buffer.from('ferry-drill {"run":1}')), null);
    assert.equal(decodeMessageId(Buffer.from('ferry-drill {bad json')), null);
    assert.notEqual(payloadHash(Buffer.from('a')), payloadHash(Buffer.from('b')));
    assert.ok(Number.isSafeInteger(payloadHash(Buffer.from('a'))));
  });

  test('the ledger refuses double settlement and bad offsets', () => {
    const l = new Ledger('x');
    const i = l.beginSend(1, 0, 1, 0);
    assert.throws(() => l.ack(i, -1, 1), RangeError);
    l.ack(i, 5, 1);
    assert.throws(() => l.ack(i, 6, 2), /acked after an ack/);
    assert.throws(() => l.fail(i, 2), /failed after it was settled/);
    assert.throws(() => l.beginSend(1, 0, 1, 3, 0), /seq 0 recorded twice/);
    assert.throws(() => new Ledger('bad run id!'), RangeError);
  });

  test('the ledger grows past its initial capacity and keeps every field', () => {
    const l = new Ledger('g');
    for (let i = 0; i < 5000; i++) {
      const idx = l.beginSend(i % 3, i % 7, i * 3, i);
      if (i % 2) l.ack(idx, i, i + 0.5); else l.fail(idx, i + 1);
    }
    assert.equal(l.size, 5000);
    assert.deepEqual(l.counts(), { sent: 5000, acked: 2500, failed: 2500, pending: 0 });
    assert.equal(l.hash(4999), 4999 * 3);
    assert.equal(l.offset(4999), 4999);
    assert.equal(l.indexOf(4999 % 7, l.seq(4999)), 4999);
  });
});

describe('drill verifier', () => {
  test('a faithful log: nothing lost, no duplicates', () => {
    const { ledger, sent } = scenario(3, 40);
    const r = check(ledger, logOf(sent, ledger));
    assert.equal(r.acked, 120);
    assert.equal(r.ackedLost, 0);
    assert.equal(r.duplicates, 0);
    assert.equal(r.unackedPresent, 0);
    assert.equal(r.recordsRead, 120);
  });

  test('a missing record at an acknowledged offset is lost (and attributed to its cycle)', () => {
    const { ledger, sent } = scenario(2, 10);
    const log = logOf(sent, ledger);
    delete log.get(1)![7];
    const r = check(ledger, log);
    assert.equal(r.ackedLost, 1);
    assert.deepEqual({ p: r.lostSamples[0]!.partition, o: r.lostSamples[0]!.offset, found: r.lostSamples[0]!.found }, { p: 1, o: 7, found: 'nothing at that offset' });
    assert.equal(r.byCycle.get(2)!.ackedLost, 1);
    assert.equal(r.byCycle.get(1)!.ackedLost, 0);
  });

  test('another message at the offset, or altered bytes, is a loss too', () => {
    const { ledger, sent } = scenario(1, 10);
    const log = logOf(sent, ledger);
    const values = log.get(0)!;
    [values[3], values[4]] = [values[4]!, values[3]!]; // swapped: both acks point at the wrong message
    const altered = Buffer.from(values[8]!);
    altered[altered.length - 1] = 'y'.charCodeAt(0); // same id, other bytes
    values[8] = altered;
    const r = check(ledger, log);
    assert.equal(r.ackedLost, 3);
    assert.equal(r.corruptRecords, 1);
    assert.match(r.lostSamples.find((s) => s.offset === 3)!.found, /message c1\/p0\/s4/);
    assert.match(r.lostSamples.find((s) => s.offset === 8)!.found, /same id with other bytes/);
  });

  test('a tampered ledger entry (wrong offset or hash) makes the check fail: it is not vacuous', () => {
    const { ledger, sent } = scenario(2, 10);
    const log = logOf(sent, ledger);
    ledger.tamper(sent[5]!.idx, { offset: ledger.offset(sent[5]!.idx) + 1 });
    ledger.tamper(sent[6]!.idx, { hash: 12345 });
    assert.equal(check(ledger, log).ackedLost, 2);
  });

  test('duplicates, unacked-present, and foreign records', () => {
    const ledger = new Ledger('run2');
    const mk = (seq: number) => encodeMessage({ run: 'run2', cycle: 1, partition: 0, seq }, 80);
    const v0 = mk(0), v1 = mk(1), v2 = mk(2);
    const i0 = ledger.beginSend(1, 0, payloadHash(v0), 1);
    ledger.ack(i0, 1, 2);
    const i1 = ledger.beginSend(1, 0, payloadHash(v1), 3);
    ledger.fail(i1, 4); // client gave up, but the write landed
    ledger.beginSend(1, 0, payloadHash(v2), 5); // still pending when the workload stopped
    assert.equal(ledger.state(2), SendState.Pending);
    const foreign = encodeMessage({ run: 'older', cycle: 1, partition: 0, seq: 0 }, 80);
    const log = new Map([[0, [foreign, v0, v1, v0, v2, Buffer.from('someone else')]]]);
    const r = check(ledger, log);
    assert.equal(r.ackedLost, 0);
    assert.equal(r.duplicates, 1, 'v0 at offsets 1 and 3');
    assert.deepEqual(r.duplicateSamples, [{ partition: 0, cycle: 1, seq: 0, copies: 2 }]);
    assert.equal(r.unackedPresent, 2, 'the failed and the pending send are in the log');
    assert.equal(r.foreignRecords, 2);
  });

  test('a record in the wrong partition does not verify the ack', () => {
    const { ledger, sent } = scenario(2, 3);
    const log = logOf(sent, ledger);
    const moved = log.get(0)![2]!;
    delete log.get(0)![2];
    log.get(1)!.push(moved);
    const r = check(ledger, log);
    assert.equal(r.ackedLost, 1);
    assert.equal(r.misplacedRecords, 1);
  });

  test('property: dropping any set of records loses exactly the acks at those offsets', () => {
    fc.assert(fc.property(fc.array(fc.nat(59), { maxLength: 20 }), (drops) => {
      const { ledger, sent } = scenario(3, 20);
      const log = logOf(sent, ledger);
      const dropped = new Set(drops);
      for (const d of dropped) delete log.get(d % 3)![Math.floor(d / 3)];
      assert.equal(check(ledger, log).ackedLost, dropped.size);
    }), { numRuns: 50 });
  });
});
