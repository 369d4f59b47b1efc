/**
 * Real TLS servers and clients for the TLS tests. A server is started one of two ways: with
 * tls.createServer (the provider's serverOptions, setSecureContext on reload), or as
 * src/server/server.ts does it, a net server that wraps each accepted socket in a server TLSSocket
 * (that path never gets tls.Server's `authorized` check, so principalOf must do it). Either way each
 * accepted client gets one line back, "hello <principal>", or is closed when principalOf refuses it.
 */
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { connect, createSecureContext, createServer, TLSSocket, type ConnectionOptions, type PeerCertificate, type SecureContext } from 'node:tls';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { formatPrincipal } from '../../../src/server/session.js';
import type { TlsContextProvider, TlsListenerSettings } from '../../../src/security/tls/tls-context.js';

export type ServerStyle = 'tls.Server' | 'wrapped';
export const SERVER_STYLES: readonly ServerStyle[] = ['tls.Server', 'wrapped'];

export interface TestServer {
  readonly port: number;
  /** principalOf refusals, in order. */
  readonly refusals: string[];
  close(): Promise<void>;
}

export async function startServer(provider: TlsContextProvider, style: ServerStyle): Promise<TestServer> {
  const refusals: string[] = [];
  const greet = (socket: TLSSocket): void => {
    try {
      socket.end(`hello ${formatPrincipal(provider.principalOf(socket))}\n`);
    } catch (err) {
      refusals.push((err as Error).message);
      socket.destroy();
    }
  };
  let server: NetServer;
  if (style === 'tls.Server') {
    const tlsServer = createServer(provider.serverOptions(), greet);
    provider.onReload((opts) => tlsServer.setSecureContext(opts));
    tlsServer.on('tlsClientError', () => { /* the client sees it */ });
    server = tlsServer;
  } else {
    const opts = provider.serverOptions();
    let context: SecureContext = createSecureContext(opts);
    provider.onReload((o) => { context = createSecureContext({ ...opts, ...o }); });
    server = createNetServer((raw) => {
      const socket = new TLSSocket(raw, { isServer: true, secureContext: context, requestCert: opts.requestCert, rejectUnauthorized: opts.rejectUnauthorized });
      socket.on('error', () => socket.destroy());
      raw.on('error', () => raw.destroy());
      socket.once('secure', () => greet(socket));
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port, refusals,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); }),
  };
}

export type ClientResult =
  | { ok: true; line: string; peer: PeerCertificate; protocol: string | null; cipher: string }
  | { ok: false; error: string };

/** Connects, waits for the server's line (or the end of the connection), then closes. */
export function tryConnect(port: number, options: ConnectionOptions, timeoutMs = 5000): Promise<ClientResult> {
  return new Promise((resolve) => {
    let done = false;
    let data = '';
    let peer: PeerCertificate | null = null;
    let protocol: string | null = null;
    let cipher = '';
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
    const finish = (r: ClientResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, error: `no answer in ${timeoutMs} ms` }), timeoutMs);
    socket.on('secureConnect', () => {
      peer = socket.getPeerCertificate();
      protocol = socket.getProtocol();
      cipher = socket.getCipher().name;
    });
    socket.on('data', (d: Buffer) => {
      data += d.toString('utf8');
      const nl = data.indexOf('\n');
      if (nl >= 0 && peer) finish({ ok: true, line: data.slice(0, nl), peer, protocol, cipher });
    });
    socket.on('error', (err) => finish({ ok: false, error: `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim() }));
    socket.on('close', () => finish({ ok: false, error: 'closed without an answer' }));
  });
}

/** A pino logger whose lines the test can read. */
export function recordingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb(); } });
  return { log: pino({ level: 'info' }, sink), lines };
}

export function settings(overrides: Partial<TlsListenerSettings>): TlsListenerSettings {
  return {
    keystoreType: 'PEM',
    keystoreLocation: null,
    keystoreCertificateChain: null,
    keystoreKey: null,
    keyPassword: null,
    truststoreLocation: null,
    truststoreCertificates: null,
    clientAuth: 'none',
    enabledProtocols: ['TLSv1.2', 'TLSv1.3'],
    cipherSuites: [],
    principalMappingRules: 'DEFAULT',
    ...overrides,
  };
}

/** Lines of base64 from a PEM block: what must never show up in an error or a log. */
export function pemBody(pem: string): string[] {
  return pem.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));
}
