// The schema registry over HTTPS (schema.registry.protocol=https): the broker's ssl.* settings, or
// listener.name.schema_registry.ssl.* for the registry alone; HTTP Basic over TLS; the principal of
// a TLS client certificate (schema.registry.authentication=ssl) under topic ACLs; certificate
// files reloaded when they change; configurations that cannot work refused at start.
// Confluent's own clients (JavaScript through axios, confluent-kafka-python) talk to it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:https';
import { connect, type PeerCertificate } from 'node:tls';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { SchemaRegistryClient } from '@confluentinc/schemaregistry';
import { startBroker } from '../broker/in-process-broker.js';
import { testPki, type TestCert } from '../helpers/certs.js';
import { ADMIN_USER, plainServerJaas } from '../helpers/secure-broker.js';
import { runAcls } from '../../src/cli/acls-command.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { runJson } from '../helpers/run-process.js';
import { waitFor } from '../helpers/wait.js';
import { ConfigError, loadConfig } from '../../src/ops/config.js';

const pki = testPki();
const SCHEMA = { schema: JSON.stringify({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'long' }] }) };
const PY_SCRIPT = fileURLToPath(new URL('../clients/schema_registry_client.py', import.meta.url));
type Broker = Awaited<ReturnType<typeof startBroker>>;

interface CallOptions { ca?: string; client?: TestCert; basic?: { name: string; password: string }; body?: unknown }

/** One HTTPS request on a fresh connection: status and JSON body. */
function call(url: string, method: string, path: string, o: CallOptions = {}): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/vnd.schemaregistry.v1+json' };
    if (o.basic) headers.authorization = `Basic ${Buffer.from(`${o.basic.name}:${o.basic.password}`).toString('base64')}`;
    const req = request(url + path, {
      method, headers, agent: false, ca: o.ca ?? pki.ca.certPem, cert: o.client?.certPem, key: o.client?.keyPem,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try { resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }); } catch (e) { reject(e); }
      });
    });
    req.on('error', reject);
    req.end(o.body === undefined ? undefined : JSON.stringify(o.body));
  });
}

/** The certificate the listener presents. */
function peerCertificate(port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: pki.ca.certPem, servername: 'localhost' }, () => {
      resolve(s.getPeerCertificate());
      s.destroy();
    });
    s.on('error', reject);
  });
}

/**
 * requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE win over a session's own CA (psf/requests#3829),
 * which would hide the ssl.ca.location the client is given; some machines set them.
 */
function withoutCaBundleOverrides(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.REQUESTS_CA_BUNDLE;
  delete env.CURL_CA_BUNDLE;
  return env;
}

function portOf(url: string): number { return Number(new URL(url).port); }

describe('https with HTTP Basic (the broker\'s SASL users)', () => {
  let env: Broker;
  let url = '';
  before(async () => {
    env = await startBroker({
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.jaas.config': plainServerJaas(),
      'ssl.keystore.location': pki.server.keystorePath,
      'schema.registry.listener': '127.0.0.1:0', 'schema.registry.protocol': 'https', 'schema.registry.authentication': 'basic',
    });
    url = env.broker.parts.schemas.http!.url;
  });
  after(async () => { await env?.cleanup(); });

  test('the url is https; a client trusting the CA registers with Basic credentials; plain HTTP and untrusted clients get nothing', async () => {
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await call(url, 'GET', '/subjects')).status, 401);
    const reg = await call(url, 'POST', '/subjects/tls-value/versions', { basic: ADMIN_USER, body: SCHEMA });
    assert.equal(reg.status, 200, JSON.stringify(reg.json));
    assert.equal(typeof reg.json.id, 'number');
    await assert.rejects(fetch(url.replace('https:', 'http:') + '/subjects'), 'plain HTTP on the TLS port is not answered');
    await assert.rejects(call(url, 'GET', '/subjects', { ca: pki.otherCa.certPem, basic: ADMIN_USER }), /self.signed|unable to verify|certificate/i);
  });

  test('Confluent\'s JavaScript client over https (axios with the CA) registers and reads back', async () => {
    const client = new SchemaRegistryClient({
      baseURLs: [url],
      basicAuthCredentials: { credentialsSource: 'USER_INFO', userInfo: `${ADMIN_USER.name}:${ADMIN_USER.password}` },
      createAxiosDefaults: { httpsAgent: new Agent({ ca: pki.ca.certPem }) },
    });
    const id = await client.register('js-tls-value', { schemaType: 'AVRO', schema: SCHEMA.schema });
    const back = await client.getBySubjectAndId('js-tls-value', id);
    assert.deepEqual(JSON.parse(back.schema), JSON.parse(SCHEMA.schema));
    assert.ok((await client.getAllSubjects()).includes('js-tls-value'));
  });
});

describe('https with client certificates (schema.registry.authentication=ssl) and topic ACLs', () => {
  let env: Broker;
  let url = '';
  const admin = pki.issue({ name: 'sr-admin', subject: '/O=Acme/CN=registry-admin' });
  const adminPrincipal = 'User:CN=registry-admin,O=Acme';
  before(async () => {
    env = await startBroker({
      'authorizer.class.name': 'ferry',
      // ANONYMOUS (the PLAINTEXT Kafka listener) only so the test can create ACLs with `ferry acls`.
      'super.users': `${adminPrincipal};User:ANONYMOUS`,
      'ssl.keystore.location': pki.server.keystorePath, 'ssl.truststore.location': pki.ca.certPath,
      'listener.name.schema_registry.ssl.client.auth': 'required',
      'schema.registry.listener': '127.0.0.1:0', 'schema.registry.protocol': 'https', 'schema.registry.authentication': 'ssl',
    });
    url = env.broker.parts.schemas.http!.url;
  });
  after(async () => { await env?.cleanup(); });

  test('the certificate\'s principal is authorized; without a trusted certificate the handshake is refused', async () => {
    const denied = await call(url, 'POST', '/subjects/orders-value/versions', { client: pki.client, body: SCHEMA });
    assert.deepEqual([denied.status, denied.json.error_code], [403, 40301]);
    assert.match(denied.json.message, /CN=alice,OU=eng,O=Acme,C=US/);
    const ok = await call(url, 'POST', '/subjects/orders-value/versions', { client: admin, body: SCHEMA });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    await assert.rejects(call(url, 'GET', '/subjects'), 'no client certificate');
    await assert.rejects(call(url, 'GET', '/subjects', { client: pki.untrustedClient }), 'a certificate from another CA');
    await assert.rejects(call(url, 'GET', '/subjects', { client: pki.expiredClient }), 'an expired certificate');

    let err = '';
    const code = await runAcls(['--bootstrap-server', env.bootstrap, '--add', '--allow-principal', 'User:CN=alice,OU=eng,O=Acme,C=US',
      '--operation', 'Read', '--operation', 'Write', '--topic', 'orders'], { out: () => {}, err: (t) => { err += t; } });
    assert.equal(code, 0, err);
    await waitFor(async () => (await call(url, 'GET', '/subjects', { client: pki.client })).json.includes?.('orders-value'), 10_000, 'alice may read orders-value');
    const alice = await call(url, 'POST', '/subjects/orders-value/versions', { client: pki.client, body: SCHEMA });
    assert.equal(alice.status, 200);
    const other = await call(url, 'GET', '/subjects/payments-value/versions', { client: pki.client });
    assert.equal(other.status, 403, 'another topic\'s subject stays closed');
  });

  test('confluent-kafka-python: SchemaRegistryClient with a client certificate; JSONSerializer writes a validated topic and reads back', { timeout: 120_000 }, async (t) => {
    const python = requirePythonModules('confluent_kafka', 'jsonschema', 'requests');
    const kafka = new Kafka({ clientId: 'sr-tls', brokers: [env.bootstrap], logLevel: logLevel.NOTHING });
    const a = kafka.admin();
    await a.connect();
    await a.createTopics({
      topics: [{
        topic: 'py-tls', numPartitions: 1,
        configEntries: [{ name: 'confluent.value.schema.validation', value: 'true' }, { name: 'ferry.value.schema.validation', value: 'full' }],
      }],
    });
    await a.disconnect();
    const r = await runJson(python, [PY_SCRIPT, 'tls', '--bootstrap', env.bootstrap, '--registry', url, '--topic', 'py-tls', '--count', '50',
      '--ca', pki.ca.certPath, '--cert', admin.certPath, '--key', admin.keyPath], { timeoutMs: 100_000, env: withoutCaBundleOverrides() });
    t.diagnostic(JSON.stringify(r));
    assert.deepEqual(r.deliveryErrors, []);
    assert.equal(r.delivered, 50);
    assert.equal(r.version, 1);
    assert.equal(r.consumed, 50);
    assert.ok(r.equal, 'JSONDeserializer returns the records produced');
    assert.ok(r.subjects.includes('py-tls-value'));
    assert.equal(r.untrustedError, 'SSLError', 'a client without the CA refuses the registry');
  });
});

test('ssl.client.auth=requested: no certificate or an untrusted one passes the handshake and gets 401; a trusted one its principal', async () => {
  const env = await startBroker({
    'ssl.keystore.location': pki.server.keystorePath, 'ssl.truststore.location': pki.ca.certPath, 'ssl.client.auth': 'requested',
    'schema.registry.listener': '127.0.0.1:0', 'schema.registry.protocol': 'https', 'schema.registry.authentication': 'ssl',
  });
  try {
    const url = env.broker.parts.schemas.http!.url;
    for (const client of [undefined, pki.untrustedClient]) {
      const r = await call(url, 'GET', '/subjects', { client });
      assert.deepEqual([r.status, r.json.error_code], [401, 40101], client?.name ?? 'no certificate');
      assert.match(r.json.message, /trusted TLS client certificate/);
    }
    assert.equal((await call(url, 'POST', '/subjects/req-value/versions', { client: pki.client, body: SCHEMA })).status, 200, 'no authorizer: any trusted certificate');
  } finally {
    await env.cleanup();
  }
});

test('listener.name.schema_registry.ssl.* gives the registry its own certificate, reloaded when the file changes', { timeout: 60_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'ferry-sr-tls-'));
  const first = pki.issue({ name: 'sr-first', subject: '/CN=registry-first', server: true });
  const second = pki.issue({ name: 'sr-second', subject: '/CN=registry-second', server: true });
  const keystore = join(work, 'registry.pem');
  copyFileSync(first.keystorePath, keystore);
  const env = await startBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
    'ssl.keystore.location': pki.server.keystorePath,
    'listener.name.schema_registry.ssl.keystore.location': keystore,
    'schema.registry.listener': '127.0.0.1:0', 'schema.registry.protocol': 'https',
  });
  try {
    const port = portOf(env.broker.parts.schemas.http!.url);
    assert.equal((await peerCertificate(port)).subject.CN, 'registry-first');
    const ssl = env.broker.listenerAddresses[1]!;
    assert.equal((await peerCertificate(ssl.port)).subject.CN, 'localhost', 'the Kafka SSL listener keeps the broker\'s certificate');
    copyFileSync(second.keystorePath, keystore);
    await waitFor(async () => (await peerCertificate(port)).subject.CN === 'registry-second', 15_000, 'the registry presents the new certificate');
    assert.equal((await call(env.broker.parts.schemas.http!.url, 'GET', '/subjects')).status, 200);
  } finally {
    await env.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
});

test('configurations that cannot work are refused at start, naming the key', () => {
  const load = (argv: string[]) => () => loadConfig({ argv: ['--schema.registry.listener=127.0.0.1:0', ...argv], env: {}, cwd: process.cwd() });
  const refused = (argv: string[], key: string, re: RegExp) => assert.throws(load(argv), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.key, key);
    assert.match(e.message, re);
    return true;
  });
  refused(['--schema.registry.protocol=https'], 'ssl.keystore.location', /key and certificate for the schema registry/);
  refused(['--schema.registry.authentication=ssl'], 'schema.registry.authentication', /schema\.registry\.protocol=https/);
  refused(['--schema.registry.protocol=https', `--ssl.keystore.location=${pki.server.keystorePath}`, '--schema.registry.authentication=ssl'],
    'schema.registry.authentication', /ssl\.client\.auth/);
  refused([`--listener.name.schema_registry.sasl.enabled.mechanisms=PLAIN`], 'listener.name.schema_registry.sasl.enabled.mechanisms', /ssl\.\* key of the schema registry/);
  assert.doesNotThrow(load(['--schema.registry.protocol=https', `--listener.name.schema_registry.ssl.keystore.location=${pki.server.keystorePath}`,
    '--ssl.client.auth=requested', '--schema.registry.authentication=ssl']));
});
