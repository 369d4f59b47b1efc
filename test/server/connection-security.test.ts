// The connection's share of security: what a SASL listener serves before and after authentication,
// raw v0 tokens, closing after a failed authentication or an expired session, a TLS client on a
// plaintext port, and client-quota throttling. SASL itself is stood in for by tiny handlers that set
// the session's state (the mechanisms are tested in test/security/sasl).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { KafkaServer } from '../../src/server/server.js';
import { HandlerRegistry, type RequestContext } from '../../src/server/handler-registry.js';
import type { RequestQuotas } from '../../src/server/connection.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';

interface Served { address(listener: string): string; sessions: RequestContext['session'][] }

async function serve(t: { after(fn: () => Promise<void>): void }, opts: { quotas?: RequestQuotas; lifetimeMs?: number } = {}): Promise<Served> {
  const registry = new HandlerRegistry();
  const sessions: RequestContext['session'][] = [];
  registry.register(ApiKey.ApiVersions, 0, 3, () => ({ errorCode: 0, apiKeys: registry.list().map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })) }));
  registry.register(ApiKey.ListGroups, 0, 4, (ctx) => { sessions.push(ctx.session); return { throttleTimeMs: 0, errorCode: 0, groups: [] }; });
  registry.register(ApiKey.SaslHandshake, 0, 1, (ctx, req: { mechanism: string }) => {
    const s = ctx.session!;
    if (req.mechanism !== 'TEST') { s.sasl = 'failed'; return { errorCode: 33, mechanisms: ['TEST'] }; }
    s.mechanism = 'TEST';
    if (ctx.header.apiVersion === 0) {
      s.sasl = 'raw-tokens';
      s.rawToken = async (token) => {
        if (token.toString() !== 'good') { s.sasl = 'failed'; return null; }
        s.sasl = 'authenticated';
        s.principal = { type: 'User', name: 'raw' };
        return Buffer.from('welcome');
      };
    } else {
      s.sasl = 'authenticate';
    }
    return { errorCode: 0, mechanisms: ['TEST'] };
  });
  registry.register(ApiKey.SaslAuthenticate, 0, 2, (ctx, req: { authBytes: Buffer }) => {
    const s = ctx.session!;
    if (req.authBytes.toString() !== 'good') {
      s.sasl = 'failed';
      return { errorCode: 58, errorMessage: 'Authentication failed', authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n };
    }
    s.sasl = 'authenticated';
    s.principal = { type: 'User', name: 'alice' };
    s.expiresAtMs = opts.lifetimeMs ? Date.now() + opts.lifetimeMs : null;
    return { errorCode: 0, errorMessage: null, authBytes: Buffer.alloc(0), sessionLifetimeMs: BigInt(opts.lifetimeMs ?? 0) };
  });
  const server = new KafkaServer(registry, {
    listeners: [
      { name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: '127.0.0.1', port: 0 },
      { name: 'SASL', protocol: 'SASL_PLAINTEXT', host: '127.0.0.1', port: 0 },
    ],
    connectionsMax: 100, maxConnectionsPerIp: 100, queuedMaxResponseBytes: -1, queuedMaxRequestBytes: -1,
    frameBytesMax: 1 << 20, inFlightMax: 100, sendQueueMaxBytes: -1, requestReceiveTimeoutMs: -1, idleTimeoutMs: -1,
    quotas: opts.quotas,
  }, pino({ level: 'silent' }));
  const bound = await server.listenAll();
  t.after(() => server.close());
  return { address: (name) => `127.0.0.1:${bound.find((b) => b.name === name)!.port}`, sessions };
}

const LIST_GROUPS = [ApiKey.ListGroups, 3, {}] as const;

test('a SASL listener answers ApiVersions before authentication and closes on any other request', async (t) => {
  const s = await serve(t);
  const c = await RawKafkaConnection.connect(s.address('SASL'));
  t.after(() => c.close());
  const versions = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
  assert.equal(versions.errorCode, 0);
  await c.send(...LIST_GROUPS);
  assert.equal(await c.readFrame(), null, 'closed instead of answering');
});

test('after SaslHandshake v1 + SaslAuthenticate the session carries the principal to every handler', async (t) => {
  const s = await serve(t);
  const c = await RawKafkaConnection.connect(s.address('SASL'));
  t.after(() => c.close());
  assert.equal((await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'TEST' })).errorCode, 0);
  assert.equal((await c.request(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from('good') })).errorCode, 0);
  assert.equal((await c.request(...LIST_GROUPS)).errorCode, 0);
  const session = s.sessions.at(-1)!;
  assert.deepEqual(session?.principal, { type: 'User', name: 'alice' });
  assert.equal(session?.listenerName, 'SASL');
  assert.equal(session?.securityProtocol, 'SASL_PLAINTEXT');
  // The plaintext listener serves at once, as User:ANONYMOUS.
  const p = await RawKafkaConnection.connect(s.address('PLAINTEXT'));
  t.after(() => p.close());
  assert.equal((await p.request(...LIST_GROUPS)).errorCode, 0);
  assert.deepEqual(s.sessions.at(-1)?.principal, { type: 'User', name: 'ANONYMOUS' });
});

test('a failed authentication is answered, then the connection is closed; others go on', async (t) => {
  const s = await serve(t);
  const other = await RawKafkaConnection.connect(s.address('SASL'));
  t.after(() => other.close());
  assert.equal((await other.request(ApiKey.SaslHandshake, 1, { mechanism: 'TEST' })).errorCode, 0);
  const c = await RawKafkaConnection.connect(s.address('SASL'));
  t.after(() => c.close());
  assert.equal((await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'TEST' })).errorCode, 0);
  const failed = await c.request(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from('bad') });
  assert.equal(failed.errorCode, 58);
  assert.ok(await c.waitClosed(3_000), 'closed after the failure answer');
  assert.equal((await other.request(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from('good') })).errorCode, 0);
  assert.equal((await other.request(...LIST_GROUPS)).errorCode, 0);
});

test('an unsupported mechanism is answered with the enabled ones, then closed', async (t) => {
  const s = await serve(t);
  const c = await RawKafkaConnection.connect(s.address('SASL'));
  t.after(() => c.close());
  const r = await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'GSSAPI' });
  assert.equal(r.errorCode, 33);
  assert.deepEqual(r.mechanisms, ['TEST']);
  assert.ok(await c.waitClosed(3_000));
});

test('SaslHandshake v0: the next frames are bare tokens, answered with bare tokens', async (t) => {
  const s = await serve(t);
  const c = await RawKafkaConnection.connect(s.address('SASL'));
  t.after(() => c.close());
  assert.equal((await c.request(ApiKey.SaslHandshake, 0, { mechanism: 'TEST' })).errorCode, 0);
  const token = Buffer.from('good');
  const frame = Buffer.alloc(4 + token.length);
  frame.writeInt32BE(token.length);
  token.copy(frame, 4);
  await c.writeRaw(frame);
  assert.equal((await c.readFrame())?.toString(), 'welcome');
  assert.equal((await c.request(...LIST_GROUPS)).errorCode, 0);
  assert.deepEqual(s.sessions.at(-1)?.principal, { type: 'User', name: 'raw' });

  const bad = await RawKafkaConnection.connect(s.address('SASL'));
  t.after(() => bad.close());
  assert.equal((await bad.request(ApiKey.SaslHandshake, 0, { mechanism: 'TEST' })).errorCode, 0);
  await bad.writeRaw(Buffer.from([0, 0, 0, 3, 0x62, 0x61, 0x64]));
  assert.equal(await bad.readFrame(), null, 'a bad raw token closes the connection');
});

test('KIP-368: after the session lifetime, a request other than re-authentication closes the connection', async (t) => {
  const s = await serve(t, { lifetimeMs: 300 });
  const reauth = await RawKafkaConnection.connect(s.address('SASL'));
  const lapsed = await RawKafkaConnection.connect(s.address('SASL'));
  t.after(() => { reauth.close(); lapsed.close(); });
  for (const c of [reauth, lapsed]) {
    await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'TEST' });
    const r = await c.request(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from('good') });
    assert.equal(r.sessionLifetimeMs, 300n);
  }
  await new Promise((r) => setTimeout(r, 400));
  // Re-authentication on the same connection restores it.
  assert.equal((await reauth.request(ApiKey.SaslHandshake, 1, { mechanism: 'TEST' })).errorCode, 0);
  assert.equal((await reauth.request(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from('good') })).errorCode, 0);
  assert.equal((await reauth.request(...LIST_GROUPS)).errorCode, 0);
  await lapsed.send(...LIST_GROUPS);
  assert.equal(await lapsed.readFrame(), null, 'the lapsed session is closed');
});

test('a TLS ClientHello on a plaintext listener closes that connection at once, not after a 369 MB wait', async (t) => {
  const s = await serve(t);
  const c = await RawKafkaConnection.connect(s.address('PLAINTEXT'));
  t.after(() => c.close());
  await c.writeRaw(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
  assert.ok(await c.waitClosed(2_000));
});

test('a client over its quota gets throttle_time_ms and its next request waits that long', async (t) => {
  const recorded: { apiKey: number; requestBytes: number; responseBytes: number; user: string }[] = [];
  const requestBytes: number[] = [];
  const s = await serve(t, {
    quotas: {
      recordRequest: (r) => { if (r.apiKey === ApiKey.ListGroups) requestBytes.push(r.requestBytes); return 0; },
      recordResponse: (r) => {
        recorded.push({ apiKey: r.apiKey, requestBytes: requestBytes.shift() ?? 0, responseBytes: r.responseBytes, user: r.session.principal.name });
        return r.apiKey === ApiKey.ListGroups ? 400 : 0;
      },
    },
  });
  const c = await RawKafkaConnection.connect(s.address('PLAINTEXT'));
  t.after(() => c.close());
  const first = await c.request(...LIST_GROUPS);
  assert.equal(first.throttleTimeMs, 400);
  const started = Date.now();
  const second = await c.request(...LIST_GROUPS);
  const waited = Date.now() - started;
  assert.equal(second.throttleTimeMs, 400);
  assert.ok(waited >= 350, `the second request waited for the throttle (${waited} ms)`);
  const lg = recorded.filter((r) => r.apiKey === ApiKey.ListGroups);
  assert.equal(lg.length, 2);
  assert.ok(lg[0]!.requestBytes > 0 && lg[0]!.responseBytes > 0);
  assert.equal(lg[0]!.user, 'ANONYMOUS');
});

test('before authentication a frame over 512 KiB closes the connection before it is buffered', async (t) => {
  const s = await serve(t);
  const c = await RawKafkaConnection.connect(s.address('SASL'));
  t.after(() => c.close());
  const head = Buffer.alloc(4);
  head.writeInt32BE(10 * 1024 * 1024);
  await c.writeRaw(head);
  assert.ok(await c.waitClosed(2_000), 'a 10 MiB declared frame is refused at once');
});
