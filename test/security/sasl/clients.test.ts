/**
 * Real Kafka clients against the broker's SASL handlers on a socket (the server's Connection;
 * a Metadata that names only itself): kcat and confluent-kafka-python (librdkafka 2.0, SaslHandshake
 * v1 + SaslAuthenticate), node-rdkafka (librdkafka 2.12, KIP-368 re-authentication), kafkajs
 * (SaslAuthenticate, re-authentication) and kafka-python 2.0 (SaslHandshake v0 and raw tokens),
 * each with PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER (unsecured JWS), and a wrong
 * password refused with Kafka's message. librdkafka before 2.6.1 sends the SCRAM nonce twice
 * (librdkafka#4895), which is accepted as Kafka 3.8.1+ accepts it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type * as Rd from 'node-rdkafka';
import type * as KafkaJs from 'kafkajs';
import { requireNodeModule, requirePythonModules, requireTool } from '../../helpers/require-tool.js';
import { runJson, runProcess } from '../../helpers/run-process.js';
import { ApiKey } from '../../../src/protocol/messages/index.js';
import { credentialFromPassword, scramAlgorithm } from '../../../src/security/sasl/scram.js';
import { startSaslTestBroker, type SaslTestBroker } from './sasl-test-broker.js';

const PY = fileURLToPath(new URL('./py/sasl_client.py', import.meta.url));

interface Case { mechanism: string; user: string; secret: string; principal: string }
const CASES: Case[] = [
  { mechanism: 'PLAIN', user: 'alice', secret: 'alice-secret', principal: 'alice' },
  { mechanism: 'SCRAM-SHA-256', user: 'carol', secret: 'carol-pw', principal: 'carol' },
  { mechanism: 'SCRAM-SHA-512', user: 'dave', secret: 'dave-pw', principal: 'dave' },
  { mechanism: 'OAUTHBEARER', user: '', secret: 'svc-token', principal: 'svc-token' },
];

async function broker(reauthMs = 0): Promise<SaslTestBroker> {
  const b = await startSaslTestBroker({ settings: { reauthMs } });
  await b.scram.put('SCRAM-SHA-256', 'carol', await credentialFromPassword(scramAlgorithm('SCRAM-SHA-256'), 'carol-pw', 4096));
  await b.scram.put('SCRAM-SHA-512', 'dave', await credentialFromPassword(scramAlgorithm('SCRAM-SHA-512'), 'dave-pw', 8192));
  return b;
}

const principals = (b: SaslTestBroker) => b.sessions.filter((s) => s.sasl === 'authenticated').map((s) => s.principal.name);
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const unsecuredToken = (sub: string) => { const now = Math.floor(Date.now() / 1000); return `${b64({ alg: 'none' })}.${b64({ sub, iat: now, exp: now + 600 })}.`; };

describe('real clients authenticate against the SASL handlers', { timeout: 120_000 }, () => {
  let b: SaslTestBroker;
  before(async () => { b = await broker(); });
  after(async () => { await b?.close(); });

  test('kcat (librdkafka 2.0): -L with each mechanism; a wrong password fails with Kafka\'s message', { timeout: 30_000 }, async () => {
    const kcat = requireTool('kcat');
    const args = (c: Case, secret = c.secret) => ['-L', '-J', '-m', '3', '-b', b.address, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.mechanisms=${c.mechanism}`,
      ...(c.mechanism === 'OAUTHBEARER' ? ['-X', 'enable.sasl.oauthbearer.unsecure.jwt=true', '-X', `sasl.oauthbearer.config=principal=${secret}`] : ['-X', `sasl.username=${c.user}`, '-X', `sasl.password=${secret}`])];
    const listed = await Promise.all(CASES.map((c) => runJson(kcat, args(c), { timeoutMs: 15_000 })));
    for (const l of listed) assert.equal(l.brokers[0].name, b.address);
    const bad = await runProcess(kcat, args(CASES[0]!, 'wrong'), { timeoutMs: 15_000 });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr.toString(), /SASL authentication error: Authentication failed: Invalid username or password/);
    for (const c of CASES) assert.ok(principals(b).includes(c.principal), c.mechanism);
  });

  test('confluent-kafka-python (librdkafka 2.0) and kafka-python 2.0 (raw tokens after SaslHandshake v0)', { timeout: 40_000 }, async () => {
    const python = requirePythonModules('confluent_kafka', 'kafka');
    const cases = [...CASES, { ...CASES[2]!, secret: 'wrong' }];
    const before = b.versions.length;
    const [ck, kp] = await Promise.all(['ck', 'kp'].map((lib) => runJson<any[]>(python, [PY, lib, b.address, JSON.stringify(cases)], { timeoutMs: 35_000 })));
    for (const [lib, results] of [['confluent-kafka', ck], ['kafka-python', kp]] as const) {
      assert.deepEqual(results!.slice(0, 4).map((r) => [r.ok, r.cluster]), CASES.map(() => [true, 'sasl-test-cluster']), `${lib}: ${JSON.stringify(results)}`);
      assert.equal(results![4].ok, false, lib);
    }
    assert.match(ck![4].error, /Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/);
    const handshakes = b.versions.slice(before).filter(([k]) => k === ApiKey.SaslHandshake).map(([, v]) => v);
    assert.ok(handshakes.includes(0) && handshakes.includes(1), `kafka-python uses v0 and raw tokens, librdkafka v1: ${handshakes}`);
  });

  test('kafkajs: each mechanism (SaslAuthenticate); a wrong SCRAM password is KafkaJSSASLAuthenticationError with Kafka\'s message', { timeout: 30_000 }, async () => {
    const { Kafka, logLevel } = requireNodeModule<typeof KafkaJs>('kafkajs');
    const sasl = (c: Case, secret = c.secret): any => (c.mechanism === 'OAUTHBEARER'
      ? { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: unsecuredToken(secret) }) }
      : { mechanism: c.mechanism.toLowerCase(), username: c.user, password: secret });
    const describeAs = async (s: any) => {
      const admin = new Kafka({ brokers: [b.address], sasl: s, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 3000 }).admin();
      try { await admin.connect(); return (await admin.describeCluster()).clusterId; } finally { await admin.disconnect(); }
    };
    assert.deepEqual(await Promise.all(CASES.map((c) => describeAs(sasl(c)))), CASES.map(() => 'sasl-test-cluster'));
    await assert.rejects(describeAs(sasl(CASES[1]!, 'wrong')), (err: any) => err.name === 'KafkaJSSASLAuthenticationError'
      && /Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256/.test(err.message));
  });

  test('node-rdkafka (librdkafka 2.12): each mechanism', { timeout: 30_000 }, async () => {
    const rd = requireNodeModule<typeof Rd>('node-rdkafka');
    const connectAs = (c: Case) => new Promise<number>((resolve, reject) => {
      const p = new rd.Producer({
        'metadata.broker.list': b.address, 'security.protocol': 'sasl_plaintext', 'sasl.mechanisms': c.mechanism,
        ...(c.mechanism === 'OAUTHBEARER' ? { 'enable.sasl.oauthbearer.unsecure.jwt': true, 'sasl.oauthbearer.config': `principal=${c.secret}` } : { 'sasl.username': c.user, 'sasl.password': c.secret }),
      } as any);
      p.connect({ timeout: 5000 }, (err, md) => { if (err) reject(err); else { p.disconnect(); resolve(md.brokers.length); } });
    });
    assert.deepEqual(await Promise.all(CASES.map(connectAs)), [1, 1, 1, 1]);
  });
});

describe('re-authentication (KIP-368) with real clients, connections.max.reauth.ms=1500', { timeout: 60_000 }, () => {
  let b: SaslTestBroker;
  before(async () => { b = await broker(1500); });
  after(async () => { await b?.close(); });

  const handshakesOf = (b0: number) => b.versions.slice(b0).filter(([k]) => k === ApiKey.SaslHandshake).length;

  test('node-rdkafka and kafkajs re-authenticate on their connection; every request in 4 s is served', { timeout: 30_000 }, async () => {
    const rd = requireNodeModule<typeof Rd>('node-rdkafka');
    const { Kafka, logLevel } = requireNodeModule<typeof KafkaJs>('kafkajs');
    const start = b.versions.length;
    const connectionsBefore = b.sessions.length;
    const rdLoop = new Promise<{ ok: number; failed: number }>((resolve, reject) => {
      const p = new rd.Producer({ 'metadata.broker.list': b.address, 'security.protocol': 'sasl_plaintext', 'sasl.mechanisms': 'SCRAM-SHA-512', 'sasl.username': 'dave', 'sasl.password': 'dave-pw' } as any);
      p.connect({ timeout: 5000 }, async (err) => {
        if (err) { reject(err); return; }
        let ok = 0;
        let failed = 0;
        const end = Date.now() + 4000;
        while (Date.now() < end) {
          await new Promise<void>((r) => p.getMetadata({ timeout: 3000 }, (e) => { if (e) failed++; else ok++; r(); }));
          await new Promise((r) => setTimeout(r, 100));
        }
        p.disconnect();
        resolve({ ok, failed });
      });
    });
    const kjsLoop = (async () => {
      const admin = new Kafka({ brokers: [b.address], sasl: { mechanism: 'scram-sha-256', username: 'carol', password: 'carol-pw' }, logLevel: logLevel.NOTHING, reauthenticationThreshold: 500 } as any).admin();
      await admin.connect();
      let ok = 0;
      const end = Date.now() + 4000;
      while (Date.now() < end) { await admin.describeCluster(); ok++; await new Promise((r) => setTimeout(r, 100)); }
      await admin.disconnect();
      return ok;
    })();
    const [rdr, kjs] = await Promise.all([rdLoop, kjsLoop]);
    assert.equal(rdr.failed, 0);
    assert.ok(rdr.ok > 20 && kjs > 20, `${rdr.ok} / ${kjs}`);
    const mine = b.sessions.slice(connectionsBefore);
    const reauths = handshakesOf(start) - mine.length;
    assert.ok(reauths >= 4, `${reauths} re-authentications on ${mine.length} connections`);
    // Re-authentication kept each connection: no session was closed for expiry.
    assert.ok(mine.every((s) => s.sasl === 'authenticated'), mine.map((s) => `${s.principal.name}:${s.sasl}`).join(' '));
  });

  test('librdkafka 2.0 (no KIP-368) is disconnected when its session expires, reconnects and authenticates again', { timeout: 30_000 }, async () => {
    const python = requirePythonModules('confluent_kafka');
    const connectionsBefore = b.sessions.length;
    const [r] = await runJson<any[]>(python, [PY, 'ck', b.address, JSON.stringify([{ mechanism: 'SCRAM-SHA-256', user: 'carol', secret: 'carol-pw', seconds: 4 }])], { timeoutMs: 25_000 });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.ok(r.listings > 10, JSON.stringify(r));
    assert.ok(b.sessions.length - connectionsBefore >= 2, 'a new connection after the session ran out');
  });
});
