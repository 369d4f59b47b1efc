/**
 * `ferry perf disk PATH`: the machine's limit for a WAL on PATH's filesystem, measured the way the
 * WAL writes: 4 KiB write + fdatasync latency (each write at the next 4 KiB of a preallocated
 * file), and sequential MB/s writing 1 MiB chunks with an fdatasync after each. A temporary file
 * in PATH is removed afterwards.
 */
import { closeSync, fdatasyncSync, openSync, rmSync, statSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UsageError } from '../admin/errors.js';

export interface DiskReport {
  path: string;
  fsync4k: { count: number; p50Ms: number; p99Ms: number; avgMs: number; maxMs: number };
  sequential: { bytes: number; seconds: number; mbPerSec: number; chunkBytes: number };
}

export interface DiskOptions {
  /** 4 KiB write+fdatasync samples (default 1000). */
  syncWrites?: number;
  /** Bytes for the sequential test (default 256 MiB), cut short after sequentialMsMax. */
  sequentialBytes?: number;
  sequentialMsMax?: number;
}

const MB = 1024 * 1024;

export function measureDisk(path: string, opts: DiskOptions = {}): DiskReport {
  let isDir = false;
  try { isDir = statSync(path).isDirectory(); } catch (err) { throw new UsageError(`perf disk: ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); }
  if (!isDir) throw new UsageError(`perf disk: ${path} is not a directory`);
  const file = join(path, `.ferry-disk-test-${process.pid}-${Date.now()}`);
  const syncWrites = opts.syncWrites ?? 1000;
  const seqBytes = opts.sequentialBytes ?? 256 * MB;
  const seqMsMax = opts.sequentialMsMax ?? 5000;
  const fd = openSync(file, 'w+');
  try {
    // Latency: 4 KiB at successive offsets of a preallocated region, fdatasync after each.
    const block = randomBytes(4096);
    const region = 64 * MB;
    ftruncateSync(fd, region);
    fdatasyncSync(fd);
    const lat: number[] = [];
    for (let i = 0; i < syncWrites; i++) {
      const t0 = performance.now();
      writeSync(fd, block, 0, block.length, (i * 4096) % region);
      fdatasyncSync(fd);
      lat.push(performance.now() - t0);
    }
    lat.sort((a, b) => a - b);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.max(0, Math.ceil(p * lat.length) - 1))] ?? 0;
    // Throughput: 1 MiB sequential writes, fdatasync per chunk.
    const chunk = randomBytes(MB);
    let written = 0;
    const s0 = performance.now();
    while (written < seqBytes && performance.now() - s0 < seqMsMax) {
      writeSync(fd, chunk, 0, chunk.length, written);
      fdatasyncSync(fd);
      written += chunk.length;
    }
    const seconds = (performance.now() - s0) / 1000;
    return {
      path,
      fsync4k: { count: lat.length, p50Ms: q(0.5), p99Ms: q(0.99), avgMs: lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length), maxMs: lat[lat.length - 1] ?? 0 },
      sequential: { bytes: written, seconds, mbPerSec: seconds > 0 ? written / MB / seconds : 0, chunkBytes: MB },
    };
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}

export function renderDisk(d: DiskReport): string {
  return `disk ${d.path}\n` +
    `  4 KiB write+fdatasync (${d.fsync4k.count}x): p50 ${d.fsync4k.p50Ms.toFixed(3)} ms, p99 ${d.fsync4k.p99Ms.toFixed(3)} ms, avg ${d.fsync4k.avgMs.toFixed(3)} ms, max ${d.fsync4k.maxMs.toFixed(3)} ms\n` +
    `  sequential, fdatasync per MiB: ${d.sequential.mbPerSec.toFixed(1)} MB/s (${(d.sequential.bytes / MB).toFixed(0)} MiB in ${d.sequential.seconds.toFixed(2)} s)\n`;
}
