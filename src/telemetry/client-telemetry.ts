/**
 * KIP-714 client telemetry, the broker side: which subscription a client gets
 * (GetTelemetrySubscriptions), whether a push is accepted (PushTelemetry), and the decoded metrics
 * kept for /metrics (metric-store.ts). Pure logic on an injected clock; the API handlers are
 * src/broker/telemetry-apis.ts.
 *
 * Rules, as Kafka's ClientMetricsManager applies them:
 * - A zero client instance id is given a new random one (UUID v4); the subscription id is derived
 *   from the subscription and the instance id (subscriptions.ts).
 * - A GetTelemetrySubscriptions sooner than the push interval after the client's previous one, with
 *   no push in between, answers THROTTLING_QUOTA_EXCEEDED.
 * - A push: zero instance id -> INVALID_REQUEST; after the client's terminating push ->
 *   INVALID_REQUEST; another subscription id than the current one -> UNKNOWN_SUBSCRIPTION_ID;
 *   too soon -> THROTTLING_QUOTA_EXCEEDED (the first push after a GetTelemetrySubscriptions and a
 *   terminating push are never too soon; otherwise 90% of the push interval must have passed since
 *   the previous push, so a push that arrives a little early through network jitter is not
 *   refused); a compression type not offered -> UNSUPPORTED_COMPRESSION_TYPE; more than
 *   telemetryMaxBytes (compressed, or 2x that decompressed) -> TELEMETRY_TOO_LARGE; a payload that
 *   does not decompress or is not OTLP MetricsData -> INVALID_RECORD.
 * - Per-instance state is bounded: at most INSTANCES_MAX instances (least recently seen dropped
 *   first), each forgotten after `expireAfterMs` without a request.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { CompressionError, decompress } from '../protocol/compression.js';
import { decodeMetricsData, OtlpDecodeError } from './otlp-metrics.js';
import { ClientMetricStore } from './metric-store.js';
import { ACCEPTED_COMPRESSION_TYPES, DELTA_TEMPORALITY, subscriptionIdOf, type SubscriptionConfig } from './subscriptions.js';

export const INSTANCES_MAX = 10_000;
/**
 * Decompressed payload bound, as a multiple of telemetryMaxBytes (zip bombs, and decode time: the
 * decoder runs on the event loop at about 0.35 M points/s, so 2 MiB of OTLP, ~20000 points, takes ~80 ms at worst).
 */
const DECOMPRESSED_FACTOR = 2;
/** Points read from one push at most (a 1 MiB payload holds far fewer real metrics). */
const POINTS_PER_PUSH_MAX = 10_000;
const EARLY_PUSH_SLACK = 0.1;

export interface ClientTelemetryOptions extends SubscriptionConfig {
  /** Series kept for /metrics at most (client.telemetry.max.series). */
  seriesMax: number;
  /** A client silent this long is forgotten, with its series. Default: 3 push intervals. */
  expireAfterMs?: number;
  now?: () => number;
  /** Told of every push's answer (the pushes-by-result counter). */
  onPush?: (errorCode: number) => void;
}

export interface SubscriptionAnswer {
  errorCode: number;
  clientInstanceId: string;
  subscriptionId: number;
  acceptedCompressionTypes: number[];
  pushIntervalMs: number;
  telemetryMaxBytes: number;
  deltaTemporality: boolean;
  requestedMetrics: string[];
}

export interface PushRequest {
  clientInstanceId: string;
  subscriptionId: number;
  terminating: boolean;
  compressionType: number;
  metrics: Buffer;
}

/** Why a push was refused, for the log (null: accepted). */
export interface PushResult { errorCode: number; reason: string | null }

interface Instance {
  lastGetMs: number | null;
  lastPushMs: number | null;
  terminated: boolean;
  lastSeenMs: number;
}

export class ClientTelemetry {
  readonly store: ClientMetricStore;
  private readonly instances = new Map<string, Instance>();
  private readonly now: () => number;
  private readonly expireAfterMs: number;
  private storeExpiredAtMs = 0;

  constructor(private readonly config: ClientTelemetryOptions) {
    this.now = config.now ?? Date.now;
    this.expireAfterMs = config.expireAfterMs ?? 3 * config.pushIntervalMs;
    this.store = new ClientMetricStore({ seriesMax: config.seriesMax, expireAfterMs: this.expireAfterMs, clientsMax: INSTANCES_MAX });
  }

  get instanceCount(): number { return this.instances.size; }

  getSubscriptions(requestedInstanceId: string): SubscriptionAnswer {
    const nowMs = this.now();
    this.expire(nowMs);
    const assigned = requestedInstanceId === ZERO_UUID;
    const clientInstanceId = assigned ? randomUUID().replaceAll('-', '') : requestedInstanceId;
    const answer: SubscriptionAnswer = {
      errorCode: ErrorCode.NONE,
      clientInstanceId: assigned ? clientInstanceId : ZERO_UUID,
      subscriptionId: subscriptionIdOf(this.config, clientInstanceId),
      acceptedCompressionTypes: [...ACCEPTED_COMPRESSION_TYPES],
      pushIntervalMs: this.config.pushIntervalMs,
      telemetryMaxBytes: this.config.telemetryMaxBytes,
      deltaTemporality: DELTA_TEMPORALITY,
      requestedMetrics: [...this.config.requestedMetrics],
    };
    const inst = this.touch(clientInstanceId, nowMs);
    const pushedSince = inst.lastPushMs !== null && (inst.lastGetMs === null || inst.lastPushMs >= inst.lastGetMs);
    if (inst.lastGetMs !== null && !pushedSince && nowMs - inst.lastGetMs < this.config.pushIntervalMs) {
      return { ...answer, errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED };
    }
    inst.lastGetMs = nowMs;
    return answer;
  }

  push(req: PushRequest, clientId: string): PushResult {
    const result = this.decidePush(req, clientId);
    this.config.onPush?.(result.errorCode);
    return result;
  }

  private decidePush(req: PushRequest, clientId: string): PushResult {
    const nowMs = this.now();
    this.expire(nowMs);
    if (req.clientInstanceId === ZERO_UUID) return { errorCode: ErrorCode.INVALID_REQUEST, reason: 'zero client instance id' };
    // An instance this broker does not know (it asked another broker, or this one before a restart) may push under its id.
    const inst = this.touch(req.clientInstanceId, nowMs);
    if (inst.terminated) return { errorCode: ErrorCode.INVALID_REQUEST, reason: 'push after the terminating push' };
    if (req.subscriptionId !== subscriptionIdOf(this.config, req.clientInstanceId)) {
      return { errorCode: ErrorCode.UNKNOWN_SUBSCRIPTION_ID, reason: 'subscription id is not the current one' };
    }
    const firstSinceGet = inst.lastPushMs === null || (inst.lastGetMs !== null && inst.lastGetMs > inst.lastPushMs);
    const minGapMs = this.config.pushIntervalMs * (1 - EARLY_PUSH_SLACK);
    if (!req.terminating && !firstSinceGet && nowMs - inst.lastPushMs! < minGapMs) {
      return { errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, reason: `pushed ${nowMs - inst.lastPushMs!} ms after the previous push (interval ${this.config.pushIntervalMs} ms)` };
    }
    inst.lastPushMs = nowMs;
    if (req.terminating) inst.terminated = true;
    if (req.compressionType !== 0 && !ACCEPTED_COMPRESSION_TYPES.includes(req.compressionType)) {
      return { errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, reason: `compression type ${req.compressionType}` };
    }
    const maxBytes = this.config.telemetryMaxBytes;
    if (req.metrics.length > maxBytes) return { errorCode: ErrorCode.TELEMETRY_TOO_LARGE, reason: `${req.metrics.length} bytes > ${maxBytes}` };
    let payload: Buffer;
    try {
      payload = req.compressionType === 0 ? req.metrics : decompress(req.compressionType, req.metrics, maxBytes * DECOMPRESSED_FACTOR);
    } catch (err) {
      if (err instanceof CompressionError && err.reason === 'too-large') {
        return { errorCode: ErrorCode.TELEMETRY_TOO_LARGE, reason: `decompressed payload over ${maxBytes * DECOMPRESSED_FACTOR} bytes` };
      }
      if (err instanceof CompressionError) return { errorCode: ErrorCode.INVALID_RECORD, reason: `payload does not decompress: ${err.message}` };
      throw err;
    }
    let points;
    try {
      points = decodeMetricsData(payload, POINTS_PER_PUSH_MAX).points;
    } catch (err) {
      if (err instanceof OtlpDecodeError) return { errorCode: ErrorCode.INVALID_RECORD, reason: err.message };
      throw err;
    }
    this.store.record(req.clientInstanceId, clientId, points, nowMs);
    return { errorCode: ErrorCode.NONE, reason: null };
  }

  private touch(id: string, nowMs: number): Instance {
    let inst = this.instances.get(id);
    if (inst) this.instances.delete(id);
    else inst = { lastGetMs: null, lastPushMs: null, terminated: false, lastSeenMs: nowMs };
    inst.lastSeenMs = nowMs;
    // Map order is recency order: re-inserted last, the oldest is first.
    this.instances.set(id, inst);
    while (this.instances.size > INSTANCES_MAX) this.instances.delete(this.instances.keys().next().value!);
    return inst;
  }

  private expire(nowMs: number): void {
    for (const [id, inst] of this.instances) {
      if (nowMs - inst.lastSeenMs < this.expireAfterMs) break;
      this.instances.delete(id);
    }
    // The store's sweep walks every client: at most once a second, not on every request.
    if (nowMs - this.storeExpiredAtMs >= 1000) { this.storeExpiredAtMs = nowMs; this.store.expire(nowMs); }
  }
}
