/**
 * Ferry's client side of SASL (src/admin/sasl-client.ts through KafkaConnection with
 * ClientSecurity) against the broker's handlers on a real socket (the server's Connection):
 * PLAIN, SCRAM-SHA-256/512 (users made with AlterUserScramCredentials), OAUTHBEARER; Kafka's
 * errors as AdminErrors; requests before authentication close the connection; KIP-368
 * re-authentication while requests keep flowing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KafkaConnection } from '../../../src/admin/kafka-connection.js';
import { AdminError, ConnectionError } from '../../../src/admin/errors.js';
import type { ClientSasl, ClientSecurity } from '../../../src/admin/client-security.js';
import { ApiKey } from '../../../src/protocol/messages/index.js';
import { SCRAM_MECHANISM_TYPE, saltPassword, scramAlgorithm, type ScramMechanism } from '../../../src/security/sasl/scram.js';
import { startSaslTestBroker, type SaslTestBroker } from './sasl-test-broker.js';

const sasl = (s: ClientSasl): ClientSecurity => ({ protocol: 'SASL_PLAINTEXT', sasl: s });
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const unsecuredToken = (sub: string, lifetimeS: number) => `${b64({ alg: 'none' })}.${b64({ sub, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + lifetimeS })}.`;

async function started(t: { after(fn: () => Promise<void>): void }, opts: Parameters<typeof startSaslTestBroker>[0] = {}): Promise<SaslTestBroker> {
  const b = await startSaslTestBroker(opts);
  t.after(() => b.close());
  return b;
}

async function connected(t: { after(fn: () => void): void }, b: SaslTestBroker, security: ClientSecurity): Promise<KafkaConnection> {
  const c = await KafkaConnection.connect(b.address, { security, requestTimeoutMs: 5000 });
  t.after(() => c.close());
  return c;
}

/** Adds a SCRAM user through AlterUserScramCredentials, salting as Kafka's admin client does. */
async function addScramUser(conn: KafkaConnection, user: string, password: string, mechanism: ScramMechanism, iterations = 4096): Promise<void> {
  const salt = randomBytes(24);
  const saltedPassword = await saltPassword(scramAlgorithm(mechanism), password, salt, iterations);
  const r = await conn.request(ApiKey.AlterUserScramCredentials, 0, { deletions: [], upsertions: [{ name: user, mechanism: SCRAM_MECHANISM_TYPE[mechanism], iterations, salt, saltedPassword }] });
  assert.deepEqual(r.results.map((x: any) => [x.user, x.errorCode]), [[user, 0]]);
}

const metadata = (c: KafkaConnection) => c.request(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });

test('PLAIN: authenticated after ApiVersions, then requests are served as User:alice', async (t) => {
  const b = await started(t);
  const c = await connected(t, b, sasl({ mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' }));
  assert.equal((await metadata(c)).clusterId, 'sasl-test-cluster');
  assert.deepEqual(b.seen.slice(0, 4), [ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate, ApiKey.Metadata]);
  assert.deepEqual(b.sessions[0]!.principal, { type: 'User', name: 'alice' });
});

test('a wrong password, an unknown mechanism, missing credentials: typed errors with Kafka\'s names and messages', async (t) => {
  const b = await started(t, { settings: { enabledMechanisms: ['PLAIN', 'SCRAM-SHA-256'] } });
  await assert.rejects(KafkaConnection.connect(b.address, { security: sasl({ mechanism: 'PLAIN', username: 'alice', password: 'nope' }) }), (err: unknown) => {
    assert.ok(err instanceof AdminError);
    assert.equal(err.errorName, 'SASL_AUTHENTICATION_FAILED');
    assert.equal(err.message, `SASL/PLAIN authentication to ${b.address}: SASL_AUTHENTICATION_FAILED (Authentication failed: Invalid username or password)`);
    return true;
  });
  await assert.rejects(KafkaConnection.connect(b.address, { security: sasl({ mechanism: 'SCRAM-SHA-256', username: 'ghost', password: 'x' }) }),
    (err: unknown) => err instanceof AdminError && err.errorName === 'SASL_AUTHENTICATION_FAILED'
      && /Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256/.test(err.message));
  await assert.rejects(KafkaConnection.connect(b.address, { security: sasl({ mechanism: 'OAUTHBEARER', token: 'x' }) }),
    (err: unknown) => err instanceof AdminError && err.errorName === 'UNSUPPORTED_SASL_MECHANISM' && /the broker enables PLAIN, SCRAM-SHA-256/.test(err.message));
  await assert.rejects(KafkaConnection.connect(b.address, { security: { protocol: 'SASL_PLAINTEXT' } }), ConnectionError);
});

test('SCRAM-SHA-256 and -512 users created through AlterUserScramCredentials authenticate at once', async (t) => {
  const b = await started(t);
  const admin = await connected(t, b, sasl({ mechanism: 'PLAIN', username: 'admin', password: 'admin-secret' }));
  await addScramUser(admin, 'carol', 'carol-256', 'SCRAM-SHA-256');
  await addScramUser(admin, 'dave', 'dave-512', 'SCRAM-SHA-512', 8192);
  const carol = await connected(t, b, sasl({ mechanism: 'SCRAM-SHA-256', username: 'carol', password: 'carol-256' }));
  assert.equal((await metadata(carol)).controllerId, 1);
  const dave = await connected(t, b, sasl({ mechanism: 'SCRAM-SHA-512', username: 'dave', password: 'dave-512' }));
  assert.equal((await metadata(dave)).controllerId, 1);
  await assert.rejects(KafkaConnection.connect(b.address, { security: sasl({ mechanism: 'SCRAM-SHA-512', username: 'carol', password: 'carol-256' }) }),
    (err: unknown) => err instanceof AdminError && err.errorName === 'SASL_AUTHENTICATION_FAILED', 'carol has no SCRAM-SHA-512 credential');
  const plainCarol = await connected(t, b, sasl({ mechanism: 'PLAIN', username: 'carol', password: 'carol-256' }));
  assert.equal((await metadata(plainCarol)).controllerId, 1, 'PLAIN falls back to the SCRAM credential');
  assert.deepEqual(b.sessions.map((s) => `${s.principal.name}:${s.sasl}`), ['admin:authenticated', 'carol:authenticated', 'dave:authenticated', 'ANONYMOUS:failed', 'carol:authenticated']);
});

test('OAUTHBEARER: an unsecured token is accepted; an expired one fails with the JSON status after the \\x01 reply', async (t) => {
  const b = await started(t);
  const c = await connected(t, b, sasl({ mechanism: 'OAUTHBEARER', token: unsecuredToken('svc-a', 600) }));
  assert.equal((await metadata(c)).controllerId, 1);
  assert.deepEqual(b.sessions[0]!.principal, { type: 'User', name: 'svc-a' });
  assert.ok(b.sessions[0]!.expiresAtMs! > Date.now() + 590_000, 'the session ends with the token');
  await assert.rejects(KafkaConnection.connect(b.address, { security: sasl({ mechanism: 'OAUTHBEARER', token: unsecuredToken('svc-a', -60) }) }),
    (err: unknown) => err instanceof AdminError && err.errorName === 'SASL_AUTHENTICATION_FAILED' && err.message.includes('{"status":"invalid_token"}'));
});

test('before authentication the listener takes only ApiVersions and SASL: any other request closes the connection', async (t) => {
  const b = await started(t);
  const c = await KafkaConnection.connect(b.address, {});
  t.after(() => c.close());
  await assert.rejects(metadata(c), ConnectionError);
  assert.ok(!b.seen.includes(ApiKey.Metadata), 'the handler never ran');
});

test('KIP-368: the client re-authenticates before connections.max.reauth.ms runs out; requests keep working across it', async (t) => {
  const b = await started(t, { settings: { reauthMs: 1200 } });
  let tokens = 0;
  const c = await connected(t, b, sasl({ mechanism: 'OAUTHBEARER', token: async () => { tokens++; return unsecuredToken('svc-r', 600); } }));
  const until = Date.now() + 3200;
  let served = 0;
  while (Date.now() < until) {
    await Promise.all([metadata(c), metadata(c)]);
    served += 2;
    await new Promise((r) => setTimeout(r, 50));
  }
  const handshakes = b.seen.filter((k) => k === ApiKey.SaslHandshake).length;
  assert.ok(handshakes >= 3, `re-authenticated ${handshakes - 1} times`);
  assert.equal(tokens, handshakes, 'a fresh token each time');
  assert.ok(served > 20);
  assert.equal(b.sessions.length, 1, 'one connection throughout');
  assert.equal(b.sessions[0]!.sasl, 'authenticated');
  assert.ok(b.sessions[0]!.expiresAtMs! > Date.now(), 'the session was renewed');
});

test('a session that expires without re-authentication is closed on its next request (the connection\'s rule)', async (t) => {
  const b = await started(t, { settings: { reauthMs: 300 } });
  const c = await connected(t, b, sasl({ mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' }));
  assert.equal((await metadata(c)).controllerId, 1);
  assert.equal(b.sessions[0]!.expiresAtMs !== null, true);
  b.sessions[0]!.expiresAtMs = Date.now() - 1; // as if the client had not re-authenticated in time
  await assert.rejects(metadata(c), ConnectionError);
  assert.equal(b.seen.filter((k) => k === ApiKey.Metadata).length, 1);
});
