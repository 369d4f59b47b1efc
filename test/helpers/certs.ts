/**
 * Test PKI made with the openssl CLI (a test needing it fails when it is missing, as require-tool.ts
 * has it): a CA, a server certificate for localhost and 127.0.0.1, client certificates with given
 * subjects, an expired one, one from another CA, and one whose key is an encrypted PKCS#8 key. EC P-256
 * keys (made by Node, fast) and one temp directory per process; each certificate is made once per
 * process and cached, so tests ask for what they need without regenerating it.
 *
 * A TestCert's keystore file is Kafka's PEM keystore (ssl.keystore.location): the key, then the
 * certificate. Tests that rewrite files must copy them first: the cached ones are shared.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from './require-tool.js';

export interface TestCert {
  /** File base name in the PKI directory. */
  readonly name: string;
  /** The subject as given to openssl (-subj form, most significant RDN first). */
  readonly subject: string;
  readonly certPath: string;
  readonly certPem: string;
  /** PKCS#8; encrypted with keyPassword when that is set. */
  readonly keyPath: string;
  readonly keyPem: string;
  readonly keyPassword: string | null;
  /** Key and certificate in one file: Kafka's PEM keystore. */
  readonly keystorePath: string;
  readonly keystorePem: string;
}

export interface IssueOptions {
  /** Unique per certificate: the cache key and file name. */
  name: string;
  /** openssl -subj form, e.g. "/C=US/O=Acme/OU=eng/CN=alice"; '+' joins a multi-valued RDN. */
  subject: string;
  /** Signed by the main CA (default) or by the other one. */
  issuer?: 'ca' | 'otherCa';
  /** A server certificate: serverAuth and subjectAltName DNS:localhost, IP:127.0.0.1 plus extraNames. */
  server?: boolean;
  /** Extra subjectAltName entries ("DNS:broker-1", "IP:10.0.0.1"; a bare name is DNS). */
  extraNames?: string[];
  /** Valid in 2020 only. */
  expired?: boolean;
  /** Encrypts the key (PKCS#8, AES-256-CBC) with this password. */
  keyPassword?: string;
  /** Subject strings as PrintableString or BMPString (openssl string_mask pkix) instead of UTF8String. */
  legacyStrings?: boolean;
}

export interface TestPki {
  readonly dir: string;
  readonly ca: TestCert;
  readonly otherCa: TestCert;
  /** CN=localhost, SAN DNS:localhost, IP:127.0.0.1. */
  readonly server: TestCert;
  /** /C=US/O=Acme/OU=eng/CN=alice: Kafka's principal is User:CN=alice,OU=eng,O=Acme,C=US. */
  readonly client: TestCert;
  /** Same subject form as client (CN=expired), valid only in 2020. */
  readonly expiredClient: TestCert;
  /** Issued by otherCa, which the main truststore does not hold. */
  readonly untrustedClient: TestCert;
  /** The server certificate again, with its key encrypted; keyPassword is set. */
  readonly encryptedServer: TestCert;
  /** A further certificate (cached by name). */
  issue(options: IssueOptions): TestCert;
}

const OPENSSL_CONFIG = `
[ req ]
distinguished_name = dn
prompt = no
utf8 = yes
string_mask = utf8only
[ dn ]
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ ca ]
default_ca = test_ca
[ test_ca ]
database = index.txt
new_certs_dir = issued
rand_serial = yes
default_md = sha256
policy = keep_subject
unique_subject = no
email_in_dn = yes
[ keep_subject ]
`;

let cached: TestPki | null = null;

/** The process's test PKI (made on first use, removed when the process exits). */
export function testPki(): TestPki {
  cached ??= makePki();
  return cached;
}

function makePki(): TestPki {
  const openssl = requireTool('openssl', 'apt-get install -y openssl');
  const dir = mkdtempSync(join(tmpdir(), 'ferry-pki-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, 'openssl.cnf');
  writeFileSync(configPath, OPENSSL_CONFIG);
  const legacyConfigPath = join(dir, 'openssl-pkix.cnf');
  writeFileSync(legacyConfigPath, OPENSSL_CONFIG.replace('string_mask = utf8only', 'string_mask = pkix'));
  mkdirSync(join(dir, 'issued'));
  writeFileSync(join(dir, 'index.txt'), '');

  const run = (args: string[]): void => {
    try {
      execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString('utf8') ?? '';
      throw new Error(`openssl ${args.join(' ')} failed: ${(err as Error).message}\n${stderr}`);
    }
  };

  const certs = new Map<string, { options: string; cert: TestCert }>();

  function writeKey(name: string, keyPassword: string | null): { plainKeyPath: string; keyPath: string; keyPem: string } {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const plainPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const plainKeyPath = join(dir, `${name}.plain.key`);
    writeFileSync(plainKeyPath, plainPem, { mode: 0o600 });
    const keyPem = keyPassword === null ? plainPem
      : privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: keyPassword }) as string;
    const keyPath = join(dir, `${name}.key`);
    writeFileSync(keyPath, keyPem, { mode: 0o600 });
    return { plainKeyPath, keyPath, keyPem };
  }

  function finish(name: string, subject: string, certPath: string, key: { keyPath: string; keyPem: string }, keyPassword: string | null): TestCert {
    const certPem = readFileSync(certPath, 'utf8');
    const keystorePem = `${key.keyPem}${certPem}`;
    const keystorePath = join(dir, `${name}.keystore.pem`);
    writeFileSync(keystorePath, keystorePem, { mode: 0o600 });
    return { name, subject, certPath, certPem, keyPath: key.keyPath, keyPem: key.keyPem, keyPassword, keystorePath, keystorePem };
  }

  function makeCa(name: string, subject: string): TestCert {
    const key = writeKey(name, null);
    const certPath = join(dir, `${name}.crt`);
    run(['req', '-config', configPath, '-x509', '-new', '-key', key.plainKeyPath, '-subj', subject, '-days', '3650',
      '-extensions', 'v3_ca', '-out', certPath]);
    return finish(name, subject, certPath, key, null);
  }

  const ca = makeCa('ca', '/CN=Ferry Test CA');
  const otherCa = makeCa('other-ca', '/CN=Ferry Other Test CA');

  function issue(options: IssueOptions): TestCert {
    const fingerprint = JSON.stringify({ ...options, name: undefined });
    const seen = certs.get(options.name);
    if (seen) {
      if (seen.options !== fingerprint) throw new Error(`test cert ${options.name} was already issued with other options`);
      return seen.cert;
    }
    const issuer = options.issuer === 'otherCa' ? otherCa : ca;
    const keyPassword = options.keyPassword ?? null;
    const key = writeKey(options.name, keyPassword);
    const csrPath = join(dir, `${options.name}.csr`);
    run(['req', '-config', options.legacyStrings ? legacyConfigPath : configPath, '-new', '-key', key.plainKeyPath, '-subj', options.subject, '-out', csrPath]);

    const names = ['DNS:localhost', 'IP:127.0.0.1', ...(options.extraNames ?? []).map((n) => (/^(DNS|IP|URI|email):/.test(n) ? n : `DNS:${n}`))];
    const extPath = join(dir, `${options.name}.ext`);
    writeFileSync(extPath, [
      '[ leaf ]',
      'basicConstraints = CA:FALSE',
      'keyUsage = critical, digitalSignature',
      `extendedKeyUsage = ${options.server ? 'serverAuth, clientAuth' : 'clientAuth'}`,
      ...(options.server ? [`subjectAltName = ${names.join(', ')}`] : []),
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'));

    const now = Date.now();
    const [start, end] = options.expired
      ? [Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 2)]
      : [now - 3_600_000, now + 30 * 86_400_000];
    const certPath = join(dir, `${options.name}.crt`);
    run(['ca', '-config', configPath, '-batch', '-notext', '-preserveDN', '-in', csrPath, '-out', certPath,
      '-cert', issuer.certPath, '-keyfile', join(dir, `${issuer.name}.plain.key`),
      '-startdate', asn1Time(start), '-enddate', asn1Time(end), '-extfile', extPath, '-extensions', 'leaf']);
    const cert = finish(options.name, options.subject, certPath, key, keyPassword);
    certs.set(options.name, { options: fingerprint, cert });
    return cert;
  }

  return {
    dir, ca, otherCa, issue,
    server: issue({ name: 'server', subject: '/CN=localhost', server: true }),
    client: issue({ name: 'client', subject: '/C=US/O=Acme/OU=eng/CN=alice' }),
    expiredClient: issue({ name: 'expired-client', subject: '/C=US/O=Acme/OU=eng/CN=expired', expired: true }),
    untrustedClient: issue({ name: 'untrusted-client', subject: '/C=US/O=Acme/OU=eng/CN=mallory', issuer: 'otherCa' }),
    encryptedServer: issue({ name: 'encrypted-server', subject: '/CN=localhost', server: true, keyPassword: 'keystore-secret-1' }),
  };
}

/** YYYYMMDDHHMMSSZ, as openssl ca -startdate/-enddate take it. */
function asn1Time(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
}
