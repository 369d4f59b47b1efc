/**
 * The broker's security parts, built from its configuration: TLS certificates per listener, SASL
 * settings per listener, the ACL authorizer, client quotas and connection-rate limits, and the
 * APIs that manage them. broker.ts hands these to the listeners, the connections and the handlers.
 */
import type { Logger } from 'pino';
import type { BrokerConfig } from '../ops/config.js';
import type { ClusterMetadata } from './cluster-metadata.js';
import type { PlannedListener } from './listener-plan.js';
import type { ListenerTls } from '../server/server.js';
import type { RequestQuotas } from '../server/connection.js';
import type { Handler } from '../server/handler-registry.js';
import type { BrokerContext } from '../broker/context.js';
import { ALLOW_ALL, type Authorizer } from '../security/types.js';

export type AddApi = (key: number, v: { min: number; max: number }, handler: Handler) => void;

export interface BrokerSecurity {
  authorizer: Authorizer;
  quotas: RequestQuotas | undefined;
  tlsFor(listener: PlannedListener): ListenerTls | undefined;
  admitFor(listener: PlannedListener): ((ip: string, nowMs: number) => boolean) | undefined;
  /** Registers SaslHandshake/SaslAuthenticate, the SCRAM, ACL and quota APIs. */
  registerApis(b: BrokerContext, add: AddApi): void;
  close(): Promise<void>;
}

export async function openSecurity(config: BrokerConfig, _meta: ClusterMetadata, listeners: readonly PlannedListener[], _log: Logger): Promise<BrokerSecurity> {
  for (const l of listeners) {
    if (l.protocol !== 'PLAINTEXT') throw new Error(`listener ${l.name}: ${l.protocol} is not wired yet`);
  }
  void config;
  return {
    authorizer: ALLOW_ALL,
    quotas: undefined,
    tlsFor: () => undefined,
    admitFor: () => undefined,
    registerApis: () => {},
    close: async () => {},
  };
}
