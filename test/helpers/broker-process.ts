/**
 * Runs a real Ferry broker as a child process (the same entry point as `npm start`, on the
 * TypeScript sources through tsx) on a free loopback port with its own data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface BrokerProcessOptions {
  /** Extra config as key=value (e.g. { 'num.partitions': '3' }). */
  config?: Record<string, string>;
  dataDir?: string;
  port?: number;
  /** Echo the broker's log to this process's stderr. */
  verbose?: boolean;
  /** Extra environment (e.g. FERRY_CRASH_POINT for crash-point tests). */
  env?: Record<string, string>;
}

export class BrokerProcess {
  private child: ChildProcess | null = null;
  private output = '';
  readonly dataDir: string;
  readonly ownsDataDir: boolean;
  port = 0;

  /** Environment for the next start() (tests change it between restarts). */
  envOverride: Record<string, string>;

  constructor(private readonly options: BrokerProcessOptions = {}) {
    this.envOverride = { ...(options.env ?? {}) };
    this.ownsDataDir = !options.dataDir;
    this.dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'ferry-test-'));
  }

  get bootstrap(): string { return `127.0.0.1:${this.port}`; }
  get logs(): string { return this.output; }
  get pid(): number | undefined { return this.child?.pid; }
  /** True while the broker process started by start() has not exited. */
  /** The exit code once the process ended on its own (e.g. 70 after a fatal error); null while running or when signalled. */
  get exitCode(): number | null { return this.child?.exitCode ?? null; }
  get running(): boolean { return this.child !== null && this.child.exitCode === null && this.child.signalCode === null; }

  /** Start and wait until the broker logs that it listens. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (!this.port) this.port = this.options.port ?? await freePort();
    const args = [
      '--conditions=ferry-source', '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'broker',
      `--listeners=PLAINTEXT://127.0.0.1:${this.port}`,
      `--data.dir=${this.dataDir}`,
      '--wal.capacity.bytes=268435456',
      '--group.initial.rebalance.delay.ms=0',
      ...Object.entries(this.options.config ?? {}).map(([k, v]) => `--${k}=${v}`),
    ];
    // On a restart the earlier run's "broker ready" is still in `output`: only look past it.
    const readyFrom = this.output.length;
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_LOG_LEVEL: process.env.FERRY_LOG_LEVEL ?? 'info', ...this.envOverride } });
    this.child = child;
    const onData = (d: Buffer) => {
      this.output += d.toString();
      if (this.options.verbose) process.stderr.write(d);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); child.kill('SIGKILL'); reject(new Error(`broker did not start in ${timeoutMs} ms:\n${this.output.slice(readyFrom)}`)); }, timeoutMs);
      const check = () => { if (this.output.indexOf('"msg":"broker ready"', readyFrom) >= 0) { cleanup(); resolve(); } };
      const onExit = (code: number | null, signal: string | null) => { cleanup(); reject(new Error(`broker exited (${code ?? signal}) before ready:\n${this.output.slice(readyFrom)}`)); };
      const cleanup = () => { clearTimeout(timer); child.stdout!.off('data', check); child.stderr!.off('data', check); child.off('exit', onExit); };
      child.stdout!.on('data', check);
      child.stderr!.on('data', check);
      child.once('exit', onExit);
      check();
    });
  }

  /** SIGKILL, like a crash. */
  async kill(): Promise<void> { await this.signal('SIGKILL'); }

  /** SIGTERM, a graceful stop. Returns the exit code. */
  async stop(): Promise<number | null> { return this.signal('SIGTERM'); }

  private signal(sig: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child?.exitCode ?? null);
    return new Promise((resolve) => {
      child.once('exit', (code) => { this.child = null; resolve(code); });
      child.kill(sig);
    });
  }

  /** Stop (if running) and remove the data directory if this object created it. */
  async dispose(): Promise<void> {
    await this.kill();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}
