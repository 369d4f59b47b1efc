/**
 * Failover soak (not in the test suite): a six-broker cluster on this machine (racks a, a, b, b,
 * c, c; real etcd; local WAL volumes; objects in a directory, or radosgw with --s3) and `ferry
 * drill` cycles against it: kill-broker, kill-rack and pause-broker by default, --cycles each.
 * Prints each scenario's report and writes JSON and SVG next to it.
 *
 *   node --conditions=ferry-source --import tsx bench/failover-soak.ts [--cycles 20] \
 *     [--scenarios kill-broker,kill-rack,pause-broker,etcd-leader-loss] [--out DIR] [--s3] [--etcd-members 3]
 * With --etcd-members 3 the etcd is a three-member cluster and etcd-leader-loss kills its leader.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, startEtcdCluster } from '../test/helpers/etcd.js';
import { startRadosgw } from '../test/helpers/radosgw.js';
import { VolumeCluster } from '../test/failover/volume-cluster.js';
import { runDrill, renderDrillReport, renderDrillSvg, type DrillReport } from '../src/drill/index.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const cycles = Number(arg('cycles', '20'));
const scenarios = arg('scenarios', 'kill-broker,kill-rack,pause-broker').split(',') as ('kill-broker' | 'kill-rack' | 'pause-broker' | 'etcd-leader-loss')[];
const out = arg('out', join(tmpdir(), `ferry-soak-${Date.now()}`));
const useS3 = process.argv.includes('--s3');
const etcdMembers = Number(arg('etcd-members', '1'));
mkdirSync(out, { recursive: true });

const etcd = etcdMembers > 1 ? await startEtcdCluster(etcdMembers) : await startEtcd();
const etcdEndpoints = 'members' in etcd ? etcd.endpoints : [etcd.endpoint];
const rgw = useS3 ? await startRadosgw(undefined, { timeoutMs: 120_000 }) : null;
const objects = mkdtempSync(join(tmpdir(), 'ferry-soak-objects-'));
let objectStore: Record<string, string> = { 'object.store.path': objects };
if (rgw) {
  await rgw.createBucket('ferry-soak');
  objectStore = {
    'object.store': 's3', 's3.bucket': 'ferry-soak', 's3.endpoint': rgw.endpoint, 's3.region': rgw.region,
    's3.force.path.style': 'true', 's3.access.key.id': rgw.accessKeyId, 's3.secret.access.key': rgw.secretAccessKey,
  };
}
const cluster = new VolumeCluster({ name: 'soak', racks: ['a', 'a', 'b', 'b', 'c', 'c'], etcd, objectStore });
const summary: string[] = [];
let failed = false;
try {
  await cluster.start();
  for (const scenario of scenarios) {
    const { report } = await runDrill({
      bootstrap: cluster.brokers.map((b) => b.bootstrap), scenario, cycles, topic: `soak-${scenario}`, partitions: 12,
      ratePerSec: 300, messageBytes: 200, pauseMs: 15_000, cycleTimeoutMs: 90_000, writableTimeoutMs: 30_000,
      failoverTimeoutMs: 30_000, warmupMs: 2000, settleMs: 2000, restartBeforeWritable: false, requestTimeoutMs: 3000,
      sendRetries: 60, executor: cluster.executor(), etcd: { endpoints: etcdEndpoints, cluster: 'soak' },
      log: (l) => process.stderr.write(`[${scenario}] ${l}\n`),
    });
    const text = renderDrillReport(report);
    process.stdout.write(`\n===== ${scenario} x${cycles} =====\n${text}\n`);
    writeFileSync(join(out, `${scenario}.json`), JSON.stringify(report, null, 2));
    writeFileSync(join(out, `${scenario}.svg`), renderDrillSvg(report));
    summary.push(line(scenario, report));
    failed ||= !report.passed;
  }
} finally {
  await cluster.dispose();
  await rgw?.stop();
  await etcd.stop();
  rmSync(objects, { recursive: true, force: true });
}
process.stdout.write(`\nsoak summary (session timeout 3000 ms; ms after the fault)\n${summary.join('\n')}\nreports in ${out}\n`);
process.exitCode = failed ? 1 : 0;

function line(scenario: string, r: DrillReport): string {
  const t = r.totals;
  const s = (x: { p50: number | null; p99: number | null; max: number | null }) => `${x.p50 ?? '-'}/${x.p99 ?? '-'}/${x.max ?? '-'}`;
  return `${scenario}: cycles ${t.passedCycles}/${t.cycles} passed; acked ${t.acked}, lost ${t.ackedLost}, duplicates ${t.duplicates}; `
    + `writable p50/p99/max ${s(t.writableAffectedMs)}; detected ${s(t.detectedMs)}; replayed ${s(t.replayedMs)}; failovers failed ${t.failoversFailed}`;
}
