/** Runs child processes for tests: bounded in time, output collected, failures explained. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  input?: Buffer | string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class ProcessTimeoutError extends Error {
  readonly code = 'PROCESS_TIMEOUT';
  constructor(readonly command: string, readonly timeoutMs: number, readonly stderr: string, readonly stdoutTail: string) {
    super(`${command} did not finish in ${timeoutMs} ms\n--- stderr (tail) ---\n${stderr.slice(-4000)}\n--- stdout (tail) ---\n${stdoutTail}`);
    this.name = 'ProcessTimeoutError';
  }
}

export class ProcessFailedError extends Error {
  readonly code = 'PROCESS_FAILED';
  constructor(readonly command: string, readonly result: RunResult) {
    super(`${command} exited with ${result.code ?? result.signal}\n--- stderr (tail) ---\n${result.stderr.slice(-4000)}\n--- stdout (tail) ---\n${result.stdout.toString('utf8').slice(-2000)}`);
    this.name = 'ProcessFailedError';
  }
}

function describeCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ').slice(0, 300);
}

/** Runs to completion; kills with SIGKILL at the deadline and rejects with ProcessTimeoutError. */
export function runProcess(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const spawnOpts: SpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd };
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, spawnOpts);
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => { err += d.toString('utf8'); if (err.length > 1_000_000) err = err.slice(-500_000); });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      if (timedOut) reject(new ProcessTimeoutError(describeCommand(cmd, args), timeoutMs, err, stdout.toString('utf8').slice(-2000)));
      else resolve({ code, signal, stdout, stderr: err });
    });
    child.stdin!.on('error', () => { /* the child may exit before reading all input */ });
    child.stdin!.end(opts.input ?? '');
  });
}

/** Like runProcess, but a non-zero exit is an error too. */
export async function runChecked(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await runProcess(cmd, args, opts);
  if (res.code !== 0) throw new ProcessFailedError(describeCommand(cmd, args), res);
  return res;
}

/** Runs a Python script that prints one JSON object as its last stdout line; returns it parsed. */
export async function runJson<T = any>(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<T> {
  const res = await runChecked(cmd, args, opts);
  const lines = res.stdout.toString('utf8').trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`${describeCommand(cmd, args)} did not end with a JSON line:\n${res.stdout.toString('utf8').slice(-2000)}\n${res.stderr.slice(-2000)}`);
  }
}

/** A long-running child whose stdout lines are observed as they come. */
export class LineProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';
  private waiters: Array<() => void> = [];

  constructor(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
    this.child.stdout!.on('data', (d: Buffer) => {
      const parts = (this.partial + d.toString('utf8')).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      this.wake();
    });
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString('utf8'); if (this.stderr.length > 1_000_000) this.stderr = this.stderr.slice(-500_000); });
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => { this.wake(); resolve({ code, signal }); }));
  }

  get running(): boolean { return this.child.exitCode === null && this.child.signalCode === null; }

  private wake(): void { for (const w of this.waiters.splice(0)) w(); }

  /** Waits until a line (from line index `fromLine` on) satisfies `pred` (returns it); rejects on exit or timeout. */
  async waitForLine(pred: (line: string) => boolean, timeoutMs: number, fromLine = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let seen = fromLine;
    for (;;) {
      for (; seen < this.lines.length; seen++) if (pred(this.lines[seen]!)) return this.lines[seen]!;
      if (!this.running) throw new Error(`process exited before the expected line; stderr tail:\n${this.stderr.slice(-3000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no expected line in ${timeoutMs} ms; last lines: ${this.lines.slice(-5).join(' | ')}; stderr tail:\n${this.stderr.slice(-3000)}`);
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, Math.min(left, 200)); this.waiters.push(() => { clearTimeout(t); resolve(); }); });
    }
  }

  kill(sig: NodeJS.Signals = 'SIGKILL'): void { if (this.running) this.child.kill(sig); }
}
