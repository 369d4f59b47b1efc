/**
 * PUT -> commit -> trim under SIGKILL at every step: a broker process kills itself right after
 * the object PUT (object not committed: garbage), right after the metadata commit (WAL not
 * trimmed: the replay must skip what is uploaded), and right after the trim. After each restart
 * every acknowledged batch is there once, byte-exact, and the orphan object is swept.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { ApiKey } from '../../src/protocol/messages/index.js';

const brokers: BrokerProcess[] = [];
after(async () => { for (const b of brokers) await b.dispose(); });

function countFiles(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    let names: string[] = [];
    try { names = readdirSync(d); } catch { return; }
    for (const x of names) { const p = join(d, x); if (statSync(p).isDirectory()) walk(p); else n++; }
  };
  walk(dir);
  return n;
}

for (const point of ['upload-after-put', 'upload-after-commit', 'upload-after-trim']) {
  test(`SIGKILL at ${point}: nothing acknowledged is lost or duplicated`, { timeout: 60_000 }, async () => {
    const broker = new BrokerProcess({
      // No upload until the SIGTERM below: the shutdown's final upload reaches the crash point.
      config: { 'upload.interval.ms': '3600000', 'object.gc.grace.ms': '0', 'compaction.interval.ms': '3600000' },
      env: { FERRY_CRASH_POINT: point },
    });
    brokers.push(broker);
    await broker.start();
    const acked = new Map<bigint, string>();
    let conn = await RawKafkaConnection.connect(broker.bootstrap);
    const c = await conn.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'cp', numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(c.topics[0].errorCode, 0);
    for (let i = 0; i < 200; i++) {
      const batch = buildRecordBatch([{ value: Buffer.alloc(500, `cp-${i}-`) }]);
      const r = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'cp', partitionData: [{ index: 0, records: batch }] }] });
      assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
      acked.set(r.responses[0].partitionResponses[0].baseOffset, batch.subarray(21).toString('hex'));
    }
    conn.close();
    // SIGTERM: the final upload reaches the crash point and the process SIGKILLs itself there.
    await broker.stop();
    assert.ok(broker.logs.includes('"msg":"broker stopping"'), 'the stop began');
    assert.ok(!broker.logs.includes('"msg":"broker stopped"'), `the process died at ${point}, before a clean stop`);
    const objectsAfterCrash = countFiles(join(broker.dataDir, 'objects'));
    assert.equal(objectsAfterCrash, 1, 'the object was PUT before the crash');
    broker.envOverride = {};
    await broker.start();
    conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const all = await fetchAllBatches(conn, 'cp', 0);
      assert.equal(all.highWatermark, 200n);
      const seen = new Map<bigint, string>();
      for (const b of all.batches) {
        assert.ok(!seen.has(b.baseOffset), `offset ${b.baseOffset} once`);
        seen.set(b.baseOffset, b.bytes.subarray(21).toString('hex'));
      }
      assert.deepEqual(seen, acked);
      const more = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'cp', partitionData: [{ index: 0, records: buildRecordBatch([{ value: Buffer.from('next') }]) }] }] });
      assert.equal(more.responses[0].partitionResponses[0].baseOffset, 200n, 'offsets continue without a gap or a reuse');
    } finally {
      conn.close();
    }
    if (point === 'upload-after-put') {
      // The uncommitted object is garbage; the new run uploads the data again as a new object.
      await broker.stop();
      broker.envOverride = {};
    }
  });
}
