/**
 * Model test: random interleavings of JoinGroup / SyncGroup / Heartbeat / LeaveGroup from several
 * well-behaved clients plus time passing, checking the coordinator's invariants after every step:
 *  - one leader per generation (every successful JoinGroup of a generation names the same leader,
 *    and the leader's member list contains it);
 *  - generations never go back, and a client that rejoins after a rebalance sees a larger one;
 *  - Stable only after the leader's SyncGroup of that generation: no SyncGroup parked, every member
 *    holds exactly what the leader assigned it (or nothing if the leader did not name it), and every
 *    successful SyncGroup answer carries that assignment;
 *  - every member of an active generation joined that generation (the others were dropped);
 *  - parked joins only while PreparingRebalance, parked syncs only while CompletingRebalance;
 *    Empty has no members, an active group has its leader among its members;
 *  - liveness: once clients stop, every parked request is answered within the timeouts, and close()
 *    leaves no timer behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode, harness, joinParams, isPending } from './helpers.js';
import type { GroupCoordinator, JoinGroupResult, SyncGroupResult } from '../../src/groups/coordinator.js';
import type { ManualClock } from '../../src/groups/clock.js';

const GROUP = 'model';
const SESSION_MS = 10_000;

type Op =
  | { kind: 'join'; client: number; variant: number; apiVersion: number }
  | { kind: 'sync'; client: number }
  | { kind: 'heartbeat'; client: number }
  | { kind: 'leave'; client: number }
  | { kind: 'advance'; ms: number }
  /** The client's natural next step: join when it must, sync after a join, else heartbeat. */
  | { kind: 'act'; client: number };

interface Client {
  name: string;
  memberId: string;
  generationId: number;
  leaderOf: JoinGroupResult | null;
  outstanding: Promise<void> | null;
  lastJoinGeneration: number;
  /** Told to rejoin (REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION) or never joined. */
  mustJoin: boolean;
  syncedGeneration: number;
}

class Model {
  readonly leaders = new Map<number, string>();
  /** generation -> members whose JoinGroup for it succeeded. */
  readonly joined = new Map<number, Set<string>>();
  /** generation -> what the leader assigned (member -> assignment). */
  readonly assigned = new Map<number, Map<string, string>>();
  lastGeneration = 0;
  /** Assertion failures inside response callbacks, rethrown by checkInvariants. */
  readonly failures: unknown[] = [];
  readonly clients: Client[];

  constructor(readonly c: GroupCoordinator, readonly clock: ManualClock, n: number, readonly rebalanceTimeoutMs: number) {
    this.clients = Array.from({ length: n }, (_, i) => ({ name: `c${i}`, memberId: '', generationId: -1, leaderOf: null, outstanding: null, lastJoinGeneration: 0, mustJoin: true, syncedGeneration: -1 }));
  }

  onJoin(cl: Client, r: JoinGroupResult): void {
    switch (r.errorCode) {
      case ErrorCode.NONE: {
        const known = this.leaders.get(r.generationId);
        if (known === undefined) this.leaders.set(r.generationId, r.leader);
        else assert.equal(r.leader, known, `two leaders in generation ${r.generationId}`);
        assert.ok(r.generationId >= cl.lastJoinGeneration, `generation went back for ${cl.name}: ${cl.lastJoinGeneration} -> ${r.generationId}`);
        if (r.members.length > 0) {
          assert.equal(r.leader, r.memberId, 'only the leader gets the member list');
          assert.ok(r.members.some((m) => m.memberId === r.leader), 'the leader is in its member list');
        }
        cl.lastJoinGeneration = r.generationId;
        const set = this.joined.get(r.generationId) ?? new Set<string>();
        set.add(r.memberId);
        this.joined.set(r.generationId, set);
        cl.memberId = r.memberId;
        cl.generationId = r.generationId;
        cl.leaderOf = r.leader === r.memberId ? r : null;
        cl.mustJoin = false;
        return;
      }
      case ErrorCode.MEMBER_ID_REQUIRED:
        cl.memberId = r.memberId;
        return;
      case ErrorCode.UNKNOWN_MEMBER_ID:
        cl.memberId = '';
        cl.generationId = -1;
        cl.leaderOf = null;
        cl.mustJoin = true;
        return;
      case ErrorCode.REBALANCE_IN_PROGRESS:
        return;
      default:
        assert.fail(`unexpected JoinGroup error ${r.errorCode}`);
    }
  }

  onSync(cl: Client, generationId: number, r: SyncGroupResult): void {
    switch (r.errorCode) {
      case ErrorCode.NONE: {
        const given = this.assigned.get(generationId);
        assert.ok(given !== undefined, `sync answered in generation ${generationId} before the leader's assignment`);
        assert.equal(r.assignment.toString(), given.get(cl.memberId) ?? '', `${cl.name} got a wrong assignment`);
        cl.syncedGeneration = generationId;
        return;
      }
      case ErrorCode.UNKNOWN_MEMBER_ID:
        cl.memberId = '';
        cl.generationId = -1;
        cl.leaderOf = null;
        cl.mustJoin = true;
        return;
      case ErrorCode.REBALANCE_IN_PROGRESS:
      case ErrorCode.ILLEGAL_GENERATION:
        cl.mustJoin = true;
        return;
      default:
        assert.fail(`unexpected SyncGroup error ${r.errorCode}`);
    }
  }

  async apply(op: Op): Promise<void> {
    if (op.kind === 'advance') {
      this.clock.advance(op.ms);
      return;
    }
    const cl = this.clients[op.client]!;
    if (cl.outstanding !== null) return; // one request at a time per client, like real consumers
    const c = this.c;
    if (op.kind === 'act') {
      if (cl.memberId === '' || cl.mustJoin || cl.generationId < 0) return this.apply({ kind: 'join', client: op.client, variant: 0, apiVersion: 7 });
      if (cl.syncedGeneration !== cl.generationId) return this.apply({ kind: 'sync', client: op.client });
      return this.apply({ kind: 'heartbeat', client: op.client });
    }
    switch (op.kind) {
      case 'join': {
        const p = c.joinGroup(joinParams(GROUP, {
          apiVersion: op.apiVersion, memberId: cl.memberId, clientId: cl.name,
          sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: this.rebalanceTimeoutMs,
          protocols: [{ name: 'range', metadata: Buffer.from(`v${op.variant}`) }],
        }));
        cl.outstanding = p.then((r) => this.onJoin(cl, r)).catch((e: unknown) => { this.failures.push(e); }).finally(() => { cl.outstanding = null; });
        return;
      }
      case 'sync': {
        if (cl.memberId === '' || cl.generationId < 0) return;
        const gen = cl.generationId;
        const assignments = cl.leaderOf !== null && cl.leaderOf.generationId === gen
          ? cl.leaderOf.members.map((m) => ({ memberId: m.memberId, assignment: Buffer.from(`${gen}:${m.memberId}`) }))
          : [];
        // Record what the leader hands out if the coordinator will accept it (CompletingRebalance, this generation).
        const snap = c.inspect(GROUP);
        if (assignments.length > 0 && snap?.state === 'CompletingRebalance' && snap.generationId === gen && snap.leaderId === cl.memberId) {
          this.assigned.set(gen, new Map(assignments.map((a) => [a.memberId, a.assignment.toString()])));
        }
        const p = c.syncGroup({ groupId: GROUP, generationId: gen, memberId: cl.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: null, assignments });
        cl.outstanding = p.then((r) => this.onSync(cl, gen, r)).catch((e: unknown) => { this.failures.push(e); }).finally(() => { cl.outstanding = null; });
        return;
      }
      case 'heartbeat': {
        if (cl.memberId === '') return;
        const r = await c.heartbeat({ groupId: GROUP, generationId: cl.generationId, memberId: cl.memberId, groupInstanceId: null });
        if (r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
          cl.memberId = '';
          cl.generationId = -1;
          cl.mustJoin = true;
        } else {
          if (r.errorCode !== ErrorCode.NONE) cl.mustJoin = true;
          assert.ok(([ErrorCode.NONE, ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION] as number[]).includes(r.errorCode), `heartbeat error ${r.errorCode}`);
        }
        return;
      }
      case 'leave': {
        if (cl.memberId === '') return;
        await c.leaveGroup({ groupId: GROUP, members: [{ memberId: cl.memberId, groupInstanceId: null }] });
        cl.mustJoin = true;
        cl.memberId = '';
        cl.generationId = -1;
        cl.leaderOf = null;
        return;
      }
    }
  }

  checkInvariants(): void {
    if (this.failures.length > 0) throw this.failures[0];
    const s = this.c.inspect(GROUP);
    if (s === undefined) return;
    assert.ok(s.generationId >= this.lastGeneration, `generation went back: ${this.lastGeneration} -> ${s.generationId}`);
    this.lastGeneration = s.generationId;
    const ids = s.members.map((m) => m.memberId);
    assert.equal(new Set(ids).size, ids.length, 'member ids are unique');
    for (const m of s.members) {
      if (m.awaitingJoin) assert.equal(s.state, 'PreparingRebalance', `parked join while ${s.state}`);
      if (m.awaitingSync) assert.equal(s.state, 'CompletingRebalance', `parked sync while ${s.state}`);
    }
    switch (s.state) {
      case 'Empty':
        assert.equal(s.members.length, 0, 'Empty group with members');
        assert.equal(s.leaderId, null);
        break;
      case 'CompletingRebalance':
      case 'Stable':
        assert.ok(s.members.length > 0, `${s.state} group without members`);
        assert.ok(s.leaderId !== null && ids.includes(s.leaderId), 'leader is a member');
        assert.equal(this.leaders.get(s.generationId) ?? s.leaderId, s.leaderId, 'group leader matches the generation\'s leader');
        // Every member of an active generation joined it: members that did not rejoin were dropped.
        for (const id of ids) assert.ok(this.joined.get(s.generationId)?.has(id), `member ${id} is in generation ${s.generationId} without joining it`);
        break;
      case 'PreparingRebalance':
        if (s.members.length > 0) assert.ok(s.leaderId !== null && ids.includes(s.leaderId), 'leader is a member');
        break;
      case 'Dead':
        assert.fail('Dead group visible');
    }
    if (s.state === 'Stable') {
      const given = this.assigned.get(s.generationId);
      assert.ok(given !== undefined, `Stable in generation ${s.generationId} without the leader's SyncGroup`);
      for (const m of s.members) assert.equal(m.assignment.toString(), given.get(m.memberId) ?? '', `member ${m.memberId} holds a wrong assignment`);
    }
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  }
}

const opArb = (clients: number): fc.Arbitrary<Op> => fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('act' as const), client: fc.nat(clients - 1) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('join' as const), client: fc.nat(clients - 1), variant: fc.nat(1), apiVersion: fc.constantFrom(3, 5, 7) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sync' as const), client: fc.nat(clients - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), client: fc.nat(clients - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), client: fc.nat(clients - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 3_000, max: 25_000 })) }) },
);

test('model: random join/sync/heartbeat/leave sequences keep the group invariants', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 2, max: 4 }).chain((n) => fc.tuple(fc.constant(n), fc.array(opArb(n), { minLength: 10, maxLength: 150, size: 'max' }), fc.constantFrom(0, 500), fc.constantFrom(6_000, 20_000))),
      // A rebalance timeout below the session timeout lets live-but-slow members be dropped by it.
      async ([n, ops, initialDelay, rebalanceTimeoutMs]) => {
        const { coordinator: c, clock } = await harness({ initialRebalanceDelayMs: initialDelay, newMemberJoinTimeoutMs: 60_000 });
        const model = new Model(c, clock, n, rebalanceTimeoutMs);
        for (const op of ops) {
          await model.apply(op);
          await model.settle();
          model.checkInvariants();
        }
        // Liveness: with clients idle, every parked request is answered within the timeouts.
        for (let t = 0; t < 4; t++) {
          clock.advance(rebalanceTimeoutMs + SESSION_MS + 60_000);
          await model.settle();
          model.checkInvariants();
        }
        for (const cl of model.clients) {
          if (cl.outstanding !== null) assert.equal(await isPending(cl.outstanding), false, `${cl.name} still parked`);
        }
        // Everybody went silent: sessions expired and the group is Empty.
        assert.equal(c.inspect(GROUP)?.state ?? 'Empty', 'Empty');
        c.close();
        assert.equal(clock.pendingTimers(), 0, 'timers left after close');
      },
    ),
    { numRuns: 500 },
  );
});
