/**
 * Failover end to end on one machine: three broker processes in racks a, b, c on a real etcd, each
 * with its own local WAL volume, uploads every 20 s (so at the kill the WAL holds acknowledged data
 * that only the replay can save). An idempotent acks=all producer (librdkafka) runs throughout.
 * SIGKILL the leader of some partitions: the controller moves its volume to a live broker, which
 * replays the WAL into the object store; the partitions get new leaders and take writes again.
 * Every acknowledged message is there, at its offset, once. The killed broker comes back, finds
 * its volume released and trimmed, and rejoins.
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
import { VolumeCluster, completeLines as lines, probeWritable, verifyAcked } from './volume-cluster.js';

const SCRIPT = fileURLToPath(new URL('../clients/py/ck_client.py', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ferry-failover-'));
const clusters: VolumeCluster[] = [];
after(async () => {
  for (const c of clusters) await c.dispose();
  rmSync(work, { recursive: true, force: true });
});

test('kill -9 of a broker: volume moved, WAL replayed, partitions writable on live brokers, nothing acknowledged lost', { timeout: 240_000 }, async (t) => {
  const kcat = requireTool('kcat');
  const python = requirePythonModules('confluent_kafka');
  const etcd = await startEtcd(t);
  const cluster = new VolumeCluster({ name: 'fo1', racks: ['a', 'b', 'c'], etcd, objectStore: { 'object.store.path': join(work, 'objects') } });
  clusters.push(cluster);
  await cluster.start();

  const topic = 'fo';
  const ackFile = join(work, 'acked.txt');
  const producer = new LineProcess(python, [SCRIPT, 'crash-producer', '--bootstrap', cluster.broker(1).bootstrap, '--topic', topic, '--partitions', '6', '--out', ackFile, '--idempotent']);
  try {
    await producer.waitForLine((l) => l === 'started', 30_000);
    await waitFor(async () => (await cluster.leaders(topic)).every((l) => l > 0), 20_000, 'every partition led');
    await waitFor(() => lines(ackFile).length >= 3000, 30_000, () => `3000 acknowledged before the kill (have ${lines(ackFile).length})`);

    const md = await cluster.metadata(topic);
    const leaders = await cluster.leaders(topic);
    // A broker that is not the controller (the controller's own loss is another test).
    const victimId = [1, 2, 3].find((id) => id !== md.controllerId && leaders.includes(id))!;
    const victimParts = leaders.flatMap((l, p) => (l === victimId ? [p] : []));
    const victim = cluster.broker(victimId);
    await victim.kill();
    const t0 = Date.now();
    const ackedAtKill = lines(ackFile).length;

    const writable = await Promise.all(victimParts.map((p) => probeWritable(cluster, topic, p, t0 + 60_000)));
    const newLeaders = await cluster.leaders(topic);
    assert.ok(newLeaders.every((l) => l !== victimId && l > 0), `every partition on a live broker: ${newLeaders}`);
    await waitFor(() => lines(ackFile).length >= ackedAtKill + 2000, 60_000, () => `producing resumes (${lines(ackFile).length - ackedAtKill} new acks)`);
    producer.kill('SIGTERM');
    await Promise.race([producer.exited, sleep(30_000)]);

    const [fo] = (await cluster.failovers()).filter((f) => f.brokerId === victimId);
    assert.ok(fo, 'a failover record for the victim');
    assert.equal(fo.phase, 'done', JSON.stringify(fo));
    assert.equal(fo.volumeId, `vol-${victimId}`);
    assert.ok(fo.replay && fo.replay.batches > 0, `the replay carried acknowledged batches that were only in the WAL: ${JSON.stringify(fo.replay)}`);
    const ms = (x: number | undefined) => (x === undefined ? '-' : `${x - t0} ms`);
    t.diagnostic(`kill -> detected ${ms(fo.times.detected)}, attached ${ms(fo.times.attached)}, fenced ${ms(fo.times.fenced)}, replayed ${ms(fo.times.replayed)}, released ${ms(fo.times.released)}; `
      + `partitions writable at ${writable.map((w) => `${w - t0} ms`).join(', ')} (session timeout 3000 ms); replay ${JSON.stringify(fo.replay)}`);

    // Every acknowledged message, at its offset, exactly once (idempotent producer across the failover).
    const acked = lines(ackFile);
    const v = await verifyAcked(kcat, cluster.broker(victimId === 1 ? 2 : 1).bootstrap, topic, acked, runChecked);
    assert.deepEqual(v.lost.slice(0, 10), [], `${v.lost.length} of ${acked.length} acknowledged messages missing or at another offset`);
    assert.deepEqual(v.duplicateKeys.slice(0, 10), [], 'no duplicates from the idempotent producer');
    assert.ok(v.contiguous, 'offsets contiguous from 0 in every partition');

    // The killed broker comes back: its volume was released and trimmed; it claims it again and rejoins.
    await victim.start(60_000);
    assert.match(victim.logs, /"msg":"WAL volume attached and claimed"/);
    assert.match(victim.logs, new RegExp(`"previousOwner":${fo.target}`), 'the volume was last held by the failover target');
    await waitFor(async () => (await cluster.metadata(topic)).brokers.length === 3, 20_000, 'the victim is back in the cluster');
  } finally {
    producer.kill('SIGKILL');
  }
});
