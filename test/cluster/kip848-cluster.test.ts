/**
 * KIP-848 consumer groups in a cluster (three broker processes, real etcd): only the coordinator
 * FindCoordinator names answers ConsumerGroupHeartbeat (others NOT_COORDINATOR); two members
 * share a topic and commit with their member epochs; the coordinator is SIGKILLed; on the new
 * coordinator the members are unknown (UNKNOWN_MEMBER_ID: member state is in memory only), rejoin
 * with epoch 0, find their committed offsets and read on from them: every record read once.
 * Measured: SIGKILL to FindCoordinator naming another broker, and to both members reconciled.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/ports.js';
import { MetricsSnapshot } from '../../src/admin/prom-text.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/record-batch.js';

const shared = mkdtempSync(join(tmpdir(), 'ferry-kip848-objects-'));
const brokers: BrokerProcess[] = [];
const conns: RawKafkaConnection[] = [];
after(async () => {
  for (const c of conns) c.close();
  for (const b of brokers) await b.dispose();
  rmSync(shared, { recursive: true, force: true });
});

const GROUP = 'kip848-cl';
const TOPIC = 'kip848-orders';
const PARTITIONS = 4;
const PER_PARTITION = 50;

async function connect(b: BrokerProcess): Promise<RawKafkaConnection> {
  const c = await RawKafkaConnection.connect(b.bootstrap);
  conns.push(c);
  return c;
}

interface Member { id: string; epoch: number; owned: Array<{ topicId: string; partitions: number[] }> }

test('KIP-848 coordinator failover: members rejoin on the new coordinator and read on from committed offsets, nothing lost or read twice', { timeout: 150_000 }, async (t) => {
  const etcd = await startEtcd(t);
  const metricsPorts: number[] = [];
  for (const i of [1, 2, 3]) {
    metricsPorts.push(await freePort());
    const b = new BrokerProcess({
      config: {
        'metadata.backend': 'etcd', 'etcd.endpoints': etcd.endpoint, 'cluster.name': 'k848', 'node.id': String(i),
        'object.store.path': shared, 'broker.session.timeout.ms': '3000', 'upload.interval.ms': '500',
        'group.consumer.heartbeat.interval.ms': '500', 'group.consumer.min.heartbeat.interval.ms': '100',
        'metrics.listener': `127.0.0.1:${metricsPorts[i - 1]}`,
      },
    });
    brokers.push(b);
    await b.start();
  }
  const byId = (id: number) => brokers[id - 1]!;
  const admin = await connect(brokers[0]!);
  await waitFor(async () => (await admin.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false })).brokers.length === 3, 15_000, 'three brokers registered');
  const created = await admin.request(ApiKey.CreateTopics, 7, { topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
  assert.equal(created.topics[0].errorCode, 0);

  const metadata = async (via: RawKafkaConnection) => via.request(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: TOPIC }], allowAutoTopicCreation: false });
  let topicId = '';
  const leaderConn = new Map<number, RawKafkaConnection>();
  const leaderOf = async (via: RawKafkaConnection, p: number): Promise<RawKafkaConnection> => {
    const md = await metadata(via);
    topicId = md.topics[0].topicId;
    const leader = md.topics[0].partitions.find((x: any) => x.partitionIndex === p)?.leaderId as number;
    if (!leaderConn.has(leader)) leaderConn.set(leader, await connect(byId(leader)));
    return leaderConn.get(leader)!;
  };
  await waitFor(async () => (await metadata(admin)).topics[0].partitions.every((p: any) => p.leaderId > 0), 20_000, 'every partition has a leader');
  // Produce PER_PARTITION records to each partition through its leader.
  for (let p = 0; p < PARTITIONS; p++) {
    const batch = buildRecordBatch(Array.from({ length: PER_PARTITION }, (_, i) => ({ key: Buffer.from(`p${p}-${i}`), value: Buffer.from(`v${i}`) })));
    // Retried while the leader is still acquiring the partition (NOT_LEADER: nothing appended).
    await waitFor(async () => {
      const r = await (await leaderOf(admin, p)).request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: TOPIC, partitionData: [{ index: p, records: batch }] }] });
      const code = r.responses[0].partitionResponses[0].errorCode;
      assert.ok(code === 0 || code === ErrorCode.NOT_LEADER_OR_FOLLOWER, `produce error ${code}`);
      return code === 0;
    }, 20_000, `produce to partition ${p}`, 200);
  }

  const findCoordinator = async (via: RawKafkaConnection): Promise<number> => {
    const r = await via.request(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: [GROUP] });
    return r.coordinators[0].errorCode === 0 ? r.coordinators[0].nodeId : -1;
  };
  const coordinatorId = await findCoordinator(admin);
  assert.ok(coordinatorId > 0);
  const others = [1, 2, 3].filter((i) => i !== coordinatorId);
  const notCoordinator = await connect(byId(others[0]!));
  const refused = await notCoordinator.request(ApiKey.ConsumerGroupHeartbeat, 0, { groupId: GROUP, memberId: '', memberEpoch: 0, rebalanceTimeoutMs: 10_000, subscribedTopicNames: [TOPIC], topicPartitions: [] });
  assert.equal(refused.errorCode, ErrorCode.NOT_COORDINATOR);

  /** Joins both members and heartbeats until they own all partitions, split 2/2. */
  const form = async (coord: RawKafkaConnection): Promise<Member[]> => {
    const members: Member[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await coord.request(ApiKey.ConsumerGroupHeartbeat, 0, { groupId: GROUP, memberId: '', memberEpoch: 0, rebalanceTimeoutMs: 10_000, subscribedTopicNames: [TOPIC], topicPartitions: [] });
      assert.equal(r.errorCode, 0, r.errorMessage);
      members.push({ id: r.memberId, epoch: r.memberEpoch, owned: r.assignment.topicPartitions });
    }
    await waitFor(async () => {
      for (const m of members) {
        const r = await coord.request(ApiKey.ConsumerGroupHeartbeat, 0, { groupId: GROUP, memberId: m.id, memberEpoch: m.epoch, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: m.owned });
        assert.equal(r.errorCode, 0, r.errorMessage);
        m.epoch = r.memberEpoch;
        if (r.assignment !== null) m.owned = r.assignment.topicPartitions;
      }
      const counts = members.map((m) => m.owned.reduce((n, x) => n + x.partitions.length, 0));
      return counts[0] === 2 && counts[1] === 2;
    }, 20_000, 'two members own two partitions each');
    return members;
  };
  const partitionsOf = (m: Member) => m.owned.flatMap((x) => x.partitions);

  const read = new Map<number, number>(); // partition -> records read
  const consume = async (via: RawKafkaConnection, coord: RawKafkaConnection, m: Member, upTo: number | null) => {
    for (const p of partitionsOf(m)) {
      const f = await coord.request(ApiKey.OffsetFetch, 9, { groups: [{ groupId: GROUP, memberId: m.id, memberEpoch: m.epoch, topics: [{ name: TOPIC, partitionIndexes: [p] }] }], requireStable: true });
      assert.equal(f.groups[0].errorCode, 0);
      const committed = f.groups[0].topics[0].partitions[0].committedOffset as bigint;
      const from = committed < 0n ? 0n : committed;
      const stored = await fetchAllBatches(await leaderOf(via, p), TOPIC, p, Number(from));
      const end = upTo === null ? stored.highWatermark : BigInt(upTo);
      const got = Number(end - from);
      read.set(p, (read.get(p) ?? 0) + got);
      const c = await coord.request(ApiKey.OffsetCommit, 9, { groupId: GROUP, generationIdOrMemberEpoch: m.epoch, memberId: m.id, groupInstanceId: null, topics: [{ name: TOPIC, partitions: [{ partitionIndex: p, committedOffset: end, committedLeaderEpoch: -1, committedMetadata: null }] }] });
      assert.equal(c.topics[0].partitions[0].errorCode, 0);
    }
  };

  const coord1 = await connect(byId(coordinatorId));
  const first = await form(coord1);
  for (const m of first) await consume(admin, coord1, m, PER_PARTITION / 2);

  // Acknowledged records still in the killed broker's WAL would come back only with its volume
  // (no remount here): this test is about group state, so the records are in objects first.
  const uploadLag = async (i: number) => {
    const m = await MetricsSnapshot.fetch(`http://127.0.0.1:${metricsPorts[i - 1]}`);
    return m.has('ferry_upload_lag_bytes') ? m.sum('ferry_upload_lag_bytes') : NaN;
  };
  await waitFor(async () => (await Promise.all([1, 2, 3].map(uploadLag))).every((b) => b === 0), 20_000, 'every broker has uploaded its WAL');
  const killedAt = Date.now();
  await byId(coordinatorId).kill();
  const survivor = await connect(byId(others[1]!));
  let newCoordinator = -1;
  await waitFor(async () => {
    newCoordinator = await findCoordinator(survivor).catch(() => -1);
    return newCoordinator > 0 && newCoordinator !== coordinatorId;
  }, 30_000, 'FindCoordinator names a live broker');
  const movedMs = Date.now() - killedAt;
  const coord2 = await connect(byId(newCoordinator));
  // The new coordinator has no member state: the old members are unknown there.
  let stale: any;
  await waitFor(async () => {
    stale = await coord2.request(ApiKey.ConsumerGroupHeartbeat, 0, { groupId: GROUP, memberId: first[0]!.id, memberEpoch: first[0]!.epoch, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: first[0]!.owned });
    return stale.errorCode !== ErrorCode.NOT_COORDINATOR && stale.errorCode !== ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }, 20_000, 'the new coordinator answers');
  assert.equal(stale.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  const second = await form(coord2);
  const reconciledMs = Date.now() - killedAt;
  await waitFor(async () => (await metadata(survivor)).topics[0].partitions.every((p: any) => p.leaderId > 0 && p.leaderId !== coordinatorId), 30_000, 'partitions led by live brokers');
  leaderConn.clear();
  for (const m of second) await consume(survivor, coord2, m, null);
  for (let p = 0; p < PARTITIONS; p++) assert.equal(read.get(p), PER_PARTITION, `partition ${p}: every record read once`);
  t.diagnostic(`coordinator ${coordinatorId} SIGKILLed: FindCoordinator named broker ${newCoordinator} after ${movedMs} ms; both members rejoined and reconciled after ${reconciledMs} ms; offsets kept: ${PARTITIONS * PER_PARTITION} records read once`);
});
