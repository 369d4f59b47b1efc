/**
 * One Connection (src/server/connection.ts) over a loopback socket, with a handler registry the
 * test scripts: responses in request order whatever order handlers finish in, a null result
 * answered by nothing, the in-flight bound, KIP-511's ApiVersions fallback, a failing handler
 * closing only its connection (aborting what still runs there), and the send-queue claims a
 * handler makes. Limits under load are in connection-limits.test.ts (against a whole broker).
 */
import { newSession, type Session } from '../../src/server/session.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { pino } from 'pino';
import { Connection, type ConnectionOptions } from '../../src/server/connection.js';
import { HandlerRegistry, type RequestContext } from '../../src/server/handler-registry.js';
import { ByteBudget } from '../../src/server/limits.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Writer } from '../../src/protocol/primitives.js';
import { encodeRequestHeader } from '../../src/protocol/headers.js';
import { RawKafkaConnection, decodeResponseFrame } from '../helpers/raw-kafka.js';
import { waitFor } from '../helpers/wait.js';

type Behaviour = (ctx: RequestContext) => Promise<object | null> | object | null;

interface Deferred<T> { promise: Promise<T>; resolve(v: T): void; reject(e: Error): void }
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void, reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const listed = (ctx: RequestContext) => ({ groups: [{ groupId: `g${ctx.header.correlationId}`, protocolType: 'consumer', groupState: 'Stable' }] });

/** A server whose connections run `behaviour` for ListGroups; ApiVersions answers at once. */
async function serve(t: { after(fn: () => Promise<void>): void }, behaviour: Behaviour, options: Partial<ConnectionOptions> = {}, responsesLimitBytes = -1, makeSession?: () => Session) {
  const registry = new HandlerRegistry();
  const calls: RequestContext[] = [];
  const callWaiters: Array<{ n: number; resolve: () => void }> = [];
  registry.register(ApiKey.ListGroups, 0, 4, (ctx) => {
    calls.push(ctx);
    for (const w of callWaiters.filter((x) => calls.length >= x.n)) w.resolve();
    return behaviour(ctx);
  });
  registry.register(ApiKey.ApiVersions, 0, 3, () => ({ errorCode: 0, apiKeys: registry.list().map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })) }));
  const shared = { responses: new ByteBudget(responsesLimitBytes), requests: new ByteBudget(-1), onMuted: () => {}, onTimedOut: () => {} };
  const connections: Connection[] = [];
  const closed: Connection[] = [];
  const connectionWaiters: Array<() => void> = [];
  const server: Server = createServer((socket) => {
    connections.push(new Connection(socket, connections.length + 1, registry, {
      frameBytesMax: 1 << 20, inFlightMax: 100, sendQueueMaxBytes: -1, requestReceiveTimeoutMs: -1, idleTimeoutMs: -1, ...options,
    }, pino({ level: 'silent' }), (c) => closed.push(c), shared, makeSession?.() ?? newSession('PLAINTEXT', 'PLAINTEXT', '127.0.0.1')));
    for (const w of connectionWaiters.splice(0)) w();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const clients: RawKafkaConnection[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    for (const c of connections) c.close('test over', {}, 'info');
    await new Promise((resolve) => server.close(resolve));
  });
  const port = (server.address() as { port: number }).port;
  return {
    calls, shared, closed,
    /** A client and the server's Connection for it. */
    async connect(): Promise<{ client: RawKafkaConnection; conn: Connection }> {
      const before = connections.length;
      const arrived = new Promise<void>((resolve) => connectionWaiters.push(resolve));
      const client = await RawKafkaConnection.connect(`127.0.0.1:${port}`);
      clients.push(client);
      if (connections.length === before) await arrived;
      return { client, conn: connections[connections.length - 1]! };
    },
    /** Resolves once the handler has been called `n` times in all. */
    called(n: number): Promise<void> {
      if (calls.length >= n) return Promise.resolve();
      return new Promise((resolve) => callWaiters.push({ n, resolve }));
    },
  };
}

const LIST = { statesFilter: [], typesFilter: [] };

/** A request frame with a v1 header and an empty body, for keys and versions no codec can encode. */
function headerOnlyFrame(apiKey: number, apiVersion: number): Buffer {
  const w = new Writer();
  const at = w.reserveInt32();
  encodeRequestHeader(w, 1, { apiKey, apiVersion, correlationId: 77, clientId: 'future' });
  w.patchInt32(at, w.length - 4);
  return Buffer.from(w.toBuffer());
}
async function readListGroups(client: RawKafkaConnection): Promise<{ correlationId: number; groupId: string }> {
  const frame = await client.readFrame();
  assert.ok(frame, 'a response frame');
  const correlationId = frame.readInt32BE(0);
  const body = decodeResponseFrame(ApiKey.ListGroups, 4, frame, correlationId);
  return { correlationId, groupId: body.groups[0]?.groupId };
}

test('responses go out in request order, whatever order the handlers finish in', async (t) => {
  const first = deferred<object | null>();
  const srv = await serve(t, (ctx) => (ctx.header.correlationId === 1 ? first.promise : listed(ctx)));
  const { client, conn } = await srv.connect();
  for (let i = 0; i < 3; i++) await client.send(ApiKey.ListGroups, 4, LIST);
  await srv.called(3);
  await tick();
  // Responses 2 and 3 are ready but held behind 1: counted as held, not written.
  assert.ok(conn.heldResponseBytes > 0, 'the finished responses wait in the connection');
  assert.equal(srv.shared.responses.usedBytes, conn.heldResponseBytes, 'and count in the broker-wide budget');
  first.resolve(listed(srv.calls[0]!));
  assert.deepEqual([await readListGroups(client), await readListGroups(client), await readListGroups(client)], [
    { correlationId: 1, groupId: 'g1' }, { correlationId: 2, groupId: 'g2' }, { correlationId: 3, groupId: 'g3' },
  ]);
  await waitFor(() => srv.shared.responses.usedBytes === 0, 5_000, 'written responses release their bytes');
});

test('a handler answering null sends nothing and does not hold up the responses after it', async (t) => {
  const srv = await serve(t, (ctx) => (ctx.header.correlationId === 1 ? null : listed(ctx)));
  const { client } = await srv.connect();
  await client.send(ApiKey.ListGroups, 4, LIST);
  await client.send(ApiKey.ListGroups, 4, LIST);
  assert.deepEqual(await readListGroups(client), { correlationId: 2, groupId: 'g2' });
  // And the connection goes on.
  await client.send(ApiKey.ListGroups, 4, LIST);
  assert.deepEqual(await readListGroups(client), { correlationId: 3, groupId: 'g3' });
});

test('at most inFlightMax requests are handled at once; the next is dispatched when the oldest is written', async (t) => {
  const pending = new Map<number, Deferred<object | null>>();
  const srv = await serve(t, (ctx) => {
    const d = deferred<object | null>();
    pending.set(ctx.header.correlationId, d);
    return d.promise;
  }, { inFlightMax: 2 });
  const { client } = await srv.connect();
  for (let i = 0; i < 4; i++) await client.send(ApiKey.ListGroups, 4, LIST);
  await srv.called(2);
  await tick();
  assert.equal(srv.calls.length, 2, 'two in flight, two waiting');
  // The second finishing first frees nothing: the queue holds it until the first is written.
  pending.get(2)!.resolve(listed(srv.calls[1]!));
  await tick();
  assert.equal(srv.calls.length, 2);
  pending.get(1)!.resolve(listed(srv.calls[0]!));
  await srv.called(4);
  pending.get(3)!.resolve(listed(srv.calls[2]!));
  pending.get(4)!.resolve(listed(srv.calls[3]!));
  const got = [];
  for (let i = 0; i < 4; i++) got.push((await readListGroups(client)).correlationId);
  assert.deepEqual(got, [1, 2, 3, 4]);
});

test('KIP-511: ApiVersions at a version not served is answered UNSUPPORTED_VERSION with the table in a v0 body; other APIs and versions with a codec get UNSUPPORTED_VERSION at their own version; only what no codec covers closes', async (t) => {
  const srv = await serve(t, listed);
  const { client } = await srv.connect();
  const corr = await client.send(ApiKey.ApiVersions, 4, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
  const frame = await client.readFrame();
  assert.ok(frame);
  const body = decodeResponseFrame(ApiKey.ApiVersions, 0, frame, corr);
  assert.equal(body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  assert.deepEqual(body.apiKeys.map((a: { apiKey: number; minVersion: number; maxVersion: number }) => [a.apiKey, a.minVersion, a.maxVersion]),
    [[ApiKey.ListGroups, 0, 4], [ApiKey.ApiVersions, 0, 3]]);
  // A supported version on the same connection works.
  assert.equal((await client.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' })).errorCode, 0);

  // A version the codec knows but the registry does not serve: answered at that version.
  const refused = await client.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] });
  assert.equal(refused.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  assert.deepEqual(refused.groups, []);
  // An API the registry does not serve at all: the same.
  const heartbeat = await client.request(ApiKey.Heartbeat, 4, { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null });
  assert.equal(heartbeat.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  // A version without a top-level error code answers per item: Fetch v3 names its partitions.
  const fetch = await client.request(ApiKey.Fetch, 3, { replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1024, topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024 }, { partition: 1, fetchOffset: 0n, partitionMaxBytes: 1024 }] }] });
  assert.deepEqual(fetch.responses.map((r: any) => [r.topic, r.partitions.map((p: any) => [p.partitionIndex, p.errorCode])]),
    [['t', [[0, ErrorCode.UNSUPPORTED_VERSION], [1, ErrorCode.UNSUPPORTED_VERSION]]]]);
  assert.equal(srv.calls.length, 0, 'the handler never saw them');
  assert.equal((await client.request(ApiKey.ListGroups, 4, LIST)).groups[0].groupId, 'g6', 'the connection stays usable');

  // No codec covers a version newer than any spec: nothing can be encoded, the connection closes.
  await client.writeRaw(headerOnlyFrame(ApiKey.ListGroups, 99));
  await client.closedPromise;
  const other = await srv.connect();
  await other.client.writeRaw(headerOnlyFrame(9999, 0));
  await other.client.closedPromise;
  assert.equal(srv.closed.length, 2, 'an unknown api key closes the connection too');
});

test('a failing handler closes its connection only; closing aborts the requests still running there and drops their results', async (t) => {
  const parked = deferred<object | null>();
  let parkedSignal: AbortSignal | null = null;
  const srv = await serve(t, (ctx) => {
    if (ctx.connectionId === 1 && ctx.header.correlationId === 1) { parkedSignal = ctx.signal; return parked.promise; }
    if (ctx.connectionId === 1) throw new Error('handler bug');
    return listed(ctx);
  });
  const a = await srv.connect();
  const b = await srv.connect();
  await a.client.send(ApiKey.ListGroups, 4, LIST);
  await a.client.send(ApiKey.ListGroups, 4, LIST);
  await a.client.closedPromise;
  assert.deepEqual(srv.closed, [a.conn]);
  assert.ok(parkedSignal !== null && (parkedSignal as AbortSignal).aborted, 'the parked request learns its connection is gone');
  parked.resolve(listed(srv.calls[0]!));
  await tick();
  assert.equal(a.conn.heldResponseBytes, 0);
  assert.equal(srv.shared.responses.usedBytes, 0, 'a late result holds nothing');
  assert.equal((await b.client.request(ApiKey.ListGroups, 4, LIST)).groups[0].groupId, 'g1', 'the other connection is unaffected');
});

test('a handler claims send-queue room within its connection\'s limit and the broker\'s; the claim becomes the encoded size, released once written', async (t) => {
  const seen: Record<string, number> = {};
  const srv = await serve(t, (ctx) => {
    const rb = ctx.responseBytes!;
    seen.granted = rb.claim(5_000);
    seen.afterClaim = srv.shared.responses.usedBytes;
    rb.adjust(-100);
    seen.afterGiveBack = srv.shared.responses.usedBytes;
    seen.second = rb.claim(1_000);
    rb.adjust(-1_000_000);
    seen.afterAll = srv.shared.responses.usedBytes;
    return listed(ctx);
  }, { sendQueueMaxBytes: 1_000 }, 600);
  const { client } = await srv.connect();
  await client.request(ApiKey.ListGroups, 4, LIST);
  assert.deepEqual(seen, {
    granted: 600, afterClaim: 600, // the broker's 600 bound it before the connection's 1000
    afterGiveBack: 500, second: 100, // only the room left is granted
    afterAll: 0, // giving back more than held stops at zero
  });
  await waitFor(() => srv.shared.responses.usedBytes === 0, 5_000, 'the written response releases its bytes');
  assert.ok(srv.shared.responses.peakBytes >= 600);
});
