/**
 * `ferry perf consume`: a minimal consumer on the codecs, like kafka-consumer-perf-test. One
 * sessionless Fetch in flight per leader over all its partitions, from the earliest (or latest)
 * offsets, until `numRecords` records were read, `durationSec` passed, or nothing new arrived for
 * `idleTimeoutMs`. A latency sample is one Fetch round trip.
 * Also used by `perf e2e` (onRecords gets each batch's values).
 */
import { ApiKey } from '../protocol/messages/index.js';
import { errorName } from '../protocol/errors.js';
import { EARLIEST, LATEST } from '../admin/admin-client.js';
import { LatencyRecorder } from './latency.js';
import { recordValues, walkBatches } from './records.js';
import { PerfTarget, nowMs } from './target.js';
import { clientRssBytes, progressLine, type PerfReport } from './report.js';
import type { KafkaConnection } from '../admin/kafka-connection.js';
import type { ClientSecurity } from '../admin/client-security.js';

export interface ConsumeOptions {
  bootstrap: string;
  topic: string;
  numRecords?: number;
  durationSec?: number;
  from: 'earliest' | 'latest';
  /** Per-partition bytes per Fetch. */
  fetchSizeBytes: number;
  maxWaitMs: number;
  idleTimeoutMs: number;
  progressIntervalMs?: number;
  onProgress?: (line: string) => void;
  /** Called with the values of each batch read (decodes records; e2e only). */
  onValues?: (values: Buffer[]) => void;
  /** Resolves when the start offsets are known (e2e starts producing then). */
  onStarted?: () => void;
  /** e2e: stop when this returns true. */
  shouldStop?: () => boolean;
  clientId?: string;
  requestTimeoutMs?: number;
  /** --command-config: TLS/SASL for every connection (unset: PLAINTEXT). */
  security?: ClientSecurity;
}

export async function runConsume(opts: ConsumeOptions): Promise<PerfReport> {
  const target = await PerfTarget.open({ bootstrap: opts.bootstrap, topic: opts.topic, clientId: opts.clientId ?? 'ferry-perf-consumer', requestTimeoutMs: opts.requestTimeoutMs, security: opts.security });
  const latency = new LatencyRecorder();
  const limit = opts.numRecords ?? Number.MAX_SAFE_INTEGER;
  let records = 0;
  let bytes = 0;
  let errors = 0;
  let firstError: string | null = null;
  let intervalRecords = 0;
  let intervalBytes = 0;
  let start = nowMs();
  try {
    const offsets = await target.admin.listOffsets(target.topic, target.partitions, opts.from === 'earliest' ? EARLIEST : LATEST);
    const byLeader = new Map<KafkaConnection, number[]>();
    for (const p of target.partitions) {
      const c = await target.leaderConnection(p);
      byLeader.set(c, [...(byLeader.get(c) ?? []), p.partition]);
    }
    const next = new Map(target.partitions.map((p) => [p.partition, offsets.get(p.partition)!]));
    opts.onStarted?.();
    start = nowMs();
    const endAt = opts.durationSec !== undefined ? start + opts.durationSec * 1000 : Infinity;
    let lastData = start;
    let lastProgress = start;
    const progressTimer = opts.onProgress ? setInterval(() => {
      const now = nowMs();
      const iv = latency.takeInterval();
      opts.onProgress!(progressLine('consume', intervalRecords, (now - lastProgress) / 1000, intervalBytes, iv.avgMs, iv.maxMs));
      intervalRecords = 0;
      intervalBytes = 0;
      lastProgress = now;
    }, opts.progressIntervalMs ?? 5000) : null;
    const done = () => records >= limit || nowMs() >= endAt || nowMs() - lastData > opts.idleTimeoutMs || (opts.shouldStop?.() ?? false) || errors >= 100;
    const loop = async (conn: KafkaConnection, partitions: number[]) => {
      const version = conn.versionFor(ApiKey.Fetch, 12);
      while (!done()) {
        const t0 = nowMs();
        let res: any;
        try {
          res = await conn.requestAt(ApiKey.Fetch, version, {
            clusterId: null, replicaId: -1, maxWaitMs: opts.maxWaitMs, minBytes: 1, maxBytes: 64 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
            topics: [{ topic: target.topic, partitions: partitions.map((p) => ({ partition: p, currentLeaderEpoch: -1, fetchOffset: next.get(p)!, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: opts.fetchSizeBytes })) }],
            forgottenTopicsData: [], rackId: '',
          });
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message;
          return;
        }
        latency.record(nowMs() - t0);
        if (res.errorCode !== 0) { errors++; firstError ??= errorName(res.errorCode); continue; }
        for (const t of res.responses) for (const p of t.partitions) {
          if (p.errorCode !== 0) { errors++; firstError ??= `${errorName(p.errorCode)} on ${t.topic}-${p.partitionIndex}`; continue; }
          let offset = next.get(p.partitionIndex)!;
          for (const b of walkBatches(p.records)) {
            if (b.lastOffset < offset) continue;
            const n = b.baseOffset >= offset ? b.recordsCount : Number(b.lastOffset - offset + 1n);
            records += n;
            intervalRecords += n;
            bytes += b.sizeBytes;
            intervalBytes += b.sizeBytes;
            if (opts.onValues) {
              const values = recordValues(b);
              opts.onValues(values.slice(values.length - n));
            }
            offset = b.lastOffset + 1n;
            lastData = nowMs();
          }
          next.set(p.partitionIndex, offset);
        }
      }
    };
    try {
      await Promise.all([...byLeader].map(([c, ps]) => loop(c, ps)));
    } finally {
      if (progressTimer) clearInterval(progressTimer);
    }
  } finally {
    target.close();
  }
  const seconds = (nowMs() - start) / 1000;
  return {
    kind: 'consume', topic: opts.topic, partitions: target.partitions.length, records, bytes, seconds,
    recordsPerSec: records / seconds, mbPerSec: bytes / (1024 * 1024) / seconds, latencyOf: 'one Fetch round trip',
    latency: latency.summary(), histogram: latency.histogram(), errors, firstError, clientRssBytes: clientRssBytes(),
    settings: { from: opts.from, fetchSizeBytes: opts.fetchSizeBytes, maxWaitMs: opts.maxWaitMs, numRecords: opts.numRecords ?? null, durationSec: opts.durationSec ?? null, idleTimeoutMs: opts.idleTimeoutMs,
      securityProtocol: opts.security?.protocol ?? 'PLAINTEXT', saslMechanism: opts.security?.sasl?.mechanism ?? null },
  };
}
