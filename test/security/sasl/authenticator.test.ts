/**
 * The session's SASL state machine (src/security/sasl/authenticator.ts) through the broker's
 * SaslHandshake / SaslAuthenticate handlers (src/broker/sasl-apis.ts), as Kafka's
 * SaslServerAuthenticator behaves: v1 handshake + SaslAuthenticate, v0 handshake + raw tokens,
 * unsupported mechanisms, requests in the wrong state, failures and their messages, session
 * lifetimes (connections.max.reauth.ms, token exp), KIP-368 re-authentication (same mechanism,
 * same principal, only with an expiry, at most once a second), events and logs without secrets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newSession, type Session } from '../../../src/server/session.js';
import { ApiKey } from '../../../src/protocol/messages/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import type { Handler, RequestContext } from '../../../src/server/handler-registry.js';
import { registerSaslApis } from '../../../src/broker/sasl-apis.js';
import { sessionLifetimeMs, type SaslServerSettings } from '../../../src/security/sasl/authenticator.js';
import { LocalMetadataStore } from '../../../src/cluster/local-metadata-store.js';
import { MetadataScramCredentialStore } from '../../../src/security/sasl/scram-credential-store.js';
import { credentialFromPassword, scramAlgorithm } from '../../../src/security/sasl/scram.js';
import { ScramClient } from '../../../src/security/sasl/scram-client.js';
import { createOAuthBearerValidator, DEFAULT_OAUTH_SETTINGS } from '../../../src/security/sasl/oauth-validator.js';
import { oauthBearerInitialResponse } from '../../../src/security/sasl/oauthbearer-server.js';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const unsecured = (claims: object) => `${b64({ alg: 'none' })}.${b64(claims)}.`;

interface Harness {
  settings: SaslServerSettings;
  clock: { now: number };
  events: string[];
  logs: Array<{ level: string; obj: any; msg: string }>;
  handshake(s: Session, mechanism: string, version?: number): Promise<any>;
  authenticate(s: Session, bytes: Buffer | string, version?: number): Promise<any>;
}

async function harness(t: { after(fn: () => Promise<void>): void }, over: Partial<SaslServerSettings> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sasl-auth-'));
  const store = await LocalMetadataStore.open(dir);
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  const scram = new MetadataScramCredentialStore(store, '/ferry/t/');
  await scram.put('SCRAM-SHA-256', 'carol', await credentialFromPassword(scramAlgorithm('SCRAM-SHA-256'), 'carol-pw', 4096));
  const clock = { now: 1_700_000_000_000 };
  const events: string[] = [];
  const settings: SaslServerSettings = {
    enabledMechanisms: ['PLAIN', 'SCRAM-SHA-256', 'OAUTHBEARER', 'GSSAPI'],
    plainUsers: new Map([['alice', 'alice-pw'], ['bob', 'bob-pw']]),
    scram,
    oauth: createOAuthBearerValidator(DEFAULT_OAUTH_SETTINGS, () => clock.now),
    reauthMs: 0,
    now: () => clock.now,
    events: {
      authenticated: (m, p, l) => events.push(`ok ${m} ${p.type}:${p.name} ${l}`),
      failed: (m, _r, l, a) => events.push(`failed ${m} ${l} ${a}`),
    },
    ...over,
  };
  const handlers = new Map<number, Handler>();
  registerSaslApis((key, _v, h) => handlers.set(key, h), (listener) => (listener === 'SASL' ? settings : null));
  const logs: Harness['logs'] = [];
  const log = {
    info: (obj: object, msg: string) => logs.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg: string) => logs.push({ level: 'warn', obj, msg }),
  };
  const call = (key: number, s: Session, version: number, req: object) => {
    const ctx = { header: { apiKey: key, apiVersion: version, correlationId: 1, clientId: 'c' }, connectionId: 1, remoteAddress: s.clientAddress, session: s, log, signal: new AbortController().signal } as unknown as RequestContext;
    return Promise.resolve(handlers.get(key)!(ctx, req));
  };
  return {
    settings, clock, events, logs,
    handshake: (s, mechanism, version = 1) => call(ApiKey.SaslHandshake, s, version, { mechanism }),
    authenticate: (s, bytes, version = 2) => call(ApiKey.SaslAuthenticate, s, version, { authBytes: typeof bytes === 'string' ? Buffer.from(bytes) : bytes }),
  };
}

const saslSession = () => newSession('SASL', 'SASL_PLAINTEXT', '10.0.0.7');
const GENERIC_SCRAM = 'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256';

test('PLAIN over SaslHandshake v1 + SaslAuthenticate: principal User:alice, no expiry without connections.max.reauth.ms', async (t) => {
  const h = await harness(t);
  const s = saslSession();
  assert.deepEqual(await h.handshake(s, 'PLAIN'), { errorCode: 0, mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'OAUTHBEARER'] }, 'GSSAPI is not offered');
  assert.equal(s.sasl, 'authenticate');
  assert.equal(s.mechanism, 'PLAIN');
  const r = await h.authenticate(s, '\0alice\0alice-pw');
  assert.equal(r.errorCode, 0);
  assert.equal(r.sessionLifetimeMs, 0n);
  assert.equal(r.authBytes.length, 0);
  assert.equal(s.sasl, 'authenticated');
  assert.deepEqual(s.principal, { type: 'User', name: 'alice' });
  assert.equal(s.expiresAtMs, null);
  assert.deepEqual(h.events, ['ok PLAIN User:alice SASL']);
  const ok = h.logs.find((l) => l.msg === 'SASL authentication succeeded')!;
  assert.equal(ok.level, 'info');
  assert.equal(ok.obj.principal, 'User:alice');
  assert.equal(ok.obj.client, '10.0.0.7');
});

test('a wrong PLAIN password: SASL_AUTHENTICATION_FAILED with Kafka\'s message, session failed, warn log with the user tried and no password', async (t) => {
  const h = await harness(t);
  const s = saslSession();
  await h.handshake(s, 'PLAIN');
  const r = await h.authenticate(s, '\0alice\0not-the-password');
  assert.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
  assert.equal(r.errorMessage, 'Authentication failed: Invalid username or password');
  assert.equal(s.sasl, 'failed');
  assert.deepEqual(h.events, ['failed PLAIN SASL 10.0.0.7']);
  const w = h.logs.find((l) => l.level === 'warn')!;
  assert.equal(w.msg, 'SASL authentication failed');
  assert.equal(w.obj.user, 'alice');
  assert.ok(!JSON.stringify(h.logs).includes('not-the-password'));
  assert.equal((await h.authenticate(s, '\0alice\0alice-pw')).errorCode, ErrorCode.ILLEGAL_SASL_STATE, 'nothing more after a failure');
});

test('SCRAM-SHA-256 in two rounds; an unknown user gets the generic message, as a wrong password does', async (t) => {
  const h = await harness(t);
  const s = saslSession();
  await h.handshake(s, 'SCRAM-SHA-256');
  const c = new ScramClient(scramAlgorithm('SCRAM-SHA-256'), 'carol', 'carol-pw');
  const first = await h.authenticate(s, c.firstMessage());
  assert.equal(first.errorCode, 0);
  assert.equal(first.sessionLifetimeMs, 0n);
  assert.equal(s.sasl, 'authenticate', 'not yet');
  const final = await h.authenticate(s, await c.finalMessage(first.authBytes));
  assert.equal(final.errorCode, 0);
  c.verifyServerFinal(final.authBytes);
  assert.deepEqual(s.principal, { type: 'User', name: 'carol' });

  for (const [user, pw] of [['nobody', 'x'], ['carol', 'wrong']]) {
    const f = saslSession();
    await h.handshake(f, 'SCRAM-SHA-256');
    const cl = new ScramClient(scramAlgorithm('SCRAM-SHA-256'), user!, pw!);
    let r = await h.authenticate(f, cl.firstMessage());
    if (r.errorCode === 0) r = await h.authenticate(f, await cl.finalMessage(r.authBytes));
    assert.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.equal(r.errorMessage, GENERIC_SCRAM, user);
    assert.equal(f.sasl, 'failed');
  }
});

test('handshake refusals: an unknown or disabled mechanism (with the enabled list), a second handshake mid-exchange, SaslAuthenticate first', async (t) => {
  const h = await harness(t);
  let s = saslSession();
  assert.deepEqual(await h.handshake(s, 'GSSAPI'), { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'OAUTHBEARER'] });
  assert.equal(s.sasl, 'failed');
  s = saslSession();
  assert.equal((await h.handshake(s, 'SCRAM-SHA-512')).errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'implemented but not enabled');
  s = saslSession();
  await h.handshake(s, 'PLAIN');
  assert.equal((await h.handshake(s, 'PLAIN')).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  assert.equal(s.sasl, 'failed');
  s = saslSession();
  const r = await h.authenticate(s, '\0alice\0alice-pw');
  assert.equal(r.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  assert.equal(s.sasl, 'failed');
});

test('a listener without SASL answers both APIs with ILLEGAL_SASL_STATE and keeps serving', async (t) => {
  const h = await harness(t);
  const s = newSession('PLAINTEXT', 'PLAINTEXT', '10.0.0.8');
  assert.deepEqual(await h.handshake(s, 'PLAIN'), { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] });
  const r = await h.authenticate(s, '\0alice\0alice-pw');
  assert.equal(r.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  assert.equal(r.errorMessage, 'SaslAuthenticate request received after successful authentication');
  assert.equal(s.sasl, 'none');
});

test('SaslHandshake v0: raw tokens (kafka-python 2.0): PLAIN answers an empty token, SCRAM two; a failure answers null (close)', async (t) => {
  const h = await harness(t);
  let s = saslSession();
  assert.equal((await h.handshake(s, 'PLAIN', 0)).errorCode, 0);
  assert.equal(s.sasl, 'raw-tokens');
  assert.deepEqual(await s.rawToken!(Buffer.from('alice\0alice\0alice-pw')), Buffer.alloc(0));
  assert.equal(s.sasl, 'authenticated');
  assert.equal(s.rawToken, null);

  s = saslSession();
  await h.handshake(s, 'SCRAM-SHA-256', 0);
  const c = new ScramClient(scramAlgorithm('SCRAM-SHA-256'), 'carol', 'carol-pw');
  const serverFirst = await s.rawToken!(c.firstMessage());
  assert.equal(s.sasl, 'raw-tokens');
  c.verifyServerFinal((await s.rawToken!(await c.finalMessage(serverFirst!)))!);
  assert.equal(s.sasl, 'authenticated');
  assert.deepEqual(s.principal, { type: 'User', name: 'carol' });

  s = saslSession();
  await h.handshake(s, 'PLAIN', 0);
  const raw = s.rawToken!;
  assert.equal(await raw(Buffer.from('\0alice\0wrong')), null);
  assert.equal(s.sasl, 'failed');
  assert.equal(await raw(Buffer.from('\0alice\0alice-pw')), null, 'nothing more after a failure');
});

test('session lifetime: connections.max.reauth.ms, an OAUTHBEARER token\'s exp, the smaller of both (Kafka\'s calcCompletionTimes)', async (t) => {
  assert.equal(sessionLifetimeMs(null, 0, 1000), null);
  assert.equal(sessionLifetimeMs(null, 5000, 1000), 5000);
  assert.equal(sessionLifetimeMs(4000, 0, 1000), 3000);
  assert.equal(sessionLifetimeMs(4000, 2000, 1000), 2000);
  assert.equal(sessionLifetimeMs(500, 2000, 1000), 0, 'never negative');

  const h = await harness(t, { reauthMs: 60_000 });
  const s = saslSession();
  await h.handshake(s, 'PLAIN');
  const r = await h.authenticate(s, '\0alice\0alice-pw');
  assert.equal(r.sessionLifetimeMs, 60_000n);
  assert.equal(s.expiresAtMs, h.clock.now + 60_000);

  const o = saslSession();
  await h.handshake(o, 'OAUTHBEARER');
  const exp = h.clock.now / 1000 + 30;
  const ro = await h.authenticate(o, oauthBearerInitialResponse(unsecured({ sub: 'svc', exp })));
  assert.equal(ro.errorCode, 0);
  assert.equal(ro.sessionLifetimeMs, 30_000n, 'the token ends before connections.max.reauth.ms');
  assert.equal(o.expiresAtMs, exp * 1000);
  assert.deepEqual(o.principal, { type: 'User', name: 'svc' });
});

test('OAUTHBEARER through SaslAuthenticate: a bad token gets the JSON challenge (no error), then SASL_AUTHENTICATION_FAILED with it on \\x01', async (t) => {
  const h = await harness(t);
  const s = saslSession();
  await h.handshake(s, 'OAUTHBEARER');
  const challenge = await h.authenticate(s, oauthBearerInitialResponse(unsecured({ sub: 'svc', exp: h.clock.now / 1000 - 5 })));
  assert.equal(challenge.errorCode, 0);
  assert.equal(challenge.authBytes.toString(), '{"status":"invalid_token"}');
  const r = await h.authenticate(s, Buffer.from([1]));
  assert.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
  assert.equal(r.errorMessage, '{"status":"invalid_token"}');
  assert.equal(s.sasl, 'failed');
});

test('KIP-368 re-authentication: same mechanism and principal renew the session; another principal or mechanism fails it', async (t) => {
  const h = await harness(t, { reauthMs: 10_000 });
  const authed = async () => {
    const s = saslSession();
    await h.handshake(s, 'PLAIN');
    assert.equal((await h.authenticate(s, '\0alice\0alice-pw')).errorCode, 0);
    return s;
  };
  let s = await authed();
  h.clock.now += 9_000;
  assert.equal((await h.handshake(s, 'PLAIN')).errorCode, 0);
  assert.equal(s.sasl, 'authenticate');
  assert.deepEqual(s.principal, { type: 'User', name: 'alice' }, 'the old principal until re-authenticated');
  assert.equal((await h.authenticate(s, '\0alice\0alice-pw')).sessionLifetimeMs, 10_000n);
  assert.equal(s.sasl, 'authenticated');
  assert.equal(s.expiresAtMs, h.clock.now + 10_000);
  assert.ok(h.logs.some((l) => l.msg === 'SASL re-authentication succeeded'));

  // Within a second of the last re-authentication: answered, not started.
  assert.equal((await h.handshake(s, 'PLAIN')).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  assert.equal(s.sasl, 'authenticated');

  h.clock.now += 2_000;
  assert.equal((await h.handshake(s, 'PLAIN')).errorCode, 0);
  const r = await h.authenticate(s, '\0bob\0bob-pw');
  assert.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
  assert.equal(r.errorMessage, 'Cannot change principals during re-authentication from User.alice: User.bob');
  assert.equal(s.sasl, 'failed');

  s = await authed();
  h.clock.now += 2_000;
  assert.equal((await h.handshake(s, 'SCRAM-SHA-256')).errorCode, 0, 'Kafka answers the handshake');
  const m = await h.authenticate(s, 'n,,n=alice,r=abc');
  assert.equal(m.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
  assert.equal(m.errorMessage, "SASL mechanism 'SCRAM-SHA-256' requested by client is not supported for re-authentication of mechanism 'PLAIN'");

  s = await authed();
  h.clock.now += 2_000;
  await h.handshake(s, 'PLAIN');
  const w = await h.authenticate(s, '\0alice\0wrong');
  assert.equal(w.errorMessage, 'Authentication failed: Invalid username or password');
  assert.ok(h.logs.some((l) => l.msg === 'SASL re-authentication failed'));
});

test('re-authentication needs a session expiry: without connections.max.reauth.ms a SaslHandshake is answered ILLEGAL_SASL_STATE', async (t) => {
  const h = await harness(t);
  const s = saslSession();
  await h.handshake(s, 'PLAIN');
  await h.authenticate(s, '\0alice\0alice-pw');
  assert.equal((await h.handshake(s, 'PLAIN')).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  assert.equal(s.sasl, 'authenticated', 'the session goes on');
  assert.equal((await h.authenticate(s, '\0alice\0alice-pw')).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  assert.equal(s.sasl, 'authenticated');
});

test('a token larger than sasl.server.max.receive.size fails', async (t) => {
  const h = await harness(t);
  const s = saslSession();
  await h.handshake(s, 'PLAIN');
  const r = await h.authenticate(s, Buffer.alloc(600_000, 0x41));
  assert.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
  assert.equal(r.errorMessage, 'Failing SASL authentication due to invalid receive size');
});
