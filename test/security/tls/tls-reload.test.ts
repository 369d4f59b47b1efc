// Certificate rotation: the keystore (and truststore) files are replaced the way rotation tools do it
// (write a new file, rename it over the old one); new connections get the new certificate within
// about two seconds (polling every 500 ms for one server style, 200 ms for the other), and a broken
// replacement is logged and leaves the current certificate in place. Both server styles (tls.Server + setSecureContext, and a hand-wrapped server
// TLSSocket with the context swapped as src/server/server.ts does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testPki } from '../../helpers/certs.js';
import { sleep, waitFor } from '../../helpers/wait.js';
import { TlsContextProvider } from '../../../src/security/tls/tls-context.js';
import { SERVER_STYLES, pemBody, recordingLog, settings, startServer, tryConnect } from './tls-fixture.js';

const pki = testPki();
const rotated = pki.issue({ name: 'server-rotated', subject: '/CN=broker-rotated', server: true });
const trustCa = { ca: pki.ca.certPem };

/** Writes next to the target, then renames over it: a reader sees the old file or the new one. */
function replaceFile(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

async function serverCn(port: number): Promise<string | undefined> {
  const r = await tryConnect(port, trustCa);
  return r.ok ? String(r.peer.subject.CN) : undefined;
}

for (const style of SERVER_STYLES) {
  test(`rotation (${style}): a renamed-over keystore with a new CN is served to new connections within 2 s; a broken one keeps the current certificate`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-tls-reload-'));
    const keystore = join(dir, 'broker.keystore.pem');
    copyFileSync(pki.server.keystorePath, keystore);
    const { log, lines } = recordingLog();
    const provider = TlsContextProvider.open('SSL', settings({ keystoreLocation: keystore }), log, { pollIntervalMs: style === 'wrapped' ? 500 : 200 });
    const reloads: string[] = [];
    provider.onReload(() => reloads.push(provider.certificate.subject));
    const server = await startServer(provider, style);
    try {
      assert.equal(await serverCn(server.port), 'localhost');

      const started = Date.now();
      replaceFile(keystore, rotated.keystorePem);
      await waitFor(async () => (await serverCn(server.port)) === 'broker-rotated', 2000, 'new connections get the rotated certificate', 50);
      assert.ok(Date.now() - started < 2000);
      assert.deepEqual(reloads, ['CN=broker-rotated']);
      assert.ok(lines.some((l) => l.includes('TLS listener certificate reloaded') && l.includes('CN=broker-rotated')));

      // Broken replacements: the key of one certificate with another's certificate, then a truncated file.
      const mismatched = `${pki.client.keyPem}${rotated.certPem}`;
      for (const [broken, expected] of [[mismatched, 'the private key does not match the certificate'], [rotated.keystorePem.slice(0, 120), 'no private key in the file']] as const) {
        const warnsBefore = lines.filter((l) => l.includes('not usable')).length;
        replaceFile(keystore, broken);
        await waitFor(() => lines.filter((l) => l.includes('not usable')).length > warnsBefore, 2000, `a warning for: ${expected}`, 50);
        const warning = lines.filter((l) => l.includes('not usable')).pop()!;
        assert.ok(warning.includes(expected), warning);
        assert.equal(JSON.parse(warning).level, 40, 'warn');
        for (const s of [...pemBody(pki.client.keyPem), ...pemBody(rotated.keyPem)]) assert.ok(!warning.includes(s), 'no key material in the log');
        assert.equal(await serverCn(server.port), 'broker-rotated', 'the current certificate stays');
      }
      assert.equal(reloads.length, 1);

      // Putting the current content back is not a reload (no callback, no new context).
      replaceFile(keystore, rotated.keystorePem);
      await sleep(style === 'wrapped' ? 900 : 600);
      assert.equal(reloads.length, 1);
      assert.equal(provider.reload(), false);
    } finally {
      await server.close();
      provider.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a replaced truststore is used for new client certificates: a client of the other CA is accepted once its CA is trusted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-tls-reload-'));
  const truststore = join(dir, 'ca.pem');
  copyFileSync(pki.ca.certPath, truststore);
  const provider = TlsContextProvider.open('SSL', settings({ keystoreLocation: pki.server.keystorePath, truststoreLocation: truststore, clientAuth: 'required' }), recordingLog().log, { pollIntervalMs: 200 });
  const server = await startServer(provider, 'tls.Server');
  const mallory = { ...trustCa, cert: pki.untrustedClient.certPem, key: pki.untrustedClient.keyPem };
  try {
    assert.equal((await tryConnect(server.port, mallory)).ok, false);
    replaceFile(truststore, `${pki.ca.certPem}${pki.otherCa.certPem}`);
    await waitFor(async () => (await tryConnect(server.port, mallory)).ok, 2000, 'the other CA trusted', 50);
  } finally {
    await server.close();
    provider.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an expired replacement certificate is refused; after close() changes are not picked up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-tls-reload-'));
  const keystore = join(dir, 'broker.keystore.pem');
  copyFileSync(pki.server.keystorePath, keystore);
  const { log, lines } = recordingLog();
  const provider = TlsContextProvider.open('SSL', settings({ keystoreLocation: keystore }), log, { pollIntervalMs: 100 });
  try {
    replaceFile(keystore, pki.expiredClient.keystorePem);
    assert.equal(provider.reload(), false);
    assert.match(lines.at(-1)!, /the new certificate has expired/);
    assert.equal(provider.certificate.subject, 'CN=localhost');
    provider.close();
    replaceFile(keystore, rotated.keystorePem);
    await sleep(400);
    assert.equal(provider.certificate.subject, 'CN=localhost');
    assert.equal(provider.reload(), false);
  } finally {
    provider.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
