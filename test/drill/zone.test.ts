// The drill's zone options: --client-zone / --topic-config / kill-proxy arguments, the choice of a
// proxy victim from the two Metadata views (plain and as a client of the zone), the zone client
// id, and the report's zone lines and zone leader columns.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseDrillArgs, runDrillCommand } from '../../src/cli/drill-command.js';
import { pickProxy, proxiedPartitions, VictimError } from '../../src/drill/victims.js';
import { zoneClientId } from '../../src/drill/zone.js';
import { renderDrillReport } from '../../src/drill/report.js';
import { summarize } from '../../src/drill/measure.js';
import type { BrokerInfo, PartitionInfo } from '../../src/admin/admin-client.js';
import type { DrillReport } from '../../src/drill/report-types.js';

const KILL = ['--kill-cmd', 'kill -{signal} $(cat /run/ferry-{id}.pid)'];
const broker = (nodeId: number, rack: string): BrokerInfo => ({ nodeId, host: `b${nodeId}`, port: 9092, rack });
const part = (partition: number, leader: number): PartitionInfo => ({ partition, leader, leaderEpoch: 1, replicas: [leader], isr: [leader], errorCode: 0 });

function capture() {
  let out = '';
  let err = '';
  return { io: { out: (t: string) => { out += t; }, err: (t: string) => { err += t; } }, get out() { return out; }, get err() { return err; } };
}

describe('drill zone arguments', () => {
  const bad: Array<[string[], RegExp]> = [
    [['--scenario', 'kill-proxy', ...KILL], /kill-proxy needs --client-zone/],
    [['--scenario', 'kill-broker', ...KILL, '--client-zone', 'a;b'], /--client-zone a;b is not 1-64 of/],
    [['--scenario', 'kill-broker', ...KILL, '--client-zone', 'us east'], /--client-zone us east is not/],
    [['--scenario', 'kill-broker', ...KILL, '--topic-config', 'ferry.produce.routing'], /--topic-config expects KEY=VALUE, got ferry\.produce\.routing$/m],
    [['--scenario', 'kill-broker', ...KILL, '--topic-config', 'retention.ms='], /--topic-config expects KEY=VALUE/],
    [['--scenario', 'kill-broker', ...KILL, '--topic-config', 'a=1', '--topic-config', 'a=2'], /--topic-config a given twice/],
    [['--scenario', 'kill-rack', ...KILL, '--client-zone', 'b', '--broker', '2'], /--broker applies to kill-broker and pause-broker \(and kill-proxy\)/],
  ];
  for (const [argv, re] of bad) {
    test(`exit 2: ${argv.slice(-2).join(' ')}`, async () => {
      const c = capture();
      assert.equal(await runDrillCommand(['--bootstrap', 'h:1', ...argv], c.io), 2);
      assert.match(c.err, re);
      assert.ok(c.err.includes('usage: ferry drill'));
    });
  }

  test('kill-proxy with a zone, topic configs and a broker parse into the drill options', () => {
    const inv = parseDrillArgs(['-b', 'h:1', '--scenario', 'kill-proxy', ...KILL, '--client-zone', 'use1-az2', '--broker', '4',
      '--topic-config', 'ferry.produce.routing=zone-local', '--topic-config', 'ferry.remote.read.mode=uploaded-only']);
    assert.notEqual(inv, 'help');
    if (inv === 'help') return;
    assert.equal(inv.options.scenario, 'kill-proxy');
    assert.equal(inv.options.clientZone, 'use1-az2');
    assert.equal(inv.options.brokerId, 4);
    assert.deepEqual(inv.options.topicConfigs, { 'ferry.produce.routing': 'zone-local', 'ferry.remote.read.mode': 'uploaded-only' });
  });

  test('without zone options: no zone, no topic configs', () => {
    const inv = parseDrillArgs(['-b', 'h:1', '--scenario', 'kill-broker', ...KILL]);
    if (inv === 'help') throw new Error('help');
    assert.equal(inv.options.clientZone, undefined);
    assert.deepEqual(inv.options.topicConfigs, {});
  });

  test('the zone client id carries the ferry_az token (unchanged without a zone)', () => {
    assert.equal(zoneClientId('ferry-drill', 'b'), 'ferry-drill;ferry_az=b');
    assert.equal(zoneClientId('ferry-drill', undefined), 'ferry-drill');
  });
});

describe('drill proxy victims', () => {
  const brokers = [broker(1, 'a'), broker(2, 'b'), broker(3, 'c'), broker(4, 'b')];
  // Real leaders 1, 3, 2, 1; zone b's clients are told 2, 4, 2, 4: broker 2 leads partition 2 itself.
  const real = [part(0, 1), part(1, 3), part(2, 2), part(3, 1)];
  const zoneView = [part(0, 2), part(1, 4), part(2, 2), part(3, 4)];

  test('proxied partitions: those whose zone leader is not the real leader, by proxy', () => {
    assert.deepEqual([...proxiedPartitions(real, zoneView)].sort(), [[2, [0]], [4, [1, 3]]]);
    assert.equal(proxiedPartitions(real, real).size, 0, 'a leader-routed topic has no proxy');
    assert.equal(proxiedPartitions(real, [part(0, -1)]).size, 0, 'no leader known: no proxy');
  });

  test('proxies rotate; an explicit broker must proxy a drill partition', () => {
    const seq: number[] = [];
    let last: number | null = null;
    for (let i = 0; i < 3; i++) { last = pickProxy(brokers, real, zoneView, last).nodeId; seq.push(last); }
    assert.deepEqual(seq, [2, 4, 2]);
    assert.equal(pickProxy(brokers, real, zoneView, null, 4).nodeId, 4);
    assert.throws(() => pickProxy(brokers, real, zoneView, null, 1), /broker 1 proxies no drill partition .*proxies: 2, 4/);
    assert.throws(() => pickProxy(brokers, real, real, null), VictimError);
    assert.throws(() => pickProxy(brokers, real, real, null), /no drill partition is proxied for the client zone/);
    // A proxy no longer listed among the brokers is not a candidate.
    assert.equal(pickProxy(brokers.filter((b) => b.nodeId !== 2), real, zoneView, null).nodeId, 4);
  });
});

describe('drill report with a client zone', () => {
  const report: DrillReport = {
    version: 1, runId: 'z1', scenario: 'kill-proxy', topic: 'zl', partitions: 2, bootstrap: ['b1:9092'], startedAt: new Date(0).toISOString(), durationMs: 20_000, settings: {},
    cycles: [{
      cycle: 1, scenario: 'kill-proxy', victims: [{ nodeId: 2, host: 'b2', port: 9092, rack: 'b' }], rack: null, faultAtMs: 3000, t0AtMs: 3010, t0EpochMs: 1_700_000_000_000,
      endAtMs: 15_000, restartedBeforeWritable: false,
      partitions: [
        { partition: 0, leaderBefore: 1, leaderAfter: 1, zoneLeaderBefore: 2, zoneLeaderAfter: 1, affected: true, writableMs: 3100, clientWritableMs: 4200, maxAckGapMs: 4300 },
        { partition: 1, leaderBefore: 2, leaderAfter: 3, zoneLeaderBefore: 2, zoneLeaderAfter: 3, affected: true, writableMs: 3300, clientWritableMs: 4400, maxAckGapMs: 4500 },
      ],
      writableAffectedMs: summarize([3100, 3300]), clientWritableAffectedMs: summarize([4200, 4400]), writableAllMs: summarize([3100, 3300]), notWritable: [],
      failovers: null, failoverNote: 'no --etcd/--cluster given', leaderChanges: [], recoveredAtMs: 9000, backInMetadataMs: 12_000, commands: [],
      sends: { sent: 100, acked: 100, failed: 0, pending: 0 }, latencyMs: summarize([3, 4]), ackedLost: 0, duplicates: 0, unackedPresent: 0, failures: [], passed: true,
    }],
    totals: {
      cycles: 1, passedCycles: 1, sent: 100, acked: 100, failed: 0, pending: 0, ackedLost: 0, duplicates: 0, unackedPresent: 0,
      writableAffectedMs: summarize([3100, 3300]), clientWritableAffectedMs: summarize([4200, 4400]), detectedMs: summarize([]), attachedMs: summarize([]), replayedMs: summarize([]), doneMs: summarize([]),
      failoversFailed: 0, replayRecords: 0, replayBytes: 0, latencyMs: summarize([3, 4]),
    },
    verify: { recordsRead: 100, foreignRecords: 0, corruptRecords: 0, misplacedRecords: 0, lostSamples: [], duplicateSamples: [], logStart: {}, highWatermark: {}, unsettledSends: false, error: null },
    sendErrors: {}, clientLog: {}, etcd: null, metadataPollErrors: 0,
    zone: {
      clientZone: 'b', routing: 'zone-local', readMode: 'tail', topicConfigs: { 'ferry.produce.routing': 'zone-local' },
      leaders: [{ partition: 0, leader: 1, zoneLeader: 2 }, { partition: 1, leader: 2, zoneLeader: 2 }], readFrom: { 0: 2 }, readLeaders: { 0: 1, 1: 2 },
    },
    timeline: { bucketMs: 1000, points: [], errors: [] }, failures: [], passed: true,
  };

  test('the text names the zone, the routing and read mode, the proxied partitions and where each partition was read', () => {
    const text = renderDrillReport(report);
    assert.match(text, /^clients in zone b \(client ids with ferry_az=b; read-back with rackId b\); topic routing zone-local, read mode tail \(--topic-config ferry\.produce\.routing=zone-local\)$/m);
    assert.match(text, /at the start, 1 of 2 partitions proxied for the zone: 0 via 2 \(leader 1\)$/m);
    assert.match(text, /read back: 0 from read replica 2 \(leader 1\), 1 from leader 2$/m);
    assert.match(text, /partition\s+leader before\s+leader after\s+zone leader before\s+zone leader after\s+affected/);
    assert.match(text, /^\s+0\s+1\s+1\s+2\s+1\s+yes\s+3100\s+4200\s+4300$/m);
  });

  test('without a zone the report has neither the zone lines nor the zone columns', () => {
    const plain: DrillReport = { ...report, zone: null, cycles: report.cycles.map((c) => ({ ...c, partitions: c.partitions.map((p) => ({ ...p, zoneLeaderBefore: null, zoneLeaderAfter: null })) })) };
    const text = renderDrillReport(plain);
    assert.doesNotMatch(text, /clients in zone|zone leader/);
    assert.match(text, /partition\s+leader before\s+leader after\s+affected/);
  });
});
