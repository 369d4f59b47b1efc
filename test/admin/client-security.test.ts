// parseClientProperties: Kafka's and librdkafka's client property names, JAAS credentials, PEM
// stores (files and inline), OAUTHBEARER tokens, and errors that name file:line and key without
// ever quoting a secret. Plus the kafkajs mapping the drill's workload uses.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClientProperties, parseClientProperties, type ClientSecurity } from '../../src/admin/client-security.js';
import { UsageError } from '../../src/admin/errors.js';
import { kafkajsSecurity } from '../../src/drill/kafkajs-security.js';
import { testPki } from '../helpers/certs.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';
import { ferry } from '../cli/run-cli.js';
import { Args } from '../../src/cli/args.js';
import { COMMON_OPTIONS, connectAdmin, runReporting } from '../../src/cli/admin-common.js';
import { parseDrillArgs } from '../../src/cli/drill-command.js';

const SECRET = 'Sup3r-s3cret-pw';
const dir = mkdtempSync(join(tmpdir(), 'ferry-client-props-'));
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };

function parse(text: string, warnings: string[] = []): ClientSecurity {
  return parseClientProperties(text, 'client.properties', (w) => warnings.push(w));
}

/** The UsageError of parsing `text`; checks it names the line and key and quotes no secret. */
function parseError(text: string, line: number | null, key: string): string {
  let err: unknown;
  try { parse(text); } catch (e) { err = e; }
  assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
  const msg = (err as Error).message;
  assert.ok(msg.startsWith(line === null ? 'client.properties: ' : `client.properties:${line}: `), msg);
  assert.ok(msg.includes(key), `${msg} names ${key}`);
  assert.ok(!msg.includes(SECRET), `${msg} must not quote the secret`);
  return msg;
}

const payload = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

describe('parseClientProperties', () => {
  const pki = testPki();

  test('nothing set: PLAINTEXT, no TLS, no SASL', () => {
    assert.deepEqual(parse('# just a comment\n'), { protocol: 'PLAINTEXT' });
    assert.deepEqual(parse('security.protocol=PLAINTEXT\n'), { protocol: 'PLAINTEXT' });
  });

  test('Kafka spelling: SASL_SSL + SCRAM-SHA-512, PEM truststore, multi-line JAAS with continuations', () => {
    const s = parse([
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\',
      '    username="alice" \\',
      `    password="${SECRET}";`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${pki.ca.certPath}`,
    ].join('\n'));
    assert.equal(s.protocol, 'SASL_SSL');
    assert.deepEqual(s.sasl, { mechanism: 'SCRAM-SHA-512', username: 'alice', password: SECRET });
    assert.equal(s.tls!.verifyHostname, true);
    assert.equal(s.tls!.ca!.replace(/\s/g, ''), pki.ca.certPem.replace(/\s/g, ''));
    assert.equal(s.tls!.cert, undefined);
  });

  test('PLAIN with PlainLoginModule, unquoted values, comments inside the JAAS text', () => {
    const s = parse(`security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required /* admin */ username=admin password='${SECRET}';\n`);
    assert.deepEqual(s, { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: 'admin', password: SECRET } });
  });

  test('PEM keystore file (key + chain) for mutual TLS; empty endpoint identification turns the host name check off', () => {
    const s = parse(`security.protocol=SSL\nssl.keystore.type=PEM\nssl.keystore.location=${pki.client.keystorePath}\nssl.truststore.location=${pki.ca.certPath}\nssl.endpoint.identification.algorithm=\n`);
    assert.equal(s.protocol, 'SSL');
    assert.equal(s.sasl, undefined);
    assert.match(s.tls!.cert!, /^-----BEGIN CERTIFICATE-----\n/);
    assert.match(s.tls!.key!, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.ok(!s.tls!.cert!.includes('PRIVATE KEY') && !s.tls!.key!.includes('CERTIFICATE'), 'key and chain are split');
    assert.equal(s.tls!.verifyHostname, false);
  });

  test('inline PEM (ssl.keystore.certificate.chain / ssl.keystore.key / ssl.truststore.certificates) written with continuations', () => {
    const inline = (pem: string) => pem.trim().split('\n').join(' \\\n  ');
    const s = parse([
      'security.protocol=SSL',
      `ssl.keystore.certificate.chain=${inline(pki.client.certPem)}`,
      `ssl.keystore.key=${inline(pki.encryptedServer.keyPem)}`,
      `ssl.key.password=${pki.encryptedServer.keyPassword}`,
      `ssl.truststore.certificates=${inline(pki.ca.certPem)}`,
    ].join('\n'));
    assert.equal(s.tls!.ca!.trim(), pki.ca.certPem.trim());
    assert.equal(s.tls!.cert!.trim(), pki.client.certPem.trim());
    assert.equal(s.tls!.key!.trim(), pki.encryptedServer.keyPem.trim());
    assert.equal(s.tls!.keyPassword, pki.encryptedServer.keyPassword);
  });

  test('librdkafka spelling (kcat -F): lower-case protocol, sasl.mechanisms, sasl.username/password, ssl.*.location, encrypted key', () => {
    const s = parse([
      'security.protocol=sasl_ssl',
      'sasl.mechanisms=SCRAM-SHA-256',
      'sasl.username=bob',
      `sasl.password=${SECRET}`,
      `ssl.ca.location=${pki.ca.certPath}`,
      `ssl.certificate.location=${pki.encryptedServer.certPath}`,
      `ssl.key.location=${pki.encryptedServer.keyPath}`,
      `ssl.key.password=${pki.encryptedServer.keyPassword}`,
      'ssl.endpoint.identification.algorithm=none',
    ].join('\n'));
    assert.equal(s.protocol, 'SASL_SSL');
    assert.deepEqual(s.sasl, { mechanism: 'SCRAM-SHA-256', username: 'bob', password: SECRET });
    assert.equal(s.tls!.verifyHostname, false);
    assert.ok(s.tls!.cert && s.tls!.key && s.tls!.ca);
    assert.equal(s.tls!.keyPassword, pki.encryptedServer.keyPassword);
  });

  test('OAUTHBEARER unsecured: a fresh alg-none token from unsecuredLoginStringClaim_sub on each authentication', async () => {
    const s = parse('security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER\nsasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="svc" unsecuredLoginListClaim_scope=",read,write" unsecuredLoginLifetimeSeconds="120";\n');
    assert.equal(s.sasl!.mechanism, 'OAUTHBEARER');
    assert.equal(typeof s.sasl!.token, 'function');
    const token = await (s.sasl!.token as () => Promise<string>)();
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.$/);
    assert.deepEqual(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()), { alg: 'none' });
    const claims = payload(token);
    assert.equal(claims.sub, 'svc');
    assert.deepEqual(claims.scope, ['read', 'write']);
    assert.equal(claims.exp - claims.iat, 120);
    assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 5);
  });

  test('OAUTHBEARER from sasl.oauthbearer.token.file: the file is read again on each authentication', async () => {
    const tokenPath = file('token', 'first.token.sig\n');
    const s = parse(`security.protocol=SASL_SSL\nsasl.mechanism=OAUTHBEARER\nsasl.oauthbearer.token.file=${tokenPath}\nsasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;\n`);
    const get = s.sasl!.token as () => Promise<string>;
    assert.equal(await get(), 'first.token.sig');
    writeFileSync(tokenPath, 'second.token.sig');
    assert.equal(await get(), 'second.token.sig');
  });

  test('librdkafka unsecured OAUTHBEARER: sasl.oauthbearer.config=principal=...', async () => {
    const s = parse('security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=OAUTHBEARER\nenable.sasl.oauthbearer.unsecure.jwt=true\nsasl.oauthbearer.config=principal=kcat lifeSeconds=60\n');
    const claims = payload(await (s.sasl!.token as () => Promise<string>)());
    assert.equal(claims.sub, 'kcat');
    assert.equal(claims.exp - claims.iat, 60);
  });

  test('unknown and unused keys are warnings naming file:line, never values', () => {
    const warnings: string[] = [];
    const s = parse(`bootstrap.servers=x:1\nclient.id=tool\nfrobnicate=${SECRET}\nsasl.password=${SECRET}\n`, warnings);
    assert.equal(s.protocol, 'PLAINTEXT');
    assert.ok(warnings.some((w) => w.startsWith('client.properties:3: frobnicate')), warnings.join('\n'));
    assert.ok(warnings.some((w) => w.startsWith('client.properties:4: sasl.password') && /PLAINTEXT/.test(w)), warnings.join('\n'));
    assert.ok(!warnings.some((w) => w.startsWith('client.properties:2:')), 'client.id is known and harmless');
    assert.ok(warnings.every((w) => !w.includes(SECRET)));
  });

  test('errors name file:line and key, and never quote a secret', () => {
    parseError('security.protocol=SASL_TLS\n', 1, 'security.protocol');
    assert.match(parseError('security.protocol=SASL_SSL\nsasl.jaas.config=x required username=a password=b;\n', null, 'sasl.mechanism'), /GSSAPI/);
    parseError('security.protocol=SASL_SSL\nsasl.mechanism=GSSAPI\n', 2, 'sasl.mechanism');
    parseError(`security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="${SECRET};\n`, 3, 'sasl.jaas.config');
    parseError(`security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="${SECRET}"\n`, 3, 'sasl.jaas.config');
    parseError('security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="a";\n', 3, 'sasl.jaas.config');
    parseError(`security.protocol=SASL_SSL\nsasl.mechanism=OAUTHBEARER\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="${SECRET}";\n`, 3, 'sasl.jaas.config');
    parseError('security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n', null, 'sasl.jaas.config');
    parseError('security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-256\nsasl.username=a\n', 3, 'sasl.password');
    parseError('security.protocol=SSL\nssl.truststore.type=JKS\n', 2, 'ssl.truststore.type');
    parseError(`security.protocol=SSL\n\nssl.truststore.location=${join(dir, 'missing.pem')}\n`, 3, 'ssl.truststore.location');
    parseError(`security.protocol=SSL\nssl.truststore.location=${file('not-pem.jks', '\u00fe\u00ed\u00fe\u00ed binary')}\n`, 2, 'ssl.truststore.location');
    // A wrong key password: the message says so without echoing either password.
    const msg = parseError(`security.protocol=SSL\nssl.keystore.location=${pki.encryptedServer.keystorePath}\nssl.key.password=${SECRET}\n`, 2, 'ssl.keystore.location');
    assert.match(msg, /ssl\.key\.password/);
    assert.ok(!msg.includes(pki.encryptedServer.keyPassword!));
    parseError(`security.protocol=SSL\nssl.keystore.location=${pki.encryptedServer.keystorePath}\n`, 2, 'ssl.keystore.location');
    parseError(`security.protocol=SSL\nssl.keystore.location=${pki.ca.certPath}\n`, 2, 'ssl.keystore.location');
    parseError('security.protocol=SSL\nssl.endpoint.identification.algorithm=dns\n', 2, 'ssl.endpoint.identification.algorithm');
    parseError('security.protocol=SASL_SSL\nsasl.mechanism=OAUTHBEARER\nsasl.oauthbearer.token.endpoint.url=https://idp/token\nsasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=x clientSecret=y;\n', 3, 'sasl.oauthbearer.token.endpoint.url');
    parseError('security.protocol=SASL_SSL\nsasl.mechanism=OAUTHBEARER\nsasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;\n', 3, 'unsecuredLoginStringClaim_sub');
    parseError(`security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.username=a\nsasl.password=${SECRET}\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=a password=b;\n`, 3, 'sasl.username');
    parseError('security.protocol=SSL\nssl.ca.pem=-----BEGIN CERTIFICATE-----AAAA-----END CERTIFICATE-----\n', 2, 'ssl.ca.pem');
  });

  test('loadClientProperties reads a file and names it in errors', () => {
    const p = file('ok.properties', 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=u\nsasl.password=p\n');
    assert.deepEqual(loadClientProperties(p), { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' } });
    const bad = file('bad.properties', 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=NOPE\n');
    assert.throws(() => loadClientProperties(bad), (e: Error) => e instanceof UsageError && e.message.startsWith(`${bad}:2: sasl.mechanism`));
    assert.throws(() => loadClientProperties(join(dir, 'nope.properties')), (e: Error) => e instanceof UsageError && /cannot read .*nope\.properties \(ENOENT\)/.test(e.message));
  });
});

describe('kafkajsSecurity (the drill workload)', () => {
  test('PLAINTEXT: no ssl, no sasl', () => {
    assert.deepEqual(kafkajsSecurity(undefined), {});
    assert.deepEqual(kafkajsSecurity({ protocol: 'PLAINTEXT' }), {});
  });

  test('SASL_SSL SCRAM: tls options and a scram mechanism; no host check when verifyHostname is false', () => {
    const k = kafkajsSecurity({ protocol: 'SASL_SSL', tls: { ca: 'CA', verifyHostname: false }, sasl: { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' } });
    assert.deepEqual(k.sasl, { mechanism: 'scram-sha-256', username: 'u', password: 'p' });
    const ssl = k.ssl as { ca: string; checkServerIdentity: () => unknown };
    assert.equal(ssl.ca, 'CA');
    assert.equal(ssl.checkServerIdentity(), undefined);
  });

  test('SASL_PLAINTEXT OAUTHBEARER: the provider calls the token function each time', async () => {
    let n = 0;
    const k = kafkajsSecurity({ protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'OAUTHBEARER', token: async () => `t${++n}` } });
    assert.equal(k.ssl, undefined);
    const sasl = k.sasl as { mechanism: string; oauthBearerProvider: () => Promise<{ value: string }> };
    assert.equal(sasl.mechanism, 'oauthbearer');
    assert.deepEqual(await sasl.oauthBearerProvider(), { value: 't1' });
    assert.deepEqual(await sasl.oauthBearerProvider(), { value: 't2' });
  });
});

describe('--command-config plumbing against a plaintext broker', { timeout: 60_000 }, () => {
  const broker = new BrokerProcess();
  const good = file('plaintext.properties', 'security.protocol=PLAINTEXT\nclient.id=ignored\nfrobnicate=1\n');
  const bad = file('bad.properties', `security.protocol=SASL_SSL\nsasl.mechanism=KERBEROS\nsasl.password=${SECRET}\n`);
  before(() => broker.start());
  after(() => broker.dispose());

  test('connectAdmin(args) reads --command-config: PLAINTEXT works; a bad file is a usage error (exit 2) naming file:line and key', async () => {
    const ok = await connectAdmin(Args.parse(['-b', broker.bootstrap, '--command-config', good], COMMON_OPTIONS));
    try { assert.ok((await ok.metadata([])).brokers.length === 1); } finally { ok.close(); }
    let stderr = '';
    const io = { out: () => undefined, err: (t: string) => { stderr += t; } };
    const code = await runReporting(io, 'topics', 'usage: ...\n', async () => {
      (await connectAdmin(Args.parse(['-b', broker.bootstrap, '--command-config', bad], COMMON_OPTIONS), io)).close();
      return 0;
    });
    assert.equal(code, 2);
    assert.match(stderr, new RegExp(`^ferry topics: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: sasl.mechanism: expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER`));
    assert.ok(!stderr.includes(SECRET));
  });

  test('ferry perf produce/consume --command-config (PLAINTEXT) against the broker; a bad file exits 2', async () => {
    const p = await ferry('perf', 'produce', '--topic', 'cc-perf', '--partitions', '1', '--num-records', '200', '--record-size', '100', '--progress-interval-ms', '0', '--json', '-b', broker.bootstrap, '--command-config', good);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).records, 200);
    assert.equal(JSON.parse(p.stdout).settings.securityProtocol, 'PLAINTEXT');
    assert.match(p.stderr, /^warning: .*plaintext\.properties:3: frobnicate is not used by Ferry's tools; ignored$/m);
    assert.ok(!p.stderr.includes('client.id'), 'client.id is a known key: no warning');
    const c = await ferry('perf', 'consume', '--topic', 'cc-perf', '--num-records', '200', '--progress-interval-ms', '0', '--json', '-b', broker.bootstrap, '--consumer.config', good);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(JSON.parse(c.stdout).records, 200);
    const b = await ferry('perf', 'produce', '--topic', 'cc-perf', '--num-records', '10', '-b', broker.bootstrap, '--command-config', bad);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /bad\.properties:2: sasl\.mechanism/);
    assert.ok(!b.stderr.includes(SECRET));
    const missing = await ferry('perf', 'produce', '--topic', 'cc-perf', '--num-records', '10', '-b', broker.bootstrap, '--command-config', join(dir, 'missing.properties'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing\.properties: cannot read .*ENOENT/);
  });

  test('ferry drill --command-config: a bad file exits 2 before anything runs', async () => {
    const d = await ferry('drill', '-b', broker.bootstrap, '--scenario', 'kill-broker', '--kill-cmd', 'true', '--command-config', bad);
    assert.equal(d.code, 2);
    assert.match(d.stderr, /^ferry drill: .*bad\.properties:2: sasl\.mechanism/);
    const inv = parseDrillArgs(['-b', broker.bootstrap, '--scenario', 'kill-broker', '--kill-cmd', 'true', '--command-config', good]);
    assert.notEqual(inv, 'help');
    assert.deepEqual((inv as Exclude<typeof inv, 'help'>).options.security, { protocol: 'PLAINTEXT' });
  });
});

describe('--command-config against a broker with mTLS, SASL_SSL (PLAIN) and SASL_PLAINTEXT (OAUTHBEARER) listeners', { timeout: 60_000 }, () => {
  const pki = testPki();
  let sslPort = 0;
  let saslSslPort = 0;
  let saslPort = 0;
  let broker: BrokerProcess;
  before(async () => {
    const plainPort = await freePort();
    sslPort = await freePort();
    saslSslPort = await freePort();
    saslPort = await freePort();
    broker = new BrokerProcess({
      port: plainPort,
      config: {
        listeners: `PLAINTEXT://127.0.0.1:${plainPort},SSL://127.0.0.1:${sslPort},SASL_SSL://127.0.0.1:${saslSslPort},SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
        'ssl.keystore.location': pki.server.keystorePath,
        'ssl.truststore.location': pki.ca.certPath,
        'listener.name.ssl.ssl.client.auth': 'required',
        'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'PLAIN',
        'listener.name.sasl_ssl.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="${SECRET}";`,
        'listener.name.sasl_plaintext.sasl.enabled.mechanisms': 'OAUTHBEARER',
        'listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
      },
    });
    await broker.start();
  });

  test('SASL_SSL PLAIN and SASL_PLAINTEXT unsecured OAUTHBEARER through ferry perf; a wrong password fails without being printed', async () => {
    const plain = file('sasl-ssl.properties', `security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="${SECRET}";\nssl.truststore.location=${pki.ca.certPath}\n`);
    const p = await ferry('perf', 'produce', '--topic', 'cc-sasl', '--partitions', '1', '--num-records', '50', '--record-size', '100', '--progress-interval-ms', '0', '--json', '-b', `127.0.0.1:${saslSslPort}`, '--command-config', plain);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).settings.saslMechanism, 'PLAIN');
    const oauth = file('oauth.properties', 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER\nsasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="svc";\n');
    const c = await ferry('perf', 'consume', '--topic', 'cc-sasl', '--num-records', '50', '--progress-interval-ms', '0', '--json', '-b', `127.0.0.1:${saslPort}`, '--command-config', oauth);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(JSON.parse(c.stdout).records, 50);
    const wrong = file('wrong.properties', `security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.username=alice\nsasl.password=not-${SECRET}\nssl.ca.location=${pki.ca.certPath}\n`);
    const w = await ferry('perf', 'produce', '--topic', 'cc-sasl', '--num-records', '10', '-b', `127.0.0.1:${saslSslPort}`, '--command-config', wrong, '--timeout-ms', '5000');
    assert.equal(w.code, 1);
    assert.match(w.stderr, /SASL_AUTHENTICATION_FAILED/);
    assert.ok(!w.stderr.includes(SECRET));
  });

  test('the drill workload\'s kafkajs options over SASL_SSL PLAIN', async () => {
    const { Kafka, logLevel } = await import('kafkajs');
    const security = parseClientProperties(`security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.username=alice\nsasl.password=${SECRET}\nssl.ca.location=${pki.ca.certPath}\n`, 'kafkajs-sasl.properties');
    const kafka = new Kafka({ clientId: 'cc-kafkajs-sasl', brokers: [`127.0.0.1:${saslSslPort}`], logLevel: logLevel.NOTHING, ...kafkajsSecurity(security) });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    try {
      const md = await producer.send({ topic: 'cc-kafkajs-sasl', messages: [{ value: 'over SASL_SSL' }] });
      assert.equal(md[0]!.errorCode, 0);
    } finally {
      await producer.disconnect();
    }
  });
  after(() => broker.dispose());

  test('ferry perf with a client keystore (Kafka names) and with librdkafka names works; without a client certificate or with the wrong CA it fails', async () => {
    const kafkaNames = file('mtls.properties', `security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=${pki.ca.certPath}\nssl.keystore.type=PEM\nssl.keystore.location=${pki.client.keystorePath}\n`);
    const rdNames = file('mtls-rd.properties', `security.protocol=ssl\nssl.ca.location=${pki.ca.certPath}\nssl.certificate.location=${pki.client.certPath}\nssl.key.location=${pki.client.keyPath}\n`);
    const bootstrap = `127.0.0.1:${sslPort}`;
    const p = await ferry('perf', 'produce', '--topic', 'cc-tls', '--partitions', '1', '--num-records', '100', '--record-size', '100', '--progress-interval-ms', '0', '--json', '-b', bootstrap, '--command-config', kafkaNames);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).settings.securityProtocol, 'SSL');
    const c = await ferry('perf', 'consume', '--topic', 'cc-tls', '--num-records', '100', '--progress-interval-ms', '0', '--json', '-b', bootstrap, '--command-config', rdNames);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(JSON.parse(c.stdout).records, 100);
    const noCert = file('nocert.properties', `security.protocol=SSL\nssl.truststore.location=${pki.ca.certPath}\n`);
    const n = await ferry('perf', 'produce', '--topic', 'cc-tls', '--num-records', '10', '-b', bootstrap, '--command-config', noCert, '--timeout-ms', '5000');
    assert.equal(n.code, 1, 'the broker refuses a client without a certificate');
    const wrongCa = file('wrongca.properties', `security.protocol=SSL\nssl.truststore.location=${pki.otherCa.certPath}\nssl.keystore.location=${pki.client.keystorePath}\n`);
    const w = await ferry('perf', 'produce', '--topic', 'cc-tls', '--num-records', '10', '-b', bootstrap, '--command-config', wrongCa, '--timeout-ms', '5000');
    assert.equal(w.code, 1);
    assert.match(w.stderr, /certificate|verify|issuer/i);
  });

  test('the drill workload\'s kafkajs options (kafkajsSecurity) connect a real kafkajs producer over mutual TLS', async () => {
    const { Kafka, logLevel } = await import('kafkajs');
    const security = parseClientProperties(`security.protocol=SSL\nssl.truststore.location=${pki.ca.certPath}\nssl.keystore.location=${pki.client.keystorePath}\n`, 'kafkajs.properties');
    const kafka = new Kafka({ clientId: 'cc-kafkajs', brokers: [`127.0.0.1:${sslPort}`], logLevel: logLevel.NOTHING, ...kafkajsSecurity(security) });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    try {
      const md = await producer.send({ topic: 'cc-kafkajs', messages: [{ value: 'over mTLS' }] });
      assert.equal(md[0]!.errorCode, 0);
    } finally {
      await producer.disconnect();
    }
  });
});
