/**
 * Protobuf as a registry schema language (src/schema/protobuf-format.ts), with real protobufjs:
 * parsing with an import given as a reference and a bundled google/protobuf import; refusals; the
 * canonical form ignoring whitespace and comments; Confluent's compatibility rules (fields added and
 * removed, scalar groups, labels, messages removed, oneofs, nested message types); and payloads in
 * Confluent's wire format (message indexes, then the message) encoded by protobufjs itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import fc from 'fast-check';
import { encodeMessageIndexes, protobufFormat, readMessageIndexes } from '../../src/schema/protobuf-format.js';
import { InvalidSchemaError, PayloadMismatchError, type ResolvedReference } from '../../src/schema/schema-format.js';

const OTHER: ResolvedReference = {
  name: 'acme/other.proto',
  schema: 'syntax = "proto3";\npackage acme.common;\nmessage Money { string currency = 1; int64 units = 2; }\n',
  references: [],
};

const ORDER = `syntax = "proto3";
package acme;
import "acme/other.proto";
import "google/protobuf/timestamp.proto";

message Order {
  int32 id = 1;
  repeated Line lines = 2;
  acme.common.Money total = 3;
  google.protobuf.Timestamp placed_at = 4;
  Status status = 5;
  message Line {
    string sku = 1;
    int32 qty = 2;
  }
  enum Status { NEW = 0; PAID = 1; }
}

message Customer {
  string name = 1;
  message Address { string city = 1; }
  message Note { string text = 1; }
}
`;

/** A one-message proto3 schema around the given body. */
function msg(body: string, extra = ''): string {
  return `syntax = "proto3";\npackage acme;\nmessage Order {\n${body}\n}\n${extra}`;
}

const parse = (text: string, refs: ResolvedReference[] = []) => protobufFormat.parse(text, refs);
const issues = (reader: string, writer: string) => parse(reader).readerIssues(parse(writer));

test('parses proto3 with a nested message, an import given as a reference and a bundled google import', () => {
  const s = parse(ORDER, [OTHER]);
  assert.equal(s.type, 'PROTOBUF');
  assert.equal(s.recordName, 'acme.Order');
  assert.deepEqual(s.readerIssues(s), []);
});

test('a reference\'s own references are parsed first, each file once', () => {
  const base: ResolvedReference = { name: 'base.proto', schema: 'syntax = "proto3"; package b; message Id { string v = 1; }', references: [] };
  const mid: ResolvedReference = {
    name: 'mid.proto', schema: 'syntax = "proto3"; package m; import "base.proto"; message Ref { b.Id id = 1; }', references: [base],
  };
  const s = parse('syntax = "proto3"; import "mid.proto"; import "base.proto"; message Top { m.Ref r = 1; b.Id i = 2; }', [mid, base]);
  assert.equal(s.recordName, 'Top');
});

test('refused schemas: syntax errors, unknown types, missing imports', () => {
  for (const [text, refs] of [
    ['syntax = "proto3"; message {', []],
    ['syntax = "proto3"; message A { B b = 1; }', []],
    ['syntax = "proto3"; message A { int32 a = 1; string b = 1; }', []],
    ['syntax = "proto3"; import "missing.proto"; message A { int32 a = 1; }', []],
    [ORDER, []],
    ['syntax = "proto3"; message A { int32 a = 1; }', [{ name: 'bad.proto', schema: 'message {', references: [] }]],
  ] as [string, ResolvedReference[]][]) {
    assert.throws(() => parse(text, refs), InvalidSchemaError, text);
  }
});

test('google/protobuf/descriptor.proto resolves without a reference (custom options)', () => {
  const s = parse(`syntax = "proto3"; import "google/protobuf/descriptor.proto";
    extend google.protobuf.FieldOptions { string pii = 50001; }
    message A { string email = 1 [(pii) = "yes"]; }`);
  assert.equal(s.recordName, 'A');
});

test('Confluent\'s own imports resolve without a reference: field annotations and its decimal type', () => {
  const s = parse(`syntax = "proto3"; package acme; import "confluent/meta.proto"; import "confluent/type/decimal.proto";
    message Price { confluent.type.Decimal amount = 1 [(confluent.field_meta) = { doc: "net", tags: ["PII"] }]; }`);
  assert.equal(s.recordName, 'acme.Price');
  s.validate(Buffer.from([0, 0x0a, 0x04, 0x0a, 0x02, 0x04, 0xd2]));
});

test('the canonical form ignores whitespace and comments, and keeps what changes meaning', () => {
  const a = parse(ORDER, [OTHER]);
  const spaced = ORDER.replace(/\n/g, '\n\n  ').replace('int32 id = 1;', '// the id\n int32   id=1 ; /* trailing */');
  const b = parse(`// leading comment\n${spaced}`, [OTHER]);
  assert.equal(a.canonical, b.canonical);
  const otherType = parse(ORDER.replace('int32 id = 1;', 'int64 id = 1;'), [OTHER]);
  assert.notEqual(a.canonical, otherType.canonical);
  // The order of messages is the order of message indexes: it matters.
  const swapped = parse('syntax = "proto3"; message B { int32 b = 1; } message A { int32 a = 1; }');
  assert.notEqual(parse('syntax = "proto3"; message A { int32 a = 1; } message B { int32 b = 1; }').canonical, swapped.canonical);
  assert.equal(swapped.recordName, 'B');
});

test('adding or removing a field is compatible both ways', () => {
  const v1 = msg('int32 id = 1;');
  const v2 = msg('int32 id = 1;\nstring note = 2;');
  assert.deepEqual(issues(v2, v1), []);
  assert.deepEqual(issues(v1, v2), []);
});

test('scalar type changes: across groups an issue naming the message and field, within a group fine', () => {
  assert.deepEqual(issues(msg('string qty = 3;'), msg('int32 qty = 3;')),
    ['message acme.Order field 3 (qty): type changed from int32 to string']);
  for (const [a, b] of [['int32', 'int64'], ['uint64', 'bool'], ['sint32', 'sint64'], ['string', 'bytes'],
    ['fixed32', 'sfixed32'], ['fixed64', 'sfixed64']]) {
    assert.deepEqual(issues(msg(`${b} f = 1;`), msg(`${a} f = 1;`)), [], `${a} -> ${b}`);
  }
  for (const [a, b] of [['int32', 'sint32'], ['fixed32', 'fixed64'], ['float', 'double'], ['int64', 'fixed64']]) {
    assert.equal(issues(msg(`${b} f = 1;`), msg(`${a} f = 1;`)).length, 1, `${a} -> ${b}`);
  }
  // An enum travels as a varint: it reads int32 and back.
  assert.deepEqual(issues(msg('E f = 1;', 'enum E { A = 0; }'), msg('int32 f = 1;')), []);
  // A rename alone changes nothing on the wire.
  assert.deepEqual(issues(msg('int32 renamed = 1;'), msg('int32 f = 1;')), []);
});

test('label changes: between written labels an issue for numbers, not for strings or messages', () => {
  assert.deepEqual(issues(msg('repeated int32 f = 1;'), msg('optional int32 f = 1;')),
    ['message acme.Order field 1 (f): label changed from optional to repeated']);
  const p2 = (field: string) => `syntax = "proto2"; package acme; message Order { ${field} }`;
  assert.deepEqual(issues(p2('repeated int64 f = 1;'), p2('optional int64 f = 1;')),
    ['message acme.Order field 1 (f): label changed from optional to repeated']);
  assert.deepEqual(issues(p2('optional int32 f = 1;'), p2('required int32 f = 1;')),
    ['message acme.Order field 1 (f): label changed from required to optional']);
  assert.deepEqual(issues(msg('repeated string f = 1;'), msg('optional string f = 1;')), []);
  assert.deepEqual(issues(msg('repeated Order g = 2;'), msg('optional Order g = 2;')), []);
  // proto3 without a label and `optional` are the same on the wire; Confluent compares a
  // missing label with nothing, so a plain proto3 field may also become repeated.
  assert.deepEqual(issues(msg('optional int32 f = 1;'), msg('int32 f = 1;')), []);
  assert.deepEqual(issues(msg('int32 f = 1;'), msg('optional int32 f = 1;')), []);
  assert.deepEqual(issues(msg('repeated int32 f = 1;'), msg('int32 f = 1;')), []);
});

test('kinds and message types: scalar to message, another message type, a nested type changed', () => {
  const withLine = (lineBody: string, field = 'Line line = 1;') => msg(`${field}\nmessage Line { ${lineBody} }\nmessage Other { int32 x = 1; }`);
  assert.match(issues(withLine('int32 qty = 1;', 'int32 line = 1;'), withLine('int32 qty = 1;'))[0]!, /field 1 \(line\): kind changed from message acme.Order.Line to scalar int32/);
  assert.deepEqual(issues(withLine('int32 qty = 1;', 'Other line = 1;'), withLine('int32 qty = 1;')),
    ['message acme.Order field 1 (line): message type changed from acme.Order.Line to acme.Order.Other']);
  const nested = issues(withLine('string qty = 1;'), withLine('int32 qty = 1;'));
  assert.ok(nested.includes('message acme.Order.Line field 1 (qty): type changed from int32 to string'), nested.join('\n'));
  assert.ok(nested.includes('message acme.Order field 1 (line): message type acme.Order.Line changed incompatibly'), nested.join('\n'));
  // Map values are compared like fields.
  assert.equal(issues(msg('map<string, string> m = 1;'), msg('map<string, int32> m = 1;')).length, 1);
  assert.deepEqual(issues(msg('map<string, int64> m = 1;'), msg('map<string, int32> m = 1;')), []);
});

test('a message of the writer missing from the reader is an issue; a new or reordered one is not', () => {
  const both = 'syntax = "proto3"; package acme; message A { int32 a = 1; } message B { int32 b = 1; }';
  const onlyA = 'syntax = "proto3"; package acme; message A { int32 a = 1; }';
  assert.deepEqual(parse(onlyA).readerIssues(parse(both)), ['message acme.B: in the writer schema, missing in the reader schema']);
  assert.deepEqual(parse(both).readerIssues(parse(onlyA)), []);
  const reordered = 'syntax = "proto3"; package acme; message B { int32 b = 1; } message A { int32 a = 1; }';
  assert.deepEqual(parse(reordered).readerIssues(parse(both)), []);
  // A removed nested message too; a changed package is one issue (messages match by name in the file).
  assert.equal(issues(msg('int32 a = 1;'), msg('int32 a = 1; message Inner { int32 x = 1; }')).length, 1);
  assert.deepEqual(parse(onlyA.replace('acme', 'acme2')).readerIssues(parse(onlyA)), ['package changed from "acme" to "acme2"']);
});

test('oneofs: moving a field into an existing oneof or several into one is an issue; one into a new oneof is not', () => {
  const plain = msg('int32 a = 1;\nstring b = 2;\noneof choice { string c = 3; }');
  assert.deepEqual(issues(msg('oneof choice { int32 a = 1; string c = 3; }\nstring b = 2;'), plain),
    ['message acme.Order oneof choice: field 1 (a) moved into an existing oneof']);
  assert.deepEqual(issues(msg('oneof pair { int32 a = 1; string b = 2; }\noneof choice { string c = 3; }'), plain),
    ['message acme.Order oneof pair: fields 1 (a), 2 (b) moved into one oneof']);
  assert.deepEqual(issues(msg('oneof solo { int32 a = 1; }\nstring b = 2;\noneof choice { string c = 3; }'), plain), []);
  // A field dropped from a oneof that stays is an issue; adding one is not; moving one out is not.
  const two = msg('oneof choice { string c = 3; int32 d = 4; }');
  assert.deepEqual(issues(msg('oneof choice { string c = 3; }'), two), ['message acme.Order oneof choice: field 4 (d) removed from the oneof']);
  assert.deepEqual(issues(two, msg('oneof choice { string c = 3; }')), []);
  assert.deepEqual(issues(msg('oneof choice { string c = 3; }\nint32 d = 4;'), two), []);
  // Two oneofs merged into one; a oneof deleted with all its fields is fine, one renamed that
  // loses a field is not.
  const twoOneofs = msg('oneof x { int32 a = 1; }\noneof y { int32 b = 2; }');
  assert.deepEqual(issues(msg('oneof xy { int32 a = 1; int32 b = 2; }'), twoOneofs),
    ['message acme.Order oneof xy: fields from oneof x and oneof y now exclude each other']);
  assert.deepEqual(issues(msg('int32 z = 9;'), two), []);
  assert.deepEqual(issues(msg('oneof renamed { string c = 3; }'), two), ['message acme.Order oneof choice: field 4 (d) removed from the oneof']);
  // A type change is caught across a move.
  assert.deepEqual(issues(msg('oneof choice { string c = 3; }\nstring d = 4;'), two),
    ['message acme.Order field 4 (d): type changed from int32 to string']);
});

test('proto2 required fields: adding or removing one is an issue', () => {
  const p2 = (body: string) => `syntax = "proto2"; package acme; message Order { ${body} }`;
  assert.deepEqual(issues(p2('optional int32 a = 1;'), p2('optional int32 a = 1; required string b = 2;')),
    ['message acme.Order field 2 (b): required field removed']);
  assert.deepEqual(issues(p2('optional int32 a = 1; required string b = 2;'), p2('optional int32 a = 1;')),
    ['message acme.Order field 2 (b): required field added']);
  assert.deepEqual(issues(p2('optional int32 a = 1; optional string b = 2;'), p2('optional int32 a = 1;')), []);
});

test('message indexes: [0] is one zero byte, other paths count then indexes, zigzag', () => {
  assert.deepEqual(encodeMessageIndexes([0]), Buffer.from([0]));
  assert.deepEqual(encodeMessageIndexes([1, 0]), Buffer.from([4, 2, 0]));
  assert.deepEqual(readMessageIndexes(Buffer.from([0, 0xff])), { indexes: [0], bytesRead: 1 });
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 30 }), { minLength: 1, maxLength: 10 }), (path) => {
    const buf = Buffer.concat([encodeMessageIndexes(path), Buffer.from([0xaa])]);
    const read = readMessageIndexes(buf);
    assert.deepEqual(read.indexes, path);
    assert.equal(read.bytesRead, buf.length - 1);
  }));
  for (const bad of [[], [4], [4, 2], [1, 1], [0x80], [0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [200, 1]]) {
    assert.throws(() => readMessageIndexes(Buffer.from(bad)), PayloadMismatchError, JSON.stringify(bad));
  }
});

/** The same schema compiled by protobufjs on its own, to encode payloads with. */
function encoderRoot(): protobuf.Root {
  const root = new protobuf.Root();
  protobuf.parse(OTHER.schema, root, { keepCase: true });
  const bundled = protobuf.common as unknown as { get(file: string): { nested: Record<string, protobuf.AnyNestedObject> } };
  root.addJSON(bundled.get('google/protobuf/timestamp.proto').nested);
  protobuf.parse(ORDER, root, { keepCase: true });
  root.resolveAll();
  return root;
}

test('payloads encoded by protobufjs validate behind their message indexes, nested paths too', () => {
  const s = parse(ORDER, [OTHER]);
  const root = encoderRoot();
  const Order = root.lookupType('acme.Order');
  const order = Buffer.from(Order.encode(Order.fromObject({
    id: 7, lines: [{ sku: 'a', qty: 2 }, { sku: 'b', qty: -1 }], total: { currency: 'EUR', units: 1200 },
    placed_at: { seconds: 1700000000, nanos: 5 }, status: 1,
  })).finish());
  s.validate(Buffer.concat([Buffer.from([0]), order]));
  s.validate(Buffer.concat([encodeMessageIndexes([0]), Buffer.alloc(0)])); // an empty message is valid
  const Address = root.lookupType('acme.Customer.Address');
  const address = Buffer.from(Address.encode({ city: 'Lyon' }).finish());
  s.validate(Buffer.concat([encodeMessageIndexes([1, 0]), address]));
  const Line = root.lookupType('acme.Order.Line');
  s.validate(Buffer.concat([encodeMessageIndexes([0, 0]), Buffer.from(Line.encode({ sku: 'x', qty: 1 }).finish())]));
  // The Order's bytes read as an Address are not an Address (field 1 is varint, not a string).
  assert.throws(() => s.validate(Buffer.concat([encodeMessageIndexes([1, 0]), order])), PayloadMismatchError);
});

test('garbage, truncated payloads and out-of-range indexes are PayloadMismatchError', () => {
  const s = parse(ORDER, [OTHER]);
  const Order = encoderRoot().lookupType('acme.Order');
  const order = Buffer.concat([Buffer.from([0]), Buffer.from(Order.encode({ id: 1, lines: [{ sku: 'abcdef', qty: 3 }] }).finish())]);
  for (let cut = 1; cut < order.length; cut++) {
    if (cut === 1 || cut === 3) continue; // [0] and [0, id=1] are complete Orders on their own
    assert.throws(() => s.validate(order.subarray(0, cut)), PayloadMismatchError, `cut at ${cut}`);
  }
  assert.throws(() => s.validate(Buffer.from([0, 0xff, 0xff, 0xff])), PayloadMismatchError);
  assert.throws(() => s.validate(Buffer.from([0, 0x0f, 0x01])), PayloadMismatchError); // wire type 7
  assert.throws(() => s.validate(Buffer.alloc(0)), PayloadMismatchError);
  for (const path of [[2], [1, 2], [0, 0, 0], [5, 0]]) {
    assert.throws(() => s.validate(Buffer.concat([encodeMessageIndexes(path), Buffer.from([0x08, 0x01])])),
      (err: unknown) => err instanceof PayloadMismatchError && /message indexes/.test(err.message), JSON.stringify(path));
  }
  // Random bytes only ever validate or give PayloadMismatchError.
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
    try {
      s.validate(Buffer.from(bytes));
    } catch (err) {
      assert.ok(err instanceof PayloadMismatchError, String(err));
    }
  }), { numRuns: 2000 });
});

test('proto2 payloads missing a required field are refused', () => {
  const s = parse('syntax = "proto2"; message P { required int32 a = 1; optional string b = 2; }');
  s.validate(Buffer.from([0, 0x08, 0x05]));
  assert.throws(() => s.validate(Buffer.from([0, 0x12, 0x01, 0x41])), PayloadMismatchError);
});

// Golden vectors from Confluent's own JavaScript serializer (@confluentinc/schemaregistry 1.10.1,
// ProtobufSerializer with autoRegisterSchemas against its MockClient): it registers a schema as a
// base64 FileDescriptorProto, not .proto text, and prefixes each record with magic 0, the schema
// id and the message indexes. CUSTOMER is the descriptor of
//   package acme; message Customer { string name = 1; Address home = 2;
//     message Address { string city = 1; int32 zip = 2; map<string, int64> tags = 3; } }
// and STRUCT is google/protobuf/struct.proto as @bufbuild/protobuf bundles it.
const CUSTOMER_DESCRIPTOR =
  'ChNhY21lL2N1c3RvbWVyLnByb3RvEgRhY21lIusBCghDdXN0b21lchISCgRuYW1lGAEgASgJUgRuYW1lEioKBGhvbWUYAiAB' +
  'KAsyFi5hY21lLkN1c3RvbWVyLkFkZHJlc3NSBGhvbWUangEKB0FkZHJlc3MSEgoEY2l0eRgBIAEoCVIEY2l0eRIQCgN6aXAY' +
  'AiABKAVSA3ppcBI0CgR0YWdzGAMgAygLMiAuYWNtZS5DdXN0b21lci5BZGRyZXNzLlRhZ3NFbnRyeVIEdGFncxo3CglUYWdz' +
  'RW50cnkSEAoDa2V5GAEgASgJUgNrZXkSFAoFdmFsdWUYAiABKANSBXZhbHVlOgI4AWIGcHJvdG8z';
const STRUCT_DESCRIPTOR =
  'Chxnb29nbGUvcHJvdG9idWYvc3RydWN0LnByb3RvEg9nb29nbGUucHJvdG9idWYimAEKBlN0cnVjdBI7CgZmaWVsZHMYASAD' +
  'KAsyIy5nb29nbGUucHJvdG9idWYuU3RydWN0LkZpZWxkc0VudHJ5UgZmaWVsZHMaUQoLRmllbGRzRW50cnkSEAoDa2V5GAEg' +
  'ASgJUgNrZXkSLAoFdmFsdWUYAiABKAsyFi5nb29nbGUucHJvdG9idWYuVmFsdWVSBXZhbHVlOgI4ASKyAgoFVmFsdWUSOwoK' +
  'bnVsbF92YWx1ZRgBIAEoDjIaLmdvb2dsZS5wcm90b2J1Zi5OdWxsVmFsdWVIAFIJbnVsbFZhbHVlEiMKDG51bWJlcl92YWx1' +
  'ZRgCIAEoAUgAUgtudW1iZXJWYWx1ZRIjCgxzdHJpbmdfdmFsdWUYAyABKAlIAFILc3RyaW5nVmFsdWUSHwoKYm9vbF92YWx1' +
  'ZRgEIAEoCEgAUglib29sVmFsdWUSPAoMc3RydWN0X3ZhbHVlGAUgASgLMhcuZ29vZ2xlLnByb3RvYnVmLlN0cnVjdEgAUgtz' +
  'dHJ1Y3RWYWx1ZRI7CgpsaXN0X3ZhbHVlGAYgASgLMhouZ29vZ2xlLnByb3RvYnVmLkxpc3RWYWx1ZUgAUglsaXN0VmFsdWVC' +
  'BgoEa2luZCI7CglMaXN0VmFsdWUSLgoGdmFsdWVzGAEgAygLMhYuZ29vZ2xlLnByb3RvYnVmLlZhbHVlUgZ2YWx1ZXMqGwoJ' +
  'TnVsbFZhbHVlEg4KCk5VTExfVkFMVUUQAEJ/ChNjb20uZ29vZ2xlLnByb3RvYnVmQgtTdHJ1Y3RQcm90b1ABWi9nb29nbGUu' +
  'Z29sYW5nLm9yZy9wcm90b2J1Zi90eXBlcy9rbm93bi9zdHJ1Y3RwYvgBAaICA0dQQqoCHkdvb2dsZS5Qcm90b2J1Zi5XZWxs' +
  'S25vd25UeXBlc2IGcHJvdG8z';
const CONFLUENT_RECORDS = {
  address: '00000000010400000a044c796f6e10899b041a050a01611005', // Address {Lyon, 69001, {a: 5}}, indexes [0, 0]
  customer: '0000000001000a03416e6e12060a044f736c6f', // Customer {Ann, {Oslo}}, indexes [0]
  value: '000000000102021a026869', // google.protobuf.Value {string_value: "hi"}, indexes [1]
  struct: '0000000002000a0e0a0161120911000000000000f83f', // Struct {a: 1.5}, indexes [0]
};
const afterHeader = (hex: string) => Buffer.from(hex, 'hex').subarray(5);

test('schemas registered by Confluent\'s JavaScript serializer (base64 descriptors) parse, and its records validate', () => {
  const customer = parse(CUSTOMER_DESCRIPTOR);
  assert.equal(customer.recordName, 'acme.Customer');
  customer.validate(afterHeader(CONFLUENT_RECORDS.address));
  customer.validate(afterHeader(CONFLUENT_RECORDS.customer));
  assert.deepEqual(readMessageIndexes(afterHeader(CONFLUENT_RECORDS.address)).indexes, [0, 0]);
  // A Customer is not an Address: field 2 is a message there, a varint here.
  assert.throws(() => customer.validate(Buffer.concat([encodeMessageIndexes([0, 0]), afterHeader(CONFLUENT_RECORDS.customer).subarray(1)])), PayloadMismatchError);
  // The descriptor's map entry is a map again: same messages, and compatible with the .proto text.
  const text = parse('syntax = "proto3"; package acme; message Customer { string name = 1; Address home = 2;\n' +
    'message Address { string city = 1; int32 zip = 2; map<string, int64> tags = 3; } }');
  assert.deepEqual(customer.readerIssues(text), []);
  assert.deepEqual(text.readerIssues(customer), []);
  assert.deepEqual(parse(CUSTOMER_DESCRIPTOR).canonical, customer.canonical);
  assert.equal(parse(` ${CUSTOMER_DESCRIPTOR}\n`).canonical, customer.canonical);
  const changed = parse('syntax = "proto3"; package acme; message Customer { string name = 1; Address home = 2;\n' +
    'message Address { string city = 1; int32 zip = 2; map<string, string> tags = 3; } }');
  assert.equal(changed.readerIssues(customer).length, 2, changed.readerIssues(customer).join('\n'));

  const struct = parse(STRUCT_DESCRIPTOR);
  assert.equal(struct.recordName, 'google.protobuf.Struct');
  struct.validate(afterHeader(CONFLUENT_RECORDS.value));
  struct.validate(afterHeader(CONFLUENT_RECORDS.struct));
  // Not base64 of a descriptor, not .proto text either.
  assert.throws(() => parse('AAAA'), InvalidSchemaError);
});
