/**
 * A few APIs without a whole broker: a BrokerContext holding only what ApiVersions, Metadata and
 * the registered handlers read (the authorizer, the registry, this broker as the only one, no
 * topics), the real handlers on a HandlerRegistry, and either
 *   - call(apiKey, version, body, session?)  one request in-process, through the codecs at that
 *     version both ways (so v0 loses what v0 cannot carry), or
 *   - serveApiHarness(): a real KafkaServer on a free loopback port (AdminClient, the CLI, clients).
 */
import { pino } from 'pino';
import { API_TABLE, ApiKey } from '../../src/protocol/messages/index.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { HandlerRegistry, type Handler, type RequestContext } from '../../src/server/handler-registry.js';
import { KafkaServer } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import type { BrokerContext, BrokerEndpoint } from '../../src/broker/context.js';
import { makeApiVersionsHandler } from '../../src/broker/api-versions.js';
import { makeMetadataHandler } from '../../src/broker/metadata.js';
import type { Authorizer } from '../../src/security/types.js';

const log = pino({ level: process.env.FERRY_TEST_LOG ?? 'silent' });

export type AddApi = (key: number, v: { min: number; max: number }, handler: Handler) => void;

export interface ApiHarness {
  registry: HandlerRegistry;
  self: BrokerEndpoint;
  call(apiKey: number, version: number, body: object, session?: Session): Promise<any>;
}

export function apiHarness(clusterId: string, authorizer: Authorizer, register: (b: BrokerContext, add: AddApi) => void): ApiHarness {
  const registry = new HandlerRegistry();
  const self: BrokerEndpoint = { nodeId: 1, host: '127.0.0.1', port: 0, rack: null };
  const b = {
    self, clusterId, registry, authorizer, log,
    limits: { autoCreateTopics: false },
    topics: { list: () => [], byName: () => undefined, byId: () => undefined },
    leadership: { clustered: false, brokers: () => [self], broker: () => self, controllerId: () => self.nodeId },
  } as unknown as BrokerContext;
  const handlers = new Map<number, Handler>();
  const add: AddApi = (key, v, handler) => {
    const spec = API_TABLE.get(key)!;
    registry.register(key, Math.max(v.min, spec.minVersion), Math.min(v.max, spec.maxVersion), handler);
    handlers.set(key, handler);
  };
  add(ApiKey.ApiVersions, { min: 0, max: 4 }, makeApiVersionsHandler(b));
  add(ApiKey.Metadata, { min: 0, max: 12 }, makeMetadataHandler(b));
  register(b, add);

  return {
    registry, self,
    async call(apiKey, version, body, session) {
      const api = API_TABLE.get(apiKey)!;
      const w = new Writer(256);
      api.encodeRequest(w, version, body);
      const request = api.decodeRequest(new Reader(w.toBuffer()), version);
      const ctx: RequestContext = {
        header: { apiKey, apiVersion: version, correlationId: 1, clientId: 'test' },
        connectionId: 1, remoteAddress: session?.clientAddress ?? '127.0.0.1', log, signal: new AbortController().signal,
        ...(session ? { session } : {}),
      };
      const response = await handlers.get(apiKey)!(ctx, request);
      const rw = new Writer(256);
      api.encodeResponse(rw, version, response as object);
      return api.decodeResponse(new Reader(rw.toBuffer()), version);
    },
  };
}

/** The harness's registry served on 127.0.0.1 (a free port); `bootstrap` is host:port. */
export async function serveApiHarness(h: ApiHarness): Promise<{ bootstrap: string; close(): Promise<void> }> {
  const server = new KafkaServer(h.registry, {
    host: '127.0.0.1', port: 0, connectionsMax: 100, maxConnectionsPerIp: 100, queuedMaxResponseBytes: -1, queuedMaxRequestBytes: -1,
    frameBytesMax: 100 * 1024 * 1024, inFlightMax: 16, sendQueueMaxBytes: -1, requestReceiveTimeoutMs: 30_000, idleTimeoutMs: 600_000,
  }, log);
  const { port } = await server.listen();
  h.self.port = port;
  return { bootstrap: `127.0.0.1:${port}`, close: () => server.close() };
}
