/**
 * The controller dies in the middle of a failover: it has attached the dead broker's volume to the
 * target and recorded phase "replaying" when it SIGKILLs itself (crash point remount-after-attach).
 * The next controller resumes that failover from the stored phase (same record, not restarted),
 * then fails over the old controller's own volume; every acknowledged message survives both.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd } from '../helpers/etcd.js';
import { requirePythonModules, requireTool } from '../helpers/require-tool.js';
import { LineProcess, runChecked } from '../helpers/run-process.js';
import { waitFor, sleep } from '../helpers/wait.js';
import { VolumeCluster, completeLines as lines, verifyAcked } from './volume-cluster.js';

const SCRIPT = fileURLToPath(new URL('../clients/py/ck_client.py', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ferry-failover-ctl-'));
const clusters: VolumeCluster[] = [];
after(async () => {
  for (const c of clusters) await c.dispose();
  rmSync(work, { recursive: true, force: true });
});

test('a controller killed mid-takeover: the next controller resumes the failover; nothing acknowledged lost', { timeout: 240_000 }, async (t) => {
  const kcat = requireTool('kcat');
  const python = requirePythonModules('confluent_kafka');
  const etcd = await startEtcd(t);
  const cluster = new VolumeCluster({ name: 'fo2', racks: ['a', 'b', 'c'], etcd, objectStore: { 'object.store.path': join(work, 'objects') } });
  clusters.push(cluster);
  // Broker 1 starts alone, so it is the controller, and it is the one that crashes mid-failover.
  cluster.broker(1).envOverride = { FERRY_CRASH_POINT: 'remount-after-attach' };
  await cluster.broker(1).start(60_000);
  await waitFor(async () => (await cluster.metadata('x')).controllerId === 1, 20_000, 'broker 1 is the controller');
  await Promise.all([cluster.broker(2).start(60_000), cluster.broker(3).start(60_000)]);
  await waitFor(async () => (await cluster.metadata('x')).brokers.length === 3, 20_000, 'three brokers');

  const topic = 'foc';
  const ackFile = join(work, 'acked.txt');
  const producer = new LineProcess(python, [SCRIPT, 'crash-producer', '--bootstrap', cluster.broker(3).bootstrap, '--topic', topic, '--partitions', '6', '--out', ackFile, '--idempotent']);
  try {
    await producer.waitForLine((l) => l === 'started', 30_000);
    await waitFor(async () => { const l = await cluster.leaders(topic); return l.length === 6 && [1, 2, 3].every((id) => l.includes(id)); }, 30_000, 'every broker leads partitions');
    await waitFor(() => lines(ackFile).length >= 3000, 30_000, () => `3000 acknowledged before the kill (have ${lines(ackFile).length})`);

    await cluster.broker(2).kill();
    const t0 = Date.now();
    // Broker 1 (controller) detects it, attaches vol-2 to broker 3, records "replaying", and dies.
    await waitFor(() => !cluster.broker(1).running, 30_000, 'the controller crashed at remount-after-attach');
    const t1 = Date.now();
    let seen = '';
    await waitFor(async () => {
      const l = await cluster.leaders(topic);
      seen = `leaders ${l}; failovers ${JSON.stringify(await cluster.failovers())}`;
      return l.every((x) => x === 3);
    }, 60_000, () => `broker 3 leads everything (${seen})`);
    const ackedAfter = lines(ackFile).length;
    await waitFor(() => lines(ackFile).length >= ackedAfter + 1000, 60_000, 'producing continues on broker 3');
    producer.kill('SIGTERM');
    await Promise.race([producer.exited, sleep(30_000)]);

    const fos = await cluster.failovers();
    const of2 = fos.find((f) => f.brokerId === 2)!;
    const of1 = fos.find((f) => f.brokerId === 1)!;
    assert.equal(of2.phase, 'done', JSON.stringify(of2));
    assert.equal(of2.target, 3);
    assert.ok(of2.times.attached! <= t1, 'broker 2\'s volume was attached by the first controller, before it died');
    assert.equal(of2.controller, 3, 'and the failover was finished by the next controller (same record, resumed)');
    assert.ok(of2.times.detected < t1 && of2.id === `2-${of2.times.detected}`);
    assert.equal(of1.phase, 'done', JSON.stringify(of1));
    assert.equal(of1.target, 3);
    t.diagnostic(`broker 2 killed at 0 ms; controller crashed at ${t1 - t0} ms; broker 2's failover released at ${of2.times.released! - t0} ms, broker 1's at ${of1.times.released! - t0} ms; replays ${JSON.stringify(of2.replay)} ${JSON.stringify(of1.replay)}`);

    const acked = lines(ackFile);
    const v = await verifyAcked(kcat, cluster.broker(3).bootstrap, topic, acked, runChecked);
    assert.deepEqual(v.lost.slice(0, 10), [], `${v.lost.length} of ${acked.length} acknowledged messages missing or at another offset`);
    assert.ok(v.contiguous, 'offsets contiguous from 0 in every partition');
  } finally {
    producer.kill('SIGKILL');
  }
});
