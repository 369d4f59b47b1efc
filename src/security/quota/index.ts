/**
 * Client quotas (KIP-13, KIP-55, KIP-124, KIP-219, KIP-546, KIP-612): the quota records in the
 * metadata store followed by every broker (quota-store.ts), Kafka's precedence (quota-resolver.ts)
 * and sampled rate (rate.ts), request throttling (quota-manager.ts) and connection creation rates
 * (connection-rate.ts). The APIs (DescribeClientQuotas, AlterClientQuotas) are in
 * src/broker/quota-apis.ts; `ferry quotas` in src/cli/quotas-command.ts.
 *
 * openClientQuotas builds what a broker needs from plain settings:
 *   const q = await openClientQuotas({ store, root: keys.root, windowNum, windowSizeSeconds, log, events });
 *   connection options: quotas: q.requests
 *   listeners: admit: q.connections({ brokerMaxRate, listeners, interBrokerListener }).admitter(name)
 *   APIs: registerQuotaApis(b, add, q.store)
 *   on shutdown: q.close()
 */
import type { Logger } from 'pino';
import type { MetadataStore } from '../../cluster/metadata-store.js';
import { QuotaStore } from './quota-store.js';
import { RequestQuotaManager, type QuotaEvents } from './quota-manager.js';
import { ConnectionRateLimiter, type ConnectionRateEvents, type ConnectionRateSettings } from './connection-rate.js';

export { QuotaStore, type QuotaRecord, type QuotaOp } from './quota-store.js';
export { RequestQuotaManager, type QuotaEvents, type QuotaType, type RequestQuotaSettings, type HandledRequest } from './quota-manager.js';
export { ConnectionRateLimiter, UNLIMITED_CONNECTION_RATE, type ConnectionRateSettings, type ConnectionRateEvents, type ConnectionRefusal } from './connection-rate.js';
export * from './quota-entity.js';

export interface ClientQuotasOptions {
  store: MetadataStore;
  /** MetadataKeys.root */
  root: string;
  /** quota.window.num */
  windowNum: number;
  /** quota.window.size.seconds */
  windowSizeSeconds: number;
  log?: Logger;
  events?: QuotaEvents & ConnectionRateEvents;
}

export interface ClientQuotas {
  store: QuotaStore;
  /** ConnectionOptions.quotas */
  requests: RequestQuotaManager;
  /** One limiter for the broker's listeners (broker-wide and per-listener rates, per-address quotas). */
  connections(settings: Omit<ConnectionRateSettings, 'windowNum' | 'windowSizeSeconds'>): ConnectionRateLimiter;
  close(): void;
}

export async function openClientQuotas(o: ClientQuotasOptions): Promise<ClientQuotas> {
  const store = await QuotaStore.open({ store: o.store, root: o.root, log: o.log });
  const window = { windowNum: o.windowNum, windowSizeSeconds: o.windowSizeSeconds };
  return {
    store,
    requests: new RequestQuotaManager(store, window, o.events),
    connections: (settings) => new ConnectionRateLimiter({ ...window, ...settings }, store, o.events),
    close: () => store.close(),
  };
}
