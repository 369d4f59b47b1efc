// RemountController.beforeReassign (remount-controller.ts) in process: registered brokers with
// local volumes, real TakeoverWorkers on the targets, the failovers/<id> record watched through
// every phase. Target choice (same rack, other rack when crossZone, never a busy one, the
// controller last), resuming a record a dead controller left in any phase, a target that dies or
// never replays, and the cases with nothing to do.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { BrokerRegistration } from '../../src/cluster/membership.js';
import type { FailoverRecord } from '../../src/cluster/failover-records.js';
import { FailoverError, RemountController, type RemountControllerOptions } from '../../src/failover/remount-controller.js';
import { claimVolume, readVolumeOwner } from '../../src/failover/volume-owner.js';
import { TakeoverWorker } from '../../src/failover/takeover-worker.js';
import { ObjectStoreError, type ObjectStore } from '../../src/objects/object-store.js';
import type { VolumeProvider } from '../../src/failover/volume-provider.js';
import { waitFor } from '../helpers/wait.js';
import {
  BrokerWal, CLUSTER, committedBatches, createTopic, failoverFixture, instanceOf, makeBrokerVolume, readFailover, registerLive,
  setLeader, silentControllerLog, startWorker, topicIdOf, volumeOf, watchFailovers, writeFailover, zonal,
  type FailoverFixture,
} from './failover-fixture.js';

const T = topicIdOf(5);
const ALL_PHASES = ['detected', 'moving', 'replaying', 'releasing', 'done'];

interface Cluster {
  f: FailoverFixture;
  regs: Map<number, BrokerRegistration>;
  /** The owner record revision of each broker's volume after its own claim. */
  ownerRevision: Map<number, number>;
  /** Broker `id`'s WAL batches (partition 0 of T for broker 2). */
  walBatches: Buffer[];
}

/**
 * Brokers (id -> rack), each registered with its own volume attached and claimed. Broker 2 wrote
 * two batches of T/0 into its WAL before it dies (`dead`: its registration is closed, its WAL
 * lock dropped, as a SIGKILL leaves them).
 */
async function cluster(t: { after(fn: () => Promise<void> | void): void }, racks: Record<number, string>, dead: number[] = [2]): Promise<Cluster> {
  const f = await failoverFixture(t);
  const regs = new Map<number, BrokerRegistration>();
  const ownerRevision = new Map<number, number>();
  await createTopic(f, T);
  await setLeader(f, T, 0, 2, 0);
  const walBatches: Buffer[] = [];
  for (const [id, rack] of Object.entries(racks).map(([k, v]) => [Number(k), v] as const)) {
    const vol = await makeBrokerVolume(f, id, rack);
    ownerRevision.set(id, vol.claim!.modRevision);
    if (dead.includes(id) || id === 2) {
      // Every volume has its broker's WAL (a small one: a takeover never creates it).
      const bw = await BrokerWal.open(f, vol.walPath, id, vol.claim!.owner.epoch);
      if (id === 2) walBatches.push((await bw.append(T, 0, 0, 3)).bytes, (await bw.append(T, 0, 0, 2)).bytes);
      await bw.wal.close();
    }
    regs.set(id, await registerLive(f, id, rack));
  }
  for (const id of dead) await regs.get(id)!.close();
  return { f, regs, ownerRevision, walBatches };
}

function controller(f: FailoverFixture, nodeId: number, extra: Partial<RemountControllerOptions> = {}): RemountController {
  const rc = new RemountController({ store: f.store, keys: f.keys, provider: f.provider, nodeId, attachTimeoutMs: 5000, log: silentControllerLog, ...extra });
  f.defer(() => rc.close());
  return rc;
}

/** An object store that is down: every call fails (retriable, as S3 errors are). */
function failingObjectStore(): ObjectStore {
  const down = async (): Promise<never> => { throw new ObjectStoreError('S3 down', true); };
  return {
    description: 'down', put: down, get: down, head: down, delete: down, close: async () => {},
    list: async function* () { await down(); },
  };
}

function isFailover(code: FailoverError['code']) {
  return (err: unknown) => {
    assert.ok(err instanceof FailoverError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  };
}

/** A record as a controller that died after writing `phase` would have left it. */
function handRecord(c: Cluster, phase: FailoverRecord['phase'], target: number, targetRack: string, extra: Partial<FailoverRecord> = {}): FailoverRecord {
  return {
    id: '2-1000', brokerId: 2, volumeId: volumeOf(2), fromInstance: instanceOf(2), fromRack: 'b', ownerRevision: c.ownerRevision.get(2)!,
    target, targetInstance: instanceOf(target), targetRack, phase, times: { detected: Date.now() - 10 }, controller: 9, ...extra,
  };
}

async function moveAttachment(f: FailoverFixture, volumeId: string, to: number): Promise<void> {
  await f.provider.detach(volumeId, { force: true });
  await f.provider.attach(volumeId, instanceOf(to));
}

/** The dead broker's volume ended replayed by `target` and released; its WAL batches are in S3. */
async function assertReplayedAndReleased(c: Cluster, target: number, epoch = 2): Promise<void> {
  const { f } = c;
  const info = await f.provider.describe(volumeOf(2));
  assert.equal(info.state, 'available', 'released: attached to nothing');
  const owner = (await readVolumeOwner(f.store, f.keys, volumeOf(2)))!.owner;
  assert.deepEqual([owner.brokerId, owner.homeBrokerId, owner.epoch, owner.rack], [target, 2, epoch, 'b']);
  const { batches } = await committedBatches(f, T, 0);
  assert.deepEqual(batches.map((b) => b.toString('hex')), c.walBatches.map((b) => b.toString('hex')), 'the dead broker\'s WAL is in S3');
}

describe('RemountController.beforeReassign', () => {
  test('no live broker in the volume\'s rack: another rack\'s broker (not the controller) replays it; every phase in order, then done', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' });
    const { f } = c;
    await startWorker(f, 1);
    await startWorker(f, 3);
    const watch = await watchFailovers(f, 2);
    const finished: string[] = [];
    const phaseSeconds: string[] = [];
    const rc = controller(f, 1, { metrics: { failoverFinished: (r) => finished.push(r), failoverPhase: (p) => phaseSeconds.push(p) } });

    await rc.beforeReassign(2);
    await waitFor(() => watch.seen.length >= 5, 2000, () => `5 phases (saw ${watch.phases()})`);
    assert.deepEqual(watch.phases(), ALL_PHASES);
    assert.equal(new Set(watch.seen.map((r) => r.id)).size, 1, 'one failover record id throughout');
    const done = (await readFailover(f, 2))!.rec;
    assert.equal(done.phase, 'done');
    assert.deepEqual([done.target, done.targetInstance, done.targetRack, done.fromRack, done.fromInstance], [3, instanceOf(3), 'c', 'b', instanceOf(2)]);
    assert.equal(done.ownerRevision, c.ownerRevision.get(2));
    assert.equal(done.controller, 1);
    const ts = done.times;
    for (const k of ['detached', 'attached', 'fenced', 'replayed', 'released', 'done'] as const) assert.equal(typeof ts[k], 'number', `times.${k}`);
    assert.ok(ts.detected <= ts.detached! && ts.detached! <= ts.attached! && ts.attached! <= ts.fenced! && ts.fenced! <= ts.replayed! && ts.replayed! <= ts.released!, JSON.stringify(ts));
    assert.equal(ts.done, ts.released);
    assert.deepEqual(done.replay, { records: 2, batches: 2, bytes: c.walBatches[0].length + c.walBatches[1].length, partitions: 1, skippedBatches: 0 });
    await assertReplayedAndReleased(c, 3);
    assert.deepEqual(finished, ['done']);
    assert.deepEqual(phaseSeconds, ['attach', 'replay', 'total']);

    // Called again (the controller reconciles again): the volume was replayed and released; nothing new.
    const writes = watch.seen.length;
    await rc.beforeReassign(2);
    assert.equal(watch.seen.length, writes, 'no new failover');
  });

  test('a live broker in the volume\'s rack is preferred over lower ids in other racks', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c', 4: 'b' });
    for (const id of [1, 3, 4]) await startWorker(c.f, id);
    await controller(c.f, 1).beforeReassign(2);
    const rec = (await readFailover(c.f, 2))!.rec;
    assert.deepEqual([rec.phase, rec.target, rec.targetRack], ['done', 4, 'b']);
    await assertReplayedAndReleased(c, 4);
  });

  test('the controller itself is chosen only when no other broker is free', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' });
    await startWorker(c.f, 1);
    await startWorker(c.f, 3);
    await controller(c.f, 3).beforeReassign(2);
    const rec = (await readFailover(c.f, 2))!.rec;
    assert.deepEqual([rec.phase, rec.target], ['done', 1], 'controller 3 sends it to broker 1');
    await assertReplayedAndReleased(c, 1);
  });

  test('a zonal provider with no live broker in the volume\'s zone: ZONAL_VOLUME, the record waits (not failed); a broker in that zone finishes it', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' });
    const { f } = c;
    const provider: VolumeProvider = zonal(f.provider);
    assert.equal(provider.crossZone, false);
    await startWorker(f, 1);
    await startWorker(f, 3);
    const rc = controller(f, 1, { provider });
    await assert.rejects(rc.beforeReassign(2), isFailover('ZONAL_VOLUME'));
    const waiting = (await readFailover(f, 2))!.rec;
    assert.equal(waiting.phase, 'detected', 'waiting is not failing');
    assert.equal(waiting.target, null);
    assert.equal((await f.provider.describe(volumeOf(2))).attachedTo, instanceOf(2), 'the volume was not touched');

    // Broker 4 starts in zone b: the same failover (same id) goes on, to it.
    await makeBrokerVolume(f, 4, 'b');
    await registerLive(f, 4, 'b');
    await startWorker(f, 4);
    await rc.beforeReassign(2);
    const done = (await readFailover(f, 2))!.rec;
    assert.deepEqual([done.id, done.phase, done.target], [waiting.id, 'done', 4]);
    await assertReplayedAndReleased(c, 4);
  });

  test('busy brokers (targets of other active failovers) are never chosen; none free: NO_TARGET and the record waits', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' });
    const { f } = c;
    // Other dead brokers' failovers, in progress, with targets 3 and 1.
    const other = (brokerId: number, target: number): FailoverRecord => ({
      ...handRecord(c, 'moving', target, 'x'), id: `${brokerId}-5`, brokerId, volumeId: volumeOf(brokerId),
    });
    await writeFailover(f, other(8, 3));
    await writeFailover(f, other(9, 1));
    const rc = controller(f, 1);
    await assert.rejects(rc.beforeReassign(2), isFailover('NO_TARGET'));
    assert.equal((await readFailover(f, 2))!.rec.phase, 'detected');

    // Broker 1's other takeover is over: broker 1 (the controller, the only free one) takes it.
    await writeFailover(f, { ...other(9, 1), phase: 'done' });
    await startWorker(f, 1);
    await rc.beforeReassign(2);
    const rec = (await readFailover(f, 2))!.rec;
    assert.deepEqual([rec.phase, rec.target], ['done', 1]);
    assert.equal((await readFailover(f, 8))!.rec.phase, 'moving', 'the other failover is left alone');
    await assertReplayedAndReleased(c, 1);
  });

  test('two dead brokers at once (a rack loss): each gets its own target', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c', 4: 'd', 5: 'b' }, [2, 5]);
    const { f } = c;
    for (const id of [1, 3, 4]) await startWorker(f, id);
    const rc = controller(f, 1);
    await Promise.all([rc.beforeReassign(2), rc.beforeReassign(5)]);
    const r2 = (await readFailover(f, 2))!.rec;
    const r5 = (await readFailover(f, 5))!.rec;
    assert.deepEqual([r2.phase, r5.phase], ['done', 'done']);
    assert.notEqual(r2.target, r5.target, 'one takeover per target');
    assert.ok([3, 4].includes(r2.target!) && [3, 4].includes(r5.target!), `targets ${r2.target}, ${r5.target}: not the controller while others are free`);
    await assertReplayedAndReleased(c, r2.target!);
  });

  for (const phase of ['moving', 'replaying', 'releasing'] as const) {
    test(`a record a dead controller left in phase ${phase} is resumed by a new controller: same id, on to done`, async (t) => {
      const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' });
      const { f } = c;
      let rec = handRecord(c, phase, 3, 'c');
      if (phase !== 'moving') {
        // The dead controller had attached the volume to the target already.
        await moveAttachment(f, volumeOf(2), 3);
        const now = Date.now();
        rec = { ...rec, times: { detected: now - 30, detached: now - 20, attached: now - 10 } };
      }
      if (phase === 'releasing') {
        // ... and the target had replayed it (do the replay's effect the way the worker would).
        const w = await startWorker(f, 3);
        await writeFailover(f, { ...rec, phase: 'replaying' });
        await waitFor(async () => (await readFailover(f, 2))!.rec.phase === 'releasing', 5000, 'the target replayed');
        await w.close();
        rec = (await readFailover(f, 2))!.rec;
      } else {
        await writeFailover(f, rec);
        await startWorker(f, 3);
      }
      const watch = await watchFailovers(f, 2);
      await controller(f, 1).beforeReassign(2);
      await waitFor(() => watch.phases().at(-1) === 'done', 2000, () => `done (saw ${watch.phases()})`);
      assert.deepEqual(watch.phases(), ALL_PHASES.slice(ALL_PHASES.indexOf(phase) + 1));
      assert.deepEqual([...new Set(watch.seen.map((r) => r.id))], ['2-1000'], 'the same failover, not a new one');
      assert.equal(watch.seen.at(-1)!.controller, 1);
      assert.equal(watch.seen.at(-1)!.target, 3);
      await assertReplayedAndReleased(c, 3);
    });
  }

  test('the target dies while replaying: the record fails (TARGET_LOST); the next call starts a new failover to another target', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' });
    const { f } = c;
    // Broker 3 runs no takeover worker: it never replays. Then it dies.
    const rc = controller(f, 1);
    const first = rc.beforeReassign(2);
    await waitFor(async () => (await readFailover(f, 2))?.rec.phase === 'replaying', 5000, 'the volume attached to broker 3');
    const firstId = (await readFailover(f, 2))!.rec.id;
    await c.regs.get(3)!.close();
    await assert.rejects(first, isFailover('TARGET_LOST'));
    const failed = (await readFailover(f, 2))!.rec;
    assert.deepEqual([failed.id, failed.phase, failed.target], [firstId, 'failed', 3]);
    assert.match(failed.error ?? '', /target broker 3 is gone/);
    assert.equal((await f.provider.describe(volumeOf(2))).attachedTo, instanceOf(3));

    await startWorker(f, 1);
    const watch = await watchFailovers(f, 2);
    await rc.beforeReassign(2);
    await waitFor(() => watch.phases().at(-1) === 'done', 2000, () => `done (saw ${watch.phases()})`);
    assert.deepEqual(watch.phases(), ALL_PHASES);
    const again = watch.seen.at(-1)!;
    assert.notEqual(again.id, firstId, 'a new failover');
    assert.equal(again.target, 1);
    await assertReplayedAndReleased(c, 1);
  });

  test('a target that does not replay within replayTimeoutMs: REPLAY_TIMEOUT, the record fails', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' });
    const { f } = c;
    const rc = controller(f, 1, { replayTimeoutMs: 300 });
    await assert.rejects(rc.beforeReassign(2), isFailover('REPLAY_TIMEOUT'));
    const rec = (await readFailover(f, 2))!.rec;
    assert.equal(rec.phase, 'failed');
    assert.match(rec.error ?? '', /did not replay/);
  });

  test('a takeover the target reports failed (the owner record moved): a new failover (new record) replays it', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' });
    const { f } = c;
    await moveAttachment(f, volumeOf(2), 3);
    // A stale owner revision: broker 3's claim must refuse it.
    await writeFailover(f, handRecord(c, 'replaying', 3, 'c', { ownerRevision: 1 }));
    const watch = await watchFailovers(f, 2);
    await startWorker(f, 3);
    const rc = controller(f, 1);
    // Today the call starts over by itself; with REPLAY_FAILED reported (see the next test) the
    // controller's next reconcile does. Either way the next failover finishes the job.
    await rc.beforeReassign(2).catch((err: unknown) => isFailover('REPLAY_FAILED')(err));
    if ((await readFailover(f, 2))!.rec.phase === 'failed') await rc.beforeReassign(2);
    await waitFor(() => watch.phases().at(-1) === 'done', 2000, () => `done (saw ${watch.phases()})`);
    assert.deepEqual(watch.phases(), ['failed', ...ALL_PHASES]);
    assert.match(watch.seen[0].error ?? '', /takeover by broker 3: .*claimed meanwhile/);
    assert.equal(watch.seen[0].id, '2-1000');
    assert.notEqual(watch.seen.at(-1)!.id, '2-1000');
    await assertReplayedAndReleased(c, 3);
  });

  test('a target whose takeover keeps failing: the call rejects with REPLAY_FAILED instead of starting failover after failover', async (t) => {
    // Fails today: recover() treats the target's "failed" as a reason to create a new record at
    // once, in the same call, with no pause and no limit (REPLAY_FAILED is unreachable); with the
    // object store down this makes dozens of failovers a second, each raising the owner epoch.
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' });
    const { f } = c;
    const s3Down = failingObjectStore();
    const w = new TakeoverWorker({
      store: f.store, keys: f.keys, provider: f.provider, objectStore: s3Down, registry: f.registry, clusterName: CLUSTER,
      nodeId: 3, instanceId: instanceOf(3), streamSplitBytes: 1 << 20, log: f.log,
    });
    await w.start();
    f.defer(() => w.close());
    const watch = await watchFailovers(f, 2);
    const rc = controller(f, 1);
    const outcome = rc.beforeReassign(2).then(() => 'resolved', (err: unknown) => err);
    const settled = await Promise.race([outcome, new Promise((r) => setTimeout(() => r('still running after 3 s'), 3000))]);
    rc.close(); // ends the loop if it is still going
    await outcome;
    const ids = new Set(watch.seen.map((r) => r.id));
    assert.ok(settled instanceof FailoverError && settled.code === 'REPLAY_FAILED', `expected REPLAY_FAILED, got ${String(settled)} after ${ids.size} failovers`);
    assert.equal(ids.size, 1, 'one failover per call');
    const rec = (await readFailover(f, 2))!.rec;
    assert.equal(rec.phase, 'failed');
    assert.match(rec.error ?? '', /S3 down/);
  });

  test('a broker that registered again: resolves at once, no failover', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' }, []);
    await controller(c.f, 1).beforeReassign(2);
    assert.equal(await readFailover(c.f, 2), null);
    assert.equal((await c.f.provider.describe(volumeOf(2))).attachedTo, instanceOf(2));
  });

  test('a broker that comes back while its failover waits for a target: the next call resolves without moving anything', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' });
    const { f } = c;
    const rc = controller(f, 1, { provider: zonal(f.provider) });
    await assert.rejects(rc.beforeReassign(2), isFailover('ZONAL_VOLUME'));
    await registerLive(f, 2, 'b');
    await rc.beforeReassign(2);
    assert.equal((await readFailover(f, 2))!.rec.phase, 'detected');
    assert.equal((await f.provider.describe(volumeOf(2))).attachedTo, instanceOf(2));
  });

  test('a broker without a volume: resolves at once, no failover', async (t) => {
    const c = await cluster(t, { 1: 'a', 3: 'c' }, []);
    await controller(c.f, 1).beforeReassign(7);
    assert.equal(await readFailover(c.f, 7), null);
  });

  test('concurrent calls for one broker share one failover', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' });
    await startWorker(c.f, 3);
    const rc = controller(c.f, 1);
    const watch = await watchFailovers(c.f, 2);
    const a = rc.beforeReassign(2);
    const b = rc.beforeReassign(2);
    assert.equal(a, b, 'the same promise');
    await Promise.all([a, b]);
    await waitFor(() => watch.phases().at(-1) === 'done', 2000, 'done');
    assert.deepEqual(watch.phases(), ALL_PHASES);
  });

  test('a closed controller gives up', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' });
    const rc = controller(c.f, 1);
    rc.close();
    await assert.rejects(rc.beforeReassign(2), /remount controller closed/);
    assert.equal(await readFailover(c.f, 2), null);
  });
});

describe('a broker that is starting again', () => {
  test('a dead broker that re-claimed its volume and is still starting is not failed over within the grace; after it, it is', async (t) => {
    const c = await cluster(t, { 1: 'a', 2: 'b', 3: 'c' });
    const { f } = c;
    // Broker 2 restarted: it claimed its volume (starting=true) and is recovering, not registered yet.
    const again = await claimVolume(f.store, f.keys, { volumeId: volumeOf(2), brokerId: 2, instanceId: instanceOf(2), rack: 'b', homeBrokerId: 2, starting: true });
    await assert.rejects(controller(f, 1).beforeReassign(2), isFailover('BROKER_STARTING'));
    assert.equal(await f.store.get(f.keys.failover(2)), null, 'no failover record while it starts');
    assert.deepEqual(await readVolumeOwner(f.store, f.keys, volumeOf(2)), { owner: again.owner, modRevision: again.modRevision }, 'its claim untouched');
    // A broker that never finishes starting is failed over once the grace is over.
    await startWorker(f, 1);
    await startWorker(f, 3);
    await controller(f, 1, { startGraceMs: 0 }).beforeReassign(2);
    const kv = await f.store.get(f.keys.failover(2));
    assert.equal(JSON.parse(kv!.value.toString('utf8')).phase, 'done');
  });
});
