/**
 * `ferry perf e2e`: end-to-end latency, from the producer building a record to a consumer reading
 * it. The consumer long-polls from the latest offsets; the producer stamps each value's first 8
 * bytes with the send time (this process's monotonic clock, so no clock skew); each value read
 * yields one sample. Produces `numRecords` (or for `durationSec`) at `throughput` records/s.
 */
import { LatencyRecorder } from './latency.js';
import { runConsume } from './consumer.js';
import { runProduce, type ProduceOptions } from './producer.js';
import { PerfTarget, nowMs, sleep } from './target.js';
import { clientRssBytes, progressLine, type PerfReport } from './report.js';

export interface E2eOptions extends Omit<ProduceOptions, 'stamp' | 'onProgress'> {
  maxWaitMs: number;
  onProgress?: (line: string) => void;
}

export async function runE2e(opts: E2eOptions): Promise<PerfReport> {
  if (opts.recordSizeBytes < 8) throw new RangeError('e2e records need at least 8 bytes for the send time');
  // Make sure the topic exists before the consumer looks for it: created with --partitions, else
  // auto-created by the broker if it would for a producer.
  const probe = await PerfTarget.open({ bootstrap: opts.bootstrap, topic: opts.topic, partitions: opts.partitions, autoCreate: true, clientId: 'ferry-perf-e2e', requestTimeoutMs: opts.requestTimeoutMs, security: opts.security });
  const partitions = probe.partitions.length;
  probe.close();
  const latency = new LatencyRecorder();
  let received = 0;
  let lastReceivedAt = 0;
  let receivedBytes = 0;
  let produced = -1;
  let intervalReceived = 0;
  let started!: () => void;
  const consumerStarted = new Promise<void>((r) => { started = r; });
  const start = nowMs();
  let lastProgress = start;
  const progressTimer = opts.onProgress ? setInterval(() => {
    const now = nowMs();
    const iv = latency.takeInterval();
    opts.onProgress!(progressLine('e2e', intervalReceived, (now - lastProgress) / 1000, intervalReceived * opts.recordSizeBytes, iv.avgMs, iv.maxMs));
    intervalReceived = 0;
    lastProgress = now;
  }, opts.progressIntervalMs ?? 5000) : null;
  let stopAt = Infinity;
  const consumer = runConsume({
    bootstrap: opts.bootstrap, topic: opts.topic, from: 'latest', fetchSizeBytes: 1 << 20, maxWaitMs: opts.maxWaitMs,
    idleTimeoutMs: Number.MAX_SAFE_INTEGER, clientId: 'ferry-perf-e2e-consumer', requestTimeoutMs: opts.requestTimeoutMs, security: opts.security,
    onStarted: () => started(),
    onValues: (values) => {
      const now = nowMs();
      for (const v of values) {
        if (v.length < 8) continue;
        latency.record(now - v.readDoubleBE(0));
        received++;
        intervalReceived++;
        receivedBytes += v.length;
      }
      lastReceivedAt = now;
    },
    // Stop once everything produced has arrived, or 10 s after the producer finished.
    shouldStop: () => (produced >= 0 && received >= produced) || nowMs() > stopAt,
  });
  try {
    await Promise.race([consumerStarted, consumer]);
    const produceStart = nowMs();
    const produceReport = await runProduce({ ...opts, onProgress: undefined, stamp: (v) => v.writeDoubleBE(nowMs(), 0), clientId: 'ferry-perf-e2e-producer' });
    produced = produceReport.records;
    stopAt = nowMs() + 10_000;
    const consumeReport = await consumer;
    // From the first send to the last record read (setup and the final long poll left out).
    const seconds = Math.max(produceReport.seconds, (lastReceivedAt - produceStart) / 1000);
    const errors = produceReport.errors + consumeReport.errors + Math.max(0, produced - received);
    const firstError = produceReport.firstError ?? consumeReport.firstError ?? (received < produced ? `${produced - received} record(s) produced but not consumed within 10 s` : null);
    return {
      kind: 'e2e', topic: opts.topic, partitions, records: received, bytes: receivedBytes, seconds,
      recordsPerSec: received / seconds, mbPerSec: receivedBytes / (1024 * 1024) / seconds, latencyOf: 'record built -> record read by the consumer',
      latency: latency.summary(), histogram: latency.histogram(), errors, firstError, clientRssBytes: clientRssBytes(),
      settings: { ...produceReport.settings, produced, maxWaitMs: opts.maxWaitMs },
    };
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    stopAt = 0;
    await consumer.catch(() => undefined);
    await sleep(0);
  }
}
