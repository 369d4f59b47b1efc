/**
 * The admin client's connection (src/admin/kafka-connection.ts) against a scripted broker (the
 * server's own Connection with a small handler registry): version negotiation, including an
 * older broker that answers ApiVersions v3 with UNSUPPORTED_VERSION (KIP-511), versionFor,
 * pipelined requests, and a request timeout failing the whole connection.
 */
import { newSession } from '../../src/server/session.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { pino } from 'pino';
import { KafkaConnection } from '../../src/admin/kafka-connection.js';
import { AdminError, ConnectionError } from '../../src/admin/errors.js';
import { Connection } from '../../src/server/connection.js';
import { HandlerRegistry, type Handler } from '../../src/server/handler-registry.js';
import { ByteBudget } from '../../src/server/limits.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { freePort } from '../helpers/ports.js';

/** A broker serving `apis` ([key, min, max, handler]); ApiVersions advertises them. */
async function scriptedBroker(t: { after(fn: () => Promise<void>): void }, apiVersionsMax: number, apis: Array<[number, number, number, Handler]>) {
  const registry = new HandlerRegistry();
  const seen: Array<{ apiKey: number; version: number }> = [];
  registry.register(ApiKey.ApiVersions, 0, apiVersionsMax, (ctx) => {
    seen.push({ apiKey: ApiKey.ApiVersions, version: ctx.header.apiVersion });
    return { errorCode: 0, apiKeys: registry.list().map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })) };
  });
  for (const [key, min, max, h] of apis) registry.register(key, min, max, (ctx, req) => { seen.push({ apiKey: key, version: ctx.header.apiVersion }); return h(ctx, req); });
  const shared = { responses: new ByteBudget(-1), requests: new ByteBudget(-1), onMuted: () => {}, onTimedOut: () => {} };
  const conns: Connection[] = [];
  const server = createServer((s) => conns.push(new Connection(s, conns.length + 1, registry, {
    frameBytesMax: 1 << 20, inFlightMax: 100, sendQueueMaxBytes: -1, requestReceiveTimeoutMs: -1, idleTimeoutMs: -1,
  }, pino({ level: 'silent' }), () => {}, shared, newSession('PLAINTEXT', 'PLAINTEXT', '127.0.0.1'))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const c of conns) c.close('test over', {}, 'info');
    await new Promise((resolve) => server.close(resolve));
  });
  return { address: `127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

const groups = (...ids: string[]) => ({ errorCode: 0, groups: ids.map((groupId) => ({ groupId, protocolType: 'consumer', groupState: 'Stable' })) });

test('versions are negotiated at connect; versionFor picks the highest version both sides and the codecs speak', async (t) => {
  const broker = await scriptedBroker(t, 3, [[ApiKey.ListGroups, 1, 3, () => groups('a')]]);
  const conn = await KafkaConnection.connect(broker.address);
  t.after(() => conn.close());
  assert.deepEqual(broker.seen, [{ apiKey: ApiKey.ApiVersions, version: 3 }]);
  assert.equal(conn.versionFor(ApiKey.ListGroups, 5), 3, 'the broker\'s max');
  assert.equal(conn.versionFor(ApiKey.ListGroups, 2), 2, 'ours');
  assert.ok(conn.supports(ApiKey.ListGroups));
  assert.equal(conn.supports(ApiKey.Produce), false);
  assert.throws(() => conn.versionFor(ApiKey.ListGroups, 0), (err: unknown) => err instanceof AdminError && /no common version of ListGroups/.test(err.message));
  assert.throws(() => conn.versionFor(ApiKey.Produce, 9), (err: unknown) => err instanceof AdminError && err.errorName === 'UNSUPPORTED_VERSION');
  const res = await conn.request(ApiKey.ListGroups, 9, { statesFilter: [], typesFilter: [] });
  assert.equal(res.groups[0].groupId, 'a');
  assert.deepEqual(broker.seen.at(-1), { apiKey: ApiKey.ListGroups, version: 3 });
});

test('an older broker (ApiVersions up to v2) answers v3 with UNSUPPORTED_VERSION; the client asks again at v0', async (t) => {
  const broker = await scriptedBroker(t, 2, [[ApiKey.ListGroups, 0, 2, () => groups('old')]]);
  const conn = await KafkaConnection.connect(broker.address);
  t.after(() => conn.close());
  assert.deepEqual(broker.seen.map((s) => s.version), [0], 'the v3 attempt never reached the handler; the v0 one did');
  assert.equal(conn.versionFor(ApiKey.ApiVersions, 4), 2);
  assert.equal((await conn.request(ApiKey.ListGroups, 4, { statesFilter: [], typesFilter: [] })).groups[0].groupId, 'old');
});

test('pipelined requests resolve each with its own response', async (t) => {
  let n = 0;
  const broker = await scriptedBroker(t, 3, [[ApiKey.ListGroups, 0, 4, () => groups(`g${++n}`)]]);
  const conn = await KafkaConnection.connect(broker.address);
  t.after(() => conn.close());
  const all = await Promise.all(Array.from({ length: 20 }, () => conn.request(ApiKey.ListGroups, 4, { statesFilter: [], typesFilter: [] })));
  assert.deepEqual(all.map((r) => r.groups[0].groupId), Array.from({ length: 20 }, (_, i) => `g${i + 1}`));
  assert.equal(conn.inFlight, 0);
});

test('a request with no answer within requestTimeoutMs fails the connection and everything pending on it', async (t) => {
  const broker = await scriptedBroker(t, 3, [[ApiKey.ListGroups, 0, 4, () => new Promise(() => {})]]);
  const conn = await KafkaConnection.connect(broker.address, { requestTimeoutMs: 200 });
  const a = conn.request(ApiKey.ListGroups, 4, { statesFilter: [], typesFilter: [] });
  const b = conn.request(ApiKey.ListGroups, 4, { statesFilter: [], typesFilter: [] });
  await assert.rejects(a, (err: unknown) => err instanceof ConnectionError && /ListGroups v4 timed out after 200 ms/.test(err.message));
  await assert.rejects(b, ConnectionError);
  assert.equal(conn.closed, true);
  await assert.rejects(conn.request(ApiKey.ListGroups, 4, { statesFilter: [], typesFilter: [] }), ConnectionError, 'a closed connection refuses at once');
});

test('a refused connection is a ConnectionError naming the address', async () => {
  const port = await freePort();
  await assert.rejects(KafkaConnection.connect(`127.0.0.1:${port}`), (err: unknown) => err instanceof ConnectionError && err.address === `127.0.0.1:${port}`);
});
