/**
 * Memory bench (issue 11; a command, not a test): one real broker process with a small memory
 * budget, and its RSS (VmRSS from /proc every 150 ms, VmHWM at the end) under loads that try to
 * make memory grow, compared with the configured total (`memoryBudget(config)`, what
 * `ferry config check` prints and `memory.max.bytes` checks). Target: max RSS <= 1.25x the total.
 *
 *   1   200 partitions at full produce speed (`ferry perf` producer, runProduce) with a tailing
 *       consumer (runConsume), each in its own process so the broker's RSS is measured alone
 *   1b  the same with a librdkafka producer (confluent-kafka-python, /usr/bin/python3), if present
 *   2a  fill a topic with far more data than the caches (default 1.5 GB), then wait for uploads
 *   2b  20 readers from offset 0 of it, each on its own connections (so it comes back from objects
 *       through the block cache)
 *   3   5 raw connections that pipeline 20 Fetch v4 each (max_bytes 1e9, partition max 100 MB) on
 *       that topic and never read, held 30 s, while another client produces (its p50/p99); then
 *       they are closed and RSS is read 10 s later
 * Each row: max RSS, RSS at the end, configured total, ratio, MB/s of the load, the generators' and
 * the broker's CPU, and whether offsets are dense (high watermark = acknowledged records, per
 * partition, and the acknowledged offsets tile [0, hw)). The disk's limit (4 KiB fdatasync
 * latency, fsync'd sequential MB/s) is measured first in the same run. Exits 1 if the broker
 * crashes or offsets are not dense (not on the ratio: that is reported).
 *
 *   node --conditions=ferry-source --import tsx bench/memory-bench.ts [--json] [--seconds 40]
 *     [--fill-gb 1.5] [--hold 30] [--scenarios 1,1b,2a,2b,3] [--tsx] [--gc-probe] [--broker-env K=V] [--keep] [--verbose]
 * --tsx runs the broker on the sources through tsx instead of `tsc -b` + dist (adds the loader's memory).
 * --gc-probe [end|mid] (diagnosis): the broker runs with --expose-gc and bench/memory-gc-probe.mjs
 * and is made to run a full GC at the end of each scenario (after its figures are taken; each
 * then starts from a collected heap) or, with mid, in the middle of each load (perturbs the max);
 * the row shows RSS / heap / external before and after (garbage vs memory still referenced).
 */
import { procCpuMs } from './proc-cpu.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../src/ops/config.js';
import { memoryBudget, type MemoryConfig } from '../src/ops/memory-budget.js';
import { measureDisk, type DiskReport } from '../src/perf/disk.js';
import { runProduce } from '../src/perf/producer.js';
import { runConsume } from '../src/perf/consumer.js';
import { PerfTarget } from '../src/perf/target.js';
import { AdminClient, LATEST, type PartitionInfo } from '../src/admin/admin-client.js';
import type { KafkaConnection } from '../src/admin/kafka-connection.js';
import { API_TABLE, ApiKey } from '../src/protocol/messages/index.js';
import { Writer } from '../src/protocol/primitives.js';
import { encodeRequestHeader } from '../src/protocol/headers.js';
import { errorName } from '../src/protocol/errors.js';

const ROOT = new URL('..', import.meta.url).pathname;
const SELF = process.argv[1]!;
const MiB = 1024 * 1024;
const MB = 1_000_000;
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
};
const flag = (name: string): boolean => argv.includes(`--${name}`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`[memory-bench] ${line}\n`);
const RECORD_BYTES = 1024;

// ---------------------------------------------------------------------------------------------
// Child roles (the load generators run in their own processes: `--role produce|consume SPEC`).

interface ProduceSpec {
  bootstrap: string; topic: string; partitions: number; durationSec?: number; numRecords?: number;
  throughput: number; concurrency: number; batchRecords: number; deadlineSec: number;
}
interface ConsumeSpec {
  bootstrap: string; topic: string; readers: number; from: 'earliest' | 'latest'; durationSec: number;
  numRecords?: number; fetchSizeBytes: number; maxWaitMs: number; idleTimeoutMs: number;
}

function selfUsage(wallMs: number) {
  const ru = process.resourceUsage();
  const cpuMs = (ru.userCPUTime + ru.systemCPUTime) / 1000;
  return { cpuMs, cpuPct: (100 * cpuMs) / Math.max(1, wallMs), maxRssBytes: ru.maxRSS * 1024 };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Acknowledged offset ranges per partition tile [0, n) with no gap or overlap. */
function rangesDense(ranges: Map<number, Array<[bigint, number]>>): { dense: boolean; firstProblem: string | null } {
  for (const [p, rs] of ranges) {
    rs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let next = 0n;
    for (const [base, n] of rs) {
      if (base !== next) return { dense: false, firstProblem: `partition ${p}: acknowledged base offset ${base}, expected ${next}` };
      next += BigInt(n);
    }
  }
  return { dense: true, firstProblem: null };
}

async function roleProduce(spec: ProduceSpec): Promise<unknown> {
  const t0 = performance.now();
  const target = await PerfTarget.open({ bootstrap: spec.bootstrap, topic: spec.topic, partitions: spec.partitions, clientId: 'memory-bench-producer' });
  const acked = new Map<number, number>();
  const ranges = new Map<number, Array<[bigint, number]>>();
  const latencies: number[] = [];
  const errorsByName: Record<string, number> = {};
  // runProduce unchanged; its connection is wrapped to see each acknowledgement's partition,
  // record count and base offset (for the density check) and each request's latency.
  const wrapped = new Map<KafkaConnection, KafkaConnection>();
  const wrap = (c: KafkaConnection): KafkaConnection => {
    const requestAt = (apiKey: number, version: number, body: any, expectResponse = true): Promise<any> => {
      const sent = performance.now();
      const pr = c.requestAt(apiKey, version, body, expectResponse);
      if (apiKey !== ApiKey.Produce) return pr;
      return pr.then((res: any) => {
        const req = body.topicData[0].partitionData[0];
        const r = res.responses[0].partitionResponses[0];
        if (r.errorCode === 0) {
          const n = (req.records as Buffer).readInt32BE(57);
          acked.set(req.index, (acked.get(req.index) ?? 0) + n);
          let rs = ranges.get(req.index);
          if (!rs) ranges.set(req.index, rs = []);
          rs.push([r.baseOffset as bigint, n]);
          latencies.push(performance.now() - sent);
        } else {
          const name = errorName(r.errorCode);
          errorsByName[name] = (errorsByName[name] ?? 0) + 1;
        }
        return res;
      });
    };
    return new Proxy(c, {
      get(t, prop) {
        if (prop === 'requestAt') return requestAt;
        const v = Reflect.get(t, prop, t);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  };
  const leaderConnection = target.leaderConnection.bind(target);
  (target as { leaderConnection: (p: PartitionInfo) => Promise<KafkaConnection> }).leaderConnection = async (p) => {
    const c = await leaderConnection(p);
    let w = wrapped.get(c);
    if (!w) wrapped.set(c, w = wrap(c));
    return w;
  };
  process.stdout.write('READY\n');
  const start = performance.now();
  const endAt = spec.durationSec !== undefined ? start + spec.durationSec * 1000 : Infinity;
  const deadline = start + spec.deadlineSec * 1000;
  const total = () => [...acked.values()].reduce((a, b) => a + b, 0);
  let runs = 0;
  let firstError: string | null = null;
  // runProduce does not resend refused batches (and stops after 1000 errors): run it again for
  // what is left until the duration ends or numRecords are acknowledged.
  for (;;) {
    const now = performance.now();
    const left = Math.min(endAt, deadline) - now;
    if (left < 500) break;
    const remaining = spec.numRecords !== undefined ? spec.numRecords - total() : undefined;
    if (remaining !== undefined && remaining <= 0) break;
    runs++;
    const rep = await runProduce({
      bootstrap: spec.bootstrap, topic: spec.topic, recordSizeBytes: RECORD_BYTES, throughput: spec.throughput, acks: -1,
      compression: 'none', concurrency: spec.concurrency, batchRecords: spec.batchRecords,
      ...(spec.durationSec !== undefined ? { durationSec: left / 1000 } : {}),
      ...(remaining !== undefined ? { numRecords: remaining, durationSec: left / 1000 } : {}),
    }, target);
    firstError ??= rep.firstError;
    if (rep.errors === 0) { if (spec.numRecords === undefined) break; else continue; }
    await sleep(100);
  }
  const seconds = (performance.now() - start) / 1000;
  target.close();
  const records = total();
  latencies.sort((a, b) => a - b);
  const dense = rangesDense(ranges);
  return {
    topic: spec.topic, records, bytes: records * RECORD_BYTES, seconds, mbPerSec: (records * RECORD_BYTES) / MB / seconds, runs,
    acked: Object.fromEntries(acked), rangesDense: dense.dense, firstProblem: dense.firstProblem, errorsByName, firstError,
    latency: { of: 'Produce request sent -> acknowledged', count: latencies.length, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99), maxMs: latencies[latencies.length - 1] ?? 0 },
    ...selfUsage(performance.now() - t0),
  };
}

async function roleConsume(spec: ConsumeSpec): Promise<unknown> {
  const t0 = performance.now();
  let started = 0;
  let start = 0;
  const reports = await Promise.all(Array.from({ length: spec.readers }, (_, i) => runConsume({
    bootstrap: spec.bootstrap, topic: spec.topic, from: spec.from, durationSec: spec.durationSec, numRecords: spec.numRecords,
    fetchSizeBytes: spec.fetchSizeBytes, maxWaitMs: spec.maxWaitMs, idleTimeoutMs: spec.idleTimeoutMs, clientId: `memory-bench-reader-${i}`,
    onStarted: () => { if (++started === spec.readers) { start = performance.now(); process.stdout.write('READY\n'); } },
  })));
  const seconds = (performance.now() - (start || t0)) / 1000;
  const records = reports.reduce((a, r) => a + r.records, 0);
  const bytes = reports.reduce((a, r) => a + r.bytes, 0);
  const lat = reports.map((r) => r.latency.p99Ms).sort((a, b) => a - b);
  return {
    topic: spec.topic, readers: spec.readers, records, bytes, seconds, mbPerSec: bytes / MB / seconds,
    perReaderRecords: { min: Math.min(...reports.map((r) => r.records)), max: Math.max(...reports.map((r) => r.records)) },
    fetchP99MsWorstReader: lat[lat.length - 1] ?? 0,
    errors: reports.reduce((a, r) => a + r.errors, 0), firstError: reports.find((r) => r.firstError)?.firstError ?? null,
    ...selfUsage(performance.now() - t0),
  };
}

const RDKAFKA_PRODUCER = String.raw`
import sys, json, time, random, resource
from confluent_kafka import Producer
bootstrap, topic, parts, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
acked = {}; maxoff = {}; errs = {}; first = [None]
def cb(err, msg):
    if err is not None:
        errs[err.name()] = errs.get(err.name(), 0) + 1
        if first[0] is None: first[0] = str(err)
        return
    p = msg.partition(); acked[p] = acked.get(p, 0) + 1
    if msg.offset() > maxoff.get(p, -1): maxoff[p] = msg.offset()
prod = Producer({'bootstrap.servers': bootstrap, 'acks': 'all', 'enable.idempotence': True, 'linger.ms': 20, 'message.max.bytes': 8000000,
                 'batch.num.messages': 100000, 'queue.buffering.max.kbytes': 1048576, 'queue.buffering.max.messages': 2000000,
                 'compression.type': 'none', 'message.timeout.ms': 120000})
value = bytes(random.randint(65, 90) for _ in range(1024))
print('READY', flush=True)
t0 = time.time(); end = t0 + secs; n = 0
while time.time() < end:
    for _ in range(2000):
        try:
            prod.produce(topic, value, partition=n % parts, on_delivery=cb)
            n += 1
        except BufferError:
            prod.poll(0.005)
    prod.poll(0)
left = prod.flush(120)
dt = time.time() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
records = sum(acked.values())
print('RESULT ' + json.dumps({'topic': topic, 'records': records, 'bytes': records * 1024, 'seconds': dt, 'mbPerSec': records * 1024 / 1e6 / dt,
    'acked': acked, 'maxOffset': maxoff, 'errorsByName': errs, 'firstError': first[0], 'unflushed': left,
    'cpuMs': (ru.ru_utime + ru.ru_stime) * 1000, 'cpuPct': 100 * (ru.ru_utime + ru.ru_stime) / dt, 'maxRssBytes': ru.ru_maxrss * 1024}), flush=True)
`;

// ---------------------------------------------------------------------------------------------
// The broker process and its samples.

interface Snapshot { [metric: string]: number }
interface Mem { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }
interface GcProbe { before: Mem; after: Mem; gcMs: number; rssAfterFromProc?: number }

class Broker {
  child: ChildProcess | null = null;
  output = '';
  exited: string | null = null;
  private probes: Array<(r: GcProbe) => void> = [];
  constructor(readonly cmd: string[], readonly verbose: boolean, readonly env: Record<string, string> = {}) {}

  /** With --gc-probe: a full GC in the broker, memory before and after. */
  async gcProbe(): Promise<GcProbe | null> {
    if (!this.child || this.exited) return null;
    const got = new Promise<GcProbe>((r) => this.probes.push(r));
    this.child.kill('SIGUSR2');
    const timeout = sleep(10_000).then(() => null);
    const r = await Promise.race([got, timeout]);
    if (!r) return null;
    await sleep(300);
    r.rssAfterFromProc = procStatus(this.pid)?.rss ?? 0;
    return r;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, this.cmd, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_LOG_LEVEL: 'info', ...this.env } });
    this.child = child;
    const onData = (d: Buffer) => {
      const text = d.toString();
      this.output = (this.output + text).slice(-256 * 1024);
      for (const m of text.matchAll(/^FERRY_GC_PROBE (.*)$/gm)) this.probes.shift()?.(JSON.parse(m[1]!) as GcProbe);
      if (this.verbose) process.stderr.write(d);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => { this.exited = `exit ${code ?? signal}`; });
    const t0 = Date.now();
    while (!this.output.includes('"msg":"broker ready"')) {
      if (this.exited) throw new Error(`broker ${this.exited} before ready:\n${this.output.slice(-4000)}`);
      if (Date.now() - t0 > 60_000) throw new Error(`broker not ready in 60 s:\n${this.output.slice(-4000)}`);
      await sleep(50);
    }
  }

  get pid(): number { return this.child!.pid!; }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || this.exited) return;
    const done = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await done;
    clearTimeout(t);
  }
}

function procStatus(pid: number): { rss: number; hwm: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch { return null; }
}


async function scrape(url: string): Promise<Snapshot> {
  const text = await (await fetch(url)).text();
  const out: Snapshot = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z0-9_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    // name{cache}{direction}{result}: the labels this bench reads, summed over the others.
    const labels = m[2] ?? '';
    let key = m[1]!;
    for (const l of ['cache', 'direction', 'result']) {
      const v = new RegExp(`${l}="([^"]*)"`).exec(labels)?.[1];
      if (v !== undefined) key += `{${v}}`;
    }
    out[key] = (out[key] ?? 0) + Number(m[3]);
  }
  return out;
}

/** Gauges worth seeing next to RSS (what the memory is made of). */
const GAUGES = [
  'nodejs_heap_size_used_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_external_memory_bytes',
  'ferry_cache_bytes{log}', 'ferry_cache_bytes{block}', 'ferry_send_queue_bytes', 'ferry_receiving_request_bytes',
  'ferry_upload_lag_bytes', 'ferry_wal_used_bytes', 'ferry_connections_muted', 'ferry_connections',
];

interface Window {
  name: string; t0: number; cpu0: number; maxRss: number; endRss: number; maxAt: number;
  maxGauges: Snapshot; atMaxRss: Snapshot; firstScrape: Snapshot | null; lastScrape: Snapshot | null;
  /** One point per scrape (~1 s): seconds into the window and MiB (JSON only). */
  timeline: Array<[number, number, number, number, number, number]>;
}

class Sampler {
  private timer: NodeJS.Timeout | null = null;
  private scrapeTimer: NodeJS.Timeout | null = null;
  private windows: Window[] = [];
  lastRss = 0;
  lastScrape: Snapshot = {};
  maxRssOverall = 0;
  constructor(private readonly pid: number, private readonly metricsUrl: string) {}

  start(): void {
    this.timer = setInterval(() => {
      const s = procStatus(this.pid);
      if (!s) return;
      this.lastRss = s.rss;
      this.maxRssOverall = Math.max(this.maxRssOverall, s.rss);
      for (const w of this.windows) {
        if (s.rss > w.maxRss) { w.maxRss = s.rss; w.maxAt = performance.now(); w.atMaxRss = { ...this.lastScrape }; }
        w.endRss = s.rss;
      }
    }, 150);
    const tick = () => {
      scrape(this.metricsUrl).then((m) => {
        this.lastScrape = m;
        for (const w of this.windows) {
          w.firstScrape ??= m;
          w.lastScrape = m;
          for (const g of GAUGES) w.maxGauges[g] = Math.max(w.maxGauges[g] ?? 0, m[g] ?? 0);
          // The scrape closest after the RSS peak explains it best.
          if (performance.now() - w.maxAt < 1000) w.atMaxRss = m;
          const r = (n: number | undefined) => Math.round((n ?? 0) / MiB);
          w.timeline.push([Math.round((performance.now() - w.t0) / 100) / 10, r(this.lastRss), r(m['nodejs_heap_size_used_bytes']), r(m['nodejs_external_memory_bytes']), r(m['ferry_send_queue_bytes']), m['ferry_connections'] ?? 0]);
        }
      }, () => undefined).finally(() => { if (this.timer) this.scrapeTimer = setTimeout(tick, 1000); });
    };
    tick();
  }

  begin(name: string): Window {
    const s = procStatus(this.pid);
    const w: Window = {
      name, t0: performance.now(), cpu0: procCpuMs(this.pid), maxRss: s?.rss ?? 0, endRss: s?.rss ?? 0, maxAt: performance.now(),
      maxGauges: {}, atMaxRss: { ...this.lastScrape }, firstScrape: null, lastScrape: null, timeline: [],
    };
    this.windows.push(w);
    return w;
  }

  async end(w: Window): Promise<{ maxRss: number; endRss: number; brokerCpuPct: number; seconds: number; maxGauges: Snapshot; atMaxRss: Snapshot; delta: (k: string) => number; timeline: Window['timeline'] }> {
    const m = await scrape(this.metricsUrl).catch(() => null);
    if (m) w.lastScrape = m;
    this.windows = this.windows.filter((x) => x !== w);
    const s = procStatus(this.pid);
    if (s) { w.endRss = s.rss; w.maxRss = Math.max(w.maxRss, s.rss); }
    const seconds = (performance.now() - w.t0) / 1000;
    const first = w.firstScrape ?? {};
    const last = w.lastScrape ?? {};
    return {
      maxRss: w.maxRss, endRss: w.endRss, seconds, brokerCpuPct: (100 * (procCpuMs(this.pid) - w.cpu0)) / (seconds * 1000),
      maxGauges: w.maxGauges, atMaxRss: w.atMaxRss, delta: (k) => (last[k] ?? 0) - (first[k] ?? 0), timeline: w.timeline,
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.scrapeTimer) clearTimeout(this.scrapeTimer);
  }
}

// ---------------------------------------------------------------------------------------------
// Children.

interface Child<T> { ready: Promise<void>; result: Promise<T>; pid: number; proc: ChildProcess }

function startChild<T>(cmd: string, args: string[], label: string): Child<T> {
  const proc = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => { readyResolve = r; });
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('READY\n')) readyResolve();
  });
  proc.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-8000); });
  const result = new Promise<T>((resolve, reject) => {
    proc.once('exit', (code) => {
      readyResolve();
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(7)) as T);
      else reject(new Error(`${label} exited ${code}:\n${err}\n${out.slice(-2000)}`));
    });
  });
  return { ready, result, pid: proc.pid!, proc };
}

function nodeChild<T>(role: 'produce' | 'consume', spec: ProduceSpec | ConsumeSpec): Child<T> {
  return startChild<T>(process.execPath, ['--conditions=ferry-source', '--import', 'tsx', SELF, '--role', role, JSON.stringify(spec)], `${role} child`);
}

// ---------------------------------------------------------------------------------------------
// Main.

interface Row {
  scenario: string; generator: string; loadMbPerSec: number; loadNote: string;
  generatorCpuPct: number; generatorMaxRssBytes: number; brokerCpuPct: number;
  maxRssBytes: number; endRssBytes: number; endRssNote: string; budgetBytes: number; ratio: number;
  dense: boolean | null; denseNote: string; seconds: number; gcProbe?: GcProbe | null;
  /** [s, rss, heap used, external, send queue (MiB), connections] per ~1 s. */
  timeline?: Window['timeline'];
  atMaxRss: Record<string, number>; maxGauges: Record<string, number>; extra: Record<string, unknown>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

async function main(): Promise<number> {
  const seconds = Number(opt('seconds', '40'));
  const fillBytes = Math.round(Number(opt('fill-gb', '1.5')) * 1e9);
  const scenarios = new Set(opt('scenarios', '1,1b,2a,2b,3').split(','));
  if (scenarios.has('2b') || scenarios.has('3')) scenarios.add('2a');
  const useTsx = flag('tsx');
  const json = flag('json');
  const benchT0 = performance.now();
  const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const loadBefore = loadavg();

  let brokerEntry: string[];
  let runtime: string;
  if (!useTsx) {
    log('building (tsc -b) ...');
    const b = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: ROOT, encoding: 'utf8' });
    if (b.status === 0 && existsSync(join(ROOT, 'dist/src/cli/main.js'))) {
      brokerEntry = [join(ROOT, 'dist/src/cli/main.js')];
      runtime = 'node dist/src/cli/main.js (tsc -b)';
    } else {
      log(`tsc -b failed; running the broker through tsx instead:\n${(b.stdout + b.stderr).slice(0, 2000)}`);
      brokerEntry = ['--conditions=ferry-source', '--import', 'tsx', join(ROOT, 'src/cli/main.ts')];
      runtime = 'tsx on src/ (tsc -b failed)';
    }
  } else {
    brokerEntry = ['--conditions=ferry-source', '--import', 'tsx', join(ROOT, 'src/cli/main.ts')];
    runtime = 'tsx on src/ (--tsx)';
  }

  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-memory-bench-'));
  const port = await freePort();
  const metricsPort = await freePort();
  const settings: Record<string, string> = {
    'cache.max.bytes': '256MiB', 'block.cache.max.bytes': '64MiB', 'queued.max.response.bytes': '128MiB',
    'socket.send.queue.max.bytes': '32MiB', 'queued.max.request.bytes': '128MiB', 'upload.max.bytes': '32MiB',
    'compaction.step.max.bytes': '64MiB', 'upload.interval.ms': '1000', 'wal.capacity.bytes': '1GiB',
  };
  const brokerFlags = [
    `--listeners=PLAINTEXT://127.0.0.1:${port}`, `--data.dir=${dataDir}`, `--metrics.listener=127.0.0.1:${metricsPort}`,
    '--group.initial.rebalance.delay.ms=0', ...Object.entries(settings).map(([k, v]) => `--${k}=${v}`),
  ];
  const config = loadConfig({ argv: brokerFlags, env: {}, cwd: ROOT });
  const budget = memoryBudget(config as unknown as MemoryConfig);
  const total = budget.totalBytes;
  log(`configured memory total ${(total / MiB).toFixed(0)} MiB: ${budget.parts.map((p) => `${p.key} ${(p.bytes / MiB).toFixed(0)}`).join(' + ')}`);

  log(`measuring the disk under ${dataDir} ...`);
  const disk: DiskReport = measureDisk(dataDir);
  log(`disk: 4 KiB write+fdatasync p50 ${disk.fsync4k.p50Ms.toFixed(3)} ms p99 ${disk.fsync4k.p99Ms.toFixed(3)} ms; sequential fdatasync/MiB ${disk.sequential.mbPerSec.toFixed(0)} MB/s`);

  const probeMode: 'mid' | 'end' | null = flag('gc-probe') ? (opt('gc-probe', 'end') === 'mid' ? 'mid' : 'end') : null;
  const probe = probeMode !== null;
  const probeArgs = probe ? ['--expose-gc', '--import', pathToFileURL(join(ROOT, 'bench/memory-gc-probe.mjs')).href] : [];
  // --broker-env K=V (repeatable): e.g. MALLOC_ARENA_MAX=2 or MALLOC_MMAP_THRESHOLD_=1048576, to see what the allocator keeps.
  const brokerEnv = Object.fromEntries(argv.flatMap((a, i) => (a === '--broker-env' && argv[i + 1]?.includes('=') ? [argv[i + 1]!.split(/=(.*)/s).slice(0, 2) as [string, string]] : [])));
  const broker = new Broker([...probeArgs, ...brokerEntry, 'broker', ...brokerFlags], flag('verbose'), brokerEnv);
  /** With --gc-probe, a full GC in the broker after `ms` (the middle of a load). */
  const probeAt = (ms: number): Promise<GcProbe | null> => (probeMode === 'mid' ? sleep(ms).then(() => broker.gcProbe()) : Promise.resolve(null));
  /** With --gc-probe (end): after a scenario's figures are taken. */
  const probeEnd = (): Promise<GcProbe | null> => (probeMode === 'end' ? broker.gcProbe() : Promise.resolve(null));
  const rows: Row[] = [];
  const failures: string[] = [];
  let admin: AdminClient | null = null;
  let sampler: Sampler | null = null;
  let idleRss = 0;
  let hwm = 0;
  const bootstrap = `127.0.0.1:${port}`;
  try {
    await broker.start();
    sampler = new Sampler(broker.pid, `http://127.0.0.1:${metricsPort}/metrics`);
    sampler.start();
    admin = await AdminClient.connect({ bootstrap: [bootstrap], clientId: 'memory-bench-admin', requestTimeoutMs: 60_000 });
    await sleep(1500);
    idleRss = procStatus(broker.pid)?.rss ?? 0;
    log(`broker pid ${broker.pid} ready (${runtime}); idle RSS ${(idleRss / MiB).toFixed(0)} MiB`);

    const checkAlive = () => { if (broker.exited) throw new Error(`broker crashed (${broker.exited}):\n${broker.output.slice(-4000)}`); };
    const createTopic = async (name: string, partitions: number): Promise<PartitionInfo[]> => {
      await admin!.createTopic(name, partitions, -1);
      for (let i = 0; i < 100; i++) {
        const t = (await admin!.metadata([name])).topics[0];
        if (t && t.errorCode === 0 && t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0)) return t.partitions;
        await sleep(100);
      }
      throw new Error(`topic ${name} has no leaders`);
    };
    /** High watermark per partition = acknowledged records per partition (missing: 0). */
    const denseCheck = async (topic: string, parts: PartitionInfo[], acked: Record<string, number>, extra: string | null): Promise<{ dense: boolean; note: string }> => {
      const hw = await admin!.listOffsets(topic, parts, LATEST);
      const bad: string[] = [];
      for (const p of parts) {
        const a = BigInt(acked[String(p.partition)] ?? 0);
        if (hw.get(p.partition) !== a) bad.push(`p${p.partition} hw ${hw.get(p.partition)} acked ${a}`);
      }
      if (extra) bad.push(extra);
      return { dense: bad.length === 0, note: bad.length === 0 ? `${parts.length}/${parts.length} partitions hw = acked` : bad.slice(0, 5).join('; ') };
    };
    /** The WAL's side of a produce load: is fdatasync (the disk) the bottleneck? */
    const walNote = (s: { delta: (k: string) => number; seconds: number }): string => {
      const n = s.delta('ferry_wal_fsync_duration_seconds_count');
      const busy = s.delta('ferry_wal_fsync_duration_seconds_sum');
      const bytes = s.delta('ferry_wal_appended_bytes_total');
      return `WAL: ${n} fdatasyncs, avg ${n ? ((1000 * busy) / n).toFixed(2) : '-'} ms, in fdatasync ${((100 * busy) / s.seconds).toFixed(0)}% of the time, ${(bytes / MB / s.seconds).toFixed(1)} MB/s appended over the window`;
    };
    const lat = (l: { p50Ms: number; p99Ms: number }) => `produce request p50 ${l.p50Ms.toFixed(1)} ms, p99 ${l.p99Ms.toFixed(1)} ms`;
    const row = (r: Omit<Row, 'ratio' | 'budgetBytes'>): void => {
      const full: Row = { ...r, budgetBytes: total, ratio: r.maxRssBytes / total };
      rows.push(full);
      if (full.dense === false) failures.push(`${r.scenario}: offsets not dense: ${r.denseNote}`);
      log(`${r.scenario}: max RSS ${(r.maxRssBytes / MiB).toFixed(0)} MiB (${full.ratio.toFixed(2)}x), end ${(r.endRssBytes / MiB).toFixed(0)} MiB, ${r.loadMbPerSec.toFixed(1)} MB/s, dense ${r.dense}`);
    };

    // 1: 200 partitions, full speed, tailing consumer.
    if (scenarios.has('1')) {
      const topic = 'mem-s1';
      const parts = await createTopic(topic, 200);
      log(`1: 200 partitions, ferry perf producer at full speed for ${seconds} s, tailing consumer`);
      const w = sampler.begin('1');
      const gc = probeAt((seconds * 1000) / 2 + 2000);
      const cons = nodeChild<any>('consume', { bootstrap, topic, readers: 1, from: 'latest', durationSec: seconds + 60, fetchSizeBytes: 1 << 20, maxWaitMs: 500, idleTimeoutMs: 5000 });
      await cons.ready;
      const prod = nodeChild<any>('produce', { bootstrap, topic, partitions: 200, durationSec: seconds, throughput: -1, concurrency: 32, batchRecords: 128, deadlineSec: seconds + 30 });
      const p = await prod.result;
      const c = await cons.result;
      const s = await sampler.end(w);
      checkAlive();
      const d = await denseCheck(topic, parts, p.acked, p.rangesDense ? null : p.firstProblem);
      row({
        scenario: '1 200 partitions, full-speed produce + tailing consumer', generator: 'ferry perf producer (runProduce, acks=all, 128 x 1 KiB per request, 32 in flight) + runConsume tail',
        loadMbPerSec: p.mbPerSec, loadNote: `produce ${p.mbPerSec.toFixed(1)} MB/s (${p.records} records; refused ${JSON.stringify(p.errorsByName)}), tail read ${c.records}/${p.records} at ${c.mbPerSec.toFixed(1)} MB/s; ${lat(p.latency)}; ${walNote(s)}`,
        generatorCpuPct: p.cpuPct + c.cpuPct, generatorMaxRssBytes: Math.max(p.maxRssBytes, c.maxRssBytes), brokerCpuPct: s.brokerCpuPct,
        maxRssBytes: s.maxRss, endRssBytes: s.endRss, endRssNote: 'when the load ended', dense: d.dense, denseNote: d.note, seconds: s.seconds, gcProbe: (await gc) ?? (await probeEnd()),
        atMaxRss: s.atMaxRss, maxGauges: s.maxGauges, timeline: s.timeline, extra: { producer: p, consumer: { ...c }, produceLatency: p.latency },
      });
      if (c.records !== p.records) log(`1: the tailing consumer read ${c.records} of ${p.records} records`);
    }

    // 1b: the same with librdkafka.
    if (scenarios.has('1b')) {
      const py = '/usr/bin/python3';
      const has = existsSync(py) && spawnSync(py, ['-c', 'import confluent_kafka'], { encoding: 'utf8' }).status === 0;
      if (!has) log('1b: skipped (no confluent_kafka under /usr/bin/python3)');
      else {
        const topic = 'mem-s1b';
        const parts = await createTopic(topic, 200);
        const secs = Math.max(10, Math.round(seconds / 2));
        log(`1b: 200 partitions, librdkafka (confluent-kafka-python) producer at full speed for ${secs} s, tailing consumer`);
        const w = sampler.begin('1b');
        const gc = probeAt((secs * 1000) / 2 + 2000);
        const cons = nodeChild<any>('consume', { bootstrap, topic, readers: 1, from: 'latest', durationSec: secs + 150, fetchSizeBytes: 1 << 20, maxWaitMs: 500, idleTimeoutMs: 5000 });
        await cons.ready;
        const prod = startChild<any>(py, ['-c', RDKAFKA_PRODUCER, bootstrap, topic, '200', String(secs)], 'librdkafka producer');
        const p = await prod.result;
        const c = await cons.result;
        const s = await sampler.end(w);
        checkAlive();
        const maxOffBad = Object.entries(p.acked as Record<string, number>).filter(([k, n]) => (p.maxOffset[k] ?? -1) !== n - 1);
        const d = await denseCheck(topic, parts, p.acked, maxOffBad.length ? `librdkafka max offset != acked-1 on ${maxOffBad.length} partitions` : null);
        row({
          scenario: '1b 200 partitions, librdkafka producer + tailing consumer', generator: `confluent-kafka-python ${spawnSync(py, ['-c', 'import confluent_kafka as c;print(c.version()[0], c.libversion()[0])'], { encoding: 'utf8' }).stdout.trim()} (idempotent, acks=all, linger 20 ms, 8 MB requests) + runConsume tail`,
          loadMbPerSec: p.mbPerSec, loadNote: `produce ${p.mbPerSec.toFixed(1)} MB/s (${p.records} records; errors ${JSON.stringify(p.errorsByName)}), tail read ${c.records}/${p.records} at ${c.mbPerSec.toFixed(1)} MB/s; ${walNote(s)}`,
          generatorCpuPct: p.cpuPct + c.cpuPct, generatorMaxRssBytes: Math.max(p.maxRssBytes, c.maxRssBytes), brokerCpuPct: s.brokerCpuPct,
          maxRssBytes: s.maxRss, endRssBytes: s.endRss, endRssNote: 'when the load ended', dense: d.dense, denseNote: d.note, seconds: s.seconds, gcProbe: (await gc) ?? (await probeEnd()),
          atMaxRss: s.atMaxRss, maxGauges: s.maxGauges, timeline: s.timeline, extra: { producer: { ...p, acked: undefined, maxOffset: undefined }, consumer: c },
        });
      }
    }

    // 2a: fill a topic with far more than the caches, wait for uploads.
    const bigTopic = 'mem-s2';
    let bigParts: PartitionInfo[] = [];
    let bigRecords = 0;
    if (scenarios.has('2a')) {
      bigParts = await createTopic(bigTopic, 16);
      const numRecords = Math.ceil(fillBytes / RECORD_BYTES);
      log(`2a: filling ${bigTopic} (16 partitions) with ${(fillBytes / 1e9).toFixed(2)} GB`);
      const w = sampler.begin('2a');
      const prod = nodeChild<any>('produce', { bootstrap, topic: bigTopic, partitions: 16, numRecords, throughput: -1, concurrency: 32, batchRecords: 128, deadlineSec: 240 });
      const p = await prod.result;
      const t0 = performance.now();
      while (performance.now() - t0 < 90_000) {
        checkAlive();
        const m = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
        if ((m['ferry_upload_lag_bytes'] ?? 1) === 0) break;
        await sleep(250);
      }
      const uploadWaitS = (performance.now() - t0) / 1000;
      const s = await sampler.end(w);
      checkAlive();
      bigRecords = p.records;
      const d = await denseCheck(bigTopic, bigParts, p.acked, p.rangesDense ? null : p.firstProblem);
      if (p.records < numRecords) d.note += ` (only ${p.records}/${numRecords} records acknowledged before the deadline)`;
      row({
        scenario: `2a fill ${(p.bytes / 1e9).toFixed(2)} GB into 16 partitions, wait for uploads`, generator: 'ferry perf producer (runProduce, acks=all, 128 x 1 KiB per request, 32 in flight)',
        loadMbPerSec: p.mbPerSec, loadNote: `produce ${p.mbPerSec.toFixed(1)} MB/s (refused ${JSON.stringify(p.errorsByName)}); upload lag 0 after ${uploadWaitS.toFixed(1)} s; ${lat(p.latency)}; ${walNote(s)}`,
        generatorCpuPct: p.cpuPct, generatorMaxRssBytes: p.maxRssBytes, brokerCpuPct: s.brokerCpuPct,
        maxRssBytes: s.maxRss, endRssBytes: s.endRss, endRssNote: 'uploads done', dense: d.dense, denseNote: d.note, seconds: s.seconds,
        atMaxRss: s.atMaxRss, maxGauges: s.maxGauges, timeline: s.timeline, extra: { producer: { ...p, acked: undefined }, uploadedBytes: s.delta('ferry_uploaded_bytes_total') },
      });
    }

    // 2b: 20 readers from offset 0.
    if (scenarios.has('2b')) {
      log(`2b: 20 readers from offset 0 of ${bigTopic} for up to ${seconds} s`);
      const w = sampler.begin('2b');
      const gc = probeAt((seconds * 1000) / 2);
      const cons = nodeChild<any>('consume', { bootstrap, topic: bigTopic, readers: 20, from: 'earliest', durationSec: seconds, numRecords: bigRecords, fetchSizeBytes: 16 << 20, maxWaitMs: 500, idleTimeoutMs: 15_000 });
      const c = await cons.result;
      const s = await sampler.end(w);
      checkAlive();
      const objIn = s.delta('ferry_s3_bytes_total{in}');
      row({
        scenario: '2b 20 readers from offset 0 (data from objects through the block cache)', generator: '20 x ferry perf consumer (runConsume, one process, partition max 16 MiB, max_bytes 64 MiB)',
        loadMbPerSec: c.mbPerSec, loadNote: `read ${(c.bytes / 1e9).toFixed(2)} GB at ${c.mbPerSec.toFixed(1)} MB/s (per reader ${c.perReaderRecords.min}-${c.perReaderRecords.max} of ${bigRecords} records; errors ${c.errors}); object store read ${(objIn / 1e9).toFixed(2)} GB; block cache hit/miss ${s.delta('ferry_cache_lookups_total{block}{hit}')}/${s.delta('ferry_cache_lookups_total{block}{miss}')}`,
        generatorCpuPct: c.cpuPct, generatorMaxRssBytes: c.maxRssBytes, brokerCpuPct: s.brokerCpuPct,
        maxRssBytes: s.maxRss, endRssBytes: s.endRss, endRssNote: 'when the readers stopped', dense: null, denseNote: '(reads only)', seconds: s.seconds, gcProbe: (await gc) ?? (await probeEnd()),
        atMaxRss: s.atMaxRss, maxGauges: s.maxGauges, timeline: s.timeline, extra: { readers: c, objectStoreBytesIn: objIn },
      });
    }

    // 3: 5 connections pipelining 20 big Fetch v4 each, never reading, while a producer is answered.
    if (scenarios.has('3')) {
      const topic = 'mem-s3';
      const parts = await createTopic(topic, 4);
      const hold = Number(opt('hold', '30'));
      log(`3: 5 connections x 20 pipelined Fetch v4 (max_bytes 1e9, partition max 100 MB) on ${bigTopic}, unread for ${hold} s, while producing 5 MB/s`);
      const w = sampler.begin('3');
      const gc = probeAt((hold * 1000) / 2 + 2000);
      const prod = nodeChild<any>('produce', { bootstrap, topic, partitions: 4, durationSec: hold, throughput: 5000, concurrency: 4, batchRecords: 50, deadlineSec: hold + 30 });
      await prod.ready;
      const fetchApi = API_TABLE.get(ApiKey.Fetch)!;
      const sockets: Socket[] = [];
      let written = 0;
      for (let i = 0; i < 5; i++) {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
          s.once('error', reject);
        });
        sock.pause(); // never read: the kernel's buffers fill, then the broker's send queue
        sock.on('error', () => undefined);
        for (let j = 0; j < 20; j++) {
          const wr = new Writer(1024);
          const at = wr.reserveInt32();
          encodeRequestHeader(wr, fetchApi.requestHeaderVersion(4), { apiKey: ApiKey.Fetch, apiVersion: 4, correlationId: j + 1, clientId: `memory-bench-unread-${i}` });
          fetchApi.encodeRequest(wr, 4, {
            replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 1_000_000_000, isolationLevel: 0,
            topics: [{ topic: bigTopic, partitions: bigParts.map((p) => ({ partition: p.partition, fetchOffset: 0n, partitionMaxBytes: 100_000_000 })) }],
          });
          wr.patchInt32(at, wr.length - 4);
          for (const c of wr.toChunks()) { sock.write(c); written += c.length; }
        }
        sockets.push(sock);
      }
      const p = await prod.result;
      const heldRss = procStatus(broker.pid)?.rss ?? 0;
      checkAlive();
      const stillOpen = sockets.filter((s) => !s.destroyed).length;
      for (const s of sockets) s.destroy();
      log(`3: closed the 5 connections (${stillOpen} were still open); RSS ${(heldRss / MiB).toFixed(0)} MiB; waiting 10 s`);
      await sleep(10_000);
      const s = await sampler.end(w);
      const gcAfterClose = probeMode === 'mid' ? await broker.gcProbe() : null;
      checkAlive();
      const d = await denseCheck(topic, parts, p.acked, p.rangesDense ? null : p.firstProblem);
      row({
        scenario: '3 5 conns x 20 pipelined Fetch v4 (1e9 / 100 MB), never read, 30 s, + producer', generator: 'raw sockets (src/protocol codecs) + ferry perf producer (runProduce, 5000 x 1 KiB/s, acks=all)',
        loadMbPerSec: p.mbPerSec, loadNote: `producer answered: ${p.records} records at ${p.mbPerSec.toFixed(1)} MB/s, p50 ${p.latency.p50Ms.toFixed(2)} ms, p99 ${p.latency.p99Ms.toFixed(2)} ms, max ${p.latency.maxMs.toFixed(1)} ms (refused ${JSON.stringify(p.errorsByName)}); ${stillOpen}/5 unread connections open at the end; RSS ${(heldRss / MiB).toFixed(0)} MiB before closing; ${walNote(s)}`,
        generatorCpuPct: p.cpuPct, generatorMaxRssBytes: p.maxRssBytes, brokerCpuPct: s.brokerCpuPct,
        maxRssBytes: s.maxRss, endRssBytes: s.endRss, endRssNote: '10 s after closing the connections', dense: d.dense, denseNote: d.note, seconds: s.seconds, gcProbe: (await gc) ?? (await probeEnd()),
        atMaxRss: s.atMaxRss, maxGauges: s.maxGauges, timeline: s.timeline, extra: { producer: { ...p, acked: undefined }, rssBeforeClose: heldRss, requestBytesWritten: written, gcProbeAfterClose: gcAfterClose },
      });
    }
    hwm = procStatus(broker.pid)?.hwm ?? 0;
    checkAlive();
  } catch (err) {
    failures.push((err as Error).message);
  } finally {
    sampler?.stop();
    admin?.close();
    await broker.stop();
    if (!flag('keep')) rmSync(dataDir, { recursive: true, force: true });
  }

  const report = {
    command: 'npm run bench:memory', gcProbeMode: probeMode, brokerRuntime: runtime, brokerEnv, settings, budget: { totalBytes: total, parts: budget.parts },
    target: 'max RSS <= 1.25 x configured total', disk, loadavgBefore: loadBefore, loadavgAfter: loadavg(), idleRssBytes: idleRss, vmHwmBytes: hwm,
    brokerMaxRssSampledBytes: sampler?.maxRssOverall ?? 0, benchSeconds: (performance.now() - benchT0) / 1000, rows, failures,
    brokerLogTail: failures.length ? broker.output.slice(-4000) : undefined,
  };
  if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(renderTable(report));
  return failures.length ? 1 : 0;
}

function renderTable(r: { loadavgBefore: string; loadavgAfter: string; gcProbeMode: string | null; brokerRuntime: string; brokerEnv: Record<string, string>; settings: Record<string, string>; budget: { totalBytes: number; parts: Array<{ key: string; bytes: number }> }; disk: DiskReport; idleRssBytes: number; vmHwmBytes: number; benchSeconds: number; rows: Row[]; failures: string[] }): string {
  const mib = (n: number) => `${(n / MiB).toFixed(0)}`;
  const pct = (n: number) => `${n.toFixed(0)}%`;
  let out = `\nferry memory bench: one broker (${r.brokerRuntime}${Object.keys(r.brokerEnv).length ? `, env ${Object.entries(r.brokerEnv).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}), ${Object.entries(r.settings).map(([k, v]) => `${k}=${v}`).join(' ')}\n`;
  out += `configured total (memoryBudget) ${mib(r.budget.totalBytes)} MiB = ${r.budget.parts.map((p) => `${p.key} ${mib(p.bytes)}`).join(' + ')}; target max RSS <= 1.25x = ${mib(1.25 * r.budget.totalBytes)} MiB\n`;
  out += `disk (same run): 4 KiB write+fdatasync p50 ${r.disk.fsync4k.p50Ms.toFixed(3)} ms, p99 ${r.disk.fsync4k.p99Ms.toFixed(3)} ms; sequential, fdatasync per MiB ${r.disk.sequential.mbPerSec.toFixed(0)} MB/s\n`;
  out += `idle RSS ${mib(r.idleRssBytes)} MiB; VmHWM at the end ${mib(r.vmHwmBytes)} MiB (${(r.vmHwmBytes / r.budget.totalBytes).toFixed(2)}x); CPU % are of one core (this machine has ${navigatorCores()} cores; load average ${r.loadavgBefore} before, ${r.loadavgAfter} after)\n\n`;
  const head = ['scenario', 'max RSS MiB', 'end RSS MiB', 'total MiB', 'ratio', 'load MB/s', 'gen CPU', 'gen RSS MiB', 'broker CPU', 'dense'];
  const lines = r.rows.map((x) => [x.scenario.split(' ')[0]!, mib(x.maxRssBytes), mib(x.endRssBytes), mib(x.budgetBytes), x.ratio.toFixed(2), x.loadMbPerSec.toFixed(1), pct(x.generatorCpuPct), mib(x.generatorMaxRssBytes), pct(x.brokerCpuPct), x.dense === null ? '-' : x.dense ? 'yes' : 'NO']);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + '\n';
  out += fmt(head) + fmt(widths.map((w) => '-'.repeat(w)));
  for (const l of lines) out += fmt(l);
  out += '\n';
  for (const x of r.rows) {
    const g = x.atMaxRss;
    out += `${x.scenario} (${x.seconds.toFixed(0)} s)\n  load: ${x.generator}\n  ${x.loadNote}\n  end RSS: ${x.endRssNote}; offsets: ${x.denseNote}\n`;
    out += `  near the RSS peak: heap used ${mib(g['nodejs_heap_size_used_bytes'] ?? 0)} / total ${mib(g['nodejs_heap_size_total_bytes'] ?? 0)} MiB, external ${mib(g['nodejs_external_memory_bytes'] ?? 0)} MiB, log cache ${mib(g['ferry_cache_bytes{log}'] ?? 0)}, block cache ${mib(g['ferry_cache_bytes{block}'] ?? 0)}, send queue ${mib(g['ferry_send_queue_bytes'] ?? 0)}, upload lag ${mib(g['ferry_upload_lag_bytes'] ?? 0)} MiB\n`;
    const m = x.maxGauges;
    const probeLine = (when: string, g: GcProbe) => {
      const b = g.before;
      const a = g.after;
      out += `  GC probe ${when} (full GC in ${g.gcMs.toFixed(0)} ms): rss ${mib(b.rss)} -> ${mib(g.rssAfterFromProc ?? a.rss)}, heap used ${mib(b.heapUsed)} -> ${mib(a.heapUsed)} (total ${mib(a.heapTotal)}), external ${mib(b.external)} -> ${mib(a.external)} (array buffers ${mib(b.arrayBuffers)} -> ${mib(a.arrayBuffers)}) MiB\n`;
    };
    if (x.gcProbe) probeLine(r.gcProbeMode === 'mid' ? 'mid-load' : 'at the end', x.gcProbe);
    const after = (x.extra as { gcProbeAfterClose?: GcProbe | null }).gcProbeAfterClose;
    if (after) probeLine('10 s after closing', after);
    out += `  maxima: heap used ${mib(m['nodejs_heap_size_used_bytes'] ?? 0)}, external ${mib(m['nodejs_external_memory_bytes'] ?? 0)}, log cache ${mib(m['ferry_cache_bytes{log}'] ?? 0)}, block cache ${mib(m['ferry_cache_bytes{block}'] ?? 0)}, send queue ${mib(m['ferry_send_queue_bytes'] ?? 0)}, requests ${mib(m['ferry_receiving_request_bytes'] ?? 0)}, upload lag ${mib(m['ferry_upload_lag_bytes'] ?? 0)} MiB; muted connections ${m['ferry_connections_muted'] ?? 0}\n`;
  }
  out += `\nbench took ${r.benchSeconds.toFixed(0)} s\n`;
  if (r.failures.length) out += `\nFAILED:\n${r.failures.map((f) => `  ${f}`).join('\n')}\n`;
  return out;
}

function navigatorCores(): number {
  try { return readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length; } catch { return 0; }
}

const role = opt('role', '');
if (role) {
  const spec = JSON.parse(argv[argv.indexOf('--role') + 2]!);
  const result = role === 'produce' ? await roleProduce(spec as ProduceSpec) : await roleConsume(spec as ConsumeSpec);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
} else {
  process.exitCode = await main();
}
