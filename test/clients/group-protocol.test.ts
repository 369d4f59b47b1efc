// Classic group protocol timing against a real broker, with requests built from the project's codecs
// (the exact moments real clients hit only by chance): while a rebalance waits for a member, that
// member's heartbeats (answered REBALANCE_IN_PROGRESS) keep its session alive, and a member waiting
// in JoinGroup is never expired by its session timeout; the round ends when everyone has rejoined.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { sleep } from '../helpers/wait.js';
import { ApiKey } from '../../src/protocol/messages/index.js';

const REBALANCE_IN_PROGRESS = 27;
const MEMBER_ID_REQUIRED = 79;
const SESSION_MS = 6000;

describe('group protocol timing', { timeout: 90_000 }, () => {
  let broker: BrokerProcess;
  before(async () => { broker = new BrokerProcess(); await broker.start(); });
  after(async () => { await broker?.dispose(); });

  const join = (c: RawKafkaConnection, memberId: string) => c.request(ApiKey.JoinGroup, 5, {
    groupId: 'gp', sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: 30_000, memberId, groupInstanceId: null,
    protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }],
  }, 40_000);
  const sync = (c: RawKafkaConnection, memberId: string, generationId: number, leader: boolean, members: string[]) => c.request(ApiKey.SyncGroup, 3, {
    groupId: 'gp', generationId, memberId, groupInstanceId: null,
    assignments: leader ? members.map((m) => ({ memberId: m, assignment: Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) })) : [],
  }, 40_000);
  const heartbeat = (c: RawKafkaConnection, memberId: string, generationId: number) => c.request(ApiKey.Heartbeat, 3, { groupId: 'gp', generationId, memberId, groupInstanceId: null });

  async function joinNew(c: RawKafkaConnection): Promise<string> {
    const first = await join(c, '');
    assert.equal(first.errorCode, MEMBER_ID_REQUIRED, 'JoinGroup v4+ asks for a member id first');
    return first.memberId;
  }

  test('a slow member that keeps heartbeating is waited for, and nobody is expired meanwhile', { timeout: 80_000 }, async () => {
    const a = await RawKafkaConnection.connect(broker.bootstrap);
    const b = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const idA = await joinNew(a);
      const j1 = await join(a, idA);
      assert.equal(j1.errorCode, 0);
      assert.equal((await sync(a, idA, j1.generationId, true, [idA])).errorCode, 0);

      // B joins: a rebalance; A learns it from its heartbeat and rejoins.
      const idB = await joinNew(b);
      const bJoin = join(b, idB);
      await sleep(200);
      assert.equal((await heartbeat(a, idA, j1.generationId)).errorCode, REBALANCE_IN_PROGRESS);
      const [j2a, j2b] = await Promise.all([join(a, idA), bJoin]);
      assert.equal(j2a.errorCode, 0);
      assert.equal(j2b.errorCode, 0);
      assert.equal(j2a.generationId, j2b.generationId);
      const gen2 = j2a.generationId;
      const leaderIsA = j2a.leader === idA;
      const members = [idA, idB];
      const [s2a, s2b] = await Promise.all([sync(a, idA, gen2, leaderIsA, members), sync(b, idB, gen2, !leaderIsA, members)]);
      assert.equal(s2a.errorCode, 0);
      assert.equal(s2b.errorCode, 0);

      // A rejoins (a new round); B keeps heartbeating for longer than the session timeout before it
      // rejoins. Kafka keeps both: B's heartbeats renew its session, A waits in JoinGroup.
      const started = Date.now();
      const aJoin = join(a, idA);
      const beats: number[] = [];
      while (Date.now() - started < SESSION_MS + 3000) {
        await sleep(1000);
        beats.push((await heartbeat(b, idB, gen2)).errorCode);
      }
      assert.ok(beats.every((e) => e === REBALANCE_IN_PROGRESS), `B's heartbeats during the round: ${beats}`);
      const j3b = await join(b, idB);
      const j3a = await aJoin;
      assert.equal(j3a.errorCode, 0, `A's JoinGroup after ${Date.now() - started} ms`);
      assert.equal(j3b.errorCode, 0, 'B is still a member: its heartbeats kept it alive');
      assert.equal(j3a.generationId, gen2 + 1);
      const leaderJoin = j3a.leader === idA ? j3a : j3b;
      assert.deepEqual(leaderJoin.members.map((m: any) => m.memberId).sort(), [idA, idB].sort(), 'both members in the new generation');
    } finally {
      a.close();
      b.close();
    }
  });
});
