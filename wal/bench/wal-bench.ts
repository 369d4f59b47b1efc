// WAL benchmark (not a test). Prints, on the same path and in the same run:
//   raw limits: 4 KiB write + fdatasync loop (p50/p99), sequential 1 MiB write + fdatasync (MB/s);
//   the WAL: append latency p50/p99 and MB/s with 1, 16 and 256 concurrent appenders of 1 KiB and 16 KiB.
// Usage: npm run bench:wal -- [--path <file or block device>] [--seconds <per scenario>] [--capacity-mib <n>]
// A block device path is overwritten. A file path is created (and deleted afterwards).
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openWal, type Wal } from '@ferry/wal';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const seconds = Number(arg('seconds', '3'));
const capacityBytes = Number(arg('capacity-mib', '512')) * 1024 * 1024;
const givenPath = arg('path', '');
const benchDir = givenPath ? '' : fs.mkdtempSync(join(tmpdir(), 'ferry-wal-bench-'));
const walPath = givenPath || join(benchDir, 'bench.wal');
const isDevice = fs.existsSync(walPath) && fs.statSync(walPath).isBlockDevice();

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function fsyncAsync(fd: number): Promise<void> {
  return new Promise((res, rej) => fs.fdatasync(fd, (e) => (e ? rej(e) : res())));
}

function writeAsync(fd: number, buf: Buffer, pos: number): Promise<void> {
  return new Promise((res, rej) => fs.write(fd, buf, 0, buf.length, pos, (e) => (e ? rej(e) : res())));
}

/** The raw limits, through the same Node fs calls the WAL uses, on the same file or device. */
async function rawLimits(path: string): Promise<{ p50Ms: number; p99Ms: number; seqMBps: number }> {
  const spanBytes = Math.min(capacityBytes, 256 * 1024 * 1024);
  if (!isDevice) {
    const fd = fs.openSync(path, 'w');
    const zeros = Buffer.alloc(1024 * 1024);
    for (let p = 0; p < spanBytes; p += zeros.length) fs.writeSync(fd, zeros, 0, zeros.length, p);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
  const fd = fs.openSync(path, 'r+');
  const block = Buffer.alloc(4096, 0xab);
  const lat: number[] = [];
  let pos = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    await writeAsync(fd, block, pos);
    await fsyncAsync(fd);
    lat.push(performance.now() - t0);
    pos = (pos + 4096) % spanBytes;
  }
  const sorted = Float64Array.from(lat).sort();
  const mib = Buffer.alloc(1024 * 1024, 0xcd);
  let bytes = 0;
  pos = 0;
  const t1 = performance.now();
  const end2 = t1 + seconds * 1000;
  while (performance.now() < end2) {
    await writeAsync(fd, mib, pos);
    await fsyncAsync(fd);
    bytes += mib.length;
    pos = (pos + mib.length) % spanBytes;
  }
  const seqMBps = bytes / 1e6 / ((performance.now() - t1) / 1000);
  fs.closeSync(fd);
  if (!isDevice) fs.rmSync(path);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), seqMBps };
}

interface Scenario { appenders: number; bodyBytes: number }
interface Result extends Scenario { p50Ms: number; p99Ms: number; MBps: number; appendsPerSec: number; recordsPerFsync: number }

async function walScenario(wal: Wal, s: Scenario, groups: { records: number; commits: number }): Promise<Result> {
  const body = Buffer.alloc(s.bodyBytes, 0x5a);
  const lat: number[] = [];
  let bytes = 0;
  groups.records = 0;
  groups.commits = 0;
  let stop = false;
  const acked: bigint[] = [];
  // Stands in for the uploader: keeps the ring at most half full.
  const trimmer = (async () => {
    while (!stop) {
      await new Promise((r) => setTimeout(r, 20));
      if (wal.usedBytes > wal.ringBytes / 2 && acked.length > 0) await wal.trim(acked[acked.length - 1]!);
    }
  })();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: s.appenders }, async () => {
    while (performance.now() < deadline) {
      const a = performance.now();
      const off = await wal.append(body);
      lat.push(performance.now() - a);
      bytes += body.length;
      if (acked.length > 1000) acked.splice(0, 500);
      acked.push(off);
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  stop = true;
  await trimmer;
  await wal.trim(wal.nextOffset);
  const sorted = Float64Array.from(lat).sort();
  return {
    ...s, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), MBps: bytes / 1e6 / elapsed,
    appendsPerSec: lat.length / elapsed, recordsPerFsync: groups.records / Math.max(1, groups.commits),
  };
}

async function main(): Promise<void> {
  console.log(`ferry WAL benchmark: ${isDevice ? 'block device' : 'file'} ${walPath}, ${seconds} s per scenario, `
    + `capacity ${capacityBytes / 1024 / 1024} MiB, node ${process.version}`);
  const rawPath = isDevice ? walPath : join(benchDir, 'raw.bin');
  const raw = await rawLimits(rawPath);
  if (isDevice) {
    // The raw run overwrote the device; zero the header so the WAL formats it afresh.
    const fd = fs.openSync(walPath, 'r+');
    fs.writeSync(fd, Buffer.alloc(8192), 0, 8192, 0);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
  const groups = { records: 0, commits: 0 };
  const wal = await openWal(walPath, {
    nodeId: 'bench', epoch: 1, capacityBytes, recordBytesMax: 1024 * 1024, appendTimeoutMs: 30_000,
    metrics: { onAppend: (records) => { groups.records += records; groups.commits++; } },
  });
  await wal.recover();
  const results: Result[] = [];
  for (const bodyBytes of [1024, 16 * 1024]) {
    for (const appenders of [1, 16, 256]) results.push(await walScenario(wal, { appenders, bodyBytes }, groups));
  }
  await wal.close();
  // The disk is noisy: measure the raw latency again after the WAL runs and compare with the lower.
  const rawAfter = await rawLimits(rawPath);
  if (!isDevice) fs.rmSync(benchDir, { recursive: true, force: true });
  const rawP50Ms = Math.min(raw.p50Ms, rawAfter.p50Ms);
  const rawSeqMBps = Math.max(raw.seqMBps, rawAfter.seqMBps);

  const f = (n: number, d = 3) => n.toFixed(d);
  console.log('\nraw limit (same path, same run)');
  console.log('                                         before WAL runs          after WAL runs');
  console.log(`  4 KiB write + fdatasync loop:          p50 ${f(raw.p50Ms)} p99 ${f(raw.p99Ms)} ms   `
    + `p50 ${f(rawAfter.p50Ms)} p99 ${f(rawAfter.p99Ms)} ms`);
  console.log(`  sequential 1 MiB write + fdatasync:    ${f(raw.seqMBps, 1)} MB/s              ${f(rawAfter.seqMBps, 1)} MB/s`);
  console.log('\nWAL append');
  console.log('  appenders | body   | p50 ms | p99 ms  | MB/s    | appends/s | records/fsync');
  console.log('  ----------|--------|--------|---------|---------|-----------|--------------');
  for (const r of results) {
    console.log(`  ${String(r.appenders).padStart(9)} | ${(r.bodyBytes / 1024 + ' KiB').padEnd(6)} | ${f(r.p50Ms).padStart(6)} | `
      + `${f(r.p99Ms).padStart(7)} | ${f(r.MBps, 1).padStart(7)} | ${f(r.appendsPerSec, 0).padStart(9)} | ${f(r.recordsPerFsync, 1).padStart(12)}`);
  }
  const one = results.find((r) => r.appenders === 1 && r.bodyBytes === 1024)!;
  const big = results.find((r) => r.appenders === 256 && r.bodyBytes === 16 * 1024)!;
  // Conservative: the lower raw latency and the higher raw throughput of the two raw runs.
  const latRatio = one.p50Ms / rawP50Ms;
  const tputRatio = big.MBps / rawSeqMBps;
  console.log('\ntargets');
  console.log(`  1 appender p50 / raw fdatasync p50 = ${f(latRatio, 2)}x (target <= 1.2x): ${latRatio <= 1.2 ? 'met' : 'NOT met'}`);
  console.log(`  256 x 16 KiB MB/s / raw sequential MB/s = ${f(tputRatio * 100, 0)}% (target >= 70%): ${tputRatio >= 0.7 ? 'met' : 'NOT met'}`);
}

await main();
