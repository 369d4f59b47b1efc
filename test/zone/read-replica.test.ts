/**
 * Read replicas on real processes: three brokers on etcd in racks a, b, c with a shared object
 * store (a directory) and uploads every second; librdkafka consumers (Debian's
 * python3-confluent-kafka) with client.rack set to another zone than the partition leader's.
 *   - tail mode: every message once and in order; the leader redirected the consumer and served it
 *     no record byte; its zone's broker served uploaded data from objects and the tail (before it
 *     was uploaded) from the leader;
 *   - uploaded-only: the same, and not one record byte crossed from the leader to the replica;
 *   - read_committed through the replica: aborted records dropped;
 *   - SIGKILL of the replica while a consumer (node-rdkafka: librdkafka 2.12) reads: it goes on
 *     (the leader serves it once the zone has no live broker) and gets every message once, in order;
 *   - FerryRemoteFetch on the wire, after that failover: a stale epoch, a newer one, a broker that
 *     does not lead.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsSnapshot } from '../../src/admin/prom-text.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { freePort } from '../helpers/ports.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import type * as Rd from 'node-rdkafka';
import { requireNodeModule, requirePythonModules } from '../helpers/require-tool.js';
import { LineProcess, runProcess } from '../helpers/run-process.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { VolumeCluster } from '../failover/volume-cluster.js';

const RACKS = ['a', 'b', 'c'];

/** A librdkafka producer (plain or transactional) and consumer (client.rack, assign from the beginning). */
const CLIENT_PY = String.raw`
import argparse, json, sys, time
from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING

ap = argparse.ArgumentParser()
ap.add_argument('mode')
ap.add_argument('--bootstrap'); ap.add_argument('--topic')
ap.add_argument('--plan', default='[]'); ap.add_argument('--txn', default='')
ap.add_argument('--size', type=int, default=200)
ap.add_argument('--rack', default=''); ap.add_argument('--isolation', default='read_uncommitted')
ap.add_argument('--count', type=int, default=0); ap.add_argument('--timeout', type=float, default=120)
a = ap.parse_args()

if a.mode == 'produce':
    conf = {'bootstrap.servers': a.bootstrap, 'acks': 'all', 'linger.ms': 5, 'enable.idempotence': True}
    if a.txn: conf['transactional.id'] = a.txn
    p = Producer(conf)
    failed = []
    def done(err, msg):
        if err: failed.append(str(err))
    if a.txn: p.init_transactions(30)
    for prefix, count, end in json.loads(a.plan):
        if a.txn: p.begin_transaction()
        for i in range(count):
            while True:
                try:
                    p.produce(a.topic, key=('%s-%d' % (prefix, i)).encode(), value=b'v' * a.size, partition=0, on_delivery=done); break
                except BufferError:
                    p.poll(0.05)
            p.poll(0)
        if a.txn:
            # Sent before the end: an abort purges what is still queued, and the test wants aborted records in the log.
            p.flush(60)
            if end == 'commit': p.commit_transaction(30)
            else: p.abort_transaction(30)
    left = p.flush(60)
    print(json.dumps({'unflushed': left, 'failed': failed[:5]}), flush=True)
    sys.exit(1 if left or failed else 0)

c = Consumer({'bootstrap.servers': a.bootstrap, 'group.id': 'rr-' + a.topic, 'client.rack': a.rack, 'client.id': 'rr-consumer',
              'enable.auto.commit': False, 'isolation.level': a.isolation, 'fetch.wait.max.ms': 500})
c.assign([TopicPartition(a.topic, 0, OFFSET_BEGINNING)])
print('ready', flush=True)
n = 0
deadline = time.time() + a.timeout
while time.time() < deadline and n < a.count:
    m = c.poll(0.2)
    if m is None: continue
    if m.error():
        print('error ' + str(m.error()), file=sys.stderr, flush=True); continue
    print('%d %s' % (m.offset(), m.key().decode()), flush=True)
    n += 1
# Anything more (an aborted record, a duplicate) would show up now.
end = time.time() + 1.5
while time.time() < end:
    m = c.poll(0.2)
    if m is not None and not m.error(): print('%d %s' % (m.offset(), m.key().decode()), flush=True)
c.close()
print('done', flush=True)
`;

let python: string;
let etcd: EtcdServer;
let cluster: VolumeCluster;
let work: string;
const metricsPorts = new Map<number, number>();

before(async () => {
  python = requirePythonModules('confluent_kafka');
  work = mkdtempSync(join(tmpdir(), 'ferry-rr-zone-'));
  etcd = await startEtcd();
  cluster = new VolumeCluster({
    name: 'rrz', racks: RACKS, etcd, objectStore: { 'object.store.path': join(work, 'objects') },
    config: { 'upload.interval.ms': '1000', 'num.partitions': '1', 'auto.create.topics.enable': 'false' },
  });
  for (const [i, b] of cluster.brokers.entries()) {
    const port = await freePort();
    metricsPorts.set(i + 1, port);
    b.envOverride.FERRY_METRICS_LISTENER = `127.0.0.1:${port}`;
  }
  await cluster.start();
});

after(async () => {
  await cluster?.dispose().catch(() => {});
  await etcd?.stop().catch(() => {});
  if (work) rmSync(work, { recursive: true, force: true });
});

async function metric(id: number, name: string, filter: Record<string, string> = {}): Promise<number> {
  return (await MetricsSnapshot.fetch(`http://127.0.0.1:${metricsPorts.get(id)}`)).sum(name, filter);
}

interface Counters { redirects: number; object: number; tail: number; replicaCrossAz: number; fetched: number }

/** The figures of one broker this file checks. */
async function counters(id: number, topic: string): Promise<Counters> {
  return {
    redirects: await metric(id, 'ferry_fetch_read_replica_redirects_total'),
    object: await metric(id, 'ferry_read_replica_bytes_total', { source: 'object' }),
    tail: await metric(id, 'ferry_read_replica_bytes_total', { source: 'tail' }),
    replicaCrossAz: await metric(id, 'ferry_replica_cross_az_bytes_total'),
    fetched: await metric(id, 'ferry_fetched_bytes_total', { topic }),
  };
}

function delta(after: Counters, before: Counters): Counters {
  return {
    redirects: after.redirects - before.redirects, object: after.object - before.object, tail: after.tail - before.tail,
    replicaCrossAz: after.replicaCrossAz - before.replicaCrossAz, fetched: after.fetched - before.fetched,
  };
}

function bootstrap(): string {
  return cluster.brokers.filter((b) => b.running).map((b) => b.bootstrap).join(',');
}

/** Creates a one-partition topic; returns its leader, that leader's epoch, and a broker in another zone (the consumers' zone). */
async function createTopic(name: string, configs: Record<string, string> = {}, partitions = 1): Promise<{ leader: number; epoch: number; replica: number; topicId: string }> {
  const via = cluster.brokers.find((b) => b.running)!;
  const conn = await RawKafkaConnection.connect(via.bootstrap);
  try {
    const r = await conn.request(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })) }],
      timeoutMs: 10_000, validateOnly: false,
    });
    assert.equal(r.topics[0].errorCode, 0, `CreateTopics ${name}: ${r.topics[0].errorMessage}`);
  } finally { conn.close(); }
  // Leaders settle (the controller may move a new partition once, to spread leaders): the same
  // leaders and epochs for 2.5 s.
  let md: any;
  let seen = '';
  let since = 0;
  await waitFor(async () => {
    md = await cluster.metadata(name);
    const ps = md.topics[0]?.errorCode === 0 ? md.topics[0].partitions : [];
    if (ps.length !== partitions || !ps.every((p: any) => p.leaderId > 0)) return false;
    const now = JSON.stringify(ps.map((p: any) => [p.partitionIndex, p.leaderId, p.leaderEpoch]).sort());
    if (now !== seen) { seen = now; since = Date.now(); }
    return Date.now() - since >= 2500;
  }, 40_000, `${name} has settled leaders`, 250);
  const p = md.topics[0].partitions.find((x: any) => x.partitionIndex === 0);
  const leader = p.leaderId as number;
  const replica = [1, 2, 3].find((id) => id !== leader && cluster.broker(id).running)!;
  return { leader, epoch: p.leaderEpoch, replica, topicId: md.topics[0].topicId };
}

async function produce(topic: string, plan: [string, number, 'none' | 'commit' | 'abort'][], txn = ''): Promise<void> {
  const r = await runProcess(python, ['-c', CLIENT_PY, 'produce', '--bootstrap', bootstrap(), '--topic', topic, '--plan', JSON.stringify(plan), ...(txn ? ['--txn', txn] : [])], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `producer failed: ${r.stdout.toString()} ${r.stderr.toString().slice(-2000)}`);
}

function startConsumer(topic: string, rack: string, count: number, isolation = 'read_uncommitted'): LineProcess {
  return new LineProcess(python, ['-c', CLIENT_PY, 'consume', '--bootstrap', bootstrap(), '--topic', topic, '--rack', rack, '--count', String(count), '--isolation', isolation, '--timeout', '150']);
}

/** The "offset key" lines a consumer printed. */
function consumed(c: LineProcess): { offset: number; key: string }[] {
  return c.lines.filter((l) => /^\d+ /.test(l)).map((l) => { const [o, k] = l.split(' '); return { offset: Number(o), key: k! }; });
}

async function finished(c: LineProcess): Promise<void> {
  await c.waitForLine((l) => l === 'done', 170_000);
}

function assertKeys(got: { key: string }[], expected: string[], what: string): void {
  const keys = got.map((g) => g.key);
  const dupes = keys.length - new Set(keys).size;
  assert.equal(dupes, 0, `${what}: no message twice`);
  assert.deepEqual(keys, expected, `${what}: every message once, in order`);
}

const keysOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

test('tail mode: a consumer of another zone reads everything once and in order from its zone\'s broker: uploaded data from objects, the tail from the leader before it is uploaded', { timeout: 240_000 }, async (ctx) => {
  const t = await createTopic('rr-tail');
  const rack = RACKS[t.replica - 1]!;
  const leaderBefore = await counters(t.leader, 'rr-tail');
  const replicaBefore = await counters(t.replica, 'rr-tail');
  await produce('rr-tail', [['old', 3000, 'none']]);
  await sleep(2500); // uploaded (upload.interval.ms=1000)
  const consumer = startConsumer('rr-tail', rack, 4000);
  try {
    await waitFor(() => consumed(consumer).length >= 3000, 90_000, () => `3000 old messages consumed (${consumed(consumer).length}); stderr: ${consumer.stderr.slice(-1500)}`);
    const midReplica = await counters(t.replica, 'rr-tail');
    assert.ok(midReplica.object - replicaBefore.object > 0, 'the uploaded messages came from the object store');
    // The consumer waits at the head: what comes now is served from the leader's tail.
    await produce('rr-tail', [['new', 1000, 'none']]);
    await finished(consumer);
  } finally { consumer.kill(); }
  assertKeys(consumed(consumer), [...keysOf('old', 3000), ...keysOf('new', 1000)], 'rr-tail');
  assert.deepEqual(consumed(consumer).map((m) => m.offset), Array.from({ length: 4000 }, (_, i) => i));
  const leader = delta(await counters(t.leader, 'rr-tail'), leaderBefore);
  const replica = delta(await counters(t.replica, 'rr-tail'), replicaBefore);
  assert.ok(leader.redirects > 0, 'the leader sent the consumer to its zone\'s broker');
  assert.equal(leader.fetched, 0, 'the leader served the consumer no record byte');
  assert.ok(replica.object > 0 && replica.tail > 0, `the replica served objects and tail: ${JSON.stringify(replica)}`);
  assert.ok(replica.fetched >= replica.object + replica.tail);
  ctx.diagnostic(`leader ${JSON.stringify(leader)}; replica ${JSON.stringify(replica)}`);
  assert.ok(leader.replicaCrossAz > 0 && leader.replicaCrossAz <= replica.tail * 1.05 + 65536, `only the tail crossed, about once: ${leader.replicaCrossAz} B crossed, ${replica.tail} B served from the tail`);
});

test('uploaded-only: the consumer gets only uploaded data, and not one record byte crosses from the leader to the replica', { timeout: 240_000 }, async (ctx) => {
  const t = await createTopic('rr-up', { 'ferry.remote.read.mode': 'uploaded-only' });
  const rack = RACKS[t.replica - 1]!;
  const leaderBefore = await counters(t.leader, 'rr-up');
  const replicaBefore = await counters(t.replica, 'rr-up');
  const consumer = startConsumer('rr-up', rack, 3000);
  try {
    await consumer.waitForLine((l) => l === 'ready', 30_000);
    await produce('rr-up', [['u', 2000, 'none']]);
    await waitFor(() => consumed(consumer).length >= 2000, 90_000, () => `2000 consumed (${consumed(consumer).length}); stderr: ${consumer.stderr.slice(-1500)}`);
    await produce('rr-up', [['w', 1000, 'none']]);
    await finished(consumer);
  } finally { consumer.kill(); }
  assertKeys(consumed(consumer), [...keysOf('u', 2000), ...keysOf('w', 1000)], 'rr-up');
  const leader = delta(await counters(t.leader, 'rr-up'), leaderBefore);
  const replica = delta(await counters(t.replica, 'rr-up'), replicaBefore);
  ctx.diagnostic(`leader ${JSON.stringify(leader)}; replica ${JSON.stringify(replica)}`);
  assert.ok(leader.redirects > 0);
  assert.equal(leader.fetched, 0);
  assert.equal(leader.replicaCrossAz, 0, 'no tail byte crossed');
  assert.equal(replica.tail, 0);
  assert.ok(replica.object > 0);
});

test('read_committed through a replica: the aborted transaction\'s records are dropped, the committed ones arrive in order', { timeout: 240_000 }, async () => {
  const t = await createTopic('rr-txn');
  const rack = RACKS[t.replica - 1]!;
  const replicaBefore = await counters(t.replica, 'rr-txn');
  await produce('rr-txn', [['c1', 300, 'commit'], ['ab', 300, 'abort'], ['c2', 300, 'commit']], 'rr-txn-producer');
  const consumer = startConsumer('rr-txn', rack, 600, 'read_committed');
  try { await finished(consumer); } finally { consumer.kill(); }
  assertKeys(consumed(consumer), [...keysOf('c1', 300), ...keysOf('c2', 300)], 'rr-txn');
  const replica = delta(await counters(t.replica, 'rr-txn'), replicaBefore);
  assert.ok(replica.object + replica.tail > 0, 'served by the replica');
});

test('the replica is SIGKILLed while a consumer of its zone reads: the consumer goes on and still gets every message once, in order', { timeout: 300_000 }, async () => {
  // librdkafka 2.0.2 (Debian's) keeps fetching from a dead preferred replica until its 5-minute
  // lease ends; 2.12 (node-rdkafka) reverts to the leader when the replica's connection fails.
  const rd = requireNodeModule<typeof Rd>('node-rdkafka');
  await createTopic('rr-raw', {}, 6);
  const t = await createTopic('rr-kill');
  // The broker killed below leads a partition of rr-raw: a new leader epoch for the test after this one.
  await waitFor(async () => (await cluster.leaders('rr-raw')).includes(t.replica), 30_000, 'rr-raw spread over the brokers');
  const rack = RACKS[t.replica - 1]!;
  const replicaBefore = await counters(t.replica, 'rr-kill');
  const got: { offset: number; key: string }[] = [];
  const consumer = new rd.KafkaConsumer({
    'metadata.broker.list': bootstrap(), 'group.id': 'rr-kill', 'client.rack': rack, 'client.id': 'rr-kill-consumer',
    'enable.auto.commit': false, 'fetch.wait.max.ms': 500, 'socket.timeout.ms': 10_000,
  }, { 'auto.offset.reset': 'earliest' });
  const cb = <T>(f: (done: (err: any, v?: T) => void) => void) => new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))));
  await cb((done) => consumer.connect({ timeout: 15_000 }, done));
  let reading = true;
  const loop = (async () => {
    consumer.assign([{ topic: 'rr-kill', partition: 0, offset: 0 }]);
    while (reading) {
      const batch = await cb<Rd.Message[]>((done) => consumer.consume(500, done));
      for (const m of batch) got.push({ offset: m.offset, key: m.key!.toString() });
    }
  })();
  try {
    await produce('rr-kill', [['k1', 1000, 'none']]);
    await waitFor(() => got.length >= 1000, 90_000, () => `1000 consumed (${got.length})`);
    const replica = delta(await counters(t.replica, 'rr-kill'), replicaBefore);
    assert.ok(replica.object + replica.tail > 0, `the consumer reads from its zone's broker: ${JSON.stringify(replica)}`);
    await cluster.broker(t.replica).kill();
    await produce('rr-kill', [['k2', 1000, 'none']]);
    await waitFor(() => got.length >= 2000, 120_000, () => `2000 consumed (${got.length})`);
    await sleep(1500); // a duplicate would show up now
  } finally {
    reading = false;
    await loop.catch(() => {});
    await cb((done) => consumer.disconnect(done)).catch(() => {});
  }
  assertKeys(got, [...keysOf('k1', 1000), ...keysOf('k2', 1000)], 'rr-kill');
  assert.ok(await metric(t.leader, 'ferry_fetched_bytes_total', { topic: 'rr-kill' }) > 0, 'the leader served the consumer once its zone had no live broker');
});

test('FerryRemoteFetch on the wire: a stale leader epoch is FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH; a broker that does not lead answers NOT_LEADER_OR_FOLLOWER', { timeout: 120_000 }, async () => {
  // rr-raw was created before the kill: the partition the killed broker led has a new leader and epoch.
  let p: any;
  let topicId = '';
  await waitFor(async () => {
    const md = await cluster.metadata('rr-raw');
    topicId = md.topics[0].topicId;
    p = md.topics[0].partitions.find((x: any) => x.leaderEpoch >= 1 && cluster.broker(x.leaderId).running);
    return p !== undefined;
  }, 90_000, 'a partition of rr-raw moved to a new leader');
  const notLeader = [1, 2, 3].find((id) => id !== p.leaderId && cluster.broker(id).running)!;
  const body = (currentLeaderEpoch: number) => ({
    replicaId: notLeader, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0,
    topics: [{ topicId, partitions: [{ partition: p.partitionIndex, currentLeaderEpoch, fetchOffset: 0n, partitionMaxBytes: 1 << 20, tailFrom: -1n, uploadedOnly: false }] }],
  });
  const leader = await RawKafkaConnection.connect(cluster.broker(p.leaderId).bootstrap);
  const other = await RawKafkaConnection.connect(cluster.broker(notLeader).bootstrap);
  try {
    await waitFor(async () => (await leader.request(ApiKey.FerryRemoteFetch, 0, body(p.leaderEpoch))).responses[0].partitions[0].errorCode === 0, 30_000, 'the new leader serves the partition');
    assert.equal((await leader.request(ApiKey.FerryRemoteFetch, 0, body(p.leaderEpoch - 1))).responses[0].partitions[0].errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    assert.equal((await leader.request(ApiKey.FerryRemoteFetch, 0, body(p.leaderEpoch + 1))).responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.equal((await other.request(ApiKey.FerryRemoteFetch, 0, body(p.leaderEpoch))).responses[0].partitions[0].errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  } finally { leader.close(); other.close(); }
});
