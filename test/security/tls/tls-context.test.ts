// TlsContextProvider against real TLS: tls.createServer (and a hand-wrapped server TLSSocket, as
// src/server/server.ts does) with serverOptions(), real tls.connect clients, the test PKI from
// test/helpers/certs.ts. Handshakes, refused protocol versions, each ssl.client.auth mode, the
// principal of a client certificate, encrypted keys, inline PEM, cipher suite names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:tls';
import { testPki } from '../../helpers/certs.js';
import { TlsContextProvider } from '../../../src/security/tls/tls-context.js';
import { SERVER_STYLES, pemBody, recordingLog, settings, startServer, tryConnect, type ClientResult } from './tls-fixture.js';

const pki = testPki();
const silent = () => recordingLog().log;
const trustCa = { ca: pki.ca.certPem };
const asClient = (c: { certPem: string; keyPem: string }) => ({ ...trustCa, cert: c.certPem, key: c.keyPem });

async function withServer<T>(provider: TlsContextProvider, style: (typeof SERVER_STYLES)[number], fn: (port: number, refusals: string[]) => Promise<T>): Promise<T> {
  const server = await startServer(provider, style);
  try {
    return await fn(server.port, server.refusals);
  } finally {
    await server.close();
    provider.close();
  }
}

function expectOk(r: ClientResult): Extract<ClientResult, { ok: true }> {
  assert.ok(r.ok, `expected the connection to be accepted, got: ${r.ok ? '' : r.error}`);
  return r;
}

test('handshake with the keystore file: TLS 1.3 and 1.2, the server certificate verifies for localhost, the client is ANONYMOUS', async () => {
  const provider = TlsContextProvider.open('SSL', settings({ keystoreLocation: pki.server.keystorePath }), silent());
  await withServer(provider, 'tls.Server', async (port) => {
    const r13 = expectOk(await tryConnect(port, trustCa));
    assert.equal(r13.protocol, 'TLSv1.3');
    assert.equal(r13.line, 'hello User:ANONYMOUS');
    assert.equal(r13.peer.subject.CN, 'localhost');
    const r12 = expectOk(await tryConnect(port, { ...trustCa, maxVersion: 'TLSv1.2' }));
    assert.equal(r12.protocol, 'TLSv1.2');
    // The chain is checked by the client against the CA: another CA does not verify it.
    const wrongCa = await tryConnect(port, { ca: pki.otherCa.certPem });
    assert.equal(wrongCa.ok, false);
  });
});

test('a TLS 1.1 client is refused, and TLSv1.1 in ssl.enabled.protocols is a config error', async () => {
  const provider = TlsContextProvider.open('SSL', settings({ keystoreLocation: pki.server.keystorePath }), silent());
  assert.equal(provider.serverOptions().minVersion, 'TLSv1.2');
  const tls11 = { ...trustCa, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;
  await withServer(provider, 'tls.Server', async (port) => {
    const r = await tryConnect(port, tls11);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.error, /ALERT_PROTOCOL_VERSION/, 'the server answers with a protocol_version alert');
  });
  // The same client does speak TLS 1.1 to a server that allows it: the refusal above is ours.
  const permissive = createServer({ key: pki.server.keyPem, cert: pki.server.certPem, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (c) => c.end('hello\n'));
  await new Promise<void>((r) => permissive.listen(0, '127.0.0.1', r));
  try {
    assert.equal(expectOk(await tryConnect((permissive.address() as AddressInfo).port, tls11)).protocol, 'TLSv1.1');
  } finally {
    permissive.close();
  }
  assert.throws(() => TlsContextProvider.open('SSL', settings({ keystoreLocation: pki.server.keystorePath, enabledProtocols: ['TLSv1.1', 'TLSv1.2'] }), silent()),
    { name: 'TlsConfigError', message: 'listener SSL: ssl.enabled.protocols TLSv1.1,TLSv1.2: TLSv1.1 is not allowed (only TLSv1.2 and TLSv1.3)' });
});

test('ssl.enabled.protocols=TLSv1.3 refuses a TLS 1.2-only client', async () => {
  const provider = TlsContextProvider.open('SSL', settings({ keystoreLocation: pki.server.keystorePath, enabledProtocols: ['TLSv1.3'] }), silent());
  await withServer(provider, 'tls.Server', async (port) => {
    assert.equal((await tryConnect(port, { ...trustCa, maxVersion: 'TLSv1.2' })).ok, false);
    assert.equal(expectOk(await tryConnect(port, trustCa)).protocol, 'TLSv1.3');
  });
});

for (const style of SERVER_STYLES) {
  test(`ssl.client.auth=required (${style}): no certificate, an untrusted one and an expired one are refused; a trusted one gives the RFC 2253 subject`, async () => {
    const provider = TlsContextProvider.open('SSL', settings({
      keystoreLocation: pki.server.keystorePath, truststoreLocation: pki.ca.certPath, clientAuth: 'required',
    }), silent());
    await withServer(provider, style, async (port) => {
      assert.equal((await tryConnect(port, trustCa)).ok, false, 'no client certificate');
      assert.equal((await tryConnect(port, asClient(pki.untrustedClient))).ok, false, 'certificate from another CA');
      assert.equal((await tryConnect(port, asClient(pki.expiredClient))).ok, false, 'expired certificate');
      assert.equal((await tryConnect(port, { ...asClient(pki.untrustedClient), maxVersion: 'TLSv1.2' })).ok, false, 'another CA, TLS 1.2');
      const r = expectOk(await tryConnect(port, asClient(pki.client)));
      assert.equal(r.line, 'hello User:CN=alice,OU=eng,O=Acme,C=US');
    });
  });

  test(`ssl.client.auth=requested (${style}): no certificate is ANONYMOUS, an untrusted or expired one is refused, a trusted one is mapped`, async () => {
    const provider = TlsContextProvider.open('SSL', settings({
      keystoreLocation: pki.server.keystorePath, truststoreLocation: pki.ca.certPath, clientAuth: 'requested',
      principalMappingRules: 'RULE:^CN=(.*?),OU=eng,.*$/$1@eng/U, DEFAULT',
    }), silent());
    await withServer(provider, style, async (port, refusals) => {
      assert.equal(expectOk(await tryConnect(port, trustCa)).line, 'hello User:ANONYMOUS');
      assert.equal(expectOk(await tryConnect(port, asClient(pki.client))).line, 'hello User:ALICE@ENG');
      assert.equal((await tryConnect(port, asClient(pki.untrustedClient))).ok, false);
      assert.equal((await tryConnect(port, asClient(pki.expiredClient))).ok, false);
      assert.equal(refusals.length, 2);
      assert.match(refusals[0]!, /^listener SSL: TLS client refused: client certificate not trusted \(\w+\): C=US, O=Acme, OU=eng, CN=mallory$/);
      assert.match(refusals[1]!, /CERT_HAS_EXPIRED/);
    });
  });
}

test('ssl.client.auth=none does not ask for a certificate: a client offering one is ANONYMOUS', async () => {
  const provider = TlsContextProvider.open('SSL', settings({ keystoreLocation: pki.server.keystorePath, truststoreLocation: pki.ca.certPath }), silent());
  assert.equal(provider.serverOptions().requestCert, false);
  await withServer(provider, 'wrapped', async (port) => {
    assert.equal(expectOk(await tryConnect(port, asClient(pki.client))).line, 'hello User:ANONYMOUS');
  });
});

test('a subject no mapping rule matches is refused (Kafka fails the authentication)', async () => {
  const provider = TlsContextProvider.open('SSL', settings({
    keystoreLocation: pki.server.keystorePath, truststoreLocation: pki.ca.certPath, clientAuth: 'required',
    principalMappingRules: 'RULE:^CN=(.*?),OU=ops,.*$/$1/',
  }), silent());
  await withServer(provider, 'tls.Server', async (port, refusals) => {
    assert.equal((await tryConnect(port, asClient(pki.client))).ok, false);
    assert.deepEqual(refusals, ['listener SSL: TLS client refused: no ssl.principal.mapping.rules rule maps CN=alice,OU=eng,O=Acme,C=US']);
  });
});

test('inline PEM (ssl.keystore.key, ssl.keystore.certificate.chain, ssl.truststore.certificates) works like the files', async () => {
  const provider = TlsContextProvider.open('INTERNAL', settings({
    keystoreKey: pki.server.keyPem, keystoreCertificateChain: pki.server.certPem, truststoreCertificates: pki.ca.certPem, clientAuth: 'required',
  }), silent());
  await withServer(provider, 'wrapped', async (port) => {
    assert.equal(expectOk(await tryConnect(port, asClient(pki.client))).line, 'hello User:CN=alice,OU=eng,O=Acme,C=US');
  });
});

test('an encrypted PKCS#8 key opens with ssl.key.password; without it or with a wrong one the error names the key and shows no key material', async () => {
  const password = pki.encryptedServer.keyPassword!;
  const provider = TlsContextProvider.open('SSL', settings({ keystoreLocation: pki.encryptedServer.keystorePath, keyPassword: password }), silent());
  await withServer(provider, 'tls.Server', async (port) => {
    expectOk(await tryConnect(port, trustCa));
  });
  const secrets = [...pemBody(pki.encryptedServer.keyPem), password, 'wrong-password'];
  const attempts: [Partial<Parameters<typeof settings>[0]>, RegExp][] = [
    [{ keyPassword: null }, /^listener SSL: ssl\.key\.password: not set, but the private key in ssl\.keystore\.location \S+ is encrypted$/],
    [{ keyPassword: 'wrong-password' }, /^listener SSL: ssl\.key\.password: cannot decrypt the private key in ssl\.keystore\.location \S+ \(ERR_OSSL_\w+\): wrong password\?$/],
  ];
  for (const [overrides, message] of attempts) {
    const err = catchError(() => TlsContextProvider.open('SSL', settings({ keystoreLocation: pki.encryptedServer.keystorePath, ...overrides }), silent()));
    assert.equal(err.name, 'TlsConfigError');
    assert.match(err.message, message);
    for (const s of secrets) assert.ok(!err.message.includes(s) && !String(err.stack).includes(s), 'no key material or password in the error');
  }
  // Inline, the value is never echoed either.
  const inline = catchError(() => TlsContextProvider.open('SSL', settings({ keystoreKey: pki.encryptedServer.keyPem, keystoreCertificateChain: pki.encryptedServer.certPem }), silent()));
  assert.equal(inline.message, 'listener SSL: ssl.key.password: not set, but the private key in ssl.keystore.key is encrypted');
});

test('ssl.cipher.suites takes Kafka\'s (IANA) names and OpenSSL\'s; an unknown one is a config error', async () => {
  const provider = TlsContextProvider.open('SSL', settings({
    keystoreLocation: pki.server.keystorePath, enabledProtocols: ['TLSv1.2'], cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
  }), silent());
  await withServer(provider, 'tls.Server', async (port) => {
    const r = expectOk(await tryConnect(port, trustCa));
    assert.equal(r.protocol, 'TLSv1.2');
    assert.equal(r.cipher, 'ECDHE-ECDSA-AES128-GCM-SHA256');
    // A client that offers only other suites gets no handshake.
    assert.equal((await tryConnect(port, { ...trustCa, ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' })).ok, false);
  });
  const tls13 = TlsContextProvider.open('SSL', settings({ keystoreLocation: pki.server.keystorePath, cipherSuites: ['TLS_CHACHA20_POLY1305_SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305'] }), silent());
  await withServer(tls13, 'tls.Server', async (port) => {
    assert.equal(expectOk(await tryConnect(port, trustCa)).cipher, 'TLS_CHACHA20_POLY1305_SHA256');
  });
  assert.throws(() => TlsContextProvider.open('SSL', settings({ keystoreLocation: pki.server.keystorePath, cipherSuites: ['TLS_RSA_WITH_NOTHING'] }), silent()),
    { message: 'listener SSL: ssl.cipher.suites TLS_RSA_WITH_NOTHING: unknown cipher suite TLS_RSA_WITH_NOTHING' });
  assert.throws(() => TlsContextProvider.open('SSL', settings({ keystoreLocation: pki.server.keystorePath, enabledProtocols: ['TLSv1.3'], cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'] }), silent()),
    { message: 'listener SSL: ssl.cipher.suites TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: no suite for the enabled protocols (TLSv1.3)' });
});

test('the startup log names the certificate and carries no key material', () => {
  const { log, lines } = recordingLog();
  TlsContextProvider.open('SSL', settings({ keystoreLocation: pki.encryptedServer.keystorePath, keyPassword: pki.encryptedServer.keyPassword }), log).close();
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]!) as Record<string, string>;
  assert.equal(entry.msg, 'TLS listener certificate loaded');
  assert.equal(entry.subject, 'CN=localhost');
  assert.equal(entry.issuer, 'CN=Ferry Test CA');
  for (const s of [...pemBody(pki.encryptedServer.keyPem), pki.encryptedServer.keyPassword!]) assert.ok(!lines[0]!.includes(s));
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected an error');
}
