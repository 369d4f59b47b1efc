// Offsets stay dense through everything the WAL can do to an append: refusals at the door
// (queue depth, bytes in flight), ring-full timeouts, uploads and trims, and crashes with
// appends in flight. The real WAL (@ferry/wal on an in-memory disk) under the real LogManager.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryIo, openWal, type Wal } from '@ferry/wal';
import { LogManager, type BatchToAppend } from '../../src/log/log-manager.js';
import { buildRecordBatch, BatchView } from '../../src/protocol/record-batch.js';
import type { ObjectBlockRef } from '../../src/log/partition-log.js';

const TOPIC = 'cd'.repeat(16);
const PARTITIONS = 3;

type Cmd =
  | { kind: 'append'; partition: number; batches: { records: number; valueBytes: number }[] }
  | { kind: 'settle' }
  | { kind: 'upload' }
  | { kind: 'crash'; seed: number };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 8, arbitrary: fc.record({
    kind: fc.constant('append' as const),
    partition: fc.integer({ min: 0, max: PARTITIONS - 1 }),
    batches: fc.array(fc.record({ records: fc.integer({ min: 1, max: 5 }), valueBytes: fc.integer({ min: 1, max: 2000 }) }), { minLength: 1, maxLength: 3 }),
  }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'settle' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'upload' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), seed: fc.integer({ min: 1, max: 1e9 }) }) },
);

function batchOf(records: number, valueBytes: number): BatchToAppend {
  const bytes = buildRecordBatch(Array.from({ length: records }, (_, i) => ({ value: Buffer.alloc(valueBytes, i), timestamp: 1000n })));
  const v = new BatchView(bytes);
  return { bytes, recordsCount: v.recordsCount, maxTimestamp: 1000, producerId: -1n, producerEpoch: -1, baseSequence: -1 };
}

async function open(io: MemoryIo): Promise<Wal> {
  // A small ring and tight limits, so refusals and ring-full timeouts happen often.
  return openWal('mem', {
    nodeId: 'n', epoch: 1, io, capacityBytes: 48 * 1024, recordBytesMax: 12 * 1024,
    inFlightBytesMax: 24 * 1024, queueDepthMax: 6, appendTimeoutMs: 5,
  });
}

test('offsets stay dense under refusals, ring-full timeouts, uploads, trims and crashes', async () => {
  let refusals = 0, timeouts = 0, crashes = 0, acks = 0;
  await fc.assert(fc.asyncProperty(fc.array(cmdArb, { minLength: 5, maxLength: 80 }), async (cmds) => {
    const io = new MemoryIo();
    let wal = await open(io);
    await wal.recover();
    let logs = new LogManager(wal);
    // What the object store holds per partition (the uploader's part, simulated).
    const uploaded: ObjectBlockRef[][] = Array.from({ length: PARTITIONS }, () => []);
    const acked: { partition: number; base: number; last: number }[] = [];
    let inflight: Promise<void>[] = [];
    const settle = async () => { await Promise.all(inflight); inflight = []; };

    for (const cmd of cmds) {
      if (cmd.kind === 'append') {
        const st = logs.ensure(TOPIC, cmd.partition, 0);
        const out = logs.append(st, cmd.batches.map((b) => batchOf(b.records, b.valueBytes)), null);
        inflight.push(out.done.then(
          () => { acks++; acked.push({ partition: cmd.partition, base: out.baseOffset, last: out.lastOffset }); },
          (err: Error & { reason?: string }) => {
            if (err.reason === 'ring') timeouts++; else if (err.name === 'WalFullError') refusals++;
          },
        ));
      } else if (cmd.kind === 'settle') {
        await settle();
      } else if (cmd.kind === 'upload') {
        await settle();
        for (let p = 0; p < PARTITIONS; p++) {
          const st = logs.get(TOPIC, p);
          if (!st) continue;
          const pending = st.log.pendingUpload();
          if (!pending.length) continue;
          const ref: ObjectBlockRef = {
            objectId: `o${uploaded[p].length}-${p}`, objectKey: 'k', objectSize: 1, baseOffset: pending[0].baseOffset,
            endOffset: pending[pending.length - 1].lastOffset + 1, maxTimestamp: 1000, position: 0, size: 1,
          };
          uploaded[p].push(ref);
          st.log.addObjectBlocks([ref]);
        }
        logs.recountPending();
        const target = logs.walTrimTarget(wal.nextOffset);
        if (target !== null) await wal.trim(target);
      } else {
        // Power loss with appends in flight: only acknowledged appends must come back.
        crashes++;
        io.disk('mem').crash(cmd.seed);
        await settle();
        await wal.close().catch(() => {});
        wal = await open(io);
        const records = await wal.recover();
        logs = new LogManager(wal);
        for (let p = 0; p < PARTITIONS; p++) if (uploaded[p].length) logs.ensure(TOPIC, p, 0).log.addObjectBlocks(uploaded[p]);
        logs.recover(records, () => true);
      }
    }
    await settle();

    for (let p = 0; p < PARTITIONS; p++) {
      const st = logs.get(TOPIC, p);
      const ranges: [number, number][] = uploaded[p].map((r) => [r.baseOffset, r.endOffset - 1]);
      const uploadedEnd = uploaded[p].length ? uploaded[p][uploaded[p].length - 1].endOffset : 0;
      if (st) for (const b of st.log.batchesFrom(uploadedEnd)) ranges.push([b.baseOffset, b.lastOffset]);
      // Dense: the first batch starts at 0 and every batch at the previous one's last offset + 1.
      let expected = 0;
      for (const [base, last] of ranges) {
        assert.equal(base, expected, `partition ${p}: batch at ${base}, expected ${expected} (${JSON.stringify(ranges)})`);
        expected = last + 1;
      }
      assert.equal(st?.log.highWatermark ?? 0, expected, `partition ${p}: high watermark`);
      assert.equal(st?.log.nextOffset ?? 0, expected, `partition ${p}: next offset`);
      // Every acknowledged append is there (acks before a crash were durable).
      for (const a of acked.filter((x) => x.partition === p)) {
        assert.ok(a.base >= 0 && a.last < expected, `partition ${p}: acked [${a.base}, ${a.last}] missing below ${expected}`);
      }
    }
    await wal.close();
  }), { numRuns: 300 });
  // The property is only worth something if the failure paths were exercised.
  assert.ok(refusals > 0, 'some appends were refused at the door');
  assert.ok(timeouts > 0, 'some appends timed out on a full ring');
  assert.ok(crashes > 0 && acks > 0);
});
