/**
 * `ferry cost`: the monthly cost of a workload on Ferry vs Kafka RF=3 (with and without tiered
 * storage). Every input is a flag with a documented default (ferry cost --help, docs/cost-model.md).
 * `--from-metrics URL` (repeatable, one per broker) replaces the write rate and read fan-out by
 * the rates measured on running brokers.
 */
import { UsageError } from '../admin/errors.js';
import { MetricsSnapshot } from '../admin/prom-text.js';
import { INPUT_SPECS, defaultInputs, type CostInputs } from '../cost/inputs.js';
import { computeCosts } from '../cost/model.js';
import { dec, renderCost } from '../cost/render.js';
import { Args, type OptionSpecs } from './args.js';
import { runReporting } from './admin-common.js';
import { type Io } from './output.js';
import { toJson } from '../common/text-format.js';

export function costUsage(): string {
  const lines = INPUT_SPECS.map((s) => `  --${s.flag.padEnd(28)} ${String(s.default).padStart(10)} ${s.unit.padEnd(11)} ${s.source}`);
  return `usage: ferry cost [--<input> value ...] [--from-metrics URL ...] [--sample-seconds 10] [--json]

Monthly cost of a workload: Ferry vs Kafka RF=3 on broker disks vs Kafka RF=3 with tiered
storage. Inputs (flag, default, unit, source of the default):
${lines.join('\n')}

  --from-metrics URL   a Ferry broker's metrics endpoint (repeatable): use the measured compressed
                       write rate (x --compression-ratio) and read fan-out instead of the flags
  --sample-seconds N   measure over N seconds between two scrapes (0: average since broker start)
See docs/cost-model.md for the formulas and a worked example.
`;
}

const OPTIONS: OptionSpecs = {
  json: { kind: 'bool' },
  help: { kind: 'bool', aliases: ['-h'] },
  'from-metrics': { kind: 'list' },
  'sample-seconds': { kind: 'number' },
  ...Object.fromEntries(INPUT_SPECS.map((s) => [s.flag, { kind: typeof s.default === 'boolean' ? 'bool' as const : 'number' as const }])),
};

export interface MeasuredRates { compressedWriteMBps: number; readFanout: number; seconds: number }

/** Produced and fetched byte rates summed over brokers, between two scrapes (or since start). */
export async function measureRates(urls: string[], sampleSeconds: number): Promise<MeasuredRates> {
  const scrape = () => Promise.all(urls.map((u) => MetricsSnapshot.fetch(u)));
  const sum = (snaps: MetricsSnapshot[], name: string) => snaps.reduce((a, s) => a + s.sum(name), 0);
  const first = await scrape();
  let producedBytes: number;
  let fetchedBytes: number;
  let seconds: number;
  if (sampleSeconds > 0) {
    await new Promise((r) => setTimeout(r, sampleSeconds * 1000));
    const second = await scrape();
    producedBytes = sum(second, 'ferry_produced_bytes_total') - sum(first, 'ferry_produced_bytes_total');
    fetchedBytes = sum(second, 'ferry_fetched_bytes_total') - sum(first, 'ferry_fetched_bytes_total');
    seconds = (second[0]!.atMs - first[0]!.atMs) / 1000;
  } else {
    producedBytes = sum(first, 'ferry_produced_bytes_total');
    fetchedBytes = sum(first, 'ferry_fetched_bytes_total');
    const starts = first.map((s) => s.sum('process_start_time_seconds')).filter((x) => x > 0);
    if (starts.length === 0) throw new UsageError('--sample-seconds 0 needs process_start_time_seconds in the metrics');
    seconds = first[0]!.atMs / 1000 - Math.min(...starts);
  }
  if (!(producedBytes > 0)) throw new UsageError(`no bytes produced during the ${seconds.toFixed(1)} s measured (ferry_produced_bytes_total did not move)`);
  return { compressedWriteMBps: producedBytes / 1e6 / seconds, readFanout: fetchedBytes / producedBytes, seconds };
}

export async function runCost(argv: string[], io: Io): Promise<number> {
  return runReporting(io, 'cost', costUsage(), async () => {
    const args = Args.parse(argv, OPTIONS);
    if (args.bool('help')) { io.out(costUsage()); return 0; }
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
    const inputs: CostInputs = defaultInputs();
    for (const s of INPUT_SPECS) {
      if (!args.has(s.flag)) continue;
      (inputs as unknown as Record<string, number | boolean>)[s.key] = typeof s.default === 'boolean' ? args.bool(s.flag) : args.num(s.flag)!;
    }
    let measured: MeasuredRates | undefined;
    const urls = args.list('from-metrics');
    if (urls.length > 0) {
      measured = await measureRates(urls, args.numOr('sample-seconds', 10));
      inputs.writeMBps = measured.compressedWriteMBps * inputs.compressionRatio;
      inputs.readFanout = measured.readFanout;
    }
    let result;
    try {
      result = computeCosts(inputs);
    } catch (err) {
      if (err instanceof RangeError) throw new UsageError(err.message);
      throw err;
    }
    if (args.bool('json')) io.out(toJson({ ...result, measured: measured ?? null }));
    else io.out(renderCost(result, measured && `${dec(measured.compressedWriteMBps)} MB/s compressed written, read fan-out ${dec(measured.readFanout)} over ${measured.seconds.toFixed(1)} s`));
    return 0;
  });
}
