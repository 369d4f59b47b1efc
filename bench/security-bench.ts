// npm run bench:security [-- --seconds=10 --size=1024 --partitions=4 --rate=1000 --connections=200 --repeat=3 --json=FILE
//                             --protocols=PLAINTEXT,SSL,SASL_PLAINTEXT,SASL_SSL --flood-connections=32]
//
// What TLS and SASL cost, in one run on one broker with PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL
// listeners (test PKI from test/helpers/certs.ts; SCRAM credentials set with AlterUserScramCredentials,
// PLAIN users in the listener's JAAS, OAUTHBEARER with unsecured tokens):
//   1. produce (full speed, acks=all) and fetch MB/s over PLAINTEXT, SSL and SASL_SSL (SCRAM-SHA-256)
//      with Ferry's own perf client (src/perf, as `ferry perf --command-config`), plus produce latency
//      paced at --rate records/s (no client queue in the p99); the generator's and the broker's CPU
//      beside each row (a generator near 100% of a core is the bottleneck, not the broker);
//   2. connection set-up (TCP, TLS, ApiVersions, SASL) p50/p99 over --connections sequential
//      connections per mechanism, and ratios against PLAINTEXT;
//   3. a wrong-password flood: the paced produce over PLAINTEXT, alone and while another process
//      (bench/auth-flood.ts) logs in over SASL_PLAINTEXT with PLAIN and a wrong password for a
//      SCRAM-only user from --flood-connections loops (each check is PBKDF2, on the libuv pool the
//      WAL's fsyncs share); the refusals per second beside it;
//   4. the machine's own limits, same run: AES-256-GCM MB/s on one core, loopback TCP and TLS MB/s
//      and a bare TLS handshake (Node on both ends, one process), PBKDF2 for SCRAM's 4096 iterations,
//      and the disk's 4 KiB write+fdatasync.
import { procCpuMs } from './proc-cpu.js';
import { createCipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, connect as tcpConnect, type Socket } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaConnection, type ConnectionOptions } from '../src/admin/kafka-connection.js';
import { AdminClient } from '../src/admin/admin-client.js';
import type { ClientSecurity } from '../src/admin/client-security.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { errorName } from '../src/protocol/errors.js';
import { LatencyRecorder, type LatencySummary } from '../src/perf/latency.js';
import { measureDisk } from '../src/perf/disk.js';
import { runProduce } from '../src/perf/producer.js';
import { runConsume } from '../src/perf/consumer.js';
import type { PerfReport } from '../src/perf/report.js';
import { BrokerProcess } from '../test/helpers/broker-process.js';
import { freePort } from '../test/helpers/ports.js';
import { testPki } from '../test/helpers/certs.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const log = (msg: string) => process.stderr.write(`security-bench: ${msg}\n`);
const MB = 1024 * 1024;

const USER = 'bench';
/** SCRAM credentials only (not a JAAS PLAIN user): a PLAIN login as it costs PBKDF2. */
const SCRAM_ONLY_USER = 'bench-scram-only';
const PASSWORD = 'bench-secret';
const SCRAM_ITERATIONS = 4096;

const selfCpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

/** CPU of this process (the load generator) and of the broker, as fractions of one core, over f. */
async function withCpu<T>(brokerPid: number, f: () => Promise<T>): Promise<{ value: T; genCpu: number; brokerCpu: number; wallS: number }> {
  const g0 = selfCpuMs();
  const b0 = procCpuMs(brokerPid);
  const t0 = performance.now();
  const value = await f();
  const wallMs = performance.now() - t0;
  return { value, genCpu: (selfCpuMs() - g0) / wallMs, brokerCpu: (procCpuMs(brokerPid) - b0) / wallMs, wallS: wallMs / 1000 };
}

// ---- the machine's own limits -------------------------------------------------------------------

function aesGcmMbPerSec(): number {
  const key = randomBytes(32);
  const chunk = randomBytes(64 * 1024);
  const t0 = performance.now();
  let bytes = 0;
  while (performance.now() - t0 < 1000) {
    const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
    for (let i = 0; i < 64; i++) c.update(chunk);
    c.final();
    bytes += 64 * chunk.length;
  }
  return bytes / MB / ((performance.now() - t0) / 1000);
}

/** Bytes/s a client pushes to a server that discards them, both in this process. */
async function loopbackMbPerSec(tls: { key: string; cert: string; ca: string } | null, totalBytes = 512 * MB): Promise<number> {
  const server = tls ? createTlsServer({ key: tls.key, cert: tls.cert }, (s) => s.resume()) : createTcpServer((s) => s.resume());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const sock: Socket = await new Promise((resolve, reject) => {
    const s = tls ? tlsConnect({ host: '127.0.0.1', port, ca: tls.ca, servername: 'localhost' }, () => resolve(s)) : tcpConnect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  const chunk = randomBytes(256 * 1024);
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < totalBytes) {
        sent += chunk.length;
        if (!sock.write(chunk)) { sock.once('drain', pump); return; }
      }
      sock.end(resolve);
    };
    pump();
  });
  const mbps = sent / MB / ((performance.now() - t0) / 1000);
  sock.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return mbps;
}

async function bareTlsHandshake(tls: { key: string; cert: string; ca: string }, n: number): Promise<LatencySummary> {
  const server = createTlsServer({ key: tls.key, cert: tls.cert }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const rec = new LatencyRecorder();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca: tls.ca, servername: 'localhost' }, () => { rec.record(performance.now() - t0); s.destroy(); resolve(); });
      s.once('error', reject);
    });
  }
  await new Promise<void>((r) => server.close(() => r()));
  return rec.summary();
}

function pbkdf2Ms(digest: 'sha256' | 'sha512'): number {
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) pbkdf2Sync(PASSWORD, randomBytes(16), SCRAM_ITERATIONS, digest === 'sha256' ? 32 : 64, digest);
  return (performance.now() - t0) / 20;
}

// ---- the broker -----------------------------------------------------------------------------------

type Protocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
type Listeners = Partial<Record<Protocol, string>> & { PLAINTEXT: string };

/** One listener per protocol asked for (PLAINTEXT always: topics and SCRAM users are set up over it). */
async function startBroker(pki: ReturnType<typeof testPki>, protocols: Protocol[]): Promise<{ broker: BrokerProcess; listeners: Listeners }> {
  const ports = new Map<Protocol, number>();
  for (const p of new Set<Protocol>(['PLAINTEXT', ...protocols])) {
    // freePort may hand out a port it just gave (it is free again until the broker binds it).
    let port = await freePort();
    while ([...ports.values()].includes(port)) port = await freePort();
    ports.set(p, port);
  }
  const list = [...ports].map(([name, port]) => `${name}://127.0.0.1:${port}`).join(',');
  const plainJaas = `org.apache.kafka.common.security.plain.PlainLoginModule required user_${USER}="${PASSWORD}";`;
  const broker = new BrokerProcess({
    port: ports.get('PLAINTEXT'),
    env: { FERRY_LOG_LEVEL: process.env.FERRY_LOG_LEVEL ?? 'info' },
    config: {
      'listeners': list,
      'advertised.listeners': list,
      'inter.broker.listener.name': 'PLAINTEXT',
      'ssl.keystore.location': pki.server.keystorePath,
      'ssl.truststore.location': pki.ca.certPath,
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
      'wal.capacity.bytes': '2147483648',
      ...Object.fromEntries([...ports.keys()].filter((p) => p.startsWith('SASL_')).map((p) => [`listener.name.${p.toLowerCase()}.plain.sasl.jaas.config`, plainJaas])),
    },
  });
  await broker.start(60_000);
  const listeners = Object.fromEntries([...ports].map(([name, port]) => [name, `127.0.0.1:${port}`])) as Listeners;
  return { broker, listeners };
}

/** SCRAM-SHA-256/512 credentials for USER, as kafka-configs --alter --add-config 'SCRAM-SHA-256=[...]' sets them. */
async function createScramUser(plaintext: string, user: string): Promise<string | null> {
  const conn = await KafkaConnection.connect(plaintext, { clientId: 'security-bench' });
  try {
    // One request per mechanism: Kafka refuses two alterations of one user in a request.
    for (const [mechanism, digest, len] of [[1, 'sha256', 32], [2, 'sha512', 64]] as const) {
      const salt = randomBytes(16);
      const upsertions = [{ name: user, mechanism, iterations: SCRAM_ITERATIONS, salt, saltedPassword: pbkdf2Sync(PASSWORD, salt, SCRAM_ITERATIONS, len, digest) }];
      const res: any = await conn.request(ApiKey.AlterUserScramCredentials, 0, { deletions: [], upsertions });
      const bad = res.results.find((r: any) => r.errorCode !== 0);
      if (bad) return `AlterUserScramCredentials: ${errorName(bad.errorCode)}${bad.errorMessage ? ` (${bad.errorMessage})` : ''}`;
    }
    return null;
  } catch (err) {
    return `AlterUserScramCredentials: ${(err as Error).message}`;
  } finally { conn.close(); }
}

// ---- runs --------------------------------------------------------------------------------------

interface Case { name: string; address: string | undefined; security: ClientSecurity }

interface ThroughputRow {
  listener: string;
  produce?: PerfReport & { genCpu: number; brokerCpu: number };
  fetch?: PerfReport & { genCpu: number; brokerCpu: number };
  paced?: PerfReport & { genCpu: number; brokerCpu: number };
  error?: string;
  /** Rounds run; this row is the median one. */
  rounds?: number;
}

interface ConnectRow { mechanism: string; latency?: LatencySummary; genCpuMsPerConn?: number; brokerCpuMsPerConn?: number; error?: string }

/** The round with the median produce MB/s (failed rounds last). */
function medianRow(rows: ThroughputRow[]): ThroughputRow {
  const ok = rows.filter((r) => !r.error && r.produce).sort((a, b) => a.produce!.mbPerSec - b.produce!.mbPerSec);
  return ok.length > 0 ? { ...ok[Math.floor((ok.length - 1) / 2)]!, rounds: rows.length } : rows[0]!;
}

async function throughput(c: Case, admin: AdminClient, brokerPid: number, o: { seconds: number; size: number; partitions: number; rate: number; round: number }): Promise<ThroughputRow> {
  const topic = `security-bench-${c.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${o.round}`;
  const row: ThroughputRow = { listener: c.name };
  if (c.address === undefined) return { ...row, error: 'listener not configured (--protocols)' };
  const address = c.address;
  try {
    await admin.createTopic(topic, o.partitions, 1);
    const common = { bootstrap: address, topic, recordSizeBytes: o.size, acks: -1 as const, compression: 'none' as const, security: c.security };
    const p = await withCpu(brokerPid, () => runProduce({ ...common, durationSec: o.seconds, throughput: -1, concurrency: 5, batchRecords: Math.max(1, Math.floor(16384 / o.size)) }));
    row.produce = { ...p.value, genCpu: p.genCpu, brokerCpu: p.brokerCpu };
    log(`${c.name}: produce ${p.value.mbPerSec.toFixed(1)} MB/s p99 ${p.value.latency.p99Ms.toFixed(1)} ms (gen ${(p.genCpu * 100).toFixed(0)}%, broker ${(p.brokerCpu * 100).toFixed(0)}%)`);
    const f = await withCpu(brokerPid, () => runConsume({ bootstrap: address, topic, from: 'earliest', numRecords: p.value.records, fetchSizeBytes: 1 << 20, maxWaitMs: 100, idleTimeoutMs: 5000, security: c.security }));
    row.fetch = { ...f.value, genCpu: f.genCpu, brokerCpu: f.brokerCpu };
    log(`${c.name}: fetch ${f.value.mbPerSec.toFixed(1)} MB/s p99 ${f.value.latency.p99Ms.toFixed(1)} ms (gen ${(f.genCpu * 100).toFixed(0)}%, broker ${(f.brokerCpu * 100).toFixed(0)}%)`);
    const q = await withCpu(brokerPid, () => runProduce({ ...common, durationSec: Math.max(2, o.seconds / 2), throughput: o.rate, concurrency: 5, batchRecords: 1 }));
    row.paced = { ...q.value, genCpu: q.genCpu, brokerCpu: q.brokerCpu };
    log(`${c.name}: paced ${o.rate}/s p50 ${q.value.latency.p50Ms.toFixed(2)} ms p99 ${q.value.latency.p99Ms.toFixed(2)} ms`);
  } catch (err) {
    row.error = (err as Error).message;
    log(`${c.name}: failed: ${row.error}`);
  }
  return row;
}

async function connectionSetup(c: Case, n: number, brokerPid: number): Promise<ConnectRow> {
  const rec = new LatencyRecorder();
  const opts: ConnectionOptions & { security?: ClientSecurity } = { clientId: 'security-bench', connectTimeoutMs: 10_000, requestTimeoutMs: 10_000, security: c.security };
  if (c.address === undefined) return { mechanism: c.name, error: 'listener not configured (--protocols)' };
  const address = c.address;
  try {
    // A few warm-up connections: JIT, the broker's first-connection paths.
    for (let i = 0; i < 5; i++) (await KafkaConnection.connect(address, opts)).close();
    const r = await withCpu(brokerPid, async () => {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const conn = await KafkaConnection.connect(address, opts);
        rec.record(performance.now() - t0);
        conn.close();
      }
    });
    const lat = rec.summary();
    log(`connect ${c.name}: p50 ${lat.p50Ms.toFixed(2)} ms p99 ${lat.p99Ms.toFixed(2)} ms`);
    return { mechanism: c.name, latency: lat, genCpuMsPerConn: (r.genCpu * r.wallS * 1000) / n, brokerCpuMsPerConn: (r.brokerCpu * r.wallS * 1000) / n };
  } catch (err) {
    log(`connect ${c.name}: failed: ${(err as Error).message}`);
    return { mechanism: c.name, error: (err as Error).message };
  }
}

interface FloodRow { phase: string; paced?: PerfReport & { genCpu: number; brokerCpu: number }; refusedPerSec?: number; floodOther?: number; error?: string }

/** Paced produce over PLAINTEXT alone, then with the wrong-password flood running beside it. */
async function floodRows(plaintext: string, sasl: string, brokerPid: number, o: { seconds: number; size: number; rate: number; connections: number }): Promise<FloodRow[]> {
  const admin = await AdminClient.connect({ bootstrap: [plaintext], clientId: 'security-bench' });
  const rows: FloodRow[] = [];
  try {
    for (const phase of ['no flood', `flood of ${o.connections} wrong-password PLAIN logins`]) {
      const topic = `security-bench-flood-${rows.length}`;
      await admin.createTopic(topic, 1, 1);
      const flooding = phase !== 'no flood';
      const child = flooding
        ? spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL('./auth-flood.ts', import.meta.url)),
          `--address=${sasl}`, `--user=${SCRAM_ONLY_USER}`, `--seconds=${o.seconds + 2}`, `--connections=${o.connections}`], { stdio: ['ignore', 'pipe', 'inherit'] })
        : null;
      let out = '';
      child?.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
      const exited = child ? new Promise<void>((resolve) => child.once('exit', () => resolve())) : Promise.resolve();
      if (child) await new Promise((r) => setTimeout(r, 1000)); // the flood is under way first
      const row: FloodRow = { phase };
      try {
        const q = await withCpu(brokerPid, () => runProduce({
          bootstrap: plaintext, topic, recordSizeBytes: o.size, acks: -1, compression: 'none', security: { protocol: 'PLAINTEXT' },
          durationSec: o.seconds, throughput: o.rate, concurrency: 5, batchRecords: 1,
        }));
        row.paced = { ...q.value, genCpu: q.genCpu, brokerCpu: q.brokerCpu };
      } catch (err) {
        row.error = (err as Error).message;
      }
      await exited;
      if (child) {
        const r = JSON.parse(out.trim().split('\n').pop() || '{}') as { refused?: number; other?: number; firstOther?: string | null };
        row.refusedPerSec = (r.refused ?? 0) / (o.seconds + 2);
        row.floodOther = r.other;
        if (r.firstOther) log(`flood: ${r.other} not refused as expected (first: ${r.firstOther})`);
      }
      log(`${phase}: paced p50 ${row.paced?.latency.p50Ms.toFixed(2)} ms p99 ${row.paced?.latency.p99Ms.toFixed(2)} ms${row.refusedPerSec !== undefined ? `, ${row.refusedPerSec.toFixed(0)} refusals/s` : ''}`);
      rows.push(row);
    }
  } finally {
    admin.close();
  }
  return rows;
}

/** A hand-made unsecured OAUTHBEARER token (alg none), fresh per authentication. */
function unsecuredToken(): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const iat = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none' })}.${b64({ sub: USER, iat, exp: iat + 3600 })}.`;
}

async function main(): Promise<void> {
  const seconds = Number(opt('seconds', '10'));
  const size = Number(opt('size', '1024'));
  const partitions = Number(opt('partitions', '4'));
  const rate = Number(opt('rate', '1000'));
  const connections = Number(opt('connections', '200'));
  const repeat = Math.max(1, Number(opt('repeat', '3')));
  const floodConnections = Number(opt('flood-connections', '32'));
  const jsonFile = argv.find((a) => a.startsWith('--json='))?.slice(7);
  const protocols = opt('protocols', 'PLAINTEXT,SSL,SASL_PLAINTEXT,SASL_SSL').split(',').map((p) => p.trim().toUpperCase()) as Protocol[];
  for (const p of protocols) if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(p)) throw new Error(`--protocols: unknown protocol ${p}`);

  const pki = testPki();
  const tlsFiles = { key: pki.server.keyPem, cert: pki.server.certPem, ca: pki.ca.certPem };
  log('machine limits ...');
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-security-bench-'));
  const machine = {
    aes256GcmMbPerSec: aesGcmMbPerSec(),
    loopbackTcpMbPerSec: await loopbackMbPerSec(null),
    loopbackTlsMbPerSec: await loopbackMbPerSec(tlsFiles, 256 * MB),
    bareTlsHandshake: await bareTlsHandshake(tlsFiles, connections),
    pbkdf2Sha256Ms: pbkdf2Ms('sha256'),
    pbkdf2Sha512Ms: pbkdf2Ms('sha512'),
    disk: measureDisk(dataDir, { syncWrites: 300, sequentialBytes: 32 * MB }),
  };
  rmSync(dataDir, { recursive: true, force: true });
  log(`AES-256-GCM ${machine.aes256GcmMbPerSec.toFixed(0)} MB/s; loopback TCP ${machine.loopbackTcpMbPerSec.toFixed(0)} MB/s, TLS ${machine.loopbackTlsMbPerSec.toFixed(0)} MB/s; TLS handshake p50 ${machine.bareTlsHandshake.p50Ms.toFixed(2)} ms`);

  const { broker, listeners } = await startBroker(pki, protocols);
  const tls = { ca: pki.ca.certPem, verifyHostname: true };
  const scram = (m: 'SCRAM-SHA-256' | 'SCRAM-SHA-512') => ({ mechanism: m, username: USER, password: PASSWORD });
  try {
    const scramError = listeners.SASL_PLAINTEXT || listeners.SASL_SSL
      ? (await createScramUser(listeners.PLAINTEXT, USER)) ?? (await createScramUser(listeners.PLAINTEXT, SCRAM_ONLY_USER)) : null;
    if (scramError) log(`SCRAM user not created: ${scramError}`);
    const admin = await AdminClient.connect({ bootstrap: [listeners.PLAINTEXT], clientId: 'security-bench' });
    const pid = broker.pid!;
    // Rounds over the listeners (a shared machine drifts): each listener's median round by produce MB/s.
    const cases = [
      { name: 'PLAINTEXT', address: listeners.PLAINTEXT, security: { protocol: 'PLAINTEXT' } },
      { name: 'SSL', address: listeners.SSL, security: { protocol: 'SSL', tls } },
      { name: 'SASL_SSL SCRAM-SHA-256', address: listeners.SASL_SSL, security: { protocol: 'SASL_SSL', tls, sasl: scram('SCRAM-SHA-256') } },
    ] as Case[];
    const rounds = new Map<string, ThroughputRow[]>(cases.map((c) => [c.name, []]));
    for (let r = 0; r < repeat; r++) {
      for (const c of cases) rounds.get(c.name)!.push(await throughput({ ...c }, admin, pid, { seconds, size, partitions, rate, round: r }));
    }
    const tput = cases.map((c) => medianRow(rounds.get(c.name)!));
    admin.close();

    const conns: ConnectRow[] = [];
    for (const c of [
      { name: 'PLAINTEXT', address: listeners.PLAINTEXT, security: { protocol: 'PLAINTEXT' } },
      { name: 'SSL', address: listeners.SSL, security: { protocol: 'SSL', tls } },
      { name: 'SASL_PLAINTEXT PLAIN', address: listeners.SASL_PLAINTEXT, security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: USER, password: PASSWORD } } },
      { name: 'SASL_PLAINTEXT SCRAM-SHA-256', address: listeners.SASL_PLAINTEXT, security: { protocol: 'SASL_PLAINTEXT', sasl: scram('SCRAM-SHA-256') } },
      { name: 'SASL_PLAINTEXT SCRAM-SHA-512', address: listeners.SASL_PLAINTEXT, security: { protocol: 'SASL_PLAINTEXT', sasl: scram('SCRAM-SHA-512') } },
      { name: 'SASL_PLAINTEXT OAUTHBEARER (unsecured)', address: listeners.SASL_PLAINTEXT, security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'OAUTHBEARER', token: async () => unsecuredToken() } } },
      { name: 'SASL_SSL SCRAM-SHA-256', address: listeners.SASL_SSL, security: { protocol: 'SASL_SSL', tls, sasl: scram('SCRAM-SHA-256') } },
    ] as Case[]) conns.push(await connectionSetup(c, connections, pid));

    const flood = listeners.SASL_PLAINTEXT
      ? await floodRows(listeners.PLAINTEXT, listeners.SASL_PLAINTEXT, pid, { seconds: Math.max(4, seconds / 2), size, rate, connections: floodConnections })
      : [];

    print({ seconds, size, partitions, rate, connections }, machine, tput, conns, flood);
    if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ settings: { seconds, size, partitions, rate, connections, repeat, floodConnections }, machine, throughput: tput, throughputRounds: Object.fromEntries(rounds), connectionSetup: conns, flood }, null, 2));
  } finally {
    await broker.dispose();
  }
}

function print(s: { seconds: number; size: number; partitions: number; rate: number; connections: number }, m: any, tput: ThroughputRow[], conns: ConnectRow[], flood: FloodRow[]): void {
  const f = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const pct = (x: number | undefined) => (x === undefined ? '-' : `${(x * 100).toFixed(0)}%`);
  console.log(`\nmachine (same run): AES-256-GCM ${f(m.aes256GcmMbPerSec, 0)} MB/s on one core; loopback TCP ${f(m.loopbackTcpMbPerSec, 0)} MB/s, TLS ${f(m.loopbackTlsMbPerSec, 0)} MB/s (Node both ends, one process); bare TLS handshake p50 ${f(m.bareTlsHandshake.p50Ms, 2)} ms p99 ${f(m.bareTlsHandshake.p99Ms, 2)} ms; PBKDF2 ${SCRAM_ITERATIONS} iterations SHA-256 ${f(m.pbkdf2Sha256Ms, 2)} ms, SHA-512 ${f(m.pbkdf2Sha512Ms, 2)} ms; disk 4 KiB write+fdatasync p50 ${f(m.disk.fsync4k.p50Ms, 3)} ms p99 ${f(m.disk.fsync4k.p99Ms, 3)} ms`);
  console.log(`\nthroughput: ${s.partitions} partitions, ${s.size} B records, acks=all, ${s.seconds} s produce at full speed then fetch of everything; paced produce at ${s.rate} records/s (one record per request) for latency; each listener's median of ${tput[0]?.rounds ?? 1} rounds (by produce MB/s), rounds interleaved over the listeners`);
  console.log('| listener | produce MB/s | vs PLAINTEXT | produce p99 ms | gen CPU | broker CPU | fetch MB/s | vs PLAINTEXT | fetch p99 ms | gen CPU | broker CPU | paced p50 ms | paced p99 ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  const base = tput.find((r) => r.listener === 'PLAINTEXT');
  for (const r of tput) {
    if (r.error) { console.log(`| ${r.listener} | failed: ${r.error.slice(0, 160)} |`); continue; }
    const ratio = (a?: PerfReport, b?: PerfReport) => (a && b ? `${(a.mbPerSec / b.mbPerSec).toFixed(2)}x` : '-');
    console.log(`| ${r.listener} | ${f(r.produce?.mbPerSec)} | ${ratio(r.produce, base?.produce)} | ${f(r.produce?.latency.p99Ms)} | ${pct(r.produce?.genCpu)} | ${pct(r.produce?.brokerCpu)} | ${f(r.fetch?.mbPerSec)} | ${ratio(r.fetch, base?.fetch)} | ${f(r.fetch?.latency.p99Ms)} | ${pct(r.fetch?.genCpu)} | ${pct(r.fetch?.brokerCpu)} | ${f(r.paced?.latency.p50Ms, 2)} | ${f(r.paced?.latency.p99Ms, 2)} |`);
    for (const x of [r.produce, r.fetch, r.paced]) if (x && x.errors > 0) console.log(`  ${x.kind}: ${x.errors} errors (first: ${x.firstError})`);
  }
  console.log(`\nconnection set-up (TCP connect + TLS + ApiVersions + SASL), ${s.connections} sequential connections each`);
  console.log('| mechanism | p50 ms | p99 ms | p50 vs PLAINTEXT | p99 vs PLAINTEXT | client CPU ms/conn | broker CPU ms/conn |');
  console.log('|---|---|---|---|---|---|---|');
  const cb = conns.find((r) => r.mechanism === 'PLAINTEXT')?.latency;
  for (const r of conns) {
    if (!r.latency) { console.log(`| ${r.mechanism} | failed: ${(r.error ?? '').slice(0, 160)} |`); continue; }
    const l = r.latency;
    console.log(`| ${r.mechanism} | ${f(l.p50Ms, 2)} | ${f(l.p99Ms, 2)} | ${cb ? `${(l.p50Ms / cb.p50Ms).toFixed(1)}x` : '-'} | ${cb ? `${(l.p99Ms / cb.p99Ms).toFixed(1)}x` : '-'} | ${f(r.genCpuMsPerConn, 2)} | ${f(r.brokerCpuMsPerConn, 2)} |`);
  }
  if (flood.length === 0) return;
  console.log(`\nwrong-password flood: produce paced at ${s.rate} records/s over PLAINTEXT (one record per request, acks=all), alone and while another process logs in over SASL_PLAINTEXT with PLAIN and a wrong password for a SCRAM-only user`);
  console.log('| phase | paced p50 ms | paced p99 ms | p99 vs no flood | broker CPU | refusals/s |');
  console.log('|---|---|---|---|---|---|');
  const quiet = flood[0]?.paced?.latency;
  for (const r of flood) {
    if (!r.paced) { console.log(`| ${r.phase} | failed: ${(r.error ?? '').slice(0, 160)} |`); continue; }
    const l = r.paced.latency;
    console.log(`| ${r.phase} | ${f(l.p50Ms, 2)} | ${f(l.p99Ms, 2)} | ${quiet ? `${(l.p99Ms / quiet.p99Ms).toFixed(1)}x` : '-'} | ${pct(r.paced.brokerCpu)} | ${f(r.refusedPerSec, 0)} |`);
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
