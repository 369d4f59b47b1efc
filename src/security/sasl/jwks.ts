/**
 * The JSON Web Key Set that signs OAUTHBEARER tokens (sasl.oauthbearer.jwks.endpoint.url): read
 * from a file (a path or a file:// URL) or fetched from an https URL, again every
 * sasl.oauthbearer.jwks.endpoint.refresh.ms, and on a token naming a key id the set lacks (key
 * rotation), at most once every 10 s, as Kafka's RefreshingHttpsJwks does. A failed refresh keeps
 * the keys it had.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { fileURLToPath } from 'node:url';

/** Kafka's MISSING_KEY_ID_CACHE_IN_FLIGHT_MS: how often an unknown key id may trigger a fetch. */
export const UNKNOWN_KID_REFRESH_MIN_MS = 10_000;
const JWKS_BYTES_MAX = 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;

export interface Jwk {
  kid: string | null;
  kty: string;
  /** The key's alg member, when it has one: then only that algorithm may use it. */
  alg: string | null;
  /** EC curve (P-256, P-384, P-521). */
  crv: string | null;
  key: KeyObject;
}

export interface JwksSource {
  /** The current keys (fetched on first use). Throws when none could ever be loaded. */
  keys(): Promise<readonly Jwk[]>;
  /** A token names a key id the set lacks: fetch again unless that was done in the last 10 s. True if refreshed. */
  refreshForUnknownKid(): Promise<boolean>;
  close(): void;
}

/** Parses a JWK Set document; keys for encryption or that node:crypto cannot import are left out. */
export function parseJwks(text: string): Jwk[] {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch { throw new Error('the JWKS is not JSON'); }
  const keys = (doc as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new Error('the JWKS has no "keys" array');
  const out: Jwk[] = [];
  for (const k of keys as Array<Record<string, unknown>>) {
    if (k === null || typeof k !== 'object' || typeof k.kty !== 'string' || k.use === 'enc') continue;
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = k; // never hold private parts
    let key: KeyObject;
    try { key = createPublicKey({ key: pub as any, format: 'jwk' }); } catch { continue; }
    out.push({
      kid: typeof k.kid === 'string' ? k.kid : null, kty: k.kty, alg: typeof k.alg === 'string' ? k.alg : null,
      crv: typeof k.crv === 'string' ? k.crv : null, key,
    });
  }
  return out;
}

/** Where the JWKS is: an https URL, or a file (file:// URL or a path). Throws for anything else. */
export function jwksLocation(url: string): { kind: 'https'; url: string } | { kind: 'file'; path: string } {
  if (/^https:\/\//i.test(url)) return { kind: 'https', url };
  if (/^file:/i.test(url)) return { kind: 'file', path: fileURLToPath(url) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new RangeError('sasl.oauthbearer.jwks.endpoint.url must be an https:// URL, a file:// URL or a file path');
  return { kind: 'file', path: url };
}

function fetchHttps(url: string, ca: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ca, timeout: FETCH_TIMEOUT_MS, headers: { accept: 'application/json' } }, (res) => {
      if (res.statusCode !== 200) { res.resume(); reject(new Error(`JWKS endpoint answered HTTP ${res.statusCode}`)); return; }
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes > JWKS_BYTES_MAX) { req.destroy(new Error(`JWKS larger than ${JWKS_BYTES_MAX} bytes`)); return; }
        chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`JWKS endpoint did not answer in ${FETCH_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

export interface RefreshingJwksOptions {
  refreshMs: number;
  now(): number;
  /** PEM CAs for an https endpoint (unset: Node's default roots). */
  ca?: string;
  /** A refresh failed (the old keys stay). */
  onError?: (message: string) => void;
}

export class RefreshingJwks implements JwksSource {
  private current: Jwk[] | null = null;
  private loading: Promise<Jwk[]> | null = null;
  private lastUnknownKidRefreshMs = -Infinity;
  private readonly timer: NodeJS.Timeout;
  private readonly location: ReturnType<typeof jwksLocation>;

  constructor(url: string, private readonly options: RefreshingJwksOptions) {
    this.location = jwksLocation(url);
    this.timer = setInterval(() => { this.refresh().catch(() => undefined); }, Math.max(1000, options.refreshMs));
    this.timer.unref();
  }

  async keys(): Promise<readonly Jwk[]> {
    return this.current ?? this.refresh();
  }

  async refreshForUnknownKid(): Promise<boolean> {
    const now = this.options.now();
    if (now - this.lastUnknownKidRefreshMs < UNKNOWN_KID_REFRESH_MIN_MS) return false;
    this.lastUnknownKidRefreshMs = now;
    try { await this.refresh(); return true; } catch { return false; }
  }

  /** Loads the set now (one load at a time); rejects (and keeps the old keys) on failure. */
  refresh(): Promise<Jwk[]> {
    if (this.loading) return this.loading;
    const l = this.location;
    this.loading = (async () => {
      try {
        const text = l.kind === 'https' ? await fetchHttps(l.url, this.options.ca) : await readFile(l.path, 'utf8');
        if (text.length > JWKS_BYTES_MAX) throw new Error(`JWKS larger than ${JWKS_BYTES_MAX} bytes`);
        const keys = parseJwks(text);
        this.current = keys;
        return keys;
      } catch (err) {
        const where = l.kind === 'https' ? l.url : l.path;
        this.options.onError?.(`JWKS from ${where} could not be loaded: ${(err as Error).message}`);
        throw err;
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  close(): void { clearInterval(this.timer); }
}
