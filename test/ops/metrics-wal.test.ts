// BrokerMetrics plugged into the real WAL (@ferry/wal): the counters agree with what was appended.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWal } from '@ferry/wal';
import { BrokerMetrics } from '../../src/ops/metrics.js';
import { MetricsSnapshot } from '../../src/admin/prom-text.js';

test('WAL metrics from a real WAL: appended bytes and records equal what was appended, fsyncs timed, fill observed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-metrics-wal-'));
  const m = new BrokerMetrics({ processMetrics: false });
  const wal = await openWal(join(dir, 'ferry.wal'), { nodeId: 'metrics-test', epoch: 1, capacityBytes: 8 << 20, metrics: m.walMetrics() });
  try {
    assert.deepEqual(await wal.recover(), [], 'a fresh WAL has nothing to replay');
    m.observeWal(wal);
    let bytes = 0;
    const appends: Promise<bigint>[] = [];
    for (let i = 0; i < 200; i++) {
      const body = Buffer.alloc(100 + i, i & 0xff);
      bytes += body.length;
      const t0 = performance.now();
      appends.push(wal.append(body).then((o) => { m.walAppendSeconds((performance.now() - t0) / 1000); return o; }));
    }
    await Promise.all(appends);
    const s = MetricsSnapshot.parse(await m.scrape());
    assert.equal(s.sum('ferry_wal_appended_records_total'), 200);
    assert.equal(s.sum('ferry_wal_appended_bytes_total'), bytes);
    const commits = s.sum('ferry_wal_group_commits_total');
    assert.ok(commits >= 1 && commits <= 200, `${commits} group commits`);
    // One fdatasync per group commit, plus any the WAL makes while opening a new file.
    assert.ok(s.sum('ferry_wal_fsync_duration_seconds_count') >= commits);
    assert.equal(s.sum('ferry_wal_append_duration_seconds_count'), 200);
    assert.equal(s.sum('ferry_wal_capacity_bytes'), wal.capacityBytes);
    assert.ok(s.sum('ferry_wal_used_bytes') >= bytes, 'used bytes include record headers');
    assert.ok(s.sum('ferry_wal_fill_ratio') > 0 && s.sum('ferry_wal_fill_ratio') < 1);
  } finally {
    await wal.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
