/**
 * `ferry drill`: the failover drill. Runs a real-client workload (kafkajs, idempotent, acks=all)
 * against a cluster, injects faults with the operator's own commands, measures how long partitions
 * stay unwritable and (with etcd) each failover phase, then reads everything back and checks that no
 * acknowledged message was lost. Exit 0: every cycle passed; 1: a cycle failed; 2: usage error.
 */
import { writeFileSync } from 'node:fs';
import { UsageError } from '../admin/errors.js';
import { commandSecurity } from './admin-common.js';
import { ShellFaultExecutor, type CommandRun } from '../drill/commands.js';
import { renderDrillReport } from '../drill/report.js';
import { SCENARIOS, type Scenario } from '../drill/report-types.js';
import { runDrill, type DrillOptions } from '../drill/scenario.js';
import { renderDrillSvg } from '../drill/svg.js';
import { checkTemplate } from '../drill/template.js';
import { Args, type OptionSpecs } from './args.js';
import { type Io } from './output.js';
import { toJson } from '../common/text-format.js';

export const DRILL_USAGE = `usage: ferry drill --bootstrap HOST:PORT --scenario kill-broker|kill-rack|pause-broker|etcd-leader-loss|kill-proxy [options]

  --cycles N                 fault cycles (default 1)
  --topic T                  drill topic, created when missing (default ferry-drill)
  --partitions P             partitions when creating it (default 12)
  --rate N                   messages/s over all partitions (default 200)
  --message-bytes N          size of each message (default 100)
  --topic-config KEY=VALUE   a config of the topic when the drill creates it (repeatable), e.g.
                             ferry.produce.routing=zone-local; an existing topic must have it
  --client-zone ZONE         run the workload as clients of ZONE: client ids carry ferry_az=ZONE
                             (zone-local topics route them through their zone's proxy), the
                             read-back fetches with rackId ZONE (following read replicas);
                             scenario kill-proxy needs it: it kills the broker Metadata names to
                             the zone's clients as leader of partitions another broker leads
  --broker ID                kill-broker/pause-broker/kill-proxy: always this broker (default:
                             rotate over leaders; kill-proxy: over the zone's proxies)
  --rack R                   kill-rack: always this rack (default: rotate over racks)
  --kill-cmd TEMPLATE        kills/stops/resumes a broker: run with /bin/sh -c; placeholders
                             {id} {host} {port} {rack} {signal} (KILL, STOP, CONT), shell-quoted
  --restart-cmd TEMPLATE     restarts a killed broker (without it: wait for a supervisor to)
  --etcd-kill-cmd CMD        etcd-leader-loss: kills the etcd leader
  --etcd-restart-cmd CMD     etcd-leader-loss: brings it back, --pause-ms later
  --pause-ms N               pause-broker: SIGCONT at the latest after N ms (default 10000);
                             etcd-leader-loss: etcd down for N ms
  --restart-before-writable  restart killed brokers at once (automatic when no other broker is listed)
  --etcd ENDPOINTS --cluster NAME   read the failover records: detection, attach, replay times
  --writable-timeout-ms N    an affected partition must be writable within N ms of t0 (default 30000)
  --failover-timeout-ms N    with etcd: wait this long for the failover records to finish (default 60000)
  --cycle-timeout-ms N       a restarted broker must be listed in Metadata within N ms (default 60000)
  --warmup-ms N              workload before the first fault (default 3000)
  --settle-ms N              workload after recovery, before the restart (default 3000)
  --command-config FILE      client properties for a secured listener (security.protocol, ssl.*,
                             sasl.*; Kafka's or librdkafka's names): admin, probe and kafkajs workload
  --request-timeout-ms N     kafkajs request timeout (default 5000)
  --send-retries N           kafkajs retries per send, about 1 s each (default 60)
  --command-timeout-ms N     a fault command still running after N ms fails (default 60000)
  --json FILE                write the full report as JSON;  --svg FILE  write the timeline chart
  --quiet                    no progress lines on stderr;  --verbose  also kafkajs warnings
`;

const OPTIONS: OptionSpecs = {
  bootstrap: { kind: 'string', aliases: ['-b', '--bootstrap-server'] },
  scenario: { kind: 'string' },
  cycles: { kind: 'number' },
  topic: { kind: 'string', aliases: ['-t'] },
  partitions: { kind: 'number' },
  rate: { kind: 'number' },
  'message-bytes': { kind: 'number' },
  'topic-config': { kind: 'list' },
  'client-zone': { kind: 'string' },
  broker: { kind: 'number' },
  rack: { kind: 'string' },
  'kill-cmd': { kind: 'string' },
  'restart-cmd': { kind: 'string' },
  'etcd-kill-cmd': { kind: 'string' },
  'etcd-restart-cmd': { kind: 'string' },
  'pause-ms': { kind: 'number' },
  'restart-before-writable': { kind: 'bool' },
  etcd: { kind: 'string' },
  cluster: { kind: 'string' },
  'writable-timeout-ms': { kind: 'number' },
  'failover-timeout-ms': { kind: 'number' },
  'cycle-timeout-ms': { kind: 'number' },
  'warmup-ms': { kind: 'number' },
  'settle-ms': { kind: 'number' },
  'request-timeout-ms': { kind: 'number' },
  'command-config': { kind: 'string' },
  'send-retries': { kind: 'number' },
  'command-timeout-ms': { kind: 'number' },
  json: { kind: 'string' },
  svg: { kind: 'string' },
  quiet: { kind: 'bool' },
  verbose: { kind: 'bool' },
  help: { kind: 'bool', aliases: ['-h'] },
};

function int(args: Args, name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const v = args.num(name);
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`--${name} expects an integer in ${min}..${max}, got ${v}`);
  return v;
}

function template(args: Args, name: string, placeholders?: readonly string[]): string | undefined {
  const t = args.str(name);
  if (t !== undefined) checkTemplate(t, `--${name}`, placeholders);
  return t;
}

/** The parsed command line: drill options without the executor, plus the shell templates and outputs. */
export interface DrillInvocation {
  options: Omit<DrillOptions, 'executor' | 'commandLog' | 'log' | 'clientLog'>;
  templates: { killCmd?: string; restartCmd?: string; etcdKillCmd?: string; etcdRestartCmd?: string };
  commandTimeoutMs: number;
  jsonFile?: string;
  svgFile?: string;
  quiet: boolean;
  verbose: boolean;
}

export function parseDrillArgs(argv: readonly string[], io?: Pick<Io, 'err'>): DrillInvocation | 'help' {
  const args = Args.parse(argv, OPTIONS);
  if (args.bool('help')) return 'help';
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  const bootstrap = args.required('bootstrap').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const b of bootstrap) if (!/^[^\s:]+:\d{1,5}$/.test(b)) throw new UsageError(`--bootstrap expects HOST:PORT[,HOST:PORT...], got ${b}`);
  const scenarioName = args.required('scenario');
  if (!(SCENARIOS as readonly string[]).includes(scenarioName)) throw new UsageError(`--scenario expects one of ${SCENARIOS.join(', ')}, got ${scenarioName}`);
  const scenario = scenarioName as Scenario;
  const brokerPlaceholders = ['id', 'host', 'port', 'rack', 'signal'];
  const templates = {
    killCmd: template(args, 'kill-cmd', brokerPlaceholders),
    restartCmd: template(args, 'restart-cmd', ['id', 'host', 'port', 'rack']),
    etcdKillCmd: template(args, 'etcd-kill-cmd', []),
    etcdRestartCmd: template(args, 'etcd-restart-cmd', []),
  };
  if (scenario === 'etcd-leader-loss') {
    if (!templates.etcdKillCmd || !templates.etcdRestartCmd) throw new UsageError('etcd-leader-loss needs --etcd-kill-cmd and --etcd-restart-cmd');
  } else if (!templates.killCmd) throw new UsageError(`${scenario} needs --kill-cmd (e.g. 'ssh {host} sudo kill -{signal} $(pgrep -f "ferry broker")')`);
  if (args.has('broker') && scenario !== 'kill-broker' && scenario !== 'pause-broker' && scenario !== 'kill-proxy') throw new UsageError('--broker applies to kill-broker and pause-broker (and kill-proxy)');
  const clientZone = args.str('client-zone');
  // The zone is a token of the client id: no separator (, ; whitespace) may be part of it.
  if (clientZone !== undefined && !/^[A-Za-z0-9._:-]{1,64}$/.test(clientZone)) throw new UsageError(`--client-zone ${clientZone} is not 1-64 of A-Z a-z 0-9 . _ : -`);
  if (scenario === 'kill-proxy' && clientZone === undefined) throw new UsageError('kill-proxy needs --client-zone (the zone whose proxy to kill)');
  const topicConfigs: Record<string, string> = {};
  for (const kv of args.list('topic-config')) {
    const m = /^([A-Za-z0-9._-]+)=(.*)$/.exec(kv);
    if (!m || m[2] === '') throw new UsageError(`--topic-config expects KEY=VALUE, got ${kv}`);
    if (m[1]! in topicConfigs) throw new UsageError(`--topic-config ${m[1]} given twice`);
    topicConfigs[m[1]!] = m[2]!;
  }
  if (args.has('rack') && scenario !== 'kill-rack') throw new UsageError('--rack applies to kill-rack');
  const etcdArg = args.str('etcd');
  const clusterName = args.str('cluster');
  if ((etcdArg === undefined) !== (clusterName === undefined)) throw new UsageError('--etcd and --cluster go together');
  let etcd: DrillOptions['etcd'];
  if (etcdArg !== undefined && clusterName !== undefined) {
    const endpoints = etcdArg.split(',').map((e) => e.trim()).filter((e) => e !== '').map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
    if (endpoints.length === 0) throw new UsageError('--etcd is empty');
    for (const e of endpoints) if (!/^https?:\/\/[^/\s]+:\d{1,5}\/?$/.test(e)) throw new UsageError(`--etcd expects http://host:port[,...], got ${e}`);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(clusterName)) throw new UsageError(`--cluster ${clusterName} is not 1-64 of A-Z a-z 0-9 . _ -`);
    etcd = { endpoints, cluster: clusterName };
  }
  const writableTimeoutMs = int(args, 'writable-timeout-ms', 30_000);
  const topic = args.strOr('topic', 'ferry-drill');
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new UsageError(`--topic ${topic} is not a valid topic name`);
  const messageBytes = int(args, 'message-bytes', 100, 64, 1 << 20);
  return {
    options: {
      bootstrap, scenario, topic, etcd, writableTimeoutMs,
      cycles: int(args, 'cycles', 1, 1, 10_000),
      partitions: int(args, 'partitions', 12, 1, 10_000),
      ratePerSec: int(args, 'rate', 200, 1, 1_000_000),
      messageBytes,
      brokerId: args.has('broker') ? int(args, 'broker', 0, 0) : undefined,
      rack: args.str('rack'),
      pauseMs: int(args, 'pause-ms', 10_000),
      cycleTimeoutMs: int(args, 'cycle-timeout-ms', 60_000),
      failoverTimeoutMs: int(args, 'failover-timeout-ms', 60_000),
      warmupMs: int(args, 'warmup-ms', 3000, 0),
      settleMs: int(args, 'settle-ms', 3000, 0),
      restartBeforeWritable: args.bool('restart-before-writable'),
      requestTimeoutMs: int(args, 'request-timeout-ms', 5000, 100),
      sendRetries: int(args, 'send-retries', 60, 1, 1_000_000),
      security: commandSecurity(args.str('command-config'), io),
      clientZone, topicConfigs,
    },
    templates,
    commandTimeoutMs: int(args, 'command-timeout-ms', 60_000),
    jsonFile: args.str('json'),
    svgFile: args.str('svg'),
    quiet: args.bool('quiet'),
    verbose: args.bool('verbose'),
  };
}

export async function runDrillCommand(argv: string[], io: Io, deps: { executor?: DrillOptions['executor'] } = {}): Promise<number> {
  let inv: DrillInvocation | 'help';
  try {
    inv = parseDrillArgs(argv, io);
  } catch (err) {
    if (err instanceof UsageError) { io.err(`ferry drill: ${err.message}\n\n${DRILL_USAGE}`); return 2; }
    throw err;
  }
  if (inv === 'help') { io.out(DRILL_USAGE); return 0; }
  const { options, quiet, verbose } = inv;
  const clock = () => performance.timeOrigin + performance.now();
  const commandLog: CommandRun[] = [];
  const log = (line: string) => { if (!quiet) io.err(`[drill +${((clock() - started) / 1000).toFixed(1)}s] ${line}\n`); };
  const started = clock();
  const executor = deps.executor ?? new ShellFaultExecutor({
    templates: inv.templates, commandTimeoutMs: inv.commandTimeoutMs, clock,
    onRun: (r) => { commandLog.push(r); log(`${r.what}: \`${r.command}\` exit ${r.exitCode ?? 'timeout'} in ${Math.round(r.endMs - r.startMs)} ms`); },
  });
  let result;
  try {
    result = await runDrill({ ...options, executor, commandLog, clock, log, clientLog: verbose ? (l) => io.err(`${l}\n`) : undefined });
  } catch (err) {
    io.err(`ferry drill: ${(err as Error).message}\n`);
    return 1;
  }
  const { report } = result;
  try {
    if (inv.jsonFile) writeFileSync(inv.jsonFile, toJson(report));
    if (inv.svgFile) writeFileSync(inv.svgFile, renderDrillSvg(report));
  } catch (err) {
    io.err(`ferry drill: writing the report: ${(err as Error).message}\n`);
    io.out(renderDrillReport(report));
    return 1;
  }
  io.out(renderDrillReport(report));
  return report.passed ? 0 : 1;
}
