/**
 * The Kafka listeners (one per entry of `listeners`, each with its security protocol): accepts connections up to connections.max in all and max.connections.per.ip
 * (or its override) per client address, and hands each to a Connection. Refusals are logged at
 * most once per REFUSAL_LOG_INTERVAL_MS per reason (floods would otherwise flood the log) and
 * counted through `events`.
 *
 * It owns what the connections share: the broker-wide budgets of queued response bytes
 * (queued.max.response.bytes) and of partly received request bytes (queued.max.request.bytes),
 * and a sweep that closes connections past request.receive.timeout.ms or connections.max.idle.ms.
 */
import { createServer, isIP, type Server as NetServer, type Socket } from 'node:net';
import { TLSSocket, createSecureContext, type SecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import { lookup } from 'node:dns/promises';
import type { Logger } from 'pino';
import { Connection, type ConnectionOptions, type ConnectionShared, type MuteReason, type TimeoutReason } from './connection.js';
import type { HandlerRegistry } from './handler-registry.js';
import { ByteBudget, RateLimitedWarn, normalizeAddress } from './limits.js';
import { newSession, usesTls, ANONYMOUS, type KafkaPrincipal, type SecurityProtocol } from './session.js';

export type RefusalReason = 'connections_max' | 'per_ip' | 'creation_rate';

/** A TLS listener's certificates (src/security/tls), reloaded when their files change. */
export interface ListenerTls {
  serverOptions(): TlsOptions;
  onReload(cb: (opts: SecureContextOptions) => void): void;
  /** The principal of a client certificate (after ssl.principal.mapping.rules); ANONYMOUS without one. */
  principalOf(socket: TLSSocket): KafkaPrincipal;
}

export interface ListenerOptions {
  /** The listener name (listeners, upper case). */
  name: string;
  protocol: SecurityProtocol;
  host: string;
  port: number;
  /** Required for SSL and SASL_SSL. */
  tls?: ListenerTls;
  /** Connection creation rate (max.connection.creation.rate, per-address quotas): false closes the connection on accept. */
  admit?(ip: string, nowMs: number): boolean;
}

/** Counters the server feeds (metrics); every hook is optional. */
export interface ServerEvents {
  connectionRefused?(reason: RefusalReason): void;
  /** A TLS handshake failed (plaintext client, untrusted or missing client certificate, old protocol). */
  tlsHandshakeFailed?(listener: string): void;
  connectionTimedOut?(reason: TimeoutReason): void;
  /** A connection began holding back requests because of its own or the broker's queued response bytes. */
  connectionMuted?(reason: MuteReason): void;
}

export interface ServerOptions extends ConnectionOptions {
  /** The listeners; absent: one PLAINTEXT listener on host:port. */
  listeners?: ListenerOptions[];
  host?: string;
  port?: number;
  connectionsMax: number;
  /** max.connections.per.ip. */
  maxConnectionsPerIp: number;
  /** max.connections.per.ip.overrides: IP address or host name -> cap (names are resolved at listen()). */
  maxConnectionsPerIpOverrides?: ReadonlyMap<string, number>;
  /** queued.max.response.bytes: response bytes held for all connections before they stop dispatching; -1: no limit. */
  queuedMaxResponseBytes: number;
  /** queued.max.request.bytes: declared bytes of partly received requests on all connections; -1: no limit. */
  queuedMaxRequestBytes: number;
  events?: ServerEvents;
}

/** What the server holds right now, for gauges and tests. */
export interface ServerStats {
  connections: number;
  /** Response bytes held for clients (claimed, queued, or in socket buffers). */
  queuedResponseBytes: number;
  /** The most queuedResponseBytes has been since start. */
  queuedResponsePeakBytes: number;
  /** Declared bytes reserved by partly received requests. */
  receivingRequestBytes: number;
  /** The most receivingRequestBytes has been since start. */
  receivingRequestPeakBytes: number;
  /** Connections holding back requests because of queued response bytes. */
  mutedConnections: number;
}

const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** A TLS handshake must complete within this (or request.receive.timeout.ms if shorter). */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

interface BoundListener {
  options: ListenerOptions;
  server: NetServer;
  /** The current TLS context (replaced when certificates are reloaded). */
  secure: { context: SecureContext; requestCert: boolean; rejectUnauthorized: boolean } | null;
}
/** The timeout sweep runs this often at most, and at least every quarter of the shortest timeout. */
const SWEEP_MAX_INTERVAL_MS = 1_000;

export class KafkaServer {
  private readonly listeners: BoundListener[];
  private readonly connections = new Set<Connection>();
  private readonly perIp = new Map<string, number>();
  private readonly ipLimits = new Map<string, number>();
  private readonly shared: ConnectionShared;
  private readonly refusalLogs: Record<RefusalReason, RateLimitedWarn>;
  private muted = 0;
  private sweep: NodeJS.Timeout | null = null;
  private nextId = 1;

  constructor(private readonly registry: HandlerRegistry, private readonly options: ServerOptions, private readonly log: Logger) {
    const specs = options.listeners ?? [{ name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: options.host ?? 'localhost', port: options.port ?? 9092 }];
    this.listeners = specs.map((spec) => this.makeListener(spec));
    const events = options.events ?? {};
    this.shared = {
      responses: new ByteBudget(options.queuedMaxResponseBytes),
      requests: new ByteBudget(options.queuedMaxRequestBytes),
      onMuted: (reason, muted) => {
        this.muted += muted ? 1 : -1;
        if (muted) events.connectionMuted?.(reason);
      },
      onTimedOut: (reason) => events.connectionTimedOut?.(reason),
    };
    this.refusalLogs = {
      connections_max: new RateLimitedWarn(log, REFUSAL_LOG_INTERVAL_MS),
      per_ip: new RateLimitedWarn(log, REFUSAL_LOG_INTERVAL_MS),
      creation_rate: new RateLimitedWarn(log, REFUSAL_LOG_INTERVAL_MS),
    };
    this.tlsFailureLog = new RateLimitedWarn(log, REFUSAL_LOG_INTERVAL_MS);
    for (const [host, max] of options.maxConnectionsPerIpOverrides ?? []) if (isIP(host)) this.ipLimits.set(normalizeAddress(host), max);
  }

  private readonly tlsFailureLog: RateLimitedWarn;

  private makeListener(spec: ListenerOptions): BoundListener {
    const bound: BoundListener = { options: spec, server: createServer((socket) => this.accept(bound, socket)), secure: null };
    const tls = usesTls(spec.protocol);
    if (tls) {
      if (!spec.tls) throw new Error(`listener ${spec.name} (${spec.protocol}) has no TLS settings`);
      const opts = spec.tls.serverOptions();
      const secure = (o: SecureContextOptions) => ({ context: createSecureContext(o), requestCert: opts.requestCert === true, rejectUnauthorized: opts.rejectUnauthorized !== false });
      bound.secure = secure(opts);
      spec.tls.onReload((o) => {
        try {
          bound.secure = secure({ ...opts, ...o });
          this.log.info({ listener: spec.name }, 'TLS certificates reloaded');
        } catch (err) {
          this.log.warn({ listener: spec.name, err: (err as Error).message }, 'reloaded TLS certificates rejected; keeping the previous ones');
        }
      });
    }
    return bound;
  }

  private accept(listener: BoundListener, socket: Socket): void {
    const ip = normalizeAddress(socket.remoteAddress);
    if (listener.options.admit && !listener.options.admit(ip, Date.now())) {
      this.refuse(socket, 'creation_rate', { remote: ip, listener: listener.options.name }, 'connection creation rate (max.connection.creation.rate or connection_creation_rate quota) exceeded; refusing');
      return;
    }
    if (this.connections.size + this.handshaking >= this.options.connectionsMax) {
      this.refuse(socket, 'connections_max', { remote: ip, max: this.options.connectionsMax }, 'connection limit (connections.max) reached; refusing');
      return;
    }
    const held = this.perIp.get(ip) ?? 0;
    const ipMax = this.ipLimits.get(ip) ?? this.options.maxConnectionsPerIp;
    if (held >= ipMax) {
      this.refuse(socket, 'per_ip', { remote: ip, max: ipMax }, 'connection limit per address (max.connections.per.ip) reached; refusing');
      return;
    }
    this.perIp.set(ip, held + 1);
    const { name, protocol } = listener.options;
    if (listener.secure === null) {
      this.open(socket, newSession(name, protocol, ip), ip);
      return;
    }
    // The address counts from accept; the connection starts once the TLS handshake is done.
    this.handshaking++;
    const { context, requestCert, rejectUnauthorized } = listener.secure;
    const tlsSocket = new TLSSocket(socket, { isServer: true, secureContext: context, requestCert, rejectUnauthorized });
    const receiveMs = this.options.requestReceiveTimeoutMs;
    const timer = setTimeout(() => fail(new Error('TLS handshake timed out')), receiveMs > 0 ? Math.min(receiveMs, TLS_HANDSHAKE_TIMEOUT_MS) : TLS_HANDSHAKE_TIMEOUT_MS);
    timer.unref();
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      this.handshaking--;
      clearTimeout(timer);
      return true;
    };
    const fail = (err: Error): void => {
      if (!settle()) return;
      this.releaseAddress(ip);
      this.options.events?.tlsHandshakeFailed?.(name);
      this.tlsFailureLog.warn({ remote: ip, listener: name, err: err.message }, 'TLS handshake failed (a plaintext client on a TLS port, an untrusted or missing client certificate, or an old TLS version)');
      tlsSocket.destroy();
      socket.destroy();
    };
    tlsSocket.once('error', fail);
    socket.once('close', () => fail(new Error('closed during the TLS handshake')));
    tlsSocket.once('secure', () => {
      if (!settle()) return;
      tlsSocket.off('error', fail);
      if (this.closing) { tlsSocket.destroy(); this.releaseAddress(ip); return; }
      let principal: KafkaPrincipal;
      try {
        principal = listener.options.tls!.principalOf(tlsSocket) ?? ANONYMOUS;
      } catch (err) {
        // ssl.client.auth=requested: a certificate that does not verify is refused here.
        settled = false;
        this.handshaking++;
        fail(err as Error);
        return;
      }
      this.open(tlsSocket, newSession(name, protocol, ip, principal), ip);
    });
  }

  private handshaking = 0;
  private closing = false;

  private open(socket: Socket, session: ReturnType<typeof newSession>, ip: string): void {
    const conn = new Connection(socket, this.nextId++, this.registry, this.options, this.log, (c) => this.release(c, ip), this.shared, session);
    this.connections.add(conn);
  }

  private refuse(socket: Socket, reason: RefusalReason, fields: Record<string, unknown>, msg: string): void {
    this.options.events?.connectionRefused?.(reason);
    this.refusalLogs[reason].warn(fields, msg);
    socket.destroy();
  }

  private release(c: Connection, ip: string): void {
    if (!this.connections.delete(c)) return;
    this.releaseAddress(ip);
  }

  private releaseAddress(ip: string): void {
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n > 0) this.perIp.set(ip, n); else this.perIp.delete(ip);
  }

  /** Binds every listener; returns the first one's address (see listenAll). */
  async listen(): Promise<{ host: string; port: number }> {
    return (await this.listenAll())[0]!;
  }

  /** Binds every listener; their addresses in order (port 0 resolved to the port bound). */
  async listenAll(): Promise<{ name: string; host: string; port: number }[]> {
    await this.resolveOverrideHosts();
    const out: { name: string; host: string; port: number }[] = [];
    for (const l of this.listeners) {
      out.push(await new Promise<{ name: string; host: string; port: number }>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException & { port?: number }) => { err.port ??= l.options.port; reject(err); };
        l.server.once('error', onError);
        l.server.listen(l.options.port, l.options.host, () => {
          l.server.off('error', onError);
          const addr = l.server.address();
          if (addr && typeof addr === 'object') resolve({ name: l.options.name, host: addr.address, port: addr.port });
          else resolve({ name: l.options.name, host: l.options.host, port: l.options.port });
        });
      }).catch(async (err) => {
        await Promise.all(this.listeners.map((x) => new Promise<void>((r) => (x.server.listening ? x.server.close(() => r()) : r()))));
        throw err;
      }));
    }
    this.startSweep();
    return out;
  }

  /** Override entries naming hosts apply to every address the name resolves to now (as Kafka does). */
  private async resolveOverrideHosts(): Promise<void> {
    for (const [host, max] of this.options.maxConnectionsPerIpOverrides ?? []) {
      if (isIP(host)) continue;
      try {
        for (const a of await lookup(host, { all: true })) this.ipLimits.set(normalizeAddress(a.address), max);
      } catch (err) {
        this.log.warn({ host, err: (err as Error).message }, 'max.connections.per.ip.overrides: cannot resolve host; entry ignored');
      }
    }
  }

  private startSweep(): void {
    const timeouts = [this.options.requestReceiveTimeoutMs, this.options.idleTimeoutMs].filter((t) => t > 0);
    if (timeouts.length === 0) return;
    const every = Math.max(1, Math.min(SWEEP_MAX_INTERVAL_MS, Math.floor(Math.min(...timeouts) / 4)));
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const c of [...this.connections]) c.checkTimeouts(now);
    }, every);
    this.sweep.unref();
  }

  get connectionCount(): number { return this.connections.size + this.handshaking; }

  get stats(): ServerStats {
    return {
      connections: this.connections.size,
      queuedResponseBytes: this.shared.responses.usedBytes,
      queuedResponsePeakBytes: this.shared.responses.peakBytes,
      receivingRequestBytes: this.shared.requests.usedBytes,
      receivingRequestPeakBytes: this.shared.requests.peakBytes,
      mutedConnections: this.muted,
    };
  }

  /** Stop accepting, then close every connection. */
  async close(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
    this.closing = true;
    const closed = Promise.all(this.listeners.map((l) => new Promise<void>((resolve) => (l.server.listening ? l.server.close(() => resolve()) : resolve()))));
    for (const c of [...this.connections]) c.close('broker shutting down');
    await closed;
  }
}
