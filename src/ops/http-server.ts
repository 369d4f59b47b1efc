/**
 * The operations HTTP endpoint (config key metrics.listener):
 *   GET /metrics  Prometheus text exposition of BrokerMetrics
 *   GET /healthz  200 while the process runs (liveness)
 *   GET /readyz   200 when readiness() is true (registered, serving its partitions), else 503
 * Anything else is 404; methods other than GET/HEAD are 405.
 */
import { createServer, type Server } from 'node:http';
import { listenHttp, type ListeningHttp } from '../server/http-listen.js';
import type { BrokerMetrics } from './metrics.js';

export interface OpsHttpServerOptions {
  host: string;
  /** 0 picks a free port (see `port` on the result). */
  port: number;
  metrics: BrokerMetrics;
  readiness: () => boolean;
}

export type OpsHttpServer = ListeningHttp;

export async function startOpsHttpServer(opts: OpsHttpServerOptions): Promise<OpsHttpServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      let ready = false;
      try { ready = opts.readiness(); } catch { ready = false; }
      opts.metrics.setReady(ready);
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
    } else if (path === '/metrics') {
      let ready = false;
      try { ready = opts.readiness(); } catch { ready = false; }
      opts.metrics.setReady(ready);
      opts.metrics.scrape().then(
        (text) => res.writeHead(200, { 'content-type': opts.metrics.contentType }).end(text),
        (err) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${(err as Error).message}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz, /readyz\n');
    }
  });
  // Scrapers keep connections open; do not let them hold the process at shutdown.
  server.keepAliveTimeout = 5_000;
  return listenHttp(server, opts.host, opts.port);
}
