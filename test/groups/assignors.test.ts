import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assign, rangeAssign, uniformAssign, type AssignorMember, type AssignorTopic, type MemberAssignment } from '../../src/groups/assignors.js';

const T1: AssignorTopic = { topicId: 'a1', name: 't1', partitionCount: 6 };
const T2: AssignorTopic = { topicId: 'b2', name: 't2', partitionCount: 3 };

function member(memberId: string, topics: string[], previous: Record<string, number[]> = {}): AssignorMember {
  return { memberId, subscribedTopicIds: new Set(topics), previous: new Map(Object.entries(previous)) };
}

function count(a: MemberAssignment): number {
  let n = 0;
  for (const ps of a.values()) n += ps.length;
  return n;
}

/** Every partition of the subscribed topics is assigned exactly once, only to subscribers. */
function assertComplete(result: Map<string, MemberAssignment>, members: AssignorMember[], topics: AssignorTopic[]): void {
  for (const t of topics) {
    const owners: string[] = [];
    for (const [memberId, a] of result) for (const p of a.get(t.topicId) ?? []) { owners[p] = memberId; }
    const subscribed = members.some((m) => m.subscribedTopicIds.has(t.topicId));
    for (let p = 0; p < t.partitionCount; p++) {
      if (!subscribed) { assert.equal(owners[p], undefined); continue; }
      assert.ok(owners[p] !== undefined, `${t.name}-${p} unassigned`);
      assert.ok(members.find((m) => m.memberId === owners[p])!.subscribedTopicIds.has(t.topicId));
    }
    const total = [...result.values()].reduce((n, a) => n + (a.get(t.topicId)?.length ?? 0), 0);
    assert.equal(total, subscribed ? t.partitionCount : 0, `${t.name} assigned once per partition`);
  }
}

test('uniform: identical subscriptions balance to floor/ceil of P/M', () => {
  const members = [member('m1', ['a1', 'b2']), member('m2', ['a1', 'b2']), member('m3', ['a1', 'b2']), member('m4', ['a1', 'b2'])];
  const r = uniformAssign(members, [T1, T2]);
  assertComplete(r, members, [T1, T2]);
  const counts = [...r.values()].map(count).sort();
  assert.deepEqual(counts, [2, 2, 2, 3]);
});

test('uniform: sticky — a joining member takes partitions only from the others, the rest stay', () => {
  const first = uniformAssign([member('m1', ['a1']), member('m2', ['a1'])], [T1]);
  const prev = (id: string) => Object.fromEntries(first.get(id)!);
  const members = [member('m1', ['a1'], prev('m1')), member('m2', ['a1'], prev('m2')), member('m3', ['a1'])];
  const second = uniformAssign(members, [T1]);
  assertComplete(second, members, [T1]);
  for (const id of ['m1', 'm2']) {
    for (const p of second.get(id)!.get('a1') ?? []) assert.ok(first.get(id)!.get('a1')!.includes(p), `${id} kept p${p}`);
  }
  assert.deepEqual([...second.values()].map(count), [2, 2, 2]);
});

test('uniform: heterogeneous subscriptions stay within subscribers and balanced where possible', () => {
  const members = [member('m1', ['a1']), member('m2', ['a1', 'b2']), member('m3', ['b2'])];
  const r = uniformAssign(members, [T1, T2]);
  assertComplete(r, members, [T1, T2]);
  const c = Object.fromEntries([...r].map(([id, a]) => [id, count(a)]));
  assert.ok(Math.max(...Object.values(c)) - Math.min(...Object.values(c)) <= 1, JSON.stringify(c));
});

test('uniform: a topic nobody subscribes to is not assigned; a member subscribed to nothing gets nothing', () => {
  const members = [member('m1', ['a1']), member('m2', [])];
  const r = uniformAssign(members, [T1, T2]);
  assertComplete(r, members, [T1, T2]);
  assert.equal(count(r.get('m2')!), 0);
  assert.equal(count(r.get('m1')!), 6);
});

test('range: contiguous ranges by member id, the first ones get the remainder', () => {
  const members = [member('m2', ['a1', 'b2']), member('m1', ['a1', 'b2']), member('m4', ['a1', 'b2']), member('m3', ['a1', 'b2'])];
  const r = rangeAssign(members, [{ ...T1, partitionCount: 7 }, T2]);
  assert.deepEqual(r.get('m1')!.get('a1'), [0, 1]);
  assert.deepEqual(r.get('m2')!.get('a1'), [2, 3]);
  assert.deepEqual(r.get('m3')!.get('a1'), [4, 5]);
  assert.deepEqual(r.get('m4')!.get('a1'), [6]);
  assert.deepEqual(r.get('m1')!.get('b2'), [0]);
  assert.equal(r.get('m4')!.get('b2'), undefined);
});

test('assign() is deterministic for the same input', () => {
  const members = [member('x', ['a1', 'b2']), member('y', ['a1'])];
  assert.deepEqual(assign('uniform', members, [T1, T2]), assign('uniform', [...members].reverse(), [T2, T1]));
});
