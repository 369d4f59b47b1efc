/**
 * Zombie leader: a broker frozen (SIGSTOP) past its lease loses its partitions; when it thaws
 * (SIGCONT) it acknowledges nothing for them — a produce sent straight to it is refused with a
 * retriable NOT_LEADER_OR_FOLLOWER, and the partition's log on the new leader is untouched by it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { waitFor, sleep } from '../helpers/wait.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';

const work = mkdtempSync(join(tmpdir(), 'ferry-zombie-'));
const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) { if (b.pid) try { process.kill(b.pid, 'SIGCONT'); } catch { /* gone */ } await b.dispose(); }
  rmSync(work, { recursive: true, force: true });
});

async function metadata(b: BrokerProcess) {
  const c = await RawKafkaConnection.connect(b.bootstrap);
  try {
    return await c.request(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: 'z' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  } finally { c.close(); }
}

const produce = (c: RawKafkaConnection, p: number, value: string) => c.request(ApiKey.Produce, 9, {
  transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'z', partitionData: [{ index: p, records: buildRecordBatch([{ value: Buffer.from(value) }]) }] }],
}, 5000).then((r) => r.responses[0].partitionResponses[0]);

test('a frozen leader loses its partitions and, thawed, acknowledges nothing for them', { timeout: 120_000 }, async (t) => {
  const etcd = await startEtcd(t);
  for (const [i, rack] of ['a', 'b', 'c'].entries()) {
    const b = new BrokerProcess({ config: {
      'metadata.backend': 'etcd', 'etcd.endpoints': etcd.endpoint, 'cluster.name': 'zombie', 'node.id': String(i + 1), rack,
      'object.store.path': join(work, 'objects'), 'broker.session.timeout.ms': '2000', 'upload.interval.ms': '200',
    } });
    brokers.push(b);
    await b.start();
  }
  const c1 = await RawKafkaConnection.connect(brokers[0].bootstrap);
  assert.equal((await c1.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'z', numPartitions: 3, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false })).topics[0].errorCode, 0);
  c1.close();
  await waitFor(async () => (await metadata(brokers[0])).topics[0].partitions.every((p: any) => p.leaderId > 0), 20_000, 'every partition led');
  const before = (await metadata(brokers[0])).topics[0].partitions;
  const victimId = before[0].leaderId as number;
  const victim = brokers[victimId - 1];
  const p = before.find((x: any) => x.leaderId === victimId).partitionIndex as number;
  const vc = await RawKafkaConnection.connect(victim.bootstrap);
  // Metadata names the leader as soon as the controller writes the record; the leader itself may
  // still be loading the partition (NOT_LEADER_OR_FOLLOWER meanwhile, as Kafka answers too).
  await waitFor(async () => (await produce(vc, p, 'before')).errorCode === 0, 10_000, 'the leader takes the first write');
  await sleep(600); // uploaded (every 200 ms), so the takeover below loses nothing acknowledged

  process.kill(victim.pid!, 'SIGSTOP');
  const other = brokers.find((b) => b !== victim)!;
  await waitFor(async () => {
    const l = (await metadata(other)).topics[0].partitions.find((x: any) => x.partitionIndex === p);
    return l.leaderId > 0 && l.leaderId !== victimId && l.leaderEpoch > before.find((x: any) => x.partitionIndex === p).leaderEpoch;
  }, 20_000, 'the frozen leader\'s partition moved');
  const newLeader = brokers[(await metadata(other)).topics[0].partitions.find((x: any) => x.partitionIndex === p).leaderId - 1];
  const nc = await RawKafkaConnection.connect(newLeader.bootstrap);
  await waitFor(async () => (await produce(nc, p, 'on the new leader')).errorCode === 0, 10_000, 'the new leader takes a write');

  process.kill(victim.pid!, 'SIGCONT');
  // The thawed broker may answer on its old connection: it must not acknowledge.
  const zombie = await produce(vc, p, 'from the zombie').catch(() => null);
  if (zombie) assert.notEqual(zombie.errorCode, 0, 'a thawed ex-leader never acknowledges');
  if (zombie) assert.equal(zombie.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  vc.close();
  const log = await fetchAllBatches(nc, 'z', p);
  nc.close();
  const values = log.batches.map((b) => b.bytes.subarray(b.bytes.length - 40).toString('latin1'));
  assert.ok(values.some((v) => v.includes('before')), 'the acknowledged message from before the freeze is there');
  assert.ok(values.some((v) => v.includes('on the new leader')));
  assert.ok(!values.some((v) => v.includes('from the zombie')), 'nothing from the zombie reached the log');
});
