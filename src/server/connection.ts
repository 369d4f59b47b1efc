/**
 * One client connection: frames in, requests dispatched concurrently, responses written strictly
 * in request order (Kafka clients match responses by order as well as correlation id).
 *
 * Refusals: a request for an API or version Ferry has a codec for but does not serve (not
 * registered, disabled by config, or a version outside the registered range) is answered at its
 * own version with UNSUPPORTED_VERSION (unsupported-response.ts) and an info log line; ApiVersions
 * gets KIP-511's v0 body with the supported ranges. Only what no codec covers (an unknown api key,
 * or a version newer than any spec Ferry knows) closes the connection, with a log line: there is
 * no response layout such a client could read (the response header's form and the body both
 * depend on the version), so any bytes sent would be misread. Kafka's broker closes the
 * connection in every one of these cases (a request it cannot parse, or of an API not enabled on
 * the listener), leaving the client a transport error; Ferry answers wherever it can encode one.
 * Anything else the protocol cannot make sense of (oversized or malformed frame) closes this
 * connection with a log line too; other connections and the broker are unaffected.
 *
 * Memory is bounded as Kafka bounds it by muting a channel:
 * - Responses: the bytes a connection holds for its client (claimed by responses being built, encoded
 *   responses waiting for their turn, and socket.writableLength, i.e. not yet taken by the kernel)
 *   are counted per connection and in the shared `responses` budget. While the connection's count
 *   is at sendQueueMaxBytes, or the broker's at its limit, further requests stay undispatched in
 *   `backlog` and the socket is paused; writes completing resume it. A connection holding nothing
 *   may always dispatch one request, so a full broker cannot starve a client that reads.
 * - Requests: a frame that arrives in pieces reserves its declared size in the shared `requests`
 *   budget (queued.max.request.bytes) until complete; while it cannot, reading pauses. The decoder
 *   itself holds only what has arrived.
 * - Time: a partly received request must complete within requestReceiveTimeoutMs of reading
 *   (time the broker itself paused reading does not count); a connection with no request being
 *   handled and no bytes in or out for idleTimeoutMs is closed. The server's sweep calls
 *   checkTimeouts().
 * Closing drops the backlog, the incomplete frame and every queued response, and the results of
 * handlers still running are discarded when they arrive.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameDecoder, frameWriter } from '../protocol/frame.js';
import { looksLikeTlsClientHello } from '../protocol/tls-sniff.js';
import { Reader } from '../protocol/primitives.js';
import { decodeRequestHeader, encodeResponseHeader, type RequestHeader } from '../protocol/headers.js';
import { API_TABLE, type ApiInfo } from '../protocol/messages/index.js';
import { ErrorCode } from '../protocol/errors.js';
import type { ApiRegistration, HandlerRegistry, RequestContext, ResponseBytes } from './handler-registry.js';
import { unsupportedResponse } from './unsupported-response.js';
import type { ByteBudget } from './limits.js';
import { usesTls, type Session } from './session.js';

const API_VERSIONS_KEY = 18;
const SASL_HANDSHAKE_KEY = 17;
const SASL_AUTHENTICATE_KEY = 36;

/** Kafka's sasl.server.max.receive.size default: the largest frame before authentication. */
const SASL_RECEIVE_BYTES_MAX = 512 * 1024;

/** What a client may send before it has authenticated on a SASL listener. */
const BEFORE_AUTHENTICATION = new Set([API_VERSIONS_KEY, SASL_HANDSHAKE_KEY, SASL_AUTHENTICATE_KEY]);

/**
 * Client quotas (src/security/quota RequestQuotaManager): told of every request at dispatch and
 * once handled; each answers how long to throttle its client (ms, 0: not at all).
 */
export interface RequestQuotas {
  /** At dispatch: the request's bytes (a Produce's against producer_byte_rate). */
  recordRequest(r: { session: Session; clientId: string | null; apiKey: number; requestBytes: number; nowMs: number }): number;
  /** Once handled: response bytes (Fetch) and handler time (request_percentage). */
  recordResponse(r: { session: Session; clientId: string | null; apiKey: number; responseBytes: number; handlerTimeMs: number; nowMs: number }): number;
}


export interface ConnectionOptions {
  frameBytesMax: number;
  /** Told when connections open and close (metrics). */
  onConnectionCount?: (delta: 1 | -1) => void;
  /** Requests being processed at once on this connection before reading pauses. */
  inFlightMax: number;
  /** socket.send.queue.max.bytes: response bytes one connection may hold before its further requests wait; -1: no limit. */
  sendQueueMaxBytes: number;
  /** request.receive.timeout.ms: how long a partly received request may take to arrive; -1: no limit. */
  requestReceiveTimeoutMs: number;
  /** connections.max.idle.ms: no request being handled and no bytes in or out for this long closes the connection; -1: never. */
  idleTimeoutMs: number;
  /** Client quotas; absent: no throttling. */
  quotas?: RequestQuotas;
}

export type MuteReason = 'connection' | 'broker' | 'quota';
export type TimeoutReason = 'idle' | 'receive';

/** What a connection shares with the others of its server. */
export interface ConnectionShared {
  /** queued.max.response.bytes: response bytes held by all connections. */
  responses: ByteBudget;
  /** queued.max.request.bytes: declared bytes of partly received requests on all connections. */
  requests: ByteBudget;
  /** Told when this connection starts (true) or stops (false) holding back requests. */
  onMuted(reason: MuteReason, muted: boolean): void;
  onTimedOut(reason: TimeoutReason): void;
}

interface Pending {
  header: RequestHeader;
  /** Encoded response frame as chunks (records are not copied), null for no response; undefined while still running. */
  frame?: Buffer[] | null;
  /** Bytes this response holds: what its handler claimed while building it, then its encoded size. */
  bytes: number;
}

export class Connection {
  private readonly decoder: FrameDecoder;
  /** Dispatched requests in order, each with its response once ready, until written to the socket. */
  private readonly queue: Pending[] = [];
  /** Frames read but not dispatched yet (muted, or at the in-flight limit). */
  private readonly backlog: Buffer[] = [];
  private readonly abort = new AbortController();
  private closed = false;
  private readingPaused = false;
  private pumping = false;
  /** Handlers still running. */
  private running = 0;
  /** Sum of `bytes` of the queue's entries. */
  private queuedBytes = 0;
  /** What this connection last added to shared.responses. */
  private reportedBytes = 0;
  /** Bytes of shared.requests reserved for the incomplete frame. */
  private reservedRequestBytes = 0;
  private waitingForRequestRoom = false;
  private muted: MuteReason | null = null;
  /** A quota throttle holds this connection's further requests until then (KIP-219: the client backs off too). */
  private throttledUntilMs = 0;
  private throttleTimer: NodeJS.Timeout | null = null;
  /** A failed SASL authentication: its answer is being sent, then the connection closes. */
  private ending = false;
  private firstBytesSeen = false;
  private lastActivityMs = Date.now();
  /** Since when the broker has been reading while holding an incomplete request; null when not. */
  private receivingSinceMs: number | null = null;
  private readonly wake = () => { if (!this.closed) { this.sync(); this.pump(); } };
  private readonly wakeForRequestRoom = () => { if (!this.closed) { this.reserveRequestBytes(); this.pump(); } };
  readonly log: Logger;

  constructor(
    private readonly socket: Socket,
    readonly id: number,
    private readonly registry: HandlerRegistry,
    private readonly options: ConnectionOptions,
    parentLog: Logger,
    private readonly onClose: (c: Connection) => void,
    private readonly shared: ConnectionShared,
    /** Listener, security protocol and principal of this connection. */
    readonly session: Session,
  ) {
    this.log = parentLog.child({ conn: id, remote: `${socket.remoteAddress}:${socket.remotePort}`, listener: session.listenerName });
    this.decoder = new FrameDecoder({ frameBytesMax: options.frameBytesMax });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => this.teardown());
    socket.on('drain', this.wake);
    options.onConnectionCount?.(1);
  }

  get remoteAddress(): string { return this.socket.remoteAddress ?? ''; }

  /** Response bytes this connection holds: claimed, encoded and queued, or in the socket's buffer. */
  get heldResponseBytes(): number {
    return this.closed ? 0 : this.queuedBytes + this.socket.writableLength;
  }

  close(reason: string, fields: Record<string, unknown> = {}, level: 'warn' | 'info' = 'warn'): void {
    if (this.closed) return;
    this.log[level]({ ...fields, reason }, 'closing connection');
    this.socket.destroy();
    this.teardown();
  }

  /** Closes the connection if a partly received request or idleness has lasted too long. */
  checkTimeouts(nowMs: number): void {
    if (this.closed) return;
    const { requestReceiveTimeoutMs: receiveMs, idleTimeoutMs: idleMs } = this.options;
    if (receiveMs > 0 && this.receivingSinceMs !== null && nowMs - this.receivingSinceMs >= receiveMs) {
      this.shared.onTimedOut('receive');
      this.close('request receive timeout', { timeoutMs: receiveMs, receivedBytes: this.decoder.bufferedBytes, declaredBytes: this.decoder.incompleteFrameBytes });
    } else if (idleMs > 0 && this.running === 0 && nowMs - this.lastActivityMs >= idleMs) {
      this.shared.onTimedOut('idle');
      this.close('idle', { idleMs: nowMs - this.lastActivityMs, limitMs: idleMs }, 'info');
    }
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.onConnectionCount?.(-1);
    if (this.throttleTimer) clearTimeout(this.throttleTimer);
    this.throttleTimer = null;
    this.abort.abort();
    // Release everything this connection holds; running handlers' results are dropped on arrival.
    this.backlog.length = 0;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.decoder.reset();
    this.shared.requests.add(-this.reservedRequestBytes);
    this.reservedRequestBytes = 0;
    this.shared.requests.cancelWait(this.wakeForRequestRoom);
    this.shared.responses.cancelWait(this.wake);
    this.setMuted(null);
    this.sync();
    this.onClose(this);
  }

  private onData(chunk: Buffer): void {
    this.lastActivityMs = Date.now();
    if (!this.firstBytesSeen) {
      this.firstBytesSeen = true;
      // A TLS client on a plaintext port would otherwise read as a 369 MB frame.
      if (looksLikeTlsClientHello(chunk) && !usesTls(this.session.securityProtocol)) {
        this.close('TLS handshake on a plaintext listener (the client uses security.protocol SSL or SASL_SSL; this listener is ' + this.session.securityProtocol + ')');
        return;
      }
    }
    if (this.ending) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.close('bad frame', { err: (err as Error).message });
      return;
    }
    // Before authentication a request may be small only (Kafka's sasl.server.max.receive.size), so
    // unauthenticated clients cannot make the broker hold socket.request.max.bytes each.
    if (this.session.sasl !== 'none' && this.session.sasl !== 'authenticated') {
      const declared = Math.max(this.decoder.incompleteFrameBytes, ...frames.map((f) => f.length));
      if (declared > SASL_RECEIVE_BYTES_MAX) {
        this.close('request before SASL authentication larger than 512 KiB', { declaredBytes: declared });
        return;
      }
    }
    // A frame completed: an incomplete one now is a new request, with its own receive time.
    if (frames.length > 0) this.receivingSinceMs = null;
    for (const f of frames) this.backlog.push(f);
    this.reserveRequestBytes();
    this.pump();
  }

  /** Keeps shared.requests' reservation equal to the incomplete frame's declared size. */
  private reserveRequestBytes(): void {
    const want = this.decoder.incompleteFrameBytes;
    this.waitingForRequestRoom = false;
    if (want === this.reservedRequestBytes) return;
    this.shared.requests.add(-this.reservedRequestBytes);
    this.reservedRequestBytes = 0;
    if (want === 0) return;
    if (this.shared.requests.tryTake(want)) {
      this.reservedRequestBytes = want;
    } else {
      this.waitingForRequestRoom = true;
      this.shared.requests.waitForRoom(this.wakeForRequestRoom);
    }
  }

  /** Dispatches backlog frames while the limits allow, then pauses or resumes reading. */
  private pump(): void {
    // A response completed synchronously inside a dispatch comes back here: let the outer loop go on.
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.dispatchBacklog();
    } finally {
      this.pumping = false;
    }
  }

  private dispatchBacklog(): void {
    while (this.backlog.length > 0 && !this.closed) {
      const blocked = this.dispatchBlocker();
      if (blocked !== null) {
        if (blocked !== 'in-flight') this.setMuted(blocked);
        if (blocked === 'broker') this.shared.responses.waitForRoom(this.wake);
        break;
      }
      this.setMuted(null);
      this.onFrame(this.backlog.shift()!);
    }
    if (this.closed) return;
    if (this.backlog.length === 0) this.setMuted(null);
    this.updateReading();
  }

  private dispatchBlocker(): 'in-flight' | MuteReason | null {
    if (this.queue.length >= this.options.inFlightMax) return 'in-flight';
    // While authenticating, one request at a time: each step depends on the one before.
    if (this.queue.length > 0 && this.session.sasl !== 'none' && this.session.sasl !== 'authenticated') return 'in-flight';
    if (this.throttledUntilMs > Date.now()) return 'quota';
    const held = this.heldResponseBytes;
    if (this.queue.length === 0 && held === 0) return null;
    if (this.options.sendQueueMaxBytes >= 0 && held >= this.options.sendQueueMaxBytes) return 'connection';
    if (!this.shared.responses.hasRoom()) return 'broker';
    return null;
  }

  private setMuted(reason: MuteReason | null): void {
    if (reason === this.muted) return;
    if (this.muted !== null) this.shared.onMuted(this.muted, false);
    this.muted = reason;
    if (reason !== null) this.shared.onMuted(reason, true);
  }

  private updateReading(): void {
    const pause = this.backlog.length > 0 || this.waitingForRequestRoom;
    if (pause && !this.readingPaused) {
      this.readingPaused = true;
      this.socket.pause();
    } else if (!pause && this.readingPaused) {
      this.readingPaused = false;
      this.socket.resume();
    }
    // The receive timeout runs only while the broker reads: its own pauses are not the client's fault.
    if (this.readingPaused || this.decoder.bufferedBytes === 0) this.receivingSinceMs = null;
    else this.receivingSinceMs ??= Date.now();
  }

  /** Reports this connection's held bytes to shared.responses. */
  private sync(): void {
    const held = this.heldResponseBytes;
    if (held !== this.reportedBytes) {
      this.shared.responses.add(held - this.reportedBytes);
      this.reportedBytes = held;
    }
  }

  private onFrame(frame: Buffer): void {
    if (this.ending) return;
    if (this.session.sasl === 'raw-tokens' && this.session.rawToken) {
      this.onRawToken(frame, this.session.rawToken);
      return;
    }
    const requestBytes = frame.length;
    const r = new Reader(frame);
    const header = decodeRequestHeader(r);
    if (r.error) {
      this.close('malformed request header', { err: r.error });
      return;
    }
    const api = API_TABLE.get(header.apiKey);
    if (!api || header.apiVersion < api.minVersion || header.apiVersion > api.maxVersion) {
      if (header.apiKey === API_VERSIONS_KEY) { this.answerApiVersionsFallback(header); return; }
      // No codec covers it: there is no response layout the client could read, so no answer at all.
      this.close(api ? 'api version newer than any Ferry knows' : 'unknown api key',
        { apiKey: header.apiKey, apiVersion: header.apiVersion, ...(api ? { api: api.name, known: `${api.minVersion}-${api.maxVersion}` } : {}) });
      return;
    }
    const reg = this.registry.get(header.apiKey);
    const log = this.log.child({ api: api.name, v: header.apiVersion, corr: header.correlationId, client: header.clientId });
    const refusal = this.authenticationRefusal(header.apiKey);
    if (refusal !== null) {
      this.close(refusal, { api: api.name, principal: `${this.session.principal.type}:${this.session.principal.name}` });
      return;
    }
    if (!reg || header.apiVersion < reg.minVersion || header.apiVersion > reg.maxVersion) {
      if (header.apiKey === API_VERSIONS_KEY) { this.answerApiVersionsFallback(header); return; }
      this.answerUnsupported(header, api, r, reg, log);
      return;
    }
    const request = api.decodeRequest(r, header.apiVersion);
    if (r.error) {
      this.close('malformed request body', { api: api.name, apiVersion: header.apiVersion, err: r.error });
      return;
    }
    const pending: Pending = { header, bytes: 0 };
    this.queue.push(pending);
    this.running++;
    // Counted before dispatch, so the next request already waits when this one is over quota.
    let dispatchThrottleMs = 0;
    if (this.options.quotas) {
      const nowMs = Date.now();
      dispatchThrottleMs = Math.ceil(this.options.quotas.recordRequest({ session: this.session, clientId: header.clientId, apiKey: header.apiKey, requestBytes, nowMs }));
      if (dispatchThrottleMs > 0) this.throttle(nowMs + dispatchThrottleMs);
    }
    const ctx: RequestContext = {
      header, connectionId: this.id, remoteAddress: this.remoteAddress, session: this.session, log, signal: this.abort.signal,
      responseBytes: this.responseBytesOf(pending),
    };
    let result: Promise<object | null>;
    const started = performance.now();
    try {
      result = Promise.resolve(reg.handler(ctx, request));
    } catch (err) {
      result = Promise.reject(err);
    }
    // Quotas count the handler's own (synchronous) time, as Kafka counts request-handler thread time.
    const handlerTimeMs = performance.now() - started;
    result.then(
      (response) => {
        this.running--;
        this.lastActivityMs = Date.now();
        if (this.closed) return;
        let frame: Buffer[] | null;
        try {
          frame = response === null ? null : this.encode(header, response);
          if (frame !== null && this.options.quotas) frame = this.applyQuotas(header, response!, frame, handlerTimeMs, dispatchThrottleMs);
        } catch (err) {
          // A response the codec cannot encode for this version is a broker bug: drop this client only.
          log.error({ err }, 'response encoding failed');
          this.close('response encoding failed', { api: api.name });
          return;
        }
        this.complete(pending, frame);
      },
      (err) => {
        this.running--;
        if (this.closed) return;
        log.error({ err }, 'request handler failed');
        this.close('handler failed', { api: api.name });
      },
    );
  }

  /** KIP-511: an ApiVersions this broker cannot serve gets the supported ranges in a v0 body, so the client can pick a version. */
  private answerApiVersionsFallback(header: RequestHeader): void {
    const pending: Pending = { header, bytes: 0 };
    this.queue.push(pending);
    this.complete(pending, this.encode({ ...header, apiVersion: 0 }, {
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      apiKeys: this.registry.list().map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })),
    }));
  }

  /**
   * A request Ferry has a codec for but does not serve (API not registered or disabled, or a
   * version outside the registered range): answered at its own version with UNSUPPORTED_VERSION
   * (unsupported-response.ts), the handler never runs, the connection stays open.
   */
  private answerUnsupported(header: RequestHeader, api: ApiInfo, r: Reader, reg: ApiRegistration | undefined, log: Logger): void {
    const request = api.decodeRequest(r, header.apiVersion);
    log.info({ served: reg ? `${reg.minVersion}-${reg.maxVersion}` : 'no' }, reg ? 'api version not served: answering UNSUPPORTED_VERSION' : 'api not served: answering UNSUPPORTED_VERSION');
    const pending: Pending = { header, bytes: 0 };
    this.queue.push(pending);
    let frame: Buffer[];
    try {
      frame = this.encode(header, unsupportedResponse(api, header.apiVersion, r.error ? null : request));
    } catch (err) {
      log.error({ err }, 'unsupported-version response encoding failed');
      this.close('response encoding failed', { api: api.name });
      return;
    }
    this.complete(pending, frame);
  }

  /** Why a request may not be served in this session's SASL state (null: it may). */
  private authenticationRefusal(apiKey: number): string | null {
    const s = this.session;
    switch (s.sasl) {
      case 'none': return null;
      case 'handshake':
      case 'authenticate':
        return BEFORE_AUTHENTICATION.has(apiKey) ? null : 'request before SASL authentication completed';
      case 'raw-tokens': return null;
      case 'failed': return 'SASL authentication failed';
      case 'authenticated':
        if (s.expiresAtMs !== null && Date.now() > s.expiresAtMs && apiKey !== SASL_HANDSHAKE_KEY && apiKey !== SASL_AUTHENTICATE_KEY) {
          return 'SASL session expired without re-authentication (connections.max.reauth.ms or token expiry)';
        }
        return null;
    }
  }

  /** After SaslHandshake v0: a frame is a bare SASL token, answered with a bare (size-prefixed) token. */
  private onRawToken(token: Buffer, handle: (token: Buffer) => Promise<Buffer | null>): void {
    const pending: Pending = { header: { apiKey: SASL_AUTHENTICATE_KEY, apiVersion: 0, correlationId: -1, clientId: null }, bytes: 0 };
    this.queue.push(pending);
    this.running++;
    handle(token).then(
      (reply) => {
        this.running--;
        if (this.closed) return;
        if (this.session.sasl !== 'raw-tokens') this.session.rawToken = null;
        if (reply === null) {
          this.close('SASL authentication failed', { mechanism: this.session.mechanism });
          return;
        }
        const size = Buffer.alloc(4);
        size.writeInt32BE(reply.length);
        this.complete(pending, [size, reply]);
      },
      (err) => {
        this.running--;
        this.log.error({ err }, 'SASL token handler failed');
        this.close('SASL token handler failed');
      },
    );
  }

  /**
   * Records the request with the client quotas; when its client is over a quota, the response says
   * for how long (throttle_time_ms) and this connection holds its further requests that long.
   */
  private applyQuotas(header: RequestHeader, response: object, frame: Buffer[], handlerTimeMs: number, dispatchThrottleMs: number): Buffer[] {
    let responseBytes = 0;
    for (const c of frame) responseBytes += c.length;
    const nowMs = Date.now();
    const after = this.options.quotas!.recordResponse({ session: this.session, clientId: header.clientId, apiKey: header.apiKey, responseBytes, handlerTimeMs, nowMs });
    const throttleMs = Math.max(dispatchThrottleMs, Math.ceil(after));
    if (!(throttleMs > 0)) return frame;
    this.throttle(nowMs + throttleMs);
    const body = response as { throttleTimeMs?: number };
    if (typeof body.throttleTimeMs !== 'number' || body.throttleTimeMs >= throttleMs) return frame;
    return this.encode(header, { ...body, throttleTimeMs: throttleMs });
  }

  private throttle(untilMs: number): void {
    if (untilMs <= this.throttledUntilMs) return;
    this.throttledUntilMs = untilMs;
    if (this.throttleTimer) clearTimeout(this.throttleTimer);
    this.throttleTimer = setTimeout(() => { this.throttleTimer = null; this.throttledUntilMs = 0; this.wake(); }, Math.max(1, untilMs - Date.now()));
    this.throttleTimer.unref();
  }

  /** The send-queue room a request's handler may claim (see RequestContext.responseBytes). */
  private responseBytesOf(pending: Pending): ResponseBytes {
    const open = () => !this.closed && pending.frame === undefined;
    return {
      claim: (bytes) => {
        if (!open() || !(bytes > 0)) return 0;
        const own = this.options.sendQueueMaxBytes < 0 ? Infinity : this.options.sendQueueMaxBytes - this.heldResponseBytes;
        const granted = Math.floor(Math.max(0, Math.min(bytes, own, this.shared.responses.room())));
        this.hold(pending, granted);
        return granted;
      },
      adjust: (delta) => {
        if (!open() || !Number.isFinite(delta)) return;
        this.hold(pending, Math.max(delta, -pending.bytes));
      },
    };
  }

  private hold(pending: Pending, delta: number): void {
    if (delta === 0) return;
    pending.bytes += delta;
    this.queuedBytes += delta;
    this.sync();
  }

  /** A response is ready: it replaces its claim with its encoded size and goes out in order. */
  private complete(pending: Pending, frame: Buffer[] | null): void {
    let size = 0;
    if (frame) for (const c of frame) size += c.length;
    this.hold(pending, size - pending.bytes);
    pending.frame = frame;
    this.flush();
  }

  private encode(header: RequestHeader, body: object): Buffer[] {
    const api = API_TABLE.get(header.apiKey)!;
    return frameWriter((w) => {
      encodeResponseHeader(w, api.responseHeaderVersion(header.apiVersion), header.correlationId);
      api.encodeResponse(w, header.apiVersion, body);
    }).toChunks();
  }

  private flush(): void {
    if (this.queue.length && this.queue[0].frame !== undefined) {
      this.socket.cork();
      while (this.queue.length && this.queue[0].frame !== undefined) {
        const p = this.queue.shift()!;
        // From here the bytes are counted in socket.writableLength until the kernel takes them.
        this.queuedBytes -= p.bytes;
        p.bytes = 0;
        if (!p.frame || this.closed) continue;
        const last = p.frame.length - 1;
        for (let i = 0; i < last; i++) this.socket.write(p.frame[i]!);
        if (last >= 0) this.socket.write(p.frame[last]!, this.onWritten);
      }
      this.socket.uncork();
    }
    if (this.session.sasl === 'failed' && this.queue.length === 0 && !this.ending && !this.closed) this.endAfterFailedAuthentication();
    this.sync();
    this.pump();
  }

  /** Kafka closes a connection whose authentication failed once the failure answer is out. */
  private endAfterFailedAuthentication(): void {
    this.ending = true;
    this.backlog.length = 0;
    this.log.info({ mechanism: this.session.mechanism }, 'closing connection: SASL authentication failed');
    this.socket.end();
    // A client that never reads must not hold the socket open.
    setTimeout(() => this.socket.destroy(), 5_000).unref();
  }

  /** A response reached the kernel. */
  private readonly onWritten = (err?: Error | null) => {
    if (err || this.closed) return;
    this.lastActivityMs = Date.now();
    this.sync();
    this.pump();
  };
}
