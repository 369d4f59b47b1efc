// How a drill injects faults. The CLI runs operator command templates with /bin/sh -c; tests can
// inject an executor that drives processes directly. Every command run is kept for the report.
import { spawn } from 'node:child_process';
import { expandTemplate } from './template.js';

export type DrillSignal = 'KILL' | 'STOP' | 'CONT';

export interface BrokerTarget {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface CommandRun {
  what: string;
  command: string;
  exitCode: number | null;
  /** Wall-clock ms (same clock as the drill). */
  startMs: number;
  endMs: number;
  /** Last bytes of stdout+stderr. */
  output: string;
}

export class FaultCommandError extends Error {
  readonly code = 'FAULT_COMMAND_FAILED';
  constructor(readonly run: CommandRun) {
    super(`${run.what} failed (exit ${run.exitCode ?? 'timeout'}): ${run.command}${run.output ? `\n${run.output.trimEnd()}` : ''}`);
    this.name = 'FaultCommandError';
  }
}

/** What a scenario asks of the outside world. Each method resolves when its action returned. */
export interface FaultExecutor {
  signalBroker(broker: BrokerTarget, signal: DrillSignal): Promise<void>;
  restartBroker(broker: BrokerTarget): Promise<void>;
  killEtcdLeader(): Promise<void>;
  restartEtcd(): Promise<void>;
}

export interface ShellTemplates {
  killCmd?: string;
  restartCmd?: string;
  etcdKillCmd?: string;
  etcdRestartCmd?: string;
}

export interface ShellExecutorOptions {
  templates: ShellTemplates;
  /** A command still running after this is killed and counts as failed. */
  commandTimeoutMs: number;
  clock: () => number;
  /** Every finished command (the drill's report lists them). */
  onRun?: (run: CommandRun) => void;
  shell?: string;
}

const OUTPUT_BYTES_MAX = 4096;

/** Runs one shell command; resolves with its CommandRun (never rejects). */
export function runShell(what: string, command: string, opts: { timeoutMs: number; clock: () => number; shell?: string }): Promise<CommandRun> {
  const startMs = opts.clock();
  return new Promise((resolve) => {
    // Own process group, so a timeout kills what the command started in the foreground too.
    const child = spawn(opts.shell ?? '/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const keep = (d: Buffer) => { output = (output + d.toString('utf8')).slice(-OUTPUT_BYTES_MAX); };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
    }, opts.timeoutMs);
    const finish = (code: number | null) => {
      clearTimeout(timer);
      // A command may leave a background process (a restarted broker) holding our pipes: stop reading.
      child.stdout!.destroy();
      child.stderr!.destroy();
      resolve({ what, command, exitCode: timedOut ? null : code, startMs, endMs: opts.clock(), output });
    };
    child.once('error', (err) => { output += String(err); finish(127); });
    child.once('exit', (code, signal) => finish(code ?? (signal ? 128 : 1)));
  });
}

/** The CLI's executor: expands the templates and runs them with /bin/sh -c. */
export class ShellFaultExecutor implements FaultExecutor {
  constructor(private readonly opts: ShellExecutorOptions) {}

  async signalBroker(b: BrokerTarget, signal: DrillSignal): Promise<void> {
    await this.run(`signal ${signal} broker ${b.nodeId}`, this.need('killCmd', '--kill-cmd'), { id: b.nodeId, host: b.host, port: b.port, rack: b.rack, signal });
  }

  /** Without --restart-cmd this does nothing: a supervisor (systemd, Kubernetes) restarts the broker. */
  async restartBroker(b: BrokerTarget): Promise<void> {
    if (!this.opts.templates.restartCmd) return;
    await this.run(`restart broker ${b.nodeId}`, this.opts.templates.restartCmd, { id: b.nodeId, host: b.host, port: b.port, rack: b.rack });
  }

  async killEtcdLeader(): Promise<void> {
    await this.run('kill etcd leader', this.need('etcdKillCmd', '--etcd-kill-cmd'), {});
  }

  async restartEtcd(): Promise<void> {
    await this.run('restart etcd', this.need('etcdRestartCmd', '--etcd-restart-cmd'), {});
  }

  private need(key: keyof ShellTemplates, flag: string): string {
    const t = this.opts.templates[key];
    if (!t) throw new Error(`${flag} is needed for this step`);
    return t;
  }

  private async run(what: string, template: string, values: Parameters<typeof expandTemplate>[1]): Promise<void> {
    const command = expandTemplate(template, values);
    const run = await runShell(what, command, { timeoutMs: this.opts.commandTimeoutMs, clock: this.opts.clock, shell: this.opts.shell });
    this.opts.onRun?.(run);
    if (run.exitCode !== 0) throw new FaultCommandError(run);
  }
}
