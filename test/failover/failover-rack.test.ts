/**
 * A whole rack (simulated AZ) dies: four brokers in racks a, a, b, c on a real etcd, objects in
 * Ceph's S3 gateway (radosgw). SIGKILL both brokers of rack a at once: each volume goes to a live
 * broker in another rack (one takeover per target, so b and c take one each), both WALs are
 * replayed into S3, and every partition is writable again; nothing acknowledged is lost.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd } from '../helpers/etcd.js';
import { startRadosgw } from '../helpers/radosgw.js';
import { requirePythonModules, requireTool } from '../helpers/require-tool.js';
import { LineProcess, runChecked } from '../helpers/run-process.js';
import { waitFor, sleep } from '../helpers/wait.js';
import { VolumeCluster, completeLines as lines, probeWritable, verifyAcked } from './volume-cluster.js';

const SCRIPT = fileURLToPath(new URL('../clients/py/ck_client.py', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ferry-failover-rack-'));
const clusters: VolumeCluster[] = [];
after(async () => {
  for (const c of clusters) await c.dispose();
  rmSync(work, { recursive: true, force: true });
});

test('kill a whole rack: both volumes replayed into S3 (radosgw) on brokers in other racks, every partition writable, nothing lost', { timeout: 300_000 }, async (t) => {
  const kcat = requireTool('kcat');
  const python = requirePythonModules('confluent_kafka');
  const rgw = await startRadosgw(t, { timeoutMs: 120_000 });
  const bucket = `ferry-rack-${process.pid}`;
  await rgw.createBucket(bucket);
  const etcd = await startEtcd(t);
  const cluster = new VolumeCluster({
    name: 'fo4', racks: ['a', 'a', 'b', 'c'], etcd,
    objectStore: {
      'object.store': 's3', 's3.bucket': bucket, 's3.endpoint': rgw.endpoint, 's3.region': rgw.region,
      's3.force.path.style': 'true', 's3.access.key.id': rgw.accessKeyId, 's3.secret.access.key': rgw.secretAccessKey,
    },
  });
  clusters.push(cluster);
  await cluster.start();

  const topic = 'for';
  const ackFile = join(work, 'acked.txt');
  const producer = new LineProcess(python, [SCRIPT, 'crash-producer', '--bootstrap', cluster.broker(3).bootstrap, '--topic', topic, '--partitions', '8', '--out', ackFile, '--idempotent']);
  try {
    await producer.waitForLine((l) => l === 'started', 30_000);
    await waitFor(async () => { const l = await cluster.leaders(topic); return l.length === 8 && [1, 2, 3, 4].every((id) => l.includes(id)); }, 30_000, 'every broker leads partitions');
    await waitFor(() => lines(ackFile).length >= 3000, 30_000, '3000 acknowledged before the rack loss');
    const leaders = await cluster.leaders(topic);
    const rackA = leaders.flatMap((l, p) => (l === 1 || l === 2 ? [p] : []));

    await Promise.all([cluster.broker(1).kill(), cluster.broker(2).kill()]);
    const t0 = Date.now();
    const ackedAtKill = lines(ackFile).length;
    const writable = await Promise.all(rackA.map((p) => probeWritable(cluster, topic, p, t0 + 90_000)));
    await waitFor(() => lines(ackFile).length >= ackedAtKill + 2000, 60_000, 'producing resumes');
    producer.kill('SIGTERM');
    await Promise.race([producer.exited, sleep(30_000)]);

    const fos = (await cluster.failovers()).filter((f) => f.brokerId === 1 || f.brokerId === 2);
    assert.equal(fos.length, 2);
    for (const f of fos) {
      assert.equal(f.phase, 'done', JSON.stringify(f));
      assert.ok(f.targetRack === 'b' || f.targetRack === 'c', `rack a is gone: target in another rack (${f.targetRack})`);
    }
    assert.notEqual(fos[0]!.target, fos[1]!.target, 'one takeover per target: the two volumes went to different brokers');
    t.diagnostic(`rack a killed; failovers released at ${fos.map((f) => `${f.times.released! - t0} ms (broker ${f.brokerId} -> ${f.target})`).join(', ')}; `
      + `its ${rackA.length} partitions writable at ${writable.map((w) => w - t0).sort((a, b) => a - b).join(', ')} ms; replays ${fos.map((f) => JSON.stringify(f.replay)).join(' ')}`);

    const acked = lines(ackFile);
    const v = await verifyAcked(kcat, cluster.broker(3).bootstrap, topic, acked, runChecked);
    assert.deepEqual(v.lost.slice(0, 10), [], `${v.lost.length} of ${acked.length} acknowledged messages missing or at another offset`);
    assert.deepEqual(v.duplicateKeys.slice(0, 10), [], 'no duplicates from the idempotent producer');
    assert.ok(v.contiguous, 'offsets contiguous from 0 in every partition');
  } finally {
    producer.kill('SIGKILL');
  }
});
