/**
 * Partition reassignment through the Kafka admin APIs on a real cluster: two in-process brokers on
 * a real etcd sharing an fs object store. kafkajs' alterPartitionReassignments moves a partition's
 * leader to the other broker (graceful: upload, release, epoch + 1; nothing copied) while an
 * idempotent kafkajs producer keeps writing to it; listPartitionReassignments shows the move while
 * the old leader uploads (object PUTs are slowed to make that window visible); afterwards every
 * acknowledged record is read back at dense offsets. A second move is cancelled with replicas=null
 * before it completes: the partition stays and takes writes again. DescribeTopicPartitions,
 * ElectLeaders and the error paths are checked against the cluster too.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startEtcd } from '../helpers/etcd.js';
import { startBroker } from '../broker/in-process-broker.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { waitFor, sleep } from '../helpers/wait.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { ObjectStore } from '../../src/objects/object-store.js';

const work = mkdtempSync(join(tmpdir(), 'ferry-reassign-'));
const stops: (() => Promise<void>)[] = [];
after(async () => {
  for (const s of stops.reverse()) await s().catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

/** Object PUTs wait `putDelayMs` first (both brokers): the old leader's final upload takes that long. */
const gate = { putDelayMs: 0 };
function slowPuts(store: ObjectStore): ObjectStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'put') {
        return async (...args: Parameters<ObjectStore['put']>) => {
          if (gate.putDelayMs > 0) await sleep(gate.putDelayMs);
          return target.put(...args);
        };
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

test('kafkajs moves a partition between two brokers on etcd while producing; the move is listed while it runs; a second one is cancelled', { timeout: 120_000 }, async (t) => {
  // Stopped after the brokers (stops run in reverse): they deregister and upload on the way out.
  const etcd = await startEtcd();
  stops.push(() => etcd.stop());
  const common = {
    'metadata.backend': 'etcd', 'etcd.endpoints': etcd.endpoint, 'cluster.name': 'reassign', 'object.store.path': join(work, 'objects'),
    // Nothing uploads on its own: a move's hand-over has data to upload.
    'broker.session.timeout.ms': '3000', 'upload.interval.ms': '60000',
  };
  const brokers = [];
  for (const [id, rack] of [[1, 'a'], [2, 'b']] as const) {
    const b = await startBroker({ ...common, 'node.id': String(id), rack }, undefined, { wrapObjectStore: slowPuts });
    stops.push(b.cleanup);
    brokers.push(b);
  }
  const conn = await RawKafkaConnection.connect(brokers[0]!.bootstrap);
  stops.push(async () => conn.close());
  const metadata = async () => (await conn.request(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: 'moves' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
  await waitFor(async () => (await metadata()).brokers.length === 2 && (await metadata()).controllerId > 0, 20_000, 'both brokers registered, a controller');
  const created = await conn.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'moves', numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
  assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
  await waitFor(async () => {
    const ls = (await metadata()).topics[0].partitions.map((p: any) => p.leaderId);
    return ls.length === 2 && new Set(ls).size === 2 && !ls.includes(-1);
  }, 20_000, 'one partition led by each broker');
  const before = (await metadata()).topics[0].partitions;
  const from = before[0].leaderId as number;
  const to = from === 1 ? 2 : 1;

  const kafka = new Kafka({ clientId: 'reassign-test', brokers: brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
  const admin = kafka.admin();
  await admin.connect();
  stops.push(() => admin.disconnect());
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  stops.push(() => producer.disconnect());

  // A producer writing to partition 0 all along.
  const acked: string[] = [];
  let producing = true;
  const produceLoop = (async () => {
    for (let i = 0; producing; i++) {
      const value = `m-${i}`;
      await producer.send({ topic: 'moves', acks: -1, messages: [{ partition: 0, value }] });
      acked.push(value);
    }
  })();
  await waitFor(() => acked.length >= 50, 20_000, 'the producer gets going');

  // The move: answered once requested; the old leader's upload (slowed) keeps it in progress a while.
  gate.putDelayMs = 1500;
  const t0 = Date.now();
  await admin.alterPartitionReassignments({ topics: [{ topic: 'moves', partitionAssignment: [{ partition: 0, replicas: [to] }] }] });
  const answeredMs = Date.now() - t0;
  const listed = await admin.listPartitionReassignments({ topics: [{ topic: 'moves', partitions: [0] }] });
  assert.deepEqual(listed.topics, [{ name: 'moves', partitions: [{ partition: 0, replicas: [to, from], addingReplicas: [to], removingReplicas: [from] }] }]);
  const all = await admin.listPartitionReassignments({});
  assert.equal(all.topics.length, 1, 'listed with topics=null too');
  await waitFor(async () => (await metadata()).topics[0].partitions[0].leaderId === to, 30_000, `broker ${to} leads moves-0`);
  const movedMs = Date.now() - t0;
  gate.putDelayMs = 0;
  t.diagnostic(`AlterPartitionReassignments answered in ${answeredMs} ms; the move (with 1.5 s object PUTs) done after ${movedMs} ms`);
  const after = (await metadata()).topics[0].partitions[0];
  assert.equal(after.leaderEpoch, before[0].leaderEpoch + 1);
  assert.deepEqual((await admin.listPartitionReassignments({})).topics, [], 'nothing in progress once done');

  // DescribeTopicPartitions agrees with Metadata on every broker; kafkajs' metadata shows the new leader.
  for (const b of brokers) {
    const c = await RawKafkaConnection.connect(b.bootstrap);
    const dtp = await c.request(ApiKey.DescribeTopicPartitions, 0, { topics: [{ name: 'moves' }], responsePartitionLimit: 10, cursor: null });
    c.close();
    assert.deepEqual(dtp.topics[0].partitions.map((p: any) => [p.leaderId, p.leaderEpoch, p.replicaNodes]),
      (await metadata()).topics[0].partitions.map((p: any) => [p.leaderId, p.leaderEpoch, p.replicaNodes]));
  }
  const km = await admin.fetchTopicMetadata({ topics: ['moves'] });
  assert.equal(km.topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader, to);

  // Produce a little more on the new leader, then stop and read everything back.
  const n = acked.length;
  await waitFor(() => acked.length >= n + 50, 20_000, 'producing goes on after the move');
  producing = false;
  await produceLoop;

  // The cancelled move: partition 1 asked to move to the other broker, then withdrawn before its upload ends.
  const p1 = (await metadata()).topics[0].partitions[1];
  const p1Target = p1.leaderId === 1 ? 2 : 1;
  await producer.send({ topic: 'moves', acks: -1, messages: [{ partition: 1, value: 'before-cancel' }] }); // pending data to upload
  gate.putDelayMs = 3000;
  const alter = (replicas: number[] | null, partitionIndex = 1) => conn.request(ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 5000, topics: [{ name: 'moves', partitions: [{ partitionIndex, replicas }] }] });
  assert.equal((await alter([p1Target])).responses[0].partitions[0].errorCode, ErrorCode.NONE);
  assert.equal((await alter([p1.leaderId === 1 ? 1 : 2])).responses[0].partitions[0].errorCode, ErrorCode.REASSIGNMENT_IN_PROGRESS, 'another target while one is under way');
  const cancelled = (await alter(null)).responses[0].partitions[0];
  assert.equal(cancelled.errorCode, ErrorCode.NONE, cancelled.errorMessage);
  assert.equal((await alter(null)).responses[0].partitions[0].errorCode, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
  gate.putDelayMs = 0;
  await producer.send({ topic: 'moves', acks: -1, messages: [{ partition: 1, value: 'after-cancel' }] });
  const p1After = (await metadata()).topics[0].partitions[1];
  assert.equal(p1After.leaderId, p1.leaderId, 'the cancelled move left the leader where it was');
  assert.equal(p1After.leaderEpoch, p1.leaderEpoch);

  // Errors on the cluster: unknown broker, more than one replica, a no-op move to the leader.
  assert.equal((await alter([9])).responses[0].partitions[0].errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal((await alter([1, 2])).responses[0].partitions[0].errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.equal((await alter([p1.leaderId])).responses[0].partitions[0].errorCode, ErrorCode.NONE);
  const elect = await conn.request(ApiKey.ElectLeaders, 2, { electionType: 1, topicPartitions: [{ topic: 'moves', partitions: [0, 1] }], timeoutMs: 1000 });
  assert.deepEqual(elect.replicaElectionResults[0].partitionResult.map((p: any) => p.errorCode), [ErrorCode.ELECTION_NOT_NEEDED, ErrorCode.ELECTION_NOT_NEEDED]);

  // Everything acknowledged on partition 0 is there, once, in order, at dense offsets.
  const consumer = kafka.consumer({ groupId: 'reassign-check' });
  await consumer.connect();
  stops.push(() => consumer.disconnect());
  await consumer.subscribe({ topic: 'moves', fromBeginning: true });
  const got: { offset: bigint; value: string }[] = [];
  const got1: string[] = [];
  await consumer.run({ eachMessage: async ({ partition, message }) => {
    if (partition === 0) got.push({ offset: BigInt(message.offset), value: message.value!.toString() });
    else got1.push(message.value!.toString());
  } });
  await waitFor(() => got.length >= acked.length && got1.length >= 2, 30_000, () => `read back ${got.length}/${acked.length} of moves-0, ${got1.length}/2 of moves-1`);
  assert.deepEqual(got.map((g) => g.value), acked);
  assert.deepEqual(got.map((g) => g.offset), acked.map((_, i) => BigInt(i)));
  assert.deepEqual(got1, ['before-cancel', 'after-cancel']);
  t.diagnostic(`${acked.length} records produced to moves-0 across the move, all read back at offsets 0..${acked.length - 1}`);
});
