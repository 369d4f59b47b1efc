/**
 * Zone-local produce (ferry.produce.routing=zone-local) under faults, on the six-broker,
 * three-zone cluster (zone-cluster.ts: etcd, radosgw, local volumes that fail over). In each test
 * an idempotent librdkafka producer of zone a sends numbered messages continuously and records
 * every acknowledgement ("key partition offset"); then the fault:
 *   - the object store (radosgw) stopped (SIGSTOP) for 10 s, then resumed;
 *   - SIGKILL of the zone-a broker that proxies the producer's partitions (found from Metadata
 *     asked with ferry_az=a): the producer goes on through the zone's other broker;
 *   - SIGKILL of a real leader (in zone b) while the proxy appends to it: its volume and
 *     partitions fail over, the proxy forwards to the new leaders;
 *   - SIGKILL of zone a's last broker: zone a's clients are sent to the real leaders.
 * The producer must see no message fail and no fatal error (only retriable errors, which
 * librdkafka retries), and afterwards a reader from the beginning (kcat, no zone) finds every
 * acknowledged message exactly once, at its acknowledged offset, offsets contiguous.
 * The tests run in this order on one cluster (6, then 5, 4 and 3 live brokers).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireNodeModule, requirePythonModules, requireTool } from '../helpers/require-tool.js';
import { runChecked } from '../helpers/run-process.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { ZoneCluster } from './zone-cluster.js';
import type * as KafkaJs from 'kafkajs';
import { PyProducer, checkAcked, checkReads, kjsProduce, type Acked, type Consumed } from './zone-clients.js';

const PARTITIONS = 12;
const RATE = 1500;
const SIZE = 200;
const ZONE_LOCAL = { 'ferry.produce.routing': 'zone-local', 'ferry.remote.read.mode': 'uploaded-only' };

describe('zone-local produce under faults: nothing acknowledged lost, no duplicates', { timeout: 600_000 }, () => {
  let z: ZoneCluster;
  let python: string;
  let kcat: string;
  let kjs: typeof KafkaJs;
  const work = mkdtempSync(join(tmpdir(), 'ferry-zone-faults-'));

  before(async () => {
    python = requirePythonModules('confluent_kafka');
    kcat = requireTool('kcat');
    kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    z = await ZoneCluster.start({ name: 'zfault', config: { 'upload.interval.ms': '3000' } });
  });
  after(async () => {
    await z?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  /** The zone-a producers of a test: librdkafka (paced) and kafkajs (one send of 50 at a time), both idempotent. */
  interface Producers {
    py: PyProducer;
    kjsAcked: Acked[];
    kjsRun: Promise<unknown>;
    stop: { stopped: boolean };
    /** Set when the kafkajs producer gave up (an error it may not retry, or retries exhausted). */
    kjsError: any;
    /** Everything acknowledged so far, both producers. */
    acked(): Acked[];
  }

  async function startProducers(topic: string): Promise<Producers> {
    await z.createTopic(topic, PARTITIONS, ZONE_LOCAL);
    const py = await PyProducer.start(python, { bootstrap: z.bootstrap('a'), topic, zone: 'a', name: `fault-${topic}`, out: join(work, `${topic}.acked`), rate: RATE, size: SIZE, linger: 2 });
    const stop = { stopped: false };
    const kjsAcked: Acked[] = [];
    const kjsRun = kjsProduce(kjs, { brokers: z.bootstrap('a').split(','), topic, zone: 'a', name: `fault-kjs-${topic}`, partitions: PARTITIONS, bytes: 0, size: SIZE, batch: 50, stop, onePartitionPerSend: true }, kjsAcked);
    const p: Producers = { py, kjsAcked, kjsRun, stop, kjsError: null, acked: () => [...py.acked(), ...kjsAcked] };
    kjsRun.catch((e) => { p.kjsError = e; }); // awaited in finish(); a rejection must not go unhandled meanwhile
    await waitFor(() => py.acked().length >= 2000 && kjsAcked.length >= 200, 60_000,
      () => `2000 (librdkafka) and 200 (kafkajs) acknowledged before the fault (${py.acked().length}, ${kjsAcked.length}); stderr: ${py.proc.stderr.slice(-1500)}`);
    return p;
  }

  function stopAll(p: Producers): void { p.stop.stopped = true; p.py.kill(); }

  /** Producing goes on past the fault: `n` more acknowledgements, on every partition. */
  async function waitResumed(p: Producers, from: { py: number; kjs: number }, n: number, timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    await waitFor(() => {
      if (p.kjsError) return true; // failed: said below
      const py = p.py.acked().slice(from.py);
      const kj = p.kjsAcked.slice(from.kjs);
      return py.length >= n && new Set(py.map((a) => a.partition)).size === PARTITIONS && kj.length >= n / 10;
    }, timeoutMs, () => `${n} more acknowledged (librdkafka, on all ${PARTITIONS} partitions) and ${n / 10} (kafkajs) after the fault (${p.py.acked().length - from.py}, ${p.kjsAcked.length - from.kjs} so far); librdkafka stderr: ${p.py.proc.stderr.slice(-1500)}`);
    if (p.kjsError) throw new Error(`the kafkajs producer gave up after the fault: ${String(p.kjsError.stack ?? p.kjsError).slice(0, 2000)}`);
    return Date.now() - t0;
  }

  const marks = (p: Producers) => ({ py: p.py.acked().length, kjs: p.kjsAcked.length });

  /** Stop the producer, check what it saw, and read the topic back. */
  async function finish(t: { diagnostic(s: string): void }, topic: string, p: Producers): Promise<void> {
    p.stop.stopped = true;
    const kjsResult = await p.kjsRun.then(() => null, (e) => e);
    const summary = await p.py.stop();
    t.diagnostic(`kafkajs producer: acknowledged ${p.kjsAcked.length}${kjsResult ? `, failed: ${kjsResult.stack ?? kjsResult}` : ''}`);
    assert.equal(kjsResult, null, `the kafkajs producer saw only retriable errors (it retries those): ${String(kjsResult?.stack ?? kjsResult).slice(0, 2000)}`);
    t.diagnostic(`producer: sent ${summary.sent}, acknowledged ${summary.acked}, not flushed ${summary.notFlushed}, delivery errors ${summary.deliveryErrors?.length}, client errors ${JSON.stringify((summary.errors ?? []).map((e: any) => e.name))}`);
    assert.equal(summary.error, undefined, `producer: ${summary.error}`);
    assert.deepEqual(summary.deliveryErrors, [], 'no message failed for good (every error was retriable and retried)');
    assert.deepEqual((summary.errors ?? []).filter((e: any) => e.fatal), [], 'no fatal producer error');
    assert.equal(summary.notFlushed, 0, 'everything sent was acknowledged by the end');
    const pyAcked = p.py.acked();
    assert.equal(pyAcked.length, summary.sent, 'every message librdkafka sent was acknowledged');
    const acked = [...pyAcked, ...p.kjsAcked];
    const bootstrap = z.cluster.broker(z.liveBrokers()[0]!).bootstrap;
    // A reader without a zone (kcat): served by the leaders themselves.
    const res = await runChecked(kcat, ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %o %k\n'], { timeoutMs: 90_000 });
    const stored: Consumed[] = res.stdout.toString('utf8').split('\n').filter(Boolean).map((l) => { const [q, o, k] = l.split(' '); return { partition: Number(q), offset: Number(o), key: k ?? '' }; });
    const c = checkReads(acked, stored, [`fault-${topic}`, `fault-kjs-${topic}`]);
    t.diagnostic(`read back ${stored.length} records; ${acked.length} acknowledged`);
    assert.deepEqual(checkAcked(acked).slice(0, 10), [], 'acknowledgements consistent (one key per offset, each producer in order)');
    assert.deepEqual(c.missing.slice(0, 10), [], `${c.missing.length} of ${acked.length} acknowledged messages missing`);
    assert.deepEqual(c.misplaced.slice(0, 10), [], `${c.misplaced.length} acknowledged messages at another offset`);
    assert.deepEqual(c.duplicates.slice(0, 10), [], `${c.duplicates.length} messages stored twice (idempotent producers)`);
    assert.deepEqual(c.unknown.slice(0, 10), [], 'nothing stored that the producers did not send');
    const perPartition = new Map<number, number[]>();
    for (const r of stored) perPartition.set(r.partition, [...(perPartition.get(r.partition) ?? []), r.offset]);
    assert.ok([...perPartition.values()].every((offs) => offs.every((o, i) => o === i)), 'offsets contiguous from 0 in every partition');
    assert.equal(stored.length, acked.length, 'the topic holds exactly the acknowledged messages');
  }

  test('object store stopped for 10 s: produces wait or fail retriably, then go on; nothing acknowledged lost', { timeout: 180_000 }, async (t) => {
    const topic = 'f-store';
    const p = await startProducers(topic);
    try {
      const pid = z.rgw.pids.rgw;
      const atPause = p.acked().length;
      process.kill(pid, 'SIGSTOP');
      try { await sleep(10_000); } finally { process.kill(pid, 'SIGCONT'); }
      const atResume = marks(p);
      t.diagnostic(`acknowledged while the object store was stopped: ${atResume.py + atResume.kjs - atPause}`);
      const ms = await waitResumed(p, atResume, 3000, 60_000);
      t.diagnostic(`3000 more acknowledged ${ms} ms after the object store came back`);
      await finish(t, topic, p);
    } finally { stopAll(p); }
  });

  test('SIGKILL the zone proxy mid-batch: the producer goes on through the zone\'s other broker', { timeout: 180_000 }, async (t) => {
    const topic = 'f-proxy';
    const p = await startProducers(topic);
    try {
      const before = await z.partitions(topic, 'a');
      const real = await z.partitions(topic);
      // The zone-a broker proxying the most partitions led in other zones.
      const proxied = new Map<number, number>();
      for (const q of before) if (z.rackOf(real[q.partition]!.leaderId) !== 'a') proxied.set(q.leaderId, (proxied.get(q.leaderId) ?? 0) + 1);
      const victim = [...proxied].sort((x, y) => y[1] - x[1])[0]?.[0];
      assert.ok(victim !== undefined && z.rackOf(victim) === 'a', `a zone-a broker proxies partitions led elsewhere (zone-a metadata ${before.map((q) => q.leaderId)}, real ${real.map((q) => q.leaderId)})`);
      t.diagnostic(`zone-a leaders before ${before.map((q) => q.leaderId)}; real ${real.map((q) => q.leaderId)}; killing proxy ${victim}`);
      const killedAt = Date.now();
      await z.kill(victim);
      const atKill = marks(p);
      await z.waitFailoverDone(victim);
      const failoverMs = Date.now() - killedAt;
      const ms = await waitResumed(p, atKill, 3000, 90_000);
      t.diagnostic(`failover of broker ${victim} done ${failoverMs} ms after the kill; 3000 more acknowledged on every partition ${ms} ms later`);
      const afterKill = await z.partitions(topic, 'a');
      t.diagnostic(`zone-a leaders after ${afterKill.map((q) => q.leaderId)}`);
      const others = z.brokersIn('a').filter((id) => id !== victim);
      for (const q of afterKill) {
        const realLeader = (await z.partitions(topic))[q.partition]!.leaderId;
        assert.ok(others.includes(q.leaderId) || q.leaderId === realLeader, `partition ${q.partition}: zone a is now served by ${q.leaderId}, another zone-a broker (${others}) or the real leader ${realLeader}`);
      }
      await finish(t, topic, p);
    } finally { stopAll(p); }
  });

  test('SIGKILL the real leader mid-append: its partitions fail over and the proxy forwards to the new leaders', { timeout: 180_000 }, async (t) => {
    const topic = 'f-leader';
    const p = await startProducers(topic);
    try {
      const real = await z.partitions(topic);
      const zoneA = await z.partitions(topic, 'a');
      const counts = new Map<number, number>();
      for (const q of real) if (z.rackOf(q.leaderId) === 'b') counts.set(q.leaderId, (counts.get(q.leaderId) ?? 0) + 1);
      const victim = [...counts].sort((x, y) => y[1] - x[1])[0]?.[0];
      assert.ok(victim !== undefined, `a zone-b broker leads partitions of ${topic} (${real.map((q) => q.leaderId)})`);
      const moved = real.filter((q) => q.leaderId === victim).map((q) => q.partition);
      t.diagnostic(`real leaders ${real.map((q) => q.leaderId)}; zone-a proxies ${zoneA.map((q) => q.leaderId)}; killing leader ${victim} of partitions ${moved}`);
      const killedAt = Date.now();
      await z.kill(victim);
      const atKill = marks(p);
      await z.waitFailoverDone(victim);
      const failoverMs = Date.now() - killedAt;
      const ms = await waitResumed(p, atKill, 3000, 90_000);
      t.diagnostic(`failover of broker ${victim} done ${failoverMs} ms after the kill; 3000 more acknowledged on every partition ${ms} ms later`);
      const afterKill = await z.partitions(topic);
      for (const q of moved) assert.notEqual(afterKill[q]!.leaderId, victim, `partition ${q} has a new leader`);
      const resumedOnMoved = p.py.acked().slice(atKill.py).filter((a) => moved.includes(a.partition)).length;
      t.diagnostic(`new leaders of ${moved}: ${moved.map((q) => afterKill[q]!.leaderId)}; acknowledged on them since the kill: ${resumedOnMoved}`);
      assert.ok(resumedOnMoved > 0, 'the moved partitions take writes again');
      await finish(t, topic, p);
    } finally { stopAll(p); }
  });
  test('SIGKILL the zone\'s last broker: the producer goes to the real leaders in other zones', { timeout: 180_000 }, async (t) => {
    const topic = 'f-last';
    const p = await startProducers(topic);
    try {
      const zoneA = z.brokersIn('a').filter((id) => z.running(id));
      assert.equal(zoneA.length, 1, `zone a has one live broker left (${zoneA})`);
      const victim = zoneA[0]!;
      const killedAt = Date.now();
      await z.kill(victim);
      const atKill = marks(p);
      await z.waitFailoverDone(victim);
      const failoverMs = Date.now() - killedAt;
      const ms = await waitResumed(p, atKill, 3000, 90_000);
      t.diagnostic(`failover of broker ${victim} done ${failoverMs} ms after the kill; 3000 more acknowledged on every partition ${ms} ms later`);
      const real = await z.partitions(topic);
      const seen = await z.partitions(topic, 'a');
      t.diagnostic(`zone a has no broker: zone-a metadata ${seen.map((q) => q.leaderId)}, real ${real.map((q) => q.leaderId)}`);
      assert.deepEqual(seen.map((q) => q.leaderId), real.map((q) => q.leaderId), 'a zone without live brokers is sent to the real leaders');
      await finish(t, topic, p);
    } finally { stopAll(p); }
  });
});
