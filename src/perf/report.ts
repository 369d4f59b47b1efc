// The result of a perf run, its text rendering, the live progress line, and the ratio to the disk.
import { renderHistogram, type HistogramBucket, type LatencySummary } from './latency.js';
import type { DiskReport } from './disk.js';

export interface PerfReport {
  kind: 'produce' | 'consume' | 'e2e';
  topic: string;
  partitions: number;
  records: number;
  bytes: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  /** What a latency sample is: produce: request sent -> acknowledged; consume: one Fetch; e2e: produce call -> record consumed. */
  latencyOf: string;
  latency: LatencySummary;
  histogram: HistogramBucket[];
  errors: number;
  firstError: string | null;
  /** Resident set size of this client process at the end. */
  clientRssBytes: number;
  settings: Record<string, unknown>;
  /** With --disk PATH: the machine's limit and this run's ratio to it. */
  disk?: { limit: DiskReport; latencyP50OverFsyncP50: number; latencyP99OverFsyncP99: number; mbPerSecOverDiskMbPerSec: number };
}

const MB = 1024 * 1024;

export function withDiskRatio(r: PerfReport, disk: DiskReport): PerfReport {
  return {
    ...r,
    disk: {
      limit: disk,
      latencyP50OverFsyncP50: r.latency.p50Ms / disk.fsync4k.p50Ms,
      latencyP99OverFsyncP99: r.latency.p99Ms / disk.fsync4k.p99Ms,
      mbPerSecOverDiskMbPerSec: r.mbPerSec / disk.sequential.mbPerSec,
    },
  };
}

export function progressLine(kind: string, records: number, seconds: number, bytes: number, avgMs: number, maxMs: number): string {
  const rate = seconds > 0 ? records / seconds : 0;
  const mb = seconds > 0 ? bytes / MB / seconds : 0;
  return `${records} records ${kind === 'consume' ? 'read' : 'sent'}, ${rate.toFixed(1)} records/sec (${mb.toFixed(2)} MB/sec), ${avgMs.toFixed(2)} ms avg latency, ${maxMs.toFixed(2)} ms max latency.\n`;
}

const f2 = (n: number) => n.toFixed(2);

export function renderReport(r: PerfReport): string {
  let out = `\n${r.kind} ${r.topic} (${r.partitions} partition(s)): ${r.records} records, ${(r.bytes / MB).toFixed(2)} MB in ${r.seconds.toFixed(2)} s\n`;
  out += `  ${r.recordsPerSec.toFixed(1)} records/sec, ${f2(r.mbPerSec)} MB/sec\n`;
  out += `  latency (${r.latencyOf}): avg ${f2(r.latency.avgMs)} ms, p50 ${f2(r.latency.p50Ms)} ms, p95 ${f2(r.latency.p95Ms)} ms, p99 ${f2(r.latency.p99Ms)} ms, p99.9 ${f2(r.latency.p999Ms)} ms, max ${f2(r.latency.maxMs)} ms\n`;
  out += `  errors ${r.errors}${r.firstError ? ` (first: ${r.firstError})` : ''}; client RSS ${(r.clientRssBytes / MB).toFixed(1)} MiB\n`;
  if (r.disk) {
    const d = r.disk;
    out += `  disk limit (${d.limit.path}): 4 KiB write+fdatasync p50 ${f2(d.limit.fsync4k.p50Ms)} ms, p99 ${f2(d.limit.fsync4k.p99Ms)} ms; fsync'd sequential ${f2(d.limit.sequential.mbPerSec)} MB/s\n`;
    out += `  ratio to disk: latency p50 ${f2(d.latencyP50OverFsyncP50)}x, p99 ${f2(d.latencyP99OverFsyncP99)}x fsync; throughput ${(d.mbPerSecOverDiskMbPerSec * 100).toFixed(1)}% of the disk\n`;
  }
  out += '\nlatency histogram:\n' + renderHistogram(r.histogram);
  return out;
}

export function clientRssBytes(): number { return process.memoryUsage.rss(); }
