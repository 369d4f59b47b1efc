// The numbers the drill reports (percentiles, time to writable, latency timeline), the failover
// records as read from the metadata store, the text report, and the SVG chart's structure.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger } from '../../src/drill/ledger.js';
import { firstIndexAtOrAfter, latencyTimeline, longestAckGap, summarize, timelineBucketMs, writableAfter } from '../../src/drill/measure.js';
import { readFailovers, observeFailover } from '../../src/drill/failovers.js';
import { renderDrillReport } from '../../src/drill/report.js';
import { renderDrillSvg } from '../../src/drill/svg.js';
import type { CycleReport, DrillReport } from '../../src/drill/report-types.js';
import { MetadataKeys, type FailoverRecord, type KeyValue } from '../../src/cluster/index.js';

describe('drill measures', () => {
  test('summarize: nearest-rank p50/p99/max', () => {
    assert.deepEqual(summarize([]), { count: 0, p50: null, p99: null, max: null });
    assert.deepEqual(summarize([5]), { count: 1, p50: 5, p99: 5, max: 5 });
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100 shuffled order
    assert.deepEqual(summarize(hundred), { count: 100, p50: 50, p99: 99, max: 100 });
  });

  test('writable = first ack of a send started after t0; earlier sends acked later do not count', () => {
    const l = new Ledger('m');
    const send = (p: number, sendMs: number, ackMs: number | null) => {
      const i = l.beginSend(1, p, 0, sendMs);
      if (ackMs === null) l.fail(i, sendMs + 1); else l.ack(i, i, ackMs);
    };
    send(0, 90, 2900);   // in flight across the fault: acked late, but started before t0
    send(1, 95, 96);
    send(0, 110, 2500);  // first send after t0 on p0: writable at +2400
    send(1, 120, null);  // failed: not writable yet
    send(0, 130, 2450);  // acked earlier than the previous one: p0 writable at +2350
    send(1, 3000, 3010); // p1 writable at +2910
    const t0 = 100;
    assert.equal(firstIndexAtOrAfter(l, t0), 2);
    const w = writableAfter(l, t0);
    assert.deepEqual([...w.entries()].sort(), [[0, 2350], [1, 2910]]);
    assert.equal(writableAfter(l, 5000).size, 0);
  });

  test('longest gap without an ack: from t0, between acks, and to the end; an outage that starts after t0 counts', () => {
    const l = new Ledger('g');
    const ackAt = (p: number, ms: number) => l.ack(l.beginSend(1, p, 0, ms - 1), l.size, ms);
    for (const ms of [110, 120, 130, 5130, 5140]) ackAt(0, ms); // writable at once after t0, then 5 s without acks
    for (const ms of [400, 9000]) ackAt(1, ms);                  // first ack 300 ms after t0, last 1 s before the end
    ackAt(2, 50);                                                // only before t0: the whole window
    const gaps = longestAckGap(l, 100, 10_000);
    assert.equal(gaps.get(0), 5000, 'the 5 s between 130 and 5130 (longer than the 4860 ms to the end)');
    assert.equal(gaps.get(1), 9000 - 400);
    assert.equal(gaps.has(2), false, 'no ack in the window: no gap known (reported as -)');
    assert.equal(longestAckGap(l, 100, 5200).get(0), 5000, 'the outage between 130 and 5130');
  });

  test('latency timeline buckets by send time with p50, max, acks and failures', () => {
    const l = new Ledger('t');
    const a = (s: number, lat: number) => l.ack(l.beginSend(1, 0, 0, s), l.size, s + lat);
    a(1000, 2); a(1010, 4); a(1020, 100);
    l.fail(l.beginSend(1, 0, 0, 1300), 1400);
    a(1600, 3);
    const pts = latencyTimeline(l, 1000, 250);
    assert.deepEqual(pts, [[0, 4, 100, 3, 0], [250, 0, 0, 0, 1], [500, 3, 3, 1, 0]]);
    assert.equal(timelineBucketMs(10_000), 50);
    assert.equal(timelineBucketMs(3_600_000), 5000);
  });
});

describe('drill failover records', () => {
  const keys = new MetadataKeys('drill-test');
  const rec = (brokerId: number, detected: number, phase: FailoverRecord['phase'], extra: Partial<FailoverRecord> = {}): KeyValue => ({
    key: keys.failover(brokerId), createRevision: 1, modRevision: 2, version: 1,
    value: Buffer.from(JSON.stringify({
      id: `${brokerId}-${detected}`, brokerId, volumeId: `vol-${brokerId}`, fromInstance: null, fromRack: 'a', ownerRevision: 1, target: 3, targetInstance: null, targetRack: 'b',
      phase, times: { detected, detached: detected + 100, attached: detected + 400, fenced: detected + 450, replayed: detected + 900, released: detected + 1000, done: detected + 1100 },
      replay: { records: 10, batches: 2, bytes: 1000, partitions: 2, skippedBatches: 0 }, controller: 1, ...extra,
    } satisfies FailoverRecord)),
  });

  test('only the victims\' records that began with this fault, phase times relative to t0', async () => {
    const t0 = 1_000_000;
    const store = { list: async (prefix: string) => { assert.equal(prefix, keys.failoversPrefix()); return [rec(1, t0 + 2500, 'done'), rec(2, t0 - 5000, 'done'), rec(4, t0 + 100, 'failed', { error: 'attach timed out' }), rec(5, t0 - 500, 'replaying')]; } };
    const got = await readFailovers(store, keys, [1, 2, 4, 5], t0);
    assert.deepEqual(got.map((f) => f.brokerId), [1, 4, 5], 'broker 2\'s record is an older failover');
    assert.deepEqual(got[0]!.afterT0Ms, { detected: 2500, detached: 2600, attached: 2900, fenced: 2950, replayed: 3400, released: 3500, done: 3600 });
    assert.equal(got[1]!.error, 'attach timed out');
    assert.equal(got[2]!.afterT0Ms.detected, -500, 'clock skew within the slack is kept');
    assert.deepEqual(await readFailovers(store, keys, [3], t0), []);
  });

  test('phases not reached are null', () => {
    const r = JSON.parse(rec(1, 100, 'moving').value.toString()) as FailoverRecord;
    r.times = { detected: 100, detached: 150 };
    const o = observeFailover(r, 0);
    assert.equal(o.afterT0Ms.detached, 150);
    assert.equal(o.afterT0Ms.replayed, null);
  });
});

function cycle(n: number, over: Partial<CycleReport> = {}): CycleReport {
  return {
    cycle: n, scenario: 'kill-broker', victims: [{ nodeId: 2, host: 'b2', port: 9092, rack: 'b' }], rack: null, faultAtMs: 3000 + n * 10_000, t0AtMs: 3010 + n * 10_000,
    t0EpochMs: 1_700_000_000_000, endAtMs: 9000 + n * 10_000, restartedBeforeWritable: false,
    partitions: [
      { partition: 0, leaderBefore: 2, leaderAfter: 1, affected: true, writableMs: 4200, clientWritableMs: 5100, maxAckGapMs: 5150 },
      { partition: 1, leaderBefore: 1, leaderAfter: 1, affected: false, writableMs: 12, clientWritableMs: 12, maxAckGapMs: 40 },
      { partition: 2, leaderBefore: 2, leaderAfter: 3, affected: true, writableMs: 4800, clientWritableMs: 5300, maxAckGapMs: 5400 },
    ],
    writableAffectedMs: summarize([4200, 4800]), clientWritableAffectedMs: summarize([5100, 5300]), writableAllMs: summarize([12, 4200, 4800]), notWritable: [],
    failovers: [{ id: '2-1', brokerId: 2, volumeId: 'v2', phase: 'done', target: 3, fromRack: 'b', targetRack: 'c', afterT0Ms: { detected: 3100, detached: 3200, attached: 3500, fenced: 3550, replayed: 3900, released: 4000, done: 4100 }, replay: { records: 77, batches: 5, bytes: 7700, partitions: 2, skippedBatches: 1 }, error: null }],
    failoverNote: null, leaderChanges: [{ atMs: 7500, partition: 0, from: 2, to: 1, leaderEpoch: 4 }], recoveredAtMs: 8000 + n * 10_000, backInMetadataMs: 8500 + n * 10_000,
    commands: [], sends: { sent: 1000, acked: 998, failed: 2, pending: 0 }, latencyMs: summarize([2, 3, 4800]), ackedLost: 0, duplicates: 0, unackedPresent: 1, failures: [], passed: true,
    ...over,
  };
}

function sampleReport(): DrillReport {
  const cycles = [cycle(1), cycle(2, { passed: false, failures: ['partition 2 not writable within 30000 ms'], partitions: [{ partition: 2, leaderBefore: 2, leaderAfter: 2, affected: true, writableMs: null, clientWritableMs: null, maxAckGapMs: null }], failovers: null, failoverNote: 'no --etcd/--cluster given' })];
  return {
    version: 1, runId: 'abcd', scenario: 'kill-broker', topic: 'ferry-drill', partitions: 3, bootstrap: ['b1:9092'], startedAt: new Date(0).toISOString(), durationMs: 32_000, settings: {},
    cycles,
    totals: {
      cycles: 2, passedCycles: 1, sent: 2000, acked: 1996, failed: 4, pending: 0, ackedLost: 0, duplicates: 0, unackedPresent: 2,
      writableAffectedMs: summarize([4200, 4800]), clientWritableAffectedMs: summarize([5100, 5300]), detectedMs: summarize([3100]), attachedMs: summarize([3500]), replayedMs: summarize([3900]), doneMs: summarize([4100]),
      failoversFailed: 0, replayRecords: 77, replayBytes: 7700, latencyMs: summarize([2, 3, 4800]),
    },
    verify: { recordsRead: 2010, foreignRecords: 10, corruptRecords: 0, misplacedRecords: 0, lostSamples: [], duplicateSamples: [], logStart: { 0: 0 }, highWatermark: { 0: 700 }, unsettledSends: false, error: null },
    sendErrors: { KafkaJSNumberOfRetriesExceeded: 4 }, clientLog: {}, etcd: null, metadataPollErrors: 3,
    timeline: { bucketMs: 50, points: [[0, 2, 3, 10, 0], [13_000, 2, 4800, 5, 1], [14_000, 3 , 4, 10, 0]], errors: [[13_050, 2, 'KafkaJSNumberOfRetriesExceeded']] },
    failures: ['cycle 2: partition 2 not writable within 30000 ms'], passed: false,
  };
}

/** Checks that `xml` is well-formed enough for a browser: balanced tags, quoted attributes, no raw '<' or '&'. */
function assertWellFormed(xml: string): { elements: Map<string, number> } {
  const body = xml.replace(/^<\?xml[^>]*\?>\s*/, '');
  const stack: string[] = [];
  const elements = new Map<string, number>();
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|&(?:lt|gt|amp|quot|apos|#\d+);|[<&]/g;
  let m: RegExpExecArray | null;
  let roots = 0;
  while ((m = tag.exec(body))) {
    if (m[0] === '<' || m[0] === '&') assert.fail(`stray ${m[0]} at ${m.index}: ${body.slice(m.index, m.index + 60)}`);
    if (!m[2]) continue; // an entity
    const [, close, name, , selfClose] = m;
    if (close) assert.equal(stack.pop(), name, `closing </${name}> at ${m.index}`);
    else {
      if (stack.length === 0) roots++;
      elements.set(name!, (elements.get(name!) ?? 0) + 1);
      if (!selfClose) stack.push(name!);
    }
  }
  assert.deepEqual(stack, [], 'every element closed');
  assert.equal(roots, 1, 'one root element');
  return { elements };
}

describe('drill report output', () => {
  test('text: per-cycle tables, failover phases, totals, verdict', () => {
    const text = renderDrillReport(sampleReport());
    assert.match(text, /cycle 1: kill-broker 2 \(b2:9092, rack b\) — PASS/);
    assert.match(text, /cycle 2: kill-broker .* — FAIL/);
    assert.match(text, /^\s+0\s+2\s+1\s+yes\s+4200\s+5100\s+5150$/m);
    assert.match(text, /longest gap without an ack \(affected\): 5400 ms/);
    assert.match(text, /as the client saw it\s+p50 5100\s+p99 5300/);
    assert.match(text, /^\s+2\s+3\s+done\s+3100\s+3200\s+3500\s+3550\s+3900\s+4000\s+4100\s+77 rec \/ 7700 B$/m);
    assert.match(text, /writable again \(affected\)\s+p50 4200\s+p99 4800\s+max 4800\s+\(n=2\)/);
    assert.match(text, /acked lost \(must be 0\)\s+0/);
    assert.match(text, /never/);
    assert.match(text, /send errors: KafkaJSNumberOfRetriesExceeded 4/);
    assert.match(text, /FAIL\n\s+- cycle 2: partition 2 not writable/);
  });

  test('svg: well-formed, with latency, fault and phase markers and unavailability rows', () => {
    const r = sampleReport();
    r.runId = 'a<b>&"c\'';
    const svg = renderDrillSvg(r);
    const { elements } = assertWellFormed(svg);
    assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal(elements.get('svg'), 1);
    assert.equal(elements.get('polyline'), 1, 'the p50 line');
    assert.match(svg, /a&lt;b&gt;&amp;&quot;c&apos;/, 'text is escaped');
    assert.equal((svg.match(/stroke="#d62728" stroke-width="1.5"/g) ?? []).length, 2, 'one fault marker per cycle');
    assert.equal((svg.match(/stroke-dasharray="4,2"/g) ?? []).length, 7, 'seven failover phase markers (cycle 1 only)');
    assert.match(svg, /cycle 2 partition 2: never writable/);
    assert.match(svg, /cycle 1 partition 0: writable after 4200 ms/);
    for (const m of svg.matchAll(/ (?:x|y|width|height|cx|cy|x1|x2|y1|y2)="([^"]*)"/g)) assert.ok(Number.isFinite(Number(m[1])), `numeric attribute ${m[0]}`);
  });

  test('svg of a run with no data is still well-formed', () => {
    const r = sampleReport();
    r.cycles = [];
    r.timeline.points = [];
    assertWellFormed(renderDrillSvg(r));
  });
});
