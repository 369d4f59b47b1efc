// Parsers for configuration value types, and a Java .properties reader. Pure functions: each
// parser returns the typed value or throws ConfigValueError saying what was expected (the caller
// adds which key and which source).
//
// API: parseInt32, parseLong, parseDouble, parseBool, parseList, parseBytes, parseDurationMs, parseEnum,
//      parseListener, formatListener, parseHostPort, parseProperties, ConfigValueError, Listener

export class ConfigValueError extends Error {
  constructor(readonly expected: string) {
    super(expected);
    this.name = 'ConfigValueError';
  }
}

function integerOf(raw: string | number, what: string): number {
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw)) throw new ConfigValueError(what);
    return raw;
  }
  const s = raw.trim();
  if (!/^[+-]?\d+$/.test(s)) throw new ConfigValueError(what);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new ConfigValueError(what);
  return n;
}

export function parseInt32(raw: string | number): number {
  const n = integerOf(raw, 'an integer');
  if (n < -2147483648 || n > 2147483647) throw new ConfigValueError('a 32-bit integer');
  return n;
}

export function parseLong(raw: string | number): number {
  return integerOf(raw, 'an integer (at most 2^53-1)');
}

export function parseDouble(raw: string | number): number {
  const n = typeof raw === 'number' ? raw : raw.trim() === '' ? NaN : Number(raw.trim());
  if (!Number.isFinite(n)) throw new ConfigValueError('a number');
  return n;
}

export function parseBool(raw: string | boolean): boolean {
  if (typeof raw === 'boolean') return raw;
  const s = raw.trim().toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw new ConfigValueError('true or false');
}

/** Comma-separated (empty items dropped), or a JSON array from a .json file. */
export function parseList(raw: string | readonly unknown[]): string[] {
  if (Array.isArray(raw)) {
    return raw.map((item) => {
      if (typeof item !== 'string' && typeof item !== 'number') throw new ConfigValueError('a list of strings');
      return String(item).trim();
    }).filter((s) => s.length > 0);
  }
  return (raw as string).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

const BYTE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

/** A byte count: a plain integer or a number with a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB). */
export function parseBytes(raw: string | number): number {
  if (typeof raw === 'number') return integerOf(raw, 'a byte count');
  const m = /^\s*([+-]?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const expected = 'a byte count such as 1048576, 64MiB or 2GiB';
  if (!m) throw new ConfigValueError(expected);
  const unit = BYTE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) throw new ConfigValueError(expected);
  const n = Number(m[1]) * unit;
  if (!Number.isSafeInteger(n)) throw new ConfigValueError(`${expected} (a whole number of bytes)`);
  return n;
}

const DURATION_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds: a plain integer or a number with a unit (ms, s, m, h, d), e.g. 30s or 7d. */
export function parseDurationMs(raw: string | number): number {
  if (typeof raw === 'number') return integerOf(raw, 'a duration in milliseconds');
  const m = /^\s*([+-]?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const expected = 'milliseconds, or a duration such as 500ms, 30s, 5m, 12h or 7d';
  if (!m) throw new ConfigValueError(expected);
  const unit = DURATION_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) throw new ConfigValueError(expected);
  const n = Number(m[1]) * unit;
  if (!Number.isSafeInteger(n)) throw new ConfigValueError(`${expected} (a whole number of milliseconds)`);
  return n;
}

export function parseEnum(raw: string, values: readonly string[]): string {
  const s = raw.trim();
  const hit = values.find((v) => v.toLowerCase() === s.toLowerCase());
  if (hit === undefined) throw new ConfigValueError(`one of ${values.join(', ')}`);
  return hit;
}

export interface Listener {
  name: string;
  /** '' in the listener means all interfaces; it is reported as 0.0.0.0. */
  host: string;
  port: number;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);
export function isWildcardHost(host: string): boolean { return WILDCARD_HOSTS.has(host); }

/** NAME://host:port, host may be [v6]; port 0 means any free port. */
export function parseListener(raw: string): Listener {
  const expected = 'listeners like PLAINTEXT://localhost:9092 (NAME://host:port)';
  const m = /^([A-Za-z][A-Za-z0-9_]*):\/\/(\[[0-9A-Fa-f:.]+\]|[^:/\s[\]]*):(\d{1,5})$/.exec(raw.trim());
  if (!m) throw new ConfigValueError(expected);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigValueError(`${expected}; port ${port} is above 65535`);
  let host = m[2]!;
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (host === '') host = '0.0.0.0';
  return { name: m[1]!.toUpperCase(), host, port };
}

export function formatListener(l: Listener): string {
  return `${l.name}://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
}

/** host:port (host may be [v6]). */
export function parseHostPort(raw: string): { host: string; port: number } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:/\s[\]]+):(\d{1,5})$/.exec(raw.trim());
  if (!m || Number(m[2]) > 65535) throw new ConfigValueError('host:port, e.g. localhost:9644');
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port: Number(m[2]) };
}

export { parseProperties, PropertiesSyntaxError, type PropertyEntry } from '../common/properties.js';
