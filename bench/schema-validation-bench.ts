// npm run bench:schema [-- --records=300000 --value-bytes=200 --partitions=1 --format=avro|json|protobuf
//                         --compression=none|lz4|zstd|snappy|gzip --repeat=5 --window=20000 --rate=5000
//                         --paced-seconds=3 --generators=rdkafka,batches --batch-records=1000 --batch-passes=3
//                         --json[=FILE]]
//
// What broker-side schema validation costs on produce, in one run on one broker (not a test). Three
// topics, one per mode, the same load on each in turn:
//   none: no validation;
//   id:   confluent.value.schema.validation=true (wire header + schema id registered under <topic>-value);
//   full: the same plus ferry.value.schema.validation=full (the value decoded with the schema).
// The load: --records values of --value-bytes (an `Order` record: id, customer, timestamp, amount,
// status enum, item count and a note string sized to hit --value-bytes), encoded once (Avro with
// avsc, JSON text or Protobuf with protobufjs) after registering the schema under every topic's
// subject over the registry's REST API, so every topic gets the very same bytes. node-rdkafka
// (librdkafka) produces them at full speed with at most --window records unacknowledged, acks=all,
// linger.ms=5, default batch size, --compression (validation must decompress). Then, for latency
// without a client queue, the same paced at --rate records/s for --paced-seconds. node-rdkafka's JS
// thread tops out near the broker's own rate, so a second generator (`batches`, compression none
// only) sends record batches of the same values built before the clock starts: with it the broker
// is what limits.
// Per topic (the median by records/s of the --repeat rounds in which other processes were nearly
// idle, rounds interleaved over the topics): records/s,
// MB/s of values, produce latency p50/p99 from delivery reports, the broker's CPU (ms per MB and
// share of a core), its RSS at the start and peak while the topic was loaded; ratios id/none and
// full/none; the generator's CPU (whole process, librdkafka threads included) and its JS thread's
// (near 100% of a core = the generator, not the broker, was the bottleneck; same for the broker's
// JS thread); what every other process on the machine used meanwhile (a shared machine skews one
// round: hence the medians); the disk's 4 KiB write+fdatasync; and the validator's own cost per
// record measured in this process. The broker's RSS grows with everything written since it
// started (rounds run one after another), so compare RSS between rounds with care.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import type * as Rd from 'node-rdkafka';
import avsc from 'avsc';
import protobuf from 'protobufjs';
import { procCpuMs } from './proc-cpu.js';
import { measureDisk, type DiskReport } from '../src/perf/disk.js';
import { LatencyRecorder, type LatencySummary } from '../src/perf/latency.js';
import { AdminClient } from '../src/admin/admin-client.js';
import { MetricsSnapshot } from '../src/admin/prom-text.js';
import { FORMATS } from '../src/schema/formats.js';
import { buildRecordBatch } from '../src/protocol/record-batch.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { errorName } from '../src/protocol/errors.js';
import { PerfTarget } from '../src/perf/target.js';
import type { SchemaType } from '../src/schema/schema-format.js';
import { BrokerProcess } from '../test/helpers/broker-process.js';
import { freePort } from '../test/helpers/ports.js';
import { requireNodeModule } from '../test/helpers/require-tool.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const log = (msg: string) => process.stderr.write(`schema-bench: ${msg}\n`);
const MB = 1024 * 1024;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

const settings = {
  records: Number(opt('records', '300000')),
  valueBytes: Number(opt('value-bytes', '200')),
  partitions: Number(opt('partitions', '1')),
  format: opt('format', 'avro') as 'avro' | 'json' | 'protobuf',
  compression: opt('compression', 'none'),
  repeat: Math.max(1, Number(opt('repeat', '5'))),
  window: Number(opt('window', '20000')),
  rate: Number(opt('rate', '5000')),
  pacedSeconds: Number(opt('paced-seconds', '3')),
  generators: opt('generators', 'rdkafka,batches').split(',').map((g) => g.trim()) as Generator[],
  batchRecords: Number(opt('batch-records', '1000')),
  /** The batches generator sends the prebuilt batches this many times per round (it is fast: a longer run measures better). */
  batchPasses: Math.max(1, Number(opt('batch-passes', '3'))),
};
const jsonArg = argv.find((a) => a === '--json' || a.startsWith('--json='));
const jsonFile = jsonArg?.startsWith('--json=') ? jsonArg.slice(7) : null;
if (!['avro', 'json', 'protobuf'].includes(settings.format)) throw new Error(`--format: avro, json or protobuf, not ${settings.format}`);
for (const g of settings.generators) if (g !== 'rdkafka' && g !== 'batches') throw new Error(`--generators: rdkafka and/or batches, not ${g}`);
if (settings.compression !== 'none' && settings.generators.includes('batches')) {
  settings.generators = settings.generators.filter((g) => g !== 'batches');
  process.stderr.write('schema-bench: the batches generator sends uncompressed batches only: skipped with --compression\n');
}
if (!['none', 'gzip', 'snappy', 'lz4', 'zstd'].includes(settings.compression)) throw new Error(`--compression: none, gzip, snappy, lz4 or zstd, not ${settings.compression}`);

type Mode = 'none' | 'id' | 'full';
/** rdkafka: node-rdkafka, a real client (its JS thread tops out near 200k records/s here).
 *  batches: Produce requests of record batches built once before the clock starts, so the generator
 *  costs next to nothing per record and the broker is what limits (compression none only). */
type Generator = 'rdkafka' | 'batches';
const MODES: Mode[] = ['none', 'id', 'full'];
const TOPIC_CONFIGS: Record<Mode, Record<string, string>> = {
  none: {},
  id: { 'confluent.value.schema.validation': 'true' },
  full: { 'confluent.value.schema.validation': 'true', 'ferry.value.schema.validation': 'full' },
};
const topicOf = (mode: Mode, warmup = false) => `schema-bench-${warmup ? 'warmup-' : ''}${mode}`;

// ---- the records ------------------------------------------------------------------------------

interface Order { id: number; customer: string; ts: number; amount: number; status: string; items: number; note: string }
const STATUSES = ['NEW', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED'];

const AVRO_SCHEMA = {
  type: 'record', name: 'Order', namespace: 'bench.shop',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'customer', type: 'string' },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'amount', type: 'double' },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: STATUSES } },
    { name: 'items', type: 'int' },
    { name: 'note', type: 'string' },
  ],
};
const JSON_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#', title: 'Order', type: 'object', additionalProperties: false,
  required: ['id', 'customer', 'ts', 'amount', 'status', 'items', 'note'],
  properties: {
    id: { type: 'integer', minimum: 0 }, customer: { type: 'string', maxLength: 64 }, ts: { type: 'integer' },
    amount: { type: 'number', minimum: 0 }, status: { enum: STATUSES }, items: { type: 'integer', minimum: 1 }, note: { type: 'string' },
  },
};
const PROTO_SCHEMA = `syntax = "proto3";
package bench.shop;

message Order {
  int64 id = 1;
  string customer = 2;
  int64 ts = 3;
  double amount = 4;
  Status status = 5;
  int32 items = 6;
  string note = 7;
  enum Status { NEW = 0; PAID = 1; SHIPPED = 2; DELIVERED = 3; CANCELLED = 4; }
}
`;

interface Encoding { schemaType: SchemaType; schema: string; payload(o: Order): Buffer }

function encoding(format: typeof settings.format): Encoding {
  if (format === 'avro') {
    const type = avsc.Type.forSchema(AVRO_SCHEMA as avsc.Schema);
    return { schemaType: 'AVRO', schema: JSON.stringify(AVRO_SCHEMA), payload: (o) => type.toBuffer(o) };
  }
  if (format === 'json') return { schemaType: 'JSON', schema: JSON.stringify(JSON_SCHEMA), payload: (o) => Buffer.from(JSON.stringify(o)) };
  const t = protobuf.parse(PROTO_SCHEMA).root.lookupType('bench.shop.Order');
  // Confluent's Protobuf wire format: the message indexes after the header; [0] (the first message) is one 0 byte.
  return { schemaType: 'PROTOBUF', schema: PROTO_SCHEMA, payload: (o) => Buffer.concat([Buffer.from([0]), Buffer.from(t.encode(t.fromObject(o)).finish())]) };
}

const WORDS = 'the parcel was left with a neighbour please ring twice gift wrap requested deliver after six leave at the back door fragile handle with care'.split(' ');

/** POOL distinct framed values (header + payload), each as close to --value-bytes as the note string allows. */
const POOL = 4096;
function buildPool(enc: Encoding, schemaId: number): Buffer[] {
  const header = Buffer.alloc(5);
  header.writeInt32BE(schemaId, 1);
  const out: Buffer[] = [];
  for (let i = 0; i < POOL; i++) {
    const base: Order = {
      id: 1_000_000 + i, customer: `customer-${String((i * 7919) % 100_000).padStart(6, '0')}`, ts: 1_780_000_000_000 + i * 37,
      amount: Math.round(((i * 104729) % 100_000) + 99) / 100, status: STATUSES[i % STATUSES.length]!, items: 1 + (i % 9), note: '',
    };
    let text = '';
    for (let w = i; text.length < settings.valueBytes * 2; w++) text += `${WORDS[w % WORDS.length]} `;
    const sized = (n: number) => 5 + enc.payload({ ...base, note: text.slice(0, n) }).length;
    let n = Math.max(0, settings.valueBytes - sized(0));
    while (n > 0 && sized(n) > settings.valueBytes) n--; // the note's length prefix grows with it
    out.push(Buffer.concat([header, enc.payload({ ...base, note: text.slice(0, n) })]));
  }
  return out;
}

/** Registers the schema under `subject` over the REST API; its id. */
async function register(url: string, subject: string, enc: Encoding): Promise<number> {
  const res = await fetch(`${url}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schemaType: enc.schemaType, schema: enc.schema }),
  });
  const body = await res.json() as { id?: number; message?: string };
  if (!res.ok || typeof body.id !== 'number') throw new Error(`register ${subject}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

/** The validator alone, in this process: ns per record for `validate` (full mode's extra work). */
function validatorNsPerRecord(enc: Encoding, pool: Buffer[]): number {
  const parsed = FORMATS[enc.schemaType].parse(enc.schema, []);
  const payloads = pool.map((v) => v.subarray(5));
  for (const p of payloads) parsed.validate(p); // warm-up, and every record must pass
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 500) for (const p of payloads) { parsed.validate(p); n++; }
  return ((performance.now() - t0) * 1e6) / n;
}

// ---- the load ---------------------------------------------------------------------------------

function connectProducer(rd: typeof Rd, bootstrap: string): Promise<Rd.Producer> {
  const p = new rd.Producer({
    'metadata.broker.list': bootstrap, 'dr_cb': true, 'linger.ms': 5, 'enable.idempotence': false,
    'queue.buffering.max.messages': Math.max(100_000, settings.window * 2), 'queue.buffering.max.kbytes': 1_048_576,
    'compression.codec': settings.compression as 'none',
  }, { 'request.required.acks': -1 });
  return new Promise((resolve, reject) => {
    p.once('ready', () => resolve(p));
    p.once('event.error', reject);
    p.connect({}, (err) => { if (err) reject(err); });
  });
}

interface Load { seconds: number; delivered: number; errors: number; firstError: string | null; latency: LatencySummary }

/** Sends `n` records (cycling the pool) to `topic`: at full speed with at most --window unacknowledged, or paced at `rate`/s. */
async function produceLoad(producer: Rd.Producer, rd: typeof Rd, topic: string, pool: Buffer[], n: number, rate = 0): Promise<Load> {
  const sendAt = new Float64Array(n);
  const rec = new LatencyRecorder();
  let sent = 0;
  let delivered = 0;
  let errors = 0;
  let firstError: string | null = null;
  let wake: (() => void) | null = null;
  const onReport = (err: Rd.LibrdKafkaError | null, report: Rd.DeliveryReport) => {
    if (report.topic !== topic) return;
    const i = report.opaque as number;
    if (err) { errors++; firstError ??= String(err); } else rec.record(performance.now() - sendAt[i]!);
    delivered++;
    if (wake && (sent - delivered <= settings.window / 2 || delivered === n)) { const w = wake; wake = null; w(); }
  };
  producer.on('delivery-report', onReport);
  const t0 = performance.now();
  try {
    while (sent < n) {
      const due = rate > 0 ? Math.min(n, Math.floor(((performance.now() - t0) / 1000) * rate) + 1) : n;
      let chunk = 0;
      while (sent < due && sent - delivered < settings.window && chunk < 2000) {
        try {
          sendAt[sent] = performance.now();
          producer.produce(topic, null, pool[sent % pool.length]!, null, null, sent);
        } catch (err) {
          if ((err as { code?: number }).code === rd.CODES.ERRORS.ERR__QUEUE_FULL) break;
          throw err;
        }
        sent++;
        chunk++;
      }
      if (rate > 0) await new Promise((r) => setTimeout(r, 1));
      else if (sent - delivered >= settings.window) await new Promise<void>((r) => { wake = r; setTimeout(r, 20); });
      else await new Promise((r) => setImmediate(r));
    }
    while (delivered < n) await new Promise<void>((r) => { wake = r; setTimeout(r, 20); });
  } finally {
    producer.off('delivery-report', onReport);
  }
  return { seconds: (performance.now() - t0) / 1000, delivered: delivered - errors, errors, firstError, latency: rec.summary() };
}

/** CPU ms of one thread (the main thread's tid is the pid): a saturated JS thread shows here even when the process as a whole is not. */
function threadCpuMs(pid: number, tid = pid): number {
  try {
    const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch { return 0; }
}

/** CPU ms per thread name (comm) of a process: which of the broker's threads did the work. */
function threadsCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try { tids = readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const tid of tids) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const name = tid === String(pid) ? 'main (JS)' : comm === 'node' ? 'unnamed (V8 GC and compiler workers, libuv pool)' : comm;
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK);
    } catch { /* the thread ended */ }
  }
  return out;
}

/** Busy CPU ms of the whole machine (all cores), from /proc/stat. */
function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return ((f.reduce((a, b) => a + b, 0) - idle) * 1000) / CLK_TCK;
}

/** The records in batches of --batch-records (the pool in order), built now: sending them costs the generator nothing per record. */
function prebuiltBatches(pool: Buffer[], n: number): Array<{ bytes: Buffer; count: number }> {
  const out = [];
  for (let at = 0; at < n; at += settings.batchRecords) {
    const count = Math.min(settings.batchRecords, n - at);
    out.push({ bytes: buildRecordBatch(Array.from({ length: count }, (_, i) => ({ value: pool[(at + i) % pool.length]! }))), count });
  }
  return out;
}

/** Sends the prebuilt batches round-robin over the partitions, 5 Produce requests (acks=all) in flight per leader. */
async function produceBatches(bootstrap: string, topic: string, batches: Array<{ bytes: Buffer; count: number }>, passes = 1): Promise<Load> {
  const target = await PerfTarget.open({ bootstrap, topic, clientId: 'schema-bench' });
  const rec = new LatencyRecorder();
  let delivered = 0;
  let errors = 0;
  let firstError: string | null = null;
  try {
    const conns = await Promise.all(target.partitions.map((p) => target.leaderConnection(p)));
    const version = conns[0]!.versionFor(ApiKey.Produce, 9);
    const inFlight = new Map(conns.map((c) => [c, 0]));
    let wake: (() => void) | null = null;
    const pending = new Set<Promise<void>>();
    const t0 = performance.now();
    for (let b = 0; b < batches.length * passes; b++) {
      const i = b % conns.length;
      const conn = conns[i]!;
      while (inFlight.get(conn)! >= 5) await new Promise<void>((r) => { wake = r; });
      const { bytes, count } = batches[b % batches.length]!;
      const sentAt = performance.now();
      inFlight.set(conn, inFlight.get(conn)! + 1);
      const body = { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: target.partitions[i]!.partition, records: bytes }] }] };
      const req: Promise<void> = conn.requestAt<any>(ApiKey.Produce, version, body, true).then((res) => {
        const pr = res.responses[0]?.partitionResponses[0];
        if (!pr || pr.errorCode !== 0) { errors += count; firstError ??= pr ? `${errorName(pr.errorCode)}${pr.errorMessage ? `: ${pr.errorMessage}` : ''}` : 'no partition response'; return; }
        rec.record(performance.now() - sentAt, count);
        delivered += count;
      }, (err: Error) => { errors += count; firstError ??= err.message; }).finally(() => {
        inFlight.set(conn, inFlight.get(conn)! - 1);
        pending.delete(req);
        const w = wake;
        wake = null;
        w?.();
      });
      pending.add(req);
    }
    await Promise.all([...pending]);
    return { seconds: (performance.now() - t0) / 1000, delivered, errors, firstError, latency: rec.summary() };
  } finally {
    target.close();
  }
}

function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

interface Round {
  generator: Generator;
  mode: Mode;
  round: number;
  recordsPerSec: number;
  mbPerSec: number;
  seconds: number;
  errors: number;
  firstError: string | null;
  latency: LatencySummary;
  paced: LatencySummary | null;
  pacedErrors: number;
  /** Shares of one core over the full-speed run: the broker process, its JS thread, the generator process, its JS thread, every other process. */
  brokerCpu: number;
  brokerMainThread: number;
  brokerCpuMsPerMB: number;
  generatorCpu: number;
  generatorMainThread: number;
  generatorEventLoop: number;
  otherProcessesCpu: number;
  /** The broker's threads by name (libuv pool, V8 GC workers, ...), shares of one core. */
  brokerThreads: Record<string, number>;
  rssStartMiB: number;
  rssPeakMiB: number;
  /** Records acknowledged by this round (full-speed and paced). */
  acked: number;
}

/** One topic's full-speed run and paced run, with the broker's CPU and RSS and the generator's CPU over the full-speed run. */
async function runTopic(gen: Generator, rd: typeof Rd, producer: Rd.Producer, bootstrap: string, pid: number, mode: Mode, round: number, pool: Buffer[], batches: Array<{ bytes: Buffer; count: number }>, valueBytesTotal: number): Promise<Round> {
  const topic = topicOf(mode);
  const rssStart = rssKiB(pid);
  let rssPeak = rssStart;
  const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, rssKiB(pid)); }, 100);
  try {
    const b0 = procCpuMs(pid);
    const bt0 = threadCpuMs(pid);
    const bth0 = threadsCpuMs(pid);
    const gt0 = threadCpuMs(process.pid);
    const m0 = machineBusyMs();
    const g0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const w0 = performance.now();
    const load = gen === 'rdkafka' ? await produceLoad(producer, rd, topic, pool, settings.records) : await produceBatches(bootstrap, topic, batches, settings.batchPasses);
    const wallMs = performance.now() - w0;
    const brokerMs = procCpuMs(pid) - b0;
    const brokerThreadMs = threadCpuMs(pid) - bt0;
    const brokerThreads = Object.fromEntries([...threadsCpuMs(pid)].map(([n, ms]) => [n, (ms - (bth0.get(n) ?? 0)) / wallMs] as const)
      .filter(([, share]) => share >= 0.01).sort((a, b) => b[1] - a[1]));
    const genThreadMs = threadCpuMs(process.pid) - gt0;
    const machineMs = machineBusyMs() - m0;
    const g = process.cpuUsage(g0);
    const elu = performance.eventLoopUtilization(elu0);
    const paced = settings.rate > 0 && gen === 'rdkafka' ? await produceLoad(producer, rd, topic, pool, Math.max(1, Math.round(settings.rate * settings.pacedSeconds)), settings.rate) : null;
    const mb = (valueBytesTotal * (gen === 'batches' ? settings.batchPasses : 1)) / MB;
    const r: Round = {
      generator: gen, mode, round, acked: load.delivered + (paced?.delivered ?? 0), recordsPerSec: load.delivered / load.seconds, mbPerSec: mb / load.seconds, seconds: load.seconds,
      errors: load.errors + (paced?.errors ?? 0), firstError: load.firstError ?? paced?.firstError ?? null,
      latency: load.latency, paced: paced?.latency ?? null, pacedErrors: paced?.errors ?? 0,
      brokerCpu: brokerMs / wallMs, brokerMainThread: brokerThreadMs / wallMs, brokerCpuMsPerMB: brokerMs / mb,
      generatorCpu: (g.user + g.system) / 1000 / wallMs, generatorMainThread: genThreadMs / wallMs, generatorEventLoop: elu.utilization,
      otherProcessesCpu: Math.max(0, machineMs - brokerMs - (g.user + g.system) / 1000) / wallMs, brokerThreads,
      rssStartMiB: rssStart / 1024, rssPeakMiB: rssPeak / 1024,
    };
    log(`round ${round} ${gen} ${mode}: ${r.recordsPerSec.toFixed(0)} records/s, ${r.mbPerSec.toFixed(1)} MB/s, p50 ${r.latency.p50Ms.toFixed(1)} ms p99 ${r.latency.p99Ms.toFixed(1)} ms` +
      `${r.paced ? `, paced p50 ${r.paced.p50Ms.toFixed(2)} ms p99 ${r.paced.p99Ms.toFixed(2)} ms` : ''}; broker ${(r.brokerCpu * 100).toFixed(0)}% (JS thread ${(r.brokerMainThread * 100).toFixed(0)}%, ${r.brokerCpuMsPerMB.toFixed(1)} ms/MB), generator ${(r.generatorCpu * 100).toFixed(0)}% (JS thread ${(r.generatorMainThread * 100).toFixed(0)}%), other processes ${(r.otherProcessesCpu * 100).toFixed(0)}%` +
      `${r.errors ? `; ${r.errors} errors, first: ${r.firstError}` : ''}`);
    return r;
  } finally {
    clearInterval(sampler);
  }
}

type Ratio = { recordsPerSec: number; brokerCpuMsPerMB: number; brokerMainThreadMsPerMB: number };
type Ratios = { idVsNone: Ratio; fullVsNone: Ratio };

/** Other processes' CPU (shares of a core) under which a round counts as quiet. */
const QUIET_OTHERS_MAX = 0.25;

/** The median round by records/s among the quiet rounds (other processes nearly idle), or among all if none was quiet. */
function median(rounds: Round[]): Round & { rounds: number; quietRounds: number } {
  const quiet = rounds.filter((r) => r.otherProcessesCpu < QUIET_OTHERS_MAX);
  const sorted = [...(quiet.length > 0 ? quiet : rounds)].sort((a, b) => a.recordsPerSec - b.recordsPerSec);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, rounds: rounds.length, quietRounds: quiet.length };
}

async function main(): Promise<void> {
  const rd = requireNodeModule<typeof Rd>('node-rdkafka');
  const enc = encoding(settings.format);
  const dir = mkdtempSync(join(tmpdir(), 'ferry-schema-bench-'));
  const disk = measureDisk(dir, { syncWrites: 300, sequentialBytes: 32 * MB });
  rmSync(dir, { recursive: true, force: true });
  log(`disk: 4 KiB write+fdatasync p50 ${disk.fsync4k.p50Ms.toFixed(3)} ms p99 ${disk.fsync4k.p99Ms.toFixed(3)} ms`);

  const registryPort = await freePort();
  const metricsPort = await freePort();
  const broker = new BrokerProcess({ config: {
    'schema.registry.listener': `127.0.0.1:${registryPort}`, 'metrics.listener': `127.0.0.1:${metricsPort}`, 'wal.capacity.bytes': String(2 * 1024 * MB),
  } });
  await broker.start(60_000);
  const pid = broker.pid!;
  try {
    const admin = await AdminClient.connect({ bootstrap: [broker.bootstrap], clientId: 'schema-bench' });
    const ids = new Set<number>();
    for (const warmup of [true, false]) {
      for (const mode of MODES) {
        await admin.createTopic(topicOf(mode, warmup), settings.partitions, 1, TOPIC_CONFIGS[mode]);
        ids.add(await register(`http://127.0.0.1:${registryPort}`, `${topicOf(mode, warmup)}-value`, enc));
      }
    }
    // The registry gives one schema one id whichever subject it is registered under: one set of bytes fits every topic.
    if (ids.size !== 1) throw new Error(`the schema got ids ${[...ids].join(', ')} under the topics' subjects; the bench needs one`);
    const schemaId = [...ids][0]!;
    const pool = buildPool(enc, schemaId);
    const poolBytes = pool.reduce((a, v) => a + v.length, 0);
    const avgValueBytes = poolBytes / pool.length;
    const valueBytesTotal = Array.from({ length: settings.records }, (_, i) => pool[i % pool.length]!.length).reduce((a, b) => a + b, 0);
    const validatorNs = validatorNsPerRecord(enc, pool);
    log(`schema id ${schemaId} (${enc.schemaType}), values ${avgValueBytes.toFixed(1)} B on average; validate() alone ${validatorNs.toFixed(0)} ns/record in this process`);

    const producer = await connectProducer(rd, broker.bootstrap);
    producer.setPollInterval(1);
    const batches = settings.generators.includes('batches') ? prebuiltBatches(pool, settings.records) : [];
    const cases = settings.generators.flatMap((g) => MODES.map((m) => ({ g, m, key: `${g}/${m}` })));
    const rounds = new Map<string, Round[]>(cases.map((c) => [c.key, []]));
    let validatedInWarmup = 0;
    try {
      // Warm-up (JIT of both processes, the validators' paths, connections) on other topics of the same configs.
      const warm = Math.min(settings.records, 50_000);
      for (const mode of MODES) {
        for (const w of [
          await produceLoad(producer, rd, topicOf(mode, true), pool, warm),
          ...(batches.length ? [await produceBatches(broker.bootstrap, topicOf(mode, true), batches.slice(0, Math.ceil(warm / settings.batchRecords)))] : []),
        ]) {
          if (w.errors) throw new Error(`warm-up on ${topicOf(mode, true)}: ${w.errors} errors, first: ${w.firstError}`);
          if (mode !== 'none') validatedInWarmup += w.delivered;
        }
      }
      log(`producing ${settings.records} records x ${settings.repeat} rounds x generators ${settings.generators.join(', ')} to each of ${MODES.map((m) => topicOf(m)).join(', ')} ...`);
      for (let r = 0; r < settings.repeat; r++) {
        for (const c of cases) rounds.get(c.key)!.push(await runTopic(c.g, rd, producer, broker.bootstrap, pid, c.m, r, pool, batches, valueBytesTotal));
      }
    } finally {
      await new Promise<void>((r) => producer.disconnect(() => r()));
    }

    // Every acknowledged record is in the log: end offsets against deliveries.
    const offsetCheck: Record<string, { expected: number; endOffsets: number }> = {};
    for (const mode of MODES) {
      const topic = topicOf(mode);
      const parts = await Promise.all(Array.from({ length: settings.partitions }, (_, p) => admin.partitionInfo(topic, p)));
      const ends = await admin.listOffsets(topic, parts, -1n);
      const expected = [...rounds.values()].flat().filter((x) => x.mode === mode).reduce((a, x) => a + x.acked, 0);
      offsetCheck[topic] = { expected, endOffsets: [...ends.values()].reduce((a, b) => a + Number(b), 0) };
    }
    admin.close();
    // The broker's own count of checked records: every record of the id and full topics, none of the other.
    const checked = Object.fromEntries((await MetricsSnapshot.fetch(`http://127.0.0.1:${metricsPort}`)).byLabel('ferry_schema_validation_records_total', 'result'));
    const validationMetric = { byResult: checked, expectedOk: validatedInWarmup + [...rounds.values()].flat().filter((x) => x.mode !== 'none').reduce((a, x) => a + x.acked, 0) };

    const result: Partial<Record<Generator, Record<Mode, Round & { rounds: number; quietRounds: number }>>> = {};
    const ratios: Partial<Record<Generator, Ratios>> = {};
    for (const g of settings.generators) {
      const t = Object.fromEntries(MODES.map((m) => [m, median(rounds.get(`${g}/${m}`)!)])) as Record<Mode, Round & { rounds: number; quietRounds: number }>;
      result[g] = t;
      const vs = (a: Round, b: Round) => ({
        recordsPerSec: a.recordsPerSec / b.recordsPerSec, brokerCpuMsPerMB: a.brokerCpuMsPerMB / b.brokerCpuMsPerMB,
        brokerMainThreadMsPerMB: (a.brokerMainThread / a.mbPerSec) / (b.brokerMainThread / b.mbPerSec),
      });
      ratios[g] = { idVsNone: vs(t.id, t.none), fullVsNone: vs(t.full, t.none) };
    }
    const report = {
      settings: { ...settings, schemaType: enc.schemaType, schemaId, avgValueBytes, acks: 'all', lingerMs: 5 },
      disk, validatorNsPerRecord: validatorNs, topics: result, ratios, offsetCheck, validationMetric, rounds: Object.fromEntries(rounds),
    };
    print(disk, report);
    if (jsonFile) writeFileSync(jsonFile, JSON.stringify(report, null, 2));
    else if (jsonArg) console.log(JSON.stringify(report, null, 2));
  } finally {
    await broker.dispose();
  }
}

function print(disk: DiskReport, r: {
  settings: typeof settings & { schemaType: string; avgValueBytes: number };
  validatorNsPerRecord: number; topics: Partial<Record<Generator, Record<Mode, Round & { rounds: number; quietRounds: number }>>>; ratios: Partial<Record<Generator, Ratios>>;
  offsetCheck: Record<string, { expected: number; endOffsets: number }>;
  validationMetric: { byResult: Record<string, number>; expectedOk: number };
}): void {
  const f = (x: number | undefined | null, d = 1) => (x === undefined || x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const s = r.settings;
  const cores = availableParallelism();
  console.log(`\ndisk (same run): 4 KiB write+fdatasync p50 ${f(disk.fsync4k.p50Ms, 3)} ms, p99 ${f(disk.fsync4k.p99Ms, 3)} ms; sequential ${f(disk.sequential.mbPerSec, 0)} MB/s; ${cores} cores`);
  console.log(`load: ${s.records} ${s.schemaType} values of ${f(s.avgValueBytes, 1)} B on average (4096 distinct, the same bytes on every topic), ${s.partitions} partition(s), acks=all, compression ${s.compression}; ` +
    `each row the median by records/s of the quiet rounds (other processes < ${QUIET_OTHERS_MAX * 100}% of a core; of all ${s.repeat} if none was), rounds interleaved over generators and topics`);
  console.log(`  rdkafka: node-rdkafka at full speed (<= ${s.window} unacknowledged, linger.ms=5, default batch size; p50/p99 from delivery reports, so they include the client's queue), then paced at ${s.rate > 0 ? `${s.rate} records/s for ${s.pacedSeconds} s` : '(off)'} for latency without a queue`);
  console.log(`  batches: prebuilt batches of ${s.batchRecords} records (the same values), sent ${s.batchPasses} times per round, 5 Produce requests in flight per leader (latency per request)`);
  console.log(`validator alone (${s.schemaType} validate(), this process, one core): ${f(r.validatorNsPerRecord / 1000, 2)} us/record`);
  for (const g of s.generators) {
    const topics = r.topics[g]!;
    const ra = r.ratios[g]!;
    console.log(`\ngenerator ${g}`);
    console.log('| validation | records/s | MB/s | vs none | p50 ms | p99 ms | paced p50 ms | paced p99 ms | broker CPU (JS thread) | broker CPU ms/MB | broker JS thread ms/MB | broker RSS start -> peak MiB | generator CPU (JS thread) | other processes CPU | errors | quiet rounds |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const mode of MODES) {
      const t = topics[mode];
      console.log(`| ${mode} | ${f(t.recordsPerSec, 0)} | ${f(t.mbPerSec, 1)} | ${f(t.recordsPerSec / topics.none.recordsPerSec, 2)}x | ${f(t.latency.p50Ms, 1)} | ${f(t.latency.p99Ms, 1)} | ${f(t.paced?.p50Ms, 2)} | ${f(t.paced?.p99Ms, 2)} | ${pct(t.brokerCpu)} (${pct(t.brokerMainThread)}) | ${f(t.brokerCpuMsPerMB, 1)} | ${f((t.brokerMainThread * 1000) / t.mbPerSec, 1)} | ${f(t.rssStartMiB, 0)} -> ${f(t.rssPeakMiB, 0)} | ${pct(t.generatorCpu)} (${pct(t.generatorMainThread)}) | ${pct(t.otherProcessesCpu)} | ${t.errors} | ${t.quietRounds}/${t.rounds} |`);
      if (t.errors) console.log(`  first error: ${t.firstError}`);
    }
    for (const mode of MODES) {
      const t = topics[mode];
      const verdict = t.generatorMainThread >= 0.85 ? 'generator-bound (its JS thread was busy)'
        : t.brokerMainThread >= 0.85 ? 'broker-bound (its JS thread was busy)'
        : t.brokerCpu + t.generatorCpu + t.otherProcessesCpu >= cores * 0.85 ? 'machine-bound (all cores busy, other processes included)'
        : 'no single thread saturated (acks=all round trips; the broker\'s JS thread and its helper threads hand work to each other)';
      console.log(`  ${mode}: broker JS thread ${pct(t.brokerMainThread)}, generator JS thread ${pct(t.generatorMainThread)}, other processes ${pct(t.otherProcessesCpu)} -> ${verdict}; broker JS thread limit ~${f(t.mbPerSec / t.brokerMainThread, 0)} MB/s`);
      console.log(`    broker threads: ${Object.entries(t.brokerThreads).map(([n, x]) => `${n} ${pct(x)}`).join(', ')}`);
    }
    const line = (x: Ratio) => `${f(x.recordsPerSec, 3)} records/s, ${f(x.brokerCpuMsPerMB, 3)} broker CPU per MB, ${f(x.brokerMainThreadMsPerMB, 3)} broker JS thread per MB`;
    console.log(`  ratios: id/none ${line(ra.idVsNone)}; full/none ${line(ra.fullVsNone)}`);
  }
  const vm = r.validationMetric;
  console.log(`\nferry_schema_validation_records_total: ${JSON.stringify(vm.byResult)}; records sent to the id and full topics (warm-up included): ${vm.expectedOk}${(vm.byResult.ok ?? 0) === vm.expectedOk ? ' (equal)' : ' (DIFFERENT)'}`);
  const bad = Object.entries(r.offsetCheck).filter(([, c]) => c.expected !== c.endOffsets);
  console.log(bad.length === 0 ? 'offsets: every acknowledged record is in its topic (end offsets = deliveries)' : `offsets MISMATCH: ${JSON.stringify(Object.fromEntries(bad))}`);
}

main().catch((err) => { console.error(err); process.exit(1); });
