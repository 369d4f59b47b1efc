import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { leaveGroupV0Error } from '../../src/groups/coordinator.js';
import { ErrorCode, harness, joinParams, joinNew, sync, heartbeat, stableSingle, isPending, SESSION_MS } from './helpers.js';
import type { GroupCoordinator } from '../../src/groups/coordinator.js';
import type { ManualClock } from '../../src/groups/clock.js';

/** Three members a, b, d joined and synced in one generation; a leads. */
async function stableThree(c: GroupCoordinator, clock: ManualClock, groupId = 'g') {
  const a = await joinNew(c, groupId, { clientId: 'a' });
  const b = await joinNew(c, groupId, { clientId: 'b' });
  const d = await joinNew(c, groupId, { clientId: 'd' });
  clock.advance(20);
  const [ra, rb, rd] = await Promise.all([a.join, b.join, d.join]);
  assert.equal(ra.leader, a.memberId);
  const gen = ra.generationId;
  const ids = [a.memberId, b.memberId, d.memberId];
  const sb = sync(c, groupId, b.memberId, gen);
  const sd = sync(c, groupId, d.memberId, gen);
  await sync(c, groupId, a.memberId, gen, ids.map((id) => ({ memberId: id, assignment: Buffer.from(`p-${id}`) })));
  await Promise.all([sb, sd]);
  assert.equal(c.inspect(groupId)?.state, 'Stable');
  return { ids, gen, a: a.memberId, b: b.memberId, d: d.memberId, results: [ra, rb, rd] };
}

describe('Heartbeat', () => {
  test('NONE when Stable or CompletingRebalance, REBALANCE_IN_PROGRESS while preparing, errors otherwise', async () => {
    const { coordinator: c } = await harness();
    assert.equal(await heartbeat(c, '', 'x', 1), ErrorCode.INVALID_GROUP_ID);
    assert.equal(await heartbeat(c, 'none', 'x', 1), ErrorCode.UNKNOWN_MEMBER_ID);
    const a = await joinNew(c, 'g');
    const r = await a.join;
    assert.equal(c.inspect('g')?.state, 'CompletingRebalance');
    assert.equal(await heartbeat(c, 'g', a.memberId, r.generationId), ErrorCode.NONE);
    assert.equal(await heartbeat(c, 'g', 'stranger', r.generationId), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(await heartbeat(c, 'g', a.memberId, r.generationId - 1), ErrorCode.ILLEGAL_GENERATION);
    await sync(c, 'g', a.memberId, r.generationId);
    assert.equal(await heartbeat(c, 'g', a.memberId, r.generationId), ErrorCode.NONE);
    const b = await joinNew(c, 'g', { clientId: 'b' });
    assert.equal(await heartbeat(c, 'g', a.memberId, r.generationId), ErrorCode.REBALANCE_IN_PROGRESS);
    c.close();
    assert.equal((await b.join).errorCode, ErrorCode.NOT_COORDINATOR);
  });

  test('heartbeats keep a member alive; silence past the session timeout removes it and the group rebalances', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 10 });
    const g = await stableThree(c, clock);
    for (let i = 0; i < 5; i++) {
      clock.advance(SESSION_MS - 1_000);
      for (const id of g.ids) assert.equal(await heartbeat(c, 'g', id, g.gen), ErrorCode.NONE);
    }
    assert.equal(c.inspect('g')?.members.length, 3);
    // d goes silent.
    clock.advance(SESSION_MS - 1_000);
    assert.equal(await heartbeat(c, 'g', g.a, g.gen), ErrorCode.NONE);
    assert.equal(await heartbeat(c, 'g', g.b, g.gen), ErrorCode.NONE);
    clock.advance(1_000);
    assert.equal(c.inspect('g')?.state, 'PreparingRebalance');
    assert.deepEqual(c.inspect('g')?.members.map((m) => m.memberId), [g.a, g.b]);
    assert.equal(await heartbeat(c, 'g', g.d, g.gen), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(await heartbeat(c, 'g', g.b, g.gen), ErrorCode.REBALANCE_IN_PROGRESS);
    const ja = c.joinGroup(joinParams('g', { memberId: g.a }));
    const jb = c.joinGroup(joinParams('g', { memberId: g.b }));
    const [ra, rb] = await Promise.all([ja, jb]);
    assert.equal(ra.generationId, g.gen + 1);
    assert.equal(rb.generationId, g.gen + 1);
    assert.equal(ra.leader, g.a);
    assert.equal(ra.members.length, 2);
    c.close();
  });

  test('the last member expiring empties the group (generation still increments)', async () => {
    const { coordinator: c, clock } = await harness();
    const { generationId } = await stableSingle(c, 'g');
    clock.advance(SESSION_MS);
    const s = c.inspect('g');
    assert.equal(s?.state, 'Empty');
    assert.equal(s?.members.length, 0);
    assert.equal(s?.generationId, generationId + 1);
    assert.equal(s?.protocolName, null);
    c.close();
  });

  test('a member parked in JoinGroup does not expire; a new member whose first join waits too long does', async () => {
    const { coordinator: c, clock } = await harness({ newMemberJoinTimeoutMs: 60_000 });
    const a = await stableSingle(c, 'g', { clientId: 'a', rebalanceTimeoutMs: 120_000 });
    const b = await joinNew(c, 'g', { clientId: 'b', rebalanceTimeoutMs: 120_000 });
    // a rejoins and is parked waiting for... nobody else: completes at once. Make a third member b2 pending instead:
    const b2first = await c.joinGroup(joinParams('g', { clientId: 'b2', rebalanceTimeoutMs: 120_000 }));
    assert.equal(b2first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    const ja = c.joinGroup(joinParams('g', { memberId: a.memberId, rebalanceTimeoutMs: 120_000 }));
    clock.advance(SESSION_MS + 1); // a's session would have expired, but a is parked; b2's pending id expires
    assert.deepEqual(c.inspect('g')?.pendingMemberIds, []);
    const [ra, rb] = await Promise.all([ja, b.join]);
    assert.equal(ra.errorCode, ErrorCode.NONE);
    assert.equal(rb.errorCode, ErrorCode.NONE);
    assert.equal(ra.members.length, 2);

    // A new member stuck in its first join longer than newMemberJoinTimeoutMs is dropped.
    await sync(c, 'g', a.memberId, ra.generationId);
    await sync(c, 'g', b.memberId, ra.generationId);
    const late = await joinNew(c, 'g', { clientId: 'late', rebalanceTimeoutMs: 120_000 });
    for (let t = 0; t < 60_000; t += 5_000) {
      clock.advance(5_000);
      assert.equal(await heartbeat(c, 'g', a.memberId, ra.generationId), ErrorCode.REBALANCE_IN_PROGRESS);
      assert.equal(await heartbeat(c, 'g', b.memberId, ra.generationId), ErrorCode.REBALANCE_IN_PROGRESS);
    }
    const rl = await late.join;
    assert.equal(rl.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(c.inspect('g')?.members.length, 2);
    c.close();
  });
});

describe('rebalance timeout', () => {
  test('a member that does not rejoin within the rebalance timeout is removed; the others form the next generation', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 10 });
    const g = await stableThree(c, clock);
    // A new member arrives; a and b rejoin; d keeps heartbeating but never rejoins.
    const e = await joinNew(c, 'g', { clientId: 'e' });
    const ja = c.joinGroup(joinParams('g', { memberId: g.a }));
    const jb = c.joinGroup(joinParams('g', { memberId: g.b }));
    for (let t = 0; t < 30_000 - 5_000; t += 5_000) {
      clock.advance(5_000);
      assert.equal(await heartbeat(c, 'g', g.d, g.gen), ErrorCode.REBALANCE_IN_PROGRESS);
    }
    assert.ok(await isPending(ja));
    clock.advance(5_000);
    const [ra, rb, re] = await Promise.all([ja, jb, e.join]);
    for (const r of [ra, rb, re]) assert.equal(r.generationId, g.gen + 1);
    assert.equal(ra.leader, g.a);
    assert.deepEqual(new Set(ra.members.map((m) => m.memberId)), new Set([g.a, g.b, e.memberId]));
    assert.equal(await heartbeat(c, 'g', g.d, g.gen), ErrorCode.UNKNOWN_MEMBER_ID);
    c.close();
  });

  test('if the leader does not rejoin, a member that did becomes leader', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 10 });
    const g = await stableThree(c, clock);
    const jb = c.joinGroup(joinParams('g', { memberId: g.b, protocols: [{ name: 'range', metadata: Buffer.from('new') }] }));
    const jd = c.joinGroup(joinParams('g', { memberId: g.d }));
    clock.advance(30_000);
    const [rb, rd] = await Promise.all([jb, jd]);
    assert.equal(rb.leader, g.b);
    assert.equal(rd.leader, g.b);
    assert.equal(rb.members.length, 2);
    c.close();
  });
});

describe('LeaveGroup', () => {
  test('3 members; one leaves; the other two rebalance into the next generation', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 10 });
    const g = await stableThree(c, clock);
    const r = await c.leaveGroup({ groupId: 'g', members: [{ memberId: g.a, groupInstanceId: null, reason: 'shutting down' }] });
    assert.deepEqual(r, { errorCode: ErrorCode.NONE, members: [{ memberId: g.a, groupInstanceId: null, errorCode: ErrorCode.NONE }] });
    assert.equal(c.inspect('g')?.state, 'PreparingRebalance');
    assert.equal(await heartbeat(c, 'g', g.b, g.gen), ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(await heartbeat(c, 'g', g.d, g.gen), ErrorCode.REBALANCE_IN_PROGRESS);
    const jb = c.joinGroup(joinParams('g', { memberId: g.b }));
    assert.ok(await isPending(jb));
    const jd = c.joinGroup(joinParams('g', { memberId: g.d }));
    const [rb, rd] = await Promise.all([jb, jd]);
    assert.equal(rb.generationId, g.gen + 1);
    assert.equal(rb.leader, rd.leader);
    assert.ok([g.b, g.d].includes(rb.leader)); // the old leader left: a rejoined member leads
    const leader = rb.leader === g.b ? g.b : g.d;
    const follower = leader === g.b ? g.d : g.b;
    const sf = sync(c, 'g', follower, rb.generationId);
    await sync(c, 'g', leader, rb.generationId, [{ memberId: g.b, assignment: Buffer.from('B2') }, { memberId: g.d, assignment: Buffer.from('D2') }]);
    assert.equal((await sf).errorCode, ErrorCode.NONE);
    assert.equal(c.inspect('g')?.state, 'Stable');
    assert.equal(await heartbeat(c, 'g', g.a, g.gen), ErrorCode.UNKNOWN_MEMBER_ID);
    c.close();
  });

  test('v3+ batch: per-member errors; unknown group; pending member; v0-2 error folding', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 10 });
    const none = await c.leaveGroup({ groupId: 'none', members: [{ memberId: 'x', groupInstanceId: null }] });
    assert.equal(none.errorCode, ErrorCode.NONE);
    assert.equal(none.members[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(leaveGroupV0Error(none), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await c.leaveGroup({ groupId: '', members: [] })).errorCode, ErrorCode.INVALID_GROUP_ID);

    const g = await stableThree(c, clock);
    const pending = await c.joinGroup(joinParams('g', { clientId: 'p' }));
    const r = await c.leaveGroup({
      groupId: 'g',
      members: [
        { memberId: g.b, groupInstanceId: null },
        { memberId: 'ghost', groupInstanceId: null },
        { memberId: g.d, groupInstanceId: 'not-static' },
        { memberId: pending.memberId, groupInstanceId: null },
        { memberId: '', groupInstanceId: 'unknown-instance' },
      ],
    });
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.deepEqual(r.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
    assert.deepEqual(c.inspect('g')?.members.map((m) => m.memberId), [g.a, g.d]);
    assert.deepEqual(c.inspect('g')?.pendingMemberIds, []);
    assert.equal(leaveGroupV0Error({ errorCode: ErrorCode.NONE, members: [{ memberId: g.a, groupInstanceId: null, errorCode: ErrorCode.NONE }] }), ErrorCode.NONE);
    c.close();
  });

  test('a member leaving while parked in JoinGroup gets its join answered; the last member leaving empties the group', async () => {
    const { coordinator: c } = await harness();
    const a = await stableSingle(c, 'g');
    const b = await joinNew(c, 'g', { clientId: 'b' });
    assert.ok(await isPending(b.join));
    await c.leaveGroup({ groupId: 'g', members: [{ memberId: b.memberId, groupInstanceId: null }] });
    assert.equal((await b.join).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(c.inspect('g')?.state, 'PreparingRebalance');
    await c.leaveGroup({ groupId: 'g', members: [{ memberId: a.memberId, groupInstanceId: null }] });
    assert.equal(c.inspect('g')?.state, 'Empty');
    assert.equal(c.inspect('g')?.generationId, a.generationId + 1);
    assert.equal((await sync(c, 'g', a.memberId, a.generationId + 1)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    c.close();
  });
});

describe('static membership (group.instance.id)', () => {
  const staticJoin = (instance: string, extra = {}) => joinParams('g', { groupInstanceId: instance, clientId: `c-${instance}`, apiVersion: 5, ...extra });

  async function staticPair(c: GroupCoordinator, clock: ManualClock) {
    const ja = c.joinGroup(staticJoin('ia'));
    const jb = c.joinGroup(staticJoin('ib'));
    clock.advance(20);
    const [ra, rb] = await Promise.all([ja, jb]);
    assert.equal(ra.errorCode, ErrorCode.NONE);
    assert.match(ra.memberId, /^ia-/); // static ids start with the instance id; no MEMBER_ID_REQUIRED
    const sb = sync(c, 'g', rb.memberId, rb.generationId);
    await sync(c, 'g', ra.memberId, ra.generationId, [{ memberId: ra.memberId, assignment: Buffer.from('A') }, { memberId: rb.memberId, assignment: Buffer.from('B') }]);
    await sb;
    return { a: ra.memberId, b: rb.memberId, gen: ra.generationId };
  }

  test('a restarted static member replaces the old one without a rebalance; the old id is fenced', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 10 });
    const s = await staticPair(c, clock);
    // ia restarts: empty member id, same instance id, same protocols (its metadata may differ).
    const r = await c.joinGroup(staticJoin('ia', { protocols: [{ name: 'range', metadata: Buffer.from('after-restart') }] }));
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.notEqual(r.memberId, s.a);
    assert.equal(r.generationId, s.gen);
    assert.equal(r.leader, s.a); // the previous leader id: the new member must not run an assignment
    assert.deepEqual(r.members, []);
    assert.equal(c.inspect('g')?.state, 'Stable');
    assert.equal(c.inspect('g')?.leaderId, r.memberId);
    // It keeps the old member's assignment.
    const sr = await c.syncGroup({ groupId: 'g', generationId: s.gen, memberId: r.memberId, groupInstanceId: 'ia', protocolType: 'consumer', protocolName: 'range', assignments: [] });
    assert.equal(sr.assignment.toString(), 'A');
    // The zombie is fenced everywhere.
    assert.equal(await heartbeat(c, 'g', s.a, s.gen, 'ia'), ErrorCode.FENCED_INSTANCE_ID);
    assert.equal((await c.syncGroup({ groupId: 'g', generationId: s.gen, memberId: s.a, groupInstanceId: 'ia', protocolType: null, protocolName: null, assignments: [] })).errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal((await c.joinGroup(staticJoin('ia', { memberId: s.a }))).errorCode, ErrorCode.FENCED_INSTANCE_ID);
    const commit = await c.commitOffsets({ apiVersion: 7, groupId: 'g', generationId: s.gen, memberId: s.a, groupInstanceId: 'ia', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }] });
    assert.equal(commit.topics[0]!.partitions[0]!.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal((await c.leaveGroup({ groupId: 'g', members: [{ memberId: s.a, groupInstanceId: 'ia' }] })).members[0]!.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    // Known instance id with an id it never had: fenced; unknown instance id: UNKNOWN_MEMBER_ID.
    assert.equal(await heartbeat(c, 'g', s.b, s.gen, 'ia'), ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(await heartbeat(c, 'g', s.b, s.gen, 'nobody'), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(await heartbeat(c, 'g', r.memberId, s.gen, 'ia'), ErrorCode.NONE);
    assert.equal(await heartbeat(c, 'g', s.b, s.gen, 'ib'), ErrorCode.NONE);
    c.close();
  });

  test('a static rejoin that changes the selected protocol rebalances', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 10 });
    const ja = c.joinGroup(staticJoin('ia', { protocols: [{ name: 'range', metadata: Buffer.alloc(0) }, { name: 'rr', metadata: Buffer.alloc(0) }] }));
    const jb = c.joinGroup(staticJoin('ib', { protocols: [{ name: 'range', metadata: Buffer.alloc(0) }, { name: 'rr', metadata: Buffer.alloc(0) }] }));
    clock.advance(20);
    const [ra, rb] = await Promise.all([ja, jb]);
    assert.equal(ra.protocolName, 'range');
    await sync(c, 'g', ra.memberId, ra.generationId);
    await sync(c, 'g', rb.memberId, rb.generationId);
    // ia now prefers rr and... alone it cannot outvote ib; make it support only rr: selection must change.
    const r = c.joinGroup(staticJoin('ia', { protocols: [{ name: 'rr', metadata: Buffer.alloc(0) }] }));
    assert.ok(await isPending(r));
    assert.equal(c.inspect('g')?.state, 'PreparingRebalance');
    const rb2 = c.joinGroup(staticJoin('ib', { memberId: rb.memberId, protocols: [{ name: 'range', metadata: Buffer.alloc(0) }, { name: 'rr', metadata: Buffer.alloc(0) }] }));
    const [x, y] = await Promise.all([r, rb2]);
    assert.equal(x.generationId, ra.generationId + 1);
    assert.equal(x.protocolName, 'rr');
    assert.equal(y.protocolName, 'rr');
    c.close();
  });

  test('a static rejoin during CompletingRebalance fences the old member\'s parked sync and rebalances', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 10 });
    const ja = c.joinGroup(staticJoin('ia'));
    const jb = c.joinGroup(staticJoin('ib'));
    clock.advance(20);
    const [ra, rb] = await Promise.all([ja, jb]);
    const parked = sync(c, 'g', rb.memberId, rb.generationId);
    assert.ok(await isPending(parked));
    const again = c.joinGroup(staticJoin('ib'));
    assert.equal((await parked).errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(c.inspect('g')?.state, 'PreparingRebalance');
    const ra2 = c.joinGroup(staticJoin('ia', { memberId: ra.memberId }));
    const [x, y] = await Promise.all([again, ra2]);
    assert.equal(x.generationId, ra.generationId + 1);
    assert.equal(y.generationId, ra.generationId + 1);
    assert.notEqual(x.memberId, rb.memberId);
    c.close();
  });

  test('static members that do not rejoin are kept through the rebalance timeout (dynamic ones are dropped)', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 10 });
    const s = await staticPair(c, clock);
    const ja = c.joinGroup(staticJoin('ia', { memberId: s.a }));
    assert.equal(c.inspect('g')?.state, 'PreparingRebalance'); // the leader rejoined
    for (let t = 0; t < 30_000; t += 5_000) {
      assert.equal(await heartbeat(c, 'g', s.b, s.gen, 'ib'), ErrorCode.REBALANCE_IN_PROGRESS); // alive, not rejoining
      clock.advance(5_000);
    }
    const r = await ja;
    assert.equal(r.generationId, s.gen + 1);
    assert.deepEqual(new Set(r.members.map((m) => m.memberId)), new Set([s.a, s.b]));
    // ib can still join the new generation with its id.
    const rb = await c.joinGroup(staticJoin('ib', { memberId: s.b }));
    assert.equal(rb.generationId, s.gen + 1);
    c.close();
  });

  test('administrative removal by group.instance.id (LeaveGroup with an empty member id)', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 10 });
    const s = await staticPair(c, clock);
    const r = await c.leaveGroup({ groupId: 'g', members: [{ memberId: '', groupInstanceId: 'ib', reason: 'admin' }] });
    assert.equal(r.members[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(c.inspect('g')?.members.map((m) => m.memberId), [s.a]);
    assert.equal(c.inspect('g')?.state, 'PreparingRebalance');
    const ra = await c.joinGroup(staticJoin('ia', { memberId: s.a }));
    assert.equal(ra.generationId, s.gen + 1);
    c.close();
  });
});

describe('close', () => {
  test('answers parked requests and leaves no timers', async () => {
    const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: 1_000 });
    const a = await joinNew(c, 'g');
    assert.ok(clock.pendingTimers() > 0);
    c.close();
    assert.equal((await a.join).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(clock.pendingTimers(), 0);
    assert.equal((await c.joinGroup(joinParams('g'))).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(await heartbeat(c, 'g', 'x', 1), ErrorCode.COORDINATOR_NOT_AVAILABLE);
    c.close(); // idempotent
  });
});
