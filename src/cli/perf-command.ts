/**
 * `ferry perf produce|consume|e2e|disk`: load tests in the spirit of Kafka's
 * kafka-producer-perf-test / kafka-consumer-perf-test / EndToEndLatency, on Ferry's own minimal
 * client, and the machine's disk limit so every report can show its ratio to it.
 */
import { UsageError } from '../admin/errors.js';
import { measureDisk, renderDisk, type DiskReport } from '../perf/disk.js';
import { runProduce } from '../perf/producer.js';
import { runConsume } from '../perf/consumer.js';
import { runE2e } from '../perf/e2e.js';
import { checkCompression } from '../perf/records.js';
import { renderReport, withDiskRatio, type PerfReport } from '../perf/report.js';
import { Args, type OptionSpecs } from './args.js';
import { COMMON_OPTIONS, DEFAULT_BOOTSTRAP, commandSecurity, runReporting } from './admin-common.js';
import { type Io } from './output.js';
import { toJson } from '../common/text-format.js';

export const PERF_USAGE = `usage: ferry perf <produce|consume|e2e|disk> [options]

  produce --topic T (--num-records N | --duration-sec S) [--record-size 1024] [--throughput -1]
          [--acks all|1|0] [--compression none|gzip|zstd] [--partitions P] [--concurrency 5]
          [--batch-records N]
  consume --topic T (--num-records N | --duration-sec S) [--from earliest|latest]
          [--fetch-size 1048576] [--max-wait-ms 500] [--idle-timeout-ms 10000]
  e2e     --topic T (--num-records N | --duration-sec S) [--throughput 1000] [--record-size 100]
          [--acks all|1] [--partitions P] [--concurrency 1] [--batch-records 1]
  disk PATH   4 KiB write+fdatasync latency and fsync'd sequential MB/s of PATH's filesystem

  --throughput      records/s, -1 for no limit
  --concurrency     produce requests in flight per broker
  --partitions      create the topic with P partitions when it does not exist (without it,
                    produce and e2e let the broker auto-create it, as a producer does)
  --disk PATH       also measure the disk and show the run's ratio to it
  --progress-interval-ms N   live progress line on stderr every N ms (default 5000; 0 = off)
  --bootstrap-server host:port  (default ${DEFAULT_BOOTSTRAP});  --json  machine-readable report
  --command-config FILE   client properties for secured listeners: security.protocol, ssl.*, sasl.*
                          (Kafka's or librdkafka's names; also --producer.config / --consumer.config)
`;

const OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  topic: { kind: 'string', aliases: ['-t'] },
  'num-records': { kind: 'number', aliases: ['--messages'] },
  'duration-sec': { kind: 'number' },
  'record-size': { kind: 'number' },
  throughput: { kind: 'number' },
  acks: { kind: 'string' },
  compression: { kind: 'string', aliases: ['--compression-type'] },
  partitions: { kind: 'number' },
  concurrency: { kind: 'number' },
  'batch-records': { kind: 'number' },
  from: { kind: 'string' },
  'fetch-size': { kind: 'number' },
  'max-wait-ms': { kind: 'number' },
  'idle-timeout-ms': { kind: 'number' },
  disk: { kind: 'string' },
  'progress-interval-ms': { kind: 'number' },
  'sync-writes': { kind: 'number' },
  'sequential-mb': { kind: 'number' },
};

function positiveInt(args: Args, name: string, fallback?: number): number | undefined {
  const v = args.num(name);
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v <= 0) throw new UsageError(`--${name} expects a positive integer, got ${v}`);
  return v;
}

function parseAcks(s: string | undefined, fallback: -1 | 0 | 1): -1 | 0 | 1 {
  if (s === undefined) return fallback;
  if (s === 'all' || s === '-1') return -1;
  if (s === '1') return 1;
  if (s === '0') return 0;
  throw new UsageError(`--acks expects all, -1, 1 or 0, got ${s}`);
}

export async function runPerf(argv: string[], io: Io): Promise<number> {
  return runReporting(io, 'perf', PERF_USAGE, async () => {
    const args = Args.parse(argv, OPTIONS);
    const [action, positional, ...extra] = args.positionals;
    if (args.bool('help') || action === undefined) { io.out(PERF_USAGE); return action === undefined && !args.bool('help') ? 2 : 0; }
    if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
    const json = args.bool('json');
    const diskOpts = { syncWrites: positiveInt(args, 'sync-writes'), sequentialBytes: args.has('sequential-mb') ? positiveInt(args, 'sequential-mb')! * 1024 * 1024 : undefined };
    if (action === 'disk') {
      const path = positional ?? args.str('disk');
      if (!path) throw new UsageError('perf disk needs a PATH (a directory on the volume to measure)');
      const d = measureDisk(path, diskOpts);
      io.out(json ? toJson(d) : renderDisk(d));
      return 0;
    }
    if (!['produce', 'consume', 'e2e'].includes(action)) throw new UsageError(`unknown action '${action}'`);
    if (positional !== undefined) throw new UsageError(`unexpected argument ${positional}`);
    const topic = args.required('topic');
    const numRecords = positiveInt(args, 'num-records');
    const durationSec = args.num('duration-sec');
    if (numRecords === undefined && durationSec === undefined) throw new UsageError('give --num-records N or --duration-sec S');
    if (durationSec !== undefined && !(durationSec > 0)) throw new UsageError('--duration-sec must be > 0');
    const bootstrap = args.strOr('bootstrap-server', DEFAULT_BOOTSTRAP);
    const intervalMs = args.numOr('progress-interval-ms', 5000);
    const onProgress = intervalMs > 0 ? (line: string) => io.err(line) : undefined;
    const security = commandSecurity(args.str('command-config'), io);
    const common = { bootstrap, topic, numRecords, durationSec, progressIntervalMs: intervalMs > 0 ? intervalMs : undefined, onProgress, requestTimeoutMs: args.num('timeout-ms'), security };
    let report: PerfReport;
    if (action === 'consume') {
      const from = args.strOr('from', 'earliest');
      if (from !== 'earliest' && from !== 'latest') throw new UsageError(`--from expects earliest or latest, got ${from}`);
      report = await runConsume({
        ...common, from, fetchSizeBytes: positiveInt(args, 'fetch-size', 1 << 20)!, maxWaitMs: args.numOr('max-wait-ms', 500),
        idleTimeoutMs: args.numOr('idle-timeout-ms', 10_000),
      });
    } else {
      const e2e = action === 'e2e';
      const recordSizeBytes = positiveInt(args, 'record-size', e2e ? 100 : 1024)!;
      const produceOpts = {
        ...common, recordSizeBytes,
        throughput: args.numOr('throughput', e2e ? 1000 : -1),
        acks: parseAcks(args.str('acks'), -1),
        compression: checkCompression(args.strOr('compression', 'none')),
        partitions: positiveInt(args, 'partitions'),
        concurrency: positiveInt(args, 'concurrency', e2e ? 1 : 5)!,
        batchRecords: positiveInt(args, 'batch-records', e2e ? 1 : Math.max(1, Math.floor(16384 / recordSizeBytes)))!,
      };
      if (e2e) {
        if (produceOpts.acks === 0) throw new UsageError('perf e2e needs acks 1 or all');
        if (recordSizeBytes < 8) throw new UsageError('perf e2e needs --record-size >= 8 (the send time is in the value)');
        report = await runE2e({ ...produceOpts, maxWaitMs: args.numOr('max-wait-ms', 100) });
      } else report = await runProduce(produceOpts);
    }
    const diskPath = args.str('disk');
    if (diskPath) report = withDiskRatio(report, measureDisk(diskPath, diskOpts) as DiskReport);
    io.out(json ? toJson(report) : renderReport(report));
    return report.errors > 0 ? 1 : 0;
  });
}
