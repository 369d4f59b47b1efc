/** src/schema/avro-format.ts on the real avsc: parsing with references, the canonical form,
 * Confluent's documented BACKWARD/FORWARD examples, and the payload check (including hostile
 * block counts that avsc alone would spin on). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import avsc from 'avsc';
import { avroFormat } from '../../src/schema/avro-format.js';
import { InvalidSchemaError, PayloadMismatchError, type ParsedSchema, type ResolvedReference } from '../../src/schema/schema-format.js';

const parse = (schema: unknown, refs: ResolvedReference[] = []): ParsedSchema =>
  avroFormat.parse(typeof schema === 'string' ? schema : JSON.stringify(schema), refs);

const record = (fields: unknown[], extra: object = {}) => ({ type: 'record', name: 'User', namespace: 'com.example', fields, ...extra });

/** BACKWARD: the new schema reads data written with the old one; FORWARD: the other way. */
function compat(oldSchema: unknown, newSchema: unknown): { backward: string[]; forward: string[] } {
  const before = parse(oldSchema);
  const after = parse(newSchema);
  return { backward: after.readerIssues(before), forward: before.readerIssues(after) };
}

test('parse: a bare primitive name, a record; recordName is the full name of a named top type', () => {
  assert.equal(parse('"string"').recordName, null);
  assert.equal(parse(record([{ name: 'id', type: 'long' }])).recordName, 'com.example.User');
  assert.equal(parse({ type: 'enum', name: 'Color', symbols: ['RED'] }).recordName, 'Color');
  assert.equal(parse({ type: 'fixed', name: 'a.b.Md5', size: 16 }).recordName, 'a.b.Md5');
  assert.equal(parse(['null', 'string']).recordName, null);
  assert.equal(parse({ type: 'array', items: 'int' }).recordName, null);
});

test('parse: invalid schemas throw InvalidSchemaError with the reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['{not json', /not JSON/],
    ['"strin"', /undefined type name: strin/],
    [JSON.stringify(record([{ name: 'id', type: 'Missing' }])), /undefined type name: com.example.Missing/],
    [JSON.stringify(record([{ name: 'id', type: 'int', default: 'x' }])), /incompatible field default/],
    [JSON.stringify({ type: 'enum', name: 'E', symbols: ['A', 'A'] }), /duplicate/],
    [JSON.stringify({ type: 'fixed', name: 'F' }), /invalid F size/],
  ];
  for (const [text, reason] of cases) {
    assert.throws(() => avroFormat.parse(text, []), (err: unknown) => {
      assert.ok(err instanceof InvalidSchemaError, `${text}: ${String(err)}`);
      assert.match(err.message, reason);
      return true;
    });
  }
});

test('canonical: equal under reordered attributes, whitespace, docs, and namespace written either way', () => {
  const a = parse(record([{ name: 'id', type: 'long', doc: 'the id' }, { name: 'tags', type: { type: 'array', items: 'string' }, default: [] }], { doc: 'a user' }));
  const reordered = `{ "fields": [ {"type": "long", "name": "id"},
      {"default": [], "type": {"items": {"type": "string"}, "type": "array"}, "name": "tags", "order": "ascending"} ],
    "name": "com.example.User", "type": "record" }`;
  assert.equal(parse(reordered).canonical, a.canonical);
  // Different meaning: different canonical text.
  const different = [
    record([{ name: 'id', type: 'long' }, { name: 'tags', type: { type: 'array', items: 'string' }, default: ['x'] }]),
    record([{ name: 'id', type: { type: 'long', logicalType: 'timestamp-millis' } }, { name: 'tags', type: { type: 'array', items: 'string' }, default: [] }]),
    record([{ name: 'tags', type: { type: 'array', items: 'string' }, default: [] }, { name: 'id', type: 'long' }]),
    { ...record([{ name: 'id', type: 'long' }, { name: 'tags', type: { type: 'array', items: 'string' }, default: [] }]), namespace: 'com.other' },
  ];
  for (const schema of different) assert.notEqual(parse(schema).canonical, a.canonical, JSON.stringify(schema));
  assert.equal(parse('"int"').canonical, parse('{"type": "int"}').canonical);
});

test('references: a record uses a type from a referenced schema (depth first, shared refs once)', () => {
  const country: ResolvedReference = { name: 'com.example.Country', schema: JSON.stringify({ type: 'enum', name: 'Country', namespace: 'com.example', symbols: ['FR', 'DE'] }), references: [] };
  const address: ResolvedReference = {
    name: 'com.example.Address',
    schema: JSON.stringify({ type: 'record', name: 'Address', namespace: 'com.example', fields: [{ name: 'city', type: 'string' }, { name: 'country', type: 'Country' }] }),
    references: [country],
  };
  const user = record([{ name: 'home', type: 'Address' }, { name: 'work', type: ['null', 'com.example.Address'], default: null }, { name: 'born', type: 'com.example.Country' }]);
  const parsed = parse(user, [address, country]);
  assert.equal(parsed.recordName, 'com.example.User');

  // A datum written by avsc for the same types (inlined) passes the check.
  const registry = {};
  avsc.Type.forSchema(JSON.parse(country.schema), { registry });
  avsc.Type.forSchema(JSON.parse(address.schema), { registry });
  const writer = avsc.Type.forSchema(user as avsc.Schema, { registry });
  const datum = writer.toBuffer({ home: { city: 'Lyon', country: 'FR' }, work: { city: 'Berlin', country: 'DE' }, born: 'DE' });
  parsed.validate(datum);
  assert.throws(() => parsed.validate(datum.subarray(0, datum.length - 1)), PayloadMismatchError);

  assert.throws(() => parse(user, [country]), (err: unknown) => err instanceof InvalidSchemaError && /Address/.test(err.message));
  assert.throws(() => parse(user, [{ ...address, schema: '{"type": "record"}' }]), (err: unknown) => err instanceof InvalidSchemaError && /reference com.example.Address/.test(err.message));
});

test("Confluent's examples: adding a field with a default is BACKWARD and FORWARD (FULL)", () => {
  const v1 = record([{ name: 'f1', type: 'string' }]);
  const v2 = record([{ name: 'f1', type: 'string' }, { name: 'f2', type: 'string', default: 'foo' }]);
  assert.deepEqual(compat(v1, v2), { backward: [], forward: [] });
});

test("Confluent's examples: adding a field without a default is FORWARD only", () => {
  const { backward, forward } = compat(record([{ name: 'f1', type: 'string' }]), record([{ name: 'f1', type: 'string' }, { name: 'f2', type: 'string' }]));
  assert.deepEqual(forward, []);
  assert.equal(backward.length, 1);
  assert.match(backward[0]!, /f2 has no default/);
});

test("Confluent's examples: deleting a field is BACKWARD; FORWARD only when it had a default", () => {
  const withF2 = record([{ name: 'f1', type: 'string' }, { name: 'f2', type: 'string' }]);
  const without = record([{ name: 'f1', type: 'string' }]);
  const deleted = compat(withF2, without);
  assert.deepEqual(deleted.backward, []);
  assert.equal(deleted.forward.length, 1);
  const withDefault = record([{ name: 'f1', type: 'string' }, { name: 'f2', type: 'string', default: '' }]);
  assert.deepEqual(compat(withDefault, without), { backward: [], forward: [] });
});

test('promotions: int -> long and float -> double are BACKWARD, not FORWARD; string <-> bytes both', () => {
  const int = compat(record([{ name: 'n', type: 'int' }]), record([{ name: 'n', type: 'long' }]));
  assert.deepEqual(int.backward, []);
  assert.match(int.forward[0]!, /cannot read "long" as "int"/);
  const float = compat(record([{ name: 'n', type: 'float' }]), record([{ name: 'n', type: 'double' }]));
  assert.deepEqual(float.backward, []);
  assert.equal(float.forward.length, 1);
  assert.deepEqual(compat(record([{ name: 'n', type: 'string' }]), record([{ name: 'n', type: 'bytes' }])), { backward: [], forward: [] });
  const changed = compat(record([{ name: 'n', type: 'string' }]), record([{ name: 'n', type: 'int' }]));
  assert.equal(changed.backward.length, 1);
  assert.equal(changed.forward.length, 1);
});

test('enums: adding a symbol is BACKWARD only, unless the old reader has an enum default', () => {
  const e = (symbols: string[], extra: object = {}) => record([{ name: 'c', type: { type: 'enum', name: 'Color', symbols, ...extra } }]);
  const added = compat(e(['RED', 'GREEN']), e(['RED', 'GREEN', 'BLUE']));
  assert.deepEqual(added.backward, []);
  assert.equal(added.forward.length, 1);
  assert.deepEqual(compat(e(['RED', 'GREEN'], { default: 'RED' }), e(['RED', 'GREEN', 'BLUE'], { default: 'RED' })), { backward: [], forward: [] });
  const removed = compat(e(['RED', 'GREEN']), e(['RED']));
  assert.equal(removed.backward.length, 1);
  assert.deepEqual(removed.forward, []);
});

test('unions, namespaces and aliases', () => {
  // Making a field nullable: the new union reads the old string; the old string cannot read a null.
  const nullable = compat(record([{ name: 'n', type: 'string' }]), record([{ name: 'n', type: ['null', 'string'], default: null }]));
  assert.deepEqual(nullable.backward, []);
  assert.equal(nullable.forward.length, 1);
  // A namespace change alone is compatible (names compare unqualified, as in Avro Java).
  assert.deepEqual(compat(record([{ name: 'n', type: 'int' }]), { ...record([{ name: 'n', type: 'int' }]), namespace: 'org.other' }), { backward: [], forward: [] });
  // A renamed record or field is readable through the reader's aliases.
  const renamed = { type: 'record', name: 'Person', namespace: 'com.example', aliases: ['User'], fields: [{ name: 'fullName', type: 'string', aliases: ['name'] }] };
  const old = record([{ name: 'name', type: 'string' }]);
  assert.deepEqual(parse(renamed).readerIssues(parse(old)), []);
  assert.equal(parse({ ...renamed, aliases: [] }).readerIssues(parse(old)).length, 1);
  // Identical schemas.
  assert.deepEqual(compat(old, old), { backward: [], forward: [] });
});

test('validate: an avsc-encoded datum passes; truncated, trailing and invalid bytes are refused', () => {
  const schema = record([{ name: 'id', type: 'long' }, { name: 'name', type: 'string' }, { name: 'c', type: { type: 'enum', name: 'C', symbols: ['A', 'B'] } }, { name: 'o', type: ['null', 'int'] }]);
  const parsed = parse(schema);
  const datum = avsc.Type.forSchema(schema as avsc.Schema).toBuffer({ id: 42, name: 'ferry', c: 'B', o: 7 });
  parsed.validate(datum);
  const refused = (payload: Buffer, reason: RegExp) => assert.throws(() => parsed.validate(payload), (err: unknown) => {
    assert.ok(err instanceof PayloadMismatchError, String(err));
    assert.match(err.message, reason);
    return true;
  });
  refused(datum.subarray(0, datum.length - 1), /truncated/);
  refused(Buffer.alloc(0), /truncated/);
  refused(Buffer.concat([datum, Buffer.from([0])]), /trailing bytes/);
  const badEnum = Buffer.from(datum);
  badEnum[datum.length - 3] = 4 << 1; // enum index 4 of 2
  refused(badEnum, /enum index 4/);
  const badUnion = Buffer.from(datum);
  badUnion[datum.length - 2] = 3 << 1; // union index 3 of 2
  refused(badUnion, /union index 3/);
  parse('"string"').validate(Buffer.from([6, 0x61, 0x62, 0x63]));
  assert.throws(() => parse('"string"').validate(Buffer.from([0x7f])), PayloadMismatchError);
});

test('validate: huge block counts and deep nesting are refused quickly, without allocating them', () => {
  // avsc alone would loop 2^59 times (or exhaust the heap) on these few bytes.
  const huge = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]); // count 2^59 - 1, zig-zag
  for (const schema of [{ type: 'array', items: 'null' }, { type: 'array', items: 'int' }, { type: 'map', values: 'null' }, { type: 'array', items: { type: 'record', name: 'Empty', fields: [] } }]) {
    const started = process.hrtime.bigint();
    assert.throws(() => parse(schema).validate(huge), PayloadMismatchError, JSON.stringify(schema));
    assert.ok(process.hrtime.bigint() - started < 200_000_000n, `${JSON.stringify(schema)} took too long`);
  }
  // A legitimate array of nulls within the cap passes: 1000 items in one block, then the end.
  parse({ type: 'array', items: 'null' }).validate(Buffer.from([0xd0, 0x0f, 0x00]));
  // A linked list nested 10 000 deep: refused, not a stack overflow.
  const list = parse({ type: 'record', name: 'Node', fields: [{ name: 'next', type: ['null', 'Node'] }] });
  list.validate(Buffer.from([2, 2, 0]));
  assert.throws(() => list.validate(Buffer.concat([Buffer.alloc(10_000, 2), Buffer.from([0])])), /nested deeper/);
});
