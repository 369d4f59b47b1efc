// The registry's listener under hostile clients: more connections than it keeps, requests that
// never finish, malformed paths and bodies, odd subject names. The broker keeps serving Kafka
// clients and well-behaved registry clients throughout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../broker/in-process-broker.js';
import { CONNECTIONS_MAX } from '../../src/schema/registry-http.js';

let env: Awaited<ReturnType<typeof startBroker>>;
let url = '';
let port = 0;
before(async () => {
  env = await startBroker({ 'schema.registry.listener': '127.0.0.1:0' });
  url = env.broker.parts.schemas.http!.url;
  port = env.broker.parts.schemas.http!.port;
});
after(async () => { await env?.cleanup(); });

const open = (): Promise<Socket> => new Promise((resolve, reject) => {
  const s = connect(port, '127.0.0.1', () => resolve(s));
  s.once('error', reject);
});

test(`more than ${CONNECTIONS_MAX} idle connections and half-sent requests: Kafka still served, the registry again once they go`, { timeout: 60_000 }, async () => {
  const sockets: Socket[] = [];
  let closedByServer = 0;
  for (let i = 0; i < CONNECTIONS_MAX + 100; i++) {
    const s = await open().catch(() => null);
    if (!s) continue;
    s.on('error', () => {});
    s.on('close', () => { closedByServer++; });
    // Half a request: headers that never end.
    s.write('POST /subjects/x/versions HTTP/1.1\r\nHost: r\r\nContent-Length: 100\r\n');
    sockets.push(s);
  }
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(closedByServer >= 90, `connections past ${CONNECTIONS_MAX} are dropped (${closedByServer} closed)`);
  const kafka = new Kafka({ clientId: 'hostile', brokers: [env.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'still-served', messages: [{ value: 'x' }] });
  await producer.disconnect();
  for (const s of sockets) s.destroy();
  await new Promise((r) => setTimeout(r, 200));
  const res = await fetch(`${url}/subjects`);
  assert.equal(res.status, 200);
});

test('malformed requests get a Confluent error, odd subject names round-trip', async () => {
  const post = (path: string, body: string) => fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal((await fetch(`${url}/subjects/%E0%A4%A/versions`)).status, 400);
  assert.equal((await post('/subjects/s/versions', '[1,2]')).status, 422);
  assert.equal((await post('/subjects/s/versions', '{"schema": 42}')).status, 422);
  assert.equal((await post('/subjects/s/versions', '{"schema": "\\"string\\"", "references": [{"name": 1}]}')).status, 422);
  assert.equal((await post('/subjects/s/versions', '{"schema": "\\"string\\"", "schemaType": "AVRO", "references": "nope"}')).status, 422);
  assert.equal((await fetch(`${url}/subjects`, { method: 'PATCH' })).status, 405);
  // A subject with '/', '%' and spaces is one subject, not a path.
  const odd = 'team a/orders%value';
  const reg = await post(`/subjects/${encodeURIComponent(odd)}/versions`, JSON.stringify({ schema: '"string"' }));
  assert.equal(reg.status, 200);
  const subjects = await (await fetch(`${url}/subjects`)).json() as string[];
  assert.ok(subjects.includes(odd), JSON.stringify(subjects));
  assert.equal((await fetch(`${url}/subjects/${encodeURIComponent('team a')}/versions`)).status, 404);
  // A control character in a subject is refused.
  assert.equal((await post(`/subjects/${encodeURIComponent('a\u0001b')}/versions`, JSON.stringify({ schema: '"string"' }))).status, 422);
});
