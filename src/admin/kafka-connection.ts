/**
 * One TCP connection to a Kafka broker, built on the generated codecs. Requests are pipelined:
 * each gets a correlation id and resolves when its response frame arrives (Kafka answers in
 * order on a connection). The connection learns the broker's API versions at connect time, and
 * `versionFor(apiKey, ourMax)` picks the highest version both sides speak.
 *
 * With `security` it speaks TLS (SSL, SASL_SSL) and authenticates with SASL (SASL_PLAINTEXT,
 * SASL_SSL) right after ApiVersions, as Kafka's clients do; when the broker gives the session a
 * lifetime (KIP-368) it re-authenticates at 85–95 % of it, holding new requests meanwhile.
 */
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, checkServerIdentity } from 'node:tls';
import { FrameDecoder } from '../protocol/frame.js';
import { Reader, Writer } from '../protocol/primitives.js';
import { decodeResponseHeader, encodeRequestHeader } from '../protocol/headers.js';
import { API_TABLE, ApiKey } from '../protocol/messages/index.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { AdminError, ConnectionError } from './errors.js';
import { PLAINTEXT_CLIENT, type ClientSecurity, type ClientTls } from './client-security.js';
import { usesSasl, usesTls } from '../server/session.js';
import { authenticateSasl } from './sasl-client.js';

export interface ConnectionOptions {
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Largest response frame accepted. */
  responseBytesMax?: number;
  /** TLS and SASL settings; unset: PLAINTEXT. */
  security?: ClientSecurity;
}

interface Pending {
  correlationId: number;
  apiKey: number;
  version: number;
  resolve(body: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const DEFAULT_RESPONSE_BYTES_MAX = 256 * 1024 * 1024;

export class KafkaConnection {
  private readonly decoder: FrameDecoder;
  private readonly pending: Pending[] = [];
  private nextCorrelationId = 1;
  private closedError: Error | null = null;
  /** api key -> [min, max] the broker advertises. */
  private readonly brokerVersions = new Map<number, [number, number]>();
  readonly clientId: string;
  readonly requestTimeoutMs: number;
  private readonly security: ClientSecurity;
  /** While re-authenticating: new requests wait for this. */
  private gate: Promise<void> | null = null;
  private reauthTimer: NodeJS.Timeout | null = null;

  private constructor(private readonly socket: Socket, readonly address: string, opts: ConnectionOptions) {
    this.security = opts.security ?? PLAINTEXT_CLIENT;
    this.clientId = opts.clientId ?? 'ferry-admin';
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.decoder = new FrameDecoder({ frameBytesMax: opts.responseBytesMax ?? DEFAULT_RESPONSE_BYTES_MAX });
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try { frames = this.decoder.push(chunk); } catch (err) { this.fail(err as Error); return; }
      for (const f of frames) this.onFrame(f);
    });
    socket.on('error', (err) => this.fail(new ConnectionError(address, err.message)));
    socket.on('close', () => this.fail(new ConnectionError(address, 'connection closed by the broker')));
  }

  /** Connects (TLS when the protocol says so), negotiates API versions, then authenticates (SASL protocols). */
  static async connect(address: string, opts: ConnectionOptions = {}): Promise<KafkaConnection> {
    const { host, port } = parseAddress(address);
    const security = opts.security ?? PLAINTEXT_CLIENT;
    const tls = usesTls(security.protocol) ? (security.tls ?? { verifyHostname: true }) : null;
    if (usesSasl(security.protocol) && !security.sasl) {
      throw new ConnectionError(address, `security.protocol ${security.protocol} needs SASL settings (sasl.mechanism and credentials)`);
    }
    const socket = await openSocket(address, host, port, tls, opts.connectTimeoutMs ?? 10_000);
    const conn = new KafkaConnection(socket, address, opts);
    try {
      await conn.negotiateVersions();
      if (security.sasl && usesSasl(security.protocol)) await conn.authenticate();
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  /** SaslHandshake v1 + SaslAuthenticate; schedules the re-authentication the session's lifetime asks for. */
  private async authenticate(): Promise<void> {
    if (this.versionFor(ApiKey.SaslHandshake, 1) < 1) throw new AdminError(ErrorCode.UNSUPPORTED_VERSION, 'SaslHandshake', `the broker at ${this.address} has no SaslHandshake v1`);
    const { sessionLifetimeMs } = await authenticateSasl((k, v, b) => this.send(k, v, b), this.security.sasl!, {
      authenticateVersion: this.versionFor(ApiKey.SaslAuthenticate, 2), address: this.address,
    });
    if (sessionLifetimeMs > 0 && !this.closedError) {
      // Kafka's clients re-authenticate at a random 85–95 % of the session (KIP-368).
      const delay = Math.floor(sessionLifetimeMs * (0.85 + Math.random() * 0.1));
      this.reauthTimer = setTimeout(() => this.reauthenticate(), delay);
      this.reauthTimer.unref();
    }
  }

  private reauthenticate(): void {
    this.reauthTimer = null;
    if (this.closedError) return;
    let release!: () => void;
    this.gate = new Promise<void>((resolve) => { release = resolve; });
    this.authenticate().then(
      () => undefined,
      (err) => this.fail(err instanceof Error ? err : new ConnectionError(this.address, String(err))),
    ).finally(() => { this.gate = null; release(); });
  }

  private async negotiateVersions(): Promise<void> {
    // v3 first (flexible); an older broker answers UNSUPPORTED_VERSION with its range in a v0 body.
    let res: any = await this.requestAt(ApiKey.ApiVersions, 3, { clientSoftwareName: 'ferry', clientSoftwareVersion: '0.1.0' });
    if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION) res = await this.requestAt(ApiKey.ApiVersions, 0, {});
    if (res.errorCode !== 0) throw new AdminError(res.errorCode, 'ApiVersions');
    for (const k of res.apiKeys) this.brokerVersions.set(k.apiKey, [k.minVersion, k.maxVersion]);
  }

  /** Highest version <= ourMax that the broker and the codecs both support; throws if none. */
  versionFor(apiKey: number, ourMax: number): number {
    const api = API_TABLE.get(apiKey);
    const broker = this.brokerVersions.get(apiKey);
    const name = api?.name ?? `api ${apiKey}`;
    if (!api || !broker) throw new AdminError(35, name, `the broker at ${this.address} does not support ${name}`);
    const v = Math.min(ourMax, api.maxVersion, broker[1]);
    if (v < Math.max(broker[0], api.minVersion)) throw new AdminError(35, name, `no common version of ${name} (broker ${broker[0]}-${broker[1]}, client up to ${ourMax})`);
    return v;
  }

  supports(apiKey: number): boolean { return this.brokerVersions.has(apiKey); }

  /** Sends a request at the negotiated version (<= ourMax) and decodes the response. */
  request<T = any>(apiKey: number, ourMax: number, body: object): Promise<T> {
    return this.requestAt<T>(apiKey, this.versionFor(apiKey, ourMax), body);
  }

  /** Sends a request at exactly `version`. With expectResponse=false (Produce acks=0) resolves once written. */
  requestAt<T = any>(apiKey: number, version: number, body: object, expectResponse = true): Promise<T> {
    // During a re-authentication the broker takes nothing but its SASL requests.
    if (this.gate) return this.gate.then(() => this.requestAt<T>(apiKey, version, body, expectResponse));
    return this.send<T>(apiKey, version, body, expectResponse);
  }

  private send<T = any>(apiKey: number, version: number, body: object, expectResponse = true): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const api = API_TABLE.get(apiKey);
    if (!api) return Promise.reject(new Error(`no codec for api key ${apiKey}`));
    const correlationId = this.nextCorrelationId++;
    if (this.nextCorrelationId > 0x7fffffff) this.nextCorrelationId = 1;
    const w = new Writer(256);
    const at = w.reserveInt32();
    encodeRequestHeader(w, api.requestHeaderVersion(version), { apiKey, apiVersion: version, correlationId, clientId: this.clientId });
    api.encodeRequest(w, version, body);
    w.patchInt32(at, w.length - 4);
    const chunks = w.toChunks();
    if (!expectResponse) {
      return new Promise((resolve, reject) => {
        for (let i = 0; i < chunks.length - 1; i++) this.socket.write(chunks[i]!);
        this.socket.write(chunks[chunks.length - 1]!, (err) => (err ? reject(new ConnectionError(this.address, err.message)) : resolve(undefined as T)));
      });
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A late response would desynchronize the pipeline: give up on the whole connection.
        this.fail(new ConnectionError(this.address, `${api.name} v${version} timed out after ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.push({ correlationId, apiKey, version, resolve: resolve as (b: unknown) => void, reject, timer });
      for (const c of chunks) this.socket.write(c);
    });
  }

  private onFrame(frame: Buffer): void {
    const p = this.pending.shift();
    if (!p) { this.fail(new ConnectionError(this.address, 'response with no request outstanding')); return; }
    clearTimeout(p.timer);
    const api = API_TABLE.get(p.apiKey)!;
    const r = new Reader(frame);
    const h = decodeResponseHeader(r, api.responseHeaderVersion(p.version));
    if (h.correlationId !== p.correlationId) {
      p.reject(new ConnectionError(this.address, `correlation id ${h.correlationId}, expected ${p.correlationId}`));
      this.fail(new ConnectionError(this.address, 'response out of order'));
      return;
    }
    const body = api.decodeResponse(r, p.version);
    if (r.error) {
      const fallback = p.apiKey === ApiKey.ApiVersions ? unsupportedApiVersions(frame) : null;
      if (fallback) p.resolve(fallback);
      else p.reject(new ConnectionError(this.address, `cannot decode ${api.name} v${p.version} response: ${r.error}`));
      return;
    }
    p.resolve(body);
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    if (this.reauthTimer) clearTimeout(this.reauthTimer);
    this.reauthTimer = null;
    for (const p of this.pending.splice(0)) { clearTimeout(p.timer); p.reject(err); }
    this.socket.destroy();
  }

  get inFlight(): number { return this.pending.length; }
  get closed(): boolean { return this.closedError !== null; }

  close(): void { this.fail(new ConnectionError(this.address, 'connection closed')); }
}

/** A TCP or TLS socket, connected (TLS: handshake done, chain verified, and the name unless verifyHostname is false). */
function openSocket(address: string, host: string, port: number, tls: ClientTls | null, timeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const s: Socket = tls === null ? connect({ host, port }) : tlsConnect({
      host, port,
      servername: isIP(host) ? undefined : host,
      ca: tls.ca, cert: tls.cert, key: tls.key, passphrase: tls.keyPassword,
      minVersion: 'TLSv1.2',
      // ssl.endpoint.identification.algorithm= (empty): the chain is still verified, the name is not.
      checkServerIdentity: tls.verifyHostname ? checkServerIdentity : () => undefined,
    });
    const timer = setTimeout(() => { s.destroy(); reject(new ConnectionError(address, `connect timed out after ${timeoutMs} ms`)); }, timeoutMs);
    s.once(tls === null ? 'connect' : 'secureConnect', () => { clearTimeout(timer); s.setNoDelay(true); resolve(s); });
    s.once('error', (e) => { clearTimeout(timer); reject(new ConnectionError(address, tls === null ? e.message : `TLS: ${e.message}`)); });
  });
}

/**
 * KIP-511: a broker that does not speak the ApiVersions version asked for answers
 * UNSUPPORTED_VERSION with its supported ranges in a v0 body (the header is always v0). Returns
 * that body, or null when the frame is not such an answer.
 */
function unsupportedApiVersions(frame: Buffer): unknown {
  const api = API_TABLE.get(ApiKey.ApiVersions)!;
  const r = new Reader(frame);
  decodeResponseHeader(r, 0);
  const body = api.decodeResponse(r, 0) as { errorCode: number };
  return !r.error && body.errorCode === ErrorCode.UNSUPPORTED_VERSION ? body : null;
}

export function parseAddress(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address.trim());
  if (!m || m[1] === '') throw new ConnectionError(address, 'expected host:port');
  const port = Number(m[2]);
  if (!(port > 0 && port < 65536)) throw new ConnectionError(address, 'port out of range');
  return { host: m[1]!, port };
}

/** Throws AdminError when a top-level or per-item error code is set. */
export function check(code: number, what: string, message?: string | null): void {
  if (code !== 0) throw new AdminError(code, what, message ?? undefined);
}

export { errorName };
