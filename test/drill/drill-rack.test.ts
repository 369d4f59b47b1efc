// `ferry drill --scenario kill-rack` on a local failover cluster: four brokers in racks a, a, b, c
// (real etcd, local WAL volumes). The drill kills both brokers of rack a at once; both volumes are
// failed over to brokers in other racks, every affected partition is writable again, the victims
// are restarted and rejoin, and nothing acknowledged is lost.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { runDrill, renderDrillReport } from '../../src/drill/index.js';
import { VolumeCluster } from '../failover/volume-cluster.js';

const clusters: VolumeCluster[] = [];
after(async () => { for (const c of clusters) await c.dispose(); });

test('kill-rack: both brokers of a rack killed, their volumes replayed on other racks, nothing acknowledged lost', { timeout: 240_000 }, async (t) => {
  const etcd = await startEtcd(t);
  const objects = mkdtempSync(join(tmpdir(), 'ferry-drill-rack-objects-'));
  t.after(() => rmSync(objects, { recursive: true, force: true }));
  const cluster = new VolumeCluster({ name: 'drillrack', racks: ['a', 'a', 'b', 'c'], etcd, objectStore: { 'object.store.path': objects } });
  clusters.push(cluster);
  await cluster.start();
  const { report } = await runDrill({
    bootstrap: cluster.brokers.map((b) => b.bootstrap), scenario: 'kill-rack', rack: 'a', cycles: 1, topic: 'drill-rack', partitions: 8,
    ratePerSec: 160, messageBytes: 100, pauseMs: 10_000, cycleTimeoutMs: 90_000, writableTimeoutMs: 30_000, failoverTimeoutMs: 30_000,
    warmupMs: 2000, settleMs: 1000, restartBeforeWritable: false, requestTimeoutMs: 3000, sendRetries: 60,
    executor: cluster.executor(), etcd: { endpoints: [etcd.endpoint], cluster: 'drillrack' },
  });
  const text = renderDrillReport(report);
  const c = report.cycles[0]!;
  assert.deepEqual(c.victims.map((v) => v.nodeId).sort(), [1, 2], text);
  assert.equal(c.failovers?.length, 2, text);
  for (const f of c.failovers!) {
    assert.equal(f.phase, 'done', text);
    assert.ok(f.targetRack === 'b' || f.targetRack === 'c', `target in another rack\n${text}`);
  }
  assert.notEqual(c.failovers![0]!.target, c.failovers![1]!.target, 'one takeover per target');
  const affected = c.partitions.filter((p) => p.affected);
  assert.ok(affected.length > 0 && affected.every((p) => p.writableMs !== null && p.clientWritableMs !== null), text);
  assert.equal(report.totals.ackedLost, 0, text);
  assert.equal(report.totals.duplicates, 0, text);
  assert.equal(report.passed, true, text);
  t.diagnostic(text);
});
