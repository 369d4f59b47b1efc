/** src/schema/json-schema-format.ts on the real ajv: parsing per dialect with references, the
 * canonical form, Confluent's content-model rules as a sound reader/writer check, and payloads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonSchemaFormat } from '../../src/schema/json-schema-format.js';
import { InvalidSchemaError, PayloadMismatchError, type ParsedSchema, type ResolvedReference } from '../../src/schema/schema-format.js';

const parse = (schema: unknown, refs: ResolvedReference[] = []): ParsedSchema =>
  jsonSchemaFormat.parse(typeof schema === 'string' ? schema : JSON.stringify(schema), refs);

/** Issues of new.readerIssues(old) (BACKWARD) and old.readerIssues(new) (FORWARD). */
function compat(oldSchema: unknown, newSchema: unknown): { backward: string[]; forward: string[] } {
  const before = parse(oldSchema);
  const after = parse(newSchema);
  return { backward: after.readerIssues(before), forward: before.readerIssues(after) };
}

const obj = (properties: object, extra: object = {}) => ({ type: 'object', properties, ...extra });
const closed = (properties: object, extra: object = {}) => obj(properties, { additionalProperties: false, ...extra });

test('parse: objects and booleans compile; recordName is the title', () => {
  assert.equal(parse(obj({ a: { type: 'string' } }, { title: 'Order' })).recordName, 'Order');
  assert.equal(parse(obj({})).recordName, null);
  assert.equal(parse(true).recordName, null);
  assert.equal(parse({ description: 'no title' }).recordName, null);
});

test('parse: invalid schemas throw InvalidSchemaError', () => {
  const cases: Array<[string, RegExp]> = [
    ['{nope', /not JSON/],
    ['[1, 2]', /not a JSON Schema/],
    ['42', /not a JSON Schema/],
    ['null', /not a JSON Schema/],
    ['{"type": "strin"}', /invalid JSON Schema/],
    ['{"minLength": -1}', /invalid JSON Schema/],
    ['{"$ref": "missing.json"}', /missing\.json/],
    ['{"$schema": "http://json-schema.org/draft-03/schema#", "type": "string"}', /unsupported JSON Schema dialect/],
    ['{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "required": []}', /invalid JSON Schema/],
  ];
  for (const [text, reason] of cases) {
    assert.throws(() => jsonSchemaFormat.parse(text, []), (err: unknown) => {
      assert.ok(err instanceof InvalidSchemaError, `${text}: ${String(err)}`);
      assert.match(err.message, reason);
      return true;
    });
  }
});

test('dialects: draft-07 by default, draft-06, 2019-09 and 2020-12 by $schema', () => {
  parse({ $schema: 'http://json-schema.org/draft-06/schema#', type: 'string' }).validate(Buffer.from('"x"'));
  const s2019 = parse({ $schema: 'https://json-schema.org/draft/2019-09/schema', type: 'object', dependentRequired: { a: ['b'] } });
  s2019.validate(Buffer.from('{"a": 1, "b": 2}'));
  assert.throws(() => s2019.validate(Buffer.from('{"a": 1}')), PayloadMismatchError);
  const s2020 = parse({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{ type: 'integer' }], items: { type: 'string' } });
  s2020.validate(Buffer.from('[1, "a", "b"]'));
  assert.throws(() => s2020.validate(Buffer.from('[1, 2]')), PayloadMismatchError);
});

test('draft-04 (ajv-draft-04): validates with its own keywords; boolean exclusive bounds are compared as exclusive', () => {
  const d4 = (extra: object) => ({ $schema: 'http://json-schema.org/draft-04/schema#', ...extra });
  const order = parse(d4({ type: 'object', properties: { id: { type: 'integer', minimum: 0, exclusiveMinimum: true } }, required: ['id'] }));
  order.validate(Buffer.from('{"id": 1}'));
  assert.throws(() => order.validate(Buffer.from('{"id": 0}')), PayloadMismatchError, 'exclusiveMinimum: true excludes the minimum');
  assert.throws(() => order.validate(Buffer.from('{}')), PayloadMismatchError);
  const inclusive = d4({ type: 'integer', maximum: 10 });
  const exclusive = d4({ type: 'integer', maximum: 10, exclusiveMaximum: true });
  const c = compat(inclusive, exclusive);
  assert.equal(c.backward.length, 1, 'the reader no longer takes 10');
  assert.match(c.backward[0]!, /exclusiveMaximum narrowed to 10/);
  assert.deepEqual(c.forward, [], 'an inclusive reader takes everything below 10');
  assert.deepEqual(compat(d4({ type: 'integer', minimum: 0, exclusiveMinimum: false }), d4({ type: 'integer', minimum: 0 })), { backward: [], forward: [] });
});

test('canonical: equal for reordered keys and whitespace, different for a different schema', () => {
  const a = parse(obj({ name: { type: 'string', maxLength: 10 }, age: { type: 'integer' } }, { required: ['name'] }));
  const b = parse(`{
    "required": ["name"],
    "properties": { "age": {"type": "integer"}, "name": {"maxLength": 10, "type": "string"} },
    "type": "object" }`);
  assert.equal(b.canonical, a.canonical);
  assert.deepEqual(a.readerIssues(b), []);
  assert.notEqual(parse(obj({ name: { type: 'string', maxLength: 11 }, age: { type: 'integer' } }, { required: ['name'] })).canonical, a.canonical);
});

test('references: $ref to a referenced schema by name resolves for validation and compatibility', () => {
  const address: ResolvedReference = { name: 'address.json', schema: JSON.stringify(closed({ city: { type: 'string' } }, { required: ['city'] })), references: [] };
  const user = obj({ name: { type: 'string' }, home: { $ref: 'address.json' } }, { required: ['home'] });
  const parsed = parse(user, [address]);
  parsed.validate(Buffer.from('{"name": "a", "home": {"city": "Lyon"}}'));
  assert.throws(() => parsed.validate(Buffer.from('{"home": {"town": "Lyon"}}')), (err: unknown) => err instanceof PayloadMismatchError && /city/.test(err.message));
  assert.throws(() => parse(user), InvalidSchemaError, 'a missing reference is an invalid schema');

  // The same content inline or by reference: compatible both ways.
  const inline = obj({ name: { type: 'string' }, home: JSON.parse(address.schema) }, { required: ['home'] });
  assert.deepEqual(parsed.readerIssues(parse(inline)), []);
  assert.deepEqual(parse(inline).readerIssues(parsed), []);
  // A new version of the referenced schema that narrows a type is seen through the $ref.
  const narrowed: ResolvedReference = { ...address, schema: JSON.stringify(closed({ city: { type: 'string', maxLength: 3 } }, { required: ['city'] })) };
  assert.deepEqual(parse(user, [narrowed]).readerIssues(parsed), ['#/properties/home/properties/city: maxLength narrowed from none to 3']);
});

test('closed content model: adding an optional property is BACKWARD, removing one is FORWARD', () => {
  const v1 = closed({ a: { type: 'string' } });
  const v2 = closed({ a: { type: 'string' }, b: { type: 'integer' } });
  const added = compat(v1, v2);
  assert.deepEqual(added.backward, []);
  assert.deepEqual(added.forward, ['#/properties/b: property removed from a closed content model']);
});

test('open content model: adding a typed property is not BACKWARD (old data may hold any value there); removing one is', () => {
  const v1 = obj({ a: { type: 'string' } });
  const v2 = obj({ a: { type: 'string' }, b: { type: 'integer' } });
  const added = compat(v1, v2);
  assert.deepEqual(added.backward, ['#/properties/b: property added to an open content model (the writer may have written it with any value)']);
  assert.deepEqual(added.forward, [], 'the old open reader accepts b');
  assert.deepEqual(compat(v1, obj({ a: { type: 'string' }, b: {} })).backward, [], 'a property with the empty schema adds no constraint');
  // Partially open: the writer's additionalProperties schema bounds what the added property may be.
  const partial = obj({ a: { type: 'string' } }, { additionalProperties: { type: 'string' } });
  assert.deepEqual(parse(obj({ a: { type: 'string' }, b: { type: 'string' } }, { additionalProperties: { type: 'string' } })).readerIssues(parse(partial)), []);
  assert.deepEqual(parse(obj({ a: { type: 'string' }, b: { type: 'integer' } })).readerIssues(parse(partial)), ['#/properties/b: type changed from string to integer']);
});

test('required: a property the reader requires and the writer does not is an issue', () => {
  const { backward, forward } = compat(closed({ a: { type: 'string' } }), closed({ a: { type: 'string' } }, { required: ['a'] }));
  assert.deepEqual(backward, ['#/properties/a: required by the reader but not by the writer']);
  assert.deepEqual(forward, []);
  assert.deepEqual(compat(closed({ a: { type: 'string' } }), closed({ a: { type: 'string' }, b: { type: 'string' } }, { required: ['b'] })).backward,
    ['#/properties/b: required by the reader but not by the writer']);
});

test('types: narrowing is an issue, widening is not', () => {
  const age = (type: unknown) => closed({ age: { type } });
  const narrowed = compat(age('number'), age('integer'));
  assert.deepEqual(narrowed.backward, ['#/properties/age: type changed from number to integer']);
  assert.deepEqual(narrowed.forward, [], 'integer -> number is a widening');
  assert.deepEqual(compat(age(['string', 'null']), age('string')).backward, ['#/properties/age: type changed from ["string","null"] to string']);
  assert.deepEqual(compat(age('string'), age(['string', 'null'])).backward, []);
  assert.deepEqual(compat(age('number'), age('string')).backward, ['#/properties/age: type changed from number to string']);
});

test('enums, constants and bounds: narrowing is an issue, widening is not', () => {
  const field = (schema: object) => closed({ f: schema });
  assert.deepEqual(compat(field({ enum: ['a', 'b'] }), field({ enum: ['a'] })).backward, ['#/properties/f: enum narrowed: the reader lacks "b"']);
  assert.deepEqual(compat(field({ enum: ['a'] }), field({ enum: ['a', 'b'] })).backward, []);
  assert.deepEqual(compat(field({ type: 'string' }), field({ type: 'string', enum: ['a'] })).backward, ['#/properties/f: the reader adds an enum the writer does not have']);
  assert.deepEqual(compat(field({ const: 'a' }), field({ enum: ['a', 'b'] })).backward, []);
  const cases: Array<[object, object, string]> = [
    [{ type: 'string', maxLength: 10 }, { type: 'string', maxLength: 5 }, 'maxLength narrowed from 10 to 5'],
    [{ type: 'string', minLength: 1 }, { type: 'string', minLength: 2 }, 'minLength raised from 1 to 2'],
    [{ type: 'number', maximum: 100 }, { type: 'number', maximum: 50 }, 'maximum narrowed to 50 (writer: 100)'],
    [{ type: 'number', minimum: 0 }, { type: 'number', minimum: 1 }, 'minimum raised to 1 (writer: 0)'],
    [{ type: 'number' }, { type: 'number', exclusiveMaximum: 5 }, 'exclusiveMaximum narrowed to 5 (writer: none)'],
    [{ type: 'array', maxItems: 3 }, { type: 'array', maxItems: 2 }, 'maxItems narrowed from 3 to 2'],
    [{ type: 'string' }, { type: 'string', pattern: '^a' }, 'pattern changed from null to "^a"'],
  ];
  for (const [before, after, issue] of cases) {
    const { backward, forward } = compat(field(before), field(after));
    assert.deepEqual(backward, [`#/properties/f: ${issue}`], JSON.stringify(after));
    assert.deepEqual(forward, [], `${JSON.stringify(before)} is wider`);
  }
  // A number bound does not constrain a string field.
  assert.deepEqual(compat(field({ type: 'string' }), field({ type: 'string', maximum: 3 })).backward, []);
});

test('additionalProperties going from open to closed is an issue; arrays and nested objects are compared recursively', () => {
  const open = obj({ a: { type: 'string' } });
  assert.deepEqual(compat(open, closed({ a: { type: 'string' } })).backward, ['#/additionalProperties: the reader closes the content model the writer leaves open']);
  const list = (items: object) => closed({ xs: { type: 'array', items } });
  assert.deepEqual(compat(list({ type: 'number' }), list({ type: 'integer' })).backward, ['#/properties/xs/items: type changed from number to integer']);
  const nested = (zip: object) => closed({ address: closed({ zip }) });
  assert.deepEqual(compat(nested({ type: 'string' }), nested({ type: 'string', maxLength: 5 })).backward, ['#/properties/address/properties/zip: maxLength narrowed from none to 5']);
  assert.deepEqual(compat(nested({ type: 'string', maxLength: 5 }), nested({ type: 'string' })).backward, []);
});

test('what cannot be reasoned about is an issue unless unchanged; recursive schemas terminate', () => {
  const choice = (branches: object[]) => closed({ v: { oneOf: branches } });
  assert.deepEqual(compat(choice([{ type: 'string' }, { type: 'integer' }]), choice([{ type: 'string' }, { type: 'integer' }])).backward, []);
  assert.deepEqual(compat(choice([{ type: 'string' }]), choice([{ type: 'string' }, { type: 'integer' }])).backward,
    ['#/properties/v: cannot prove compatible: #/properties/v/oneOf']);
  // A writer-only oneOf only narrows the writer: fine.
  assert.deepEqual(parse(closed({ v: {} })).readerIssues(parse(choice([{ type: 'string' }]))), []);
  // Local $ref into definitions, with a recursive tree.
  const tree = (valueType: string) => ({
    definitions: { node: closed({ value: { type: valueType }, children: { type: 'array', items: { $ref: '#/definitions/node' } } }) },
    $ref: '#/definitions/node',
  });
  assert.deepEqual(compat(tree('integer'), tree('number')).backward, []);
  assert.deepEqual(compat(tree('number'), tree('integer')).backward, ['#/properties/value: type changed from number to integer']);
  assert.deepEqual(compat(tree('number'), tree('number')), { backward: [], forward: [] });
  assert.deepEqual(parse(obj({ a: { $ref: '#/definitions/x' } }, { definitions: { x: {} } }))
    .readerIssues(parse(obj({ a: { $ref: 'elsewhere.json' } }, { definitions: { x: {} } }), [{ name: 'elsewhere.json', schema: '{}', references: [] }])), []);
});

test('boolean schemas: true accepts what anything writes; false accepts nothing', () => {
  assert.deepEqual(parse(true).readerIssues(parse(obj({ a: { type: 'string' } }))), []);
  assert.deepEqual(parse(obj({})).readerIssues(parse(false)), []);
  assert.equal(parse(false).readerIssues(parse(true)).length, 1);
  assert.deepEqual(parse({ type: 'string' }).readerIssues(parse(true)), ['#: the reader constrains what the writer leaves unconstrained']);
});

test('validate: a valid document passes; invalid, non-JSON and non-UTF-8 payloads are refused', () => {
  const parsed = parse(closed({ name: { type: 'string' }, age: { type: 'integer', minimum: 0 } }, { required: ['name'] }));
  parsed.validate(Buffer.from('{"name": "ferry", "age": 3}'));
  const refused = (payload: Buffer, reason: RegExp) => assert.throws(() => parsed.validate(payload), (err: unknown) => {
    assert.ok(err instanceof PayloadMismatchError, String(err));
    assert.match(err.message, reason);
    return true;
  });
  refused(Buffer.from('{"name": "ferry", "age": -1}'), /\/age must be >= 0/);
  refused(Buffer.from('{"age": 1}'), /must have required property 'name'/);
  refused(Buffer.from('{"name": "x", "extra": 1}'), /additional properties/);
  refused(Buffer.from('{"name": "ferry"'), /not JSON/);
  refused(Buffer.from([0x22, 0xff, 0x22]), /not JSON/);
  refused(Buffer.alloc(0), /not JSON/);
});

test('validate: a document nested deeper than the stack allows is refused, not thrown as a RangeError', () => {
  const s = jsonSchemaFormat.parse(JSON.stringify({ type: 'array', items: { $ref: '#' } }), []);
  const deep = '['.repeat(200_000) + ']'.repeat(200_000);
  assert.throws(() => s.validate(Buffer.from(deep)), PayloadMismatchError);
  s.validate(Buffer.from('[[[]]]'));
});
