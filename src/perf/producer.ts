/**
 * `ferry perf produce`: a minimal producer on the codecs, like kafka-producer-perf-test. Batches of
 * `batchRecords` records go round-robin over the partitions, one batch per Produce request, with
 * up to `concurrency` requests in flight per leader, at up to `throughput` records/s.
 * A latency sample is one batch's request: from when its records were due (the rate schedule) or
 * sent (unthrottled) to the acknowledgement, recorded once per record.
 */
import { ApiKey } from '../protocol/messages/index.js';
import { errorName, isRetriable } from '../protocol/errors.js';
import { LatencyRecorder } from './latency.js';
import { buildPerfBatch, type CompressionName } from './records.js';
import { PerfTarget, nowMs, sleep } from './target.js';
import type { ClientSecurity } from '../admin/client-security.js';
import { clientRssBytes, progressLine, type PerfReport } from './report.js';

export interface ProduceOptions {
  bootstrap: string;
  topic: string;
  /** Stop after this many records (unless durationSec ends first). */
  numRecords?: number;
  durationSec?: number;
  recordSizeBytes: number;
  /** Records per second; <= 0 for no limit. */
  throughput: number;
  acks: -1 | 0 | 1;
  compression: CompressionName;
  partitions?: number;
  /** Produce requests in flight per leader. */
  concurrency: number;
  batchRecords: number;
  progressIntervalMs?: number;
  onProgress?: (line: string) => void;
  /** e2e: write a value's first bytes (e.g. a send time). */
  stamp?: (v: Buffer) => void;
  clientId?: string;
  requestTimeoutMs?: number;
  /** --command-config: TLS/SASL for every connection (unset: PLAINTEXT). */
  security?: ClientSecurity;
}

const ERRORS_MAX = 1000;

/** Kafka perf payload: random upper-case letters (compressible like text). */
export function perfPayload(sizeBytes: number): Buffer {
  const b = Buffer.allocUnsafe(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) b[i] = 65 + Math.floor(Math.random() * 26);
  return b;
}

export async function runProduce(opts: ProduceOptions, existing?: PerfTarget): Promise<PerfReport> {
  if (opts.numRecords === undefined && opts.durationSec === undefined) throw new RangeError('numRecords or durationSec is required');
  const target = existing ?? await PerfTarget.open({ bootstrap: opts.bootstrap, topic: opts.topic, partitions: opts.partitions, autoCreate: true, clientId: opts.clientId ?? 'ferry-perf-producer', requestTimeoutMs: opts.requestTimeoutMs, security: opts.security });
  const latency = new LatencyRecorder();
  const payload = perfPayload(opts.recordSizeBytes);
  const parts = target.partitions;
  const conns = await Promise.all(parts.map((p) => target.leaderConnection(p)));
  const versions = conns.map((c) => c.versionFor(ApiKey.Produce, 9));
  const inFlight = new Map(conns.map((c) => [c, 0]));
  let wake: (() => void) | null = null;
  const waitForSlot = () => new Promise<void>((r) => { wake = r; });
  const limit = opts.numRecords ?? Number.MAX_SAFE_INTEGER;
  const endAt = opts.durationSec !== undefined ? nowMs() + opts.durationSec * 1000 : Infinity;
  let scheduled = 0;
  let acked = 0;
  let ackedBytes = 0;
  let intervalAcked = 0;
  let intervalBytes = 0;
  let errors = 0;
  let firstError: string | null = null;
  const pending = new Set<Promise<void>>();
  // Batch cache: identical content per record count; rebuilt each second for fresh timestamps.
  let cache = new Map<number, Buffer>();
  let cacheAt = nowMs();
  const batchOf = (n: number): Buffer => {
    if (opts.stamp) return buildPerfBatch(n, payload, opts.compression, (_i, v) => opts.stamp!(v));
    if (nowMs() - cacheAt > 1000) { cache = new Map(); cacheAt = nowMs(); }
    let b = cache.get(n);
    if (!b) { b = buildPerfBatch(n, payload, opts.compression); cache.set(n, b); }
    return b;
  };
  const start = nowMs();
  let lastProgress = start;
  const progressTimer = opts.onProgress ? setInterval(() => {
    const now = nowMs();
    const iv = latency.takeInterval();
    opts.onProgress!(progressLine('produce', intervalAcked, (now - lastProgress) / 1000, intervalBytes, iv.avgMs, iv.maxMs));
    intervalAcked = 0;
    intervalBytes = 0;
    lastProgress = now;
  }, opts.progressIntervalMs ?? 5000) : null;
  let rr = 0;
  try {
    while (scheduled < limit && nowMs() < endAt && errors < ERRORS_MAX) {
      const i = rr++ % parts.length;
      const conn = conns[i]!;
      while (inFlight.get(conn)! >= opts.concurrency) await waitForSlot();
      const n = Math.min(opts.batchRecords, limit - scheduled);
      let due = nowMs();
      if (opts.throughput > 0) {
        const dueAt = start + (scheduled / opts.throughput) * 1000;
        if (dueAt > due) { await sleep(dueAt - due); }
        due = Math.min(nowMs(), Math.max(dueAt, start));
      }
      if (nowMs() >= endAt) break;
      scheduled += n;
      const batch = batchOf(n);
      const p = parts[i]!;
      inFlight.set(conn, inFlight.get(conn)! + 1);
      const body = { transactionalId: null, acks: opts.acks, timeoutMs: 30_000, topicData: [{ name: target.topic, partitionData: [{ index: p.partition, records: batch }] }] };
      const req = conn.requestAt<any>(ApiKey.Produce, versions[i]!, body, opts.acks !== 0).then((res) => {
        const pr = opts.acks === 0 ? null : res.responses[0]?.partitionResponses[0];
        const code = pr ? pr.errorCode : 0;
        if (code !== 0) {
          errors++;
          firstError ??= `${errorName(code)}${isRetriable(code) ? ' (retriable)' : ''}${pr.errorMessage ? `: ${pr.errorMessage}` : ''}`;
          return;
        }
        latency.record(nowMs() - due, n);
        acked += n;
        ackedBytes += n * opts.recordSizeBytes;
        intervalAcked += n;
        intervalBytes += n * opts.recordSizeBytes;
      }, (err: Error) => {
        errors++;
        firstError ??= err.message;
      }).finally(() => {
        inFlight.set(conn, inFlight.get(conn)! - 1);
        pending.delete(req);
        const w = wake;
        wake = null;
        w?.();
      });
      pending.add(req);
      // Let responses be processed between sends even when the socket never blocks.
      if (rr % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all([...pending]);
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    if (!existing) target.close();
  }
  const seconds = (nowMs() - start) / 1000;
  return {
    kind: 'produce', topic: opts.topic, partitions: parts.length, records: acked, bytes: ackedBytes, seconds,
    recordsPerSec: acked / seconds, mbPerSec: ackedBytes / (1024 * 1024) / seconds,
    latencyOf: opts.acks === 0 ? 'request written to the socket (acks=0)' : 'batch due -> acknowledged',
    latency: latency.summary(), histogram: latency.histogram(), errors, firstError, clientRssBytes: clientRssBytes(),
    settings: {
      recordSizeBytes: opts.recordSizeBytes, throughput: opts.throughput, acks: opts.acks, compression: opts.compression,
      concurrency: opts.concurrency, batchRecords: opts.batchRecords, numRecords: opts.numRecords ?? null, durationSec: opts.durationSec ?? null,
      securityProtocol: opts.security?.protocol ?? 'PLAINTEXT', saslMechanism: opts.security?.sasl?.mechanism ?? null,
    },
  };
}
