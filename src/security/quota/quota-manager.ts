/**
 * Client quota enforcement for handled requests (Kafka's ClientQuotaManager for Produce and Fetch
 * bytes, ClientRequestQuotaManager for request time; KIP-13, KIP-55, KIP-124, KIP-219):
 *
 * - Produce counts the request's bytes against producer_byte_rate, Fetch the response's bytes
 *   against consumer_byte_rate (not a follower's fetch), and every request but the exempt ones
 *   its handler time against request_percentage (percent of one thread: 100 = one second of
 *   handler time per second). The quota and the bucket follow Kafka's precedence (quota-resolver.ts).
 * - The answer is the longest of the throttle times (0 within quota): the connection puts it in
 *   the response's throttle_time_ms and stops reading that long (KIP-219). Byte-rate throttles
 *   are not capped, as Kafka's; request-time throttles are capped at one window, as Kafka's.
 * - Kafka reads one request at a time per connection, so a throttle holds the very next request.
 *   Ferry dispatches several at once; a connection that records a Produce's bytes at dispatch
 *   (recordRequest, then recordResponse once handled) stops dispatching as soon as one is over
 *   quota. Recorded only after handling (record), a client pipelining 1 MB batches would get
 *   every request already dispatched (up to the connection's in-flight limit) past the quota.
 * - Throttled fetches keep their bytes counted: Ferry sends the data it read (Kafka sends an
 *   empty response and un-records), so the long-run rate is the quota either way.
 * - Memory: buckets idle for an hour are dropped (Kafka's inactive-sensor expiry), and at most
 *   `maxBuckets` per quota type are kept (least recently used dropped first).
 */
import type { RequestQuotas } from '../../server/connection.js';
import type { Session } from '../../server/session.js';
import { SampledRate, recordAndThrottle, type RateConfig } from './rate.js';
import { resolveQuota, type QuotaIndex } from './quota-resolver.js';
import type { ClientQuotaKey } from './quota-entity.js';

export type QuotaType = 'produce' | 'fetch' | 'request';

/** Metrics hooks (the broker wires prom-client); every hook is optional. */
export interface QuotaEvents {
  /** A request was throttled: the quota whose throttle time applies (the longest) and that time. */
  throttled?(type: QuotaType, throttleMs: number): void;
}

export interface RequestQuotaSettings {
  /** quota.window.num */
  windowNum: number;
  /** quota.window.size.seconds */
  windowSizeSeconds: number;
  /** Buckets kept per quota type (default 50,000). */
  maxBuckets?: number;
  /** A bucket without a request this long is dropped (default 1 h, Kafka's sensor expiry). */
  bucketIdleMs?: number;
}

/** A request about to be dispatched: what is known before its handler runs. */
export interface RequestStart {
  session: Session;
  clientId: string | null;
  apiKey: number;
  requestBytes: number;
  nowMs: number;
}

/** A handled request; `fromFollower` marks a replica's Fetch (exempt from consumer_byte_rate). */
export interface RequestEnd {
  session: Session;
  clientId: string | null;
  apiKey: number;
  responseBytes: number;
  handlerTimeMs: number;
  nowMs: number;
  fromFollower?: boolean;
}

export type HandledRequest = RequestStart & RequestEnd;

const PRODUCE = 0;
const FETCH = 1;
const API_VERSIONS = 18;
/**
 * Never counted against request_percentage: SASL (handled by Kafka's authenticator, before any
 * quota) and the inter-broker (CLUSTER_ACTION) APIs Kafka exempts: LeaderAndIsr, StopReplica,
 * UpdateMetadata, ControlledShutdown, WriteTxnMarkers, AlterPartition, Envelope,
 * BrokerRegistration, BrokerHeartbeat, AllocateProducerIds.
 */
const REQUEST_QUOTA_EXEMPT = new Set([17, 36, 4, 5, 6, 7, 27, 56, 58, 62, 63, 67]);

const DEFAULT_MAX_BUCKETS = 50_000;
const DEFAULT_BUCKET_IDLE_MS = 3_600_000;
const SWEEP_INTERVAL_MS = 60_000;

/** The buckets of one quota type: Kafka's sensors, keyed by their metric tags. */
class Buckets {
  /** In least-recently-used order: a bucket is moved to the end when used. */
  private readonly byTags = new Map<string, SampledRate>();
  private lastSweepMs = 0;

  constructor(private readonly rate: RateConfig, private readonly maxBuckets: number, private readonly idleMs: number) {}

  get size(): number { return this.byTags.size; }

  get(tags: string, nowMs: number): SampledRate {
    this.sweep(nowMs);
    let r = this.byTags.get(tags);
    if (r) {
      this.byTags.delete(tags);
    } else {
      r = new SampledRate(this.rate);
      if (this.byTags.size >= this.maxBuckets) this.byTags.delete(this.byTags.keys().next().value!);
    }
    this.byTags.set(tags, r);
    return r;
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < SWEEP_INTERVAL_MS) return;
    this.lastSweepMs = nowMs;
    for (const [tags, r] of this.byTags) {
      if (nowMs - r.lastRecordMs < this.idleMs) break;
      this.byTags.delete(tags);
    }
  }
}

export class RequestQuotaManager implements RequestQuotas {
  private readonly buckets: Record<QuotaType, Buckets>;
  private readonly maxRequestThrottleMs: number;

  constructor(
    private readonly quotas: QuotaIndex & { readonly hasClientQuotas: boolean },
    settings: RequestQuotaSettings,
    private readonly events: QuotaEvents = {},
  ) {
    const rate: RateConfig = { samples: settings.windowNum, windowMs: settings.windowSizeSeconds * 1000 };
    const max = settings.maxBuckets ?? DEFAULT_MAX_BUCKETS;
    const idle = settings.bucketIdleMs ?? DEFAULT_BUCKET_IDLE_MS;
    this.buckets = { produce: new Buckets(rate, max, idle), fetch: new Buckets(rate, max, idle), request: new Buckets(rate, max, idle) };
    this.maxRequestThrottleMs = settings.windowSizeSeconds * 1000;
  }

  /**
   * Before dispatch: a Produce's bytes against producer_byte_rate. A connection that calls this
   * holds its next requests as soon as one is over quota, so a client pipelining many produce
   * requests cannot get more than one past the quota (Kafka reads one request at a time per
   * connection); it then passes this request's throttle on to its response.
   */
  recordRequest(r: RequestStart): number {
    if (!this.quotas.hasClientQuotas) return 0;
    return this.report(this.requestSide(r));
  }

  /** Once handled: a Fetch's response bytes against consumer_byte_rate, the handler time against request_percentage. */
  recordResponse(r: RequestEnd): number {
    if (!this.quotas.hasClientQuotas) return 0;
    return this.report(this.responseSide(r));
  }

  /** Both sides at once, after handling (for a caller that does not call recordRequest). */
  record(r: HandledRequest): number {
    if (!this.quotas.hasClientQuotas) return 0;
    return this.report([...this.requestSide(r), ...this.responseSide(r)]);
  }

  /** The quota that applies to a client (tests, and `ferry quotas` explanations). */
  quotaFor(key: ClientQuotaKey, user: string, clientId: string | null): number | undefined {
    return resolveQuota(this.quotas, key, user, clientId ?? '')?.limit;
  }

  /** Buckets held per quota type (a gauge). */
  bucketCounts(): Record<QuotaType, number> {
    return { produce: this.buckets.produce.size, fetch: this.buckets.fetch.size, request: this.buckets.request.size };
  }

  private requestSide(r: RequestStart): [QuotaType, number][] {
    if (r.apiKey !== PRODUCE) return [];
    // Kafka matches the principal's name (any principal type); unauthenticated clients are ANONYMOUS.
    return [['produce', this.count('produce', 'producer_byte_rate', r.session.principal.name, r.clientId ?? '', r.requestBytes, r.nowMs)]];
  }

  private responseSide(r: RequestEnd): [QuotaType, number][] {
    const user = r.session.principal.name;
    const clientId = r.clientId ?? '';
    const out: [QuotaType, number][] = [];
    if (r.apiKey === FETCH && !r.fromFollower) out.push(['fetch', this.count('fetch', 'consumer_byte_rate', user, clientId, r.responseBytes, r.nowMs)]);
    if (!this.exemptFromRequestQuota(r)) {
      // Percent of one thread: 1 ms of handler time is 0.1 (Kafka: nanos × 100 / 1e9).
      out.push(['request', this.count('request', 'request_percentage', user, clientId, r.handlerTimeMs / 10, r.nowMs, this.maxRequestThrottleMs)]);
    }
    return out;
  }

  /** The longest throttle, told to the metrics hook under its quota type (Kafka records the one it applies). */
  private report(throttles: [QuotaType, number][]): number {
    let throttleMs = 0;
    let worst: QuotaType = 'request';
    for (const [type, ms] of throttles) if (ms > throttleMs) { throttleMs = ms; worst = type; }
    if (throttleMs > 0) this.events.throttled?.(worst, throttleMs);
    return throttleMs;
  }

  private count(type: QuotaType, key: ClientQuotaKey, user: string, clientId: string, value: number, nowMs: number, maxMs?: number): number {
    const q = resolveQuota(this.quotas, key, user, clientId);
    if (q === null) return 0;
    const rate = this.buckets[type].get(`${q.userTag}\u0000${q.clientIdTag}`, nowMs);
    return recordAndThrottle(rate, value, q.limit, nowMs, maxMs);
  }

  private exemptFromRequestQuota(r: RequestEnd): boolean {
    if (REQUEST_QUOTA_EXEMPT.has(r.apiKey)) return true;
    // Before a SASL client has authenticated, Kafka's authenticator answers ApiVersions itself.
    return r.apiKey === API_VERSIONS && (r.session.sasl === 'handshake' || r.session.sasl === 'authenticate');
  }
}
