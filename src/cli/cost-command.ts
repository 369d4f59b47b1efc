/**
 * `ferry cost`: the monthly cost of a workload in several deployment modes side by side: Kafka
 * RF=3 (with and without tiered storage), an AutoMQ-style block WAL, Ferry leader-routed and
 * Ferry zone-local. Every input is a flag with a documented default (ferry cost --help,
 * docs/cost-model.md); `--workload seed` sets issue #15's workload; `--from-metrics URL`
 * (repeatable, one per broker) replaces the write rate and read fan-out by the rates measured on
 * running brokers.
 */
import { UsageError } from '../admin/errors.js';
import { MetricsSnapshot } from '../admin/prom-text.js';
import { INPUT_SPECS, defaultInputs, type CostInputs } from '../cost/inputs.js';
import { computeCosts } from '../cost/model.js';
import { DEFAULT_MODES, MODE_IDS, parseModes } from '../cost/modes.js';
import { dec, renderCost } from '../cost/render.js';
import { parseDurationHours, parseRateMBps } from '../cost/units.js';
import { WORKLOADS } from '../cost/workloads.js';
import { Args, type OptionSpecs } from './args.js';
import { runReporting } from './admin-common.js';
import { type Io } from './output.js';
import { toJson } from '../common/text-format.js';

export function costUsage(): string {
  const flags = INPUT_SPECS.map((s) => `--${s.flag}${s.aliases ? ` (${s.aliases.join(', ')})` : ''}`);
  const width = Math.max(...flags.map((f) => f.length));
  const lines = INPUT_SPECS.map((s, k) => `  ${flags[k]!.padEnd(width)} ${String(s.default).padStart(10)} ${s.unit.padEnd(11)} ${s.source}`);
  const workloads = Object.entries(WORKLOADS).map(([name, w]) => `${name} (${w.description})`).join('; ');
  return `usage: ferry cost [--workload NAME] [--in RATE] [--out RATE] [--retention DURATION]
                  [--modes MODE,...] [--<input> value ...] [--from-metrics URL ...] [--json]

Monthly cost of a workload in deployment modes side by side. Inputs (flag, default, unit,
source of the default):
${lines.join('\n')}

  --in RATE            produced payload before compression, e.g. 1GB/s (sets --write-mbps)
  --out RATE           consumed payload, e.g. 3GB/s (sets --read-fanout to out / in)
  --retention D        e.g. 7d, 36h (sets --retention-hours)
  --workload NAME      a named workload, flags override its values: ${workloads}
  --modes LIST         default ${DEFAULT_MODES}
                       (modes: ${MODE_IDS.join(', ')};
                       a ferry mode may name its read mode: ferry-zone-local:uploaded-only)
  --from-metrics URL   a Ferry broker's metrics endpoint (repeatable): use the measured compressed
                       write rate (x --compression-ratio) and read fan-out instead of the flags
  --sample-seconds N   measure over N seconds between two scrapes (0: average since broker start)
  --json               the result as JSON
See docs/cost-model.md for the formulas, the prices and the worked examples.
`;
}

const OPTIONS: OptionSpecs = {
  json: { kind: 'bool' },
  help: { kind: 'bool', aliases: ['-h'] },
  'from-metrics': { kind: 'list' },
  'sample-seconds': { kind: 'number' },
  in: { kind: 'string' },
  out: { kind: 'string' },
  retention: { kind: 'string' },
  workload: { kind: 'string' },
  modes: { kind: 'string', aliases: ['--mode'] },
  ...Object.fromEntries(INPUT_SPECS.map((s) => [s.flag, {
    kind: typeof s.default === 'boolean' ? 'bool' as const : typeof s.default === 'string' ? 'string' as const : 'number' as const,
    ...(s.aliases ? { aliases: s.aliases } : {}),
  }])),
};

/** Defaults, then the named workload, then the flags. */
function inputsFrom(args: Args): { inputs: CostInputs; modes: string } {
  const inputs = defaultInputs();
  const set = inputs as unknown as Record<string, number | boolean | string>;
  let modes = DEFAULT_MODES;
  const name = args.str('workload');
  if (name !== undefined) {
    const w = WORKLOADS[name];
    if (!w) throw new UsageError(`unknown workload ${name} (workloads: ${Object.keys(WORKLOADS).join(', ')})`);
    Object.assign(inputs, w.inputs);
    modes = w.modes;
  }
  for (const s of INPUT_SPECS) {
    if (!args.has(s.flag)) continue;
    if (typeof s.default === 'boolean') set[s.key] = args.bool(s.flag);
    else if (typeof s.default === 'string') {
      const v = args.str(s.flag)!;
      if (s.choices && !s.choices.includes(v)) throw new UsageError(`--${s.flag} must be one of ${s.choices.join(', ')}, got ${v}`);
      set[s.key] = v;
    } else set[s.key] = args.num(s.flag)!;
  }
  const parse = <T>(flag: string, f: (t: string) => T): T | undefined => {
    const v = args.str(flag);
    if (v === undefined) return undefined;
    try { return f(v); } catch (err) { throw new UsageError(`--${flag}: ${(err as Error).message}`); }
  };
  const inMBps = parse('in', parseRateMBps);
  const outMBps = parse('out', parseRateMBps);
  const retention = parse('retention', parseDurationHours);
  if (inMBps !== undefined && args.has('write-mbps')) throw new UsageError('give --in or --write-mbps, not both');
  if (outMBps !== undefined && args.has('read-fanout')) throw new UsageError('give --out or --read-fanout, not both');
  if (retention !== undefined && args.has('retention-hours')) throw new UsageError('give --retention or --retention-hours, not both');
  if (inMBps !== undefined) {
    // --in alone keeps the fan-out (of the workload or the default); --out sets it.
    inputs.writeMBps = inMBps;
  }
  if (outMBps !== undefined) {
    if (!(inputs.writeMBps > 0)) throw new UsageError('--out needs a write rate above 0');
    inputs.readFanout = outMBps / inputs.writeMBps;
  }
  if (retention !== undefined) inputs.retentionHours = retention;
  return { inputs, modes: args.str('modes') ?? modes };
}

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
    const { inputs, modes } = inputsFrom(args);
    let measured: MeasuredRates | undefined;
    const urls = args.list('from-metrics');
    if (urls.length > 0) {
      measured = await measureRates(urls, args.numOr('sample-seconds', 10));
      inputs.writeMBps = measured.compressedWriteMBps * inputs.compressionRatio;
      inputs.readFanout = measured.readFanout;
    }
    let result;
    try {
      result = computeCosts(inputs, parseModes(modes));
    } catch (err) {
      if (err instanceof RangeError) throw new UsageError(err.message);
      throw err;
    }
    if (args.bool('json')) io.out(toJson({ ...result, measured: measured ?? null }));
    else io.out(renderCost(result, measured && `${dec(measured.compressedWriteMBps)} MB/s compressed written, read fan-out ${dec(measured.readFanout)} over ${measured.seconds.toFixed(1)} s`));
    return 0;
  });
}
