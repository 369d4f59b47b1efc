// npm run bench:zone-local [-- --seconds=30 --warmup-sec=5 --mbps=3 --message-bytes=1024 --partitions=3
//                             --zone-read-modes=tail,uploaded-only --leader-read-mode=leader --linger-ms=5
//                             --fetch-wait-max-ms=500 --put-probes=50 --json[=FILE]]
//
// Zone-local traffic (issue #15) in numbers, in one run on this machine (not a test). A cluster of
// three broker processes in racks a, b, c on a real etcd, with Ceph's radosgw as the object store.
// Every partition of every bench topic is moved to the broker of rack a; the load comes from rack b:
//   - a producer (node-rdkafka = librdkafka, its own process) with client.id `...;ferry_az=b`,
//     idempotent, acks=all, --message-bytes messages round-robin over the partitions, paced at --mbps;
//   - a consumer (node-rdkafka, its own process) with client.rack=b (and ferry_az=b in client.id)
//     reading the topic from its end, measuring each message's end-to-end latency (the producer
//     writes its CLOCK_MONOTONIC send time into the value: one clock for both processes).
// One phase per topic, in turn (the cross-AZ and object-store counters carry no topic label):
//   1. ferry.produce.routing=leader, ferry.remote.read.mode=--leader-read-mode (default leader: today's
//      cluster, every produced and consumed byte crosses a zone);
//   2. ferry.produce.routing=zone-local with each of --zone-read-modes (default tail and uploaded-only).
// Per phase, over the measured window (after --warmup-sec): produce latency per message (produce()
// to its delivery report), MB/s, end-to-end latency, cross-AZ bytes per produced byte
// (ferry_cross_az_bytes_total{direction=in} over ferry_produced_bytes_total) and per consumed byte
// ({direction=out} + ferry_replica_cross_az_bytes_total over the record bytes served to clients),
// object-store requests per second by operation (ferry_s3_requests_total, all brokers) and what the
// phase adds over the leader phase, the brokers' PUT latency (ferry_s3_request_duration_seconds
// {operation=put}) and the proxy's staging PUT (ferry_proxy_stage_duration_seconds), the WAL fsync
// latency (ferry_wal_fsync_duration_seconds), each broker's CPU and RSS peak, and the generator's
// CPU (producer and consumer processes: near 100% of a core would make the generator the
// bottleneck). Histogram quantiles are interpolated inside Prometheus buckets (coarse: 5, 10, 25,
// 50 ms ... for S3); so the run also times --put-probes direct PUTs of the mean staging object size
// to radosgw from the bench, exact. Writes a table (markdown) and, with --json, the full result.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type * as Rd from 'node-rdkafka';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { procCpuMs } from './proc-cpu.js';
import { spawnSync } from 'node:child_process';
import { LatencyRecorder, type LatencySummary } from '../src/perf/latency.js';
import { AdminClient } from '../src/admin/admin-client.js';
import { MetricsSnapshot, type Sample } from '../src/admin/prom-text.js';
import { EtcdMetadataStore } from '../src/cluster/etcd-metadata-store.js';
import { ClusterController, MetadataKeys } from '../src/cluster/index.js';
import { BrokerProcess } from '../test/helpers/broker-process.js';
import { startEtcd, type EtcdServer } from '../test/helpers/etcd.js';
import { freePort } from '../test/helpers/ports.js';
import { requireNodeModule } from '../test/helpers/require-tool.js';
import { startRadosgw, type Radosgw } from '../test/helpers/radosgw.js';

const SELF = new URL(import.meta.url).pathname;
const ROOT = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const log = (msg: string) => process.stderr.write(`zone-local-bench: ${msg}\n`);
const CLUSTER = 'zlbench';
const RACKS = ['a', 'b', 'c'];
const LEADER_RACK = 'a';
const CLIENT_ZONE = 'b';
/** Value header: send time (CLOCK_MONOTONIC ns, u64), sequence (u32), measured flag (u8). */
const HEADER_BYTES = 13;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

// ---------------------------------------------------------------------------------------------
// The load: two child processes running this file (--role=producer / --role=consumer), so the
// generator's CPU is its own and the bench's scrapes never delay a delivery report.

interface ChildConfig { bootstrap: string; topic: string; partitions: number; zone: string; rate: number; messageBytes: number; warmupSec: number; seconds: number; lingerMs: number; fetchWaitMaxMs: number }

/** From librdkafka's statistics (the last report): per broker it sent to, and per topic. */
interface ProducerStats { brokers: Array<{ name: string; produceRequests: number; retries: number; errors: number; rttP50Ms: number; rttP99Ms: number }>; batchSizeAvgBytes: number | null; batchCountAvg: number | null }
interface ProducerResult {
  sent: number; acked: number; errors: number; firstError: string | null; bytes: number; seconds: number; latency: LatencySummary; cpuSeconds: number; maxRss: number; stats: ProducerStats | null;
  /** CPU seconds in the window by thread kind: the JS thread, librdkafka's threads (rdk:*), the rest (V8, libuv). */
  threadCpuSeconds: Record<string, number>;
}
interface ConsumerResult { received: number; expected: number; bytes: number; latency: LatencySummary; cpuSeconds: number; firstError: string | null }

const emit = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

/** This process's CPU seconds by thread kind (from /proc/self/task): js (the main thread), rdkafka (rdk:*), other. */
function threadCpu(): Record<string, number> {
  const out: Record<string, number> = { js: 0, rdkafka: 0, other: 0 };
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const s = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      const kind = Number(tid) === process.pid ? 'js' : comm.startsWith('rdk:') ? 'rdkafka' : 'other';
      out[kind]! += (Number(f[11]) + Number(f[12])) / CLK_TCK;
    } catch { /* the thread ended */ }
  }
  return out;
}
const cpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

async function producerChild(cfg: ChildConfig): Promise<void> {
  const rd = requireNodeModule<typeof Rd>('node-rdkafka');
  const p = new rd.Producer({
    'metadata.broker.list': cfg.bootstrap, 'client.id': `zone-local-bench;ferry_az=${cfg.zone}`, 'dr_cb': true,
    'enable.idempotence': true, 'linger.ms': cfg.lingerMs, 'compression.codec': 'none',
    'queue.buffering.max.messages': 1_000_000, 'queue.buffering.max.kbytes': 1_048_576, 'statistics.interval.ms': 1000,
  }, { 'request.required.acks': -1, 'message.timeout.ms': 30_000 });
  let lastStats: string | null = null;
  p.on('event.stats', (e) => { lastStats = e.message; });
  await new Promise<void>((resolve, reject) => {
    p.once('ready', () => resolve());
    p.once('event.error', reject);
    p.connect({}, (err) => { if (err) reject(err); });
  });
  p.setPollInterval(1);
  const total = Math.ceil(cfg.rate * (cfg.warmupSec + cfg.seconds));
  const measuredFrom = Math.ceil(cfg.rate * cfg.warmupSec);
  const sendAt = new Float64Array(total);
  const lat = new LatencyRecorder();
  let delivered = 0;
  let acked = 0;
  let errors = 0;
  let firstError: string | null = null;
  let allDelivered!: () => void;
  const done = new Promise<void>((r) => { allDelivered = r; });
  p.on('delivery-report', (err, report) => {
    const i = report.opaque as number;
    if (err) { errors++; firstError ??= String(err); } else if (i >= measuredFrom) { acked++; lat.record(performance.now() - sendAt[i]!); }
    if (++delivered === total) allDelivered();
  });
  const value = Buffer.alloc(cfg.messageBytes, 0x61);
  const t0 = performance.now();
  let measuredAt = 0;
  let cpu0 = 0;
  let threads0: Record<string, number> = {};
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * cfg.rate));
    while (sent < due) {
      if (sent === measuredFrom) { measuredAt = performance.now(); cpu0 = cpuSeconds(); threads0 = threadCpu(); emit({ event: 'measuring' }); }
      const v = Buffer.from(value); // librdkafka copies the payload; a fresh header per message
      v.writeBigUInt64BE(process.hrtime.bigint(), 0);
      v.writeUInt32BE(sent, 8);
      v[12] = sent >= measuredFrom ? 1 : 0;
      try {
        sendAt[sent] = performance.now();
        p.produce(cfg.topic, sent % cfg.partitions, v, null, null, sent);
        sent++;
      } catch (err) {
        if ((err as { code?: number }).code === rd.CODES.ERRORS.ERR__QUEUE_FULL) break;
        throw err;
      }
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await done;
  const seconds = (performance.now() - measuredAt) / 1000;
  const threads1 = threadCpu();
  const result: ProducerResult = {
    sent: total - measuredFrom, acked, errors, firstError, bytes: acked * cfg.messageBytes, seconds, latency: lat.summary(),
    cpuSeconds: cpuSeconds() - cpu0, maxRss: process.resourceUsage().maxRSS, stats: lastStats ? producerStats(JSON.parse(lastStats), cfg.topic) : null,
    threadCpuSeconds: Object.fromEntries(Object.entries(threads1).map(([k, v]) => [k, v - (threads0[k] ?? 0)])),
  };
  await new Promise<void>((r) => p.disconnect(() => r()));
  emit({ event: 'done', result });
}

/** The parts of librdkafka's statistics JSON the table shows (produce request RTT, retries, batch sizes). */
function producerStats(j: any, topic: string): ProducerStats {
  const brokers = Object.values(j.brokers ?? {}).filter((b: any) => b.nodeid >= 0 && (b.req?.Produce ?? 0) > 0).map((b: any) => ({
    name: `${b.nodeid}`, produceRequests: b.req.Produce, retries: b.txretries ?? 0, errors: b.txerrs ?? 0,
    rttP50Ms: (b.rtt?.p50 ?? 0) / 1000, rttP99Ms: (b.rtt?.p99 ?? 0) / 1000,
  }));
  const t = j.topics?.[topic];
  return { brokers, batchSizeAvgBytes: t?.batchsize?.avg ?? null, batchCountAvg: t?.batchcnt?.avg ?? null };
}

async function consumerChild(cfg: ChildConfig): Promise<void> {
  const rd = requireNodeModule<typeof Rd>('node-rdkafka');
  const c = new rd.KafkaConsumer({
    'metadata.broker.list': cfg.bootstrap, 'group.id': `zone-local-bench-${cfg.topic}-${process.pid}`,
    // client.rack only (KIP-392): it fetches from the leader and follows its preferredReadReplica.
    'client.id': 'zone-local-bench-consumer', 'client.rack': cfg.zone,
    'enable.auto.commit': false, 'fetch.wait.max.ms': cfg.fetchWaitMaxMs, 'fetch.min.bytes': 1,
  }, { 'auto.offset.reset': 'latest' });
  await new Promise<void>((resolve, reject) => {
    c.once('ready', () => resolve());
    c.once('event.error', reject);
    c.connect({}, (err) => { if (err) reject(err); });
  });
  c.assign(Array.from({ length: cfg.partitions }, (_, partition) => ({ topic: cfg.topic, partition, offset: -1 /* the end */ })));
  c.setDefaultConsumeTimeout(100);
  c.setDefaultConsumeLoopTimeoutDelay(1);
  const lat = new LatencyRecorder();
  let received = 0;
  let bytes = 0;
  let expected = Infinity;
  let cpu0 = -1;
  let firstError: string | null = null;
  let finish!: () => void;
  const finished = new Promise<void>((r) => { finish = r; });
  c.on('event.error', (err) => { firstError ??= String(err); });
  c.on('data', (m) => {
    const v = m.value;
    if (!v || v.length < HEADER_BYTES) return;
    const now = process.hrtime.bigint();
    if (v[12] !== 1) return;
    if (cpu0 < 0) cpu0 = cpuSeconds();
    lat.record(Number(now - v.readBigUInt64BE(0)) / 1e6);
    received++;
    bytes += v.length;
    if (received >= expected) finish();
  });
  c.consume(); // flowing: a background thread hands over each message as it arrives
  // The first fetches settle the end offsets before the producer starts.
  setTimeout(() => emit({ event: 'ready' }), 2000);
  for await (const line of createInterface({ input: process.stdin })) {
    const msg = JSON.parse(line) as { expect: number };
    expected = msg.expect;
    if (received >= expected) finish();
    setTimeout(finish, 30_000); // whatever has not come by then is reported missing
    break;
  }
  await finished;
  const result: ConsumerResult = { received, expected, bytes, latency: lat.summary(), cpuSeconds: cpu0 < 0 ? 0 : cpuSeconds() - cpu0, firstError };
  emit({ event: 'done', result });
  await new Promise<void>((r) => c.disconnect(() => r()));
}

interface Child { proc: ChildProcess; events: AsyncIterator<{ event: string; result?: unknown }>; send(o: object): void; stderr(): string }

function startChild(role: 'producer' | 'consumer', cfg: ChildConfig): Child {
  const proc = spawn(process.execPath, ['--conditions=ferry-source', '--import', 'tsx', SELF, `--role=${role}`], {
    cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ZONE_LOCAL_BENCH_CHILD: JSON.stringify(cfg) },
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const events: AsyncIterator<{ event: string; result?: unknown }> = {
    async next() {
      for (;;) {
        const r = await lines.next();
        if (r.done) throw new Error(`${role} exited (${proc.exitCode ?? proc.signalCode}): ${err}`);
        const line = r.value.trim();
        if (line.startsWith('{')) return { done: false, value: JSON.parse(line) };
      }
    },
  };
  return { proc, events, send: (o) => proc.stdin!.write(`${JSON.stringify(o)}\n`), stderr: () => err };
}

async function expectEvent(child: Child, event: string, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      (async () => {
        for (;;) {
          const { value } = await child.events.next();
          if (value.event === event) return value.result;
        }
      })(),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeoutMs} ms: ${child.stderr()}`)), timeoutMs); }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The cluster and the measurements.

const settings = {
  seconds: Number(opt('seconds', '30')),
  warmupSec: Number(opt('warmup-sec', '5')),
  mbps: Number(opt('mbps', '3')),
  messageBytes: Number(opt('message-bytes', '1024')),
  partitions: Number(opt('partitions', '3')),
  leaderReadMode: opt('leader-read-mode', 'leader'),
  zoneReadModes: opt('zone-read-modes', 'tail,uploaded-only').split(',').filter(Boolean),
  lingerMs: Number(opt('linger-ms', '5')),
  fetchWaitMaxMs: Number(opt('fetch-wait-max-ms', '500')),
  putProbes: Number(opt('put-probes', '50')),
};
const jsonArg = argv.find((a) => a === '--json' || a.startsWith('--json='));
const jsonFile = jsonArg?.startsWith('--json=') ? jsonArg.slice(7) : null;

interface PhaseSpec { topic: string; routing: 'leader' | 'zone-local'; readMode: string }

interface PhaseResult extends PhaseSpec {
  /** Leaders (real, from a plain client) and what a ferry_az=<zone> client is told (the proxy). */
  leaders: number[];
  zoneLeaders: number[];
  windowSeconds: number;
  producer: ProducerResult;
  consumer: ConsumerResult;
  producedBytes: number;
  consumedRecordBytes: number;
  crossAzInBytes: number;
  crossAzOutBytes: number;
  replicaCrossAzBytes: number;
  crossAzPerProduced: number;
  crossAzPerConsumed: number;
  s3RequestsPerSec: Record<string, number>;
  s3PutMs: { p50: number | null; p99: number | null; count: number };
  proxyStageMs: { p50: number | null; p99: number | null; count: number };
  proxyProduceMs: { p50: number | null; p99: number | null; count: number };
  stagingObjects: number;
  stagingBytes: number;
  walFsyncMs: { p50: number | null; p99: number | null; count: number };
  readReplicaBytes: Record<string, number>;
  /** Since the topic was created (the consumer is redirected once, before the measured window). */
  readReplicaRedirects: number;
  /** The machine's 1-minute load average at the end of the window (2 cores: other work on the machine skews latency). */
  loadAvg1: number;
  brokers: Array<{ nodeId: number; rack: string; cpu: number; rssPeakMiB: number }>;
  generatorCpu: { producer: number; consumer: number; producerThreads: Record<string, number> };
}

function rssKiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

const labelKey = (s: Sample) => `${s.name}{${Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(',')}}`;

/** end − start per series, every broker's series side by side (sums and histogram buckets add up). */
function delta(starts: MetricsSnapshot[], ends: MetricsSnapshot[]): MetricsSnapshot {
  const out: Sample[] = [];
  ends.forEach((end, i) => {
    const before = new Map(starts[i]!.samples.map((s) => [labelKey(s), s.value]));
    for (const s of end.samples) out.push({ ...s, value: s.value - (before.get(labelKey(s)) ?? 0) });
  });
  return new MetricsSnapshot(out);
}

function quantilesMs(m: MetricsSnapshot, name: string, filter: Record<string, string> = {}) {
  const q = (x: number) => { const v = m.histogramQuantile(name, x, filter); return v === null ? null : v * 1000; };
  return { p50: q(0.5), p99: q(0.99), count: m.sum(`${name}_count`, filter) };
}

class Bench {
  readonly brokers: BrokerProcess[] = [];
  readonly metricsUrls: string[] = [];
  private store: EtcdMetadataStore | null = null;
  admin: AdminClient | null = null;
  zoneAdmin: AdminClient | null = null;

  constructor(private readonly etcd: EtcdServer, private readonly rgw: Radosgw, private readonly bucket: string) {}

  async start(): Promise<void> {
    for (const [i, rack] of RACKS.entries()) {
      const metricsPort = await freePort();
      this.metricsUrls.push(`http://127.0.0.1:${metricsPort}`);
      this.brokers.push(new BrokerProcess({
        config: {
          'metadata.backend': 'etcd', 'etcd.endpoints': this.etcd.endpoint, 'cluster.name': CLUSTER, 'node.id': String(i + 1), rack,
          'object.store': 's3', 's3.bucket': this.bucket, 's3.endpoint': this.rgw.endpoint, 's3.region': this.rgw.region, 's3.force.path.style': 'true',
          's3.access.key.id': this.rgw.accessKeyId, 's3.secret.access.key': this.rgw.secretAccessKey,
          'metrics.listener': `127.0.0.1:${metricsPort}`, 'wal.capacity.bytes': String(1 << 30),
        },
      }));
    }
    await Promise.all(this.brokers.map((b) => b.start(60_000)));
    this.store = await EtcdMetadataStore.open({ endpoints: [this.etcd.endpoint] });
    const bootstrap = this.brokers.map((b) => b.bootstrap);
    this.admin = await AdminClient.connect({ bootstrap, clientId: 'zone-local-bench-admin' });
    this.zoneAdmin = await AdminClient.connect({ bootstrap, clientId: `zone-local-bench-admin;ferry_az=${CLIENT_ZONE}` });
    for (const deadline = Date.now() + 30_000; (await this.admin.metadata(null)).brokers.length < RACKS.length;) {
      if (Date.now() > deadline) throw new Error('not every broker registered within 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Creates the topic and moves every partition to the broker of LEADER_RACK. */
  async topic(spec: PhaseSpec): Promise<{ leaders: number[]; zoneLeaders: number[] }> {
    const admin = this.admin!;
    await admin.createTopic(spec.topic, settings.partitions, -1, { 'ferry.produce.routing': spec.routing, 'ferry.remote.read.mode': spec.readMode });
    const target = RACKS.indexOf(LEADER_RACK) + 1;
    const controller = new ClusterController(this.store!, new MetadataKeys(CLUSTER), { nodeId: -1 });
    for (let p = 0; p < settings.partitions; p++) {
      for (let attempt = 0; ; attempt++) {
        try {
          await controller.movePartition(spec.topic, p, target, { timeoutMs: 30_000 });
          break;
        } catch (err) {
          if (attempt >= 50) throw err; // the topic's first assignment may still be running
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
    const leadersOf = async (a: AdminClient) => (await a.metadata([spec.topic])).topics[0]!.partitions.sort((x, y) => x.partition - y.partition).map((x) => x.leader);
    for (const deadline = Date.now() + 30_000; ;) {
      const leaders = await leadersOf(admin);
      if (leaders.every((l) => l === target)) return { leaders, zoneLeaders: await leadersOf(this.zoneAdmin!) };
      if (Date.now() > deadline) throw new Error(`${spec.topic}: leaders ${leaders.join(',')} after moving to ${target}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async scrape(): Promise<MetricsSnapshot[]> { return Promise.all(this.metricsUrls.map((u) => MetricsSnapshot.fetch(u))); }

  async phase(spec: PhaseSpec): Promise<PhaseResult> {
    const { leaders, zoneLeaders } = await this.topic(spec);
    log(`${spec.topic}: routing ${spec.routing}, read mode ${spec.readMode}; leaders ${leaders.join(',')}, a ferry_az=${CLIENT_ZONE} client is told ${zoneLeaders.join(',')}`);
    const cfg: ChildConfig = {
      bootstrap: this.brokers.map((b) => b.bootstrap).join(','), topic: spec.topic, partitions: settings.partitions, zone: CLIENT_ZONE,
      rate: (settings.mbps * 1e6) / settings.messageBytes, messageBytes: settings.messageBytes, warmupSec: settings.warmupSec,
      seconds: settings.seconds, lingerMs: settings.lingerMs, fetchWaitMaxMs: settings.fetchWaitMaxMs,
    };
    const mStart = await this.scrape();
    const consumer = startChild('consumer', cfg);
    let producer: Child | null = null;
    const rssPeak = this.brokers.map(() => 0);
    const sampler = setInterval(() => this.brokers.forEach((b, i) => { rssPeak[i] = Math.max(rssPeak[i]!, rssKiB(b.pid)); }), 250);
    try {
      await expectEvent(consumer, 'ready', 60_000);
      producer = startChild('producer', cfg);
      await expectEvent(producer, 'measuring', 60_000 + settings.warmupSec * 1000);
      const [m0, cpu0, t0] = [await this.scrape(), this.brokers.map((b) => procCpuMs(b.pid!)), performance.now()];
      log(`${spec.topic}: measuring for ${settings.seconds} s ...`);
      const prod = await expectEvent(producer, 'done', (settings.seconds + 60) * 1000) as ProducerResult;
      // Rates over the produce window; the consumer's bytes until it has read everything.
      const [m1, cpu1, t1] = [await this.scrape(), this.brokers.map((b) => procCpuMs(b.pid!)), performance.now()];
      consumer.send({ expect: prod.sent });
      const cons = await expectEvent(consumer, 'done', 60_000) as ConsumerResult;
      const m2 = await this.scrape();
      const windowSeconds = (t1 - t0) / 1000;
      const d = delta(m0, m1);
      const dc = delta(m0, m2);
      const producedBytes = d.sum('ferry_produced_bytes_total', { topic: spec.topic });
      const consumedRecordBytes = dc.sum('ferry_client_bytes_total', { direction: 'out' });
      const crossAzInBytes = d.sum('ferry_cross_az_bytes_total', { direction: 'in' });
      const crossAzOutBytes = dc.sum('ferry_cross_az_bytes_total', { direction: 'out' });
      const replicaCrossAzBytes = dc.sum('ferry_replica_cross_az_bytes_total');
      return {
        ...spec, leaders, zoneLeaders, windowSeconds, producer: prod, consumer: cons,
        producedBytes, consumedRecordBytes, crossAzInBytes, crossAzOutBytes, replicaCrossAzBytes,
        crossAzPerProduced: crossAzInBytes / producedBytes,
        crossAzPerConsumed: (crossAzOutBytes + replicaCrossAzBytes) / (consumedRecordBytes || cons.bytes),
        s3RequestsPerSec: Object.fromEntries([...d.byLabel('ferry_s3_requests_total', 'operation')].map(([op, n]) => [op, n / windowSeconds])),
        s3PutMs: quantilesMs(d, 'ferry_s3_request_duration_seconds', { operation: 'put' }),
        proxyStageMs: quantilesMs(d, 'ferry_proxy_stage_duration_seconds'),
        proxyProduceMs: quantilesMs(d, 'ferry_proxy_produce_duration_seconds'),
        stagingObjects: d.sum('ferry_proxy_staged_objects_total', { result: 'ok' }),
        stagingBytes: d.sum('ferry_proxy_staged_bytes_total'),
        walFsyncMs: quantilesMs(d, 'ferry_wal_fsync_duration_seconds'),
        readReplicaBytes: Object.fromEntries(dc.byLabel('ferry_read_replica_bytes_total', 'source')),
        readReplicaRedirects: delta(mStart, m2).sum('ferry_fetch_read_replica_redirects_total'),
        loadAvg1: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
        brokers: this.brokers.map((b, i) => ({ nodeId: i + 1, rack: RACKS[i]!, cpu: (cpu1[i]! - cpu0[i]!) / 1000 / windowSeconds, rssPeakMiB: rssPeak[i]! / 1024 })),
        generatorCpu: {
          producer: prod.cpuSeconds / prod.seconds, consumer: cons.cpuSeconds / prod.seconds,
          producerThreads: Object.fromEntries(Object.entries(prod.threadCpuSeconds).map(([k, v]) => [k, v / prod.seconds])),
        },
      };
    } finally {
      clearInterval(sampler);
      for (const c of [producer, consumer]) if (c && c.proc.exitCode === null) c.proc.kill('SIGKILL');
    }
  }

  async dispose(): Promise<void> {
    this.admin?.close();
    this.zoneAdmin?.close();
    await this.store?.close().catch(() => undefined);
    await Promise.all(this.brokers.map((b) => b.dispose()));
  }
}

/** Sequential PUTs of `bytes` to radosgw from the bench, timed one by one (then deleted). */
async function probePuts(rgw: Radosgw, bucket: string, bytes: number, count: number): Promise<LatencySummary> {
  const client = rgw.client();
  const body = Buffer.alloc(bytes, 0x5a);
  const lat = new LatencyRecorder();
  try {
    for (let i = 0; i < count; i++) {
      const key = `${CLUSTER}/put-probe/${i}`;
      const t = performance.now();
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      lat.record(performance.now() - t);
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    }
  } finally {
    client.destroy();
  }
  return lat.summary();
}

function print(phases: PhaseResult[], put: { bytes: number; latency: LatencySummary }): void {
  const f = (x: number | null | undefined, d = 1) => (x === undefined || x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const base = phases.find((p) => p.routing === 'leader');
  const ops = [...new Set(phases.flatMap((p) => Object.keys(p.s3RequestsPerSec)))].sort();
  console.log(`\nzone-local bench: 3 brokers (racks ${RACKS.join(', ')}; etcd; radosgw), every partition led by rack ${LEADER_RACK}; producer and consumer in rack ${CLIENT_ZONE}`);
  console.log(`load: ${settings.partitions} partitions, ${settings.messageBytes} B messages, ${settings.mbps} MB/s paced, node-rdkafka (librdkafka) idempotent acks=all linger.ms=${settings.lingerMs}; ${settings.seconds} s measured per topic after ${settings.warmupSec} s warm-up; consumer fetch.wait.max.ms=${settings.fetchWaitMaxMs}`);
  console.log('\n| topic | routing | read mode | Metadata leader for ferry_az client | MB/s | produce p50 ms | p99 ms | p99.9 ms | e2e p50 ms | e2e p99 ms | received | cross-AZ / produced B | cross-AZ / consumed B |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const p of phases) {
    console.log(`| ${p.topic} | ${p.routing} | ${p.readMode} | ${[...new Set(p.zoneLeaders)].join(',')} (real ${[...new Set(p.leaders)].join(',')}) | ${f(p.producer.bytes / 1e6 / p.producer.seconds, 2)} | ${f(p.producer.latency.p50Ms, 2)} | ${f(p.producer.latency.p99Ms, 2)} | ${f(p.producer.latency.p999Ms, 2)} | ${f(p.consumer.latency.p50Ms, 2)} | ${f(p.consumer.latency.p99Ms, 2)} | ${p.consumer.received}/${p.consumer.expected} | ${f(p.crossAzPerProduced, 3)} | ${f(p.crossAzPerConsumed, 3)} |`);
    if (p.producer.errors) console.log(`  ${p.producer.errors} produce errors (first: ${p.producer.firstError})`);
  }
  console.log(`\n| topic | ${ops.map((o) => `S3 ${o}/s`).join(' | ')} | added vs leader (put, get /s) | broker PUT p50 / p99 ms | staging PUT p50 / p99 ms (objects, mean KiB) | proxy produce p50 / p99 ms | WAL fsync p50 / p99 ms | read replica bytes (object / tail) |`);
  console.log(`|---|${ops.map(() => '---|').join('')}---|---|---|---|---|---|`);
  for (const p of phases) {
    const added = (op: string) => (base ? (p.s3RequestsPerSec[op] ?? 0) - (base.s3RequestsPerSec[op] ?? 0) : NaN);
    console.log(`| ${p.topic} | ${ops.map((o) => f(p.s3RequestsPerSec[o] ?? 0, 1)).join(' | ')} | ${f(added('put'), 1)}, ${f(added('get'), 1)} | ${f(p.s3PutMs.p50, 1)} / ${f(p.s3PutMs.p99, 1)} | ${f(p.proxyStageMs.p50, 1)} / ${f(p.proxyStageMs.p99, 1)} (${p.stagingObjects}, ${f(p.stagingObjects ? p.stagingBytes / p.stagingObjects / 1024 : null, 0)}) | ${f(p.proxyProduceMs.p50, 1)} / ${f(p.proxyProduceMs.p99, 1)} | ${f(p.walFsyncMs.p50, 2)} / ${f(p.walFsyncMs.p99, 2)} | ${f((p.readReplicaBytes.object ?? 0) / 1e6, 1)} MB / ${f((p.readReplicaBytes.tail ?? 0) / 1e6, 1)} MB |`);
  }
  console.log('\n| topic | broker CPU (1, 2, 3) | broker RSS peak MiB (1, 2, 3) | generator CPU: producer (js / librdkafka / other threads), consumer | cross-AZ bytes in / out / replica tail | read-replica redirects | producer → broker: Produce requests, retries, RTT p50 / p99 ms | batch avg KiB (messages) | load avg 1 min |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const p of phases) {
    const st = p.producer.stats;
    const to = st ? st.brokers.map((b) => `${b.name}: ${b.produceRequests}, ${b.retries}, ${f(b.rttP50Ms, 1)} / ${f(b.rttP99Ms, 1)}`).join('; ') : '-';
    console.log(`| ${p.topic} | ${p.brokers.map((b) => pct(b.cpu)).join(', ')} | ${p.brokers.map((b) => f(b.rssPeakMiB, 0)).join(', ')} | ${pct(p.generatorCpu.producer)} (${['js', 'rdkafka', 'other'].map((k) => pct(p.generatorCpu.producerThreads[k] ?? 0)).join(' / ')}), ${pct(p.generatorCpu.consumer)} | ${f(p.crossAzInBytes / 1e6, 1)} MB / ${f(p.crossAzOutBytes / 1e6, 1)} MB / ${f(p.replicaCrossAzBytes / 1e6, 1)} MB | ${p.readReplicaRedirects} | ${to} | ${f(st?.batchSizeAvgBytes == null ? null : st.batchSizeAvgBytes / 1024, 1)} (${f(st?.batchCountAvg, 0)}) | ${f(p.loadAvg1, 1)} |`);
  }
  const l = put.latency;
  console.log(`\ndirect PUTs to radosgw from the bench (same run, idle cluster): ${l.count} x ${f(put.bytes / 1024, 0)} KiB: p50 ${f(l.p50Ms, 2)} ms, p99 ${f(l.p99Ms, 2)} ms, max ${f(l.maxMs, 2)} ms`);
  console.log('(histogram quantiles are interpolated inside Prometheus buckets; cross-AZ counts record bytes only: the inter-broker FerryProxyProduce / FerryRemoteFetch requests themselves are not counted)');
}

async function main(): Promise<void> {
  requireNodeModule<typeof Rd>('node-rdkafka');
  const phases: PhaseSpec[] = [
    { topic: 'zl-bench-leader', routing: 'leader', readMode: settings.leaderReadMode },
    ...settings.zoneReadModes.map((m) => ({ topic: `zl-bench-zone-${m}`, routing: 'zone-local' as const, readMode: m })),
  ];
  const etcd = await startEtcd();
  const rgw = await startRadosgw();
  const bucket = `zone-local-bench-${Date.now()}`;
  let bench: Bench | null = null;
  try {
    await rgw.createBucket(bucket);
    bench = new Bench(etcd, rgw, bucket);
    await bench.start();
    log('cluster up');
    const results: PhaseResult[] = [];
    for (const spec of phases) results.push(await bench.phase(spec));
    const zone = results.filter((r) => r.stagingObjects > 0);
    const stagingBytes = zone.length ? Math.round(zone.reduce((n, r) => n + r.stagingBytes, 0) / zone.reduce((n, r) => n + r.stagingObjects, 0)) : Math.round(settings.mbps * 1e6 * 0.01);
    log(`timing ${settings.putProbes} direct PUTs of ${stagingBytes} B ...`);
    const put = { bytes: stagingBytes, latency: await probePuts(rgw, bucket, stagingBytes, settings.putProbes) };
    print(results, put);
    const report = { settings, racks: RACKS, leaderRack: LEADER_RACK, clientZone: CLIENT_ZONE, phases: results, directPut: put };
    if (jsonFile) writeFileSync(jsonFile, JSON.stringify(report, null, 2));
    else if (jsonArg) console.log(JSON.stringify(report, null, 2));
  } finally {
    await bench?.dispose();
    await rgw.stop();
    await etcd.stop();
  }
}

const role = opt('role', '');
if (role) {
  const cfg = JSON.parse(process.env.ZONE_LOCAL_BENCH_CHILD ?? '{}') as ChildConfig;
  (role === 'producer' ? producerChild(cfg) : consumerChild(cfg)).then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
} else {
  main().catch((err) => { console.error(err); process.exit(1); });
}
