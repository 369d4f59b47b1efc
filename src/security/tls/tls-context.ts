/**
 * One TLS listener's context: its key and certificates (Kafka's ssl.keystore.* and ssl.truststore.*,
 * PEM only), protocols and cipher suites, client authentication, and the principal a client's
 * certificate maps to (ssl.principal.mapping.rules).
 *
 * The keystore and truststore files are polled (fs.watchFile, by path, so a certificate rotation tool
 * that renames a new file over the old one is seen like an in-place rewrite). A change is re-read and
 * checked as at startup; a good one goes to the onReload callbacks (the server calls
 * setSecureContext with it, so new connections get it and open ones keep theirs), a bad one is logged
 * and the current context stays. Kafka itself reloads only on an AlterConfigs; watching is Ferry's,
 * and unlike Kafka's reconfiguration it accepts a new subject (a renewed cert may change its CN).
 */
import type { X509Certificate } from 'node:crypto';
import { watchFile, unwatchFile, type Stats } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type TLSSocket, type TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import { ANONYMOUS, type KafkaPrincipal } from '../../server/session.js';
import { opensslCipherName } from './cipher-suite-names.js';
import { NoMatchingPrincipalRuleError, PrincipalMappingRuleError, SslPrincipalMapper } from './principal-mapping.js';
import { TlsConfigError, TlsPeerError } from './tls-errors.js';
import { loadTlsMaterial, oneLine, type TlsMaterial } from './tls-material.js';
import { subjectRfc2253, X500NameError } from './x500-name.js';

export { TlsConfigError, TlsPeerError } from './tls-errors.js';

export type SslClientAuth = 'required' | 'requested' | 'none';
export type TlsProtocolName = 'TLSv1.2' | 'TLSv1.3';

/** A listener's TLS settings, with Kafka's meaning (the config key of each in its comment). */
export interface TlsListenerSettings {
  /** ssl.keystore.type: only PEM. */
  keystoreType: 'PEM';
  /** ssl.keystore.location: a PEM file holding the private key and the certificate chain. */
  keystoreLocation: string | null;
  /** ssl.keystore.certificate.chain: the chain as inline PEM (with keystoreKey). */
  keystoreCertificateChain: string | null;
  /** ssl.keystore.key: the private key as inline PEM. */
  keystoreKey: string | null;
  /** ssl.key.password: for an encrypted PKCS#8 key. */
  keyPassword: string | null;
  /** ssl.truststore.location: a PEM file of CA certificates. */
  truststoreLocation: string | null;
  /** ssl.truststore.certificates: CA certificates as inline PEM. */
  truststoreCertificates: string | null;
  /** ssl.client.auth. */
  clientAuth: SslClientAuth;
  /** ssl.enabled.protocols: TLSv1.2 and/or TLSv1.3 (TLS 1.0 and 1.1 are refused). */
  enabledProtocols: string[];
  /** ssl.cipher.suites, IANA (Java) or OpenSSL names; empty: Node's defaults. */
  cipherSuites: string[];
  /** ssl.principal.mapping.rules (Kafka's default: "DEFAULT"). */
  principalMappingRules: string;
}

export interface TlsProviderOptions {
  /** How often the keystore and truststore files are polled (default 1000 ms). */
  pollIntervalMs?: number;
  /** Clock for certificate validity checks (tests). */
  nowMs?: () => number;
}

const DEFAULT_POLL_INTERVAL_MS = 1000;
/** After a file changes, wait this long for the rest of a multi-step rewrite before reading. */
const SETTLE_MS = 100;

const PROTOCOL_ORDER: readonly TlsProtocolName[] = ['TLSv1.2', 'TLSv1.3'];
const REFUSED_PROTOCOLS = new Set(['SSL', 'SSLv2', 'SSLv2Hello', 'SSLv3', 'TLS', 'TLSv1', 'TLSv1.1']);

export type TlsLog = Pick<Logger, 'info' | 'warn'>;

export class TlsContextProvider {
  private material: TlsMaterial;
  private readonly callbacks: ((opts: SecureContextOptions) => void)[] = [];
  private readonly watched: string[] = [];
  private settleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** The error of the last bad replacement, so one bad file is warned about once. */
  private lastRejected: string | null = null;

  private constructor(
    readonly listenerName: string,
    private readonly settings: TlsListenerSettings,
    private readonly protocol: ProtocolOptions,
    private readonly mapper: SslPrincipalMapper,
    private readonly log: TlsLog,
    private readonly nowMs: () => number,
    material: TlsMaterial,
  ) {
    this.material = material;
  }

  /**
   * Reads and checks everything (throws TlsConfigError), then starts watching the files. The log gets
   * the certificate's subject and validity, never key material.
   */
  static open(listenerName: string, settings: TlsListenerSettings, log: TlsLog, options: TlsProviderOptions = {}): TlsContextProvider {
    if (!['required', 'requested', 'none'].includes(settings.clientAuth)) {
      throw new TlsConfigError(listenerName, 'ssl.client.auth', 'must be required, requested or none', String(settings.clientAuth));
    }
    const protocol = protocolOptions(listenerName, settings);
    let mapper: SslPrincipalMapper;
    try {
      mapper = SslPrincipalMapper.fromRules(settings.principalMappingRules);
    } catch (err) {
      if (err instanceof PrincipalMappingRuleError) throw new TlsConfigError(listenerName, 'ssl.principal.mapping.rules', err.message.replace(/^ssl\.principal\.mapping\.rules: /, ''));
      throw err;
    }
    const material = loadTlsMaterial(listenerName, settings);
    checkSecureContext(listenerName, settings, material, protocol);
    const nowMs = options.nowMs ?? Date.now;
    const provider = new TlsContextProvider(listenerName, settings, protocol, mapper, log, nowMs, material);
    const validity = validityProblem(material, nowMs());
    if (validity) log.warn({ listener: listenerName, ...certificateFields(material) }, `TLS listener certificate ${validity}; clients will refuse it`);
    else log.info({ listener: listenerName, ...certificateFields(material) }, 'TLS listener certificate loaded');
    provider.watch(options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    return provider;
  }

  /** Options for tls.createServer. */
  serverOptions(): TlsOptions {
    return {
      ...this.secureContextOptions(),
      requestCert: this.settings.clientAuth !== 'none',
      // 'requested': a client without a certificate is accepted; one with an untrusted certificate
      // passes the handshake and is refused by principalOf.
      rejectUnauthorized: this.settings.clientAuth === 'required',
    };
  }

  /** The current key, chain, CAs, protocols and ciphers (what setSecureContext takes). */
  secureContextOptions(): SecureContextOptions {
    return secureContextOptionsOf(this.material, this.protocol);
  }

  /** The listener's current certificate. */
  get certificate(): X509Certificate { return this.material.certificate; }

  /** Called with the new secure context options after each good reload. */
  onReload(cb: (opts: SecureContextOptions) => void): void {
    this.callbacks.push(cb);
  }

  /**
   * Re-reads the files now (the watcher calls this): true if a new, valid context was installed. A bad
   * one is logged (warn) and the current context kept.
   */
  reload(): boolean {
    if (this.closed) return false;
    let next: TlsMaterial;
    try {
      next = loadTlsMaterial(this.listenerName, this.settings);
      checkSecureContext(this.listenerName, this.settings, next, this.protocol);
      // An expired replacement is a mistake; an expired certificate that did not change is not news.
      const changedCert = next.certificate.fingerprint256 !== this.material.certificate.fingerprint256;
      if (changedCert && validityProblem(next, this.nowMs()) === 'has expired') {
        throw new TlsConfigError(this.listenerName, 'ssl.keystore.location', `the new certificate has expired (${next.certificate.validTo})`, this.settings.keystoreLocation);
      }
    } catch (err) {
      // Runs from a timer: nothing may escape. Only TlsConfigError is expected; its text is ours.
      const message = err instanceof TlsConfigError ? err.message : `listener ${this.listenerName}: unexpected error reading the TLS files (${(err as { code?: string }).code ?? (err as Error).name})`;
      if (this.lastRejected !== message) {
        this.lastRejected = message;
        this.log.warn({ listener: this.listenerName, err: message, current: certificateFields(this.material) }, 'TLS files changed but are not usable; keeping the current certificate');
      }
      return false;
    }
    this.lastRejected = null;
    if (next.fingerprint === this.material.fingerprint) return false;
    const previous = this.material;
    this.material = next;
    this.log.info({ listener: this.listenerName, ...certificateFields(next), previousSerial: previous.certificate.serialNumber }, 'TLS listener certificate reloaded');
    const opts = this.secureContextOptions();
    for (const cb of this.callbacks) {
      try {
        cb(opts);
      } catch (err) {
        this.log.warn({ listener: this.listenerName, err: (err as Error).message }, 'TLS reload callback failed');
      }
    }
    return true;
  }

  /**
   * The principal of a connection once its handshake is done (Kafka's DefaultKafkaPrincipalBuilder):
   * ANONYMOUS without a client certificate; the certificate's subject in RFC 2253 form, through
   * ssl.principal.mapping.rules, with one. Throws TlsPeerError (close the connection) for a
   * certificate that did not verify or a subject no rule maps. Call it for every TLS connection: an
   * untrusted certificate gets through the handshake with ssl.client.auth=requested (Kafka's handshake
   * would fail), and with any setting when the server TLSSocket is made by hand rather than by
   * tls.Server (Node checks rejectUnauthorized only in tls.Server).
   */
  principalOf(socket: TLSSocket): KafkaPrincipal {
    const cert = socket.getPeerX509Certificate();
    if (!cert) {
      // OpenSSL already fails such a handshake when the certificate is required.
      if (this.settings.clientAuth === 'required') throw new TlsPeerError(this.listenerName, 'no client certificate (ssl.client.auth=required)');
      return ANONYMOUS;
    }
    const problem = verifyProblem(socket);
    if (problem !== null) throw new TlsPeerError(this.listenerName, `client certificate not trusted (${problem}): ${oneLine(cert.subject)}`);
    let dn: string;
    try {
      dn = subjectRfc2253(cert.raw);
    } catch (err) {
      if (err instanceof X500NameError) throw new TlsPeerError(this.listenerName, err.message);
      throw err;
    }
    try {
      return { type: 'User', name: this.mapper.map(dn) };
    } catch (err) {
      if (err instanceof NoMatchingPrincipalRuleError) throw new TlsPeerError(this.listenerName, `no ssl.principal.mapping.rules rule maps ${dn}`);
      throw err;
    }
  }

  /** Stops watching the files. */
  close(): void {
    this.closed = true;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    for (const path of this.watched) unwatchFile(path, this.onFileChange);
    this.watched.length = 0;
  }

  private watch(intervalMs: number): void {
    for (const path of [this.settings.keystoreLocation, this.settings.truststoreLocation]) {
      if (path === null || this.watched.includes(path)) continue;
      watchFile(path, { interval: intervalMs, persistent: false }, this.onFileChange);
      this.watched.push(path);
    }
  }

  private readonly onFileChange = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs === prev.mtimeMs && curr.ino === prev.ino && curr.size === prev.size) return;
    if (this.closed) return;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      this.reload();
    }, SETTLE_MS);
    this.settleTimer.unref();
  };
}

/**
 * Why the peer's certificate did not verify, or null if it did. A socket from tls.Server has
 * `authorized` set; a TLSSocket wrapped by hand (isServer) never gets it, so the verify result is
 * asked of the handle as tls.Server itself does. Without an answer the certificate counts as untrusted.
 */
function verifyProblem(socket: TLSSocket): string | null {
  if (socket.authorized) return null;
  if (socket.authorizationError) return String(socket.authorizationError);
  const handle = (socket as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  if (typeof handle?.verifyError !== 'function') return 'verification result unavailable';
  const err = handle.verifyError();
  return err ? err.code ?? err.message : null;
}

interface ProtocolOptions {
  readonly minVersion: TlsProtocolName;
  readonly maxVersion: TlsProtocolName;
  /** OpenSSL cipher string; null: Node's default. */
  readonly ciphers: string | null;
}

/** ssl.enabled.protocols and ssl.cipher.suites as Node options; throws TlsConfigError. */
function protocolOptions(listenerName: string, s: TlsListenerSettings): ProtocolOptions {
  const protocols = new Set<TlsProtocolName>();
  for (const raw of s.enabledProtocols) {
    const name = raw.trim();
    if (name === '') continue;
    if (REFUSED_PROTOCOLS.has(name)) throw new TlsConfigError(listenerName, 'ssl.enabled.protocols', `${name} is not allowed (only TLSv1.2 and TLSv1.3)`, s.enabledProtocols.join(','));
    if (!PROTOCOL_ORDER.includes(name as TlsProtocolName)) throw new TlsConfigError(listenerName, 'ssl.enabled.protocols', `unknown protocol ${name} (TLSv1.2, TLSv1.3)`, s.enabledProtocols.join(','));
    protocols.add(name as TlsProtocolName);
  }
  if (protocols.size === 0) throw new TlsConfigError(listenerName, 'ssl.enabled.protocols', 'no protocol enabled (TLSv1.2, TLSv1.3)');
  const enabled = PROTOCOL_ORDER.filter((p) => protocols.has(p));

  let ciphers: string | null = null;
  const suites = s.cipherSuites.map((c) => c.trim()).filter((c) => c !== '');
  if (suites.length > 0) {
    const names = suites.map((suite) => {
      const name = opensslCipherName(suite);
      if (!name) throw new TlsConfigError(listenerName, 'ssl.cipher.suites', `unknown cipher suite ${suite}`, suites.join(','));
      return name;
    });
    // Node drops TLS 1.3 when no 1.3 suite is listed and TLS 1.2 when only 1.3 suites are (as Java does).
    const has13 = names.some((n) => n.tls13);
    const has12 = names.some((n) => !n.tls13);
    if (!enabled.some((p) => (p === 'TLSv1.3' ? has13 : has12))) {
      throw new TlsConfigError(listenerName, 'ssl.cipher.suites', `no suite for the enabled protocols (${enabled.join(', ')})`, suites.join(','));
    }
    ciphers = names.map((n) => n.openssl).join(':');
  }
  return { minVersion: enabled[0]!, maxVersion: enabled[enabled.length - 1]!, ciphers };
}

function secureContextOptionsOf(material: TlsMaterial, protocol: ProtocolOptions): SecureContextOptions {
  return {
    key: material.keyPem,
    cert: material.certChainPem,
    ...(material.caPem === null ? {} : { ca: material.caPem }),
    minVersion: protocol.minVersion,
    maxVersion: protocol.maxVersion,
    ...(protocol.ciphers === null ? {} : { ciphers: protocol.ciphers, honorCipherOrder: true }),
  };
}

/** What OpenSSL itself refuses (a cipher list it cannot use, a key type it cannot sign with). */
function checkSecureContext(listenerName: string, s: TlsListenerSettings, material: TlsMaterial, protocol: ProtocolOptions): void {
  try {
    createSecureContext(secureContextOptionsOf(material, protocol));
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'unknown error';
    if (protocol.ciphers !== null && /cipher/i.test((err as Error).message)) {
      throw new TlsConfigError(listenerName, 'ssl.cipher.suites', `OpenSSL cannot use these suites (${code})`, s.cipherSuites.join(','));
    }
    const [key, location] = s.keystoreLocation === null ? ['ssl.keystore.key', null] : ['ssl.keystore.location', s.keystoreLocation];
    throw new TlsConfigError(listenerName, key, `OpenSSL refuses the key or certificate (${code})`, location);
  }
}

function validityProblem(material: TlsMaterial, nowMs: number): 'has expired' | 'is not yet valid' | null {
  const cert = material.certificate;
  if (Date.parse(cert.validTo) < nowMs) return 'has expired';
  if (Date.parse(cert.validFrom) > nowMs) return 'is not yet valid';
  return null;
}

function certificateFields(material: TlsMaterial): Record<string, string> {
  const cert = material.certificate;
  return { subject: oneLine(cert.subject), issuer: oneLine(cert.issuer), serial: cert.serialNumber, notBefore: cert.validFrom, notAfter: cert.validTo };
}
