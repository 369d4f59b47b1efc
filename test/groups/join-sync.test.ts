import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErrorCode, harness, joinParams, joinNew, sync, heartbeat, stableSingle, isPending, subscription,
} from './helpers.js';

describe('JoinGroup', () => {
  test('v4+: a new dynamic member gets MEMBER_ID_REQUIRED and an id clientId-uuid, then joins with it', async () => {
    const { coordinator: c } = await harness();
    const first = await c.joinGroup(joinParams('g', { clientId: 'my-client' }));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.match(first.memberId, /^my-client-id\d+$/);
    assert.equal(first.generationId, -1);
    assert.deepEqual(c.inspect('g')?.pendingMemberIds, [first.memberId]);
    assert.equal(c.inspect('g')?.state, 'Empty');

    const j = await c.joinGroup(joinParams('g', { clientId: 'my-client', memberId: first.memberId }));
    assert.equal(j.errorCode, ErrorCode.NONE);
    assert.equal(j.memberId, first.memberId);
    assert.equal(j.generationId, 1);
    assert.equal(j.leader, first.memberId);
    assert.equal(j.protocolType, 'consumer');
    assert.equal(j.protocolName, 'range');
    assert.equal(j.skipAssignment, false);
    assert.deepEqual(j.members.map((m) => m.memberId), [first.memberId]);
    assert.deepEqual(j.members[0]!.metadata, subscription(['t1']));
    assert.equal(c.inspect('g')?.state, 'CompletingRebalance');
    c.close();
  });

  test('real UUIDs by default', async () => {
    const { GroupCoordinator, MemoryGroupOffsetStore, ManualClock } = await import('../../src/groups/coordinator.js');
    const c = await GroupCoordinator.open({ store: new MemoryGroupOffsetStore(), clock: new ManualClock() });
    const r = await c.joinGroup(joinParams('g', { clientId: 'cli' }));
    assert.match(r.memberId, /^cli-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    c.close();
  });

  test('v0-3: a new member joins directly; v0 (rebalance timeout -1) uses the session timeout', async () => {
    const { coordinator: c, clock } = await harness();
    const j = await c.joinGroup(joinParams('g', { apiVersion: 0, rebalanceTimeoutMs: -1 }));
    assert.equal(j.errorCode, ErrorCode.NONE);
    assert.equal(j.generationId, 1);
    // A second member joins; the first does not rejoin: removed after the session timeout used as rebalance timeout.
    await sync(c, 'g', j.memberId, 1);
    const j2 = c.joinGroup(joinParams('g', { apiVersion: 3, rebalanceTimeoutMs: -1 }));
    assert.ok(await isPending(j2));
    clock.advance(5_000);
    assert.equal(await heartbeat(c, 'g', j.memberId, 1), ErrorCode.REBALANCE_IN_PROGRESS); // alive, but does not rejoin
    clock.advance(4_999);
    assert.ok(await isPending(j2));
    clock.advance(1);
    const r2 = await j2;
    assert.equal(r2.errorCode, ErrorCode.NONE);
    assert.equal(r2.generationId, 2);
    assert.deepEqual(c.inspect('g')?.members.map((m) => m.memberId), [r2.memberId]);
    c.close();
  });

  test('errors: INVALID_GROUP_ID, INVALID_SESSION_TIMEOUT, UNKNOWN_MEMBER_ID', async () => {
    const { coordinator: c } = await harness();
    assert.equal((await c.joinGroup(joinParams(''))).errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal((await c.joinGroup(joinParams('g', { sessionTimeoutMs: 5_999 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal((await c.joinGroup(joinParams('g', { sessionTimeoutMs: 1_800_001 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal((await c.joinGroup(joinParams('g', { sessionTimeoutMs: 6_000, apiVersion: 3 }))).errorCode, ErrorCode.NONE);
    const unknownGroup = await c.joinGroup(joinParams('nope', { memberId: 'm-1' }));
    assert.equal(unknownGroup.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(unknownGroup.memberId, 'm-1');
    assert.equal((await c.joinGroup(joinParams('g', { memberId: 'not-a-member' }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    c.close();
  });

  test('configurable session timeout bounds', async () => {
    const { coordinator: c } = await harness({ sessionTimeoutMsMin: 100, sessionTimeoutMsMax: 200 });
    assert.equal((await c.joinGroup(joinParams('g', { sessionTimeoutMs: 201 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal((await c.joinGroup(joinParams('g', { sessionTimeoutMs: 150 }))).errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    c.close();
  });

  test('INCONSISTENT_GROUP_PROTOCOL: empty type or protocols, other type, no common protocol', async () => {
    const { coordinator: c } = await harness();
    assert.equal((await c.joinGroup(joinParams('g', { protocolType: '' }))).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal((await c.joinGroup(joinParams('g', { protocols: [] }))).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    await stableSingle(c, 'g');
    assert.equal((await c.joinGroup(joinParams('g', { protocolType: 'connect' }))).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const r = await c.joinGroup(joinParams('g', { protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] }));
    assert.equal(r.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(r.memberId, '');
    assert.equal(c.inspect('g')?.state, 'Stable');
    c.close();
  });

  test('protocol selection: the protocol every member supports with the most votes', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 1_000 });
    const md = Buffer.from('m');
    const a = await joinNew(c, 'g', { clientId: 'a', protocols: [{ name: 'range', metadata: md }, { name: 'roundrobin', metadata: md }, { name: 'sticky', metadata: md }] });
    const b = await joinNew(c, 'g', { clientId: 'b', protocols: [{ name: 'roundrobin', metadata: md }, { name: 'range', metadata: md }] });
    const d = await joinNew(c, 'g', { clientId: 'd', protocols: [{ name: 'roundrobin', metadata: md }, { name: 'range', metadata: md }] });
    clock.advance(1_000); // b and d arrived during the delay: it is extended once
    assert.ok(await isPending(a.join));
    clock.advance(1_000);
    const results = await Promise.all([a.join, b.join, d.join]);
    for (const r of results) {
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.equal(r.protocolName, 'roundrobin');
      assert.equal(r.generationId, 1);
      assert.equal(r.leader, a.memberId); // the first joiner leads
    }
    assert.equal(results[0]!.members.length, 3);
    assert.equal(results[1]!.members.length, 0);
    c.close();
  });

  test('group.initial.rebalance.delay.ms: a new group waits, and each new member extends the wait up to the rebalance timeout', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 3_000 });
    const a = await joinNew(c, 'g', { clientId: 'a', rebalanceTimeoutMs: 7_000 });
    clock.advance(2_000);
    assert.ok(await isPending(a.join));
    const b = await joinNew(c, 'g', { clientId: 'b', rebalanceTimeoutMs: 7_000 });
    clock.advance(1_000); // first delay over, but b arrived: wait another 3 s
    assert.ok(await isPending(a.join));
    clock.advance(2_999);
    assert.ok(await isPending(b.join));
    clock.advance(1);
    const [ra, rb] = await Promise.all([a.join, b.join]);
    assert.equal(ra.generationId, 1);
    assert.equal(rb.generationId, 1);
    assert.equal(ra.members.length, 2);
    c.close();
  });

  test('GROUP_MAX_SIZE_REACHED', async () => {
    const { coordinator: c } = await harness({ groupSizeMax: 1 });
    await stableSingle(c, 'g');
    const r = await c.joinGroup(joinParams('g'));
    assert.equal(r.errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
    assert.equal(r.memberId, '');
    assert.equal(c.inspect('g')?.members.length, 1);
    assert.equal(c.inspect('g')?.state, 'Stable');
    c.close();
  });

  test('Stable: a follower rejoining with the same metadata gets the current generation; leader rejoin or new metadata rebalances', async () => {
    const { coordinator: c } = await harness();
    const a = await joinNew(c, 'g', { clientId: 'a' });
    const ra = await a.join;
    await sync(c, 'g', a.memberId, ra.generationId);
    const b = await joinNew(c, 'g', { clientId: 'b' });
    assert.equal(await heartbeat(c, 'g', a.memberId, 1), ErrorCode.REBALANCE_IN_PROGRESS);
    const ra2 = c.joinGroup(joinParams('g', { memberId: a.memberId }));
    const [x, y] = await Promise.all([ra2, b.join]);
    assert.equal(x.generationId, 2);
    assert.equal(y.generationId, 2);
    const sa = sync(c, 'g', a.memberId, 2, [{ memberId: a.memberId, assignment: Buffer.from('A') }, { memberId: b.memberId, assignment: Buffer.from('B') }]);
    assert.equal((await sync(c, 'g', b.memberId, 2)).assignment.toString(), 'B');
    assert.equal((await sa).assignment.toString(), 'A');

    // Follower, same metadata: no rebalance.
    const same = await c.joinGroup(joinParams('g', { memberId: b.memberId }));
    assert.equal(same.errorCode, ErrorCode.NONE);
    assert.equal(same.generationId, 2);
    assert.equal(same.leader, a.memberId);
    assert.deepEqual(same.members, []);
    assert.equal(c.inspect('g')?.state, 'Stable');

    // Follower, new metadata: rebalance.
    const changed = c.joinGroup(joinParams('g', { memberId: b.memberId, protocols: [{ name: 'range', metadata: subscription(['t1', 't2']) }] }));
    assert.ok(await isPending(changed));
    assert.equal(c.inspect('g')?.state, 'PreparingRebalance');
    const a3 = c.joinGroup(joinParams('g', { memberId: a.memberId }));
    const [c3, a3r] = await Promise.all([changed, a3]);
    assert.equal(c3.generationId, 3);
    assert.equal(a3r.generationId, 3);
    assert.equal(a3r.leader, a.memberId);

    // Leader rejoining with the same metadata forces a rebalance too.
    await sync(c, 'g', a.memberId, 3);
    await sync(c, 'g', b.memberId, 3);
    const lead = c.joinGroup(joinParams('g', { memberId: a.memberId }));
    assert.ok(await isPending(lead));
    assert.equal(c.inspect('g')?.state, 'PreparingRebalance');
    c.joinGroup(joinParams('g', { memberId: b.memberId, protocols: [{ name: 'range', metadata: subscription(['t1', 't2']) }] }));
    assert.equal((await lead).generationId, 4);
    c.close();
  });

  test('CompletingRebalance: a rejoin with the same metadata returns the same generation (leader gets the members again)', async () => {
    const { coordinator: c } = await harness();
    const a = await joinNew(c, 'g');
    const r1 = await a.join;
    const r2 = await c.joinGroup(joinParams('g', { memberId: a.memberId }));
    assert.equal(r2.generationId, r1.generationId);
    assert.equal(r2.leader, a.memberId);
    assert.equal(r2.members.length, 1);
    assert.equal(c.inspect('g')?.state, 'CompletingRebalance');
    c.close();
  });

  test('a new member during CompletingRebalance answers parked syncs with REBALANCE_IN_PROGRESS', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 100 });
    const a = await joinNew(c, 'g', { clientId: 'a' });
    const b = await joinNew(c, 'g', { clientId: 'b' });
    clock.advance(200);
    const [ra] = await Promise.all([a.join, b.join]);
    assert.equal(ra.leader, a.memberId);
    const followerSync = sync(c, 'g', b.memberId, ra.generationId);
    assert.ok(await isPending(followerSync));
    const d = c.joinGroup(joinParams('g', { apiVersion: 3 }));
    assert.equal((await followerSync).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(c.inspect('g')?.state, 'PreparingRebalance');
    assert.ok(await isPending(d));
    c.close();
    assert.equal((await d).errorCode, ErrorCode.NOT_COORDINATOR);
  });
});

describe('SyncGroup', () => {
  test('followers park until the leader syncs; the leader\'s assignments are distributed; missing members get empty', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 10 });
    const a = await joinNew(c, 'g', { clientId: 'a' });
    const b = await joinNew(c, 'g', { clientId: 'b' });
    const d = await joinNew(c, 'g', { clientId: 'd' });
    clock.advance(20); // the delay is extended once because b and d arrived during it
    const [ra] = await Promise.all([a.join, b.join, d.join]);
    const gen = ra.generationId;
    const sb = sync(c, 'g', b.memberId, gen);
    const sd = sync(c, 'g', d.memberId, gen);
    assert.ok(await isPending(sb));
    assert.ok(await isPending(sd));
    assert.equal(c.inspect('g')?.state, 'CompletingRebalance');
    const sa = await sync(c, 'g', a.memberId, gen, [
      { memberId: a.memberId, assignment: Buffer.from('for-a') },
      { memberId: b.memberId, assignment: Buffer.from('for-b') },
      { memberId: 'stranger', assignment: Buffer.from('ignored') },
    ]);
    assert.equal(sa.errorCode, ErrorCode.NONE);
    assert.equal(sa.assignment.toString(), 'for-a');
    assert.equal(sa.protocolType, 'consumer');
    assert.equal(sa.protocolName, 'range');
    assert.equal((await sb).assignment.toString(), 'for-b');
    const rd = await sd;
    assert.equal(rd.errorCode, ErrorCode.NONE);
    assert.equal(rd.assignment.length, 0);
    assert.equal(c.inspect('g')?.state, 'Stable');
    // In Stable a SyncGroup just returns the current assignment.
    assert.equal((await sync(c, 'g', b.memberId, gen)).assignment.toString(), 'for-b');
    c.close();
  });

  test('errors: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, INCONSISTENT_GROUP_PROTOCOL (v5+), INVALID_GROUP_ID', async () => {
    const { coordinator: c } = await harness();
    assert.equal((await sync(c, '', 'x', 1)).errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal((await sync(c, 'none', 'x', 1)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const a = await joinNew(c, 'g');
    const r = await a.join;
    assert.equal((await sync(c, 'g', 'x', r.generationId)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await sync(c, 'g', a.memberId, r.generationId + 1)).errorCode, ErrorCode.ILLEGAL_GENERATION);
    const base = { groupId: 'g', generationId: r.generationId, memberId: a.memberId, groupInstanceId: null, assignments: [] };
    assert.equal((await c.syncGroup({ ...base, protocolType: 'connect', protocolName: null })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal((await c.syncGroup({ ...base, protocolType: 'consumer', protocolName: 'roundrobin' })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const ok = await c.syncGroup({ ...base, protocolType: 'consumer', protocolName: 'range' });
    assert.equal(ok.errorCode, ErrorCode.NONE);
    // A second member makes the group rebalance: the old generation's sync gets REBALANCE_IN_PROGRESS.
    const b = await joinNew(c, 'g', { clientId: 'b' });
    assert.equal(c.inspect('g')?.state, 'PreparingRebalance');
    assert.equal((await sync(c, 'g', a.memberId, r.generationId)).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    c.close();
    assert.equal((await b.join).errorCode, ErrorCode.NOT_COORDINATOR);
  });

  test('members that do not sync within the rebalance timeout are removed and the group rebalances', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 10 });
    const a = await joinNew(c, 'g', { clientId: 'a', rebalanceTimeoutMs: 5_000 });
    const b = await joinNew(c, 'g', { clientId: 'b', rebalanceTimeoutMs: 5_000 });
    clock.advance(20);
    const [ra] = await Promise.all([a.join, b.join]);
    await sync(c, 'g', a.memberId, ra.generationId); // leader syncs: Stable; b never syncs
    assert.equal(c.inspect('g')?.state, 'Stable');
    // Sessions (10 s) are fine; b just never sends SyncGroup.
    clock.advance(4_999);
    assert.equal(c.inspect('g')?.members.length, 2);
    clock.advance(1);
    assert.equal(c.inspect('g')?.state, 'PreparingRebalance');
    assert.deepEqual(c.inspect('g')?.members.map((m) => m.memberId), [a.memberId]);
    assert.equal(await heartbeat(c, 'g', b.memberId, ra.generationId), ErrorCode.UNKNOWN_MEMBER_ID);
    const again = await c.joinGroup(joinParams('g', { memberId: a.memberId }));
    assert.equal(again.generationId, ra.generationId + 1);
    c.close();
  });
});
