// `runDrill`: the drill itself. Start the workload, then per cycle: pick the victim(s), inject the
// fault through a FaultExecutor, measure until the affected partitions are writable again (and, with
// etcd, until the failover records settle), let the workload run on, bring the victims back and
// wait until Metadata lists them. Finally stop the workload, read the topic back and verify every
// acknowledged message. Returns the report and the ledger (tests check the checker with it).
import { randomBytes } from 'node:crypto';
import { EtcdMetadataStore } from '../cluster/etcd-metadata-store.js';
import { MetadataKeys } from '../cluster/index.js';
import type { BrokerInfo } from '../admin/admin-client.js';
import type { ClientSecurity } from '../admin/client-security.js';
import type { BrokerTarget, CommandRun, FaultExecutor } from './commands.js';
import { DrillCluster } from './cluster.js';
import { failoverSettled, readFailovers, type FailoverObservation } from './failovers.js';
import { Ledger, SendState } from './ledger.js';
import { WritableProbe } from './probe.js';
import { firstIndexAtOrAfter, longestAckGap, latencies, latencyTimeline, summarize, timelineBucketMs, writableAfter, round1 } from './measure.js';
import { MetadataWatch } from './metadata-watch.js';
import { readBack, type ReadBackStats } from './read-back.js';
import type { CycleReport, DrillReport, PartitionOutcome, Scenario, ZoneSettings } from './report-types.js';
import { Verifier, type VerifyResult } from './verify.js';
import { affectedPartitions, pickBroker, pickProxy, pickRack } from './victims.js';
import { Workload } from './workload.js';
import { topicZoneSettings, zoneClientId } from './zone.js';

export interface DrillOptions {
  bootstrap: string[];
  scenario: Scenario;
  cycles: number;
  topic: string;
  /** Partitions when the drill creates the topic. */
  partitions: number;
  ratePerSec: number;
  messageBytes: number;
  brokerId?: number;
  rack?: string;
  /** pause-broker: SIGCONT at the latest this long after SIGSTOP; etcd-leader-loss: restart etcd after this. */
  pauseMs: number;
  /** How long a victim may take to be listed in Metadata again after its restart. */
  cycleTimeoutMs: number;
  writableTimeoutMs: number;
  /** With etcd: how long after t0 to wait for the victims' failover records to reach done/failed. */
  failoverTimeoutMs: number;
  /** Workload runs this long before the first fault, and this long after each recovery. */
  warmupMs: number;
  settleMs: number;
  /** Restart victims right after the kill (automatic when no other broker is listed). */
  restartBeforeWritable: boolean;
  etcd?: { endpoints: string[]; cluster: string };
  requestTimeoutMs: number;
  sendRetries: number;
  /** TLS/SASL for the admin client, the probe and the kafkajs workload (--command-config; unset: PLAINTEXT). */
  security?: ClientSecurity;
  /**
   * The workload's zone (--client-zone): the workload's and the probe's client ids carry
   * ferry_az=<zone> (a zone-local topic routes them through their zone's proxy), the read-back
   * fetches with rackId=<zone> (following preferredReadReplica), and a second Metadata watch asks
   * as a client of the zone. kill-proxy needs it.
   */
  clientZone?: string;
  /** Configs of the topic when the drill creates it (--topic-config); an existing topic must have them. */
  topicConfigs?: Record<string, string>;
  executor: FaultExecutor;
  /** The executor appends every command it ran here (ShellFaultExecutor's onRun). */
  commandLog?: CommandRun[];
  log?: (line: string) => void;
  clientLog?: (line: string) => void;
  clock?: () => number;
  runId?: string;
  metadataIntervalMs?: number;
}

export interface DrillResult { report: DrillReport; ledger: Ledger; verify: VerifyResult | null }

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
const target = (b: BrokerInfo): BrokerTarget => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
const message = (err: unknown) => (err as Error)?.message ?? String(err);

interface CycleState {
  report: Omit<CycleReport, 'sends' | 'latencyMs' | 'ackedLost' | 'duplicates' | 'unackedPresent' | 'passed'>;
  aborted: boolean;
}

export async function runDrill(opts: DrillOptions): Promise<DrillResult> {
  const clock = opts.clock ?? (() => performance.timeOrigin + performance.now());
  const log = opts.log ?? (() => undefined);
  const commandLog = opts.commandLog ?? [];
  const startMs = clock();
  const startedAt = new Date().toISOString();
  const rel = (t: number) => Math.round(t - startMs);
  const ledger = new Ledger(opts.runId ?? randomBytes(4).toString('hex'));
  const cluster = new DrillCluster({ bootstrap: opts.bootstrap, clientId: 'ferry-drill', requestTimeoutMs: opts.requestTimeoutMs, security: opts.security });
  const zone = opts.clientZone;
  const zoneCluster = zone === undefined ? null : new DrillCluster({ bootstrap: opts.bootstrap, clientId: zoneClientId('ferry-drill', zone), requestTimeoutMs: opts.requestTimeoutMs, security: opts.security });
  let store: EtcdMetadataStore | null = null;
  let watch: MetadataWatch | null = null;
  let zoneWatch: MetadataWatch | null = null;
  let workload: Workload | null = null;
  try {
    const keys = opts.etcd ? new MetadataKeys(opts.etcd.cluster) : null;
    if (opts.etcd) store = await EtcdMetadataStore.open({ endpoints: opts.etcd.endpoints });
    const topicConfigs = opts.topicConfigs ?? {};
    const partitionInfos = await cluster.ensureTopic(opts.topic, opts.partitions, 30_000, topicConfigs);
    const partitionIds = partitionInfos.map((p) => p.partition);
    // Checked even without a zone: --topic-config must hold for the topic the drill runs on.
    const zoneConfig = Object.keys(topicConfigs).length > 0 || zoneCluster ? await topicZoneSettings(cluster, opts.topic, topicConfigs) : null;
    watch = new MetadataWatch(cluster, opts.topic, clock, opts.metadataIntervalMs ?? 200);
    await watch.poll();
    watch.start();
    let zoneSettings: ZoneSettings | null = null;
    if (zoneCluster && zone !== undefined) {
      zoneWatch = new MetadataWatch(zoneCluster, opts.topic, clock, opts.metadataIntervalMs ?? 200);
      await zoneWatch.poll();
      zoneWatch.start();
      zoneSettings = {
        clientZone: zone, routing: zoneConfig?.routing ?? null, readMode: zoneConfig?.readMode ?? null, topicConfigs,
        leaders: watch.partitions.map((p) => ({ partition: p.partition, leader: p.leader, zoneLeader: zoneWatch!.leaderOf(p.partition) })), readFrom: {}, readLeaders: {},
      };
      log(`client zone ${zone}: ${opts.topic} routing ${zoneSettings.routing ?? '?'}, read mode ${zoneSettings.readMode ?? '?'}; leaders ${zoneSettings.leaders.map((l) => (l.zoneLeader === l.leader ? `${l.leader}` : `${l.leader} (zone: ${l.zoneLeader})`)).join(', ')}`);
    }
    let cycle = 1;
    workload = new Workload({
      bootstrap: opts.bootstrap, topic: opts.topic, partitions: partitionIds, ratePerSec: opts.ratePerSec, messageBytes: opts.messageBytes,
      ledger, clock, currentCycle: () => cycle, requestTimeoutMs: opts.requestTimeoutMs, retries: opts.sendRetries, onClientLog: opts.clientLog,
      security: opts.security, clientId: zoneClientId('ferry-drill', zone),
    });
    await workload.start();
    log(`drill ${ledger.run}: ${opts.scenario} x${opts.cycles} on ${opts.topic} (${partitionIds.length} partitions, ${opts.ratePerSec} msg/s)`);
    await sleep(opts.warmupMs);

    const states: CycleState[] = [];
    const last = { broker: null as number | null, rack: null as string | null };
    for (; cycle <= opts.cycles; cycle++) {
      const s = await runCycle(cycle, opts, { clock, rel, log, ledger, watch, zoneWatch, store, keys, commandLog, last, partitionIds });
      states.push(s);
      if (s.aborted) { log(`cycle ${cycle}: aborting the remaining cycles`); break; }
    }
    const lastCycle = Math.min(cycle, opts.cycles);
    cycle = lastCycle;

    log('stopping the workload');
    const { unsettled } = await workload.stop(Math.max(opts.requestTimeoutMs * 2, 10_000));
    await watch.stop();
    await zoneWatch?.stop();
    log(`reading the topic back${zone !== undefined ? ` as a consumer of zone ${zone}` : ''}`);
    const verifier = new Verifier(ledger);
    let readStats: ReadBackStats | null = null;
    let verifyError: string | null = null;
    try {
      readStats = await readBack(cluster, opts.topic, (p, o, v) => verifier.record(p, o, v), { rackId: zone });
    } catch (err) {
      verifyError = message(err);
    }
    const verify = verifier.finish();
    if (zoneSettings && readStats) { zoneSettings.readFrom = readStats.readFrom; zoneSettings.readLeaders = readStats.leaders; }
    const report = buildReport({ opts, ledger, states, verify, readStats, verifyError, unsettled, workload, watch, zone: zoneSettings, startMs, startedAt, durationMs: clock() - startMs, rel, partitionsCount: partitionIds.length });
    return { report, ledger, verify };
  } finally {
    await workload?.stop(0).catch(() => undefined);
    await watch?.stop();
    await zoneWatch?.stop();
    cluster.close();
    zoneCluster?.close();
    await store?.close().catch(() => undefined);
  }
}

interface CycleContext {
  clock: () => number;
  rel: (t: number) => number;
  log: (line: string) => void;
  ledger: Ledger;
  watch: MetadataWatch;
  /** Metadata as a client of --client-zone sees it (null without). */
  zoneWatch: MetadataWatch | null;
  store: EtcdMetadataStore | null;
  keys: MetadataKeys | null;
  commandLog: CommandRun[];
  last: { broker: number | null; rack: string | null };
  partitionIds: number[];
}

async function runCycle(cycle: number, opts: DrillOptions, ctx: CycleContext): Promise<CycleState> {
  const { clock, rel, log, ledger, watch, zoneWatch } = ctx;
  const executor = opts.executor;
  const commandsFrom = ctx.commandLog.length;
  const failures: string[] = [];
  const cycleStart = clock();
  await watch.poll();
  const brokersBefore = watch.brokers;
  const partsBefore = watch.partitions;
  const leaderBefore = new Map(partsBefore.map((p) => [p.partition, p.leader]));
  if (zoneWatch) await zoneWatch.poll();
  const zonePartsBefore = zoneWatch ? zoneWatch.partitions : [];
  const zoneLeaderBefore = new Map(zonePartsBefore.map((p) => [p.partition, p.leader]));
  let victims: BrokerInfo[] = [];
  let rack: string | null = null;
  const base = (): CycleState['report'] => ({
    cycle, scenario: opts.scenario, victims: victims.map(target), rack, faultAtMs: rel(cycleStart), t0AtMs: rel(cycleStart), t0EpochMs: Date.now(), endAtMs: rel(clock()),
    restartedBeforeWritable: false, partitions: [], writableAffectedMs: summarize([]), clientWritableAffectedMs: summarize([]), writableAllMs: summarize([]), notWritable: [],
    failovers: null, failoverNote: null, leaderChanges: [], recoveredAtMs: null, backInMetadataMs: null,
    commands: ctx.commandLog.slice(commandsFrom), failures,
  });
  try {
    if (opts.scenario === 'kill-broker' || opts.scenario === 'pause-broker') {
      victims = [pickBroker(brokersBefore, partsBefore, ctx.last.broker, opts.brokerId)];
      ctx.last.broker = victims[0]!.nodeId;
    } else if (opts.scenario === 'kill-proxy') {
      if (!zoneWatch) throw new Error('kill-proxy needs a client zone (--client-zone)');
      victims = [pickProxy(brokersBefore, partsBefore, zonePartsBefore, ctx.last.broker, opts.brokerId)];
      ctx.last.broker = victims[0]!.nodeId;
    } else if (opts.scenario === 'kill-rack') {
      const r = pickRack(brokersBefore, ctx.last.rack, opts.rack);
      rack = r.rack;
      victims = r.brokers;
      ctx.last.rack = r.rack;
    }
  } catch (err) {
    failures.push(`choosing the victim: ${message(err)}`);
    return { report: base(), aborted: true };
  }
  const victimIds = victims.map((v) => v.nodeId);
  const etcdScenario = opts.scenario === 'etcd-leader-loss';
  // With a client zone, a partition is also affected when the victim is the broker its zone's clients write to (the proxy).
  const affected = etcdScenario ? [...ctx.partitionIds]
    : [...new Set([...affectedPartitions(partsBefore, victimIds), ...affectedPartitions(zonePartsBefore, victimIds)])].sort((a, b) => a - b);
  const survivors = brokersBefore.filter((b) => !victimIds.includes(b.nodeId));
  const killScenario = opts.scenario === 'kill-broker' || opts.scenario === 'kill-rack' || opts.scenario === 'kill-proxy';
  const restartEarly = killScenario && (opts.restartBeforeWritable || survivors.length === 0);

  // The fault.
  const faultAt = clock();
  const what = etcdScenario ? 'etcd leader' : `${opts.scenario === 'kill-rack' ? `rack ${rack}: ` : ''}broker${victims.length > 1 ? 's' : ''} ${victimIds.join(',')}`;
  log(`cycle ${cycle}: ${opts.scenario} ${what} (${zoneWatch ? `leads or proxies for zone ${opts.clientZone}` : 'leads'} ${affected.length} of ${ctx.partitionIds.length} partitions)`);
  try {
    if (killScenario) await Promise.all(victims.map((v) => executor.signalBroker(target(v), 'KILL')));
    else if (opts.scenario === 'pause-broker') await executor.signalBroker(target(victims[0]!), 'STOP');
    else await executor.killEtcdLeader();
  } catch (err) {
    failures.push(`fault command: ${message(err)}`);
    return { report: { ...base(), faultAtMs: rel(faultAt), t0AtMs: rel(clock()), commands: ctx.commandLog.slice(commandsFrom) }, aborted: true };
  }
  const t0 = clock();
  const t0EpochMs = Date.now();
  const fromIdx = firstIndexAtOrAfter(ledger, t0);
  const probe = new WritableProbe({ bootstrap: [...opts.bootstrap, ...brokersBefore.map((b) => `${b.host}:${b.port}`)], topic: opts.topic, clock, security: opts.security, clientId: zoneClientId('ferry-drill-probe', opts.clientZone) });
  probe.start(affected, t0);
  let recoveredAt: number | null = null;
  let aborted = false;

  const recover = async (action: () => Promise<void>, label: string) => {
    try {
      await action();
    } catch (err) {
      failures.push(`${label}: ${message(err)}`);
      aborted = true;
    }
    recoveredAt = clock();
  };

  if (restartEarly) {
    log(`cycle ${cycle}: no other broker can take over: restarting ${victimIds.join(',')} now`);
    await recover(() => Promise.all(victims.map((v) => executor.restartBroker(target(v)))).then(() => undefined), 'restart');
  }

  // Wait until every affected partition is writable again; SIGCONT / etcd restart happen in here.
  let backgroundDone = !(opts.scenario === 'pause-broker' || etcdScenario);
  for (;;) {
    const w = writableAfter(ledger, t0, fromIdx);
    const probed = probe.results();
    const allWritable = affected.every((p) => probed.has(p));
    const clientAllWritable = affected.every((p) => w.has(p));
    const now = clock();
    if (!backgroundDone && ((opts.scenario === 'pause-broker' && allWritable) || now >= t0 + opts.pauseMs || now >= t0 + opts.writableTimeoutMs)) {
      if (opts.scenario === 'pause-broker') await recover(() => executor.signalBroker(target(victims[0]!), 'CONT'), 'SIGCONT');
      else await recover(() => executor.restartEtcd(), 'etcd restart');
      backgroundDone = true;
      continue;
    }
    if ((allWritable && clientAllWritable && backgroundDone) || now >= t0 + opts.writableTimeoutMs) break;
    await sleep(100);
  }
  await probe.stop();
  const probedEnd = probe.results();
  const wNow = writableAfter(ledger, t0, fromIdx);
  const slowest = (m: Map<number, number>) => round1(Math.max(...affected.map((p) => m.get(p) ?? Infinity)));
  log(`cycle ${cycle}: ${affected.filter((p) => probedEnd.has(p)).length}/${affected.length} affected partitions writable again${affected.length ? `, slowest ${slowest(probedEnd)} ms (the client: ${slowest(wNow)} ms)` : ''}`);

  // Failover records (etcd).
  let failovers: FailoverObservation[] | null = null;
  let failoverNote: string | null = null;
  if (!ctx.store || !ctx.keys) failoverNote = 'no --etcd/--cluster given: detection, attach and replay times are not known';
  else if (victims.length === 0) { failovers = []; failoverNote = 'no broker was a victim: no failover expected'; }
  else {
    const deadline = t0 + opts.failoverTimeoutMs;
    for (;;) {
      try {
        failovers = await readFailovers(ctx.store, ctx.keys, victimIds, t0EpochMs);
      } catch (err) {
        failoverNote = `reading failover records: ${message(err)}`;
      }
      const settledIds = new Set((failovers ?? []).filter(failoverSettled).map((f) => f.brokerId));
      if (victimIds.every((id) => settledIds.has(id)) || clock() >= deadline || restartEarly) break;
      await sleep(250);
    }
    failovers ??= [];
    const missing = victimIds.filter((id) => !failovers!.some((f) => f.brokerId === id));
    if (missing.length > 0) failoverNote = `${failoverNote ? `${failoverNote}; ` : ''}no failover record for broker ${missing.join(',')}${restartEarly ? ' (restarted before a failover could start)' : ` within ${opts.failoverTimeoutMs} ms`}`;
    for (const f of failovers) {
      if (f.phase === 'failed') failures.push(`failover ${f.id} of broker ${f.brokerId} failed: ${f.error ?? 'no error given'}`);
      else if (!failoverSettled(f)) failures.push(`failover ${f.id} of broker ${f.brokerId} still in phase ${f.phase} after ${opts.failoverTimeoutMs} ms`);
    }
  }

  // Let the workload run on the new leaders, then bring the victims back.
  await sleep(opts.settleMs);
  if (killScenario && !restartEarly) {
    log(`cycle ${cycle}: restarting ${victimIds.join(',')}`);
    await recover(() => Promise.all(victims.map((v) => executor.restartBroker(target(v)))).then(() => undefined), 'restart');
  }
  let backInMetadataAt: number | null = null;
  if (victims.length > 0 && !aborted) {
    const listedAll = async (untilMs: number) => {
      for (;;) {
        await watch.poll();
        if (victimIds.every((id) => watch.listed(id)) && watch.partitions.every((p) => p.leader >= 0)) return true;
        if (clock() >= untilMs) return false;
        await sleep(200);
      }
    };
    const from = recoveredAt ?? clock();
    let ok = await listedAll(opts.scenario === 'pause-broker' ? from + opts.cycleTimeoutMs / 2 : from + opts.cycleTimeoutMs);
    if (!ok && opts.scenario === 'pause-broker') {
      // A fenced zombie may exit instead of rejoining: restart it like a killed broker.
      log(`cycle ${cycle}: broker ${victimIds[0]} is not back after SIGCONT: restarting it`);
      await recover(() => executor.restartBroker(target(victims[0]!)), 'restart after SIGCONT');
      ok = !aborted && await listedAll(clock() + opts.cycleTimeoutMs / 2);
    }
    if (ok) backInMetadataAt = clock();
    else {
      failures.push(`broker ${victimIds.join(',')} not listed in Metadata (with every partition led) within ${opts.cycleTimeoutMs} ms of the restart`);
      aborted = true;
    }
  }

  const end = clock();
  const wEnd = writableAfter(ledger, t0, fromIdx);
  const gaps = longestAckGap(ledger, t0, end, firstIndexAtOrAfter(ledger, t0 - 60_000));
  const partitions: PartitionOutcome[] = ctx.partitionIds.map((p) => {
    const client = wEnd.get(p);
    // Unaffected partitions are not probed: their first workload ack stands for both.
    const probed = affected.includes(p) ? probedEnd.get(p) : client;
    return {
      partition: p, leaderBefore: leaderBefore.get(p) ?? -1, leaderAfter: watch.leaderOf(p), affected: affected.includes(p),
      writableMs: probed === undefined ? null : round1(probed), clientWritableMs: client === undefined ? null : round1(client),
      maxAckGapMs: gaps.has(p) ? round1(gaps.get(p)!) : null,
      zoneLeaderBefore: zoneWatch ? zoneLeaderBefore.get(p) ?? -1 : null, zoneLeaderAfter: zoneWatch ? zoneWatch.leaderOf(p) : null,
    };
  });
  const late = (x: number | null) => x === null || x > opts.writableTimeoutMs;
  const notWritable = partitions.filter((p) => p.affected && (late(p.writableMs) || late(p.clientWritableMs))).map((p) => p.partition);
  if (notWritable.length > 0) failures.push(`partition${notWritable.length > 1 ? 's' : ''} ${notWritable.join(',')} not writable within ${opts.writableTimeoutMs} ms`);
  log(`cycle ${cycle}: done${failures.length ? `, ${failures.length} problem(s)` : ''}`);
  return {
    aborted,
    report: {
      cycle, scenario: opts.scenario, victims: victims.map(target), rack, faultAtMs: rel(faultAt), t0AtMs: rel(t0), t0EpochMs, endAtMs: rel(end),
      restartedBeforeWritable: restartEarly, partitions,
      writableAffectedMs: summarize(partitions.filter((p) => p.affected && p.writableMs !== null).map((p) => p.writableMs!)),
      clientWritableAffectedMs: summarize(partitions.filter((p) => p.affected && p.clientWritableMs !== null).map((p) => p.clientWritableMs!)),
      writableAllMs: summarize(partitions.filter((p) => p.writableMs !== null).map((p) => p.writableMs!)),
      notWritable, failovers, failoverNote,
      leaderChanges: watch.leaderChanges.filter((c) => c.atMs >= cycleStart && c.atMs < end).map((c) => ({ ...c, atMs: rel(c.atMs) })),
      recoveredAtMs: recoveredAt === null ? null : rel(recoveredAt), backInMetadataMs: backInMetadataAt === null ? null : rel(backInMetadataAt),
      commands: ctx.commandLog.slice(commandsFrom).map((r) => ({ ...r, startMs: rel(r.startMs), endMs: rel(r.endMs) })), failures,
    },
  };
}

interface BuildInput {
  opts: DrillOptions;
  ledger: Ledger;
  states: CycleState[];
  verify: VerifyResult;
  readStats: ReadBackStats | null;
  verifyError: string | null;
  unsettled: boolean;
  workload: Workload;
  watch: MetadataWatch;
  zone: ZoneSettings | null;
  startMs: number;
  startedAt: string;
  durationMs: number;
  rel: (t: number) => number;
  partitionsCount: number;
}

function buildReport(b: BuildInput): DrillReport {
  const { opts, ledger, verify } = b;
  // Sends and latency per cycle, in one pass.
  const perCycle = new Map<number, { sent: number; acked: number; failed: number; pending: number; lat: number[] }>();
  for (let i = 0; i < ledger.size; i++) {
    const c = ledger.cycle(i);
    let e = perCycle.get(c);
    if (!e) { e = { sent: 0, acked: 0, failed: 0, pending: 0, lat: [] }; perCycle.set(c, e); }
    e.sent++;
    const s = ledger.state(i);
    if (s === SendState.Acked) { e.acked++; e.lat.push(ledger.ackMs(i) - ledger.sendMs(i)); } else if (s === SendState.Failed) e.failed++; else e.pending++;
  }
  const cycles: CycleReport[] = b.states.map((s) => {
    const e = perCycle.get(s.report.cycle) ?? { sent: 0, acked: 0, failed: 0, pending: 0, lat: [] };
    const v = verify.byCycle.get(s.report.cycle) ?? { ackedLost: 0, duplicates: 0, unackedPresent: 0 };
    const failures = [...s.report.failures];
    if (v.ackedLost > 0) failures.push(`${v.ackedLost} acknowledged message(s) lost`);
    return { ...s.report, sends: { sent: e.sent, acked: e.acked, failed: e.failed, pending: e.pending }, latencyMs: summarize(e.lat), ...v, failures, passed: failures.length === 0 };
  });
  const fo = cycles.flatMap((c) => c.failovers ?? []);
  const times = (k: 'detected' | 'attached' | 'replayed' | 'done') => summarize(fo.map((f) => f.afterT0Ms[k]).filter((x): x is number => x !== null));
  const counts = ledger.counts();
  const failures: string[] = [];
  for (const c of cycles) for (const f of c.failures) failures.push(`cycle ${c.cycle}: ${f}`);
  if (b.states.length < opts.cycles) failures.push(`${opts.cycles - b.states.length} cycle(s) not run`);
  if (b.verifyError) failures.push(`verification could not read the topic back: ${b.verifyError}`);
  // Messages of a cycle not run (none) or acked-lost outside every reported cycle still count.
  const reported = new Set(cycles.map((c) => c.cycle));
  for (const [c, v] of verify.byCycle) if (!reported.has(c) && v.ackedLost > 0) failures.push(`cycle ${c}: ${v.ackedLost} acknowledged message(s) lost`);
  const timeline = latencyTimeline(ledger, b.startMs, timelineBucketMs(b.durationMs));
  return {
    version: 1, runId: ledger.run, scenario: opts.scenario, topic: opts.topic, partitions: b.partitionsCount, bootstrap: opts.bootstrap, startedAt: b.startedAt,
    durationMs: Math.round(b.durationMs),
    settings: {
      cycles: opts.cycles, ratePerSec: opts.ratePerSec, messageBytes: opts.messageBytes, brokerId: opts.brokerId ?? null, rack: opts.rack ?? null,
      pauseMs: opts.pauseMs, cycleTimeoutMs: opts.cycleTimeoutMs, writableTimeoutMs: opts.writableTimeoutMs, failoverTimeoutMs: opts.failoverTimeoutMs,
      warmupMs: opts.warmupMs, settleMs: opts.settleMs, restartBeforeWritable: opts.restartBeforeWritable, requestTimeoutMs: opts.requestTimeoutMs, sendRetries: opts.sendRetries,
    },
    cycles,
    totals: {
      cycles: cycles.length, passedCycles: cycles.filter((c) => c.passed).length,
      sent: counts.sent, acked: counts.acked, failed: counts.failed, pending: counts.pending,
      ackedLost: verify.ackedLost, duplicates: verify.duplicates, unackedPresent: verify.unackedPresent,
      writableAffectedMs: summarize(cycles.flatMap((c) => c.partitions.filter((p) => p.affected && p.writableMs !== null).map((p) => p.writableMs!))),
      clientWritableAffectedMs: summarize(cycles.flatMap((c) => c.partitions.filter((p) => p.affected && p.clientWritableMs !== null).map((p) => p.clientWritableMs!))),
      detectedMs: times('detected'), attachedMs: times('attached'), replayedMs: times('replayed'), doneMs: times('done'),
      failoversFailed: fo.filter((f) => f.phase === 'failed').length,
      replayRecords: fo.reduce((s, f) => s + (f.replay?.records ?? 0), 0), replayBytes: fo.reduce((s, f) => s + (f.replay?.bytes ?? 0), 0),
      latencyMs: summarize(latencies(ledger)),
    },
    verify: {
      recordsRead: verify.recordsRead, foreignRecords: verify.foreignRecords, corruptRecords: verify.corruptRecords, misplacedRecords: verify.misplacedRecords,
      lostSamples: verify.lostSamples, duplicateSamples: verify.duplicateSamples,
      logStart: b.readStats?.logStart ?? {}, highWatermark: b.readStats?.highWatermark ?? {}, unsettledSends: b.unsettled, error: b.verifyError,
    },
    sendErrors: Object.fromEntries(b.workload.sendErrors), clientLog: Object.fromEntries(b.workload.clientLog),
    etcd: opts.etcd ?? null, zone: b.zone, metadataPollErrors: b.watch.pollErrors,
    timeline: { bucketMs: timelineBucketMs(b.durationMs), points: timeline, errors: b.workload.errorEvents.map((e) => [b.rel(e.atMs), e.partition, e.type] as [number, number, string]) },
    failures, passed: failures.length === 0,
  };
}
