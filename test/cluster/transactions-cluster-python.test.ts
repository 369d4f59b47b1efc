/**
 * The confluent-kafka-python (librdkafka 2.0.x) variant of transactions-cluster.test.ts: the same
 * three brokers on one real etcd with movable WAL volumes and topics A and B spread 2/2/2;
 * ck_txn.py's consume-transform-produce loop (read_committed input; output and input offsets in
 * one transaction per batch; in-<n> goes to B/(n % 6), so each transaction writes all six
 * partitions of B) over 20,000 records, given all three brokers as bootstrap servers. One
 * transaction is held open (its records acknowledged, its partitions and offsets added) for
 * 500 ms, announced on a 'holding' line, and the transaction coordinator's broker is SIGKILLed
 * in that window; librdkafka finds the new coordinator and goes on; the victim is restarted later. A
 * read_committed reader of B sees every input exactly once, and the partitions of B led by other
 * brokers than the coordinator (readable only through remote WriteTxnMarkers) hold committed
 * records, also from the transactions the new coordinator committed.
 *
 * Measured: from the SIGKILL to the first successful commit after it, and when FindCoordinator
 * named the new coordinator.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requirePythonModules } from '../helpers/require-tool.js';
import { LineProcess, runJson } from '../helpers/run-process.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { waitFor } from '../helpers/wait.js';
import type { VolumeCluster } from '../failover/volume-cluster.js';
import { startTxnCluster, pickVictim } from '../helpers/txn-cluster.js';
import { ApiKey } from '../../src/protocol/messages/index.js';

const SCRIPT = fileURLToPath(new URL('../clients/py/ck_txn.py', import.meta.url));
const argv = (command: string, bootstrap: string, args: Record<string, string | number>, flags: string[] = []) =>
  [SCRIPT, command, '--bootstrap', bootstrap, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)]), ...flags];

const work = mkdtempSync(join(tmpdir(), 'ferry-txn-cluster-py-'));
const clusters: VolumeCluster[] = [];
const procs: LineProcess[] = [];
after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  for (const c of clusters) await c.dispose();
  rmSync(work, { recursive: true, force: true });
});

const N = 20_000;

test('confluent-kafka-python consume-transform-produce across 3 brokers survives a SIGKILL of the transaction coordinator: every input exactly once', { timeout: 150_000 }, async (t) => {
  const python = requirePythonModules('confluent_kafka');
  const txnCluster = await startTxnCluster(t, { name: 'txn3py', work, clusters, createTopics: async (brokers) => {
    const c = await RawKafkaConnection.connect(brokers[0]!.bootstrap);
    try {
      const r = await c.request(ApiKey.CreateTopics, 5, { topics: ['A', 'B'].map((name) => ({ name, numPartitions: 6, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 10_000, validateOnly: false });
      assert.deepEqual(r.topics.map((x: any) => x.errorCode), [0, 0], `CreateTopics: ${JSON.stringify(r.topics)}`);
    } finally { c.close(); }
  } });
  const { cluster, running } = txnCluster;
  const bootstrap = () => running().map((b) => b.bootstrap).join(',');
  // The topics exist already: produce-input only loads A (key = value = in-<i>, default partitioner).
  const input = await runJson(python, argv('produce-input', bootstrap(), { topic: 'A', 'out-topic': 'B', partitions: 6, count: N }), { timeoutMs: 60_000 });
  assert.equal(input.acked, N, `input produced: ${JSON.stringify(input)}`);

  const { transactionalId, victimId, victim, leadersB, remoteB, findCoordinator } = await pickVictim(txnCluster, 'ctp-py');

  const ctp = new LineProcess(python, argv('ctp', bootstrap(), {
    topic: 'A', 'out-topic': 'B', partitions: 6, group: 'ctp-py-group', 'txn-id': transactionalId, batch: 250, seconds: 75,
    'hold-after': Math.floor(N / 3), 'hold-ms': 500,
  }, ['--commit-lines', '--spread']));
  procs.push(ctp);
  /** The loop's committed transactions so far, from its 'commit <ms> <records> <p>:<n>,...' lines. */
  const commits = () => ctp.lines.flatMap((l) => {
    const m = /^commit (\d+) (\d+) (\S*)$/.exec(l);
    if (!m) return [];
    const perPartition = new Map(m[3]!.split(',').filter(Boolean).map((x) => x.split(':').map(Number) as [number, number]));
    return [{ at: Number(m[1]), records: Number(m[2]), perPartition }];
  });

  let killAt = 0;
  let movedAt = 0;
  let newCoordinator = -1;
  let restartedAt = 0;
  let restart: Promise<void> = Promise.resolve();
  let leadersDuring: number[] = [];
  const t0 = Date.now();
  try {
    await ctp.waitForLine((l) => l === 'started', 30_000);
    // The held transaction: records on their leaders, partitions and offsets on the coordinator.
    const held = await ctp.waitForLine((l) => l.startsWith('holding '), 60_000);
    await victim.kill();
    killAt = Date.now();
    t.diagnostic(`coordinator ${victimId} SIGKILLed ${killAt - t0} ms into the loop, in the open transaction of '${held}'`);
    void (async () => {
      await waitFor(async () => { const c = await findCoordinator(); return c.errorCode === 0 && c.nodeId !== victimId; }, 30_000, 'a new transaction coordinator', 50);
      movedAt = Date.now();
      newCoordinator = (await findCoordinator()).nodeId;
    })().catch(() => undefined);
    // Bring the victim back once the loop has committed 3000 records without it.
    await waitFor(() => commits().filter((c) => c.at > killAt).reduce((a, c) => a + c.records, 0) >= 3000 || !ctp.running, 60_000,
      () => `3000 records committed after the kill; last lines: ${ctp.lines.slice(-3).join(' | ')}; stderr: ${ctp.stderr.slice(-2000)}`, 20);
    assert.ok(ctp.running, `the loop is still running: ${ctp.lines.slice(-3).join(' | ')}\n${ctp.stderr.slice(-3000)}`);
    restartedAt = Date.now();
    leadersDuring = await cluster.leaders('B');
    restart = victim.start(60_000);
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([ctp.exited, new Promise<null>((r) => { timer = setTimeout(() => r(null), 80_000); })]).finally(() => clearTimeout(timer));
    assert.ok(exit, `the loop ended; last lines: ${ctp.lines.slice(-3).join(' | ')}`);
  } finally {
    ctp.kill('SIGKILL');
  }
  await restart;
  const stats = JSON.parse(ctp.lines.filter((l) => l.startsWith('{')).pop() ?? '{}');
  const all = commits();
  const firstCommitAfterKill = all.find((c) => c.at > killAt)?.at ?? 0;
  const recovery = all.filter((c) => c.at >= firstCommitAfterKill && c.at < restartedAt);
  const afterRestart = all.filter((c) => c.at >= restartedAt);
  const recoveryMs = firstCommitAfterKill - killAt;
  t.diagnostic(`loop: ${stats.seconds} s, ${stats.commits} commits, ${stats.aborts} aborts, producers ${stats.producersCreated}, consumers ${stats.consumersCreated}, `
    + `rewinds ${stats.rewinds}, fatal ${stats.fatal}, commit retries ${stats.commitRetries}; errors ${JSON.stringify(stats.errors)}`);
  t.diagnostic(`coordinator ${victimId} SIGKILLed in an open transaction: FindCoordinator named broker ${newCoordinator} after ${movedAt ? movedAt - killAt : '-'} ms; `
    + `first successful commit after ${recoveryMs} ms (broker.session.timeout.ms 3000, cleanup interval 1000 ms); `
    + `victim restarted ${restartedAt - killAt} ms after the kill, ${afterRestart.length} commits after that`);
  assert.equal(stats.finished, true, `the group's committed offsets reached A's ends: ${JSON.stringify(stats)}\n${ctp.stderr.slice(-3000)}`);
  assert.ok(killAt > 0 && firstCommitAfterKill > killAt, 'the coordinator was killed during the loop and commits resumed');
  assert.ok(newCoordinator > 0 && newCoordinator !== victimId, 'a surviving broker became the coordinator');
  assert.ok(afterRestart.length > 0, 'commits went on after the victim came back');
  await waitFor(async () => (await findCoordinator()).nodeId === victimId, 30_000, 'the restarted broker coordinates its transactional id again');

  // Every input in B exactly once, under read_committed.
  const rc = await runJson(python, argv('read', bootstrap(), { topic: 'B', partitions: 6, group: 'ctp-py-verify', isolation: 'read_committed', count: N, prefix: 'out-', seconds: 40 }), { timeoutMs: 60_000 });
  assert.ok(rc.allEof, `read_committed reached every partition's end (LSO): ${JSON.stringify(rc.eofAt)} vs high watermarks ${rc.highWatermarks}`);
  assert.equal(rc.missing, 0, `nothing lost: ${rc.missing} missing, e.g. ${rc.missingSample}`);
  assert.equal(rc.duplicates, 0, `nothing twice: ${rc.duplicates} duplicates, e.g. ${rc.duplicateSample}`);
  assert.equal(rc.extra, 0, `nothing foreign: ${rc.extraSample}`);
  assert.equal(rc.count, N);

  // Markers reached remote leaders: the partitions of B that the first coordinator did not lead
  // hold committed records, and so do the partitions the new coordinator did not lead, from the
  // transactions it committed (every commit line lists the partitions of B it wrote).
  for (const p of remoteB) assert.ok((rc.perPartition[p] ?? 0) > 0, `B/${p} (led by ${leadersB[p]}, coordinator ${victimId}) has committed records`);
  const remoteAfter = leadersDuring.flatMap((l, p) => (l !== newCoordinator ? [p] : []));
  assert.ok(remoteAfter.length > 0, `partitions of B not led by the new coordinator ${newCoordinator}: ${leadersDuring}`);
  for (const p of remoteAfter) {
    const n = recovery.reduce((a, c) => a + (c.perPartition.get(p) ?? 0), 0);
    assert.ok(n > 0, `B/${p} (led by ${leadersDuring[p]}, coordinator ${newCoordinator}) got records committed after the failover`);
  }
  // Every committed transaction's records are in B once: per partition, the commit lines add up to what read_committed reads.
  const sums = [0, 1, 2, 3, 4, 5].map((p) => all.reduce((a, c) => a + (c.perPartition.get(p) ?? 0), 0));
  assert.deepEqual(sums, [0, 1, 2, 3, 4, 5].map((p) => rc.perPartition[p] ?? 0), 'records per partition of B: committed transactions vs read_committed');
});
