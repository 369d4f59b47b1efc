// npm run bench:compaction [-- --keys=10000 --updates=1000000 --value-bytes=100 --partitions=4 --rate=25000
//                              --io-max-bytes-per-sec=10000000000 --settle-sec=90 --store=fs|s3 --json[=FILE]]
//
// The log cleaner's numbers, in one run on this machine (not a test). Two brokers in turn, the
// same load on each: --updates records over --keys keys (uniformly random, --value-bytes values)
// produced by node-rdkafka (librdkafka) paced at --rate records/s, acks=all, to a compacted topic
// (cleanup.policy=compact, segment.ms=2000, Kafka's min.cleanable.dirty.ratio 0.5):
//   1. log.cleaner.enable=false: produce latency p50/p99, the broker's CPU and RSS;
//   2. log.cleaner.enable=true: the same while passes run (and the latency of records sent while a
//      pass was running), then until no pass came for 5 s;
// and reports:
//   - cleaner throughput: ferry_cleaner_bytes_cleaned_total / time spent in passes (the `ms` of the
//     broker's "cleaned partition" lines; passes run one at a time; a pass that lost its race is
//     counted but not timed: it logs no duration), and bytes read / s;
//   - object store bytes the cleaner wrote per cleaned byte and per produced byte, and the store's
//     bytes written per produced byte with the cleaner off and on (write amplification);
//   - records left of those produced, RSS peak of the broker, CPU of the broker and the generator;
//   - the disk's 4 KiB write+fdatasync latency, same run (src/perf/disk.ts).
// Upload, compaction and cleaner intervals are shortened (1 s) so a run takes minutes; the
// cleaner's I/O limit is set high by default to measure its own speed (--io-max-bytes-per-sec to
// see the limiter; the broker's default is 50 MiB/s). --store=s3 runs against Ceph's radosgw on
// loopback (as bench:tier) instead of the fs object store.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Rd from 'node-rdkafka';
import { procCpuMs } from './proc-cpu.js';
import { measureDisk, type DiskReport } from '../src/perf/disk.js';
import { LatencyRecorder, type LatencySummary } from '../src/perf/latency.js';
import { AdminClient } from '../src/admin/admin-client.js';
import { MetricsSnapshot } from '../src/admin/prom-text.js';
import { BrokerProcess } from '../test/helpers/broker-process.js';
import { freePort } from '../test/helpers/ports.js';
import { requireNodeModule } from '../test/helpers/require-tool.js';
import { startRadosgw, type Radosgw } from '../test/helpers/radosgw.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const log = (msg: string) => process.stderr.write(`compaction-bench: ${msg}\n`);
const MB = 1024 * 1024;
const TOPIC = 'compaction-bench';

const settings = {
  keys: Number(opt('keys', '10000')),
  updates: Number(opt('updates', '1000000')),
  valueBytes: Number(opt('value-bytes', '100')),
  partitions: Number(opt('partitions', '4')),
  rate: Number(opt('rate', '25000')),
  ioMaxBytesPerSec: Number(opt('io-max-bytes-per-sec', '10000000000')),
  settleSec: Number(opt('settle-sec', '90')),
  store: opt('store', 'fs') as 'fs' | 's3',
};
const jsonArg = argv.find((a) => a === '--json' || a.startsWith('--json='));
const jsonFile = jsonArg?.startsWith('--json=') ? jsonArg.slice(7) : null;

interface Pass { partition: number; endMs: number; ms: number; bytesRead: number; bytesWritten: number; recordsIn: number; recordsOut: number }

interface PhaseResult {
  cleanerEnabled: boolean;
  produce: { seconds: number; recordsPerSec: number; errors: number; firstError: string | null; latency: LatencySummary; latencyDuringPasses: LatencySummary | null };
  brokerCpu: number;
  generatorCpu: number;
  rssPeakMiB: number;
  rssEndMiB: number;
  producedBytes: number;
  storeBytesWritten: number;
  storePuts: number;
  cleaner?: {
    passes: number; passesLostRace: number; passesFailed: number; passSeconds: number; settleSeconds: number;
    bytesRead: number; bytesWritten: number; bytesCleaned: number; recordsRemoved: Record<string, number>; recordsLeft: number;
    cleanedMBps: number; readMBps: number; busyDuringProduce: number;
  };
}

/** One record's key: `key-<n>`, n uniformly random in [0, keys) (xorshift, fixed seed: the same load in both phases). */
function keyStream(keys: number): () => Buffer {
  let x = 0x9e3779b9;
  const names = Array.from({ length: keys }, (_, i) => Buffer.from(`key-${String(i).padStart(8, '0')}`));
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return names[x % keys]!;
  };
}

function rssKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

function passesIn(logs: string): Pass[] {
  const out: Pass[] = [];
  for (const line of logs.split('\n')) {
    if (!line.includes('"msg":"cleaned partition"')) continue;
    const j = JSON.parse(line);
    if (j.topic !== TOPIC) continue;
    out.push({ partition: j.partition, endMs: typeof j.time === 'number' ? j.time : Date.parse(j.time), ms: j.ms, bytesRead: j.bytesRead, bytesWritten: j.bytesWritten, recordsIn: j.recordsIn, recordsOut: j.recordsOut });
  }
  return out;
}

function connectProducer(rd: typeof Rd, bootstrap: string): Promise<Rd.Producer> {
  const p = new rd.Producer({
    'metadata.broker.list': bootstrap, 'dr_cb': true, 'linger.ms': 5, 'enable.idempotence': false,
    'queue.buffering.max.messages': 1_000_000, 'queue.buffering.max.kbytes': 1_048_576, 'batch.num.messages': 10_000, 'compression.codec': 'none',
  }, { 'request.required.acks': -1 });
  return new Promise((resolve, reject) => {
    p.once('ready', () => resolve(p));
    p.once('event.error', reject);
    p.connect({}, (err) => { if (err) reject(err); });
  });
}

/** Produces the load paced at settings.rate; resolves once every record is acknowledged (or failed). */
async function produceLoad(rd: typeof Rd, bootstrap: string, topic: string, updates: number): Promise<{ seconds: number; errors: number; firstError: string | null; sendWallMs: Float64Array; latencyMs: Float32Array }> {
  const { rate, valueBytes, keys } = settings;
  const producer = await connectProducer(rd, bootstrap);
  producer.setPollInterval(1);
  const nextKey = keyStream(keys);
  const pool = Buffer.alloc(valueBytes + 4096);
  for (let i = 0; i < pool.length; i++) pool[i] = (i * 131 + 7) & 0xff;
  const sendWallMs = new Float64Array(updates);
  const sendAt = new Float64Array(updates);
  const latencyMs = new Float32Array(updates).fill(-1);
  let delivered = 0;
  let errors = 0;
  let firstError: string | null = null;
  let allDelivered!: () => void;
  const done = new Promise<void>((r) => { allDelivered = r; });
  producer.on('delivery-report', (err, report) => {
    const i = report.opaque as number;
    if (err) { errors++; firstError ??= String(err); } else latencyMs[i] = performance.now() - sendAt[i]!;
    if (++delivered === updates) allDelivered();
  });
  const t0 = performance.now();
  let sent = 0;
  while (sent < updates) {
    const due = Math.min(updates, Math.floor(((performance.now() - t0) / 1000) * rate));
    while (sent < due) {
      const off = (sent * 61) % 4096;
      try {
        sendAt[sent] = performance.now();
        sendWallMs[sent] = Date.now();
        producer.produce(topic, null, pool.subarray(off, off + valueBytes), nextKey(), null, sent);
        sent++;
      } catch (err) {
        if ((err as { code?: number }).code === rd.CODES.ERRORS.ERR__QUEUE_FULL) break;
        throw err;
      }
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await done;
  const seconds = (performance.now() - t0) / 1000;
  await new Promise<void>((r) => producer.disconnect(() => r()));
  return { seconds, errors, firstError, sendWallMs, latencyMs };
}

/** Writes to another topic every 200 ms: compaction splits the last upload only once a newer one exists. */
function startTicker(rd: typeof Rd, bootstrap: string): () => Promise<void> {
  let running = true;
  const loop = (async () => {
    const p = await connectProducer(rd, bootstrap);
    p.setPollInterval(50);
    while (running) {
      p.produce(`${TOPIC}-tick`, null, Buffer.from('tick'), null, null);
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise<void>((r) => p.disconnect(() => r()));
  })();
  return async () => { running = false; await loop; };
}

async function runPhase(rd: typeof Rd, cleaner: boolean, rgw: Radosgw | null): Promise<PhaseResult> {
  const metricsPort = await freePort();
  const bucket = `bench-${cleaner ? 'on' : 'off'}-${Date.now()}`;
  if (rgw) await rgw.createBucket(bucket);
  const broker = new BrokerProcess({
    config: {
      'metrics.listener': `127.0.0.1:${metricsPort}`, 'wal.capacity.bytes': String(1 << 30),
      'upload.interval.ms': '1000', 'compaction.interval.ms': '1000', 'object.gc.grace.ms': '10000',
      'log.cleaner.enable': String(cleaner), 'log.cleaner.backoff.ms': '1000', 'log.cleaner.io.max.bytes.per.second': String(settings.ioMaxBytesPerSec),
      ...(rgw ? {
        'object.store': 's3', 's3.bucket': bucket, 's3.endpoint': rgw.endpoint, 's3.region': rgw.region, 's3.force.path.style': 'true',
        's3.access.key.id': rgw.accessKeyId, 's3.secret.access.key': rgw.secretAccessKey,
      } : {}),
    },
  });
  await broker.start();
  const pid = broker.pid!;
  const scrape = () => MetricsSnapshot.fetch(`http://127.0.0.1:${metricsPort}`);
  let rssPeak = 0;
  const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, rssKiB(pid, 'VmRSS')); }, 200);
  try {
    const admin = await AdminClient.connect({ bootstrap: [broker.bootstrap], clientId: 'compaction-bench' });
    await admin.createTopic(TOPIC, settings.partitions, 1, { 'cleanup.policy': 'compact', 'segment.ms': '2000', 'min.cleanable.dirty.ratio': '0.5' });
    await admin.createTopic(`${TOPIC}-tick`, 1, 1);
    await admin.createTopic(`${TOPIC}-warmup`, settings.partitions, 1);
    admin.close();
    // Warm-up (JIT, connections) on another topic, so the first phase is not the slower for it.
    await produceLoad(rd, broker.bootstrap, `${TOPIC}-warmup`, Math.min(settings.updates, settings.rate * 3));
    log(`cleaner ${cleaner ? 'on' : 'off'}: producing ${settings.updates} records over ${settings.keys} keys at ${settings.rate}/s ...`);
    const cpu0 = procCpuMs(pid);
    const self0 = process.cpuUsage();
    const w0 = performance.now();
    const load = await produceLoad(rd, broker.bootstrap, TOPIC, settings.updates);
    const produceWallMs = performance.now() - w0;
    const brokerCpu = (procCpuMs(pid) - cpu0) / produceWallMs;
    const selfCpu = process.cpuUsage(self0);
    const generatorCpu = (selfCpu.user + selfCpu.system) / 1000 / produceWallMs;
    const produceEndWall = Date.now();
    const produceStartWall = produceEndWall - produceWallMs;

    let settleSeconds = 0;
    if (cleaner) {
      // Until no pass came for 5 s (the tail needs later uploads: a ticker writes elsewhere).
      log('waiting for the cleaner to catch up ...');
      const stopTicker = startTicker(rd, broker.bootstrap);
      const s0 = performance.now();
      let lastCount = -1;
      let quietSince = performance.now();
      while ((performance.now() - s0) / 1000 < settings.settleSec) {
        await new Promise((r) => setTimeout(r, 500));
        const n = passesIn(broker.logs).length;
        if (n !== lastCount) { lastCount = n; quietSince = performance.now(); }
        if (performance.now() - quietSince >= 5000) break;
      }
      settleSeconds = (quietSince - s0) / 1000;
      await stopTicker();
    } else {
      await new Promise((r) => setTimeout(r, 2500)); // the last upload
    }
    const m = await scrape();
    const rssEnd = rssKiB(pid, 'VmRSS');
    rssPeak = Math.max(rssPeak, rssKiB(pid, 'VmHWM'));

    const all = new LatencyRecorder();
    const duringPasses = new LatencyRecorder();
    const passes = passesIn(broker.logs);
    const intervals = passes.map((p) => [p.endMs - p.ms, p.endMs] as const).sort((a, b) => a[0] - b[0]);
    let j = 0;
    for (let i = 0; i < load.latencyMs.length; i++) {
      const lat = load.latencyMs[i]!;
      if (lat < 0) continue;
      all.record(lat);
      const at = load.sendWallMs[i]!;
      while (j < intervals.length && intervals[j]![1] < at) j++;
      if (j < intervals.length && intervals[j]![0] <= at) duringPasses.record(lat);
    }
    const producedBytes = m.sum('ferry_produced_bytes_total', { topic: TOPIC });
    const result: PhaseResult = {
      cleanerEnabled: cleaner,
      produce: {
        seconds: load.seconds, recordsPerSec: settings.updates / load.seconds, errors: load.errors, firstError: load.firstError,
        latency: all.summary(), latencyDuringPasses: cleaner ? duringPasses.summary() : null,
      },
      brokerCpu, generatorCpu, rssPeakMiB: rssPeak / 1024, rssEndMiB: rssEnd / 1024,
      producedBytes, storeBytesWritten: m.sum('ferry_s3_bytes_total', { direction: 'out' }), storePuts: m.sum('ferry_s3_requests_total', { operation: 'put' }),
    };
    if (cleaner) {
      const passMs = passes.reduce((n, p) => n + p.ms, 0);
      const busyMs = intervals.reduce((n, [a, b]) => n + Math.max(0, Math.min(b, produceEndWall) - Math.max(a, produceStartWall)), 0);
      const bytesCleaned = m.sum('ferry_cleaner_bytes_cleaned_total');
      const bytesRead = m.sum('ferry_cleaner_bytes_read_total');
      const removed = Object.fromEntries(m.byLabel('ferry_cleaner_records_removed_total', 'reason'));
      result.cleaner = {
        passes: m.sum('ferry_cleaner_passes_total', { result: 'done' }), passesLostRace: m.sum('ferry_cleaner_passes_total', { result: 'lost_race' }),
        passesFailed: m.sum('ferry_cleaner_passes_total', { result: 'failed' }), passSeconds: passMs / 1000, settleSeconds,
        bytesRead, bytesWritten: m.sum('ferry_cleaner_bytes_written_total'), bytesCleaned, recordsRemoved: removed,
        recordsLeft: settings.updates - Object.values(removed).reduce((a, b) => a + b, 0),
        cleanedMBps: passMs ? bytesCleaned / MB / (passMs / 1000) : 0, readMBps: passMs ? bytesRead / MB / (passMs / 1000) : 0,
        busyDuringProduce: busyMs / produceWallMs,
      };
    }
    return result;
  } finally {
    clearInterval(sampler);
    await broker.dispose();
  }
}

function print(disk: DiskReport, off: PhaseResult, on: PhaseResult): void {
  const f = (x: number | undefined | null, d = 1) => (x === undefined || x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const c = on.cleaner!;
  console.log(`\ndisk (same run): 4 KiB write+fdatasync p50 ${f(disk.fsync4k.p50Ms, 3)} ms, p99 ${f(disk.fsync4k.p99Ms, 3)} ms; sequential ${f(disk.sequential.mbPerSec, 0)} MB/s`);
  console.log(`load: ${settings.updates} records over ${settings.keys} keys (uniform), ${settings.valueBytes} B values, ${settings.partitions} partitions, node-rdkafka paced at ${settings.rate}/s, acks=all; object store ${settings.store}; cleaner I/O limit ${settings.ioMaxBytesPerSec >= 1e9 ? 'off' : `${f(settings.ioMaxBytesPerSec / MB, 0)} MiB/s`}`);
  console.log('\n| cleaner | records/s | p50 ms | p99 ms | p99.9 ms | p50 / p99 ms while a pass ran | broker CPU | generator CPU | RSS peak MiB | store bytes written / produced |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of [off, on]) {
    const d = r.produce.latencyDuringPasses;
    console.log(`| ${r.cleanerEnabled ? 'on' : 'off'} | ${f(r.produce.recordsPerSec, 0)} | ${f(r.produce.latency.p50Ms, 2)} | ${f(r.produce.latency.p99Ms, 2)} | ${f(r.produce.latency.p999Ms, 2)} | ${d ? `${f(d.p50Ms, 2)} / ${f(d.p99Ms, 2)} (${d.count} records)` : '-'} | ${pct(r.brokerCpu)} | ${pct(r.generatorCpu)} | ${f(r.rssPeakMiB, 0)} | ${f(r.storeBytesWritten / r.producedBytes, 2)} |`);
    if (r.produce.errors) console.log(`  ${r.produce.errors} produce errors (first: ${r.produce.firstError})`);
  }
  console.log('\n| cleaner | passes (lost race, failed) | time in passes s | busy while producing | cleaned MB/s in passes | read MB/s in passes | cleaned MiB | written MiB | written / cleaned | written / produced | records left | catch-up after produce s |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  console.log(`| on | ${c.passes} (${c.passesLostRace}, ${c.passesFailed}) | ${f(c.passSeconds, 1)} | ${pct(c.busyDuringProduce)} | ${f(c.cleanedMBps, 1)} | ${f(c.readMBps, 1)} | ${f(c.bytesCleaned / MB, 1)} | ${f(c.bytesWritten / MB, 1)} | ${f(c.bytesWritten / c.bytesCleaned, 3)} | ${f(c.bytesWritten / on.producedBytes, 3)} | ${c.recordsLeft} of ${settings.updates} | ${f(c.settleSeconds, 1)} |`);
  console.log(`records removed: ${JSON.stringify(c.recordsRemoved)}`);
}

async function main(): Promise<void> {
  const rd = requireNodeModule<typeof Rd>('node-rdkafka');
  const dir = mkdtempSync(join(tmpdir(), 'ferry-compaction-bench-'));
  const disk = measureDisk(dir, { syncWrites: 500, sequentialBytes: 64 * MB });
  rmSync(dir, { recursive: true, force: true });
  log(`disk: 4 KiB write+fdatasync p50 ${disk.fsync4k.p50Ms.toFixed(3)} ms p99 ${disk.fsync4k.p99Ms.toFixed(3)} ms`);
  const rgw = settings.store === 's3' ? await startRadosgw() : null;
  try {
    const off = await runPhase(rd, false, rgw);
    const on = await runPhase(rd, true, rgw);
    print(disk, off, on);
    const report = { settings, disk, cleanerOff: off, cleanerOn: on };
    if (jsonFile) writeFileSync(jsonFile, JSON.stringify(report, null, 2));
    else if (jsonArg) console.log(JSON.stringify(report, null, 2));
  } finally {
    await rgw?.stop();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
