// The deployment modes on issue #15's seed workload and on a small one, against the arithmetic
// docs/cost-model.md does by hand.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { defaultInputs, type CostInputs } from '../../src/cost/inputs.js';
import { computeCosts, type Scenario } from '../../src/cost/model.js';
import { parseModes } from '../../src/cost/modes.js';
import { WORKLOADS } from '../../src/cost/workloads.js';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
const seedInputs = (over: Partial<CostInputs> = {}): CostInputs => ({ ...defaultInputs(), ...WORKLOADS.seed!.inputs, ...over });
const seed = (over: Partial<CostInputs> = {}, modes = WORKLOADS.seed!.modes) => computeCosts(seedInputs(over), parseModes(modes));
const byName = (scenarios: Scenario[], mode: string, reads?: string) => scenarios.find((s) => s.mode === mode && (reads === undefined || s.reads === reads))!;

// Seed: w = 1000 / 4 = 250 MB/s, F = 3, x = 2/3; one MB/s for a 730-hour month is 2,628 GB.
const W = 250;
const GB_PER_MBPS = 2628;
const ZR = 2 * (1 - 8 / 27); // other AZs reading a partition, 38/27

describe('deployment modes, seed workload (1 GB/s in, 3 GB/s out, 4:1, 7 days, fetch from follower)', () => {
  const r = seed();
  const kafka = byName(r.scenarios, 'kafka');
  const block = byName(r.scenarios, 'block-wal');
  const leader = byName(r.scenarios, 'ferry-leader');
  const zoneTail = byName(r.scenarios, 'ferry-zone-local', 'tail');
  const zoneUp = byName(r.scenarios, 'ferry-zone-local', 'uploaded-only');

  test('storage: 250 MB/s x 7 days, once in S3, three times on Kafka disks at 70 %', () => {
    assert.equal(r.compressedMBps, 250);
    assert.equal(r.wireMBps, 250);
    close(r.retainedGB, 151_200, 'retained');
    close(block.monthly.s3Storage, 151_200 * 0.023, 'S3 $');
    close(kafka.blockStorageGB, 648_000, 'Kafka disks');
    close(kafka.monthly.blockStorage, 51_840, 'Kafka disks $');
  });

  test('Kafka RF=3: producers 2/3, two follower copies, consumers none (a replica in every AZ)', () => {
    close(kafka.crossAz.produceMBps, W * 2 / 3, 'produce');
    close(kafka.crossAz.replicationMBps, 2 * W, 'replication');
    assert.equal(kafka.crossAz.consumeMBps, 0);
    close(kafka.crossAzGBMonth, (W * 8 / 3) * GB_PER_MBPS, 'GB/month'); // 1,752,000
    close(kafka.monthly.crossAz, 35_040, 'cross-AZ $');
    assert.equal(kafka.brokers, 21); // 250 x (1 + 4 + 3) = 2,000 MB/s / 100 -> 20 -> 7 per AZ
    close(kafka.monthly.instances, 21 * 0.192 * 730, 'instances');
    assert.equal(kafka.s3PutsPerSec + kafka.s3GetsPerSec, 0);
  });

  test('block WAL as AutoMQ counts it: producers 2/3, consumers 0 (rack-aware reads)', () => {
    assert.equal(block.reads, 'rack-aware');
    close(block.crossAzMBps, W * 2 / 3, 'cross-AZ');
    close(block.monthly.crossAz, 8_760, 'cross-AZ $');
    assert.equal(block.brokers, 18); // 250 x 4 + 250 x 3 + 3 x 250 x 0.05 = 1,787.5 MB/s
    close(block.blockStorageGB, 18 * 16, 'WAL volumes');
    // 250 MB/s / 64 MiB uploads + 250 MB/s / 16 MiB compaction parts.
    close(block.s3PutsPerSec, 250e6 / 2 ** 26 + 250e6 / 2 ** 24, 'PUTs/s');
    close(block.s3GetsPerSec, 250e6 / 2 ** 22 + 37.5e6 / 2 ** 22, 'GETs/s');
  });

  test('Ferry leader-routed, tail reads: the caught-up tail crosses once per other reading AZ', () => {
    assert.equal(leader.reads, 'tail');
    close(leader.crossAz.produceMBps, W * 2 / 3, 'produce');
    close(leader.crossAz.replicaTailMBps, W * ZR * 0.95, 'tail: 334.26 MB/s');
    close(leader.crossAzGBMonth, (W * 2 / 3 + W * ZR * 0.95) * GB_PER_MBPS, 'GB/month');
    assert.equal(leader.requests.replicaGets, 0);
    assert.equal(leader.brokers, 27); // 1,787.5 + 2 x 334.26 = 2,456 MB/s
  });

  test('Ferry zone-local, uploaded-only reads: no data crosses, requests instead', () => {
    assert.equal(zoneUp.crossAz.produceMBps, 0);
    assert.equal(zoneUp.crossAz.replicaTailMBps, 0);
    assert.equal(zoneUp.brokers, 27); // 1,787.5 + 334.26 (replica GETs) + 2 x 166.67 (staging) = 2,455 MB/s
    assert.equal(zoneUp.requests.stagingPuts, 540); // 27 brokers x 1000 / 50 ms
    assert.equal(zoneUp.requests.stagingGets, 1080); // x 2 leaders paired with each proxy
    close(zoneUp.requests.replicaGets, (W * ZR * 0.95 * 1e6) / 524_288, 'replica GETs: 637.55/s');
    close(zoneUp.crossAz.proxyRequestMBps, (1080 * 300) / 1e6, 'FerryProxyProduce: 0.324 MB/s');
    close(zoneUp.monthly.s3Puts, (zoneUp.s3PutsPerSec * 2_628_000 / 1000) * 0.005, 'PUTs $');
    const trade = r.zoneLocal.find((z) => r.scenarios[z.scenario] === zoneUp)!;
    close(trade.removedCrossAzMBps, W * 2 / 3, 'removed');
    close(trade.removedMonthly, 8_760, 'removed $');
    close(trade.addedMonthly, 540 * 2628 * 0.005 + 1080 * 2628 * 0.0004 + 0.324 * 2628 * 0.02, 'added $'); // 7,095.6 + 1,135.3 + 17.0
    assert.equal(trade.leaderRouted.reads, 'uploaded-only');
    assert.equal(trade.leaderRouted.brokers, 24); // 1,787.5 + 334.26 = 2,122 MB/s
    // Against leader routing: 3 more brokers ($420.48) and their WAL volumes ($3.84), 0.6 more
    // upload PUTs/s ($7.88), the staging requests, minus the transfer removed: about even.
    close(trade.netMonthly, zoneUp.monthly.total - trade.leaderRouted.monthly.total, 'net');
    close(trade.netMonthly, 3 * 0.192 * 730 + 3 * 16 * 0.08 + 0.6 * 2628 * 0.005 + trade.addedMonthly - 8_760, 'net by hand: -$79.9');
    assert.equal(trade.leadersPerObject, 2);
    assert.equal(Math.ceil(trade.breakEvenLingerMs!), 48);
    close(trade.stagingObjectBytes, (W * 2 / 3 * 1e6) / 540, 'bytes per staging object: 308.6 kB');
    close(trade.breakEvenObjectBytes, 290_600, 'break-even size');
  });

  test('Ferry zone-local, tail reads: the tail still crosses; more brokers, smaller staging objects, a loss', () => {
    close(zoneTail.crossAz.replicaTailMBps, W * ZR * 0.95, 'tail');
    assert.equal(zoneTail.brokers, 30);
    assert.equal(zoneTail.requests.stagingPuts, 600);
    assert.equal(zoneTail.requests.stagingGets, 1200);
    const trade = r.zoneLocal.find((z) => r.scenarios[z.scenario] === zoneTail)!;
    close(trade.stagingObjectBytes, (W * 2 / 3 * 1e6) / 600, '277.8 kB, below the 290.6 kB from which one pays');
    assert.equal(Math.ceil(trade.breakEvenLingerMs!), 53);
    assert.ok(trade.netMonthly > 0, `zone-local costs more: ${trade.netMonthly}`);
  });

  test('bigger brokers: zone-local pays at the default 50 ms linger', () => {
    const t = seed({ brokerMBps: 780, instanceHourly: 1.536 });
    const z = byName(t.scenarios, 'ferry-zone-local', 'uploaded-only');
    assert.equal(z.brokers, 6);
    assert.equal(z.requests.stagingPuts, 120);
    assert.equal(z.requests.stagingGets, 240);
    const trade = t.zoneLocal.find((x) => t.scenarios[x.scenario] === z)!;
    close(trade.addedMonthly, 120 * 2628 * 0.005 + 240 * 2628 * 0.0004 + 0.072 * 2628 * 0.02, 'added $: 1,832.8');
    assert.ok(trade.netMonthly < 0, `zone-local saves: ${trade.netMonthly}`);
    assert.equal(Math.ceil(trade.breakEvenLingerMs!), 11);
    close(trade.stagingObjectBytes, (W * 2 / 3 * 1e6) / 120, '1,389 kB');
  });

  test('at a 10 ms linger (the old default) even six big brokers stage objects below the 291 kB from which they pay', () => {
    const t = seed({ proxyLingerMs: 10, brokerMBps: 780, instanceHourly: 1.536 });
    const trade = t.zoneLocal.find((x) => t.scenarios[x.scenario]!.reads === 'uploaded-only')!;
    close(trade.stagingObjectBytes, (W * 2 / 3 * 1e6) / 6 * 0.01, '277.8 kB at 6 brokers');
    assert.ok(trade.stagingObjectBytes < trade.breakEvenObjectBytes);
  });

  test('AutoMQ\'s convention (network at the uncompressed rate, 720-hour month) gives their figures', () => {
    const a = seed({ compressedOnWire: false, hoursPerMonth: 720 }, 'kafka,block-wal');
    close(byName(a.scenarios, 'block-wal').monthly.crossAz, 34_560, 'block WAL networking (their ~35k)');
    close(byName(a.scenarios, 'kafka').monthly.crossAz, 138_240, 'Kafka networking (their benchmark page)');
    close(a.retainedGB, 151_200, 'storage still compressed');
  });
});

describe('deployment modes, other cases', () => {
  test('without client.rack every mode reads from the leader: the small worked example', () => {
    const r = computeCosts({ ...defaultInputs(), writeMBps: 100, compressionRatio: 4, readFanout: 3, retentionHours: 168, azCount: 3 });
    const kafka = byName(r.scenarios, 'kafka');
    const leader = byName(r.scenarios, 'ferry-leader');
    const zone = byName(r.scenarios, 'ferry-zone-local');
    close(kafka.crossAzGBMonth, 306_600, 'Kafka: 16.67 + 50 + 50 MB/s');
    close(kafka.monthly.crossAz, 6_132, 'Kafka $');
    close(leader.crossAzGBMonth, 175_200, 'Ferry: 16.67 + 50 MB/s');
    close(byName(r.scenarios, 'block-wal').crossAzGBMonth, 175_200, 'block WAL, same');
    close(zone.crossAz.consumeMBps, 50, 'zone-local still reads from the leader');
    assert.equal(zone.crossAz.produceMBps, 0);
    close(leader.blockStorageGB, 48, 'WAL volumes');
    close(leader.s3PutsMonth, 1_576_800 + 25e6 * 2_628_000 / 2 ** 24, 'Ferry PUTs');
    const tiered = byName(r.scenarios, 'kafka-tiered');
    close(tiered.s3PutsMonth, (25e6 * 2_628_000 / 2 ** 30) * 4, 'tiered PUTs');
    assert.ok(leader.monthly.total < tiered.monthly.total && tiered.monthly.total < kafka.monthly.total);
  });

  test('ferry.remote.read.mode=leader reads from the leader even with client.rack', () => {
    const r = seed({}, 'ferry-leader:leader,ferry-zone-local:uploaded-only');
    assert.equal(r.scenarios[0]!.reads, 'leader');
    close(r.scenarios[0]!.crossAz.consumeMBps, 3 * W * 2 / 3, 'consumers 2/3 cross');
    assert.equal(r.scenarios[1]!.reads, 'uploaded-only');
    const d = seed({ remoteReadMode: 'uploaded-only' }, 'ferry-leader');
    assert.equal(d.scenarios[0]!.reads, 'uploaded-only', 'the default read mode of the ferry modes');
  });

  test('Kafka with fewer replicas than AZs: consumers of AZs without a replica cross', () => {
    const r = seed({ replicationFactor: 2 }, 'kafka');
    close(r.scenarios[0]!.crossAz.replicationMBps, W, 'one follower copy');
    close(r.scenarios[0]!.crossAz.consumeMBps, 3 * W / 3, 'one AZ in three has no replica');
  });

  test('one AZ: nothing crosses, no staging objects', () => {
    const r = seed({ azCount: 1 });
    for (const s of r.scenarios) {
      assert.equal(s.monthly.crossAz, 0, s.name);
      assert.equal(s.requests.stagingGets, 0, s.name);
    }
  });

  test('brokers per zone fixes every fleet', () => {
    const r = seed({ brokersPerZone: 2 });
    assert.ok(r.scenarios.every((s) => s.brokers === 6));
    assert.equal(byName(r.scenarios, 'ferry-zone-local', 'uploaded-only').requests.stagingPuts, 120); // 6 x 1000 / 50 ms
  });

  test('the scale: more write, more brokers; every fleet the same in each AZ', () => {
    const big = computeCosts({ ...defaultInputs(), writeMBps: 2000 });
    assert.ok(big.scenarios.every((s) => s.brokers % 3 === 0 && s.brokers > 3));
  });

  test('bad modes and inputs are RangeErrors naming what is wrong', () => {
    assert.throws(() => parseModes('kafka,redpanda'), /unknown mode redpanda/);
    assert.throws(() => parseModes('kafka:tail'), /only the ferry modes/);
    assert.throws(() => parseModes('ferry-leader:sometimes'), /read mode must be one of/);
    assert.throws(() => parseModes(''), /no modes/);
    assert.throws(() => computeCosts({ ...defaultInputs(), proxyLingerMs: 0 }), /proxyLingerMs must be > 0/);
    assert.throws(() => computeCosts({ ...defaultInputs(), brokersPerZone: 1.5 }), /brokersPerZone must be an integer/);
    assert.throws(() => computeCosts({ ...defaultInputs(), remoteReadMode: 'never' as never }), /remoteReadMode must be one of/);
  });
});
