/**
 * A real S3 server for tests: Ceph's radosgw (Debian packages ceph-mon ceph-osd radosgw
 * ceph-common) on one monitor and one in-memory OSD (memstore), no auth between the daemons,
 * everything under a temp dir, on free loopback ports. Cold start takes about 15 s, so share one
 * instance per test file:
 *
 *   const rgw = await startRadosgw();          // before(); resolves when S3 answers
 *   rgw.endpoint, rgw.accessKeyId, rgw.secretAccessKey, rgw.region
 *   await rgw.createBucket('b');
 *   await rgw.stop();                          // after(): kills rgw, osd, mon; removes the dir
 *
 * With a test context, `startRadosgw(t)` stops it after the test. If the Ceph binaries are
 * missing and we are root, they are installed with apt-get (about 15 s); otherwise (or if that
 * fails) MissingToolError. A start failure is an error with the daemons' log tails: these tests
 * fail, never skip (`.ci/run` installs the packages).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './ports.js';
import { MissingToolError, requireTool } from './require-tool.js';

export const RADOSGW_APT_PACKAGES = ['ceph-mon', 'ceph-osd', 'radosgw', 'ceph-common'];
export const RADOSGW_INSTALL_HINT = `apt-get install -y --no-install-recommends ${RADOSGW_APT_PACKAGES.join(' ')}`;
const TOOLS = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph', 'monmaptool', 'ceph-authtool'];

export interface Radosgw {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly dir: string;
  /** Pids of the rgw, osd and mon daemons. */
  readonly pids: { rgw: number; osd: number; mon: number };
  /** A client for the test's own setup (path-style, the test user's keys). */
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  /** Kill the daemons and remove the dir (idempotent). */
  stop(): Promise<void>;
  logTail(): Promise<string>;
}

export interface StartRadosgwOptions {
  /** Whole-start deadline. Default 90 s. */
  timeoutMs?: number;
  /** memstore capacity. Default 2 GiB (memory is only used as objects are written). */
  memstoreBytes?: number;
}

/** The Ceph binaries, installing the packages first when we may. */
function ensureCephInstalled(): Record<string, string> {
  const missing = () => TOOLS.filter((t) => { try { requireTool(t, RADOSGW_INSTALL_HINT); return false; } catch { return true; } });
  let absent = missing();
  if (absent.length > 0 && process.getuid?.() === 0 && process.env.FERRY_NO_APT !== '1') {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...RADOSGW_APT_PACKAGES], { env, encoding: 'utf8', timeout: 600_000 });
    let res = install();
    if (res.status !== 0) {
      spawnSync('apt-get', ['update', '-qq'], { env, timeout: 300_000 });
      res = install();
    }
    absent = missing();
    if (absent.length > 0) throw new MissingToolError(absent.join(', '), RADOSGW_INSTALL_HINT, `apt-get failed: ${(res.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  } else if (absent.length > 0) {
    throw new MissingToolError(absent.join(', '), RADOSGW_INSTALL_HINT, 'not on PATH');
  }
  return Object.fromEntries(TOOLS.map((t) => [t, requireTool(t, RADOSGW_INSTALL_HINT)]));
}

export async function startRadosgw(t?: { after(fn: () => Promise<void>): void }, options: StartRadosgwOptions = {}): Promise<Radosgw> {
  const bin = ensureCephInstalled();
  // One more try on fresh ports and a fresh dir: a port picked free can be taken meanwhile.
  for (let attempt = 1; ; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-rgw-'));
    const server = new RadosgwProcesses(bin, dir, options);
    // Two clusters bootstrapping at the same moment (test files run two at a time) have been
    // seen to confuse an OSD's first contact with its monitor: start one at a time.
    const unlock = await startLock();
    try {
      await server.start();
      unlock();
      if (t) t.after(() => server.stop());
      return server;
    } catch (err) {
      unlock();
      const tail = await server.logTail();
      await server.stop();
      if (attempt >= 3) throw new Error(`radosgw did not start (attempt ${attempt}): ${(err as Error).message}\n${tail}`, { cause: err });
      process.stderr.write(`radosgw start attempt ${attempt} failed, retrying: ${(err as Error).message.slice(0, 500)}\n`);
    }
  }
}

/** A machine-wide lock (an atomic mkdir) held while one radosgw bootstraps; stale after 2 min. */
async function startLock(): Promise<() => void> {
  const path = join(tmpdir(), 'ferry-radosgw-start.lock');
  for (const deadline = Date.now() + 180_000; ;) {
    try {
      mkdirSync(path);
      return () => { try { rmdirSync(path); } catch { /* already gone */ } };
    } catch {
      try { if (Date.now() - statSync(path).mtimeMs > 120_000) rmdirSync(path); } catch { /* raced */ }
      if (Date.now() > deadline) throw new Error(`could not take ${path} to start radosgw`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Daemons that may outlive a crashed test process are killed when it exits. */
const live = new Set<ChildProcess>();
process.once('exit', () => { for (const c of live) c.kill('SIGKILL'); });

class RadosgwProcesses implements Radosgw {
  readonly region = 'us-east-1';
  readonly accessKeyId = `FERRY${randomBytes(8).toString('hex').toUpperCase()}`;
  readonly secretAccessKey = randomBytes(24).toString('base64url');
  endpoint = '';
  private readonly conf: string;
  private readonly children: { mon?: ChildProcess; osd?: ChildProcess; rgw?: ChildProcess } = {};
  private stopped = false;
  private readonly deadline: number;

  constructor(private readonly bin: Record<string, string>, readonly dir: string, private readonly options: StartRadosgwOptions) {
    this.conf = join(dir, 'ceph.conf');
    this.deadline = Date.now() + (options.timeoutMs ?? 90_000);
  }

  get pids(): { rgw: number; osd: number; mon: number } {
    return { rgw: this.children.rgw?.pid ?? -1, osd: this.children.osd?.pid ?? -1, mon: this.children.mon?.pid ?? -1 };
  }

  async start(): Promise<void> {
    const d = this.dir;
    const monPort = await freePort();
    const rgwPort = await freePort();
    this.endpoint = `http://127.0.0.1:${rgwPort}`;
    const fsid = randomUUID();
    await Promise.all(['mon', 'osd0', 'run', 'log', 'rgw'].map((s) => mkdir(join(d, s), { recursive: true })));
    await writeFile(this.conf, [
      '[global]',
      `fsid = ${fsid}`,
      `mon host = [v1:127.0.0.1:${monPort}]`,
      'public network = 127.0.0.0/8',
      'ms bind ipv6 = false',
      'auth cluster required = none',
      'auth service required = none',
      'auth client required = none',
      'osd pool default size = 1',
      'osd pool default min size = 1',
      'mon allow pool size one = true',
      'mon warn on pool no redundancy = false',
      'osd crush chooseleaf type = 0',
      'osd pool default pg autoscale mode = off',
      'osd pool default pg num = 8',
      'osd pool default pgp num = 8',
      'mon max pg per osd = 1000',
      `run dir = ${d}/run`,
      `admin socket = ${d}/run/$name.asok`,
      `log file = ${d}/log/$name.log`,
      `pid file = ${d}/run/$name.pid`,
      `keyring = ${d}/keyring`,
      '[mon]',
      `mon data = ${d}/mon/$id`,
      '[osd]',
      `osd data = ${d}/osd$id`,
      'osd objectstore = memstore',
      `memstore device bytes = ${this.options.memstoreBytes ?? 2 * 1024 ** 3}`,
      'osd max object name len = 460',
      'osd max object namespace len = 64',
      '[client.rgw.a]',
      `rgw frontends = beast endpoint=127.0.0.1:${rgwPort}`,
      `rgw data = ${d}/rgw`,
      '',
    ].join('\n'));
    const c = ['-c', this.conf];
    await this.run(this.bin.monmaptool!, ['--create', '--addv', 'a', `[v1:127.0.0.1:${monPort}]`, '--fsid', fsid, join(d, 'monmap')]);
    await this.run(this.bin['ceph-authtool']!, ['--create-keyring', join(d, 'keyring'), '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    await this.run(this.bin['ceph-mon']!, [...c, '--mkfs', '-i', 'a', '--monmap', join(d, 'monmap'), '--keyring', join(d, 'keyring')]);
    this.children.mon = this.daemon('mon', this.bin['ceph-mon']!, [...c, '-f', '-i', 'a']);
    const osdUuid = randomUUID();
    const id = (await this.run(this.bin.ceph!, [...c, 'osd', 'new', osdUuid])).trim();
    if (id !== '0') throw new Error(`ceph osd new returned ${JSON.stringify(id)}`);
    await this.run(this.bin['ceph-osd']!, [...c, '-i', '0', '--mkfs', '--osd-uuid', osdUuid]);
    await this.run(this.bin.ceph!, [...c, 'osd', 'crush', 'add-bucket', 'localhost', 'host']);
    await this.run(this.bin.ceph!, [...c, 'osd', 'crush', 'move', 'localhost', 'root=default']);
    await this.run(this.bin.ceph!, [...c, 'osd', 'crush', 'add', 'osd.0', '1.0', 'host=localhost']);
    this.children.osd = this.daemon('osd', this.bin['ceph-osd']!, [...c, '-f', '-i', '0']);
    await this.until('the OSD is up', async () => /\b1 up\b/.test(await this.run(this.bin.ceph!, [...c, 'osd', 'stat'])));
    this.children.rgw = this.daemon('rgw', this.bin.radosgw!, [...c, '-f', '-n', 'client.rgw.a']);
    await this.until('radosgw answers HTTP', async () => {
      try {
        await fetch(this.endpoint, { signal: AbortSignal.timeout(1000) });
        return true;
      } catch {
        return false;
      }
    });
    await this.run(this.bin['radosgw-admin']!, [...c, '-n', 'client.rgw.a', 'user', 'create', '--uid=ferry', '--display-name=ferry',
      `--access-key=${this.accessKeyId}`, `--secret=${this.secretAccessKey}`]);
  }

  client(): S3Client {
    return new S3Client({
      endpoint: this.endpoint, region: this.region, forcePathStyle: true,
      credentials: { accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey },
    });
  }

  async createBucket(name: string): Promise<void> {
    const client = this.client();
    try {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    } finally {
      client.destroy();
    }
  }

  private daemon(name: string, binary: string, args: string[]): ChildProcess {
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(child);
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => { stderr = (stderr + b.toString('utf8')).slice(-4000); });
    child.once('exit', (code, signal) => {
      live.delete(child);
      if (!this.stopped) this.exitNote += `\n${name} exited (code ${code}, signal ${signal}): ${stderr.trim().slice(-1000)}`;
    });
    child.once('error', (err) => { this.exitNote += `\n${name}: ${err.message}`; });
    return child;
  }

  private exitNote = '';

  /** Runs a command to completion; rejects with its output on a non-zero exit. */
  private run(binary: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(1000, this.deadline - Date.now()));
      child.stdout!.on('data', (b: Buffer) => { out += b.toString('utf8'); });
      child.stderr!.on('data', (b: Buffer) => { err += b.toString('utf8'); });
      child.once('error', (e) => { clearTimeout(timer); reject(e); });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(out);
        else reject(new Error(`${binary} ${args.filter((a) => !a.startsWith('--secret')).join(' ')} failed (code ${code}, signal ${signal}): ${(err || out).trim().slice(-1500)}`));
      });
    });
  }

  private async until(what: string, check: () => Promise<boolean>): Promise<void> {
    for (;;) {
      if (this.exitNote) throw new Error(`waiting until ${what}:${this.exitNote}`);
      try {
        if (await check()) return;
      } catch { /* not yet */ }
      if (Date.now() > this.deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async logTail(): Promise<string> {
    const out: string[] = [];
    for (const name of ['mon.a', 'osd.0', 'client.rgw.a']) {
      try {
        const text = await readFile(join(this.dir, 'log', `${name}.log`), 'utf8');
        out.push(`--- ${name}.log (tail)\n${text.slice(-1500)}`);
      } catch { /* no log */ }
    }
    return out.join('\n') + this.exitNote;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // rgw first (it talks to the OSD), then the OSD, then the monitor.
    for (const name of ['rgw', 'osd', 'mon'] as const) {
      const child = this.children[name];
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
