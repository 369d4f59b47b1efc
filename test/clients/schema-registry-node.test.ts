/**
 * The built-in schema registry with Confluent's own JavaScript client (@confluentinc/schemaregistry):
 * its SchemaRegistryClient registers and reads schemas, its Avro and JSON Schema serializers write
 * records that kafkajs produces to topics with broker-side validation, and its deserializers read
 * them back. Records the broker must refuse (no header, unknown id, an id of another subject, bytes
 * that do not match the schema in full mode, a key without a header) fail with INVALID_RECORD and
 * leave no hole in the offsets.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import protobuf from 'protobufjs';
import {
  AvroDeserializer, AvroSerializer, JsonDeserializer, JsonSerializer, ProtobufDeserializer, SchemaRegistryClient, SerdeType,
} from '@confluentinc/schemaregistry';
import { startBroker } from '../broker/in-process-broker.js';

let env: Awaited<ReturnType<typeof startBroker>>;
let kafka: Kafka;
let producer: Producer;
let client: SchemaRegistryClient;

const ORDER = {
  type: 'record', name: 'Order', namespace: 'acme',
  fields: [{ name: 'id', type: 'long' }, { name: 'item', type: 'string' }, { name: 'qty', type: 'int' }],
};
const ORDER_JSON = {
  $schema: 'http://json-schema.org/draft-07/schema#', title: 'Order', type: 'object',
  properties: { id: { type: 'integer' }, item: { type: 'string' } }, required: ['id', 'item'],
};

before(async () => {
  env = await startBroker({ 'schema.registry.listener': '127.0.0.1:0' });
  kafka = new Kafka({ clientId: 'schema-registry-node', brokers: [env.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  const full = [{ name: 'confluent.value.schema.validation', value: 'true' }, { name: 'ferry.value.schema.validation', value: 'full' }];
  await admin.createTopics({
    topics: [
      { topic: 'orders-avro', numPartitions: 1, configEntries: full },
      { topic: 'orders-json', numPartitions: 1, configEntries: full },
      { topic: 'orders-proto', numPartitions: 1, configEntries: full },
      { topic: 'orders-id', numPartitions: 1, configEntries: [{ name: 'confluent.value.schema.validation', value: 'true' }] },
      { topic: 'orders-keyed', numPartitions: 1, configEntries: [{ name: 'confluent.key.schema.validation', value: 'true' }] },
      {
        topic: 'orders-by-record', numPartitions: 1,
        configEntries: [...full, { name: 'confluent.value.subject.name.strategy', value: 'io.confluent.kafka.serializers.subject.RecordNameStrategy' }],
      },
    ],
  });
  await admin.disconnect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  client = new SchemaRegistryClient({ baseURLs: [env.broker.parts.schemas.http!.url] });
});
after(async () => {
  await producer?.disconnect();
  await env?.cleanup();
});

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as { type?: string; originalError?: { type?: string } };
    return e.type ?? e.originalError?.type ?? String(err);
  }
  return 'accepted';
}

async function consumeAll(topic: string, n: number): Promise<Array<{ offset: string; value: Buffer; key: Buffer | null }>> {
  const consumer = kafka.consumer({ groupId: `g-${topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: Array<{ offset: string; value: Buffer; key: Buffer | null }> = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${n} records of ${topic}`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        got.push({ offset: message.offset, value: message.value!, key: message.key });
        if (got.length >= n) { clearTimeout(timer); resolve(); }
      },
    });
  });
  await consumer.disconnect();
  return got;
}

function framed(id: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, payload]);
}

test('Avro: Confluent serializer -> validated topic -> deserializer; bad records refused, offsets dense', async () => {
  const id = await client.register('orders-avro-value', { schemaType: 'AVRO', schema: JSON.stringify(ORDER) });
  assert.equal((await client.getLatestSchemaMetadata('orders-avro-value')).id, id);
  const ser = new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true });
  const orders = Array.from({ length: 50 }, (_, i) => ({ id: i, item: `item-${i}`, qty: i % 7 }));
  const values = await Promise.all(orders.map((o) => ser.serialize('orders-avro', o)));
  assert.equal(values[0]!.readInt32BE(1), id);
  await producer.send({ topic: 'orders-avro', messages: values.slice(0, 25).map((value) => ({ value })) });

  // Refused: no header; an unknown id; the id of another subject; bytes that are not an Order.
  const other = await client.register('unrelated-value', { schemaType: 'AVRO', schema: JSON.stringify({ type: 'record', name: 'X', fields: [{ name: 'b', type: 'boolean' }] }) });
  assert.equal(await refusal(producer.send({ topic: 'orders-avro', messages: [{ value: Buffer.from('{"id":1}') }] })), 'INVALID_RECORD');
  assert.equal(await refusal(producer.send({ topic: 'orders-avro', messages: [{ value: framed(987654, values[0]!.subarray(5)) }] })), 'INVALID_RECORD');
  assert.equal(await refusal(producer.send({ topic: 'orders-avro', messages: [{ value: framed(other, Buffer.from([1])) }] })), 'INVALID_RECORD');
  assert.equal(await refusal(producer.send({ topic: 'orders-avro', messages: [{ value: framed(id, Buffer.from([0xff, 0xff, 0xff])) }] })), 'INVALID_RECORD');
  // One bad record in a batch refuses the whole batch (as Kafka's LogValidator does).
  assert.equal(await refusal(producer.send({ topic: 'orders-avro', messages: [{ value: values[25] }, { value: framed(id, Buffer.alloc(0)) }] })), 'INVALID_RECORD');

  await producer.send({ topic: 'orders-avro', messages: values.slice(25).map((value) => ({ value })) });
  const got = await consumeAll('orders-avro', 50);
  assert.deepEqual(got.map((m) => Number(m.offset)), Array.from({ length: 50 }, (_, i) => i), 'offsets dense despite the refusals');
  const de = new AvroDeserializer(client, SerdeType.VALUE, {});
  const decoded = await Promise.all(got.map((m) => de.deserialize('orders-avro', m.value)));
  // avsc decodes into instances of the record's class: compare the fields.
  assert.deepEqual(decoded.map((d) => ({ ...d })), orders);
  const metrics = await env.broker.parts.metrics.scrape();
  for (const reason of ['no_header', 'unknown_id', 'wrong_subject', 'mismatch', 'ok']) {
    assert.match(metrics, new RegExp(`ferry_schema_validation_records_total\\{[^}]*result="${reason}"[^}]*\\} [1-9]`), reason);
  }
});

test('JSON Schema: Confluent serializer and deserializer through a fully validated topic', async () => {
  const id = await client.register('orders-json-value', { schemaType: 'JSON', schema: JSON.stringify(ORDER_JSON) });
  const ser = new JsonSerializer(client, SerdeType.VALUE, { useLatestVersion: true });
  const orders = Array.from({ length: 20 }, (_, i) => ({ id: i, item: `thing-${i}` }));
  const values = await Promise.all(orders.map((o) => ser.serialize('orders-json', o)));
  await producer.send({ topic: 'orders-json', messages: values.map((value) => ({ value })) });
  // A document the schema refuses (item missing, id a string), framed with the right id.
  assert.equal(await refusal(producer.send({ topic: 'orders-json', messages: [{ value: framed(id, Buffer.from('{"id":"seven"}')) }] })), 'INVALID_RECORD');
  assert.equal(await refusal(producer.send({ topic: 'orders-json', messages: [{ value: framed(id, Buffer.from('not json')) }] })), 'INVALID_RECORD');
  const got = await consumeAll('orders-json', 20);
  const de = new JsonDeserializer(client, SerdeType.VALUE, {});
  assert.deepEqual(await Promise.all(got.map((m) => de.deserialize('orders-json', m.value))), orders);
  assert.deepEqual(got.map((m) => Number(m.offset)), Array.from({ length: 20 }, (_, i) => i));
});

test('id validation only checks the id; key validation checks keys; tombstones pass', async () => {
  const id = await client.register('orders-id-value', { schemaType: 'AVRO', schema: JSON.stringify(ORDER) });
  // id mode: any bytes after a header of a schema of the subject pass.
  await producer.send({ topic: 'orders-id', messages: [{ value: framed(id, Buffer.from('anything')) }, { value: null }] });
  assert.equal(await refusal(producer.send({ topic: 'orders-id', messages: [{ value: framed(id + 1000, Buffer.from('x')) }] })), 'INVALID_RECORD');

  const keyId = await client.register('orders-keyed-key', { schemaType: 'AVRO', schema: '"string"' });
  const keySer = new AvroSerializer(client, SerdeType.KEY, { useLatestVersion: true });
  const key = await keySer.serialize('orders-keyed', 'customer-1');
  assert.equal(key.readInt32BE(1), keyId);
  await producer.send({ topic: 'orders-keyed', messages: [{ key, value: Buffer.from('plain value') }] });
  assert.equal(await refusal(producer.send({ topic: 'orders-keyed', messages: [{ key: Buffer.from('raw-key'), value: Buffer.from('v') }] })), 'INVALID_RECORD');
  const got = await consumeAll('orders-keyed', 1);
  assert.equal(await new AvroDeserializer(client, SerdeType.KEY, {}).deserialize('orders-keyed', got[0]!.key!), 'customer-1');
});

test('Protobuf registered as .proto text (as Java clients do) is read by the JavaScript ProtobufDeserializer (format=serialized)', async () => {
  const proto = `syntax = "proto3";
package acme;
import "google/protobuf/timestamp.proto";
message Order {
  int64 id = 1;
  string item = 2;
  map<string, int32> tags = 3;
  google.protobuf.Timestamp at = 4;
  Status status = 5;
  message Line { string sku = 1; }
  repeated Line lines = 6;
}
enum Status { NEW = 0; SHIPPED = 1; }`;
  const id = await client.register('orders-proto-value', { schemaType: 'PROTOBUF', schema: proto });
  const root = protobuf.parse(proto, { keepCase: true }).root;
  root.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!);
  const Order = root.lookupType('acme.Order');
  const bytes = Order.encode(Order.fromObject({ id: 7, item: 'pen', tags: { a: 1 }, at: { seconds: 1700000000, nanos: 5 }, status: 1, lines: [{ sku: 'x' }] })).finish();
  const value = Buffer.concat([framed(id, Buffer.from([0])), Buffer.from(bytes)]);
  await producer.send({ topic: 'orders-proto', messages: [{ value }] });
  assert.equal(await refusal(producer.send({ topic: 'orders-proto', messages: [{ value: framed(id, Buffer.from([0, 0x0a, 0x05])) }] })), 'INVALID_RECORD');
  const [got] = await consumeAll('orders-proto', 1);
  const msg = await new ProtobufDeserializer(client, SerdeType.VALUE, {}).deserialize('orders-proto', got!.value) as Record<string, any>;
  assert.equal(msg.$typeName, 'acme.Order');
  assert.equal(msg.item, 'pen');
  assert.equal(Number(msg.id), 7);
  assert.deepEqual(msg.tags, { a: 1 });
  assert.equal(Number(msg.at.seconds), 1700000000);
  assert.equal(msg.status, 1);
  assert.equal(msg.lines[0].sku, 'x');
});

test('RecordNameStrategy: the value schema must be registered under its record name', async () => {
  // Not yet registered under acme.Order: the id from orders-avro-value is refused.
  const byTopic = await new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true }).serialize('orders-avro', { id: 1, item: 'a', qty: 1 });
  assert.equal(await refusal(producer.send({ topic: 'orders-by-record', messages: [{ value: byTopic }] })), 'INVALID_RECORD');
  // The same schema under its record name: the same id, so the same bytes now pass.
  assert.equal(await client.register('acme.Order', { schemaType: 'AVRO', schema: JSON.stringify(ORDER) }), byTopic.readInt32BE(1));
  await producer.send({ topic: 'orders-by-record', messages: [{ value: byTopic }] });
  assert.deepEqual(await client.getAllVersions('acme.Order'), [1]);
});

test('compatibility through the client: an incompatible schema is refused with 409', async () => {
  await client.updateConfig('orders-avro-value', { compatibility: 'FULL' } as never);
  const incompatible = { ...ORDER, fields: [...ORDER.fields, { name: 'note', type: 'string' }] };
  assert.equal(await client.testCompatibility('orders-avro-value', 1, { schemaType: 'AVRO', schema: JSON.stringify(incompatible) }), false);
  const compatible = { ...ORDER, fields: [...ORDER.fields, { name: 'note', type: 'string', default: '' }] };
  assert.equal(await client.testCompatibility('orders-avro-value', 1, { schemaType: 'AVRO', schema: JSON.stringify(compatible) }), true);
  await assert.rejects(client.register('orders-avro-value', { schemaType: 'AVRO', schema: JSON.stringify(incompatible) }), (err: { status?: number; errorCode?: number }) => {
    assert.equal(err.status, 409);
    return true;
  });
  assert.ok((await client.getAllVersions('orders-avro-value')).length === 1);
});
