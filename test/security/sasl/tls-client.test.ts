/**
 * KafkaConnection over TLS (ClientSecurity.tls) against a TLS listener serving the broker's own
 * Connection, with certificates from openssl (a test CA): SASL_SSL with SCRAM, the host name
 * checked against the certificate unless verifyHostname is false (the chain is checked either
 * way), an untrusted server refused, a client certificate presented to a listener that requires one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaConnection } from '../../../src/admin/kafka-connection.js';
import { AdminError, ConnectionError } from '../../../src/admin/errors.js';
import type { ClientSecurity } from '../../../src/admin/client-security.js';
import { ApiKey } from '../../../src/protocol/messages/index.js';
import { credentialFromPassword, scramAlgorithm } from '../../../src/security/sasl/scram.js';
import { requireTool } from '../../helpers/require-tool.js';
import { runChecked } from '../../helpers/run-process.js';
import { startSaslTestBroker, type SaslTestBroker } from './sasl-test-broker.js';

let dir: string;
const pem: Record<string, string> = {};

async function makeCerts(): Promise<void> {
  const openssl = requireTool('openssl', 'apt-get install -y openssl');
  const run = (...args: string[]) => runChecked(openssl, args, { timeoutMs: 20_000, cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=ferry-test-ca', '-keyout', 'ca.key', '-out', 'ca.pem');
  await run('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=other-ca', '-keyout', 'other-ca.key', '-out', 'other-ca.pem');
  const leaf = async (name: string, subject: string, san: string | null) => {
    await run('req', ...ec, '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    if (san) writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    await run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', ...(san ? ['-extfile', `${name}.ext`] : []), '-out', `${name}.pem`);
    pem[`${name}.key`] = readFileSync(join(dir, `${name}.key`), 'utf8');
    pem[`${name}.pem`] = readFileSync(join(dir, `${name}.pem`), 'utf8');
  };
  await leaf('server', '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
  await leaf('misnamed', '/CN=broker.example', 'DNS:broker.example');
  await leaf('client', '/CN=alice', null);
  pem['ca.pem'] = readFileSync(join(dir, 'ca.pem'), 'utf8');
  pem['other-ca.pem'] = readFileSync(join(dir, 'other-ca.pem'), 'utf8');
}

const brokers: SaslTestBroker[] = [];
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-tls-client-'));
  await makeCerts();
});
after(async () => {
  for (const b of brokers) await b.close();
  rmSync(dir, { recursive: true, force: true });
});

async function tlsBroker(cert: string, protocol: 'SSL' | 'SASL_SSL', clientCa?: string): Promise<SaslTestBroker> {
  const b = await startSaslTestBroker({ protocol, tls: { key: pem[`${cert}.key`]!, cert: pem[`${cert}.pem`]!, ca: clientCa } });
  brokers.push(b);
  return b;
}

const metadata = (c: KafkaConnection) => c.request(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });

test('SASL_SSL: TLS with the CA trusted and the name checked, then SCRAM-SHA-512', async () => {
  const b = await tlsBroker('server', 'SASL_SSL');
  await b.scram.put('SCRAM-SHA-512', 'carol', await credentialFromPassword(scramAlgorithm('SCRAM-SHA-512'), 'carol-pw', 4096));
  const security: ClientSecurity = { protocol: 'SASL_SSL', tls: { ca: pem['ca.pem'], verifyHostname: true }, sasl: { mechanism: 'SCRAM-SHA-512', username: 'carol', password: 'carol-pw' } };
  for (const address of [b.address, `localhost:${b.port}`]) {
    const c = await KafkaConnection.connect(address, { security });
    assert.equal((await metadata(c)).clusterId, 'sasl-test-cluster');
    c.close();
  }
  assert.deepEqual(b.sessions.map((s) => `${s.securityProtocol} ${s.principal.name}`), ['SASL_SSL carol', 'SASL_SSL carol']);
  await assert.rejects(KafkaConnection.connect(b.address, { security: { ...security, sasl: { ...security.sasl!, password: 'wrong' } } }),
    (e: unknown) => e instanceof AdminError && e.errorName === 'SASL_AUTHENTICATION_FAILED');
});

test('a certificate for another name: refused with the host-name check, accepted with verifyHostname false', async () => {
  const b = await tlsBroker('misnamed', 'SSL');
  await assert.rejects(KafkaConnection.connect(b.address, { security: { protocol: 'SSL', tls: { ca: pem['ca.pem'], verifyHostname: true } } }),
    (e: unknown) => e instanceof ConnectionError && /TLS: .*(IP: 127\.0\.0\.1 is not in the cert's list|altnames)/i.test(e.message));
  const c = await KafkaConnection.connect(b.address, { security: { protocol: 'SSL', tls: { ca: pem['ca.pem'], verifyHostname: false } } });
  assert.equal((await metadata(c)).controllerId, 1);
  c.close();
});

test('an untrusted server is refused even with verifyHostname false (the chain is always checked)', async () => {
  const b = await tlsBroker('server', 'SSL');
  for (const tls of [{ ca: pem['other-ca.pem'], verifyHostname: false }, { verifyHostname: false }]) {
    await assert.rejects(KafkaConnection.connect(b.address, { security: { protocol: 'SSL', tls } }),
      (e: unknown) => e instanceof ConnectionError && /TLS: .*(certificate|self.signed|issuer)/i.test(e.message));
  }
});

test('a listener that requires client certificates: connected with cert and key, refused without', async () => {
  const b = await tlsBroker('server', 'SSL', pem['ca.pem']);
  const c = await KafkaConnection.connect(b.address, { security: { protocol: 'SSL', tls: { ca: pem['ca.pem'], cert: pem['client.pem'], key: pem['client.key'], verifyHostname: true } } });
  assert.equal((await metadata(c)).controllerId, 1);
  c.close();
  assert.equal(b.sessions[0]!.principal.name, 'CN=alice');
  await assert.rejects(KafkaConnection.connect(b.address, { security: { protocol: 'SSL', tls: { ca: pem['ca.pem'], verifyHostname: true } }, connectTimeoutMs: 3000 }), ConnectionError);
});
