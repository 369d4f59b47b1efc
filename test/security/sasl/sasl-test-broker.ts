/**
 * A small broker on a real socket for the SASL tests: the server's own Connection (which gates
 * requests on the session's SASL state and serves raw v0 tokens) with ApiVersions, a Metadata
 * naming only itself (enough for clients to connect and list the cluster), the SASL handlers and
 * the SCRAM credential APIs, over a real local metadata store. Listener "SASL_PLAINTEXT" (also
 * when it speaks SASL_SSL); with `tls` it serves TLS, and a client certificate names the principal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Connection } from '../../../src/server/connection.js';
import { HandlerRegistry, type Handler } from '../../../src/server/handler-registry.js';
import { ByteBudget } from '../../../src/server/limits.js';
import { newSession, type SecurityProtocol } from '../../../src/server/session.js';
import { API_TABLE, ApiKey } from '../../../src/protocol/messages/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { registerSaslApis } from '../../../src/broker/sasl-apis.js';
import { registerScramApis } from '../../../src/broker/scram-apis.js';
import type { BrokerContext } from '../../../src/broker/context.js';
import { ALLOW_ALL, type Authorizer } from '../../../src/security/types.js';
import type { SaslServerSettings } from '../../../src/security/sasl/authenticator.js';
import { LocalMetadataStore } from '../../../src/cluster/local-metadata-store.js';
import { MetadataScramCredentialStore } from '../../../src/security/sasl/scram-credential-store.js';
import { createOAuthBearerValidator, DEFAULT_OAUTH_SETTINGS } from '../../../src/security/sasl/oauth-validator.js';

export interface SaslTestBroker {
  address: string;
  port: number;
  settings: SaslServerSettings;
  scram: MetadataScramCredentialStore;
  /** Every request's api key as it reached a handler. */
  seen: number[];
  /** The same, as [api key, version]. */
  versions: Array<[number, number]>;
  sessions: ReturnType<typeof newSession>[];
  close(): Promise<void>;
}

export interface SaslTestBrokerOptions {
  settings?: Partial<SaslServerSettings>;
  authorizer?: Authorizer;
  protocol?: SecurityProtocol;
  /** Serve TLS (for SSL / SASL_SSL): PEM key and certificate; with `ca`, client certificates are required. */
  tls?: { key: string; cert: string; ca?: string };
}

export async function startSaslTestBroker(opts: SaslTestBrokerOptions = {}): Promise<SaslTestBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sasl-broker-'));
  const store = await LocalMetadataStore.open(dir);
  const scram = new MetadataScramCredentialStore(store, '/ferry/sasl-test/');
  const settings: SaslServerSettings = {
    enabledMechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'],
    plainUsers: new Map([['admin', 'admin-secret'], ['alice', 'alice-secret']]),
    scram,
    oauth: createOAuthBearerValidator(DEFAULT_OAUTH_SETTINGS, () => Date.now()),
    reauthMs: 0,
    now: () => Date.now(),
    ...opts.settings,
  };
  const registry = new HandlerRegistry();
  const seen: number[] = [];
  const versions: Array<[number, number]> = [];
  let port = 0;
  const add = (key: number, v: { min: number; max: number }, handler: Handler) => {
    const spec = API_TABLE.get(key)!;
    registry.register(key, Math.max(v.min, spec.minVersion), Math.min(v.max, spec.maxVersion), (ctx, req) => { seen.push(key); versions.push([key, ctx.header.apiVersion]); return handler(ctx, req); });
  };
  add(ApiKey.ApiVersions, { min: 0, max: 3 }, () => ({
    errorCode: 0, apiKeys: registry.list().map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })),
  }));
  add(ApiKey.Metadata, { min: 0, max: 12 }, (_ctx, req: { topics: Array<{ name: string | null }> | null }) => ({
    brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }], clusterId: 'sasl-test-cluster', controllerId: 1,
    topics: (req.topics ?? []).map((t) => ({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name: t.name, isInternal: false, partitions: [] })),
  }));
  registerSaslApis(add, (listener) => (listener === 'SASL_PLAINTEXT' ? settings : null));
  registerScramApis({ authorizer: opts.authorizer ?? ALLOW_ALL } as BrokerContext, add, scram);

  const shared = { responses: new ByteBudget(-1), requests: new ByteBudget(-1), onMuted: () => {}, onTimedOut: () => {} };
  const conns: Connection[] = [];
  const sessions: SaslTestBroker['sessions'] = [];
  const protocol = opts.protocol ?? 'SASL_PLAINTEXT';
  const log = pino({ level: process.env.FERRY_TEST_BROKER_LOG ?? 'silent' });
  const onSocket = (s: Socket) => {
    const session = newSession(protocol === 'PLAINTEXT' || protocol === 'SSL' ? protocol : 'SASL_PLAINTEXT', protocol, s.remoteAddress ?? '');
    const peer = (s as TLSSocket).getPeerCertificate?.();
    if (peer?.subject) session.principal = { type: 'User', name: `CN=${peer.subject.CN}` };
    sessions.push(session);
    conns.push(new Connection(s, conns.length + 1, registry, {
      frameBytesMax: 1 << 20, inFlightMax: 100, sendQueueMaxBytes: -1, requestReceiveTimeoutMs: -1, idleTimeoutMs: -1,
    }, log, () => {}, shared, session));
  };
  const t = opts.tls;
  const server: Server = t
    ? createTlsServer({ key: t.key, cert: t.cert, ca: t.ca, requestCert: t.ca !== undefined, rejectUnauthorized: t.ca !== undefined }, onSocket)
    : createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`, port, settings, scram, seen, versions, sessions,
    async close() {
      for (const c of conns) c.close('test over', {}, 'info');
      await new Promise((resolve) => server.close(resolve));
      settings.oauth.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
