// Small runtime helpers shared by the generated codecs in messages/.
import type { Reader } from './primitives.js';

/** Reads `n` elements (n from arrayLength/compactArrayLength); a null length here is an error. */
export function readArray<T>(r: Reader, version: number, n: number, elem: (r: Reader, version: number) => T): T[] {
  if (n < 0) {
    r.fail('null array for a non-nullable field');
    return [];
  }
  const out: T[] = [];
  for (let i = 0; i < n && r.error === null; i++) out.push(elem(r, version));
  return out;
}

/** Like readArray, but a null length yields null when the field is nullable in this version. */
export function readNullableArray<T>(
  r: Reader,
  version: number,
  n: number,
  nullable: boolean,
  elem: (r: Reader, version: number) => T,
): T[] | null {
  if (n < 0 && nullable && r.error === null) return null;
  return readArray(r, version, n, elem);
}

/** Copies a decoded byte field out of the request frame so long-lived state does not pin the frame. */
export function copyBytes<T extends Buffer | null>(b: T): T {
  return (b === null ? null : Buffer.from(b)) as T;
}

/** Encoders: null for a field that is not nullable in the version being written is a bug. */
export function nonNull<T>(v: T | null, field: string): T {
  if (v === null) throw new TypeError(`field ${field} is not nullable in this version`);
  return v;
}

/**
 * Whether a (partial) value equals a default: undefined counts as default. Used to decide whether a
 * tagged struct field is written, as Kafka does (tagged fields are written only when not default).
 */
export function isDefaultDeep(v: unknown, d: unknown): boolean {
  if (v === undefined) return true;
  if (d === null || typeof d !== 'object') return v === d;
  if (Buffer.isBuffer(d)) return Buffer.isBuffer(v) && v.equals(d);
  if (Array.isArray(d)) return Array.isArray(v) && v.length === 0 && d.length === 0;
  if (v === null || typeof v !== 'object') return false;
  for (const [k, dv] of Object.entries(d)) {
    if (!isDefaultDeep((v as Record<string, unknown>)[k], dv)) return false;
  }
  return true;
}
