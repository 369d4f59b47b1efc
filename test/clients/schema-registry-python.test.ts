/**
 * The built-in schema registry with confluent-kafka-python's own SchemaRegistryClient and
 * serializers (Debian python3-confluent-kafka 1.7, librdkafka 2.0.2): JSON Schema and Protobuf
 * records written by its SerializingProducer to topics with broker-side validation in full mode,
 * read back by its DeserializingConsumer; raw records the broker must refuse get INVALID_RECORD
 * (87) in the delivery report; compatibility levels and checks answer as Confluent's do.
 * Avro is left to test/clients/schema-registry-node.test.ts (1.7's Avro serializer needs fastavro,
 * which Debian does not package).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../broker/in-process-broker.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { runJson } from '../helpers/run-process.js';

const SCRIPT = fileURLToPath(new URL('./schema_registry_client.py', import.meta.url));
const INVALID_RECORD = 87;
const COUNT = 200;

let env: Awaited<ReturnType<typeof startBroker>>;
let python: string;
let registry: string;

before(async () => {
  python = requirePythonModules('confluent_kafka', 'jsonschema', 'google.protobuf', 'requests');
  env = await startBroker({ 'schema.registry.listener': '127.0.0.1:0' });
  registry = env.broker.parts.schemas.http!.url;
  const kafka = new Kafka({ clientId: 'schema-registry-python', brokers: [env.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const full = [{ name: 'confluent.value.schema.validation', value: 'true' }, { name: 'ferry.value.schema.validation', value: 'full' }];
  await admin.createTopics({
    topics: ['py-orders-json', 'py-orders-proto', 'py-orders-proto-text'].map((topic) => ({ topic, numPartitions: 1, configEntries: full })),
  });
  await admin.disconnect();
});
after(async () => { await env?.cleanup(); });

const run = (command: string, topic: string) =>
  runJson(python, [SCRIPT, command, '--bootstrap', env.bootstrap, '--registry', registry, '--topic', topic, '--count', String(COUNT)], { timeoutMs: 90_000 });

function codes(reports: Array<{ error?: number; offset?: number }>): Array<number | string> {
  return reports.map((r) => r.error ?? `offset ${r.offset}`);
}

test('JSON Schema: JSONSerializer registers and writes, JSONDeserializer reads back; bad records get INVALID_RECORD', { timeout: 100_000 }, async (t) => {
  const r = await run('json', 'py-orders-json');
  t.diagnostic(`json: ${JSON.stringify({ ...r, offsets: undefined })}`);
  assert.deepEqual(r.deliveryErrors, []);
  assert.equal(r.delivered, COUNT);
  assert.deepEqual(r.offsets, Array.from({ length: COUNT }, (_, i) => i));
  assert.equal(r.subject, 'py-orders-json-value');
  assert.equal(r.version, 1);
  assert.equal(r.schemaType, 'JSON');
  assert.equal(r.byIdType, 'JSON');
  assert.ok(r.byIdEqual, 'GET /schemas/ids/{id} returns the schema registered');
  assert.equal(r.lookupId, r.schemaId);
  assert.equal(r.lookupVersion, 1);
  assert.deepEqual(r.headerIds, [r.schemaId], 'every record carries the id get_latest_version returns');
  assert.equal(r.consumed, COUNT);
  assert.ok(r.equal, 'JSONDeserializer returns the records produced');
  // wrong types, not JSON, unknown id, no header: refused; then a good record takes the next offset.
  assert.deepEqual(codes(r.refusals), [INVALID_RECORD, INVALID_RECORD, INVALID_RECORD, INVALID_RECORD, `offset ${COUNT}`]);
  assert.ok(r.refusals.slice(0, 4).every((x: { name: string }) => x.name === 'INVALID_RECORD'));
  // A good record in a batch with a bad one is refused with it (a batch is all or nothing).
  assert.deepEqual(codes(r.mixedBatch), [INVALID_RECORD, INVALID_RECORD]);
  assert.deepEqual(codes(r.after), [`offset ${COUNT + 1}`], 'refused records leave no hole in the offsets');
});

test('compatibility through the client: levels, test_compatibility, 409 on an incompatible register, 422 and 404s', { timeout: 100_000 }, async (t) => {
  const r = await run('compat', 'py-orders-json');
  t.diagnostic(`compat: ${JSON.stringify({ ...r, offsets: undefined })}`);
  assert.equal(r.globalLevel, 'BACKWARD');
  assert.deepEqual(r.setResult, { compatibility: 'FULL' });
  assert.equal(r.level, 'FULL');
  assert.equal(r.compatible, true);
  assert.equal(r.incompatible, false);
  assert.equal(r.registerIncompatible?.http, 409);
  assert.equal(r.registerIncompatible?.code, 409);
  assert.equal(r.registerInvalid?.http, 422);
  assert.equal(r.registerInvalid?.code, 42201);
  assert.deepEqual([r.missingSubject?.http, r.missingSubject?.code], [404, 40401]);
  assert.deepEqual([r.missingId?.http, r.missingId?.code], [404, 40403]);
  assert.deepEqual([r.badLevel?.http, r.badLevel?.code], [422, 42203]);
  assert.equal(typeof r.compatibleId, 'number');
  assert.deepEqual(r.versions, [1, 2]);
});

function assertProtobufRoundTrip(r: any): void {
  assert.deepEqual(r.deliveryErrors, []);
  assert.equal(r.delivered, COUNT);
  assert.deepEqual(r.offsets, Array.from({ length: COUNT }, (_, i) => i));
  assert.equal(r.latestId, r.schemaId, 'get_latest_version returns the id the records carry');
  assert.equal(r.version, 1);
  assert.equal(r.schemaType, 'PROTOBUF');
  assert.deepEqual(r.headerIds, [r.schemaId]);
  assert.deepEqual(r.indexBytes, ['00'], 'the first message: message index byte 0');
  assert.equal(r.consumed, COUNT);
  assert.ok(r.equal, 'ProtobufDeserializer returns the records produced');
}

test('Protobuf: a .proto registered through the client; records in 1.7\'s wire format read back by ProtobufDeserializer; bad records get INVALID_RECORD', { timeout: 100_000 }, async (t) => {
  const r = await run('protobuf', 'py-orders-proto-text');
  t.diagnostic(`protobuf: ${JSON.stringify({ ...r, offsets: undefined })}`);
  assertProtobufRoundTrip(r);
  assert.equal(r.again, r.schemaId, 'registering the same schema again returns its id');
  assert.equal(r.lookupId, r.schemaId);
  // wrong wire type, truncated field, no such message index, unknown id; then a good one.
  assert.deepEqual(codes(r.refusals), [INVALID_RECORD, INVALID_RECORD, INVALID_RECORD, INVALID_RECORD, `offset ${COUNT}`]);
  // Shipment (message [1]) in Confluent's zigzag indexes is taken; 1.7's unsigned 01 01 reads
  // as count -1 and is refused in full mode (Confluent's own deserializers read zigzag too).
  assert.deepEqual(codes(r.shipment), [`offset ${COUNT + 1}`, INVALID_RECORD]);
});

// Every confluent-kafka-python ProtobufSerializer registers its schema as a base64
// FileDescriptorProto (Confluent's registry accepts it when the text does not parse as .proto).
test('Protobuf: ProtobufSerializer registers its descriptor (base64 FileDescriptorProto) and writes; ProtobufDeserializer reads back', {
  timeout: 100_000,
}, async (t) => {
  const r = await run('protobuf-serializer', 'py-orders-proto');
  t.diagnostic(`protobuf-serializer: ${JSON.stringify({ ...r, offsets: undefined })}`);
  assert.equal(r.registerError, undefined, `registering the serializer's schema: ${JSON.stringify(r.registerError)}`);
  assertProtobufRoundTrip(r);
});
