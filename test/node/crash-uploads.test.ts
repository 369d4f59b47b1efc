/**
 * SIGKILL a broker process again and again while it produces, uploads every 50 ms, compacts and
 * evicts its cache: after each restart every acknowledged batch is readable, byte-exact, at its
 * acknowledged offset, exactly once — whether it was still in the WAL, already in an object, or
 * in an object whose commit raced the kill.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { ApiKey } from '../../src/protocol/messages/index.js';

const CYCLES = 6;
const PARTITIONS = 2;

const broker = new BrokerProcess({
  config: {
    'upload.interval.ms': '50', 'cache.max.bytes': '65536', 'compaction.interval.ms': '200',
    'object.gc.grace.ms': '0', 'num.partitions': String(PARTITIONS),
  },
});
after(() => broker.dispose());

test('acknowledged data survives SIGKILL during uploads, trims and compaction', { timeout: 120_000 }, async () => {
  await broker.start();
  // offset -> batch bytes from the attributes on (what the CRC covers), per partition.
  const acked: Map<bigint, string>[] = Array.from({ length: PARTITIONS }, () => new Map());
  let seq = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    const deadline = Date.now() + 300 + Math.floor(Math.random() * 900);
    const killAt = deadline;
    let killed = false;
    const killer = new Promise<void>((resolve) => setTimeout(() => { killed = true; void broker.kill().then(resolve); }, killAt - Date.now()));
    try {
      while (!killed) {
        const partition = seq % PARTITIONS;
        const batch = buildRecordBatch([{ key: Buffer.from(`k${seq}`), value: Buffer.alloc(100 + (seq % 700), `v${seq}.`) }]);
        seq++;
        let r;
        try {
          r = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'crashy', partitionData: [{ index: partition, records: batch }] }] }, 3000);
        } catch {
          break; // the broker died under this request: it was never acknowledged
        }
        const p = r.responses[0].partitionResponses[0];
        if (p.errorCode !== 0) continue; // e.g. the topic being auto-created on the first request
        acked[partition].set(p.baseOffset, batch.subarray(21).toString('hex'));
      }
    } finally {
      conn.close();
    }
    await killer;
    await broker.start();
  }
  const conn = await RawKafkaConnection.connect(broker.bootstrap);
  try {
    let total = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const all = await fetchAllBatches(conn, 'crashy', p);
      const seen = new Map<bigint, string>();
      for (const b of all.batches) {
        assert.ok(!seen.has(b.baseOffset), `offset ${b.baseOffset} of partition ${p} appears once`);
        seen.set(b.baseOffset, b.bytes.subarray(21).toString('hex'));
      }
      for (const [offset, bytes] of acked[p]) {
        assert.equal(seen.get(offset), bytes, `partition ${p} offset ${offset}: the acknowledged batch, byte-exact`);
      }
      total += acked[p].size;
    }
    assert.ok(total > 100, `enough acknowledged batches to mean something (${total})`);
  } finally {
    conn.close();
  }
});
