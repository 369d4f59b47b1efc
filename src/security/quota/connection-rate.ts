/**
 * Connection creation rate limits (KIP-612, Kafka's ConnectionQuotas), checked when a connection
 * is accepted:
 * - broker-wide max.connection.creation.rate over every listener but the inter-broker one (when
 *   there is more than one listener, as Kafka protects it), and each listener's own
 *   listener.name.<l>.max.connection.creation.rate;
 * - per address, the connection_creation_rate client quota of its ip entity, else of the default
 *   ip entity (<default>).
 * Kafka delays the accept while a listener is over its rate and closes a connection over its
 * address's rate after a delay; Ferry refuses (closes at once) in both cases, and a refused
 * connection is not counted (Kafka un-records the address's throttled connections the same way),
 * so a flood cannot keep the rate above the limit for the clients within it.
 * Rates are Kafka's sampled Rate over quota.window.num × quota.window.size.seconds. Memory: one
 * rate per address with a quota, idle ones dropped after an hour, at most maxTrackedAddresses.
 */
import { SampledRate, type RateConfig } from './rate.js';
import { canonicalIp } from './quota-entity.js';

/** Kafka's default for every connection rate: Integer.MAX_VALUE means no limit. */
export const UNLIMITED_CONNECTION_RATE = 2 ** 31 - 1;

export type ConnectionRefusal = 'broker' | 'listener' | 'ip';

export interface ConnectionRateSettings {
  /** quota.window.num */
  windowNum: number;
  /** quota.window.size.seconds */
  windowSizeSeconds: number;
  /** max.connection.creation.rate: the broker-wide limit. */
  brokerMaxRate: number;
  /** Each listener and its max.connection.creation.rate (its listener.name.<l>. override, else the broker's). */
  listeners: readonly { name: string; maxRate: number }[];
  /** inter.broker.listener.name: not counted in the broker-wide rate when there are other listeners. */
  interBrokerListener?: string;
  /** Addresses followed at once (default 100,000); the least recently seen are dropped first. */
  maxTrackedAddresses?: number;
  /** An address's rate is dropped after this long without a connection (default 1 h). */
  addressIdleMs?: number;
}

/** Where per-address quotas come from (QuotaStore). */
export interface IpConnectionQuotas {
  connectionRateFor(ip: string): number | undefined;
}

export interface ConnectionRateEvents {
  refused?(reason: ConnectionRefusal, listener: string): void;
}

const SWEEP_INTERVAL_MS = 60_000;

export class ConnectionRateLimiter {
  private readonly rateConfig: RateConfig;
  private readonly broker: SampledRate | null;
  private readonly listeners = new Map<string, { maxRate: number; rate: SampledRate | null }>();
  /** Canonical address -> its rate, least recently seen first. */
  private readonly addresses = new Map<string, SampledRate>();
  private readonly maxAddresses: number;
  private readonly addressIdleMs: number;
  private lastSweepMs = 0;

  constructor(private readonly settings: ConnectionRateSettings, private readonly ipQuotas: IpConnectionQuotas | null, private readonly events: ConnectionRateEvents = {}) {
    this.rateConfig = { samples: settings.windowNum, windowMs: settings.windowSizeSeconds * 1000 };
    this.broker = limited(settings.brokerMaxRate) ? new SampledRate(this.rateConfig) : null;
    for (const l of settings.listeners) this.listeners.set(l.name, { maxRate: l.maxRate, rate: limited(l.maxRate) ? new SampledRate(this.rateConfig) : null });
    this.maxAddresses = settings.maxTrackedAddresses ?? 100_000;
    this.addressIdleMs = settings.addressIdleMs ?? 3_600_000;
  }

  /** The accept check of one listener, as the server takes it (ListenerOptions.admit). */
  admitter(listener: string): (ip: string, nowMs: number) => boolean {
    return (ip, nowMs) => this.admit(listener, ip, nowMs);
  }

  /** Records a new connection from `ip` on `listener`; false: refuse it (nothing stays recorded). */
  admit(listener: string, ip: string, nowMs: number): boolean {
    const l = this.listeners.get(listener);
    const protectedListener = listener === this.settings.interBrokerListener && this.listeners.size > 1;
    const broker = protectedListener ? null : this.broker;
    const undo: [SampledRate, number][] = [];
    const take = (rate: SampledRate, limit: number): boolean => {
      rate.record(1, nowMs);
      undo.push([rate, nowMs]);
      return rate.measure(nowMs) <= limit;
    };
    const refuse = (reason: ConnectionRefusal) => {
      for (const [rate, at] of undo) rate.record(-1, at);
      this.events.refused?.(reason, listener);
      return false;
    };
    if (broker && !take(broker, this.settings.brokerMaxRate)) return refuse('broker');
    if (l?.rate && !take(l.rate, l.maxRate)) return refuse('listener');
    const ipLimit = this.ipQuotas?.connectionRateFor(ip);
    if (ipLimit !== undefined && limited(ipLimit) && !take(this.addressRate(ip, nowMs), ipLimit)) return refuse('ip');
    return true;
  }

  /** Addresses followed now (a gauge). */
  get trackedAddresses(): number { return this.addresses.size; }

  private addressRate(ip: string, nowMs: number): SampledRate {
    this.sweep(nowMs);
    const key = canonicalIp(ip) ?? ip;
    let r = this.addresses.get(key);
    if (r) {
      this.addresses.delete(key);
    } else {
      r = new SampledRate(this.rateConfig);
      if (this.addresses.size >= this.maxAddresses) this.addresses.delete(this.addresses.keys().next().value!);
    }
    this.addresses.set(key, r);
    return r;
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < SWEEP_INTERVAL_MS) return;
    this.lastSweepMs = nowMs;
    for (const [key, r] of this.addresses) {
      if (nowMs - r.lastRecordMs < this.addressIdleMs) break;
      this.addresses.delete(key);
    }
  }
}

function limited(rate: number): boolean {
  return Number.isFinite(rate) && rate < UNLIMITED_CONNECTION_RATE;
}
