// fast-check arbitraries for generated messages, driven by schema.generated.ts: for a version, every
// field present in that version gets an arbitrary value (null only where nullable in that version);
// every other field keeps the default the decoder fills in.
import fc from 'fast-check';
import * as messages from '../../src/protocol/messages/index.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { SCHEMA, type FieldSchema, type MessageSchema, type VersionRange } from './schema.generated.js';

type Codec = {
  decode: (r: Reader, v: number) => unknown;
  encode: (w: Writer, v: number, m: unknown) => void;
};

const registry = messages as unknown as Record<string, unknown>;

export function codecFor(name: string): Codec {
  const decode = registry[`decode${name}`];
  const encode = registry[`encode${name}`];
  if (typeof decode !== 'function' || typeof encode !== 'function') throw new Error(`no codec for ${name}`);
  return { decode: decode as Codec['decode'], encode: encode as Codec['encode'] };
}

function defaultOf(tsName: string): Record<string, unknown> {
  const f = registry[`default${tsName}`];
  if (typeof f !== 'function') throw new Error(`no default${tsName}`);
  return (f as () => Record<string, unknown>)();
}

export function inRange(r: VersionRange, v: number): boolean {
  return r !== null && v >= r[0] && v <= r[1];
}

const hex32 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
const buf = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));

function primitive(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'bool':
      return fc.boolean();
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 });
    case 'int32':
      return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case 'int64':
      return fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
    case 'float64':
      return fc.double();
    case 'string':
      return fc.string({ maxLength: 12, unit: 'grapheme' });
    case 'uuid':
      return hex32;
    case 'bytes':
    case 'records':
      return buf(24);
    default:
      throw new Error(`unknown primitive ${type}`);
  }
}

export function structArb(schema: MessageSchema, tsName: string, version: number, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const fields = schema.structs[tsName];
  if (!fields) throw new Error(`${schema.name}: no struct ${tsName}`);
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue;
    shape[f.key] = fieldArb(schema, f, version, depth);
  }
  return fc.record(shape).map((present) => ({ ...defaultOf(tsName), ...present }));
}

function fieldArb(schema: MessageSchema, f: FieldSchema, version: number, depth: number): fc.Arbitrary<unknown> {
  const elem = f.struct ? structArb(schema, f.type, version, depth + 1) : primitive(f.type);
  // Keep nested arrays small so a message stays a few KiB.
  const value = f.array ? fc.array(elem, { maxLength: depth >= 2 ? 1 : 3 }) : elem;
  const nullable = inRange(f.nullable, version) || (f.type === 'records' && !f.array);
  return nullable ? fc.option(value, { nil: null, freq: 4 }) : value;
}

export function messageArb(schema: MessageSchema, version: number): fc.Arbitrary<Record<string, unknown>> {
  return structArb(schema, schema.name, version);
}

export function encodeMessage(name: string, version: number, m: unknown): Buffer {
  const w = new Writer(64);
  codecFor(name).encode(w, version, m);
  return Buffer.from(w.toBuffer());
}

/** Every (message, version) pair the generator produced. */
export function allMessageVersions(): { schema: MessageSchema; version: number }[] {
  const out: { schema: MessageSchema; version: number }[] = [];
  for (const schema of SCHEMA) {
    for (let v = schema.minVersion; v <= schema.maxVersion; v++) out.push({ schema, version: v });
  }
  return out;
}
