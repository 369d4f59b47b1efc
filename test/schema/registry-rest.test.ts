// The REST API of the built-in schema registry, on a real broker, with plain HTTP requests:
// Confluent's documented behaviour of subjects, versions, ids, compatibility, config, modes,
// soft and hard deletes and references, and its error codes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker } from '../broker/in-process-broker.js';

let url = '';
let cleanup: () => Promise<void>;
let scrape: () => Promise<string>;
before(async () => {
  const b = await startBroker({ 'schema.registry.listener': '127.0.0.1:0' });
  cleanup = b.cleanup;
  scrape = () => b.broker.parts.metrics.scrape();
  url = b.broker.parts.schemas.http!.url;
});
after(async () => { await cleanup?.(); });

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try { json = JSON.parse(text); } catch { /* raw schema */ }
  return { status: res.status, json, text };
}

const record = (fields: object[], name = 'User') => JSON.stringify({ type: 'record', name, namespace: 'acme', fields });
const V1 = record([{ name: 'name', type: 'string' }]);
const V2 = record([{ name: 'name', type: 'string' }, { name: 'age', type: 'int', default: 0 }]);
const V2_NO_DEFAULT = record([{ name: 'name', type: 'string' }, { name: 'email', type: 'string' }]);

describe('subjects and versions', () => {
  test('register, re-register, read back by id, subject and version', async () => {
    const r1 = await call('POST', '/subjects/users-value/versions', { schema: V1 });
    assert.equal(r1.status, 200, r1.text);
    const id1 = r1.json.id as number;
    assert.ok(id1 >= 1);
    // The same schema again (other whitespace): the same id, no new version.
    const again = await call('POST', '/subjects/users-value/versions', { schema: JSON.stringify(JSON.parse(V1), null, 2) });
    assert.equal(again.json.id, id1);
    const r2 = await call('POST', '/subjects/users-value/versions', { schema: V2 });
    assert.equal(r2.status, 200, r2.text);
    assert.notEqual(r2.json.id, id1);
    assert.deepEqual((await call('GET', '/subjects/users-value/versions')).json, [1, 2]);
    const latest = await call('GET', '/subjects/users-value/versions/latest');
    assert.deepEqual({ ...latest.json, schema: undefined }, { subject: 'users-value', version: 2, id: r2.json.id, schema: undefined });
    assert.deepEqual(JSON.parse(latest.json.schema), JSON.parse(V2));
    const byId = await call('GET', `/schemas/ids/${id1}`);
    assert.equal(byId.status, 200);
    assert.equal(byId.json.schemaType, undefined, 'AVRO is the default and not sent');
    assert.deepEqual(JSON.parse((await call('GET', `/schemas/ids/${id1}/schema`)).text), JSON.parse(byId.json.schema));
    assert.deepEqual((await call('GET', `/schemas/ids/${id1}/versions`)).json, [{ subject: 'users-value', version: 1 }]);
    // The same schema in another subject shares the id.
    const other = await call('POST', '/subjects/copy-value/versions', { schema: V1 });
    assert.equal(other.json.id, id1);
    assert.deepEqual((await call('GET', `/schemas/ids/${id1}/subjects`)).json, ['copy-value', 'users-value']);
    const lookup = await call('POST', '/subjects/users-value', { schema: V1 });
    assert.equal(lookup.json.version, 1);
    assert.equal(lookup.json.id, id1);
    assert.equal((await call('POST', '/subjects/users-value', { schema: record([{ name: 'x', type: 'long' }]) })).json.error_code, 40403);
    assert.ok((await call('GET', '/subjects')).json.includes('users-value'));
    assert.deepEqual((await call('GET', '/schemas/types')).json.sort(), ['AVRO', 'JSON', 'PROTOBUF']);
    assert.deepEqual((await call('GET', '/contexts')).json, ['.'], 'only the default context');
    const listed = (await call('GET', '/schemas?subjectPrefix=users-&latestOnly=true')).json;
    assert.deepEqual(listed.map((v: any) => [v.subject, v.version]), [['users-value', 2]]);
    assert.equal((await call('GET', '/schemas?subjectPrefix=users-')).json.length, 2);
  });

  test('errors carry Confluent error codes', async () => {
    assert.deepEqual(pick(await call('GET', '/subjects/nope/versions')), [404, 40401]);
    assert.deepEqual(pick(await call('GET', '/schemas/ids/999999')), [404, 40403]);
    await call('POST', '/subjects/errs-value/versions', { schema: V1 });
    assert.deepEqual(pick(await call('GET', '/subjects/errs-value/versions/7')), [404, 40402]);
    assert.deepEqual(pick(await call('GET', '/subjects/errs-value/versions/abc')), [422, 42202]);
    assert.deepEqual(pick(await call('POST', '/subjects/errs-value/versions', { schema: '{"type": "recrd"}' })), [422, 42201]);
    assert.deepEqual(pick(await call('POST', '/subjects/errs-value/versions', { schema: V1, schemaType: 'XML' })), [422, 42201]);
    assert.deepEqual(pick(await call('PUT', '/config/errs-value', { compatibility: 'SIDEWAYS' })), [422, 42203]);
    assert.deepEqual(pick(await call('PUT', '/mode/errs-value', { mode: 'WRITEONLY' })), [422, 42204]);
    assert.deepEqual(pick(await call('POST', '/subjects/errs-value/versions', '{not json')), [400, 400]);
    assert.deepEqual(pick(await call('GET', '/no/such/path')), [404, 404]);
    const big = await call('POST', '/subjects/errs-value/versions', { schema: 'x'.repeat(3 * 1024 * 1024) });
    assert.equal(big.status, 413);
  });
});

describe('compatibility', () => {
  test('BACKWARD (the default): a field with a default may be added, one without may not', async () => {
    await call('POST', '/subjects/compat-value/versions', { schema: V1 });
    const ok = await call('POST', '/compatibility/subjects/compat-value/versions/latest', { schema: V2 });
    assert.deepEqual(ok.json, { is_compatible: true });
    const bad = await call('POST', '/compatibility/subjects/compat-value/versions/latest?verbose=true', { schema: V2_NO_DEFAULT });
    assert.equal(bad.json.is_compatible, false);
    assert.ok(bad.json.messages.length > 0);
    const refused = await call('POST', '/subjects/compat-value/versions', { schema: V2_NO_DEFAULT });
    assert.deepEqual(pick(refused), [409, 409]);
  });

  test('FORWARD: removing a field without a default is refused, adding one without a default passes', async () => {
    await call('PUT', '/config/fwd-value', { compatibility: 'FORWARD' });
    assert.deepEqual((await call('GET', '/config/fwd-value')).json, { compatibilityLevel: 'FORWARD' });
    await call('POST', '/subjects/fwd-value/versions', { schema: V1 });
    assert.equal((await call('POST', '/subjects/fwd-value/versions', { schema: V2_NO_DEFAULT })).status, 200);
    const removed = record([{ name: 'email', type: 'string' }]);
    assert.equal((await call('POST', '/subjects/fwd-value/versions', { schema: removed })).status, 409);
  });

  test('FULL_TRANSITIVE checks every version, NONE none', async () => {
    await call('PUT', '/config/trans-value', { compatibility: 'FULL_TRANSITIVE' });
    await call('POST', '/subjects/trans-value/versions', { schema: V1 });
    assert.equal((await call('POST', '/subjects/trans-value/versions', { schema: V2 })).status, 200);
    // Compatible with v2 (age has a default both ways) but v1 lacks a default for name's replacement.
    const v3 = record([{ name: 'age', type: 'int', default: 0 }, { name: 'nick', type: 'string', default: '' }]);
    assert.equal((await call('POST', '/subjects/trans-value/versions', { schema: v3 })).status, 409);
    await call('PUT', '/config/trans-value', { compatibility: 'NONE' });
    assert.equal((await call('POST', '/subjects/trans-value/versions', { schema: record([{ name: 'z', type: 'bytes' }]) })).status, 200);
  });

  test('global config, subject config falling back to it, delete', async () => {
    assert.deepEqual((await call('GET', '/config')).json, { compatibilityLevel: 'BACKWARD' });
    assert.deepEqual(pick(await call('GET', '/config/unset-value')), [404, 40408]);
    assert.deepEqual((await call('GET', '/config/unset-value?defaultToGlobal=true')).json, { compatibilityLevel: 'BACKWARD' });
    assert.deepEqual((await call('PUT', '/config', { compatibility: 'full' })).json, { compatibility: 'FULL' });
    assert.deepEqual((await call('GET', '/config/unset-value?defaultToGlobal=true')).json, { compatibilityLevel: 'FULL' });
    assert.deepEqual((await call('DELETE', '/config')).json, { compatibilityLevel: 'FULL' });
    assert.deepEqual((await call('GET', '/config')).json, { compatibilityLevel: 'BACKWARD' });
  });
});

describe('deletes, modes, references', () => {
  test('soft delete hides a version, permanent delete needs a soft one first', async () => {
    await call('POST', '/subjects/del-value/versions', { schema: V1 });
    await call('POST', '/subjects/del-value/versions', { schema: V2 });
    assert.deepEqual(pick(await call('DELETE', '/subjects/del-value/versions/1?permanent=true')), [404, 40407]);
    assert.equal((await call('DELETE', '/subjects/del-value/versions/1')).json, 1);
    assert.deepEqual(pick(await call('DELETE', '/subjects/del-value/versions/1')), [404, 40406]);
    assert.deepEqual((await call('GET', '/subjects/del-value/versions')).json, [2]);
    assert.deepEqual((await call('GET', '/subjects/del-value/versions?deleted=true')).json, [1, 2]);
    assert.equal((await call('GET', '/subjects/del-value/versions/1?deleted=true')).status, 200);
    assert.equal((await call('DELETE', '/subjects/del-value/versions/1?permanent=true')).json, 1);
    assert.deepEqual((await call('GET', '/subjects/del-value/versions?deleted=true')).json, [2]);
    assert.deepEqual(pick(await call('DELETE', '/subjects/del-value?permanent=true')), [404, 40405]);
    assert.deepEqual((await call('DELETE', '/subjects/del-value')).json, [2]);
    assert.deepEqual(pick(await call('DELETE', '/subjects/del-value')), [404, 40404]);
    assert.ok(!(await call('GET', '/subjects')).json.includes('del-value'));
    assert.ok((await call('GET', '/subjects?deleted=true')).json.includes('del-value'));
    assert.deepEqual((await call('DELETE', '/subjects/del-value?permanent=true')).json, [2]);
    assert.deepEqual(pick(await call('GET', '/subjects/del-value/versions?deleted=true')), [404, 40401]);
    // Ids are never reused: a new schema gets a fresh id, the old id still reads.
    const fresh = await call('POST', '/subjects/del-value/versions', { schema: record([{ name: 'n', type: 'double' }]) });
    const ids = (await Promise.all([1, 2, 3, 4, 5, 6].map((i) => call('GET', `/schemas/ids/${i}`)))).filter((r) => r.status === 200).length;
    assert.ok(fresh.json.id > ids - 1);
  });

  test('READONLY refuses writes, IMPORT takes given ids and versions', async () => {
    await call('POST', '/subjects/ro-value/versions', { schema: V1 });
    assert.deepEqual((await call('PUT', '/mode/ro-value', { mode: 'READONLY' })).json, { mode: 'READONLY' });
    assert.deepEqual(pick(await call('POST', '/subjects/ro-value/versions', { schema: V2 })), [422, 42205]);
    assert.deepEqual((await call('DELETE', '/mode/ro-value')).json, { mode: 'READONLY' });
    assert.equal((await call('POST', '/subjects/ro-value/versions', { schema: V2 })).status, 200);
    assert.deepEqual((await call('GET', '/mode')).json, { mode: 'READWRITE' });
    assert.deepEqual(pick(await call('PUT', '/mode/ro-value', { mode: 'IMPORT' })), [422, 42205]);
    assert.deepEqual((await call('PUT', '/mode/imported-value', { mode: 'IMPORT' })).json, { mode: 'IMPORT' });
    const imported = await call('POST', '/subjects/imported-value/versions', { schema: record([{ name: 'q', type: 'float' }]), id: 5000, version: 7 });
    assert.equal(imported.status, 200, imported.text);
    assert.equal(imported.json.id, 5000);
    assert.equal((await call('GET', '/subjects/imported-value/versions/7')).json.id, 5000);
    await call('DELETE', '/mode/imported-value');
    // Ids after an imported one continue past it.
    const next = await call('POST', '/subjects/after-import-value/versions', { schema: record([{ name: 'w', type: 'boolean' }]) });
    assert.ok(next.json.id > 5000);
  });

  test('a schema referencing another; the referenced version cannot be deleted while used', async () => {
    const address = JSON.stringify({ type: 'record', name: 'Address', namespace: 'acme', fields: [{ name: 'city', type: 'string' }] });
    assert.equal((await call('POST', '/subjects/address/versions', { schema: address })).status, 200);
    const customer = JSON.stringify({ type: 'record', name: 'Customer', namespace: 'acme', fields: [{ name: 'home', type: 'acme.Address' }] });
    const reg = await call('POST', '/subjects/customer-value/versions', { schema: customer, references: [{ name: 'acme.Address', subject: 'address', version: 1 }] });
    assert.equal(reg.status, 200, reg.text);
    const byId = await call('GET', `/schemas/ids/${reg.json.id}`);
    assert.deepEqual(byId.json.references, [{ name: 'acme.Address', subject: 'address', version: 1 }]);
    assert.deepEqual((await call('GET', '/subjects/address/versions/1/referencedby')).json, [reg.json.id]);
    assert.deepEqual(pick(await call('DELETE', '/subjects/address/versions/1')), [422, 42206]);
    const missing = await call('POST', '/subjects/customer2-value/versions', { schema: customer, references: [{ name: 'acme.Address', subject: 'address', version: 9 }] });
    assert.deepEqual(pick(missing), [422, 42201]);
    // Without the reference the type is unknown.
    assert.deepEqual(pick(await call('POST', '/subjects/customer3-value/versions', { schema: customer })), [422, 42201]);
  });

  test('JSON Schema and Protobuf register with their schemaType', async () => {
    const json = JSON.stringify({ type: 'object', properties: { n: { type: 'integer' } } });
    const j = await call('POST', '/subjects/js-value/versions', { schema: json, schemaType: 'JSON' });
    assert.equal(j.status, 200, j.text);
    assert.equal((await call('GET', `/schemas/ids/${j.json.id}`)).json.schemaType, 'JSON');
    const proto = 'syntax = "proto3"; package acme; message Order { int32 qty = 1; }';
    const p = await call('POST', '/subjects/pb-value/versions', { schema: proto, schemaType: 'PROTOBUF' });
    assert.equal(p.status, 200, p.text);
    const changed = 'syntax = "proto3"; package acme; message Order { string qty = 1; }';
    assert.equal((await call('POST', '/compatibility/subjects/pb-value/versions/latest', { schema: changed, schemaType: 'PROTOBUF' })).json.is_compatible, false);
  });
});

test('metrics: requests by method and status, the registry size', async () => {
  const text = await scrape();
  const count = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  assert.ok(count(/ferry_schema_registry_requests_total\{[^}]*method="POST"[^}]*status="200"[^}]*\} (\d+)/) > 5, text.slice(0, 200));
  assert.ok(count(/ferry_schema_registry_requests_total\{[^}]*method="POST"[^}]*status="409"[^}]*\} (\d+)/) >= 1);
  assert.ok(count(/ferry_schema_registry_size\{[^}]*kind="schemas"[^}]*\} (\d+)/) >= 10);
  assert.ok(count(/ferry_schema_registry_size\{[^}]*kind="subjects"[^}]*\} (\d+)/) >= 5);
});

function pick(r: { status: number; json: any }): [number, number] {
  return [r.status, r.json?.error_code];
}
