/**
 * The admin client (src/admin/admin-client.ts) against an in-process broker: bootstrap past an
 * unreachable address, metadata, topic admin and configs, offsets, a group's committed offsets
 * and lifecycle, cluster description; errors as AdminError with Kafka's names. The CLI built on
 * it is tested in test/cli/admin.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AdminClient, ConfigResource, EARLIEST, LATEST, decodeAssignment, decodeSubscription } from '../../src/admin/admin-client.js';
import { AdminError, ConnectionError } from '../../src/admin/errors.js';
import { parseAddress } from '../../src/admin/kafka-connection.js';
import { ApiKey, encodeConsumerProtocolAssignment, encodeConsumerProtocolSubscription } from '../../src/protocol/messages/index.js';
import { Writer } from '../../src/protocol/primitives.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';
import { startBroker } from '../broker/in-process-broker.js';
import { freePort } from '../helpers/ports.js';

let env: Awaited<ReturnType<typeof startBroker>>;
let admin: AdminClient;
let unusedPort: number;

before(async () => {
  env = await startBroker();
  unusedPort = await freePort();
  admin = await AdminClient.connect({ bootstrap: [`127.0.0.1:${unusedPort}`, env.bootstrap], clientId: 'admin-test', connectTimeoutMs: 2_000 });
});
after(async () => {
  admin?.close();
  await env?.cleanup();
});

async function adminError(p: Promise<unknown>, name: string): Promise<AdminError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AdminError, `an AdminError, got ${err}`);
    assert.equal(err.errorName, name);
    assert.equal(err.code, 'KAFKA_ERROR');
    return err;
  }
  assert.fail(`expected ${name}`);
}

test('bootstrap skips an unreachable address; metadata names this broker, the controller and the cluster', async () => {
  const md = await admin.metadata(null);
  assert.equal(md.brokers.length, 1);
  const [b] = md.brokers;
  assert.equal(`${b!.host}:${b!.port}`, env.bootstrap);
  assert.equal(md.controllerId, b!.nodeId);
  assert.ok(md.clusterId && md.clusterId.length > 0);
  const described = await admin.describeCluster();
  assert.deepEqual(described, { clusterId: md.clusterId, controllerId: md.controllerId, brokers: md.brokers });
});

test('no reachable bootstrap server is a ConnectionError naming the addresses', async () => {
  await assert.rejects(AdminClient.connect({ bootstrap: [`127.0.0.1:${unusedPort}`], connectTimeoutMs: 2_000 }), (err: unknown) => {
    assert.ok(err instanceof ConnectionError);
    assert.equal(err.code, 'CONNECTION_FAILED');
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${unusedPort}: no bootstrap server reachable`));
    return true;
  });
});

test('topics: create with configs, refuse a duplicate, describe and alter configs, add partitions, delete', async () => {
  const created = await admin.createTopic('admin-topic', 2, -1, { 'retention.ms': '60000' });
  assert.equal(created.partitions, 2);
  assert.match(created.topicId, /^[0-9a-f-]{32,36}$/i);
  const dup = await adminError(admin.createTopic('admin-topic', 1, -1), 'TOPIC_ALREADY_EXISTS');
  assert.equal(dup.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
  assert.match(dup.message, /^create topic admin-topic: TOPIC_ALREADY_EXISTS/);
  assert.equal(dup.retriable, false);
  await adminError(admin.createTopic('bad/name', 1, -1), 'INVALID_TOPIC_EXCEPTION');

  const configs = async () => new Map((await admin.describeConfigs(ConfigResource.Topic, 'admin-topic')).map((c) => [c.name, c]));
  let c = await configs();
  assert.equal(c.get('retention.ms')?.value, '60000');
  assert.equal(c.get('retention.ms')?.isDefault, false);
  assert.equal(c.get('max.message.bytes')?.isDefault, true);
  await admin.alterTopicConfig('admin-topic', { 'retention.ms': null, 'max.message.bytes': '4096' });
  c = await configs();
  assert.equal(c.get('retention.ms')?.isDefault, true, 'deleted: back to the default');
  assert.equal(c.get('max.message.bytes')?.value, '4096');
  await adminError(admin.alterTopicConfig('admin-topic', { 'retention.ms': 'soon' }), 'INVALID_CONFIG');
  await adminError(admin.describeConfigs(ConfigResource.Topic, 'no-such-topic'), 'UNKNOWN_TOPIC_OR_PARTITION');

  await admin.addPartitions('admin-topic', 4);
  const [t] = (await admin.metadata(['admin-topic'])).topics;
  assert.equal(t!.topicId, created.topicId);
  assert.deepEqual(t!.partitions.map((p) => p.partition), [0, 1, 2, 3]);
  await adminError(admin.addPartitions('admin-topic', 2), 'INVALID_PARTITIONS');

  await admin.deleteTopic('admin-topic');
  assert.equal((await admin.metadata(['admin-topic'])).topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  await adminError(admin.deleteTopic('admin-topic'), 'UNKNOWN_TOPIC_OR_PARTITION');
});

test('broker configs are described by node id', async () => {
  const md = await admin.metadata([]);
  const entries = await admin.describeConfigs(ConfigResource.Broker, String(md.brokers[0]!.nodeId));
  assert.ok(entries.length > 0);
  assert.deepEqual(entries.map((e) => e.name), [...entries.map((e) => e.name)].sort((a, b) => a.localeCompare(b)), 'sorted by name');
});

test('offsets: earliest and latest per partition, asked of each leader', async () => {
  await admin.createTopic('admin-offsets', 2, -1);
  const records = buildRecordBatch([{ value: Buffer.from('a') }, { value: Buffer.from('b') }, { value: Buffer.from('c') }]);
  const r = await admin.any.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5_000, topicData: [{ name: 'admin-offsets', partitionData: [{ index: 1, records }] }] });
  assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
  const partitions = (await admin.metadata(['admin-offsets'])).topics[0]!.partitions;
  assert.deepEqual([...(await admin.listOffsets('admin-offsets', partitions, LATEST))].sort(), [[0, 0n], [1, 3n]]);
  assert.deepEqual([...(await admin.listOffsets('admin-offsets', partitions, EARLIEST))].sort(), [[0, 0n], [1, 0n]]);
});

test('groups: commit as admin to an empty group, read the offsets back, list, describe, delete', async () => {
  await admin.createTopic('admin-group-topic', 2, -1);
  await admin.commitOffsets('admin-group', [{ topic: 'admin-group-topic', partition: 0, offset: 5n }, { topic: 'admin-group-topic', partition: 1, offset: 7n }]);
  assert.deepEqual(await admin.committedOffsets('admin-group'), [
    { topic: 'admin-group-topic', partition: 0, offset: 5n, metadata: '' },
    { topic: 'admin-group-topic', partition: 1, offset: 7n, metadata: '' },
  ]);
  assert.ok((await admin.listGroups()).some((g) => g.groupId === 'admin-group'));
  const d = await admin.describeGroup('admin-group');
  assert.equal(d.state, 'Empty');
  assert.deepEqual(d.members, []);
  const md = await admin.metadata([]);
  assert.equal(d.coordinator, md.brokers[0]!.nodeId);
  await admin.deleteGroup('admin-group');
  assert.ok(!(await admin.listGroups()).some((g) => g.groupId === 'admin-group'));
  assert.deepEqual(await admin.committedOffsets('admin-group'), []);
  await adminError(admin.deleteGroup('admin-group'), 'GROUP_ID_NOT_FOUND');
});

test('consumer-protocol assignment and subscription bytes decode to topics and sorted partitions', () => {
  const assignment = new Writer(64);
  assignment.int16(1);
  encodeConsumerProtocolAssignment(assignment, 1, { assignedPartitions: [{ topic: 'a', partitions: [3, 1, 2] }, { topic: 'b', partitions: [0] }], userData: null });
  assert.deepEqual(decodeAssignment(assignment.toBuffer()), [{ topic: 'a', partitions: [1, 2, 3] }, { topic: 'b', partitions: [0] }]);
  const subscription = new Writer(64);
  subscription.int16(3);
  encodeConsumerProtocolSubscription(subscription, 3, { topics: ['x', 'y'], userData: null, ownedPartitions: [], generationId: 4, rackId: 'az1' });
  assert.deepEqual(decodeSubscription(subscription.toBuffer()), ['x', 'y']);
  assert.deepEqual(decodeAssignment(Buffer.alloc(0)), [], 'empty bytes: nothing assigned');
  assert.deepEqual(decodeSubscription(Buffer.from([0])), []);
  assert.deepEqual(decodeAssignment(Buffer.from([0, 1, 0, 0, 0, 9])), [], 'truncated bytes decode to nothing, not garbage');
});

test('addresses: host:port and [ipv6]:port; anything else is refused', () => {
  assert.deepEqual(parseAddress('broker-1:9092'), { host: 'broker-1', port: 9092 });
  assert.deepEqual(parseAddress(' [::1]:19092 '), { host: '::1', port: 19092 });
  for (const bad of ['broker-1', ':9092', 'h:0', 'h:70000', 'h:port']) assert.throws(() => parseAddress(bad), ConnectionError, bad);
});
