/**
 * Kafka's sampled Rate (org.apache.kafka.common.metrics.stats.Rate over a WindowedSum) and the
 * throttle time of its quota checks (QuotaUtils.throttleTime):
 *
 * - Values are summed into samples of `windowMs` each; samples + 1 of them are kept in a ring (one
 *   extra so the oldest window still counts while the newest fills). A sample with no event for
 *   samples × windowMs is reset (purged) at the time of the measurement.
 * - rate = sum of the kept samples / the elapsed time since the oldest one started, where that
 *   elapsed time is padded up to (samples - 1) full windows: a client that just started (or came
 *   back after idling) is measured as if the windows before were empty, so one burst is not read
 *   as an enormous rate.
 * - Throttle time: the delay X after which the observed rate O over window W falls to the quota
 *   T, O·W / (W + X) = T, i.e. X = (O - T) / T · W, rounded to the millisecond.
 */

interface Sample {
  value: number;
  eventCount: number;
  startTimeMs: number;
  lastEventMs: number;
}

export interface RateConfig {
  /** quota.window.num */
  samples: number;
  /** quota.window.size.seconds × 1000 */
  windowMs: number;
}

export class SampledRate {
  private readonly ring: Sample[] = [];
  private current = 0;
  /** The time of the last record (idle-bucket expiry). */
  lastRecordMs = 0;

  constructor(private readonly config: RateConfig) {
    if (!(config.samples >= 1) || !(config.windowMs >= 1)) throw new RangeError(`rate needs samples >= 1 and windowMs >= 1 (got ${config.samples}, ${config.windowMs})`);
  }

  record(value: number, nowMs: number): void {
    let sample = this.currentSample(nowMs);
    if (nowMs - sample.startTimeMs >= this.config.windowMs) sample = this.advance(nowMs);
    sample.value += value;
    sample.eventCount += 1;
    sample.lastEventMs = nowMs;
    this.lastRecordMs = nowMs;
  }

  /** Per second. */
  measure(nowMs: number): number {
    this.purge(nowMs);
    let total = 0;
    for (const s of this.ring) total += s.value;
    return total / (this.windowSizeMs(nowMs) / 1000);
  }

  /** The time the rate is computed over (Kafka's Rate.windowSize), in ms. */
  windowSizeMs(nowMs: number): number {
    this.purge(nowMs);
    let elapsed = nowMs - this.oldest(nowMs).startTimeMs;
    const fullWindows = Math.floor(elapsed / this.config.windowMs);
    const minFullWindows = this.config.samples - 1;
    if (fullWindows < minFullWindows) elapsed += (minFullWindows - fullWindows) * this.config.windowMs;
    // One sample and no time elapsed would divide by zero (Kafka shares this edge; 1 ms keeps it finite).
    return Math.max(elapsed, 1);
  }

  private currentSample(nowMs: number): Sample {
    if (this.ring.length === 0) this.ring.push(newSample(nowMs));
    return this.ring[this.current]!;
  }

  private advance(nowMs: number): Sample {
    this.current = (this.current + 1) % (this.config.samples + 1);
    if (this.current >= this.ring.length) {
      const s = newSample(nowMs);
      this.ring.push(s);
      return s;
    }
    const s = this.ring[this.current]!;
    reset(s, nowMs);
    return s;
  }

  private oldest(nowMs: number): Sample {
    if (this.ring.length === 0) this.ring.push(newSample(nowMs));
    let oldest = this.ring[0]!;
    for (const s of this.ring) if (s.startTimeMs < oldest.startTimeMs) oldest = s;
    return oldest;
  }

  /** Samples without an event for the whole monitored span no longer count (their windows restart now). */
  private purge(nowMs: number): void {
    const expireAgeMs = this.config.samples * this.config.windowMs;
    for (const s of this.ring) if (nowMs - s.lastEventMs >= expireAgeMs) reset(s, nowMs);
  }
}

function newSample(nowMs: number): Sample {
  return { value: 0, eventCount: 0, startTimeMs: nowMs, lastEventMs: nowMs };
}

function reset(s: Sample, nowMs: number): void {
  s.value = 0;
  s.eventCount = 0;
  s.startTimeMs = nowMs;
  s.lastEventMs = nowMs;
}

/**
 * Kafka's QuotaUtils.throttleTime: how long until `rate` over `windowSizeMs` falls to `quota`,
 * assuming nothing more is recorded; 0 within the quota (Quota.acceptable: rate <= quota).
 */
export function throttleTimeMs(rate: number, quota: number, windowSizeMs: number): number {
  if (!(rate > quota) || !(quota > 0)) return 0;
  return Math.round(((rate - quota) / quota) * windowSizeMs);
}

/**
 * Records `value` and answers the throttle time of the quota check that follows it (Kafka's
 * Sensor.record with checkQuotas, then QuotaUtils.throttleTime); `maxMs` bounds it
 * (boundedThrottleTime: request and connection quotas cap it at one window).
 */
export function recordAndThrottle(rate: SampledRate, value: number, quota: number, nowMs: number, maxMs = Infinity): number {
  rate.record(value, nowMs);
  const observed = rate.measure(nowMs);
  if (!(observed > quota)) return 0;
  return Math.min(throttleTimeMs(observed, quota, rate.windowSizeMs(nowMs)), maxMs);
}
