/**
 * End to end on a broker process with SASL listeners (test/helpers/secure-broker.ts:
 * SASL_PLAINTEXT and SASL_SSL, PLAIN users admin and alice in sasl.jaas.config, all four
 * mechanisms enabled). NEEDS THE LEAD'S SASL WIRING (SaslServerSettings per listener,
 * registerSaslApis / registerScramApis in the broker): until then the broker refuses to start
 * with "SASL_PLAINTEXT is not wired yet".
 *  - `ferry users add` (as admin, PLAIN) creates SCRAM users that real clients use at once:
 *    confluent-kafka over SASL_SSL (SCRAM-SHA-512), kafka-python 2.0 over SASL_PLAINTEXT
 *    (SCRAM-SHA-256 with raw v0 tokens), kcat with OAUTHBEARER (unsecured JWS, Kafka's default).
 *  - Wrong credentials are refused with Kafka's messages, logged with the user name and never a
 *    password; the broker keeps serving.
 *  - connections.max.reauth.ms: kafkajs and node-rdkafka keep producing across re-authentications.
 *  - OAUTHBEARER with a JWKS file: signed tokens accepted, unsigned and wrongly signed ones refused.
 */
import { waitFor } from '../../helpers/wait.js';
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as KafkaJs from 'kafkajs';
import type * as Rd from 'node-rdkafka';
import { requireNodeModule, requirePythonModules, requireTool } from '../../helpers/require-tool.js';
import { runJson, runProcess } from '../../helpers/run-process.js';
import { startSecureBroker, ADMIN_USER, PLAIN_USER, type SecureBroker } from '../../helpers/secure-broker.js';
import { runUsers } from '../../../src/cli/users-command.js';
import { KafkaConnection } from '../../../src/admin/kafka-connection.js';
import { AdminError } from '../../../src/admin/errors.js';
import { ApiKey } from '../../../src/protocol/messages/index.js';

const CLIENT = fileURLToPath(new URL('../py/secure_client.py', import.meta.url));
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function ferryUsers(sb: SecureBroker, dir: string, argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const props = join(dir, 'admin.properties');
  writeFileSync(props, [
    'security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=PLAIN',
    `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${ADMIN_USER.name}" password="${ADMIN_USER.password}";`, '',
  ].join('\n'));
  let out = '';
  let err = '';
  const code = await runUsers([...argv, '-b', sb.address('SASL_PLAINTEXT'), '--command-config', props], { out: (t) => { out += t; }, err: (t) => { err += t; } }, async () => stdin);
  return { code, out, err };
}

describe('SASL on a broker process: users, real clients, refusals', { timeout: 120_000 }, () => {
  let sb: SecureBroker;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-e2e-sasl-'));
    sb = await startSecureBroker();
  });
  after(async () => {
    await sb?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('SCRAM users made with ferry users authenticate confluent-kafka (SASL_SSL, SCRAM-SHA-512) and kafka-python (raw v0 tokens, SCRAM-SHA-256)', { timeout: 60_000 }, async () => {
    const python = requirePythonModules('confluent_kafka', 'kafka');
    const added = await ferryUsers(sb, dir, ['add', '--user', 'carol'], 'carol-scram-pw\n');
    assert.equal(added.code, 0, added.err);
    const listed = await ferryUsers(sb, dir, ['list', '--json']);
    assert.deepEqual(JSON.parse(listed.out), [{ user: 'carol', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 8192 }, { mechanism: 'SCRAM-SHA-512', iterations: 8192 }] }]);
    const [ck, kp] = await Promise.all([
      runJson(python, [CLIENT, 'ck', '--bootstrap', sb.address('SASL_SSL'), '--topic', 'sasl-ck', '--count', '30', '--config', JSON.stringify({
        'security.protocol': 'sasl_ssl', 'ssl.ca.location': sb.pki.ca.certPath, 'sasl.mechanisms': 'SCRAM-SHA-512', 'sasl.username': 'carol', 'sasl.password': 'carol-scram-pw',
      })], { timeoutMs: 50_000 }),
      runJson(python, [CLIENT, 'kp', '--bootstrap', sb.address('SASL_PLAINTEXT'), '--topic', 'sasl-kp', '--count', '30', '--config', JSON.stringify({
        security_protocol: 'SASL_PLAINTEXT', sasl_mechanism: 'SCRAM-SHA-256', sasl_plain_username: 'carol', sasl_plain_password: 'carol-scram-pw',
      })], { timeoutMs: 50_000 }),
    ]);
    assert.equal(ck.ok, true, ck.error);
    assert.equal(kp.ok, true, kp.error);
    assert.match(sb.broker.logs, /"principal":"User:carol".*"SASL authentication succeeded"|SASL authentication succeeded.*User:carol/);
  });

  test('kcat with OAUTHBEARER (unsecured JWS, no JWKS configured) and PLAIN from the JAAS users', { timeout: 30_000 }, async () => {
    const kcat = requireTool('kcat');
    const base = ['-L', '-J', '-m', '5', '-b', sb.address('SASL_PLAINTEXT'), '-X', 'security.protocol=SASL_PLAINTEXT'];
    const [oauth, plain] = await Promise.all([
      runJson(kcat, [...base, '-X', 'sasl.mechanisms=OAUTHBEARER', '-X', 'enable.sasl.oauthbearer.unsecure.jwt=true', '-X', 'sasl.oauthbearer.config=principal=svc-kcat'], { timeoutMs: 20_000 }),
      runJson(kcat, [...base, '-X', 'sasl.mechanisms=PLAIN', '-X', `sasl.username=${PLAIN_USER.name}`, '-X', `sasl.password=${PLAIN_USER.password}`], { timeoutMs: 20_000 }),
    ]);
    assert.deepEqual(oauth.brokers.map((b: { name: string }) => b.name), [sb.address('SASL_PLAINTEXT')]);
    assert.deepEqual(plain.brokers.map((b: { name: string }) => b.name), [sb.address('SASL_PLAINTEXT')]);
  });

  test('wrong credentials: Kafka\'s messages, a warn log with the user and no password, and the broker keeps serving', { timeout: 30_000 }, async () => {
    const kcat = requireTool('kcat');
    const wrong = 'not-alices-password-42';
    const r = await runProcess(kcat, ['-L', '-m', '3', '-b', sb.address('SASL_PLAINTEXT'), '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=PLAIN', '-X', `sasl.username=${PLAIN_USER.name}`, '-X', `sasl.password=${wrong}`], { timeoutMs: 20_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr.toString(), /Authentication failed: Invalid username or password/);
    await assert.rejects(KafkaConnection.connect(sb.address('SASL_PLAINTEXT'), { security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-256', username: 'nobody', password: wrong } } }),
      (e: unknown) => e instanceof AdminError && /invalid credentials with SASL mechanism SCRAM-SHA-256/.test(e.message));
    // The broker's log line may reach this process after the client's refusal.
    await waitFor(async () => /"user":"nobody"/.test(sb.broker.logs), 5_000, 'the failure is logged with the user');
    assert.match(sb.broker.logs, /SASL authentication failed/);
    assert.match(sb.broker.logs, /"user":"nobody"/);
    for (const secret of [wrong, PLAIN_USER.password, ADMIN_USER.password, 'carol-scram-pw']) assert.ok(!sb.broker.logs.includes(secret), 'a password in the broker log');
    const ok = await KafkaConnection.connect(sb.address('SASL_PLAINTEXT'), { security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: PLAIN_USER.name, password: PLAIN_USER.password } } });
    try {
      assert.ok((await ok.request(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })).brokers.length > 0);
    } finally { ok.close(); }
  });
});

describe('SASL on a broker process: re-authentication and JWKS-signed tokens', { timeout: 120_000 }, () => {
  let sb: SecureBroker;
  let dir: string;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwt = (key: typeof rsa.privateKey, claims: object) => {
    const data = `${b64({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${b64(claims)}`;
    return `${data}.${sign('sha256', Buffer.from(data), key).toString('base64url')}`;
  };
  const claims = () => { const now = Math.floor(Date.now() / 1000); return { sub: 'svc-jwt', iss: 'https://idp.test', aud: 'ferry', iat: now, exp: now + 300 }; };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-e2e-sasl-jwks-'));
    const jwks = join(dir, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] }));
    sb = await startSecureBroker({
      config: {
        'connections.max.reauth.ms': '2000',
        'listener.name.sasl_ssl.sasl.oauthbearer.jwks.endpoint.url': `file://${jwks}`,
        'listener.name.sasl_ssl.sasl.oauthbearer.expected.audience': 'ferry',
        'listener.name.sasl_ssl.sasl.oauthbearer.expected.issuer': 'https://idp.test',
      },
    });
  });
  after(async () => {
    await sb?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('kafkajs and node-rdkafka keep producing across re-authentications (connections.max.reauth.ms=2000)', { timeout: 30_000 }, async () => {
    const { Kafka, logLevel } = requireNodeModule<typeof KafkaJs>('kafkajs');
    const rd = requireNodeModule<typeof Rd>('node-rdkafka');
    const kjs = (async () => {
      const kafka = new Kafka({ brokers: [sb.address('SASL_PLAINTEXT')], sasl: { mechanism: 'plain', username: PLAIN_USER.name, password: PLAIN_USER.password }, logLevel: logLevel.NOTHING, reauthenticationThreshold: 500 } as any);
      const p = kafka.producer();
      await p.connect();
      let n = 0;
      const end = Date.now() + 6000;
      while (Date.now() < end) { await p.send({ topic: 'reauth-kjs', messages: [{ value: `m${n}` }] }); n++; await new Promise((r) => setTimeout(r, 50)); }
      await p.disconnect();
      return n;
    })();
    const rdk = new Promise<number>((resolve, reject) => {
      const p = new rd.HighLevelProducer({ 'metadata.broker.list': sb.address('SASL_PLAINTEXT'), 'security.protocol': 'sasl_plaintext', 'sasl.mechanisms': 'PLAIN', 'sasl.username': PLAIN_USER.name, 'sasl.password': PLAIN_USER.password } as any);
      p.connect({}, async (err) => {
        if (err) { reject(err); return; }
        let n = 0;
        const end = Date.now() + 6000;
        try {
          while (Date.now() < end) {
            await new Promise<void>((res, rej) => p.produce('reauth-rd', null, Buffer.from(`m${n}`), null, Date.now(), (e: Error | null) => (e ? rej(e) : res())));
            n++;
          }
        } catch (e) { reject(e); return; }
        p.disconnect(() => resolve(n));
      });
    });
    const [a, c] = await Promise.all([kjs, rdk]);
    assert.ok(a > 30 && c > 30, `${a} / ${c} produced`);
    const reauths = sb.broker.logs.split('\n').filter((l) => l.includes('SASL re-authentication succeeded')).length;
    assert.ok(reauths >= 4, `${reauths} re-authentications`);
    assert.ok(!/SASL session expired without re-authentication/.test(sb.broker.logs), 'no connection was closed for expiry');
  });

  test('OAUTHBEARER on the JWKS listener: a signed token is accepted (session ends with the token), unsigned and foreign-signed ones are refused', { timeout: 30_000 }, async () => {
    const sec = (token: string) => ({ security: { protocol: 'SASL_SSL' as const, tls: { ca: sb.pki.ca.certPem, verifyHostname: true }, sasl: { mechanism: 'OAUTHBEARER' as const, token } } });
    const good = await KafkaConnection.connect(sb.address('SASL_SSL'), sec(jwt(rsa.privateKey, claims())));
    good.close();
    const unsigned = `${b64({ alg: 'none' })}.${b64(claims())}.`;
    for (const token of [unsigned, jwt(other.privateKey, claims()), jwt(rsa.privateKey, { ...claims(), aud: 'someone-else' })]) {
      await assert.rejects(KafkaConnection.connect(sb.address('SASL_SSL'), sec(token)), (e: unknown) => e instanceof AdminError && e.errorName === 'SASL_AUTHENTICATION_FAILED' && e.message.includes('invalid_token'));
    }
    const { Kafka, logLevel } = requireNodeModule<typeof KafkaJs>('kafkajs');
    const admin = new Kafka({ brokers: [sb.address('SASL_SSL')], ssl: { ca: [sb.pki.ca.certPem] }, sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: jwt(rsa.privateKey, claims()) }) }, logLevel: logLevel.NOTHING, reauthenticationThreshold: 500 } as any).admin();
    await admin.connect();
    assert.ok((await admin.describeCluster()).brokers.length > 0);
    await admin.disconnect();
    assert.match(sb.broker.logs, /User:svc-jwt/);
  });
});
