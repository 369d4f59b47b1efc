/**
 * The reassignment APIs through a real client against one in-process broker: kafkajs' admin
 * alterPartitionReassignments (to this broker: a no-op success; to another id, or two replicas:
 * INVALID_REPLICA_ASSIGNMENT; kafkajs 2.2 cannot send a cancel, replicas=null: it refuses it itself),
 * listPartitionReassignments (none) and fetchTopicMetadata (agrees with DescribeTopicPartitions).
 * node-rdkafka 3.6 (librdkafka 2.12) binds none of these admin calls and Debian's confluent-kafka
 * 1.7 has no AdminClient method for them; librdkafka's own 0081-admin test covers its C API
 * (scripts/librdkafka-tests.sh 0081).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../broker/in-process-broker.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { ApiKey } from '../../src/protocol/messages/index.js';

let env: Awaited<ReturnType<typeof startBroker>>;
let kafka: Kafka;
let self: number;

before(async () => {
  env = await startBroker();
  self = env.broker.context.self.nodeId;
  await env.broker.context.topics.create('kjs-admin', 3, [], false);
  kafka = new Kafka({ clientId: 'admin-parity', brokers: [env.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
});
after(async () => { await env?.cleanup(); });

/** The Kafka error type kafkajs reports for a failed call (it wraps per-partition errors). */
async function kafkaError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as { type?: string; originalError?: { type?: string }; errors?: { type?: string }[] };
    return e.type ?? e.originalError?.type ?? e.errors?.[0]?.type ?? String(err);
  }
  return 'no error';
}

test('kafkajs admin: reassignments on a single node, metadata agreeing with DescribeTopicPartitions', async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.alterPartitionReassignments({ topics: [{ topic: 'kjs-admin', partitionAssignment: [{ partition: 0, replicas: [self] }, { partition: 2, replicas: [self] }] }] });
    assert.equal(await kafkaError(admin.alterPartitionReassignments({ topics: [{ topic: 'kjs-admin', partitionAssignment: [{ partition: 1, replicas: [self + 1] }] }] })), 'INVALID_REPLICA_ASSIGNMENT');
    assert.equal(await kafkaError(admin.alterPartitionReassignments({ topics: [{ topic: 'kjs-admin', partitionAssignment: [{ partition: 1, replicas: [self, self + 1] }] }] })), 'INVALID_REPLICA_ASSIGNMENT');
    assert.deepEqual((await admin.listPartitionReassignments({})).topics, []);
    assert.deepEqual((await admin.listPartitionReassignments({ topics: [{ topic: 'kjs-admin', partitions: [0, 1] }] })).topics, []);

    const md = await admin.fetchTopicMetadata({ topics: ['kjs-admin'] });
    const c = await RawKafkaConnection.connect(env.bootstrap);
    const dtp = await c.request(ApiKey.DescribeTopicPartitions, 0, { topics: [{ name: 'kjs-admin' }], responsePartitionLimit: 100, cursor: null });
    c.close();
    const fromKafkajs = md.topics[0]!.partitions.map((p) => [p.partitionId, p.leader, p.replicas, p.isr]).sort((a, b) => (a[0] as number) - (b[0] as number));
    assert.deepEqual(fromKafkajs, dtp.topics[0].partitions.map((p: any) => [p.partitionIndex, p.leaderId, p.replicaNodes, p.isrNodes]));
    assert.deepEqual(fromKafkajs.map((p) => p[1]), [self, self, self]);
  } finally {
    await admin.disconnect();
  }
});
