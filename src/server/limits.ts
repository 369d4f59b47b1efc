/**
 * The server's memory and connection limits, shared by every connection of one listener:
 *   ByteBudget              bytes held against a broker-wide limit (queued responses, partly received
 *                           requests), with waiters told when room frees up
 *   parseConnectionOverrides  max.connections.per.ip.overrides (`host:count,host:count`) -> Map
 *   normalizeAddress        ::ffff:10.0.0.1 -> 10.0.0.1, so one client is one key
 *   RateLimitedWarn         one log line per interval for events that come in floods
 */
import { isIP } from 'node:net';
import type { Logger } from 'pino';

/** Bytes held against a limit; -1 means no limit. */
export class ByteBudget {
  private used = 0;
  private peak = 0;
  private readonly waiters = new Set<() => void>();
  private wakeScheduled = false;

  constructor(readonly limitBytes: number) {}

  get usedBytes(): number { return this.used; }
  /** Highest usedBytes seen (tests and diagnostics). */
  get peakBytes(): number { return this.peak; }
  get unlimited(): boolean { return this.limitBytes < 0; }

  /** Bytes that can still be taken before the limit (Infinity without one). */
  room(): number {
    return this.unlimited ? Infinity : Math.max(0, this.limitBytes - this.used);
  }

  hasRoom(): boolean { return this.room() > 0; }

  /** Adds (or, negative, returns) bytes unconditionally. */
  add(delta: number): void {
    if (delta === 0) return;
    this.used += delta;
    if (this.used < 0) throw new Error(`byte budget went negative (${this.used})`);
    if (this.used > this.peak) this.peak = this.used;
    if (delta < 0 && this.waiters.size > 0 && this.hasRoom()) this.scheduleWake();
  }

  /**
   * Takes `bytes` if they fit, or if nothing is held (so a single item larger than the limit still
   * goes through alone rather than never). Returns whether it took them.
   */
  tryTake(bytes: number): boolean {
    if (!this.unlimited && this.used > 0 && this.used + bytes > this.limitBytes) return false;
    this.add(bytes);
    return true;
  }

  /** Calls `wake` once, soon after room frees up; the waiter checks again and waits again if need be. */
  waitForRoom(wake: () => void): void { this.waiters.add(wake); }

  cancelWait(wake: () => void): void { this.waiters.delete(wake); }

  /** Waiters run from setImmediate, never inside the add() of whoever freed the room. */
  private scheduleWake(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      const waiters = [...this.waiters];
      this.waiters.clear();
      for (const w of waiters) w();
    });
  }
}

/** The address a socket reports, with IPv4-mapped IPv6 addresses as plain IPv4. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address.toLowerCase();
}

/**
 * Kafka's max.connections.per.ip.overrides: entries `host:count` (the count after the last ':', so
 * IPv6 addresses work: `::1:50`). Hosts are IP addresses or names (names are resolved when the
 * listener starts). Throws on a malformed entry.
 */
export function parseConnectionOverrides(entries: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const at = entry.lastIndexOf(':');
    const host = at > 0 ? entry.slice(0, at).trim() : '';
    const count = at > 0 ? entry.slice(at + 1).trim() : '';
    if (host === '' || !/^\d+$/.test(count) || Number(count) > 2147483647) {
      throw new Error(`max.connections.per.ip.overrides entry ${JSON.stringify(entry)}: expected host:count`);
    }
    out.set(isIP(host) ? normalizeAddress(host) : host.toLowerCase(), Number(count));
  }
  return out;
}

/**
 * Logs the first event at once and then at most one line per interval, with how many were not
 * logged since the last line.
 */
export class RateLimitedWarn {
  private lastMs = -Infinity;
  private suppressed = 0;

  constructor(private readonly log: Logger, private readonly intervalMs = 10_000, private readonly now: () => number = Date.now) {}

  warn(fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    if (t - this.lastMs < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.log.warn({ ...fields, notLoggedSinceLast: this.suppressed }, msg);
    this.lastMs = t;
    this.suppressed = 0;
  }
}
