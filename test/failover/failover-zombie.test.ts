/**
 * A paused broker (SIGSTOP) is a zombie: its lease expires and its volume is failed over while it
 * still has the WAL open. Thawed (SIGCONT), it must not acknowledge or commit anything: the
 * takeover raised the WAL epoch and the volume owner record that every commit compares; the broker
 * sees its volume claimed by another broker and exits (code 70), and a restart claims it back.
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
const work = mkdtempSync(join(tmpdir(), 'ferry-failover-zombie-'));
const clusters: VolumeCluster[] = [];
after(async () => {
  for (const c of clusters) await c.dispose();
  rmSync(work, { recursive: true, force: true });
});

test('a paused broker\'s volume is failed over; thawed, it commits nothing, exits, and comes back clean', { timeout: 240_000 }, async (t) => {
  const kcat = requireTool('kcat');
  const python = requirePythonModules('confluent_kafka');
  const etcd = await startEtcd(t);
  const cluster = new VolumeCluster({ name: 'fo3', racks: ['a', 'b', 'c'], etcd, objectStore: { 'object.store.path': join(work, 'objects') } });
  clusters.push(cluster);
  await cluster.start();

  const topic = 'foz';
  const ackFile = join(work, 'acked.txt');
  const producer = new LineProcess(python, [SCRIPT, 'crash-producer', '--bootstrap', cluster.broker(1).bootstrap, '--topic', topic, '--partitions', '6', '--out', ackFile, '--idempotent']);
  try {
    await producer.waitForLine((l) => l === 'started', 30_000);
    await waitFor(async () => (await cluster.leaders(topic)).every((l) => l > 0), 20_000, 'every partition led');
    await waitFor(() => lines(ackFile).length >= 3000, 30_000, '3000 acknowledged before the pause');
    const md = await cluster.metadata(topic);
    const leaders = await cluster.leaders(topic);
    const victimId = [1, 2, 3].find((id) => id !== md.controllerId && leaders.includes(id))!;
    const victim = cluster.broker(victimId);
    const logBefore = victim.logs.length;

    cluster.pause(victimId);
    await waitFor(async () => (await cluster.failovers()).some((f) => f.brokerId === victimId && f.phase === 'done'), 60_000, 'the paused broker\'s volume was failed over');
    await waitFor(async () => (await cluster.leaders(topic)).every((l) => l !== victimId && l > 0), 30_000, 'its partitions moved');
    const acksWhilePaused = lines(ackFile).length;
    await waitFor(() => lines(ackFile).length >= acksWhilePaused + 500, 60_000, 'producing continues without it');

    cluster.resume(victimId);
    await waitFor(() => !victim.running, 30_000, () => `the thawed zombie exits (log: ${victim.logs.slice(logBefore).slice(-2000)})`);
    const zombieExit = victim.exitCode;
    assert.equal(zombieExit, 70, 'a fatal exit');
    const after = victim.logs.slice(logBefore);
    assert.match(after, /was claimed by broker \d+ at epoch \d+|WAL_FENCED|fenced/i, 'it exits because its volume was taken over');

    const acksAtThaw = lines(ackFile).length;
    await waitFor(() => lines(ackFile).length >= acksAtThaw + 500, 60_000, 'producing goes on');
    producer.kill('SIGTERM');
    await Promise.race([producer.exited, sleep(30_000)]);

    // Every acknowledged message once, offsets contiguous from 0 in every partition (no fork by the zombie).
    const acked = lines(ackFile);
    const v = await verifyAcked(kcat, cluster.brokers.find((b) => b.running)!.bootstrap, topic, acked, runChecked);
    assert.ok(v.contiguous, 'offsets contiguous from 0 in every partition');
    assert.deepEqual(v.lost.slice(0, 10), [], `${v.lost.length} of ${acked.length} acknowledged messages missing or at another offset`);
    assert.deepEqual(v.duplicateKeys.slice(0, 10), [], 'no duplicates from the idempotent producer');

    await victim.start(60_000);
    await waitFor(async () => (await cluster.metadata(topic)).brokers.length === 3, 20_000, 'the zombie, restarted, rejoins');
    t.diagnostic(`zombie exit ${zombieExit}; ${acked.length} acknowledged, none lost, offsets contiguous`);
  } finally {
    producer.kill('SIGKILL');
  }
});
