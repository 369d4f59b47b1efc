// CreateTopics / CreatePartitions with manual replica assignments on one broker: one replica per
// partition naming this broker places the partition; everything else gets Kafka's error codes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker } from './in-process-broker.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { ErrorCode } from '../../src/protocol/errors.js';

describe('manual replica assignment (replication factor 1)', () => {
  let broker: Awaited<ReturnType<typeof startBroker>>;
  let conn: RawKafkaConnection;
  let self: number;

  const create = async (name: string, body: { numPartitions?: number; replicationFactor?: number; assignments: Array<{ partitionIndex: number; brokerIds: number[] }> }) => {
    const r = await conn.request(19, 7, { topics: [{ name, numPartitions: body.numPartitions ?? -1, replicationFactor: body.replicationFactor ?? -1, assignments: body.assignments, configs: [] }], timeoutMs: 10_000, validateOnly: false });
    return r.topics[0] as { errorCode: number; errorMessage: string | null; numPartitions: number };
  };
  const partitionsOf = async (name: string) => {
    const m = await conn.request(3, 12, { topics: [{ topicId: '0'.repeat(32), name }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    return (m.topics[0].partitions as Array<{ partitionIndex: number; leaderId: number; replicaNodes: number[] }>).sort((a, b) => a.partitionIndex - b.partitionIndex);
  };

  before(async () => {
    broker = await startBroker();
    conn = await RawKafkaConnection.connect(broker.bootstrap);
    const m = await conn.request(3, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    self = m.brokers[0].nodeId;
  });
  after(async () => { conn?.close(); await broker?.cleanup(); });

  it('creates one partition per assignment on this broker', async () => {
    const r = await create('ra-ok', { assignments: [0, 1, 2].map((p) => ({ partitionIndex: p, brokerIds: [self] })) });
    assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '');
    assert.equal(r.numPartitions, 3);
    assert.deepEqual((await partitionsOf('ra-ok')).map((p) => [p.partitionIndex, p.leaderId, p.replicaNodes]), [[0, self, [self]], [1, self, [self]], [2, self, [self]]]);
  });

  it('refuses more than one replica, an unknown broker, gaps, duplicates and a partition count beside the assignment', async () => {
    assert.equal((await create('ra-two', { assignments: [{ partitionIndex: 0, brokerIds: [self, self + 1] }] })).errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
    assert.equal((await create('ra-unknown', { assignments: [{ partitionIndex: 0, brokerIds: [self + 100] }] })).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal((await create('ra-gap', { assignments: [{ partitionIndex: 0, brokerIds: [self] }, { partitionIndex: 2, brokerIds: [self] }] })).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal((await create('ra-dup', { assignments: [{ partitionIndex: 0, brokerIds: [self] }, { partitionIndex: 0, brokerIds: [self] }] })).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal((await create('ra-both', { numPartitions: 1, assignments: [{ partitionIndex: 0, brokerIds: [self] }] })).errorCode, ErrorCode.INVALID_REQUEST);
    const m = await conn.request(3, 12, { topics: ['ra-two', 'ra-unknown', 'ra-gap', 'ra-dup', 'ra-both'].map((name) => ({ topicId: '0'.repeat(32), name })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.ok(m.topics.every((t: { errorCode: number }) => t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), 'no refused topic was created');
  });

  it('grows a topic by assigned partitions, refusing a count that does not match', async () => {
    const grow = async (count: number, lists: number[][]) => (await conn.request(37, 3, { topics: [{ name: 'ra-ok', count, assignments: lists.map((brokerIds) => ({ brokerIds })) }], timeoutMs: 10_000, validateOnly: false })).results[0];
    assert.equal((await grow(6, [[self]])).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal((await grow(5, [[self], [self, self + 1]])).errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
    const ok = await grow(5, [[self], [self]]);
    assert.equal(ok.errorCode, ErrorCode.NONE, ok.errorMessage ?? '');
    assert.equal((await partitionsOf('ra-ok')).length, 5);
  });
});
