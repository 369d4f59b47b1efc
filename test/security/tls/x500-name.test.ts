// The subject DN as Kafka builds principals from it: Java's X500Principal.getName() (RFC 2253). The
// expected strings were printed by OpenJDK 17.0.15 and 25.0.3 alike (CertificateFactory +
// getSubjectX500Principal().getName()) for certificates made with these -subj values; here the same
// certificates are made again by openssl and read by our DER decoder. BMPString subjects are read as
// JDK 25 reads them (JDK 17 decoded their UTF-16 bytes as UTF-8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { testPki } from '../../helpers/certs.js';
import { rfc2253Name, subjectOfCertificate, subjectRfc2253, X500NameError } from '../../../src/security/tls/x500-name.js';

const pki = testPki();

const JAVA_NAMES: [string, string, string][] = [
  ['plain', '/C=US/O=Acme/OU=eng/CN=alice', 'CN=alice,OU=eng,O=Acme,C=US'],
  ['comma', '/C=US/O=Acme, Inc./OU=eng/CN=Tkac\\, Adam', 'CN=Tkac\\, Adam,OU=eng,O=Acme\\, Inc.,C=US'],
  ['multi', '/C=US/O=Acme/OU=eng+UID=42/CN=bob', 'CN=bob,OU=eng+UID=42,O=Acme,C=US'],
  ['email', '/emailAddress=a@b.c/CN=carol', 'CN=carol,1.2.840.113549.1.9.1=#16056140622e63'],
  ['dc', '/DC=com/DC=example/CN=dave/serialNumber=1234/title=Boss/L=Fulton/ST=MD/street=1 Main St',
    'STREET=1 Main St,ST=MD,L=Fulton,2.5.4.12=#0c04426f7373,2.5.4.5=#130431323334,CN=dave,DC=example,DC=com'],
  ['utf8', '/CN=Zoë Ünïcødé/O=日本', 'O=日本,CN=Zoë Ünïcødé'],
  ['gn', '/GN=Eve/SN=Smith/CN=eve/dnQualifier=q/initials=E', '2.5.4.43=#0c0145,2.5.4.46=#130171,CN=eve,2.5.4.4=#0c05536d697468,2.5.4.42=#0c03457665'],
  ['specials', '/O=x\\+y<z>w#v;u"t\\\\s=r/CN=plain', 'CN=plain,O=x\\+y\\<z\\>w\\#v\\;u\\"t\\\\s\\=r'],
  ['spaces', '/O=\\ lead and trail\\ /CN=#hash', 'CN=\\#hash,O=\\ lead and trail\\ '],
];

for (const [name, subject, java] of JAVA_NAMES) {
  test(`subject ${subject} reads as Java prints it: ${java}`, () => {
    const cert = pki.issue({ name: `x500-${name}`, subject });
    assert.equal(subjectRfc2253(new X509Certificate(cert.certPem).raw), java);
  });
}

test('PrintableString and BMPString subjects (openssl string_mask pkix) read as JDK 25 prints them', () => {
  const cert = pki.issue({ name: 'x500-bmp', subject: '/O=Zoë/OU=plain/CN=Zoë 日本', legacyStrings: true });
  const der = new X509Certificate(cert.certPem).raw;
  assert.ok(der.includes(Buffer.from([0x1e, 0x0c, 0x00, 0x5a])), 'the CN is a BMPString');
  assert.ok(der.includes(Buffer.from([0x13, 0x05, 0x70])), 'the OU is a PrintableString');
  assert.equal(subjectRfc2253(der), 'CN=Zoë 日本,OU=plain,O=Zoë');
});

test('the subject, not the issuer, of a certificate; rfc2253Name reads a bare Name', () => {
  const der = new X509Certificate(pki.client.certPem).raw;
  assert.equal(subjectRfc2253(der), 'CN=alice,OU=eng,O=Acme,C=US');
  assert.equal(rfc2253Name(subjectOfCertificate(der)), 'CN=alice,OU=eng,O=Acme,C=US');
  // An empty Name (SEQUENCE of nothing) is the empty string, as in Java.
  assert.equal(rfc2253Name(Buffer.from([0x30, 0x00])), '');
});

test('a damaged DER certificate gives X500NameError, never another exception or a wrong read past the buffer', () => {
  const der = new X509Certificate(pki.client.certPem).raw;
  const outcomes = { ok: 0, refused: 0 };
  for (let cut = 0; cut < der.length; cut += 7) {
    try {
      subjectRfc2253(der.subarray(0, cut));
      outcomes.ok++;
    } catch (err) {
      assert.ok(err instanceof X500NameError, `cut at ${cut}: ${String(err)}`);
      outcomes.refused++;
    }
  }
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 2000; i++) {
    const copy = Buffer.from(der);
    const at = Math.floor(rand() * Math.min(copy.length, 400));
    copy[at] = Math.floor(rand() * 256);
    try {
      assert.equal(typeof subjectRfc2253(copy), 'string');
      outcomes.ok++;
    } catch (err) {
      assert.ok(err instanceof X500NameError, `byte ${at}: ${String(err)}`);
      outcomes.refused++;
    }
  }
  assert.ok(outcomes.refused > 0 && outcomes.ok > 0, JSON.stringify(outcomes));
});
