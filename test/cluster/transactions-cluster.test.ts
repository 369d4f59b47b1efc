/**
 * Transactions across a cluster on real processes: three brokers on one real etcd (racks a, b, c;
 * local WAL volumes that fail over; one fs object store shared by all), topics A and B with 6
 * partitions spread 2/2/2. A kafkajs consume-transform-produce loop (read_committed input; output
 * and input offsets in one transaction per 200 records) runs over 20,000 records; in the middle of
 * an open transaction the transaction coordinator's broker is SIGKILLed. The coordinator moves to a
 * survivor (the record is in etcd), the victim's partitions move with its volume, and the loop goes
 * on; the victim is restarted later (the coordinator moves back to it). A read_committed reader of
 * B sees every input exactly once, including on the partitions of B led by brokers other than the
 * coordinator, which only remote WriteTxnMarkers make readable.
 *
 * Measured: from the SIGKILL to the first successful commit after it (the recovery time of open
 * transactions after a coordinator failover), and when FindCoordinator named the new coordinator.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as KafkaJs from 'kafkajs';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { writeFileSync } from 'node:fs';
import { requireNodeModule } from '../helpers/require-tool.js';
import { waitFor } from '../helpers/wait.js';
import { consumeTransformProduce, readCommitted } from '../helpers/kafkajs-eos.js';
import type { VolumeCluster } from '../failover/volume-cluster.js';
import { startTxnCluster, pickVictim } from '../helpers/txn-cluster.js';

const work = mkdtempSync(join(tmpdir(), 'ferry-txn-cluster-'));
const clusters: VolumeCluster[] = [];
after(async () => {
  for (const c of clusters) await c.dispose();
  rmSync(work, { recursive: true, force: true });
});

const N = 20_000;

test('consume-transform-produce across 3 brokers survives a SIGKILL of the transaction coordinator: every input exactly once', { timeout: 200_000 }, async (t) => {
  const kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
  const kafka = (clientId: string, brokers: string[]) => new kjs.Kafka({ clientId, brokers, logLevel: kjs.logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 }, connectionTimeout: 2000, requestTimeout: 10_000 });
  const txnCluster = await startTxnCluster(t, { name: 'txn3', work, clusters, createTopics: async (brokers) => {
    const admin = kafka('txn3-setup', brokers.map((b) => b.bootstrap)).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'A', numPartitions: 6 }, { topic: 'B', numPartitions: 6 }] });
    await admin.disconnect();
  } });
  const { cluster, running } = txnCluster;
  const newKafka = (clientId: string) => kafka(clientId, running().map((b) => b.bootstrap));

  // A fresh client: the first one cached metadata from before the partitions had leaders (-1).
  const loaded = newKafka('txn3-load');
  const loadAdmin = loaded.admin();
  await loadAdmin.connect();
  const producer = loaded.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  // Round robin over A: every transaction of the loop then writes to every partition of B (see
  // outputPartition), those led by the coordinator's broker and those led by the others.
  for (let i = 0; i < N; i += 1000) {
    const messages = Array.from({ length: 1000 }, (_, j) => ({ key: `k${i + j}`, value: `in-${i + j}`, partition: (i + j) % 6 }));
    // kafkajs may still hold metadata from before every broker loaded its partitions (leader -1):
    // a send that fails before reaching a broker is retried (the end offsets are checked below).
    for (let attempt = 0; ; attempt++) {
      try { await producer.send({ topic: 'A', acks: -1, messages }); break; } catch (e) {
        if (attempt >= 10 || (e as Error).name !== 'KafkaJSBrokerNotFound') throw e;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }
  await producer.disconnect();
  const inputEnds = new Map((await loadAdmin.fetchTopicOffsets('A')).map((p) => [p.partition, BigInt(p.high)]));
  await loadAdmin.disconnect();
  assert.equal([...inputEnds.values()].reduce((a, b) => a + b, 0n), BigInt(N));

  // A transactional id whose coordinator is not the controller; that coordinator is the victim.
  const { transactionalId, victimId, victim, leadersB, remoteB, findCoordinator } = await pickVictim(txnCluster, 'ctp');

  let committed = 0;
  let killAt = 0;
  let movedAt = 0;
  let firstCommitAfterKill = 0;
  let restartedAt = 0;
  let newCoordinator = -1;
  const keysAfterRecovery = new Set<string>();
  let restart: Promise<void> = Promise.resolve();
  let leadersDuring: number[] = [];
  const commitsAfterRestart: number[] = [];
  const t0 = Date.now();
  const res = await consumeTransformProduce({
    kjs, kafka: () => newKafka('txn3-ctp'), input: 'A', output: 'B', groupId: 'ctp-group', transactionalId, inputEnds,
    transform: (v) => Buffer.from(v.toString().replace(/^in-/, 'out-')), deadlineMs: Date.now() + 120_000, recordsPerTransaction: 200,
    // k<i> is in A/(i % 6); in B/(floor(i / 6) % 6), so each transaction writes all six partitions of B.
    outputPartition: (key) => Math.floor(Number(key.slice(1)) / 6) % 6,
    beforeCommit: async () => {
      if (killAt || committed < N / 3) return;
      // The transaction is open: partitions added on the coordinator, data on the leaders.
      await victim.kill();
      killAt = Date.now();
      void (async () => {
        await waitFor(async () => { const c = await findCoordinator(); return c.errorCode === 0 && c.nodeId !== victimId; }, 30_000, 'a new transaction coordinator', 50);
        movedAt = Date.now();
        newCoordinator = (await findCoordinator()).nodeId;
      })().catch(() => undefined);
    },
    onCommit: async (records, at, keys) => {
      committed += records;
      if (killAt && !firstCommitAfterKill) firstCommitAfterKill = at;
      if (firstCommitAfterKill && !restartedAt) for (const k of keys) keysAfterRecovery.add(k);
      if (restartedAt) commitsAfterRestart.push(at);
      // Bring the victim back once the loop has gone on without it for a while.
      if (firstCommitAfterKill && !restartedAt && keysAfterRecovery.size >= 3000) {
        restartedAt = at;
        leadersDuring = await cluster.leaders('B');
        restart = victim.start(60_000);
      }
    },
  });
  await restart;
  const recoveryMs = firstCommitAfterKill - killAt;
  t.diagnostic(`loop: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${res.commits} commits, ${res.aborts} aborts, ${res.sessions} sessions; errors: ${res.errors.slice(0, 5).join(' | ')}`);
  t.diagnostic(`coordinator ${victimId} SIGKILLed in an open transaction: FindCoordinator named broker ${newCoordinator} after ${movedAt ? movedAt - killAt : '-'} ms; `
    + `first successful commit after ${recoveryMs} ms (broker.session.timeout.ms 3000, cleanup interval 1000 ms); `
    + `victim restarted ${restartedAt - killAt} ms after the kill, ${commitsAfterRestart.length} commits after that`);
  assert.ok(killAt > 0 && firstCommitAfterKill > killAt, 'the coordinator was killed during the loop and commits resumed');
  assert.ok(newCoordinator > 0 && newCoordinator !== victimId, 'a surviving broker became the coordinator');
  assert.ok(restartedAt > 0 && commitsAfterRestart.length > 0, 'commits went on after the victim came back');
  await waitFor(async () => (await findCoordinator()).nodeId === victimId, 30_000, 'the restarted broker coordinates its transactional id again');

  // Every input in B exactly once, under read_committed.
  const out = await readCommitted(newKafka('txn3-verify'), 'B', 60_000);
  const count = new Map<string, number>();
  const perPartition = new Map<number, Set<string>>();
  for (const r of out) {
    assert.equal(r.value, `out-${r.key.slice(1)}`);
    count.set(r.key, (count.get(r.key) ?? 0) + 1);
    if (!perPartition.has(r.partition)) perPartition.set(r.partition, new Set());
    perPartition.get(r.partition)!.add(r.key);
  }
  const missing = Array.from({ length: N }, (_, i) => `k${i}`).filter((k) => !count.has(k));
  const dup = [...count].filter(([, c]) => c > 1);
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} inputs missing from B`);
  if (dup.length && process.env.FERRY_CTP_DEBUG) {
    const part = out.find((r) => r.key === dup[0]![0])!.partition;
    const leader = cluster.broker((await cluster.leaders('B'))[part]!);
    const c = await RawKafkaConnection.connect(leader.bootstrap);
    const { batches } = await fetchAllBatches(c, 'B', part);
    c.close();
    const offs = out.filter((r) => dup.some(([k]) => k === r.key)).map((r) => BigInt(r.offset));
    const lo = offs.reduce((a, b) => (a < b ? a : b)) - 100n;
    const hi = offs.reduce((a, b) => (a > b ? a : b)) + 100n;
    for (const b of batches.filter((x) => x.lastOffset >= lo && x.baseOffset <= hi)) {
      console.error(`B/${part} ${b.baseOffset}-${b.lastOffset} pid ${b.producerId} epoch ${b.bytes.readInt16BE(51)} seq ${b.baseSequence} n ${b.recordsCount} attr ${b.bytes.readInt16BE(21)} leaderEpoch ${b.bytes.readInt32BE(12)}`);
    }
    for (const b of cluster.brokers) writeFileSync(`/tmp/txn3-broker-${cluster.brokers.indexOf(b) + 1}.log`, b.logs);
  }
  const where = (k: string) => out.filter((r) => r.key === k).map((r) => `${r.partition}@${r.offset}`).join(',');
  assert.deepEqual(dup.slice(0, 10).map(([k]) => `${k} ${where(k)}`), [], `${dup.length} inputs more than once in B`);
  assert.equal(out.length, N);

  // Markers reached remote leaders: the partitions of B that the first coordinator did not lead
  // hold committed records from before the kill, and the partitions the new coordinator did not
  // lead hold records committed while it coordinated.
  for (const p of remoteB) assert.ok((perPartition.get(p)?.size ?? 0) > 0, `B/${p} (led by ${leadersB[p]}, coordinator ${victimId}) has committed records`);
  const remoteAfter = leadersDuring.flatMap((l, p) => (l !== newCoordinator ? [p] : []));
  assert.ok(remoteAfter.length > 0, `partitions of B not led by the new coordinator ${newCoordinator}: ${leadersDuring}`);
  for (const p of remoteAfter) {
    const after = [...(perPartition.get(p) ?? [])].filter((k) => keysAfterRecovery.has(k)).length;
    assert.ok(after > 0, `B/${p} (led by ${leadersDuring[p]}, coordinator ${newCoordinator}) has records committed after the failover`);
  }
});
