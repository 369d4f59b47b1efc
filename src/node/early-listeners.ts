/**
 * The broker's ports, bound before anything touches the data directory: a start that cannot
 * listen (port in use, address not on this machine, port below 1024 without root) fails in
 * milliseconds, before the metadata directory is locked and the WAL (2 GiB by default) is
 * allocated.
 *
 * The Kafka port is held by a placeholder socket that refuses connections (closes them at once)
 * until the broker has recovered its data; it is handed over to the real listener right before
 * that binds it. The ops HTTP server (metrics.listener) starts for real: /healthz answers during
 * recovery, /readyz stays 503 until the broker is ready.
 */
import { createServer, type Server } from 'node:net';
import type { BrokerMetrics } from '../ops/metrics.js';
import { startMetricsListener } from '../ops/metrics-wiring.js';
import type { OpsHttpServer } from '../ops/http-server.js';

/** A listener that could not bind; the message is one readable line naming the config key. */
export class ListenError extends Error {
  readonly code: string;
  constructor(what: string, address: string, cause: NodeJS.ErrnoException) {
    const code = cause.code ?? 'UNKNOWN';
    const why = code === 'EADDRINUSE' ? 'the port is already in use (another broker or program listens there)'
      : code === 'EADDRNOTAVAIL' ? 'the address is not one of this machine\'s'
        : code === 'EACCES' ? 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)'
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'the host name does not resolve'
            : cause.message;
    super(`cannot listen on ${address} (${what}): ${why}`, { cause });
    this.name = 'ListenError';
    this.code = code;
  }
}

function hostPort(host: string, port: number): string { return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`; }

function bindPlaceholder(host: string, port: number): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => { server.off('error', reject); resolve(server); });
  });
}

export interface EarlyAddress { host: string; port: number }

export class EarlyListeners {
  private placeholders: Server[];

  private constructor(
    private readonly addresses: readonly EarlyAddress[],
    placeholders: Server[],
    /** The started ops HTTP server (null when metrics.listener is unset). */
    readonly ops: OpsHttpServer | null,
  ) {
    this.placeholders = placeholders;
  }

  /**
   * Binds `listeners` (a placeholder; port 0 needs none: any free port will do later) and starts
   * the ops HTTP server on `metricsListener`. Throws ListenError.
   */
  static async bind(addresses: readonly EarlyAddress[], metricsListener: string | null, metrics: BrokerMetrics, readiness: () => boolean): Promise<EarlyListeners> {
    const placeholders: Server[] = [];
    for (const { host, port } of addresses) {
      if (port === 0) continue;
      try {
        placeholders.push(await bindPlaceholder(host, port));
      } catch (err) {
        await closeAll(placeholders);
        throw new ListenError('listeners', hostPort(host, port), err as NodeJS.ErrnoException);
      }
    }
    let ops: OpsHttpServer | null;
    try {
      ops = await startMetricsListener(metricsListener, metrics, readiness);
    } catch (err) {
      await closeAll(placeholders);
      const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
      throw e.code ? new ListenError('metrics.listener', metricsListener ?? '', e) : err;
    }
    return new EarlyListeners(addresses, placeholders, ops);
  }

  /** Frees the Kafka ports and runs `listen` (the real listeners binding them). Throws ListenError. */
  async handOver<T>(listen: () => Promise<T>): Promise<T> {
    const held = this.placeholders;
    this.placeholders = [];
    await closeAll(held);
    try {
      return await listen();
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
      const at = this.addresses.find((a) => a.port === e.port) ?? this.addresses[0]!;
      throw e.code ? new ListenError('listeners', hostPort(at.host, at.port), e) : err;
    }
  }

  /** A failed start: free the ports and stop the ops server. */
  async close(): Promise<void> {
    const held = this.placeholders;
    this.placeholders = [];
    await closeAll(held);
    await this.ops?.close().catch(() => {});
  }
}

function closeAll(servers: Server[]): Promise<void> {
  return Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => {});
}
