// The control plane on a real etcd: in-process brokers (each its own etcd connection, membership,
// controller candidate, LeadershipView and a fake data plane that flushes and releases) in racks
// a, b, c. One etcd for the file, one cluster name (key prefix) per test. Session timeout 2 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { MetadataKeys } from '../../src/cluster/metadata-keys.js';
import { TopicRegistry } from '../../src/topics/topic-registry.js';
import { applyActions, readSnapshot, type ControllerAction } from '../../src/cluster/controller.js';
import { controlledShutdown } from '../../src/cluster/leadership.js';
import { decodePartitionRecord } from '../../src/cluster/partition-records.js';
import { ObjectRegistry } from '../../src/cluster/object-registry.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { waitFor } from '../helpers/wait.js';
import {
  InvariantChecker, PausableProxy, SESSION_MS, leaderCounts, pendingMoves, startBroker, type FakeBroker,
} from './control-plane-harness.js';

let etcd: EtcdServer;
before(async () => { etcd = await startEtcd(); });
after(async () => { await etcd.stop(); });

interface Cluster {
  name: string;
  keys: MetadataKeys;
  admin: EtcdMetadataStore;
  brokers: FakeBroker[];
  checker: InvariantChecker;
}

async function cluster(t: { after(fn: () => Promise<void>): void }, name: string, racks: string[] = ['a', 'b', 'c'], endpoints: (string | undefined)[] = [], flushMs?: number): Promise<Cluster> {
  const keys = new MetadataKeys(name);
  const admin = await EtcdMetadataStore.open({ endpoints: [etcd.endpoint] });
  const c: Cluster = { name, keys, admin, brokers: [], checker: new InvariantChecker(admin, keys) };
  c.checker.start(() => c.brokers);
  t.after(async () => {
    c.checker.stop();
    await Promise.all(c.brokers.map((b) => b.stop().catch(() => undefined)));
    await admin.close();
  });
  for (let i = 0; i < racks.length; i++) c.brokers.push(await startBroker(endpoints[i] ?? etcd.endpoint, name, i + 1, racks[i]!, flushMs === undefined ? {} : { flushMs }));
  return c;
}

/** Waits until the store shows these leader counts with no move pending, and the brokers' views agree. */
async function settled(c: Cluster, expected: Record<number, number>, timeoutMs = 10_000, views: FakeBroker[] = c.brokers): Promise<void> {
  let last = '';
  await waitFor(async () => {
    const counts = Object.fromEntries(await leaderCounts(c.admin, c.keys));
    last = `store ${JSON.stringify(counts)}, views ${views.map((b) => `${b.nodeId}:${b.leadCount()}`).join(' ')}`;
    return JSON.stringify(counts) === JSON.stringify(expected) && (await pendingMoves(c.admin, c.keys)) === 0
      && views.every((b) => b.leadCount() === (expected[b.nodeId] ?? 0));
  }, timeoutMs, () => `leaders ${JSON.stringify(expected)}, got ${last}`, 20);
}

function controllerOf(c: Cluster): FakeBroker | undefined {
  return c.brokers.find((b) => b.controller.isController);
}

async function createTopic(c: Cluster, creator: FakeBroker, name: string, partitions: number): Promise<string> {
  const r = await new TopicRegistry(creator.store, { clusterName: c.name, nodeId: creator.nodeId }).create(name, partitions);
  assert.ok(r.ok);
  return r.value.id;
}

async function epochs(c: Cluster, topicId: string): Promise<number[]> {
  const kvs = await c.admin.list(c.keys.partitionsPrefix(topicId));
  const out: number[] = [];
  for (const kv of kvs) out[Number(kv.key.slice(c.keys.partitionsPrefix(topicId).length))] = decodePartitionRecord(kv.value, kv.key).leaderEpoch;
  return out;
}

test('a new topic spreads 4/4/4 over racks a, b, c by two-phase moves; a fourth broker takes exactly its share within seconds', async (t) => {
  const c = await cluster(t, 'cp-join');
  await waitFor(() => controllerOf(c) !== undefined, 5000, 'a controller');
  const [b1] = c.brokers;
  const topicId = await createTopic(c, b1!, 'orders', 12);
  await settled(c, { 1: 4, 2: 4, 3: 4 });
  assert.equal(b1!.flushes, 8, 'the creator handed over 8 partitions, each after a flush');
  assert.equal(b1!.releases, 8);
  const e = await epochs(c, topicId);
  assert.equal(e.filter((x) => x === 1).length, 8, 'moved partitions are at epoch 1');
  assert.equal(e.filter((x) => x === 0).length, 4, 'kept partitions stay at epoch 0');
  for (const b of c.brokers) {
    assert.equal(b.leadCount(), 4);
    for (const p of b.view.ledPartitions()) {
      assert.equal(b.view.acceptsWrites(p.topicId, p.partition), p.epoch);
      // The commit guard is the record's current modRevision (what ObjectRegistry.commit compares).
      assert.equal(b.view.commitGuard(p.topicId, p.partition)!.modRevision, (await c.admin.get(c.keys.partition(p.topicId, p.partition)))!.modRevision);
    }
    assert.equal(b.view.commitGuard(topicId, [...Array(12).keys()].find((x) => b.view.leads(topicId, x) === null)!), null);
  }
  // Every broker's view agrees on every leader.
  for (let p = 0; p < 12; p++) {
    const views = c.brokers.map((b) => JSON.stringify(b.view.leaderOf(topicId, p)));
    assert.equal(new Set(views).size, 1);
  }

  const flushesBefore = c.brokers.reduce((n, b) => n + b.flushes, 0);
  const t0 = performance.now();
  c.brokers.push(await startBroker(etcd.endpoint, c.name, 4, 'a'));
  await settled(c, { 1: 3, 2: 3, 3: 3, 4: 3 });
  const seconds = (performance.now() - t0) / 1000;
  const b4 = c.brokers[3]!;
  await waitFor(() => b4.leadCount() === 3, 2000, 'broker 4 view leads 3');
  assert.equal(c.brokers.reduce((n, b) => n + b.flushes, 0) - flushesBefore, 3, 'only the 3 needed moves');
  assert.ok(seconds < 5, `took ${seconds} s`);
  t.diagnostic(`broker 4 started -> leads its share (3 of 12): ${seconds.toFixed(2)} s`);
  assert.deepEqual(b4.view.brokers().map((b) => [b.nodeId, b.rack]), [[1, 'a'], [2, 'b'], [3, 'c'], [4, 'a']]);
  assert.equal(b4.view.controllerId(), controllerOf(c)!.nodeId);
  assert.deepEqual(c.checker.violations, []);
});

test('the controller crashes: another takes over within the session timeout, fails its partitions over at once (epoch + 1), and keeps assigning', async (t) => {
  const c = await cluster(t, 'cp-failover');
  await waitFor(() => controllerOf(c) !== undefined, 5000, 'a controller');
  const topicId = await createTopic(c, c.brokers[0]!, 'orders', 12);
  await settled(c, { 1: 4, 2: 4, 3: 4 });
  const old = controllerOf(c)!;
  const epochsBefore = await epochs(c, topicId);
  const t0 = performance.now();
  await old.crash();
  c.brokers = c.brokers.filter((b) => b !== old);
  await waitFor(() => controllerOf(c) !== undefined, SESSION_MS + 2000, 'a new controller');
  const takeoverMs = performance.now() - t0;
  const expected: Record<number, number> = {};
  for (const b of c.brokers) expected[b.nodeId] = 6;
  await settled(c, expected);
  const failoverMs = performance.now() - t0;
  t.diagnostic(`controller crash -> new controller: ${takeoverMs.toFixed(0)} ms; -> its partitions led elsewhere: ${failoverMs.toFixed(0)} ms (session ${SESSION_MS} ms)`);
  assert.ok(takeoverMs < SESSION_MS + 1500);
  const newController = controllerOf(c)!;
  assert.ok(newController.hookCalls.includes(old.nodeId), 'beforeReassignDeadBroker ran for the dead broker');
  const epochsAfter = await epochs(c, topicId);
  for (let p = 0; p < 12; p++) {
    const moved = c.brokers.every((b) => b.view.leaderOf(topicId, p)!.nodeId !== old.nodeId);
    assert.ok(moved);
  }
  assert.equal(epochsAfter.filter((e, p) => e === epochsBefore[p]! + 1).length, 4, 'exactly the dead broker\'s 4 partitions moved, epoch + 1');
  // Assignment continues: a new topic spreads over the two survivors.
  await createTopic(c, c.brokers[0]!, 'late', 4);
  for (const b of c.brokers) expected[b.nodeId] = 8;
  await settled(c, expected);
  assert.deepEqual(c.checker.violations, []);
});

test('controlled shutdown: the broker drains by two-phase moves (flush, release, epoch + 1), no failover path, then deregisters', async (t) => {
  const c = await cluster(t, 'cp-drain');
  await waitFor(() => controllerOf(c) !== undefined, 5000, 'a controller');
  const topicId = await createTopic(c, c.brokers[0]!, 'orders', 12);
  await settled(c, { 1: 4, 2: 4, 3: 4 });
  const leaving = c.brokers.find((b) => !b.controller.isController)!;
  const led = leaving.view.ledPartitions().map((p) => p.partition);
  const epochsBefore = await epochs(c, topicId);
  const acquiredAt = new Map<number, number>();
  const requestedAt = new Map<number, number>();
  leaving.view.onMoveRequested((_t, p) => requestedAt.set(p, performance.now()));
  for (const b of c.brokers) b.view.onAcquired((_t, p) => { if (b !== leaving) acquiredAt.set(p, performance.now()); });
  const { clean, ms } = await controlledShutdown(leaving.registration, leaving.view, { timeoutMs: 10_000 });
  assert.ok(clean);
  await leaving.controller.close();
  c.brokers = c.brokers.filter((b) => b !== leaving);
  const expected: Record<number, number> = {};
  for (const b of c.brokers) expected[b.nodeId] = 6;
  await settled(c, expected);
  assert.equal(leaving.flushes, 4);
  assert.equal(leaving.releases, 4);
  assert.deepEqual(leaving.events.filter((e) => e.startsWith('lost')).length, 4);
  const epochsAfter = await epochs(c, topicId);
  for (let p = 0; p < 12; p++) assert.equal(epochsAfter[p], epochsBefore[p]! + (led.includes(p) ? 1 : 0));
  for (const b of c.brokers) assert.ok(!b.hookCalls.includes(leaving.nodeId), 'a graceful leave never takes the failover path');
  const gaps = led.map((p) => acquiredAt.get(p)! - requestedAt.get(p)!);
  t.diagnostic(`controlled shutdown of 4 partitions: ${ms} ms; per-partition write unavailability (move requested -> new leader acquired): max ${Math.max(...gaps).toFixed(0)} ms, fake flush 10 ms`);
  await leaving.store.close();
  assert.deepEqual(c.checker.violations, []);
});

test('admin move: movePartition hands one partition over gracefully (the old leader\'s final upload commits during the move, not after); rebalance restores ±1', async (t) => {
  const c = await cluster(t, 'cp-admin', ['a', 'b', 'c'], [], 200);
  await waitFor(() => controllerOf(c) !== undefined, 5000, 'a controller');
  const topicId = await createTopic(c, c.brokers[0]!, 'orders', 6);
  await settled(c, { 1: 2, 2: 2, 3: 2 });
  const from = c.brokers[0]!;
  const p = from.view.ledPartitions()[0]!;
  const before = p.epoch;
  const guard = from.view.commitGuard(p.topicId, p.partition)!;
  const objects = new ObjectRegistry(from.store, c.keys);
  const object = (id: string) => ({ id, key: `k/${id}`, size: 10, kind: 'stream-set' as const, createdMs: 0, blocks: [{ topicId, partition: p.partition, baseOffset: 0, endOffset: 1, recordCount: 1, maxTimestamp: 0, position: 0, size: 10 }] });
  let commitDuringMove: Promise<boolean> | null = null;
  from.view.onMoveRequested((tid, part) => {
    if (tid === topicId && part === p.partition) commitDuringMove = objects.commit({ add: [object('during')], guards: [guard] });
  });
  // From a broker that is not the controller: admin moves work anywhere.
  const via = c.brokers.find((b) => !b.controller.isController)!;
  const r = await via.controller.movePartition('orders', p.partition, 3, { timeoutMs: 5000 });
  assert.deepEqual(r, { topicId, partition: p.partition, leader: 3, leaderEpoch: before + 1 });
  await waitFor(() => c.brokers[2]!.view.leads(topicId, p.partition) === before + 1, 2000, 'broker 3 leads it');
  assert.ok(from.events.includes(`released ${topicId.slice(0, 6)}/${p.partition}`));
  assert.equal(await commitDuringMove, true, 'the move request leaves the commit guard intact');
  assert.equal(await objects.commit({ add: [object('after')], guards: [guard] }), false, 'after the hand-over the old leader is fenced');
  await settled(c, { 1: 1, 2: 2, 3: 3 });
  const result = await controllerOf(c)!.controller.rebalance();
  assert.equal(result.applied.length, 1);
  await settled(c, { 1: 2, 2: 2, 3: 2 });
  assert.deepEqual(c.checker.violations, []);
});

test('a lease lapses (etcd unreachable for one broker): it stops acknowledging before etcd expires the lease; its partitions move at once; it re-registers and gets its share back', async (t) => {
  const proxy = new PausableProxy(etcd.clientPort);
  const viaProxy = await proxy.listen();
  t.after(() => proxy.close());
  const c = await cluster(t, 'cp-lapse', ['a', 'b', 'c'], [undefined, undefined, viaProxy]);
  await waitFor(() => controllerOf(c) !== undefined, 5000, 'a controller');
  const topicId = await createTopic(c, c.brokers[0]!, 'orders', 12);
  await settled(c, { 1: 4, 2: 4, 3: 4 });
  const b3 = c.brokers[2]!;
  // Broker 3 watches through the proxy: its own view may trail the records by a moment.
  await waitFor(() => b3.view.ledPartitions().length === 4, 5000, 'broker 3 sees its 4 partitions');
  const old = b3.view.ledPartitions();
  assert.equal(old.length, 4);
  for (const p of old) assert.ok(b3.view.mayAcknowledge(p.topicId, p.partition, p.epoch));

  let unsafeAt = 0;
  let deletedAt = 0;
  const sampler = setInterval(() => { if (!unsafeAt && !b3.registration.safeToAcknowledge()) unsafeAt = performance.now(); }, 2);
  const cancel = c.admin.watch(c.keys.broker(3), 0, (e) => { if (e.type === 'delete' && !deletedAt) deletedAt = performance.now(); });
  const t0 = performance.now();
  proxy.pause();
  await settled(c, { 1: 6, 2: 6 }, SESSION_MS + 5000, c.brokers.slice(0, 2));
  clearInterval(sampler);
  cancel();
  assert.ok(unsafeAt > 0 && deletedAt > 0);
  t.diagnostic(`etcd unreachable for broker 3: stopped acknowledging after ${(unsafeAt - t0).toFixed(0)} ms, etcd expired its lease after ${(deletedAt - t0).toFixed(0)} ms`);
  assert.ok(unsafeAt < deletedAt, 'acknowledgements stop before the lease can expire');
  // The zombie's view is stale, but it can neither accept nor acknowledge.
  for (const p of old) {
    assert.equal(b3.view.acceptsWrites(p.topicId, p.partition), null);
    assert.equal(b3.view.mayAcknowledge(p.topicId, p.partition, p.epoch), false);
  }
  assert.ok(controllerOf(c)!.hookCalls.includes(3));

  proxy.resume();
  await waitFor(() => b3.registration.generation === 2, 8000, 'broker 3 registered again');
  await settled(c, { 1: 4, 2: 4, 3: 4 }, 10_000);
  await waitFor(() => b3.leadCount() === 4 && b3.view.ledPartitions().every((p) => b3.view.mayAcknowledge(p.topicId, p.partition, p.epoch)), 3000, 'broker 3 serves its new share');
  for (const p of b3.view.ledPartitions()) {
    const was = old.find((o) => o.partition === p.partition);
    if (was) assert.ok(p.epoch > was.epoch, 'a partition led again is led at a higher epoch');
  }
  for (const p of old) assert.ok(b3.events.includes(`lost ${topicId.slice(0, 6)}/${p.partition}@${p.epoch}`));
  assert.deepEqual(c.checker.violations, []);
});

test('stale controller writes are rejected: by the fencing token after a new election, and by modRevision compares', async (t) => {
  const c = await cluster(t, 'cp-stale', ['a', 'b']);
  await waitFor(() => controllerOf(c) !== undefined, 5000, 'a controller');
  const topicId = await createTopic(c, c.brokers[0]!, 'x', 4);
  await settled(c, { 1: 2, 2: 2 });
  const old = controllerOf(c)!;
  const other = c.brokers.find((b) => b !== old)!;
  const staleToken = old.controller.election.tokenCompare();
  const snap = await readSnapshot(old.store, c.keys);
  const rec = [...snap.records.values()].find((r) => r.topicId === topicId && r.leader === old.nodeId)!;
  const action: ControllerAction = { kind: 'request-move', topicId, partition: rec.partition, from: old.nodeId, to: other.nodeId, epoch: rec.leaderEpoch, recordRev: rec.modRevision };

  await old.controller.close(); // resigns: the key is revoked at once
  await waitFor(() => other.controller.isController, SESSION_MS + 2000, 'the other broker takes over');
  const r1 = await applyActions(old.store, c.keys, [action], staleToken);
  assert.deepEqual([r1.applied.length, r1.failed.length], [0, 1], 'the old token no longer matches');
  assert.equal(await c.admin.get(c.keys.partitionMove(topicId, rec.partition)), null);

  // The partition changes (an admin move); a plan from before it fails even with the current token.
  await other.controller.movePartition('x', rec.partition, other.nodeId, { timeoutMs: 5000 });
  const recordNow = await c.admin.get(c.keys.partition(topicId, rec.partition));
  const r2 = await applyActions(other.store, c.keys, [action], other.controller.election.tokenCompare());
  assert.deepEqual([r2.applied.length, r2.failed.length], [0, 1], 'the record moved on since the plan was made');
  assert.equal((await c.admin.get(c.keys.partition(topicId, rec.partition)))!.modRevision, recordNow!.modRevision);
  assert.equal(await c.admin.get(c.keys.partitionMove(topicId, rec.partition)), null);
  assert.deepEqual(c.checker.violations, []);
});

test('etcd restarts (killed, back within a second): the cluster recovers by itself, same leaders, one controller, nothing moved', async (t) => {
  const c = await cluster(t, 'cp-restart');
  await waitFor(() => controllerOf(c) !== undefined, 5000, 'a controller');
  const topicId = await createTopic(c, c.brokers[0]!, 'orders', 12);
  await settled(c, { 1: 4, 2: 4, 3: 4 });
  const before = await epochs(c, topicId);
  const t0 = performance.now();
  await etcd.kill();
  await etcd.restart();
  t.diagnostic(`etcd down for ${(performance.now() - t0).toFixed(0)} ms`);
  await settled(c, { 1: 4, 2: 4, 3: 4 }, 10_000);
  await waitFor(() => c.brokers.filter((b) => b.controller.isController).length === 1, 5000, 'exactly one controller');
  await waitFor(() => c.brokers.every((b) => b.view.ledPartitions().every((p) => b.view.mayAcknowledge(p.topicId, p.partition, p.epoch))), 5000, 'every broker acknowledges again');
  const after = await epochs(c, topicId);
  assert.deepEqual(after, before, 'a short etcd outage moves nothing: leases outlive it');
  // Still assigning after the restart.
  await createTopic(c, c.brokers[1]!, 'after-restart', 3);
  await settled(c, { 1: 5, 2: 5, 3: 5 });
  assert.deepEqual(c.checker.violations, []);
});

test('a leader that cannot flush (S3 down) never releases: the move is cancelled after moveTimeoutMs and it takes writes again', async (t) => {
  const c = await cluster(t, 'cp-stuck', []);
  c.brokers.push(await startBroker(etcd.endpoint, c.name, 1, 'a', { stuck: true, controller: { moveTimeoutMs: 800 } }));
  await waitFor(() => controllerOf(c) !== undefined, 5000, 'a controller');
  const topicId = await createTopic(c, c.brokers[0]!, 'orders', 4);
  await settled(c, { 1: 4 });
  const b1 = c.brokers[0]!;
  const cancelled: number[] = [];
  b1.view.onMoveCancelled((_t, p) => cancelled.push(p));
  c.brokers.push(await startBroker(etcd.endpoint, c.name, 2, 'b', { controller: { moveTimeoutMs: 800 } }));
  await waitFor(() => b1.flushes === 2, 3000, 'two moves requested');
  const moving = b1.view.ledPartitions().filter((p) => p.moveTarget !== null).map((p) => p.partition);
  for (const p of moving) assert.equal(b1.view.acceptsWrites(topicId, p), null, 'no writes while the move is pending');
  await waitFor(() => cancelled.length === 2, 8000, 'both moves cancelled');
  assert.deepEqual(cancelled.sort(), moving.sort());
  for (const p of moving) assert.equal(b1.view.acceptsWrites(topicId, p), 0, 'writes resume at the same epoch');
  assert.equal(await pendingMoves(c.admin, c.keys), 0);
  assert.deepEqual(c.checker.violations, []);
});

test('controlled shutdown while etcd is unreachable for the broker ends within its timeout (the lease TTL hands over)', async (t) => {
  const proxy = new PausableProxy(etcd.clientPort);
  const viaProxy = await proxy.listen();
  t.after(() => proxy.close());
  const c = await cluster(t, 'cp-down-drain', ['a', 'b'], [undefined, viaProxy]);
  await waitFor(() => controllerOf(c) !== undefined, 5000, 'a controller');
  await createTopic(c, c.brokers[0]!, 'orders', 4);
  await settled(c, { 1: 2, 2: 2 });
  const b2 = c.brokers[1]!;
  proxy.pause();
  // The lease is lost before the drain starts: the registration retries for as long as it lives.
  await waitFor(() => !b2.registration.safeToAcknowledge(), SESSION_MS + 2000, 'broker 2 stops acknowledging');
  const started = performance.now();
  const { clean } = await controlledShutdown(b2.registration, b2.view, { timeoutMs: 1500 });
  const ms = performance.now() - started;
  t.diagnostic(`controlled shutdown with etcd unreachable: ${ms.toFixed(0)} ms (timeout 1500 ms)`);
  assert.equal(clean, false);
  assert.ok(ms < 1500 + 5000, `shutdown took ${ms.toFixed(0)} ms`);
  // Its controller candidate and etcd client still retry through the paused proxy: gone now.
  c.brokers = c.brokers.filter((b) => b !== b2);
  await b2.crash();
  await settled(c, { 1: 4 }, SESSION_MS + 5000);
});

test('controlled shutdown of the last broker standing ends at once: nobody could take its partitions', async (t) => {
  const c = await cluster(t, 'cp-last', ['a']);
  await waitFor(() => controllerOf(c) !== undefined, 5000, 'a controller');
  await createTopic(c, c.brokers[0]!, 'orders', 2);
  await settled(c, { 1: 2 });
  const { clean, ms } = await controlledShutdown(c.brokers[0]!.registration, c.brokers[0]!.view, { timeoutMs: 20_000 });
  t.diagnostic(`last broker's controlled shutdown: ${ms} ms (timeout 20 s)`);
  assert.equal(clean, false);
  assert.ok(ms < 5000, `took ${ms} ms`);
});
