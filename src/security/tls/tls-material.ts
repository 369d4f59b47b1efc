/**
 * Reads and checks a listener's key, certificate chain and trusted CAs the way Kafka's
 * DefaultSslEngineFactory reads a PEM keystore and truststore: the keystore is either one file
 * (ssl.keystore.location: the private key and the certificate chain) or two inline values
 * (ssl.keystore.key and ssl.keystore.certificate.chain), never both; exactly one private key, PKCS#8,
 * encrypted when ssl.key.password is set; at least one certificate, the first one the key's. The
 * truststore is a file (ssl.truststore.location) or inline (ssl.truststore.certificates), not both;
 * neither means the default CAs. Errors are TlsConfigError and never quote the key.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { TlsConfigError } from './tls-errors.js';

/** PEM files are small; a bigger one is the wrong file. */
export const PEM_FILE_BYTES_MAX = 4 * 1024 * 1024;

export interface TlsStoreSettings {
  keystoreType: string;
  keystoreLocation: string | null;
  keystoreCertificateChain: string | null;
  keystoreKey: string | null;
  keyPassword: string | null;
  truststoreLocation: string | null;
  truststoreCertificates: string | null;
}

export interface TlsMaterial {
  /** The private key, decrypted, as PKCS#8 PEM. */
  readonly keyPem: string;
  /** The certificate chain as PEM, the listener's certificate first. */
  readonly certChainPem: string;
  /** Trusted CA certificates as PEM; null: Node's default CAs. */
  readonly caPem: string | null;
  /** The listener's certificate. */
  readonly certificate: X509Certificate;
  /** sha256 over key, chain and CAs: tells a changed file from a rewritten identical one. */
  readonly fingerprint: string;
}

interface PemBlock {
  readonly label: string;
  readonly text: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, text: `${m[0]}\n` }));
}

/** Where one piece of material came from: the config key, and the file location if any. */
interface Source {
  readonly key: string;
  readonly location: string | null;
  readonly text: string;
}

export function loadTlsMaterial(listenerName: string, s: TlsStoreSettings): TlsMaterial {
  const fail = (source: { key: string; location: string | null }, detail: string): never => {
    throw new TlsConfigError(listenerName, source.key, detail, source.location);
  };
  const readFile = (key: string, location: string): Source => {
    let text: string;
    try {
      const size = statSync(location).size;
      if (size > PEM_FILE_BYTES_MAX) fail({ key, location }, `the file is ${size} bytes, over ${PEM_FILE_BYTES_MAX}: not a PEM file`);
      text = readFileSync(location, 'utf8');
    } catch (err) {
      if (err instanceof TlsConfigError) throw err;
      return fail({ key, location }, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return { key, location, text };
  };

  if (s.keystoreType !== 'PEM') fail({ key: 'ssl.keystore.type', location: s.keystoreType }, 'only PEM keystores are supported');

  // The keystore: one file, or the key and the chain inline (Kafka's createKeystore checks).
  let keySource: Source;
  let chainSource: Source;
  if (s.keystoreKey !== null) {
    if (s.keystoreCertificateChain === null) fail({ key: 'ssl.keystore.key', location: null }, 'is set but ssl.keystore.certificate.chain is not');
    if (s.keystoreLocation !== null) fail({ key: 'ssl.keystore.location', location: s.keystoreLocation }, 'cannot be set together with ssl.keystore.key');
    keySource = { key: 'ssl.keystore.key', location: null, text: s.keystoreKey };
    chainSource = { key: 'ssl.keystore.certificate.chain', location: null, text: s.keystoreCertificateChain! };
  } else if (s.keystoreCertificateChain !== null) {
    return fail({ key: 'ssl.keystore.certificate.chain', location: null }, 'is set but ssl.keystore.key is not');
  } else if (s.keystoreLocation !== null) {
    keySource = chainSource = readFile('ssl.keystore.location', s.keystoreLocation);
  } else {
    return fail({ key: 'ssl.keystore.location', location: null }, 'not set: a TLS listener needs ssl.keystore.location, or ssl.keystore.key and ssl.keystore.certificate.chain');
  }

  const keys = pemBlocks(keySource.text).filter((b) => b.label.endsWith('PRIVATE KEY'));
  if (keys.length === 0) fail(keySource, keySource.location === null ? 'no private key in the value' : 'no private key in the file');
  if (keys.length > 1) fail(keySource, `${keys.length} private keys; expected one`);
  const key = privateKey(keys[0]!, keySource, s.keyPassword, fail);

  const chain = certificates(chainSource, fail);
  const certificate = chain[0]!.cert;
  if (!certificate.checkPrivateKey(key)) fail(keySource, `the private key does not match the certificate (subject ${oneLine(certificate.subject)})`);

  // The truststore.
  let caPem: string | null = null;
  if (s.truststoreCertificates !== null) {
    if (s.truststoreLocation !== null) fail({ key: 'ssl.truststore.location', location: s.truststoreLocation }, 'cannot be set together with ssl.truststore.certificates');
    caPem = certificates({ key: 'ssl.truststore.certificates', location: null, text: s.truststoreCertificates }, fail).map((c) => c.pem).join('');
  } else if (s.truststoreLocation !== null) {
    caPem = certificates(readFile('ssl.truststore.location', s.truststoreLocation), fail).map((c) => c.pem).join('');
  }

  const keyPem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
  const certChainPem = chain.map((c) => c.pem).join('');
  const fingerprint = createHash('sha256').update(keyPem).update('\0').update(certChainPem).update('\0').update(caPem ?? '').digest('hex');
  return { keyPem, certChainPem, caPem, certificate, fingerprint };
}

type Fail = (source: { key: string; location: string | null }, detail: string) => never;

function privateKey(block: PemBlock, source: Source, password: string | null, fail: Fail): KeyObject {
  const encrypted = block.label === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type:\s*4,ENCRYPTED/m.test(block.text);
  if (encrypted && password === null) {
    fail({ key: 'ssl.key.password', location: null }, `not set, but the private key in ${describe(source)} is encrypted`);
  }
  try {
    return createPrivateKey({ key: block.text, format: 'pem', ...(password === null ? {} : { passphrase: password }) });
  } catch (err) {
    // Only the error code: OpenSSL's text is safe today, but nothing about the key leaves this function.
    const code = (err as { code?: string }).code ?? 'unknown error';
    if (encrypted) return fail({ key: 'ssl.key.password', location: null }, `cannot decrypt the private key in ${describe(source)} (${code}): wrong password?`);
    return fail(source, `the private key cannot be read (${code})`);
  }
}

function certificates(source: Source, fail: Fail): { cert: X509Certificate; pem: string }[] {
  const blocks = pemBlocks(source.text).filter((b) => b.label === 'CERTIFICATE');
  if (blocks.length === 0) fail(source, source.location === null ? 'no certificate in the value' : 'no certificate in the file');
  return blocks.map((b, i) => {
    try {
      return { cert: new X509Certificate(b.text), pem: b.text };
    } catch (err) {
      return fail(source, `certificate ${i + 1} cannot be parsed (${(err as { code?: string }).code ?? 'unknown error'})`);
    }
  });
}

function describe(source: Source): string {
  return source.location === null ? source.key : `${source.key} ${source.location}`;
}

/** X509Certificate.subject is one RDN per line. */
export function oneLine(subject: string): string {
  return subject.split('\n').join(', ');
}
