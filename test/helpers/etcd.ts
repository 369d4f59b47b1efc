/**
 * A real etcd (Debian `etcd-server`) for tests: one member on free loopback ports, a temp data
 * dir, fast elections (--heartbeat-interval 10 --election-timeout 100), default request limits.
 * A missing etcd binary fails with MissingToolError (never skipped, under CI=true or elsewhere).
 *
 *   const etcd = await startEtcd();          // healthy when resolved
 *   etcd.endpoint                            // http://127.0.0.1:<port>
 *   await etcd.pause(); await etcd.resume(); // SIGSTOP / SIGCONT
 *   await etcd.kill(); await etcd.restart(); // SIGKILL, then start again on the same ports and data
 *   await etcd.stop();                       // kill and remove the data dir (idempotent)
 *
 * With a test context, `startEtcd(t)` stops it after the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { requireTool } from './require-tool.js';

export const ETCD_INSTALL_HINT = 'apt-get install -y etcd-server';

export interface EtcdServer {
  readonly endpoint: string;
  readonly clientPort: number;
  readonly dataDir: string;
  /** The running process id (changes on restart). */
  readonly pid: number;
  readonly paused: boolean;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** SIGKILL and wait for the exit; the data dir stays. */
  kill(): Promise<void>;
  /** Start again on the same ports and data dir; resolves when healthy. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** The last lines etcd wrote (for failure messages). */
  logTail(): string;
}

export interface StartEtcdOptions {
  /** Extra etcd flags, e.g. ['--max-request-bytes', '...']. */
  extraArgs?: string[];
  healthTimeoutMs?: number;
  /** A member of a multi-member cluster (startEtcdCluster): its name and the whole --initial-cluster. */
  member?: { name: string; initialCluster: string };
}

/** A multi-member etcd on loopback (for leader-loss drills): every member's endpoint, and its leader. */
export interface EtcdCluster {
  readonly members: EtcdServer[];
  readonly endpoints: string[];
  /** The member that is leader now (asked of the members' /v3/maintenance/status). */
  leader(): Promise<EtcdServer>;
  stop(): Promise<void>;
}

export async function startEtcdCluster(size: number, options: { healthTimeoutMs?: number } = {}): Promise<EtcdCluster> {
  const binary = requireTool('etcd', ETCD_INSTALL_HINT);
  const ports = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const initialCluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
  const members: EtcdProcess[] = [];
  for (const [i, p] of ports.entries()) {
    members.push(new EtcdProcess(binary, await mkdtemp(join(tmpdir(), 'ferry-etcd-')), p.client, p.peer, { ...options, member: { name: `m${i}`, initialCluster } }));
  }
  const stop = async () => { for (const m of members) await m.stop(); };
  try {
    // Members wait for a quorum before they are healthy: start them together.
    await Promise.all(members.map((m) => m.restart()));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    members, endpoints: members.map((m) => m.endpoint), stop,
    async leader() {
      for (const m of members) {
        try {
          const res = await fetch(`${m.endpoint}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
          const st = (await res.json()) as { header?: { member_id?: string }; leader?: string };
          if (st.leader !== undefined && st.leader === st.header?.member_id) return m;
        } catch { /* down or paused: ask the next */ }
      }
      throw new Error('no etcd member reports itself leader');
    },
  };
}

export async function startEtcd(t?: { after(fn: () => Promise<void>): void }, options: StartEtcdOptions = {}): Promise<EtcdServer> {
  const binary = requireTool('etcd', ETCD_INSTALL_HINT);
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-etcd-'));
  const server = new EtcdProcess(binary, dataDir, await freePort(), await freePort(), options);
  if (t) t.after(() => server.stop());
  try {
    await server.restart();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

class EtcdProcess implements EtcdServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private log = '';
  private stopped = false;
  paused = false;
  readonly endpoint: string;

  constructor(private readonly binary: string, readonly dataDir: string, readonly clientPort: number,
    private readonly peerPort: number, private readonly options: StartEtcdOptions) {
    this.endpoint = `http://127.0.0.1:${clientPort}`;
  }

  get pid(): number { return this.child?.pid ?? -1; }

  logTail(): string { return this.log.slice(-3000); }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error('etcd test server was stopped');
    if (this.child) throw new Error('etcd test server is already running');
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const member = this.options.member;
    const args = [
      '--name', member?.name ?? 't', '--data-dir', this.dataDir,
      '--listen-client-urls', this.endpoint, '--advertise-client-urls', this.endpoint,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', member?.initialCluster ?? `t=${peer}`,
      ...(member ? ['--initial-cluster-token', 'ferry-test'] : []),
      // A lone member elects itself at once; a real cluster needs etcd's usual timing ratio.
      '--heartbeat-interval', member ? '50' : '10', '--election-timeout', member ? '500' : '100',
      ...(this.options.extraArgs ?? []),
    ];
    const child = spawn(this.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.exited = new Promise<void>((resolve) => child.once('exit', () => {
      if (this.child === child) this.child = null;
      resolve();
    }));
    child.stderr!.on('data', (d: Buffer) => {
      this.log += d.toString('utf8');
      if (this.log.length > 200_000) this.log = this.log.slice(-100_000);
    });
    let spawnError: Error | null = null;
    child.once('error', (err) => { spawnError = err; });
    const deadline = Date.now() + (this.options.healthTimeoutMs ?? 10_000);
    for (;;) {
      if (spawnError) throw spawnError;
      if (this.child !== child) throw new Error(`etcd exited during start\n${this.logTail()}`);
      if (await this.healthy()) return;
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`etcd on ${this.endpoint} not healthy after ${this.options.healthTimeoutMs ?? 10_000} ms\n${this.logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  }

  private async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { health?: string };
      return res.ok && body.health === 'true';
    } catch {
      return false;
    }
  }

  async pause(): Promise<void> {
    if (!this.child) throw new Error('etcd is not running');
    this.child.kill('SIGSTOP');
    this.paused = true;
    // The group stop reaches each thread asynchronously: a request sent right after kill() could
    // still be answered. Wait until every thread shows state T.
    const pid = this.child.pid!;
    for (const deadline = Date.now() + 2000; Date.now() < deadline;) {
      if (allThreadsStopped(pid)) return;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  async resume(): Promise<void> {
    if (!this.child) throw new Error('etcd is not running');
    this.child.kill('SIGCONT');
    this.paused = false;
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    if (this.paused) { child.kill('SIGCONT'); this.paused = false; }
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.kill();
    this.stopped = true;
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** True when every thread of pid is stopped (state T or t in /proc). */
function allThreadsStopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return state === 'T' || state === 't';
    });
  } catch {
    return true; // gone: nothing left to answer
  }
}
