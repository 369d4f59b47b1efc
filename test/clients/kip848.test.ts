// KIP-848 consumer groups against a real Ferry broker process: the wire protocol as a client
// sends it (ConsumerGroupHeartbeat, OffsetCommit/OffsetFetch v9 with member epochs,
// ConsumerGroupDescribe, ListGroups v5), a kafkajs classic consumer refused on a live consumer
// group, and node-rdkafka (librdkafka 2.12) with group.protocol=consumer (it sends
// ConsumerGroupHeartbeat v1 only, with a member id of its own).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type * as Rd from 'node-rdkafka';
import type * as KafkaJs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule } from '../helpers/require-tool.js';
import { waitFor, sleep } from '../helpers/wait.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const CONFIG = {
  'group.consumer.heartbeat.interval.ms': '500',
  'group.consumer.min.heartbeat.interval.ms': '100',
  'group.consumer.session.timeout.ms': '6000',
  'group.consumer.min.session.timeout.ms': '1000',
  'num.partitions': '4',
};

describe('KIP-848 consumer groups against a Ferry broker', { timeout: 240_000 }, () => {
  let broker: BrokerProcess;
  let kjs: typeof KafkaJs;
  let conn: RawKafkaConnection;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    broker = new BrokerProcess({ config: CONFIG });
    await broker.start();
    conn = await RawKafkaConnection.connect(broker.bootstrap);
    const versions = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'ferry-test', clientSoftwareVersion: '1' });
    const hb = versions.apiKeys.find((k: { apiKey: number }) => k.apiKey === ApiKey.ConsumerGroupHeartbeat);
    assert.ok(hb, 'ConsumerGroupHeartbeat advertised');
    assert.ok(versions.apiKeys.find((k: { apiKey: number }) => k.apiKey === ApiKey.ConsumerGroupDescribe), 'ConsumerGroupDescribe advertised');
    assert.equal(hb.maxVersion, 1, 'ConsumerGroupHeartbeat v1 (librdkafka >= 2.10 sends only v1)');
    const admin = new kjs.Kafka({ brokers: [broker.bootstrap], logLevel: kjs.logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'k848', numPartitions: 4 }, { topic: 'k848-rd', numPartitions: 6 }, { topic: 'k848-up', numPartitions: 2 }] });
    await admin.disconnect();
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    conn?.close();
    await broker?.dispose();
  });

  const heartbeat = (body: object) => conn.request(ApiKey.ConsumerGroupHeartbeat, 0, body);

  test('wire: join, offsets with member epochs, describe, list; a classic kafkajs consumer is refused while members live', { timeout: 60_000 }, async () => {
    const joined = await heartbeat({ groupId: 'wire', memberId: '', memberEpoch: 0, rebalanceTimeoutMs: 30_000, subscribedTopicNames: ['k848'], topicPartitions: [] });
    assert.equal(joined.errorCode, ErrorCode.NONE, joined.errorMessage);
    assert.equal(joined.memberEpoch, 1);
    assert.equal(joined.heartbeatIntervalMs, 500);
    const md = await conn.request(ApiKey.Metadata, 12, { topics: [{ topicId: '00000000000000000000000000000000', name: 'k848' }], allowAutoTopicCreation: false });
    const topicId = md.topics[0].topicId;
    assert.deepEqual(joined.assignment.topicPartitions, [{ topicId, partitions: [0, 1, 2, 3] }]);
    const memberId = joined.memberId as string;

    const commit = (epoch: number, version = 9) => conn.request(ApiKey.OffsetCommit, version, {
      groupId: 'wire', generationIdOrMemberEpoch: epoch, memberId, groupInstanceId: null,
      topics: [{ name: 'k848', partitions: [{ partitionIndex: 2, committedOffset: 11n, committedLeaderEpoch: -1, committedMetadata: null }] }],
    }).then((r: any) => r.topics[0].partitions[0].errorCode);
    assert.equal(await commit(1), ErrorCode.NONE);
    assert.equal(await commit(7), ErrorCode.STALE_MEMBER_EPOCH);
    const fetched = await conn.request(ApiKey.OffsetFetch, 9, { groups: [{ groupId: 'wire', memberId, memberEpoch: 1, topics: [{ name: 'k848', partitionIndexes: [2] }] }], requireStable: true });
    assert.equal(fetched.groups[0].errorCode, ErrorCode.NONE);
    assert.equal(fetched.groups[0].topics[0].partitions[0].committedOffset, 11n);
    const stale = await conn.request(ApiKey.OffsetFetch, 9, { groups: [{ groupId: 'wire', memberId, memberEpoch: 9, topics: null }], requireStable: true });
    assert.equal(stale.groups[0].errorCode, ErrorCode.STALE_MEMBER_EPOCH);

    const described = await conn.request(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['wire', 'nope'], includeAuthorizedOperations: true });
    assert.equal(described.groups[0].errorCode, ErrorCode.NONE);
    assert.equal(described.groups[0].groupState, 'Stable');
    assert.equal(described.groups[0].members[0].memberId, memberId);
    assert.deepEqual(described.groups[0].members[0].assignment.topicPartitions, [{ topicId, topicName: 'k848', partitions: [0, 1, 2, 3] }]);
    assert.notEqual(described.groups[0].authorizedOperations, -2147483648);
    assert.equal(described.groups[1].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    const listed = await conn.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] });
    assert.deepEqual(listed.groups.map((g: any) => [g.groupId, g.groupType, g.groupState, g.protocolType]), [['wire', 'consumer', 'Stable', 'consumer']]);

    // kafkajs (classic protocol) on the same group id: INCONSISTENT_GROUP_PROTOCOL, the consumer crashes.
    const consumer = new kjs.Kafka({ brokers: [broker.bootstrap], logLevel: kjs.logLevel.NOTHING, retry: { retries: 0 } }).consumer({ groupId: 'wire', retry: { retries: 0 } });
    cleanups.push(() => consumer.disconnect());
    const crashed = new Promise<any>((resolve) => consumer.on(consumer.events.CRASH, (e: any) => resolve(e.payload.error)));
    await consumer.connect();
    await consumer.subscribe({ topic: 'k848', fromBeginning: true });
    await consumer.run({ eachMessage: async () => undefined }).catch(() => undefined);
    const err = await crashed;
    assert.equal(err.type, 'INCONSISTENT_GROUP_PROTOCOL');

    const left = await heartbeat({ groupId: 'wire', memberId, memberEpoch: -1 });
    assert.equal(left.memberEpoch, -1);
    const deleted = await conn.request(ApiKey.DeleteGroups, 2, { groupsNames: ['wire'] });
    assert.equal(deleted.results[0].errorCode, ErrorCode.NONE, 'an empty consumer group can be deleted');
  });

  test('a broker without "consumer" in group.coordinator.rebalance.protocols does not advertise the KIP-848 APIs', { timeout: 40_000 }, async () => {
    const classic = new BrokerProcess({ config: { 'group.coordinator.rebalance.protocols': 'classic' } });
    try {
      await classic.start();
      const c = await RawKafkaConnection.connect(classic.bootstrap);
      const v = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'ferry-test', clientSoftwareVersion: '1' });
      c.close();
      const keys = v.apiKeys.map((k: { apiKey: number }) => k.apiKey);
      assert.ok(!keys.includes(ApiKey.ConsumerGroupHeartbeat) && !keys.includes(ApiKey.ConsumerGroupDescribe));
      assert.ok(keys.includes(ApiKey.JoinGroup));
    } finally {
      await classic.dispose();
    }
  });

  // ---- node-rdkafka with group.protocol=consumer (needs ConsumerGroupHeartbeat v1)

  const cb = <T>(f: (done: (err: any, v?: T) => void) => void) => new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))));
  let rd: typeof Rd;
  const base = () => ({ 'metadata.broker.list': broker.bootstrap, 'socket.timeout.ms': 10_000, 'topic.metadata.refresh.interval.ms': 1000 });

  async function produce(topic: string, from: number, count: number): Promise<void> {
    const producer = new rd.Producer({ ...base(), dr_cb: true, 'linger.ms': 5 });
    await cb((done) => producer.connect({ timeout: 10_000 }, done));
    producer.setPollInterval(20);
    let acked = 0;
    const errors: string[] = [];
    producer.on('delivery-report', (err) => { if (err) errors.push(String(err)); else acked++; });
    for (let i = from; i < from + count; i++) producer.produce(topic, null, Buffer.from(`v${i}`), `k${i}`);
    await cb((done) => producer.flush(20_000, done));
    await waitFor(() => acked + errors.length === count, 20_000, () => `${acked} acked`);
    assert.deepEqual(errors, []);
    await cb((done) => producer.disconnect(done));
  }

  interface Member { c: Rd.KafkaConsumer; got: string[] }
  async function member(groupId: string, topic: string, extra: Record<string, string | number | boolean> = {}, got: string[] = []): Promise<Member> {
    const c = new rd.KafkaConsumer({
      ...base(), 'group.id': groupId, 'group.protocol': 'consumer', 'enable.auto.commit': true, 'auto.commit.interval.ms': 200, ...extra,
    }, { 'auto.offset.reset': 'earliest' });
    await cb((done) => c.connect({ timeout: 10_000 }, done));
    const m = { c, got };
    c.on('data', (msg) => { got.push(String(msg.key)); });
    c.subscribe([topic]);
    c.consume();
    return m;
  }
  const close = (m: Member) => cb((done) => m.c.disconnect(done)).then(() => undefined);

  test('node-rdkafka, group.protocol=consumer: three members share a topic, join and leave, every message once per group, offsets resumed', { timeout: 120_000 }, async (t) => {
    rd = requireNodeModule<typeof Rd>('node-rdkafka');
    const got: string[] = [];
    const members = [await member('rd848', 'k848-rd', {}, got), await member('rd848', 'k848-rd', {}, got)];
    const assigned = () => members.map((m) => m.c.assignments().length);
    await waitFor(() => assigned().reduce((a, b) => a + b, 0) === 6 && assigned().every((n) => n > 0), 30_000, () => `6 partitions over 2: ${assigned()}`);
    await produce('k848-rd', 0, 300);
    members.push(await member('rd848', 'k848-rd', {}, got));
    await waitFor(() => members.every((m) => m.c.assignments().length === 2), 30_000, () => `2 partitions each: ${members.map((m) => m.c.assignments().length)}`);
    await produce('k848-rd', 300, 300);
    await waitFor(() => new Set(got).size === 600, 40_000, () => `consumed ${new Set(got).size} of 600`);
    await sleep(1000); // auto commit
    await close(members.shift()!);
    await produce('k848-rd', 600, 300);
    await waitFor(() => new Set(got).size === 900, 40_000, () => `consumed ${new Set(got).size} of 900`);
    await sleep(1000);
    for (const m of members) await close(m);
    // No duplicates while partitions moved with revoke-before-assign and commits on revocation.
    assert.equal(got.length, 900, `${got.length - new Set(got).size} duplicates`);
    // A new member resumes from the committed offsets: only new messages.
    const later: string[] = [];
    const again = await member('rd848', 'k848-rd', {}, later);
    await produce('k848-rd', 900, 50);
    await waitFor(() => later.length >= 50, 30_000, () => `resumed ${later.length} of 50`);
    await sleep(500);
    await close(again);
    assert.deepEqual(new Set(later), new Set(Array.from({ length: 50 }, (_, i) => `k${900 + i}`)));
  });

  test('node-rdkafka: a static member restarts without a rebalance; an empty classic group is upgraded with its offsets', { timeout: 90_000 }, async (t) => {
    rd = requireNodeModule<typeof Rd>('node-rdkafka');
    // Classic group first: consume and commit, then leave (the group is Empty with offsets).
    await produce('k848-up', 0, 100);
    const classicGot: string[] = [];
    const classic = new rd.KafkaConsumer({ ...base(), 'group.id': 'up848', 'enable.auto.commit': false }, { 'auto.offset.reset': 'earliest' });
    await cb((done) => classic.connect({ timeout: 10_000 }, done));
    classic.subscribe(['k848-up']);
    while (classicGot.length < 100) {
      const batch = await cb<Rd.Message[]>((done) => classic.consume(100, done));
      for (const m of batch) classicGot.push(String(m.key));
    }
    classic.commitSync(null);
    await cb((done) => classic.disconnect(done));
    await produce('k848-up', 100, 20);
    const got: string[] = [];
    const s1 = await member('up848', 'k848-up', { 'group.instance.id': 'static-1' }, got);
    await waitFor(() => got.length >= 20, 30_000, () => `upgraded group read ${got.length} of 20 new`);
    assert.deepEqual(new Set(got), new Set(Array.from({ length: 20 }, (_, i) => `k${100 + i}`)), 'resumed from the classic group\'s offsets');
    await sleep(500);
    const epochBefore = (await conn.request(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['up848'], includeAuthorizedOperations: false })).groups[0].groupEpoch;
    await close(s1);
    const s2 = await member('up848', 'k848-up', { 'group.instance.id': 'static-1' }, got);
    await waitFor(() => s2.c.assignments().length === 2, 30_000, 'static member back with its partitions');
    const d = (await conn.request(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['up848'], includeAuthorizedOperations: false })).groups[0];
    assert.equal(d.members.length, 1);
    assert.equal(d.members[0].instanceId, 'static-1');
    assert.equal(d.groupEpoch, epochBefore, 'no rebalance for the returning static member');
    await close(s2);
  });
});
