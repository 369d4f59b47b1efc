/**
 * Latency samples for the perf tools: exact percentiles over every sample (Float64Array that
 * grows; capped, after which it keeps a uniform reservoir), and a log-scale histogram for display.
 */
export interface LatencySummary {
  count: number;
  avgMs: number;
  minMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface HistogramBucket {
  /** Upper bound in ms (Infinity for the last). */
  leMs: number;
  count: number;
}

/** Display buckets, ms. */
export const HISTOGRAM_BOUNDS_MS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, Infinity];

const SAMPLES_MAX = 10_000_000;

export class LatencyRecorder {
  private samples = new Float64Array(1024);
  private stored = 0;
  private seen = 0;
  private sum = 0;
  private min = Infinity;
  private max = 0;
  private readonly buckets = new Array<number>(HISTOGRAM_BOUNDS_MS.length).fill(0);
  // Interval stats for progress lines.
  private intervalCount = 0;
  private intervalSum = 0;
  private intervalMax = 0;

  record(ms: number, times = 1): void {
    for (let k = 0; k < times; k++) {
      this.seen++;
      if (this.stored < SAMPLES_MAX) {
        if (this.stored === this.samples.length) {
          const bigger = new Float64Array(Math.min(SAMPLES_MAX, this.samples.length * 2));
          bigger.set(this.samples);
          this.samples = bigger;
        }
        this.samples[this.stored++] = ms;
      } else {
        const j = Math.floor(Math.random() * this.seen);
        if (j < SAMPLES_MAX) this.samples[j] = ms;
      }
    }
    this.sum += ms * times;
    this.intervalSum += ms * times;
    this.intervalCount += times;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    if (ms > this.intervalMax) this.intervalMax = ms;
    let i = 0;
    while (ms > HISTOGRAM_BOUNDS_MS[i]!) i++;
    this.buckets[i]! += times;
  }

  get count(): number { return this.seen; }

  /** Average and max since the last call (for the progress line). */
  takeInterval(): { count: number; avgMs: number; maxMs: number } {
    const r = { count: this.intervalCount, avgMs: this.intervalCount ? this.intervalSum / this.intervalCount : 0, maxMs: this.intervalMax };
    this.intervalCount = 0;
    this.intervalSum = 0;
    this.intervalMax = 0;
    return r;
  }

  summary(): LatencySummary {
    const n = this.stored;
    if (n === 0) return { count: 0, avgMs: 0, minMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
    const sorted = this.samples.slice(0, n).sort();
    const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
    return {
      count: this.seen, avgMs: this.sum / this.seen, minMs: this.min,
      p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99), p999Ms: at(0.999), maxMs: this.max,
    };
  }

  histogram(): HistogramBucket[] {
    return HISTOGRAM_BOUNDS_MS.map((leMs, i) => ({ leMs, count: this.buckets[i]! }));
  }
}

export function renderHistogram(buckets: HistogramBucket[], width = 40): string {
  const total = buckets.reduce((a, b) => a + b.count, 0);
  if (total === 0) return '(no samples)\n';
  const first = buckets.findIndex((b) => b.count > 0);
  let last = buckets.length - 1;
  while (last > first && buckets[last]!.count === 0) last--;
  const maxCount = Math.max(...buckets.map((b) => b.count));
  let out = '';
  let cumulative = 0;
  for (let i = first; i <= last; i++) {
    const b = buckets[i]!;
    cumulative += b.count;
    const label = b.leMs === Infinity ? `> ${buckets[i - 1]?.leMs ?? 0} ms` : `<= ${b.leMs} ms`;
    const bar = '#'.repeat(Math.round((b.count / maxCount) * width));
    out += `${label.padStart(12)} ${String(b.count).padStart(10)} ${((cumulative / total) * 100).toFixed(2).padStart(7)}% ${bar}\n`;
  }
  return out;
}
