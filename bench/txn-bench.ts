// npm run bench:txn [-- --seconds=15 --size=1024 --partitions=8 --repeat=1 --rate=2000]
//
// A transactional producer against the same producer without transactions, in one run on one
// broker: confluent-kafka-python (librdkafka) at full speed, idempotent acks=all, 1 KiB records;
// transactional with a commit every 100 ms and every 1,000 records; each at full speed and paced at
// --rate records/s (latency without the client's own queue filling up). Reports records/s, MB/s,
// per-record delivery latency p50/p99, commit latency p50/p99, and the CPU of the generator and
// the broker (a generator near 100% of a core is the bottleneck, not the broker). The disk's own
// limit (4 KiB write+fdatasync) is measured in the same run, for ratios.
import { procCpuMs } from './proc-cpu.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureDisk } from '../src/perf/disk.js';
import { AdminClient } from '../src/admin/admin-client.js';

const ROOT = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const log = (msg: string) => process.stderr.write(`txn-bench: ${msg}\n`);


async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const a = s.address(); s.close(() => resolve(typeof a === 'object' && a ? a.port : 0)); });
    s.on('error', reject);
  });
}

interface Load {
  mode: string; rate: number; records: number; sent: number; errors: string[]; bytes: number; seconds: number;
  p50Ms: number | null; p99Ms: number | null; commits: number; commitP50Ms: number | null; commitP99Ms: number | null; cpuSeconds: number;
}

function runLoad(bootstrap: string, topic: string, mode: string, seconds: number, size: number, rate: number): Promise<Load> {
  return new Promise((resolve, reject) => {
    const py = spawn('/usr/bin/python3', [join(ROOT, 'bench/txn_bench.py'), bootstrap, topic, mode, String(seconds), String(size), String(rate)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    py.stdout.on('data', (d) => { out += d; });
    py.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) { reject(new Error(`${mode}: python exited ${code}: ${out.slice(0, 500)}`)); return; }
      resolve(JSON.parse(line) as Load);
    });
  });
}

async function main(): Promise<void> {
  const seconds = Number(opt('seconds', '15'));
  const size = Number(opt('size', '1024'));
  const partitions = Number(opt('partitions', '8'));
  const repeat = Number(opt('repeat', '1'));
  const rate = Number(opt('rate', '2000'));
  log('building (tsc -b) ...');
  const b = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: ROOT, encoding: 'utf8' });
  if (b.status !== 0) throw new Error(`tsc -b failed:\n${b.stdout}${b.stderr}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-txn-bench-'));
  const port = await freePort();
  const disk = measureDisk(dataDir, { syncWrites: 500, sequentialBytes: 64 * 1024 * 1024 });
  log(`disk: 4 KiB write+fdatasync p50 ${disk.fsync4k.p50Ms.toFixed(3)} ms p99 ${disk.fsync4k.p99Ms.toFixed(3)} ms`);
  const broker: ChildProcess = spawn(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'broker', `--listeners=PLAINTEXT://127.0.0.1:${port}`,
    `--data.dir=${dataDir}`, '--wal.capacity.bytes=2GiB', '--log.level=warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const bootstrap = `127.0.0.1:${port}`;
  try {
    let admin: AdminClient | null = null;
    for (let i = 0; i < 100 && !admin; i++) {
      try { admin = await AdminClient.connect({ bootstrap: [bootstrap] }); } catch { await new Promise((r) => setTimeout(r, 200)); }
    }
    if (!admin) throw new Error('broker did not start');
    const modes = ['plain', 'txn-ms-100', 'txn-n-1000'];
    const rows: (Load & { brokerCpu: number; genCpu: number })[] = [];
    for (let r = 0; r < repeat; r++) {
      for (const pace of [0, rate]) {
        for (const mode of modes) {
          const topic = `bench-${mode}-${pace}-${r}`;
          await admin.createTopic(topic, partitions, 1);
          const cpu0 = procCpuMs(broker.pid!);
          const t0 = performance.now();
          const load = await runLoad(bootstrap, topic, mode, seconds, size, pace);
          const wall = (performance.now() - t0) / 1000;
          rows.push({ ...load, brokerCpu: (procCpuMs(broker.pid!) - cpu0) / 1000 / wall, genCpu: load.cpuSeconds / wall });
          log(`${mode} ${pace ? `at ${pace}/s` : 'full speed'}: ${(load.records / load.seconds).toFixed(0)} records/s, p99 ${load.p99Ms?.toFixed(1)} ms`);
        }
      }
    }
    admin.close();
    const f = (x: number | null, d = 1) => (x === null ? '-' : x.toFixed(d));
    const baseOf = (x: Load) => rows.find((y) => y.mode === 'plain' && y.rate === x.rate)!;
    console.log(`disk (same run): 4 KiB write+fdatasync p50 ${disk.fsync4k.p50Ms.toFixed(3)} ms, p99 ${disk.fsync4k.p99Ms.toFixed(3)} ms; ${partitions} partitions, ${size} B records, ${seconds} s each, confluent-kafka-python ${'(librdkafka)'}`);
    console.log('| producer | pace | records/s | MB/s | vs plain | p50 ms | p99 ms | commits | commit p50 ms | commit p99 ms | gen CPU | broker CPU |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const x of rows) {
      const rps = x.records / x.seconds;
      const base = baseOf(x);
      console.log(`| ${x.mode} | ${x.rate ? `${x.rate}/s` : 'full'} | ${rps.toFixed(0)} | ${(x.bytes / x.seconds / 1e6).toFixed(1)} | ${(rps / (base.records / base.seconds)).toFixed(2)}x | ${f(x.p50Ms, 2)} | ${f(x.p99Ms)} | ${x.commits} | ${f(x.commitP50Ms, 2)} | ${f(x.commitP99Ms)} | ${(x.genCpu * 100).toFixed(0)}% | ${(x.brokerCpu * 100).toFixed(0)}% |`);
      if (x.errors.length) console.log(`  errors: ${x.errors.join('; ')}`);
    }
  } finally {
    broker.kill('SIGTERM');
    await new Promise((r) => broker.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
