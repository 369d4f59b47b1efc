/**
 * Rates and durations as people write them on the `ferry cost` command line: `1GB/s`, `250MB/s`,
 * `1.5GiB/s`, `7d`, `36h`. Decimal units are powers of 10, binary ones (KiB, MiB, GiB) of 2.
 */

const RATE_UNITS: Record<string, number> = {
  'b/s': 1e-6, 'kb/s': 1e-3, 'mb/s': 1, 'gb/s': 1e3, 'tb/s': 1e6,
  'kib/s': 1024 / 1e6, 'mib/s': 1024 ** 2 / 1e6, 'gib/s': 1024 ** 3 / 1e6, 'tib/s': 1024 ** 4 / 1e6,
};

/** A rate in MB/s (10^6 bytes per second); a bare number is MB/s. */
export function parseRateMBps(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-z/]*)\s*$/i.exec(text);
  const unit = m?.[2]?.toLowerCase() ?? '';
  const factor = unit === '' ? 1 : RATE_UNITS[unit];
  if (!m || factor === undefined) throw new RangeError(`expected a rate such as 1GB/s, 250MB/s or 1.5GiB/s, got ${text}`);
  return Number(m[1]) * factor;
}

const DURATION_HOURS: Record<string, number> = { s: 1 / 3600, m: 1 / 60, h: 1, d: 24, w: 168 };

/** A duration in hours; a bare number is hours. */
export function parseDurationHours(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/i.exec(text);
  if (!m) throw new RangeError(`expected a duration such as 7d, 36h or 90m, got ${text}`);
  return Number(m[1]) * (m[2] ? DURATION_HOURS[m[2].toLowerCase()]! : 1);
}
