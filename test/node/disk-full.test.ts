// A real full disk: data.dir on a small tmpfs, filled until writes fail with ENOSPC. The WAL
// (preallocated) keeps taking produce until its ring is full; then produce is refused at once with
// a retriable error, the log says why once ("WAL full: uploads failing: ENOSPC"), /readyz answers
// 503; once space is back, uploads catch up, produce flows, nothing acknowledged is lost and the
// offsets are dense.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';

/** Mounts a tmpfs of `sizeMiB` (needs root, as .ci/run has); fails the test if it cannot. */
function mountTmpfs(sizeMiB: number): { dir: string; unmount(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-full-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`this test needs a tmpfs (mount -t tmpfs as root): ${r.stderr || r.error}`);
  return { dir, unmount: () => { spawnSync('umount', ['-l', dir]); rmdirSync(dir); } };
}

/** Writes zeros until the file system says ENOSPC. */
function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

const produce = (conn: RawKafkaConnection, value: Buffer) => conn.request(ApiKey.Produce, 9, {
  transactionalId: null, acks: -1, timeoutMs: 5000,
  topicData: [{ name: 'full', partitionData: [{ index: 0, records: buildRecordBatch([{ value }]) }] }],
}).then((r: any) => r.responses[0].partitionResponses[0]);

test('a full disk: produce refused promptly and loudly, then recovered with nothing lost and dense offsets', { timeout: 120_000 }, async () => {
  const fs = mountTmpfs(16);
  const metricsPort = await freePort();
  const broker = new BrokerProcess({
    dataDir: fs.dir,
    config: {
      'wal.capacity.bytes': '4194304', 'wal.append.timeout.ms': '1000', 'upload.interval.ms': '200',
      'metrics.listener': `127.0.0.1:${metricsPort}`, 'compaction.interval.ms': '3600000',
    },
  });
  const filler = join(fs.dir, 'filler');
  let conn: RawKafkaConnection | undefined;
  try {
    await broker.start();
    conn = await RawKafkaConnection.connect(broker.bootstrap);
    const created = await conn.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'full', numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, 0);
    fillDisk(filler);

    const acked = new Map<bigint, string>();
    let refusal: { errorCode: number; errorMessage: string | null } | null = null;
    for (let i = 0; i < 20_000 && !refusal; i++) {
      const value = Buffer.alloc(1000, `v${i}-`);
      const p = await produce(conn, value);
      if (p.errorCode === 0) acked.set(p.baseOffset, value.toString('hex'));
      else refusal = p;
    }
    assert.ok(refusal, 'the WAL filled up');
    assert.equal(refusal.errorCode, ErrorCode.REQUEST_TIMED_OUT, 'a retriable error');
    assert.ok(acked.size > 100, `${acked.size} acknowledged while the WAL had room`);
    const t0 = Date.now();
    const again = await produce(conn, Buffer.from('x'));
    assert.equal(again.errorCode, ErrorCode.REQUEST_TIMED_OUT);
    assert.ok(Date.now() - t0 < 500, `refused at once while full (${Date.now() - t0} ms)`);
    await waitFor(() => /WAL full: uploads failing: ENOSPC/.test(broker.logs), 5000, 'the WAL-full log line naming ENOSPC');
    assert.equal(broker.logs.match(/"msg":"uploads failing: ENOSPC/g)?.length, 1, 'upload failures logged at warn once, not per retry');
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    assert.equal(ready.status, 503, '/readyz reports the full WAL');
    assert.match(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(), /^ferry_wal_full\{[^}]*\} 1$/m);

    unlinkSync(filler);
    let after: any;
    await waitFor(async () => (after = await produce(conn!, Buffer.from('after'))).errorCode === 0, 30_000, 'produce accepted again once space is back');
    assert.equal(after.baseOffset, BigInt(acked.size), 'the refusals took no offsets');
    await waitFor(() => /uploads recovered/.test(broker.logs) && /WAL has room again/.test(broker.logs), 10_000, 'recovery logged');
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status, 200);
    const all = await fetchAllBatches(conn, 'full', 0);
    assert.deepEqual(all.batches.map((b) => b.baseOffset), Array.from({ length: acked.size + 1 }, (_, i) => BigInt(i)), 'dense offsets');
    // The value is the record's last 1000 bytes before its header count (0).
    const lost = all.batches.slice(0, acked.size).filter((b) => b.bytes.subarray(-1001, -1).toString('hex') !== acked.get(b.baseOffset));
    assert.equal(lost.length, 0, `acknowledged values changed or lost at offsets ${lost.slice(0, 5).map((b) => b.baseOffset).join(', ')}`);
  } finally {
    conn?.close();
    await broker.dispose();
    try { rmSync(filler, { force: true }); } catch { /* unmounted below */ }
    fs.unmount();
  }
});
