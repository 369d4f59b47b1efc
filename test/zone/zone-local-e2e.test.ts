/**
 * Issue #15 end to end: zero cross-AZ traffic. Six brokers in zones a, a, b, b, c, c (real etcd,
 * radosgw, broker processes); in each zone an idempotent librdkafka producer and an idempotent
 * kafkajs producer write to a topic with ferry.produce.routing=zone-local and
 * ferry.remote.read.mode=uploaded-only, and three consumer groups per zone each read everything:
 * librdkafka and kafkajs with ferry_az in the client id and client.rack/rackId set (Metadata
 * sends them to their zone's broker), and librdkafka with client.rack only (the KIP-392 path: the
 * leader's Fetch answer redirects it to its zone's read replica). Checked:
 *   - every acknowledged message read exactly once by every group, where it was acknowledged,
 *     in order per partition and per producer;
 *   - the brokers' own counters: ferry_cross_az_bytes_total + ferry_replica_cross_az_bytes_total
 *     <= 1 % of the produced bytes, and ferry_client_bytes_total{locality="same_az"} covers what
 *     was produced and consumed.
 * The same with ferry.remote.read.mode=tail: clients still stay in their zones; the replicas get the
 * un-uploaded tail from the leaders (ferry_replica_cross_az_bytes_total, reported).
 * A control topic (ferry.produce.routing=leader, ferry.remote.read.mode=leader) shows the same
 * counters measure something: about 2/3 of the produced bytes cross zones there.
 *
 * ZONE_E2E_BYTES sets the produced volume (default 30 MiB; the 1 GiB benchmark is
 * `ZONE_E2E_BYTES=1073741824 node scripts/run-tests.mjs test/zone/zone-local-e2e`).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as KafkaJs from 'kafkajs';
import { requireNodeModule, requirePythonModules } from '../helpers/require-tool.js';
import { ZONES, ZoneCluster, trafficDelta, type Traffic } from './zone-cluster.js';
import { KjsConsumer, PyConsumer, PyProducer, checkAcked, checkReads, kjsProduce, writeExpected, type Acked, type Consumed } from './zone-clients.js';

const BYTES = Number(process.env.ZONE_E2E_BYTES ?? 30 * 1024 * 1024);
const PARTITIONS = 12;
const SIZE = 1024;
/** Share of the volume the kafkajs producers send (the librdkafka ones send the rest). */
const KJS_SHARE = 0.15;
/** Time limits grow with the volume (the default run takes well under a minute). */
const LIMIT_MS = Math.max(600_000, Math.ceil(BYTES / 1048576) * 4_000);

interface Workload {
  producedPayload: number;
  consumedPayload: number;
  acked: Acked[];
  groups: Map<string, Consumed[]>;
  producers: string[];
  producerSummaries: any[];
  consumerSummaries: Map<string, any>;
  traffic: Traffic;
  seconds: number;
}

describe('zone-local produce and read replicas: zero cross-AZ traffic', { timeout: 3 * LIMIT_MS }, () => {
  let z: ZoneCluster;
  let python: string;
  let kjs: typeof KafkaJs;
  const work = mkdtempSync(join(tmpdir(), 'ferry-zone-e2e-'));

  before(async () => {
    python = requirePythonModules('confluent_kafka');
    kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    // Objects of all three topics (a third of the volume each for two of them) and staging objects.
    z = await ZoneCluster.start({ name: 'ze2e', memstoreBytes: Math.max(2 * 1024 ** 3, 4 * BYTES) });
  });
  after(async () => {
    await z?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  /** Produces `bytes` from every zone (librdkafka and kafkajs) while one group per zone per client reads everything. */
  async function run(topic: string, bytes: number): Promise<Workload> {
    const before = await z.traffic();
    const t0 = Date.now();
    const expectedFile = join(work, `${topic}.expected`);
    const pyConsumers = new Map<string, PyConsumer>();
    const kjsConsumers = new Map<string, KjsConsumer>();
    const pyProducers: PyProducer[] = [];
    const stop = { stopped: false };
    try {
      for (const zone of ZONES) {
        const group = `${topic}-ck-${zone}`;
        pyConsumers.set(group, await PyConsumer.start(python, { bootstrap: z.bootstrap(zone), topic, zone, name: `e2e-consumer-${zone}`, group, out: join(work, `${group}.read`), expectedFile, timeoutS: LIMIT_MS / 1000 }));
        const rgroup = `${topic}-rack-${zone}`;
        pyConsumers.set(rgroup, await PyConsumer.start(python, { bootstrap: z.bootstrap(zone), topic, zone, name: `e2e-rack-consumer-${zone}`, group: rgroup, out: join(work, `${rgroup}.read`), expectedFile, timeoutS: LIMIT_MS / 1000, rackOnly: true }));
        const kgroup = `${topic}-kjs-${zone}`;
        kjsConsumers.set(kgroup, await KjsConsumer.start(kjs, { brokers: z.bootstrap(zone).split(','), topic, zone, name: `e2e-kjs-consumer-${zone}`, group: kgroup }));
      }
      const perZone = bytes / ZONES.length;
      const kjsBytes = Math.floor(perZone * KJS_SHARE);
      const pyBytes = Math.floor(perZone - kjsBytes);
      for (const zone of ZONES) {
        pyProducers.push(await PyProducer.start(python, { bootstrap: z.bootstrap(zone), topic, zone, name: `e2e-producer-${zone}`, out: join(work, `${topic}-${zone}.acked`), bytes: pyBytes, size: SIZE }));
      }
      const kjsRuns = await Promise.allSettled(ZONES.map((zone) => kjsProduce(kjs, { brokers: z.bootstrap(zone).split(','), topic, zone, name: `e2e-kjs-producer-${zone}`, partitions: PARTITIONS, bytes: kjsBytes, size: SIZE, stop })));
      const producerSummaries = await Promise.all(pyProducers.map((p) => p.done(LIMIT_MS)));
      const failed = [
        ...producerSummaries.filter((s) => s.error || s.notFlushed !== 0 || s.deliveryErrors.length > 0).map((s) => `librdkafka producer: ${JSON.stringify(s).slice(0, 1500)}`),
        ...kjsRuns.flatMap((r, i) => (r.status === 'rejected' ? [`kafkajs producer of zone ${ZONES[i]}: ${String(r.reason?.stack ?? r.reason).slice(0, 1500)}`] : [])),
      ];
      assert.deepEqual(failed, [], 'every producer had every message acknowledged');
      const acked = [...pyProducers.flatMap((p) => p.acked()), ...kjsRuns.flatMap((r) => (r.status === 'fulfilled' ? r.value.acked : []))];
      writeExpected(expectedFile, acked.length);

      const consumerSummaries = new Map<string, any>();
      await Promise.all([
        ...[...pyConsumers].map(async ([g, c]) => { consumerSummaries.set(g, await c.done(LIMIT_MS)); }),
        ...[...kjsConsumers].map(async ([g, c]) => { await c.waitFor(() => acked.length, 2000, LIMIT_MS); consumerSummaries.set(g, { consumed: c.consumed.length, bytes: c.bytes, errors: c.errors }); }),
      ]);
      const groups = new Map<string, Consumed[]>();
      for (const [g, c] of pyConsumers) groups.set(g, c.consumed());
      for (const [g, c] of kjsConsumers) groups.set(g, c.consumed);
      const seconds = (Date.now() - t0) / 1000;
      const traffic = trafficDelta(await z.traffic(), before);
      const producedPayload = acked.length * SIZE;
      const consumedPayload = [...consumerSummaries.values()].reduce((n, s) => n + (s.bytes ?? 0), 0);
      return {
        producedPayload, consumedPayload, acked, groups, traffic, seconds, producerSummaries, consumerSummaries,
        producers: [...ZONES.map((zone) => `e2e-producer-${zone}`), ...ZONES.map((zone) => `e2e-kjs-producer-${zone}`)],
      };
    } finally {
      stop.stopped = true;
      for (const p of pyProducers) p.kill();
      for (const c of pyConsumers.values()) c.kill();
      await Promise.all([...kjsConsumers.values()].map((c) => c.stop()));
    }
  }

  function checkDelivery(w: Workload): void {
    assert.deepEqual(checkAcked(w.acked).slice(0, 10), [], 'acknowledgements consistent (one key per offset, each producer in order)');
    for (const [group, consumed] of w.groups) {
      const c = checkReads(w.acked, consumed, w.producers);
      const what = `group ${group} (${c.read} read of ${w.acked.length} acknowledged)`;
      assert.deepEqual(c.missing.slice(0, 10), [], `${what}: ${c.missing.length} acknowledged messages never read`);
      assert.deepEqual(c.duplicates.slice(0, 10), [], `${what}: ${c.duplicates.length} read more than once`);
      assert.deepEqual(c.misplaced.slice(0, 10), [], `${what}: ${c.misplaced.length} read at another offset than acknowledged`);
      assert.deepEqual(c.unknown.slice(0, 10), [], `${what}: read messages no producer sent`);
      assert.deepEqual(c.outOfOrder.slice(0, 10), [], `${what}: out of order`);
    }
  }

  function describeTraffic(topic: string, w: Workload): string {
    const t = w.traffic;
    const produced = t.producedByTopic.get(topic) ?? 0;
    const fetched = t.fetchedByTopic.get(topic) ?? 0;
    const cross = t.crossAzIn + t.crossAzOut + t.replicaCrossAz;
    const mb = (n: number) => (n / 1048576).toFixed(1);
    const produceS = Math.max(...w.producerSummaries.map((s) => s.seconds ?? 0));
    return `${topic}: ${w.acked.length} messages, ${mb(w.producedPayload)} MiB payload produced (librdkafka producers done in ${produceS} s), ${mb(w.consumedPayload)} MiB consumed by ${w.groups.size} groups, ${w.seconds.toFixed(1)} s in all; `
      + `brokers: produced ${mb(produced)} MiB, fetched ${mb(fetched)} MiB; cross-AZ in ${mb(t.crossAzIn)} out ${mb(t.crossAzOut)} replica ${mb(t.replicaCrossAz)} MiB `
      + `= ${(100 * cross / Math.max(1, produced)).toFixed(3)} % of produced (in alone ${(100 * t.crossAzIn / Math.max(1, produced)).toFixed(1)} %); `
      + `client bytes same_az in ${mb(t.sameAzIn)} out ${mb(t.sameAzOut)}, cross_az in ${mb(t.crossAzLocalityIn)} out ${mb(t.crossAzLocalityOut)}, unknown in ${mb(t.unknownIn)} out ${mb(t.unknownOut)} MiB; `
      + `read-replica redirects ${t.readReplicaRedirects}, read-replica bytes ${JSON.stringify(Object.fromEntries(t.readReplicaBytes))}, `
      + `proxy staged ${mb(t.proxyStagedBytes)} MiB in ${JSON.stringify(Object.fromEntries(t.proxyStagedObjects))} objects`;
  }

  test(`zone-local topic (${(BYTES / 1048576).toFixed(0)} MiB): every group reads every acknowledged message once, in order; cross-AZ bytes <= 1 % of produced`, { timeout: LIMIT_MS }, async (t) => {
    const topic = 'zl';
    await z.createTopic(topic, PARTITIONS, { 'ferry.produce.routing': 'zone-local', 'ferry.remote.read.mode': 'uploaded-only' });
    t.diagnostic(`real leaders: ${(await z.partitions(topic)).map((p) => p.leaderId).join(',')}`);
    // A client of each zone is told that zone's proxy as leader of every partition.
    for (const zone of ZONES) {
      const ps = await z.partitions(topic, zone);
      const off = ps.filter((p) => z.rackOf(p.leaderId) !== zone).map((p) => `${p.partition}->${p.leaderId}(${z.rackOf(p.leaderId)})`);
      t.diagnostic(`zone ${zone} metadata leaders: ${ps.map((p) => p.leaderId).join(',')}`);
      assert.deepEqual(off, [], `Metadata to a client with ferry_az=${zone} names a broker of zone ${zone} for every partition`);
    }
    const w = await run(topic, BYTES);
    t.diagnostic(describeTraffic(topic, w));
    checkDelivery(w);
    const tr = w.traffic;
    const produced = tr.producedByTopic.get(topic) ?? 0;
    assert.ok(produced >= w.producedPayload, `ferry_produced_bytes_total{topic=${topic}} ${produced} covers the ${w.producedPayload} payload bytes acknowledged`);
    const cross = tr.crossAzIn + tr.crossAzOut + tr.replicaCrossAz;
    assert.ok(cross <= 0.01 * produced, `cross-AZ bytes ${cross} (in ${tr.crossAzIn}, out ${tr.crossAzOut}, replica ${tr.replicaCrossAz}) <= 1 % of produced ${produced}`);
    assert.ok(tr.sameAzIn >= w.producedPayload, `same-AZ client bytes in ${tr.sameAzIn} cover the produced payload ${w.producedPayload}`);
    assert.ok(tr.sameAzOut >= w.consumedPayload, `same-AZ client bytes out ${tr.sameAzOut} cover the consumed payload ${w.consumedPayload}`);
    assert.ok((tr.readReplicaBytes.get('object') ?? 0) > 0, 'read replicas served consumers of other zones from the object store');
    assert.ok(tr.readReplicaRedirects > 0, 'leaders redirected the client.rack-only consumers to their zones\' read replicas');
    assert.ok(tr.proxyStagedBytes > 0, 'zone proxies staged produce batches in the object store');
  });

  test('zone-local topic with ferry.remote.read.mode=tail: the same delivery; clients stay in their zones; only the un-uploaded tail crosses (leader to replica)', { timeout: LIMIT_MS }, async (t) => {
    const topic = 'zt';
    await z.createTopic(topic, PARTITIONS, { 'ferry.produce.routing': 'zone-local', 'ferry.remote.read.mode': 'tail' });
    const w = await run(topic, Math.max(3 * 1048576, Math.floor(BYTES / 3)));
    t.diagnostic(describeTraffic(topic, w));
    checkDelivery(w);
    const tr = w.traffic;
    const produced = tr.producedByTopic.get(topic) ?? 0;
    t.diagnostic(`tail mode: leader-to-replica tail bytes / produced = ${(tr.replicaCrossAz / produced).toFixed(3)}; read-replica bytes from the tail ${tr.readReplicaBytes.get('tail') ?? 0}, from objects ${tr.readReplicaBytes.get('object') ?? 0}`);
    assert.ok(tr.crossAzIn + tr.crossAzOut <= 0.01 * produced, `client cross-AZ bytes ${tr.crossAzIn + tr.crossAzOut} <= 1 % of produced ${produced}`);
    // Each tail byte crosses at most once per reading group of another zone (a replica never
    // fetches the same range twice for one reader). The tail cache's ideal is once per other zone
    // (2 x produced); groups of one zone reading the tail at the same moment each still get it
    // from the leader (about 4 x measured).
    const groupsPerZone = w.groups.size / ZONES.length;
    assert.ok(tr.replicaCrossAz <= (ZONES.length - 1) * groupsPerZone * produced * 1.05,
      `tail bytes to replicas ${tr.replicaCrossAz} at most once per reading group of another zone (${ZONES.length - 1} zones x ${groupsPerZone} groups x ${produced})`);
  });

  test('control: ferry.produce.routing=leader and ferry.remote.read.mode=leader: about 2/3 of the produced bytes cross zones', { timeout: LIMIT_MS }, async (t) => {
    const topic = 'ctl';
    await z.createTopic(topic, PARTITIONS, { 'ferry.produce.routing': 'leader', 'ferry.remote.read.mode': 'leader' });
    const ps = await z.partitions(topic);
    const perZone = new Map(ZONES.map((zone) => [zone, ps.filter((p) => z.rackOf(p.leaderId) === zone).length]));
    t.diagnostic(`real leaders ${ps.map((p) => p.leaderId).join(',')}; per zone: ${JSON.stringify(Object.fromEntries(perZone))}`);
    const w = await run(topic, Math.max(3 * 1048576, Math.floor(BYTES / 3)));
    t.diagnostic(describeTraffic(topic, w));
    checkDelivery(w);
    const tr = w.traffic;
    const produced = tr.producedByTopic.get(topic) ?? 0;
    // Producers of every zone send each partition's batches to its leader: the share of leaders
    // outside a producer's zone crosses zones (2/3 with leaders spread evenly).
    const expectedIn = ZONES.reduce((n, zone) => n + (1 - perZone.get(zone)! / PARTITIONS) / ZONES.length, 0);
    const ratioIn = tr.crossAzIn / produced;
    const ratioOut = tr.crossAzOut / Math.max(1, tr.crossAzOut + tr.sameAzOut);
    t.diagnostic(`control ratios: cross-AZ in / produced = ${ratioIn.toFixed(3)} (expected from the leaders' zones ${expectedIn.toFixed(3)}), cross-AZ out / all out = ${ratioOut.toFixed(3)}`);
    assert.ok(Math.abs(ratioIn - expectedIn) < 0.15, `cross-AZ produce bytes ${tr.crossAzIn} / produced ${produced} = ${ratioIn.toFixed(3)}, about ${expectedIn.toFixed(3)}`);
    assert.ok(ratioOut > 0.45 && ratioOut < 0.85, `cross-AZ fetch bytes are about 2/3 of all fetched (${ratioOut.toFixed(3)})`);
  });
});
