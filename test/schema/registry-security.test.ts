// The schema registry behind the broker's own users and ACLs (schema.registry.authentication=basic,
// an authorizer on): HTTP Basic credentials are checked as SASL/PLAIN does (JAAS users, then
// SCRAM credentials), and subjects are authorized with topic ACLs (Confluent's TopicAclAuthorizer
// model: <topic>-value is topic <topic>). ACLs are made with `ferry acls` over SASL as the admin.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../broker/in-process-broker.js';
import { ADMIN_USER, PLAIN_USER, plainServerJaas } from '../helpers/secure-broker.js';
import { runAcls } from '../../src/cli/acls-command.js';
import { runUsers } from '../../src/cli/users-command.js';
import { waitFor } from '../helpers/wait.js';

let env: Awaited<ReturnType<typeof startBroker>>;
let url = '';
let adminArgs: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'ferry-sr-sec-'));

before(async () => {
  env = await startBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    'sasl.jaas.config': plainServerJaas(),
    'authorizer.class.name': 'ferry', 'super.users': `User:${ADMIN_USER.name}`,
    'schema.registry.listener': '127.0.0.1:0', 'schema.registry.authentication': 'basic',
  });
  url = env.broker.parts.schemas.http!.url;
  const sasl = env.broker.listenerAddresses[1]!;
  const adminConfig = join(work, 'admin.properties');
  writeFileSync(adminConfig, `security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${ADMIN_USER.name}" password="${ADMIN_USER.password}";\n`);
  adminArgs = ['--bootstrap-server', `${sasl.host}:${sasl.port}`, '--command-config', adminConfig];
});
after(async () => {
  await env?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

async function cli(run: (argv: string[], io: { out(t: string): void; err(t: string): void }) => Promise<number>, argv: string[]): Promise<void> {
  let err = '';
  const code = await run(argv, { out: () => {}, err: (t) => { err += t; } });
  assert.equal(code, 0, `${argv.join(' ')}: ${err}`);
}

async function call(method: string, path: string, user: { name: string; password: string } | null, body?: unknown): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/vnd.schemaregistry.v1+json' };
  if (user) headers.authorization = `Basic ${Buffer.from(`${user.name}:${user.password}`).toString('base64')}`;
  const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}
const SCHEMA = { schema: JSON.stringify({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'long' }] }) };
const carol = { name: 'carol', password: 'carol-secret' };

test('no or wrong credentials: 401; a broker user without ACLs: 403; the super user may do everything', async () => {
  assert.equal((await call('GET', '/subjects', null)).status, 401);
  assert.equal((await call('GET', '/subjects', { name: PLAIN_USER.name, password: 'wrong' })).status, 401);
  assert.equal((await call('GET', '/subjects', { name: 'nobody', password: 'x' })).status, 401);
  const denied = await call('POST', '/subjects/orders-value/versions', PLAIN_USER, SCHEMA);
  assert.deepEqual([denied.status, denied.json.error_code], [403, 40301]);
  assert.equal((await call('POST', '/subjects/orders-value/versions', ADMIN_USER, SCHEMA)).status, 200);
  assert.equal((await call('PUT', '/config', ADMIN_USER, { compatibility: 'FULL' })).status, 200);
  assert.equal((await call('PUT', '/config', PLAIN_USER, { compatibility: 'NONE' })).status, 403);
  // alice sees no subject she may not read.
  assert.deepEqual((await call('GET', '/subjects', PLAIN_USER)).json, []);
  assert.equal((await call('GET', '/schemas/ids/1', PLAIN_USER)).status, 403);
});

test('topic ACLs authorize the subjects of the topic: WRITE registers, READ reads; SCRAM users work too', async () => {
  await cli(runAcls, ['--add', '--allow-principal', `User:${PLAIN_USER.name}`, '--operation', 'Write', '--operation', 'Read', '--topic', 'payments', ...adminArgs]);
  await cli(runUsers, ['add', '--user', carol.name, '--password', carol.password, '--mechanism', 'SCRAM-SHA-256', ...adminArgs]);
  await cli(runAcls, ['--add', '--allow-principal', `User:${carol.name}`, '--operation', 'Read', '--topic', 'payments', ...adminArgs]);
  await waitFor(async () => (await call('POST', '/subjects/payments-value/versions', PLAIN_USER, SCHEMA)).status === 200, 5_000, 'alice may register payments-value');
  assert.equal((await call('POST', '/subjects/payments-key/versions', PLAIN_USER, { schema: '"string"' })).status, 200);
  assert.deepEqual((await call('GET', '/subjects', PLAIN_USER)).json, ['payments-key', 'payments-value']);
  // carol (SCRAM credentials, checked like SASL/PLAIN checks them) reads but may not write.
  assert.equal((await call('GET', '/subjects/payments-value/versions/latest', carol)).status, 200);
  assert.equal((await call('POST', '/subjects/payments-value/versions', carol, SCHEMA)).status, 403);
  assert.equal((await call('GET', '/subjects/payments-value/versions/latest', { ...carol, password: 'nope' })).status, 401);
  // Neither may delete (DELETE on the topic), nor touch orders-value.
  assert.equal((await call('DELETE', '/subjects/payments-value', PLAIN_USER)).status, 403);
  assert.equal((await call('GET', '/subjects/orders-value/versions', PLAIN_USER)).status, 403);
});
