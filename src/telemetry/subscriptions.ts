/**
 * The client-metrics subscription this broker hands out (KIP-714 GetTelemetrySubscriptions): one,
 * from the broker config (client.telemetry.metrics, client.telemetry.push.interval.ms), for every
 * client. Kafka's per-client matching (CLIENT_METRICS config resources, kafka-client-metrics.sh)
 * is not served: its IncrementalAlterConfigs resource type is refused like any unknown one.
 *
 * The subscription id is a hash of what the subscription says and of the client instance id, as
 * Kafka computes it: every broker with the same config gives a client the same id (a client may
 * push to another broker than the one it asked, or to this one after a restart), and a changed
 * config gives a new id, so pushes made under the old one answer UNKNOWN_SUBSCRIPTION_ID.
 */
import { crc32 } from 'node:zlib';

export interface SubscriptionConfig {
  /** Metric name prefixes to ask clients for; [] asks for none, [''] for all (KIP-714's encoding). */
  requestedMetrics: readonly string[];
  pushIntervalMs: number;
  /** Largest PushTelemetry payload accepted (compressed, as sent). */
  telemetryMaxBytes: number;
}

/** The config's list: `*` means every metric; an empty list none. */
export function requestedMetricsOf(prefixes: readonly string[]): string[] {
  const cleaned = prefixes.map((p) => p.trim()).filter((p) => p.length > 0);
  return cleaned.includes('*') ? [''] : cleaned;
}

/** Compression types accepted for pushes, in the order of preference (Kafka's: zstd, lz4, gzip, snappy). */
export const ACCEPTED_COMPRESSION_TYPES: readonly number[] = [4, 3, 1, 2];

/** Always cumulative: a pushed counter is its total, as a Prometheus counter is. */
export const DELTA_TEMPORALITY = false;

export function subscriptionIdOf(config: SubscriptionConfig, clientInstanceId: string): number {
  const what = `${config.requestedMetrics.join('\n')}\u0000${config.pushIntervalMs}\u0000${DELTA_TEMPORALITY}\u0000${clientInstanceId}`;
  // An int32 on the wire; 0 is what a client sends before it has any.
  return (crc32(what) | 0) || 1;
}
