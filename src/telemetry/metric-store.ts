/**
 * The metrics clients pushed (KIP-714), kept for the broker's Prometheus endpoint: the last value
 * of each series (client instance, metric, data point attributes).
 *
 * Bounded, so a hostile or buggy client cannot grow the broker's memory: at most `seriesMax`
 * series in all (a new series past it is dropped and counted), and a client's series go when it
 * has not pushed for `expireAfterMs` (a few push intervals); at most `clientsMax` clients are kept.
 * Attribute values are cut to ATTRIBUTE_CHARS_MAX characters and a point's labels to
 * ATTRIBUTES_MAX attributes, so one series' size is bounded as well.
 */
import type { OtlpPoint } from './otlp-metrics.js';

const ATTRIBUTES_MAX = 8;
const ATTRIBUTE_CHARS_MAX = 128;
const METRIC_CHARS_MAX = 200;

export interface ClientSeries {
  clientInstanceId: string;
  clientId: string;
  metric: string;
  /** The data point's attributes as `k=v` pairs joined by commas, sorted by key. */
  attributes: string;
  kind: OtlpPoint['kind'];
  value: number;
}

interface ClientEntry {
  clientId: string;
  lastPushMs: number;
  series: Map<string, ClientSeries>;
}

const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);

function attributesKey(attributes: Record<string, string>): string {
  return Object.keys(attributes).sort().slice(0, ATTRIBUTES_MAX)
    .map((k) => `${cut(k, ATTRIBUTE_CHARS_MAX)}=${cut(attributes[k]!, ATTRIBUTE_CHARS_MAX)}`).join(',');
}

export class ClientMetricStore {
  private readonly clients = new Map<string, ClientEntry>();
  private seriesCount = 0;
  /** Series refused because the store was full, since start. */
  droppedSeries = 0;

  constructor(private readonly options: { seriesMax: number; expireAfterMs: number; clientsMax: number }) {}

  get series(): number { return this.seriesCount; }
  get clientCount(): number { return this.clients.size; }

  /** Records one push's points (the latest value of each series wins). */
  record(clientInstanceId: string, clientId: string, points: readonly OtlpPoint[], nowMs: number): void {
    let entry = this.clients.get(clientInstanceId);
    if (!entry) {
      // Clients are bounded too: many instance ids pushing empty payloads would hold an entry each.
      if (this.clients.size >= this.options.clientsMax) { this.droppedSeries += points.length; return; }
      entry = { clientId, lastPushMs: nowMs, series: new Map() };
      this.clients.set(clientInstanceId, entry);
    }
    entry.clientId = clientId;
    entry.lastPushMs = nowMs;
    for (const p of points) {
      const metric = cut(p.metric, METRIC_CHARS_MAX);
      const attributes = attributesKey(p.attributes);
      const key = `${metric}\u0000${attributes}`;
      const known = entry.series.get(key);
      if (known) { known.value = p.value; known.kind = p.kind; known.clientId = clientId; continue; }
      if (this.seriesCount >= this.options.seriesMax) { this.droppedSeries++; continue; }
      entry.series.set(key, { clientInstanceId, clientId, metric, attributes, kind: p.kind, value: p.value });
      this.seriesCount++;
    }
  }

  /** Forgets a client and its series. */
  forget(clientInstanceId: string): void {
    const entry = this.clients.get(clientInstanceId);
    if (!entry) return;
    this.seriesCount -= entry.series.size;
    this.clients.delete(clientInstanceId);
  }

  /** Drops the clients that have not pushed for expireAfterMs. */
  expire(nowMs: number): void {
    for (const [id, entry] of this.clients) if (nowMs - entry.lastPushMs >= this.options.expireAfterMs) this.forget(id);
  }

  /** Every series, after expiring stale clients. */
  snapshot(nowMs: number): ClientSeries[] {
    this.expire(nowMs);
    const out: ClientSeries[] = [];
    for (const entry of this.clients.values()) for (const s of entry.series.values()) out.push(s);
    return out;
  }
}
