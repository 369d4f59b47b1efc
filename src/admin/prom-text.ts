/**
 * A reader of the Prometheus text exposition format (enough for our own /metrics): samples with
 * labels, and helpers to sum a metric over label filters. Used by `ferry cluster describe
 * --metrics`, `ferry cost --from-metrics` and the tests.
 */
export interface Sample { name: string; labels: Record<string, string>; value: number }

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) for (const l of m[2].matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1]!, labels, value: v });
  }
  return out;
}

export class MetricsSnapshot {
  constructor(readonly samples: Sample[], readonly atMs: number = Date.now()) {}

  static parse(text: string, atMs = Date.now()): MetricsSnapshot { return new MetricsSnapshot(parsePrometheusText(text), atMs); }

  static async fetch(url: string, timeoutMs = 10_000): Promise<MetricsSnapshot> {
    const target = /\/metrics\/?$/.test(url) ? url : `${url.replace(/\/$/, '')}/metrics`;
    const res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`GET ${target}: HTTP ${res.status}`);
    return MetricsSnapshot.parse(await res.text());
  }

  /** Sum of every sample of `name` whose labels include `filter`; 0 when there is none. */
  sum(name: string, filter: Record<string, string> = {}): number {
    let total = 0;
    for (const s of this.samples) {
      if (s.name !== name) continue;
      if (Object.entries(filter).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
    return total;
  }

  has(name: string): boolean { return this.samples.some((s) => s.name === name); }

  /** Values of `name` keyed by one label. */
  byLabel(name: string, label: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.samples) if (s.name === name && s.labels[label] !== undefined) out.set(s.labels[label]!, (out.get(s.labels[label]!) ?? 0) + s.value);
    return out;
  }

  /** Quantile q (0..1) of a histogram from its cumulative buckets (linear inside a bucket). */
  histogramQuantile(name: string, q: number, filter: Record<string, string> = {}): number | null {
    const buckets = new Map<number, number>();
    for (const s of this.samples) {
      if (s.name !== `${name}_bucket`) continue;
      if (!Object.entries(filter).every(([k, v]) => s.labels[k] === v)) continue;
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + s.value);
    }
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    const total = sorted.length ? sorted[sorted.length - 1]![1] : 0;
    if (total === 0) return null;
    const rank = q * total;
    let prevLe = 0;
    let prevCount = 0;
    for (const [le, count] of sorted) {
      if (count >= rank) {
        if (le === Infinity) return prevLe;
        const inBucket = count - prevCount;
        return inBucket === 0 ? le : prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket;
      }
      prevLe = le;
      prevCount = count;
    }
    return prevLe;
  }
}
