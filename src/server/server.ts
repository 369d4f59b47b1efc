/**
 * The TCP listener: accepts connections up to connections.max in all and max.connections.per.ip
 * (or its override) per client address, and hands each to a Connection. Refusals are logged at
 * most once per REFUSAL_LOG_INTERVAL_MS per reason (floods would otherwise flood the log) and
 * counted through `events`.
 *
 * It owns what the connections share: the broker-wide budgets of queued response bytes
 * (queued.max.response.bytes) and of partly received request bytes (queued.max.request.bytes),
 * and a sweep that closes connections past request.receive.timeout.ms or connections.max.idle.ms.
 */
import { createServer, isIP, type Server as NetServer, type Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import type { Logger } from 'pino';
import { Connection, type ConnectionOptions, type ConnectionShared, type MuteReason, type TimeoutReason } from './connection.js';
import type { HandlerRegistry } from './handler-registry.js';
import { ByteBudget, RateLimitedWarn, normalizeAddress } from './limits.js';

export type RefusalReason = 'connections_max' | 'per_ip';

/** Counters the server feeds (metrics); every hook is optional. */
export interface ServerEvents {
  connectionRefused?(reason: RefusalReason): void;
  connectionTimedOut?(reason: TimeoutReason): void;
  /** A connection began holding back requests because of its own or the broker's queued response bytes. */
  connectionMuted?(reason: MuteReason): void;
}

export interface ServerOptions extends ConnectionOptions {
  host: string;
  port: number;
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
/** The timeout sweep runs this often at most, and at least every quarter of the shortest timeout. */
const SWEEP_MAX_INTERVAL_MS = 1_000;

export class KafkaServer {
  private readonly server: NetServer;
  private readonly connections = new Set<Connection>();
  private readonly perIp = new Map<string, number>();
  private readonly ipLimits = new Map<string, number>();
  private readonly shared: ConnectionShared;
  private readonly refusalLogs: Record<RefusalReason, RateLimitedWarn>;
  private muted = 0;
  private sweep: NodeJS.Timeout | null = null;
  private nextId = 1;

  constructor(private readonly registry: HandlerRegistry, private readonly options: ServerOptions, private readonly log: Logger) {
    this.server = createServer((socket) => this.accept(socket));
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
    };
    for (const [host, max] of options.maxConnectionsPerIpOverrides ?? []) if (isIP(host)) this.ipLimits.set(normalizeAddress(host), max);
  }

  private accept(socket: Socket): void {
    const ip = normalizeAddress(socket.remoteAddress);
    if (this.connections.size >= this.options.connectionsMax) {
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
    const conn = new Connection(socket, this.nextId++, this.registry, this.options, this.log, (c) => this.release(c, ip), this.shared);
    this.connections.add(conn);
  }

  private refuse(socket: Socket, reason: RefusalReason, fields: Record<string, unknown>, msg: string): void {
    this.options.events?.connectionRefused?.(reason);
    this.refusalLogs[reason].warn(fields, msg);
    socket.destroy();
  }

  private release(c: Connection, ip: string): void {
    if (!this.connections.delete(c)) return;
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n > 0) this.perIp.set(ip, n); else this.perIp.delete(ip);
  }

  async listen(): Promise<{ host: string; port: number }> {
    await this.resolveOverrideHosts();
    const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        if (addr && typeof addr === 'object') resolve({ host: addr.address, port: addr.port });
        else resolve({ host: this.options.host, port: this.options.port });
      });
    });
    this.startSweep();
    return address;
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

  get connectionCount(): number { return this.connections.size; }

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
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.connections]) c.close('broker shutting down');
    await closed;
  }
}
