/**
 * How a Ferry tool (the CLI, `ferry perf`, `ferry drill`, inter-broker connections) connects to
 * a secured listener: TLS settings and SASL credentials, as Kafka tools read them from a
 * `--command-config` properties file (parseClientProperties, added beside this type).
 */
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { usesSasl, usesTls, type SecurityProtocol } from '../server/session.js';

export { usesSasl, usesTls };
import { UsageError } from './errors.js';
import { parseProperties, PropertiesSyntaxError } from '../common/properties.js';
import { JaasConfigError, parseSaslJaasConfig } from '../security/sasl/jaas.js';

export type ClientSaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';

export interface ClientTls {
  /** PEM CA certificates to trust (unset: Node's default roots). */
  ca?: string;
  /** PEM client certificate chain and key, for listeners with ssl.client.auth. */
  cert?: string;
  key?: string;
  keyPassword?: string;
  /** false when ssl.endpoint.identification.algorithm is empty: the chain is checked, the host name is not. */
  verifyHostname: boolean;
}

export interface ClientSasl {
  mechanism: ClientSaslMechanism;
  username?: string;
  password?: string;
  /** OAUTHBEARER: the token, or a function fetching a fresh one on each (re-)authentication. */
  token?: string | (() => Promise<string>);
}

export interface ClientSecurity {
  protocol: SecurityProtocol;
  tls?: ClientTls;
  sasl?: ClientSasl;
}

export const PLAINTEXT_CLIENT: ClientSecurity = Object.freeze({ protocol: 'PLAINTEXT' });

// ---- reading a client properties file -------------------------------------------------------

/** Findings that do not stop a tool (unknown or unused keys); never carry a value. */
export type ClientPropertiesWarn = (message: string) => void;

const PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];
const MECHANISMS: readonly ClientSaslMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'];
/** A properties file, a PEM file or a token file larger than this is not one. */
const FILE_BYTES_MAX = 4 * 1024 * 1024;

/**
 * Keys Kafka's clients and tools know that change nothing in how Ferry's tools connect (timeouts,
 * retries, TLS engine tuning, login refresh): accepted without a warning.
 */
const IGNORED_KEYS = new Set([
  'client.id', 'client.dns.lookup', 'request.timeout.ms', 'default.api.timeout.ms', 'retries', 'retry.backoff.ms',
  'retry.backoff.max.ms', 'reconnect.backoff.ms', 'reconnect.backoff.max.ms', 'connections.max.idle.ms',
  'socket.connection.setup.timeout.ms', 'socket.connection.setup.timeout.max.ms', 'metadata.max.age.ms',
  'ssl.protocol', 'ssl.enabled.protocols', 'ssl.cipher.suites', 'ssl.keymanager.algorithm', 'ssl.trustmanager.algorithm',
  'ssl.secure.random.implementation', 'ssl.engine.factory.class', 'sasl.kerberos.service.name',
  'sasl.login.refresh.window.factor', 'sasl.login.refresh.window.jitter', 'sasl.login.refresh.min.period.seconds',
  'sasl.login.refresh.buffer.seconds', 'enable.sasl.oauthbearer.unsecure.jwt',
]);

interface Entry { key: string; value: string; line: number }

/**
 * A Kafka client properties file (what `--command-config` / `--consumer.config` take) as the
 * settings Ferry's tools connect with. Reads the files it names (PEM stores, token files) now, so
 * a bad path fails before any connection. Kafka's key names and librdkafka's (kcat's -F files)
 * are both understood. Unknown keys go to `warn`, as Kafka's tools only log them. Errors are
 * UsageErrors naming `source:line` and the key; no value is ever part of a message.
 */
export function parseClientProperties(text: string, source: string, warn: ClientPropertiesWarn = () => undefined): ClientSecurity {
  const props = new Map<string, Entry>();
  for (const e of readProperties(text, source)) props.set(e.key, e); // the last one wins, as in Java
  const used = new Set<string>();
  const get = (key: string): Entry | undefined => { used.add(key); return props.get(key); };
  const fail = (e: Entry | undefined, key: string, what: string): never => {
    throw new UsageError(e ? `${source}:${e.line}: ${key}: ${what}` : `${source}: ${key}: ${what}`);
  };

  const protoEntry = get('security.protocol');
  const protocol = (protoEntry?.value.trim().toUpperCase() || 'PLAINTEXT') as SecurityProtocol;
  if (!PROTOCOLS.includes(protocol)) fail(protoEntry, 'security.protocol', `expected one of ${PROTOCOLS.join(', ')}`);
  const wantsTls = usesTls(protocol);
  const wantsSasl = usesSasl(protocol);

  const tls = readTls(get, fail);
  const sasl = readSasl(get, fail, wantsSasl);
  for (const [key, e] of props) {
    if (used.has(key) || IGNORED_KEYS.has(key)) continue;
    warn(`${source}:${e.line}: ${key} is not used by Ferry's tools; ignored`);
  }
  const unusedFor = (what: string, keys: string[]) => {
    for (const k of keys) {
      const e = props.get(k);
      if (e && e.value !== '') warn(`${source}:${e.line}: ${k} is set but security.protocol ${protocol} uses no ${what}; ignored`);
    }
  };
  if (!wantsTls) unusedFor('TLS', [...TLS_FILE_KEYS, 'ssl.keystore.certificate.chain', 'ssl.keystore.key', 'ssl.truststore.certificates', 'ssl.ca.pem', 'ssl.certificate.pem', 'ssl.key.pem']);
  if (!wantsSasl) unusedFor('SASL', ['sasl.mechanism', 'sasl.mechanisms', 'sasl.jaas.config', 'sasl.username', 'sasl.password', 'sasl.oauthbearer.token.file', 'sasl.oauthbearer.config']);

  const out: ClientSecurity = { protocol };
  if (wantsTls) out.tls = tls;
  if (wantsSasl) out.sasl = sasl!;
  return out;
}

/** parseClientProperties of a file (`--command-config FILE`). */
export function loadClientProperties(path: string, warn?: ClientPropertiesWarn): ClientSecurity {
  return parseClientProperties(readSmallFile(path, (what) => { throw new UsageError(`${path}: ${what}`); }), path, warn);
}

type Get = (key: string) => Entry | undefined;
type Fail = (e: Entry | undefined, key: string, what: string) => never;

const TLS_FILE_KEYS = ['ssl.truststore.location', 'ssl.keystore.location', 'ssl.ca.location', 'ssl.certificate.location', 'ssl.key.location'];

/** The TLS half. Kafka stores are PEM only (JKS/PKCS12 must be converted); librdkafka names the files directly. */
function readTls(get: Get, fail: Fail): ClientTls {
  const tls: ClientTls = { verifyHostname: true };
  for (const typeKey of ['ssl.truststore.type', 'ssl.keystore.type']) {
    const t = get(typeKey);
    if (t && t.value.trim().toUpperCase() !== 'PEM') fail(t, typeKey, 'only PEM is supported (convert JKS/PKCS12 with keytool -exportcert -rfc / openssl pkcs12 -nodes)');
  }
  // Trusted CAs: Kafka's truststore (file or inline), or librdkafka's ssl.ca.location/ssl.ca.pem.
  const caSources = ['ssl.truststore.location', 'ssl.truststore.certificates', 'ssl.ca.location', 'ssl.ca.pem'].map((k) => [k, get(k)] as const).filter(([, e]) => e && e.value.trim() !== '');
  if (caSources.length > 1) fail(caSources[1]![1], caSources[1]![0], `give only one of ${caSources.map(([k]) => k).join(', ')}`);
  if (caSources.length === 1) {
    const [key, e] = caSources[0]!;
    const inline = key === 'ssl.truststore.certificates' || key === 'ssl.ca.pem';
    if (key === 'ssl.ca.location' && e!.value.trim() === 'probe') {
      // librdkafka: look for the system's CA store, which is what Node does without `ca`.
    } else {
      const pem = inline ? e!.value : readPemFile(e!, key, fail);
      const certs = pemBlocks(pem).filter((b) => b.label === 'CERTIFICATE');
      if (certs.length === 0) fail(e, key, 'holds no PEM CERTIFICATE');
      for (const c of certs) checkCertificate(c.text, e!, key, fail);
      tls.ca = certs.map((c) => c.text).join('');
    }
  }
  // Client certificate and key: Kafka's PEM keystore (one file with key and chain, or both inline),
  // or librdkafka's separate certificate and key files.
  const ksFile = get('ssl.keystore.location');
  const ksChain = get('ssl.keystore.certificate.chain');
  const ksKey = get('ssl.keystore.key');
  const rdCert = get('ssl.certificate.location') ?? get('ssl.certificate.pem');
  const rdKey = get('ssl.key.location') ?? get('ssl.key.pem');
  const set = (e: Entry | undefined) => e !== undefined && e.value.trim() !== '';
  const styles = [set(ksFile) && 'ssl.keystore.location', (set(ksChain) || set(ksKey)) && 'ssl.keystore.certificate.chain/ssl.keystore.key', (set(rdCert) || set(rdKey)) && 'ssl.certificate.location/ssl.key.location'].filter(Boolean);
  if (styles.length > 1) fail(ksFile ?? ksChain ?? rdCert, String(styles[0]).split('/')[0]!, `give the client certificate one way only: ${styles.join(' or ')}`);
  let certPem: string | undefined;
  let keyPem: string | undefined;
  let where: { e: Entry; key: string } | undefined;
  if (set(ksFile)) {
    const blocks = pemBlocks(readPemFile(ksFile!, 'ssl.keystore.location', fail));
    certPem = blocks.filter((b) => b.label === 'CERTIFICATE').map((b) => b.text).join('');
    keyPem = blocks.filter((b) => /PRIVATE KEY$/.test(b.label)).map((b) => b.text).join('');
    where = { e: ksFile!, key: 'ssl.keystore.location' };
  } else if (set(ksChain) || set(ksKey)) {
    certPem = pemBlocks(ksChain?.value ?? '').filter((b) => b.label === 'CERTIFICATE').map((b) => b.text).join('');
    keyPem = pemBlocks(ksKey?.value ?? '').filter((b) => /PRIVATE KEY$/.test(b.label)).map((b) => b.text).join('');
    if (!certPem) fail(ksChain ?? ksKey, 'ssl.keystore.certificate.chain', 'needs PEM CERTIFICATE text beside ssl.keystore.key');
    if (!keyPem) fail(ksKey ?? ksChain, 'ssl.keystore.key', 'needs PEM PRIVATE KEY text beside ssl.keystore.certificate.chain');
    where = { e: ksKey!, key: 'ssl.keystore.key' };
  } else if (set(rdCert) || set(rdKey)) {
    const certKey = spelling(rdCert, 'ssl.certificate.location', 'ssl.certificate.pem');
    const keyKey = spelling(rdKey, 'ssl.key.location', 'ssl.key.pem');
    if (!set(rdCert)) fail(rdKey, keyKey, 'needs ssl.certificate.location beside it');
    if (!set(rdKey)) fail(rdCert, certKey, 'needs ssl.key.location beside it');
    const text = (e: Entry, key: string) => (key.endsWith('.pem') ? e.value : readPemFile(e, key, fail));
    certPem = pemBlocks(text(rdCert!, certKey)).filter((b) => b.label === 'CERTIFICATE').map((b) => b.text).join('');
    keyPem = pemBlocks(text(rdKey!, keyKey)).filter((b) => /PRIVATE KEY$/.test(b.label)).map((b) => b.text).join('');
    if (!certPem) fail(rdCert, certKey, 'holds no PEM CERTIFICATE');
    where = { e: rdKey!, key: keyKey };
  }
  const password = get('ssl.key.password');
  if (where) {
    if (!certPem) fail(where.e, where.key, 'holds no PEM CERTIFICATE (the client certificate chain)');
    if (!keyPem) fail(where.e, where.key, 'holds no PEM PRIVATE KEY');
    if (pemBlocks(keyPem!).length > 1) fail(where.e, where.key, 'holds more than one private key');
    for (const c of pemBlocks(certPem!)) checkCertificate(c.text, where.e, where.key, fail);
    try {
      createPrivateKey({ key: keyPem!, format: 'pem', passphrase: password?.value });
    } catch {
      fail(where.e, where.key, password ? 'the private key cannot be read with ssl.key.password' : 'the private key cannot be read (encrypted? set ssl.key.password)');
    }
    tls.cert = certPem;
    tls.key = keyPem;
    if (password) tls.keyPassword = password.value;
  }
  const algo = get('ssl.endpoint.identification.algorithm');
  if (algo) {
    const v = algo.value.trim().toLowerCase();
    if (v === '' || v === 'none') tls.verifyHostname = false;
    else if (v !== 'https') fail(algo, 'ssl.endpoint.identification.algorithm', 'expected https, or empty to skip the host name check');
  }
  const verify = get('enable.ssl.certificate.verification');
  if (verify && verify.value.trim().toLowerCase() === 'false') fail(verify, 'enable.ssl.certificate.verification', 'false is not supported: Ferry\'s tools always check the broker\'s certificate (give its CA in ssl.ca.location)');
  return tls;
}

/** Which of two spellings an entry came from, for messages. */
function spelling(e: Entry | undefined, fileKey: string, pemKey: string): string {
  return e && e.key === pemKey ? pemKey : fileKey;
}

/** The SASL half: mechanism, then credentials from sasl.jaas.config, librdkafka's sasl.username/password, or a token. */
function readSasl(get: Get, fail: Fail, wanted: boolean): ClientSasl | undefined {
  const mechEntry = get('sasl.mechanism') ?? get('sasl.mechanisms');
  const jaasEntry = get('sasl.jaas.config');
  const userEntry = get('sasl.username');
  const passEntry = get('sasl.password');
  const tokenFile = get('sasl.oauthbearer.token.file');
  const rdOauth = get('sasl.oauthbearer.config');
  const endpoint = get('sasl.oauthbearer.token.endpoint.url');
  if (!wanted) return undefined;
  const mechKey = mechEntry?.key ?? 'sasl.mechanism';
  const raw = mechEntry?.value.trim().toUpperCase() ?? '';
  if (raw === '' || raw === 'GSSAPI') {
    fail(mechEntry, mechKey, `${raw === '' ? 'not set, so GSSAPI (Kafka\'s default), which' : 'GSSAPI'} Ferry does not support: set one of ${MECHANISMS.join(', ')}`);
  }
  if (!MECHANISMS.includes(raw as ClientSaslMechanism)) fail(mechEntry, mechKey, `expected one of ${MECHANISMS.join(', ')}`);
  const mechanism = raw as ClientSaslMechanism;
  if (jaasEntry && (userEntry || passEntry)) fail(userEntry ?? passEntry, (userEntry ?? passEntry)!.key, 'give sasl.jaas.config or sasl.username/sasl.password, not both');
  const jaas = jaasEntry ? parseJaas(jaasEntry, fail) : undefined;

  if (mechanism !== 'OAUTHBEARER') {
    if (jaas) {
      // PlainLoginModule and ScramLoginModule both hand the client its username and password;
      // Kafka's PLAIN and SCRAM clients take either.
      if (!/(^|\.)(PlainLoginModule|ScramLoginModule)$/.test(jaas.module)) fail(jaasEntry, 'sasl.jaas.config', `${mechanism} needs PlainLoginModule or ScramLoginModule`);
      const username = jaas.options.get('username');
      const password = jaas.options.get('password');
      if (username === undefined) fail(jaasEntry, 'sasl.jaas.config', 'has no username option');
      if (password === undefined) fail(jaasEntry, 'sasl.jaas.config', 'has no password option');
      return { mechanism, username, password };
    }
    if (!userEntry) fail(undefined, 'sasl.jaas.config', `required for sasl.mechanism ${mechanism} (or librdkafka's sasl.username and sasl.password)`);
    if (!passEntry) fail(userEntry, 'sasl.password', 'required beside sasl.username');
    return { mechanism, username: userEntry!.value, password: passEntry!.value };
  }

  // OAUTHBEARER: a token file (re-read on each authentication), or an unsecured token built here.
  if (endpoint && endpoint.value.trim() !== '') fail(endpoint, 'sasl.oauthbearer.token.endpoint.url', 'Ferry\'s tools do not fetch tokens; write the token to a file and set sasl.oauthbearer.token.file');
  if (jaas && !/(^|\.)OAuthBearerLoginModule$/.test(jaas.module)) fail(jaasEntry, 'sasl.jaas.config', 'OAUTHBEARER needs OAuthBearerLoginModule');
  if (tokenFile && tokenFile.value.trim() !== '') {
    const path = tokenFile.value.trim();
    readSmallFile(path, (what) => fail(tokenFile, 'sasl.oauthbearer.token.file', what));
    return { mechanism, token: () => readTokenFile(path) };
  }
  if (jaas) {
    const claims = unsecuredClaims(jaas.options, jaasEntry!, fail);
    return { mechanism, token: async () => unsecuredToken(claims) };
  }
  if (rdOauth) {
    const claims = librdkafkaUnsecuredClaims(rdOauth, fail);
    return { mechanism, token: async () => unsecuredToken(claims) };
  }
  return fail(undefined, 'sasl.jaas.config', 'OAUTHBEARER needs OAuthBearerLoginModule with unsecuredLoginStringClaim_sub, or sasl.oauthbearer.token.file');
}

async function readTokenFile(path: string): Promise<string> {
  const st = statSync(path);
  if (st.size > FILE_BYTES_MAX) throw new UsageError(`sasl.oauthbearer.token.file ${path}: larger than ${FILE_BYTES_MAX} bytes`);
  const token = (await readFile(path, 'utf8')).trim();
  if (token === '') throw new UsageError(`sasl.oauthbearer.token.file ${path}: empty`);
  return token;
}

// ---- unsecured OAUTHBEARER tokens (Kafka's OAuthBearerUnsecuredLoginCallbackHandler) ----------

interface UnsecuredClaims {
  /** Claims besides iat and exp, by name. */
  claims: Record<string, string | number | string[]>;
  lifetimeSeconds: number;
}

/**
 * unsecuredLoginStringClaim_<name>, unsecuredLoginNumberClaim_<name>, unsecuredLoginListClaim_<name>
 * (the first character is the separator), unsecuredLoginPrincipalClaimName (default sub, which must
 * be set), unsecuredLoginLifetimeSeconds (default 3600).
 */
function unsecuredClaims(options: ReadonlyMap<string, string>, e: Entry, fail: Fail): UnsecuredClaims {
  const claims: Record<string, string | number | string[]> = {};
  let lifetimeSeconds = 3600;
  let principalClaim = 'sub';
  for (const [k, v] of options) {
    let m: RegExpExecArray | null;
    if ((m = /^unsecuredLoginStringClaim_(.+)$/.exec(k))) claims[m[1]!] = v;
    else if ((m = /^unsecuredLoginNumberClaim_(.+)$/.exec(k))) {
      if (!/^-?\d+(\.\d+)?$/.test(v)) fail(e, 'sasl.jaas.config', `${k} is not a number`);
      claims[m[1]!] = Number(v);
    } else if ((m = /^unsecuredLoginListClaim_(.+)$/.exec(k))) claims[m[1]!] = v.length <= 1 ? [] : v.slice(1).split(v[0]!).filter((x) => x !== '');
    else if (k === 'unsecuredLoginLifetimeSeconds') {
      if (!/^\d+$/.test(v) || Number(v) <= 0) fail(e, 'sasl.jaas.config', `${k} is not a positive integer`);
      lifetimeSeconds = Number(v);
    } else if (k === 'unsecuredLoginPrincipalClaimName') principalClaim = v;
    else if (k === 'unsecuredLoginScopeClaimName' || k.startsWith('unsecuredLoginExtension_')) {
      // Scope name only matters to validators; SASL extensions are not sent by Ferry's tools.
    } else fail(e, 'sasl.jaas.config', `unknown OAuthBearerLoginModule option ${k}`);
  }
  if (typeof claims[principalClaim] !== 'string' || claims[principalClaim] === '') {
    fail(e, 'sasl.jaas.config', `OAuthBearerLoginModule needs unsecuredLoginStringClaim_${principalClaim} (the principal) or use sasl.oauthbearer.token.file`);
  }
  if ('iat' in claims || 'exp' in claims) fail(e, 'sasl.jaas.config', 'iat and exp are set from unsecuredLoginLifetimeSeconds');
  return { claims, lifetimeSeconds };
}

/** librdkafka's `sasl.oauthbearer.config=principal=alice [lifeSeconds=N] [scope=a,b]` (with enable.sasl.oauthbearer.unsecure.jwt). */
function librdkafkaUnsecuredClaims(e: Entry, fail: Fail): UnsecuredClaims {
  const claims: Record<string, string | number | string[]> = {};
  let lifetimeSeconds = 3600;
  for (const part of e.value.trim().split(/\s+/).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    const k = eq > 0 ? part.slice(0, eq) : part;
    const v = eq > 0 ? part.slice(eq + 1) : '';
    if (k === 'principal') claims.sub = v;
    else if (k === 'scope') claims.scope = v.split(',').filter((x) => x !== '');
    else if (k === 'lifeSeconds' && /^\d+$/.test(v) && Number(v) > 0) lifetimeSeconds = Number(v);
    else if (!k.startsWith('extension_')) fail(e, 'sasl.oauthbearer.config', `unknown or bad part ${k}`);
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') fail(e, 'sasl.oauthbearer.config', 'needs principal=<name>');
  return { claims, lifetimeSeconds };
}

/** An unsecured JWS (alg none): header.claims. with an empty signature, as Kafka's unsecured login module makes. */
export function unsecuredToken(c: UnsecuredClaims, nowMs = Date.now()): string {
  const iat = Math.floor(nowMs / 1000);
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none' })}.${b64({ ...c.claims, iat, exp: iat + c.lifetimeSeconds })}.`;
}

// ---- PEM -------------------------------------------------------------------------------------

interface PemBlock { label: string; text: string }

/**
 * PEM blocks of a text, re-wrapped: Kafka lets PEM be written inline in a properties file with `\`
 * continuations, which join the lines, so bodies are normalized to 64-column base64.
 */
function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)) {
    const label = m[1]!;
    const body = m[2]!;
    // Traditional encrypted keys carry "Proc-Type:" headers: keep those bodies as they are.
    const normalized = body.includes(':') ? body.replace(/^\s+|\s+$/g, '') : (body.replace(/\s+/g, '').match(/.{1,64}/g) ?? []).join('\n');
    out.push({ label, text: `-----BEGIN ${label}-----\n${normalized}\n-----END ${label}-----\n` });
  }
  return out;
}

function readPemFile(e: Entry, key: string, fail: Fail): string {
  const path = e.value.trim();
  const text = readSmallFile(path, (what) => fail(e, key, what));
  if (!text.includes('-----BEGIN ')) fail(e, key, `${path} is not PEM (JKS/PKCS12 stores must be converted to PEM)`);
  return text;
}

function checkCertificate(pem: string, e: Entry, key: string, fail: Fail): void {
  try { new X509Certificate(pem); } catch { fail(e, key, 'holds a CERTIFICATE block that is not a valid X.509 certificate'); }
}

/** A file of at most FILE_BYTES_MAX bytes; `bad` gets what is wrong (it throws). */
function readSmallFile(path: string, bad: (what: string) => never): string {
  const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error';
  let st;
  try { st = statSync(path); } catch (err) { return bad(`cannot read ${path} (${code(err)})`); }
  if (!st.isFile()) bad(`${path} is not a file`);
  if (st.size > FILE_BYTES_MAX) bad(`${path} is larger than ${FILE_BYTES_MAX} bytes`);
  try { return readFileSync(path, 'utf8'); } catch (err) { return bad(`cannot read ${path} (${code(err)})`); }
}

// ---- properties and JAAS text -----------------------------------------------------------

/** The file's entries (src/common/properties.ts, the reader the broker's config uses too). */
function readProperties(text: string, source: string): Entry[] {
  try {
    return parseProperties(text);
  } catch (err) {
    if (err instanceof PropertiesSyntaxError) throw new UsageError(`${source}:${err.line}: a \\u escape needs four hex digits`);
    throw err;
  }
}

/** The first login module of sasl.jaas.config, through the broker's own JAAS reader (src/security/sasl/jaas.ts). */
function parseJaas(e: Entry, fail: Fail): { module: string; options: ReadonlyMap<string, string> } {
  try {
    const entry = parseSaslJaasConfig(e.value);
    return { module: entry.loginModule, options: entry.options };
  } catch (err) {
    // JaasConfigError messages give positions and option names, never values.
    if (err instanceof JaasConfigError) return fail(e, 'sasl.jaas.config', err.message);
    throw err;
  }
}
