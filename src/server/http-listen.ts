/**
 * Binds an HTTP(S) server and gives back what callers print and stop: the bound address, a URL for
 * it, and a close() that ends idle keep-alive connections too (a scraper's or client's open
 * connection must not hold a stopping broker).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ListeningHttp {
  readonly host: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:9644, https://[::1]:8081 */
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on host:port (0: a free port); rejects with the listen error (EADDRINUSE, EACCES...). */
export async function listenHttp(server: Server, host: string, port: number, scheme: 'http' | 'https' = 'http'): Promise<ListeningHttp> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    host: addr.address,
    port: addr.port,
    url: `${scheme}://${hostForUrl}:${addr.port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
