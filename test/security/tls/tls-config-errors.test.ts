// TlsContextProvider.open refuses unusable TLS settings with a TlsConfigError that names the listener
// and the Kafka config key (and the file, for locations), following the checks of Kafka's
// DefaultSslEngineFactory for PEM stores; no message carries key material.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testPki } from '../../helpers/certs.js';
import { TlsConfigError, TlsContextProvider, type TlsListenerSettings } from '../../../src/security/tls/tls-context.js';
import { pemBody, recordingLog, settings } from './tls-fixture.js';

const pki = testPki();
const dir = mkdtempSync(join(tmpdir(), 'ferry-tls-config-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

const certOnly = file('cert-only.pem', pki.server.certPem);
const twoKeys = file('two-keys.pem', `${pki.server.keyPem}${pki.client.keyPem}${pki.server.certPem}`);
const mismatched = file('mismatched.pem', `${pki.client.keyPem}${pki.server.certPem}`);
const keyOnly = file('key-only.pem', pki.server.keyPem);
const badKeyBody = pki.server.keyPem.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
const badKey = file('bad-key.pem', `${badKeyBody}${pki.server.certPem}`);
const badCert = file('bad-cert.pem', `${pki.server.keyPem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`);
const big = file('big.pem', 'x'.repeat(4 * 1024 * 1024 + 1));
const keystore = pki.server.keystorePath;

const CASES: [string, Partial<TlsListenerSettings>, string][] = [
  ['no keystore', {}, 'listener SSL: ssl.keystore.location: not set: a TLS listener needs ssl.keystore.location, or ssl.keystore.key and ssl.keystore.certificate.chain'],
  ['a key without its chain', { keystoreKey: pki.server.keyPem }, 'listener SSL: ssl.keystore.key: is set but ssl.keystore.certificate.chain is not'],
  ['a chain without its key', { keystoreCertificateChain: pki.server.certPem }, 'listener SSL: ssl.keystore.certificate.chain: is set but ssl.keystore.key is not'],
  ['a file and an inline key', { keystoreLocation: keystore, keystoreKey: pki.server.keyPem, keystoreCertificateChain: pki.server.certPem },
    `listener SSL: ssl.keystore.location ${keystore}: cannot be set together with ssl.keystore.key`],
  ['a missing file', { keystoreLocation: join(dir, 'nope.pem') }, `listener SSL: ssl.keystore.location ${join(dir, 'nope.pem')}: cannot read the file (ENOENT)`],
  ['a file without a key', { keystoreLocation: certOnly }, `listener SSL: ssl.keystore.location ${certOnly}: no private key in the file`],
  ['a file without a certificate', { keystoreLocation: keyOnly }, `listener SSL: ssl.keystore.location ${keyOnly}: no certificate in the file`],
  ['two keys', { keystoreLocation: twoKeys }, `listener SSL: ssl.keystore.location ${twoKeys}: 2 private keys; expected one`],
  ['a key that is not the certificate\'s', { keystoreLocation: mismatched }, `listener SSL: ssl.keystore.location ${mismatched}: the private key does not match the certificate (subject CN=localhost)`],
  ['an inline key that is not the certificate\'s', { keystoreKey: pki.client.keyPem, keystoreCertificateChain: pki.server.certPem },
    'listener SSL: ssl.keystore.key: the private key does not match the certificate (subject CN=localhost)'],
  ['a corrupt key', { keystoreLocation: badKey }, `listener SSL: ssl.keystore.location ${badKey}: the private key cannot be read (ERR_OSSL_`],
  ['a corrupt certificate', { keystoreLocation: badCert }, `listener SSL: ssl.keystore.location ${badCert}: certificate 1 cannot be parsed (`],
  ['a file too big to be PEM', { keystoreLocation: big }, `listener SSL: ssl.keystore.location ${big}: the file is 4194305 bytes, over 4194304: not a PEM file`],
  ['a keystore type other than PEM', { keystoreLocation: keystore, keystoreType: 'JKS' as 'PEM' }, 'listener SSL: ssl.keystore.type JKS: only PEM keystores are supported'],
  ['a truststore file and inline certificates', { keystoreLocation: keystore, truststoreLocation: pki.ca.certPath, truststoreCertificates: pki.ca.certPem },
    `listener SSL: ssl.truststore.location ${pki.ca.certPath}: cannot be set together with ssl.truststore.certificates`],
  ['a truststore without certificates', { keystoreLocation: keystore, truststoreLocation: keyOnly }, `listener SSL: ssl.truststore.location ${keyOnly}: no certificate in the file`],
  ['inline truststore without certificates', { keystoreLocation: keystore, truststoreCertificates: 'nothing here' }, 'listener SSL: ssl.truststore.certificates: no certificate in the value'],
  ['an unknown ssl.client.auth', { keystoreLocation: keystore, clientAuth: 'maybe' as 'none' }, 'listener SSL: ssl.client.auth maybe: must be required, requested or none'],
  ['no protocol', { keystoreLocation: keystore, enabledProtocols: [] }, 'listener SSL: ssl.enabled.protocols: no protocol enabled (TLSv1.2, TLSv1.3)'],
  ['TLSv1', { keystoreLocation: keystore, enabledProtocols: ['TLSv1'] }, 'listener SSL: ssl.enabled.protocols TLSv1: TLSv1 is not allowed (only TLSv1.2 and TLSv1.3)'],
  ['an unknown protocol', { keystoreLocation: keystore, enabledProtocols: ['TLSv1.4'] }, 'listener SSL: ssl.enabled.protocols TLSv1.4: unknown protocol TLSv1.4 (TLSv1.2, TLSv1.3)'],
  ['a bad mapping rule', { keystoreLocation: keystore, principalMappingRules: 'RULE:^CN=(.*?)$/$1/X' },
    'listener SSL: ssl.principal.mapping.rules: invalid rule `RULE:^CN=(.*?)$/$1/X`: unmatched substring: `X`'],
];

for (const [what, overrides, message] of CASES) {
  test(`config error: ${what}`, () => {
    let caught: unknown = null;
    try {
      TlsContextProvider.open('SSL', settings(overrides), recordingLog().log).close();
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof TlsConfigError, `expected a TlsConfigError, got ${String(caught)}`);
    assert.equal(caught.listenerName, 'SSL');
    if (message.endsWith('(ERR_OSSL_') || message.endsWith('(')) assert.ok(caught.message.startsWith(message), caught.message);
    else assert.equal(caught.message, message);
    for (const secret of [...pemBody(pki.server.keyPem), ...pemBody(pki.client.keyPem), ...pemBody(badKeyBody)]) {
      assert.ok(!caught.message.includes(secret), 'no key material in the message');
    }
  });
}

test('a config error is about the listener it names: the key is reported for LISTENER_B', () => {
  assert.throws(() => TlsContextProvider.open('LISTENER_B', settings({ keystoreLocation: certOnly }), recordingLog().log),
    (err: unknown) => err instanceof TlsConfigError && err.configKey === 'ssl.keystore.location' && err.message.startsWith('listener LISTENER_B: '));
});
