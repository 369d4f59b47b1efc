/**
 * Protobuf as a schema language of the registry (src/schema/schema-format.ts).
 *
 * Parsing is protobufjs's: the references (the imports, depth first) and then the main .proto text
 * are parsed into one Root, which is then resolved; google/protobuf/*.proto imports that protobufjs
 * bundles (any, duration, empty, field_mask, struct, timestamp, wrappers, descriptor) and
 * Confluent's confluent/meta.proto and confluent/type/decimal.proto resolve without a reference.
 * A schema may also be a base64 FileDescriptorProto, the form Confluent's non-Java clients send. The main file is also parsed alone, unresolved: that
 * copy says which types the file itself declares, in declaration order (the order message indexes
 * count in), and gives the canonical form without the imported files' definitions.
 *
 * Compatibility follows Confluent's protobuf-provider diff (SchemaDiff, MessageSchemaDiff,
 * FieldSchemaDiff, OneOfDiff): messages are matched by full name and fields by number; the scalar
 * groups that share a wire encoding are interchangeable; adding or removing optional fields,
 * messages' order, enums and names are free. Payloads are checked in Confluent's wire format: the
 * message indexes, then the message, whose fields must carry the wire types the schema says.
 */
import protobuf from 'protobufjs';
import descriptorExt from 'protobufjs/ext/descriptor/index.js';
import {
  InvalidSchemaError, PayloadMismatchError,
  type ParsedSchema, type ResolvedReference, type SchemaFormat,
} from './schema-format.js';

/** Message index paths longer than this are refused before allocating (Confluent's own paths are
 * as deep as the message nesting, a handful in practice). */
export const MESSAGE_INDEXES_MAX = 64;
/** A reference chain deeper than this is refused (a reference cycle would otherwise recurse). */
const REFERENCE_DEPTH_MAX = 64;

// ---------------------------------------------------------------------------------------------
// Message indexes (Confluent wire format, after magic byte and schema id)

function zigzag(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0;
}

function writeVarint(out: number[], value: number): void {
  let v = value >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

/** The message indexes as Confluent's serializers write them: [0] is the single byte 0, any
 * other path is a zigzag varint count followed by that many zigzag varints. */
export function encodeMessageIndexes(indexes: readonly number[]): Buffer {
  if (indexes.length === 1 && indexes[0] === 0) return Buffer.from([0]);
  const out: number[] = [];
  writeVarint(out, zigzag(indexes.length));
  for (const i of indexes) writeVarint(out, zigzag(i));
  return Buffer.from(out);
}

/** Reads a zigzag varint of at most 32 bits at `pos`; throws PayloadMismatchError when the
 * buffer ends inside it or it is longer than 5 bytes. */
function readZigzagVarint(buf: Buffer, pos: number): { value: number; next: number } {
  let result = 0;
  for (let i = 0; i < 5; i++) {
    if (pos + i >= buf.length) throw new PayloadMismatchError('message indexes: truncated varint');
    const b = buf[pos + i]!;
    result |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) === 0) {
      const u = result >>> 0;
      return { value: (u >>> 1) ^ -(u & 1), next: pos + i + 1 };
    }
  }
  throw new PayloadMismatchError('message indexes: varint longer than 5 bytes');
}

/** Reads the message indexes at the start of `buf` (a count of 0 means [0]). Throws
 * PayloadMismatchError on a truncated, negative or over-long path. */
export function readMessageIndexes(buf: Buffer): { indexes: number[]; bytesRead: number } {
  const count = readZigzagVarint(buf, 0);
  if (count.value === 0) return { indexes: [0], bytesRead: count.next };
  if (count.value < 0 || count.value > MESSAGE_INDEXES_MAX) {
    throw new PayloadMismatchError(`message indexes: count ${count.value} outside 0..${MESSAGE_INDEXES_MAX}`);
  }
  const indexes: number[] = [];
  let pos = count.next;
  for (let i = 0; i < count.value; i++) {
    const idx = readZigzagVarint(buf, pos);
    if (idx.value < 0) throw new PayloadMismatchError(`message indexes: negative index ${idx.value}`);
    indexes.push(idx.value);
    pos = idx.next;
  }
  return { indexes, bytesRead: pos };
}

// ---------------------------------------------------------------------------------------------
// Parsing

type NestedJson = { [name: string]: protobuf.AnyNestedObject };
interface NamespaceJson { nested?: NestedJson }
const bundled = protobuf.common as unknown as { get(file: string): NamespaceJson | null };
const DESCRIPTOR_PROTO = 'google/protobuf/descriptor.proto';

function bundledDefinitions(file: string): NestedJson | null {
  if (file === DESCRIPTOR_PROTO) {
    const ns = descriptorExt as unknown as protobuf.Namespace;
    return { google: { nested: { protobuf: ns.toJSON() as protobuf.AnyNestedObject } } };
  }
  return bundled.get(file)?.nested ?? null;
}

/** Files Confluent's registry resolves without a reference besides google/protobuf's: its
 * annotations and its decimal type (only the definitions that shape the wire are kept). */
const CONFLUENT_FILES: Record<string, string> = {
  'confluent/meta.proto': `syntax = "proto3"; package confluent; import "google/protobuf/descriptor.proto";
    message Meta { string doc = 1; map<string, string> params = 2; repeated string tags = 3; repeated Rule rules = 4; }
    message Rule { string name = 1; string doc = 2; string expr = 3; string sql = 4; }
    extend google.protobuf.FileOptions { Meta file_meta = 1088; }
    extend google.protobuf.MessageOptions { Meta message_meta = 1088; }
    extend google.protobuf.FieldOptions { Meta field_meta = 1088; }
    extend google.protobuf.EnumOptions { Meta enum_meta = 1088; }
    extend google.protobuf.EnumValueOptions { Meta enum_value_meta = 1088; }`,
  'confluent/type/decimal.proto': `syntax = "proto3"; package confluent.type;
    message Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }`,
};

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One file as written: its package, its imports and a Root holding only its own definitions,
 * unresolved, in declaration order. */
interface FileParts {
  package: string;
  imports: string[];
  alone: protobuf.Root;
}

/** Confluent's JavaScript (@confluentinc/schemaregistry) and Python (confluent-kafka) serializers
 * register a schema as a base64 FileDescriptorProto instead of .proto text; Confluent's registry
 * accepts both. Null when `text` is not one. */
function descriptorFile(text: string): { parts: FileParts; nested: NestedJson } | null {
  const trimmed = text.trim();
  if (trimmed.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return null;
  try {
    const fdp = descriptorExt.FileDescriptorProto.decode(Buffer.from(trimmed, 'base64')) as unknown as
      { package?: string; dependency?: string[] };
    const fromDescriptor = (protobuf.Root as unknown as { fromDescriptor(set: object): protobuf.Root }).fromDescriptor;
    const nested = mapsFromEntries(fromDescriptor({ file: [fdp] }).toJSON().nested ?? {});
    return {
      parts: { package: fdp.package ?? '', imports: [...(fdp.dependency ?? [])], alone: protobuf.Root.fromJSON({ nested }) },
      nested,
    };
  } catch {
    return null;
  }
}

type JsonObject = Record<string, unknown>;
const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A descriptor spells a map as a repeated field of a nested `XEntry` message marked map_entry;
 * the .proto text (and Confluent's diff, and message indexes) sees a map and no such message.
 * protobufjs's fromDescriptor keeps the entry and also marks the parent map_entry: both undone. */
function mapsFromEntries(nested: JsonObject): NestedJson {
  for (const value of Object.values(nested)) {
    if (!isObject(value)) continue;
    const children = isObject(value['nested']) ? value['nested'] : undefined;
    const fields = isObject(value['fields']) ? value['fields'] : undefined;
    if (children && fields) {
      for (const [entryName, entry] of Object.entries(children)) {
        if (!isObject(entry) || !isObject(entry['options']) || entry['options']['map_entry'] !== true) continue;
        const ef = isObject(entry['fields']) ? entry['fields'] : {};
        const key = ef['key'];
        const val = ef['value'];
        if (!isObject(key) || !isObject(val)) continue;
        for (const [name, f] of Object.entries(fields)) {
          if (!isObject(f) || f['rule'] !== 'repeated' || typeof f['type'] !== 'string') continue;
          if (f['type'] !== entryName && !f['type'].endsWith(`.${entryName}`)) continue;
          const { rule: _rule, ...rest } = f;
          fields[name] = { ...rest, keyType: key['type'], type: val['type'] };
        }
        delete children[entryName];
      }
      if (Object.keys(children).length === 0) delete value['nested'];
    }
    if (isObject(value['options'])) {
      delete value['options']['map_entry'];
      if (Object.keys(value['options']).length === 0) delete value['options'];
    }
    if (children) mapsFromEntries(children);
  }
  return nested as NestedJson;
}

/** Parses .proto files into one Root, each file once, checking every import is satisfied. */
class RootBuilder {
  readonly root = new protobuf.Root();
  private readonly files = new Set<string>();

  addReference(ref: ResolvedReference, depth: number): void {
    if (this.files.has(ref.name)) return;
    if (depth > REFERENCE_DEPTH_MAX) throw new InvalidSchemaError(`references nested deeper than ${REFERENCE_DEPTH_MAX}`);
    this.files.add(ref.name);
    for (const r of ref.references) this.addReference(r, depth + 1);
    this.addFile(ref.schema, ref.name);
  }

  /** Adds one file (.proto text, else a base64 FileDescriptorProto) to the root. The text is
   * parsed twice: alone, for the file's own declarations, and into the shared root. */
  addFile(text: string, file: string): FileParts {
    const alone = new protobuf.Root();
    let parts: FileParts;
    try {
      const result = protobuf.parse(text, alone, { keepCase: true });
      protobuf.parse(text, this.root, { keepCase: true });
      parts = { package: result.package ?? '', imports: [...(result.imports ?? []), ...(result.weakImports ?? [])], alone };
    } catch (err) {
      const descriptor = descriptorFile(text);
      if (descriptor === null) throw new InvalidSchemaError(`${file}: ${messageOf(err)}`);
      try {
        this.root.addJSON(descriptor.nested);
      } catch (addErr) {
        throw new InvalidSchemaError(`${file}: ${messageOf(addErr)}`);
      }
      parts = descriptor.parts;
    }
    for (const imp of parts.imports) this.requireImport(imp, file);
    return parts;
  }

  private requireImport(imp: string, from: string): void {
    if (this.files.has(imp)) return;
    const known = CONFLUENT_FILES[imp];
    if (known !== undefined) {
      this.files.add(imp);
      this.addFile(known, imp);
      return;
    }
    const defs = bundledDefinitions(imp);
    if (defs === null) throw new InvalidSchemaError(`${from}: import "${imp}" is neither a reference nor a bundled google/protobuf file`);
    this.files.add(imp);
    try {
      this.root.addJSON(defs);
    } catch (err) {
      throw new InvalidSchemaError(`${from}: import "${imp}": ${messageOf(err)}`);
    }
  }
}

function stripDot(fullName: string): string {
  return fullName.startsWith('.') ? fullName.slice(1) : fullName;
}

function messagesIn(ns: protobuf.NamespaceBase): protobuf.Type[] {
  return ns.nestedArray.filter((o): o is protobuf.Type => o instanceof protobuf.Type);
}

/** The JSON form with object keys sorted, except `nested`, which becomes a list in declaration
 * order (the order message indexes depend on). */
function canonicalValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalValue);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    out[key] = key === 'nested' && v !== null && typeof v === 'object'
      ? Object.entries(v).map(([name, child]) => [name, canonicalValue(child)])
      : canonicalValue(v);
  }
  return out;
}

function ownNamespace(parts: FileParts): protobuf.NamespaceBase {
  return parts.package ? parts.alone.lookup(parts.package) as protobuf.Namespace : parts.alone;
}

function canonicalText(parts: FileParts): string {
  const ns = ownNamespace(parts);
  return JSON.stringify(canonicalValue({
    package: parts.package,
    imports: [...parts.imports].sort(),
    options: ns.options ?? {},
    nested: ns.toJSON({ keepComments: false }).nested ?? {},
  }));
}

class ProtobufSchema implements ParsedSchema {
  readonly type = 'PROTOBUF' as const;
  readonly recordName: string | null;
  /** Every message the main file declares, nested ones too, by name inside the file (without
   * the package, which is compared once: Confluent's diff walks each file's types by name). */
  readonly messages = new Map<string, protobuf.Type>();

  constructor(
    readonly canonical: string,
    readonly packageName: string,
    /** The main file's top-level messages in declaration order (message index 0, 1, ...). */
    readonly topLevel: readonly protobuf.Type[],
    private readonly toSerialized: () => string,
  ) {
    this.recordName = topLevel.length > 0 ? stripDot(topLevel[0]!.fullName) : null;
    const collect = (t: protobuf.Type): void => {
      this.messages.set(localName(t), t);
      for (const n of messagesIn(t)) collect(n);
    };
    for (const t of topLevel) collect(t);
  }

  private serializedText: string | null = null;

  /** The schema as a base64 FileDescriptorProto (the REST API's format=serialized). */
  serialized(): string {
    this.serializedText ??= this.toSerialized();
    return this.serializedText;
  }

  readerIssues(writer: ParsedSchema): string[] {
    if (!(writer instanceof ProtobufSchema)) return [`writer schema is ${writer.type}, not PROTOBUF`];
    return compareSchemas(writer, this);
  }

  /** The message a path of indexes names: the first into the file's top-level messages, each
   * next one into the nested messages of the one before. */
  messageAt(indexes: readonly number[]): protobuf.Type {
    let candidates: readonly protobuf.Type[] = this.topLevel;
    let type: protobuf.Type | undefined;
    for (const [depth, i] of indexes.entries()) {
      type = candidates[i];
      if (type === undefined) {
        throw new PayloadMismatchError(`message indexes [${indexes.join(',')}]: no message at position ${depth} (${candidates.length} there)`);
      }
      candidates = messagesIn(type);
    }
    if (type === undefined) throw new PayloadMismatchError('message indexes: empty path');
    return type;
  }

  validate(payload: Buffer): void {
    const { indexes, bytesRead } = readMessageIndexes(payload);
    const type = this.messageAt(indexes);
    const body = payload.subarray(bytesRead);
    try {
      checkWireTypes(type, protobuf.Reader.create(body), body.length, 0);
      // Decoding also catches what the wire walk does not: missing proto2 required fields,
      // lengths inside packed fields, map entries.
      type.decode(body);
    } catch (err) {
      if (err instanceof PayloadMismatchError) throw err;
      throw new PayloadMismatchError(`payload is not a valid ${stripDot(type.fullName)}: ${messageOf(err)}`);
    }
  }
}

export const protobufFormat: SchemaFormat = {
  type: 'PROTOBUF',
  parse(schema: string, references: readonly ResolvedReference[]): ParsedSchema {
    const builder = new RootBuilder();
    for (const ref of references) builder.addReference(ref, 0);
    const main = builder.addFile(schema, 'schema');
    try {
      builder.root.resolveAll();
    } catch (err) {
      throw new InvalidSchemaError(messageOf(err));
    }
    const topLevel = messagesIn(ownNamespace(main)).map((t) => builder.root.lookupType(t.fullName));
    const toSerialized = (): string => {
      if (descriptorFile(schema) !== null) return schema.trim();
      const syntax = /^\s*syntax\s*=\s*["']proto3["']/m.test(schema) ? 'proto3' : 'proto2';
      const own = ownNamespace(main).nestedArray;
      const withDescriptor = (o: protobuf.ReflectionObject) => o as unknown as { toDescriptor(syntax: string): object };
      const fdp = descriptorExt.FileDescriptorProto.create({
        name: 'schema.proto',
        package: main.package || undefined,
        dependency: main.imports,
        messageType: topLevel.map((t) => withDescriptor(t).toDescriptor(syntax)),
        enumType: own.filter((o) => o instanceof protobuf.Enum).map((e) => withDescriptor(builder.root.lookupEnum(e.fullName)).toDescriptor(syntax)),
        syntax: syntax === 'proto3' ? 'proto3' : undefined,
      } as never);
      return Buffer.from(descriptorExt.FileDescriptorProto.encode(fdp).finish()).toString('base64');
    };
    return new ProtobufSchema(canonicalText(main), main.package, topLevel, toSerialized);
  },
};

// ---------------------------------------------------------------------------------------------
// Payload check: the wire types of known fields

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_FIXED32 = 5;

function scalarWireType(type: string): number | null {
  switch (type) {
    case 'int32': case 'int64': case 'uint32': case 'uint64': case 'sint32': case 'sint64': case 'bool':
      return WIRE_VARINT;
    case 'fixed64': case 'sfixed64': case 'double':
      return WIRE_FIXED64;
    case 'fixed32': case 'sfixed32': case 'float':
      return WIRE_FIXED32;
    case 'string': case 'bytes':
      return WIRE_LEN;
    default:
      return null;
  }
}

/** Walks one message's fields: a known field must carry its type's wire type (a repeated scalar
 * may also be packed), and embedded messages are walked in turn. protobufjs's decoder reads a
 * known field by its schema type whatever the wire type, so without this a payload of another
 * message type often decodes into garbage instead of failing. */
function checkWireTypes(type: protobuf.Type, reader: protobuf.Reader, end: number, depth: number): void {
  if (depth > protobuf.Reader.recursionLimit) throw new PayloadMismatchError('payload nested deeper than the recursion limit');
  while (reader.pos < end) {
    const tag = reader.uint32();
    const fieldNo = tag >>> 3;
    const wire = tag & 7;
    if (fieldNo === 0) throw new PayloadMismatchError(`${stripDot(type.fullName)}: field number 0`);
    const field = type.fieldsById[fieldNo];
    if (field === undefined || field.map || wire === WIRE_START_GROUP) {
      reader.skipType(wire);
      continue;
    }
    const resolved = field.resolvedType;
    const expected = resolved instanceof protobuf.Enum ? WIRE_VARINT
      : resolved instanceof protobuf.Type ? WIRE_LEN : scalarWireType(field.type);
    const packable = field.repeated && expected !== WIRE_LEN;
    if (wire !== expected && !(packable && wire === WIRE_LEN)) {
      throw new PayloadMismatchError(`${stripDot(type.fullName)} field ${fieldNo} (${field.name}): wire type ${wire}, expected ${expected}`);
    }
    if (resolved instanceof protobuf.Type) {
      const len = reader.uint32();
      const subEnd = reader.pos + len;
      if (subEnd > end) throw new PayloadMismatchError(`${stripDot(type.fullName)} field ${fieldNo} (${field.name}): length past the end`);
      checkWireTypes(resolved, reader, subEnd, depth + 1);
      if (reader.pos !== subEnd) throw new PayloadMismatchError(`${stripDot(type.fullName)} field ${fieldNo} (${field.name}): message overruns its length`);
    } else {
      reader.skipType(wire);
    }
  }
  if (reader.pos !== end) throw new PayloadMismatchError(`${stripDot(type.fullName)}: last field runs past the end`);
}

// ---------------------------------------------------------------------------------------------
// Compatibility (Confluent's protobuf diff, reader = the update, writer = the original)

type Kind = 'scalar' | 'message' | 'map';
type ScalarGroup = 'number' | 'signed' | 'text' | 'fixed32' | 'fixed64' | 'float' | 'double';

/** The scalars that read each other's encoding (protobuf's "Updating a message type"). Enums
 * travel as varints, so they belong to the general number group. */
function scalarGroup(type: string, resolved: protobuf.ReflectionObject | null): ScalarGroup | null {
  if (resolved instanceof protobuf.Enum) return 'number';
  switch (type) {
    case 'int32': case 'int64': case 'uint32': case 'uint64': case 'bool': return 'number';
    case 'sint32': case 'sint64': return 'signed';
    case 'string': case 'bytes': return 'text';
    case 'fixed32': case 'sfixed32': return 'fixed32';
    case 'fixed64': case 'sfixed64': return 'fixed64';
    case 'float': return 'float';
    case 'double': return 'double';
    default: return null;
  }
}

function kindOf(field: protobuf.Field): Kind {
  if (field.map) return 'map';
  return field.resolvedType instanceof protobuf.Type ? 'message' : 'scalar';
}

type Label = 'repeated' | 'required' | 'optional';

/** The label as written, null where there is none (proto3 plain fields, oneof members, maps),
 * as Confluent's parser (Wire) sees it. protobufjs keeps no rule for `optional`: proto3 marks
 * it with an option, proto2 by explicit presence. */
function labelOf(field: protobuf.Field): Label | null {
  if (field.repeated) return 'repeated';
  if (field.required) return 'required';
  if (field.map) return null;
  if (field.options?.['proto3_optional'] === true) return 'optional';
  if (field.partOf !== null && realOneofs(field.parent as protobuf.Type).includes(field.partOf)) return null;
  const features = (field as unknown as { _features?: { field_presence?: string } })._features;
  return features?.field_presence === 'EXPLICIT' ? 'optional' : null;
}

function typeName(field: protobuf.Field): string {
  const r = field.resolvedType;
  return r ? stripDot(r.fullName) : field.type;
}

/** A type's name inside its file: the full name without the package (the Namespaces above the
 * outermost enclosing message). */
function localName(type: protobuf.ReflectionObject): string {
  const parts: string[] = [];
  let t: protobuf.ReflectionObject | null = type;
  while (t instanceof protobuf.Type || t instanceof protobuf.Enum) {
    parts.unshift(t.name);
    t = t.parent;
  }
  return parts.join('.');
}

/** Oneofs as written: proto3 `optional` fields get a synthetic oneof in protobufjs that is a
 * label, not a oneof, to Confluent. */
function realOneofs(type: protobuf.Type): protobuf.OneOf[] {
  return type.oneofsArray.filter((o) => !(o.fieldsArray.length === 1 && o.fieldsArray[0]!.options?.['proto3_optional'] === true));
}

function oneofByTag(type: protobuf.Type): Map<number, string> {
  const m = new Map<number, string>();
  for (const o of realOneofs(type)) for (const f of o.fieldsArray) m.set(f.id, o.name);
  return m;
}

class Comparison {
  readonly issues: string[] = [];
  private readonly seen = new Set<string>();
  /** Issues found so far, repeats included (a repeat still makes its message incompatible). */
  private found = 0;
  /** Message pairs being or already compared, with whether they were compatible. */
  private readonly pairs = new Map<string, boolean>();

  add(issue: string): void {
    this.found++;
    if (!this.seen.has(issue)) {
      this.seen.add(issue);
      this.issues.push(issue);
    }
  }

  /** Compares two messages of the same name; true when compatible. A pair met again while being
   * compared (recursive types) counts as compatible here, its issues come from the first visit. */
  messages(writer: protobuf.Type, reader: protobuf.Type): boolean {
    const key = `${writer.fullName}\u0000${reader.fullName}`;
    const known = this.pairs.get(key);
    if (known !== undefined) return known;
    this.pairs.set(key, true);
    const before = this.found;
    this.compareFields(writer, reader);
    const ok = this.found === before;
    this.pairs.set(key, ok);
    return ok;
  }

  private compareFields(writer: protobuf.Type, reader: protobuf.Type): void {
    const where = `message ${stripDot(reader.fullName)}`;
    const wOneofOf = oneofByTag(writer);
    const rOneofOf = oneofByTag(reader);
    const wFields = writer.fieldsById;
    const rFields = reader.fieldsById;

    // A writer oneof gone from the reader together with all its fields is a plain deletion.
    const rOneofNames = new Set(realOneofs(reader).map((o) => o.name));
    const deletedOneofs = new Set(realOneofs(writer)
      .filter((o) => !rOneofNames.has(o.name) && o.fieldsArray.every((f) => rFields[f.id] === undefined))
      .map((o) => o.name));

    // New mutual exclusion: a reader oneof whose fields that existed before come from more than
    // one place (a writer oneof, or each a plain field): data with both set loses one.
    for (const o of realOneofs(reader)) {
      const origins = new Set<string>();
      const plainMovedIn: protobuf.Field[] = [];
      for (const f of o.fieldsArray) {
        const wo = wOneofOf.get(f.id);
        if (wo !== undefined) {
          origins.add(`oneof ${wo}`);
        } else if (wFields[f.id] !== undefined) {
          origins.add(`field ${f.id}`);
          plainMovedIn.push(f);
        }
      }
      if (origins.size <= 1) continue;
      if (plainMovedIn.length > 1) {
        this.add(`${where} oneof ${o.name}: fields ${plainMovedIn.map((f) => `${f.id} (${f.name})`).join(', ')} moved into one oneof`);
      } else if (plainMovedIn.length === 1) {
        this.add(`${where} oneof ${o.name}: field ${plainMovedIn[0]!.id} (${plainMovedIn[0]!.name}) moved into an existing oneof`);
      } else {
        this.add(`${where} oneof ${o.name}: fields from ${[...origins].join(' and ')} now exclude each other`);
      }
    }

    const tags = [...new Set([...Object.keys(wFields), ...Object.keys(rFields)].map(Number))].sort((x, y) => x - y);
    for (const id of tags) {
      const wf = wFields[id];
      const rf = rFields[id];
      if (wf !== undefined && rf !== undefined) {
        this.field(where, wf, rf);
      } else if (wf !== undefined) {
        const wo = wOneofOf.get(id);
        if (wo !== undefined) {
          if (!deletedOneofs.has(wo)) this.add(`${where} oneof ${wo}: field ${id} (${wf.name}) removed from the oneof`);
        } else if (wf.required) {
          this.add(`${where} field ${id} (${wf.name}): required field removed`);
        }
      } else if (rf !== undefined && rf.required && !rOneofOf.has(id)) {
        this.add(`${where} field ${id} (${rf.name}): required field added`);
      }
    }
  }

  private field(where: string, w: protobuf.Field, r: protobuf.Field): void {
    const at = `${where} field ${r.id} (${r.name})`;
    const wKind = kindOf(w);
    const rKind = kindOf(r);
    if (wKind !== rKind) {
      this.add(`${at}: kind changed from ${wKind} ${describe(w)} to ${rKind} ${describe(r)}`);
      return;
    }
    if (wKind === 'map') {
      const wk = keyTypeOf(w);
      const rk = keyTypeOf(r);
      if (scalarGroup(wk, null) !== scalarGroup(rk, null)) this.add(`${at}: map key type changed from ${wk} to ${rk}`);
      this.valueTypes(at, w, r, null);
      return;
    }
    this.valueTypes(at, w, r, [labelOf(w), labelOf(r)]);
  }

  /** Compares the (value) types of two fields of the same kind; `labels` for plain fields. */
  private valueTypes(at: string, w: protobuf.Field, r: protobuf.Field, labels: [Label | null, Label | null] | null): void {
    const wt = w.resolvedType;
    const rt = r.resolvedType;
    if (wt instanceof protobuf.Type || rt instanceof protobuf.Type) {
      if (!(wt instanceof protobuf.Type) || !(rt instanceof protobuf.Type)) {
        this.add(`${at}: type changed from ${typeName(w)} to ${typeName(r)}`);
      } else if (localName(wt) !== localName(rt)) {
        this.add(`${at}: message type changed from ${typeName(w)} to ${typeName(r)}`);
      } else if (!this.messages(wt, rt)) {
        this.add(`${at}: message type ${typeName(r)} changed incompatibly`);
      }
      return;
    }
    const wg = scalarGroup(w.type, wt);
    const rg = scalarGroup(r.type, rt);
    if (wg !== rg) {
      this.add(`${at}: type changed from ${typeName(w)} to ${typeName(r)}`);
      return;
    }
    // Confluent: a change between two written labels is incompatible for numbers (packed and
    // unpacked encodings, a required value that may be absent), compatible for string and bytes
    // (both length-delimited); a field without a label (proto3) is compared with none.
    if (labels !== null && wg !== 'text' && labels[0] !== null && labels[1] !== null && labels[0] !== labels[1]) {
      this.add(`${at}: label changed from ${labels[0]} to ${labels[1]}`);
    }
  }
}

function keyTypeOf(mapField: protobuf.Field): string {
  return (mapField as unknown as protobuf.MapField).keyType;
}

function describe(field: protobuf.Field): string {
  if (field.map) return `map<${keyTypeOf(field)}, ${typeName(field)}>`;
  return typeName(field);
}

function compareSchemas(writer: ProtobufSchema, reader: ProtobufSchema): string[] {
  const cmp = new Comparison();
  if (writer.packageName !== reader.packageName) {
    cmp.add(`package changed from "${writer.packageName}" to "${reader.packageName}"`);
  }
  for (const [name, wType] of writer.messages) {
    const rType = reader.messages.get(name);
    if (rType === undefined) cmp.add(`message ${stripDot(wType.fullName)}: in the writer schema, missing in the reader schema`);
    else cmp.messages(wType, rType);
  }
  return cmp.issues;
}
