/**
 * Avro as a registry schema language, on avsc: parsing (with references as named types parsed
 * first into the same registry), a canonical text, schema resolution as the compatibility check
 * and the check of one binary-encoded datum.
 *
 * Compatibility is avsc's schema resolution (`reader.createResolver(writer)`, which follows the
 * Avro spec: field defaults, promotions int->long->float->double and string<->bytes, enum
 * defaults, union branches, aliases), with namespaces ignored when matching named types, as
 * Avro Java's SchemaCompatibility (Confluent's checker) compares unqualified names.
 */
import avsc from 'avsc';
import {
  InvalidSchemaError, PayloadMismatchError,
  type ParsedSchema, type ResolvedReference, type SchemaFormat,
} from './schema-format.js';
import { canonicalJson } from './json-schema-format.js';

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const NAMED = new Set(['record', 'error', 'enum', 'fixed']);

/** Nesting depth of a datum (recursive records) past which a payload is refused, not recursed. */
export const AVRO_DATUM_DEPTH_MAX = 256;
/** Items of zero-byte types (null, empty records) one datum may hold: their count costs no bytes,
 * so without a cap a 5-byte payload could ask for 2^60 of them. */
export const AVRO_ZERO_WIDTH_ITEMS_MAX = 1 << 20;

type AvroType = avsc.Type;
type Registry = { [name: string]: AvroType };

export const avroFormat: SchemaFormat = {
  type: 'AVRO',
  parse(schema: string, references: readonly ResolvedReference[]): ParsedSchema {
    const registry: Registry = {};
    const loaded = new Set<string>();
    for (const ref of references) loadReference(ref, registry, loaded);
    const json = parseJson(schema, 'schema');
    let type: AvroType;
    try {
      type = avsc.Type.forSchema(json as avsc.Schema, { registry });
    } catch (err) {
      throw new InvalidSchemaError(`invalid Avro schema: ${(err as Error).message}`);
    }
    return new AvroSchema(type, canonicalAvro(json, registry));
  },
};

/** References first (depth first), each once even when several schemas refer to it. */
function loadReference(ref: ResolvedReference, registry: Registry, loaded: Set<string>): void {
  if (loaded.has(ref.name)) return;
  loaded.add(ref.name);
  for (const inner of ref.references) loadReference(inner, registry, loaded);
  const json = parseJson(ref.schema, `reference ${ref.name}`);
  try {
    avsc.Type.forSchema(json as avsc.Schema, { registry });
  } catch (err) {
    throw new InvalidSchemaError(`invalid Avro schema in reference ${ref.name}: ${(err as Error).message}`);
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidSchemaError(`${what} is not JSON: ${(err as Error).message}`);
  }
}

class AvroSchema implements ParsedSchema {
  readonly type = 'AVRO' as const;
  readonly recordName: string | null;

  constructor(readonly avroType: AvroType, readonly canonical: string) {
    this.recordName = NAMED.has(avroType.typeName) ? avroType.name ?? null : null;
  }

  readerIssues(writer: ParsedSchema): string[] {
    if (!(writer instanceof AvroSchema)) return [`writer schema is ${writer.type}, not AVRO`];
    try {
      this.avroType.createResolver(writer.avroType, { ignoreNamespaces: true });
      return [];
    } catch (err) {
      return [`reader cannot resolve the writer schema: ${describeResolverError((err as Error).message)}`];
    }
  }

  validate(payload: Buffer): void {
    // avsc's decoder reads past the end silently and trusts block counts, so a few bytes claiming
    // 2^60 array items would spin or exhaust the heap: walk the bytes with bounds first.
    checkDatum(this.avroType, payload);
    let decoded: { value: unknown; offset: number };
    try {
      decoded = this.avroType.decode(payload, 0);
    } catch (err) {
      throw new PayloadMismatchError(`invalid Avro datum: ${(err as Error).message}`);
    }
    if (decoded.offset < 0) throw new PayloadMismatchError('truncated Avro datum');
    if (decoded.offset !== payload.length) {
      throw new PayloadMismatchError(`trailing bytes after the Avro datum: ${payload.length - decoded.offset}`);
    }
  }
}

function describeResolverError(message: string): string {
  const missing = /^no matching field for default-less (.+)$/.exec(message);
  if (missing) return `reader field ${missing[1]} has no default and the writer has no such field`;
  return message;
}

// ---------------------------------------------------------------------------------------------
// Canonical form

/**
 * The canonical text: the schema JSON with every name made a full name, the `namespace`
 * attribute folded into it, docs dropped, `{"type": "int"}` written as `"int"`, the default sort
 * `order: "ascending"` dropped, and object keys sorted; field, symbol and union branch order are
 * kept (they change the encoding). Defaults, aliases, logical types and custom attributes are
 * kept: unlike Avro's Parsing Canonical Form (which is about the encoding only), two schemas that
 * differ in those are different registered schemas, as in Confluent's registry. Referenced types
 * stay references (by full name), so the store must compare the references too, as Confluent does.
 * Not avsc's `type.schema()`: it drops logical types and custom attributes.
 */
function canonicalAvro(json: unknown, registry: Registry): string {
  return canonicalJson(normalize(json, '', registry));
}

function normalize(schema: unknown, namespace: string, registry: Registry): unknown {
  if (typeof schema === 'string') return PRIMITIVES.has(schema) ? schema : fullNameOf(schema, namespace, registry);
  if (Array.isArray(schema)) return schema.map((branch) => normalize(branch, namespace, registry));
  if (schema === null || typeof schema !== 'object') return schema;
  const obj = schema as Record<string, unknown>;
  const type = obj['type'];
  if (typeof type !== 'string') return normalize(type, namespace, registry); // {"type": {...}} or {"type": [...]}
  const out: Record<string, unknown> = {};
  let innerNamespace = namespace;
  if (NAMED.has(type) && typeof obj['name'] === 'string') {
    const name = obj['name'];
    const full = name.includes('.') ? name : qualify(name, typeof obj['namespace'] === 'string' ? obj['namespace'] : namespace);
    out['name'] = full;
    innerNamespace = full.includes('.') ? full.slice(0, full.lastIndexOf('.')) : '';
  }
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'doc' || key === 'namespace' || key === 'name') continue;
    if (key === 'fields' && Array.isArray(value)) out[key] = value.map((f) => normalizeField(f, innerNamespace, registry));
    else if (key === 'items' || key === 'values') out[key] = normalize(value, namespace, registry);
    else if (key === 'aliases' && Array.isArray(value) && NAMED.has(type)) out[key] = value.map((a) => (typeof a === 'string' && !a.includes('.') ? qualify(a, innerNamespace) : a));
    else out[key] = value;
  }
  if (PRIMITIVES.has(type) && Object.keys(out).length === 1) return type;
  return out;
}

function normalizeField(field: unknown, namespace: string, registry: Registry): unknown {
  if (field === null || typeof field !== 'object') return field;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(field as Record<string, unknown>)) {
    if (key === 'doc' || (key === 'order' && value === 'ascending')) continue;
    out[key] = key === 'type' ? normalize(value, namespace, registry) : value;
  }
  return out;
}

function qualify(name: string, namespace: string): string {
  return namespace ? `${namespace}.${name}` : name;
}

/** A name used as a type: Avro looks it up in the enclosing namespace, avsc then in the null one. */
function fullNameOf(name: string, namespace: string, registry: Registry): string {
  if (name.includes('.')) return name;
  const qualified = qualify(name, namespace);
  return qualified in registry || !(name in registry) ? qualified : name;
}

// ---------------------------------------------------------------------------------------------
// Bounded walk over one binary datum (structure only; avsc then decodes it)

class DatumReader {
  pos = 0;
  zeroWidthItems = 0;
  constructor(readonly buf: Buffer) {}

  remaining(): number { return this.buf.length - this.pos; }

  need(bytes: number): void {
    if (bytes > this.remaining()) throw new PayloadMismatchError('truncated Avro datum');
    this.pos += bytes;
  }

  /** A zig-zag varint of at most `maxBytes` bytes (5 for int, 10 for long), as a JS number. */
  varint(maxBytes: number): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < maxBytes; i++) {
      if (this.pos >= this.buf.length) throw new PayloadMismatchError('truncated Avro datum');
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      scale *= 128;
    }
    throw new PayloadMismatchError(`invalid Avro datum: varint longer than ${maxBytes} bytes`);
  }
}

function checkDatum(type: AvroType, payload: Buffer): void {
  const reader = new DatumReader(payload);
  const widths = new Map<AvroType, number>();
  try {
    walk(type, reader, 0, widths);
  } catch (err) {
    if (err instanceof RangeError) throw new PayloadMismatchError('invalid Avro datum: nested too deep');
    throw err;
  }
}

function walk(type: AvroType, r: DatumReader, depth: number, widths: Map<AvroType, number>): void {
  if (depth > AVRO_DATUM_DEPTH_MAX) throw new PayloadMismatchError(`invalid Avro datum: nested deeper than ${AVRO_DATUM_DEPTH_MAX}`);
  const t = type as unknown as AvroTypeShape;
  switch (t.typeName) {
    case 'null': return;
    case 'boolean': r.need(1); return;
    case 'int': r.varint(5); return;
    case 'long': r.varint(10); return;
    case 'float': r.need(4); return;
    case 'double': r.need(8); return;
    case 'bytes': case 'string': {
      const len = r.varint(10);
      if (len < 0) throw new PayloadMismatchError(`invalid Avro datum: negative ${t.typeName} length ${len}`);
      r.need(len);
      return;
    }
    case 'fixed': r.need(t.size!); return;
    case 'enum': {
      const index = r.varint(5);
      if (index < 0 || index >= t.symbols!.length) throw new PayloadMismatchError(`invalid Avro datum: enum index ${index} of ${t.symbols!.length} symbols`);
      return;
    }
    case 'record': case 'error':
      for (const field of t.fields!) walk(field.type, r, depth + 1, widths);
      return;
    case 'array': case 'map': {
      const item = (t.typeName === 'array' ? t.itemsType : t.valuesType)!;
      // A map entry is a string key and a value: at least one byte.
      const itemWidth = t.typeName === 'map' ? 1 : minWidth(item, widths);
      for (;;) {
        let count = r.varint(10);
        if (count === 0) return;
        if (count < 0) {
          count = -count;
          const blockBytes = r.varint(10);
          if (blockBytes < 0) throw new PayloadMismatchError(`invalid Avro datum: negative block size ${blockBytes}`);
        }
        if (itemWidth > 0 && count * itemWidth > r.remaining()) throw new PayloadMismatchError(`truncated Avro datum: ${t.typeName} block of ${count} items`);
        if (itemWidth === 0) {
          r.zeroWidthItems += count;
          if (r.zeroWidthItems > AVRO_ZERO_WIDTH_ITEMS_MAX) throw new PayloadMismatchError(`invalid Avro datum: more than ${AVRO_ZERO_WIDTH_ITEMS_MAX} zero-byte items`);
        }
        for (let i = 0; i < count; i++) {
          if (t.typeName === 'map') walkString(r);
          walk(item, r, depth + 1, widths);
        }
      }
    }
    default:
      if (t.typeName.startsWith('union')) {
        const index = r.varint(10);
        if (index < 0 || index >= t.types!.length) throw new PayloadMismatchError(`invalid Avro datum: union index ${index} of ${t.types!.length} branches`);
        walk(t.types![index]!, r, depth + 1, widths);
        return;
      }
      throw new PayloadMismatchError(`cannot check Avro type ${t.typeName}`);
  }
}

function walkString(r: DatumReader): void {
  const len = r.varint(10);
  if (len < 0) throw new PayloadMismatchError(`invalid Avro datum: negative map key length ${len}`);
  r.need(len);
}

/** The fewest bytes a value of the type takes; recursive types count 0 while being measured. */
function minWidth(type: AvroType, widths: Map<AvroType, number>): number {
  const known = widths.get(type);
  if (known !== undefined) return known;
  widths.set(type, 0);
  const t = type as unknown as AvroTypeShape;
  let width: number;
  switch (t.typeName) {
    case 'null': width = 0; break;
    case 'float': width = 4; break;
    case 'double': width = 8; break;
    case 'fixed': width = t.size!; break;
    case 'record': case 'error': width = t.fields!.reduce((sum, f) => sum + minWidth(f.type, widths), 0); break;
    default: width = 1; // varints, lengths, block counts, union and enum indexes
  }
  widths.set(type, width);
  return width;
}

/** The avsc type properties the walk reads (see avsc's types: RecordType, ArrayType, ...). */
interface AvroTypeShape {
  typeName: string;
  size?: number;
  symbols?: string[];
  fields?: Array<{ type: AvroType }>;
  itemsType?: AvroType;
  valuesType?: AvroType;
  types?: AvroType[];
}
