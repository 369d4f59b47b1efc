// takeOverWal (wal-takeover.ts) over a real WAL, local metadata store and fs object store: the
// dead broker appended through a LogManager and had uploaded part of it before it died (committed,
// WAL not trimmed). The takeover must commit exactly the rest, once, with producer state, fence and
// trim the WAL, and commit nothing it is not entitled to (another leader, a moved owner record).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { openWal, WalFencedError } from '@ferry/wal';
import type { MetadataStore, Compare, Op } from '../../src/cluster/metadata-store.js';
import { ObjectRegistry } from '../../src/cluster/object-registry.js';
import { decodeJson } from '../../src/cluster/metadata-store.js';
import type { ProducerEntries, ProducerSnapshot } from '../../src/log/producer-state.js';
import { takeOverWal, type TakeOverWalOptions } from '../../src/failover/wal-takeover.js';
import { readVolumeOwner, VolumeClaimError } from '../../src/failover/volume-owner.js';
import { UploadFencedError } from '../../src/uploader/uploader.js';
import {
  BrokerWal, CLUSTER, committedBatches, createTopic, failoverFixture, instanceOf, makeBrokerVolume, setLeader, topicIdOf,
  type AppendedBatch, type FailoverFixture,
} from './failover-fixture.js';

const T = topicIdOf(1);
const DEAD = 2;

/** Broker 2's volume (rack b) with a WAL: partitions 0 and 1 (and 2) of T led by it, part uploaded before the crash. */
async function deadBroker(f: FailoverFixture, options: { p2?: boolean } = {}) {
  const vol = await makeBrokerVolume(f, DEAD, 'b');
  await createTopic(f, T);
  for (const p of [0, 1, 2]) await setLeader(f, T, p, DEAD, 0);
  const bw = await BrokerWal.open(f, vol.walPath, DEAD, vol.claim!.owner.epoch);
  // Before the crash: uploaded and committed, but the WAL was not trimmed yet.
  await bw.append(T, 0, 0, 3, { id: 7n, epoch: 0, seq: 0 });
  await bw.append(T, 0, 0, 2, { id: 7n, epoch: 0, seq: 3 });
  await bw.append(T, 1, 0, 4);
  await bw.append(T, 0, 0, 1, { id: 7n, epoch: 0, seq: 5 });
  await bw.append(T, 1, 0, 2);
  if (options.p2) await bw.append(T, 2, 0, 3);
  await bw.uploadWithoutTrim();
  const uploadedBefore = bw.appended.length;
  // After the last upload: only in the WAL.
  await bw.append(T, 0, 0, 2, { id: 7n, epoch: 0, seq: 6 });
  await bw.append(T, 1, 0, 3, { id: 8n, epoch: 1, seq: 0 });
  await bw.append(T, 0, 0, 1, { id: 7n, epoch: 0, seq: 8 });
  await bw.append(T, 1, 0, 1, { id: 8n, epoch: 1, seq: 3 });
  return { vol, bw, uploadedBefore };
}

/** deadBroker with partition 2 (one batch in S3, one not) moved to broker 3, and a batch of a topic deleted since. */
async function leftOutScenario(f: FailoverFixture) {
  const r = await deadBroker(f, { p2: true });
  const T2 = topicIdOf(2);
  await createTopic(f, T2);
  await setLeader(f, T2, 0, DEAD, 0);
  await r.bw.append(T2, 0, 0, 2);
  await r.bw.append(T, 2, 0, 2); // not uploaded
  await f.store.delete(f.keys.topicId(T2)); // topic deleted after the crash
  await setLeader(f, T, 2, 3, 1); // partition 2 has a new leader now
  return r;
}

/** What the controller does before the target replays: move the attachment to the target. */
async function moveTo(f: FailoverFixture, volumeId: string, target: number): Promise<string> {
  await f.provider.detach(volumeId, { force: true });
  await f.provider.attach(volumeId, instanceOf(target));
  return f.provider.devicePath(volumeId, instanceOf(target));
}

function options(f: FailoverFixture, volumeId: string, walPath: string, target: number, ownerRevision: number, extra: Partial<TakeOverWalOptions> = {}): TakeOverWalOptions {
  return {
    store: f.store, keys: f.keys, objectStore: f.objectStore, registry: f.registry, clusterName: CLUSTER, volumeId,
    deadBrokerId: DEAD, ownerRevision, self: { brokerId: target, instanceId: instanceOf(target) }, walPath,
    lockPath: f.provider.lockPath(volumeId, instanceOf(target)), streamSplitBytes: 1 << 20, log: f.log, ...extra,
  };
}

/** The committed objects hold exactly `expected` for the partition: contiguous blocks from 0, each batch once, byte for byte. */
async function assertCommittedExactly(f: FailoverFixture, partition: number, expected: AppendedBatch[]): Promise<void> {
  const { blocks, batches } = await committedBatches(f, T, partition);
  let next = 0;
  for (const b of blocks) {
    assert.equal(b.baseOffset, next, `${T}/${partition}: blocks contiguous and not overlapping (${JSON.stringify(blocks)})`);
    next = b.endOffset;
  }
  const mine = expected.filter((a) => a.topicId === T && a.partition === partition);
  assert.equal(next, mine.length ? mine[mine.length - 1].lastOffset + 1 : 0, `${T}/${partition}: committed up to the last appended offset`);
  assert.deepEqual(batches.map((b) => b.toString('hex')), mine.map((a) => a.bytes.toString('hex')), `${T}/${partition}: every batch exactly once`);
}

async function walRecordsNow(f: FailoverFixture, walPath: string, epoch: number): Promise<number> {
  const probe = await openWal(walPath, { nodeId: `${CLUSTER}/probe`, epoch, lockPath: `${walPath}.probe.lock` });
  try {
    return (await probe.recover()).length;
  } finally {
    await probe.close();
  }
}

function producerSnapshot(raw: Buffer | undefined): ProducerEntries {
  assert.ok(raw, 'a producer snapshot was committed');
  const snap = decodeJson<ProducerSnapshot>(raw, 'producer snapshot');
  return Array.isArray(snap) ? snap : snap.p;
}

describe('takeOverWal', () => {
  test('commits exactly the batches not yet in S3, with producer state; fences and trims the WAL; owner at epoch + 1', async (t) => {
    const f = await failoverFixture(t);
    const { vol, bw, uploadedBefore } = await deadBroker(f);
    // Partition 2 moved away gracefully (everything it had is in S3): not ours to replay.
    await setLeader(f, T, 2, 3, 1);
    const objectsBefore = await f.registry.list();
    assert.equal(uploadedBefore, 5);
    assert.equal((await f.registry.producerSnapshots(T)).has(1), false, 'nothing idempotent on partition 1 was uploaded before the crash');

    const walPath = await moveTo(f, vol.volumeId, 1);
    let fencedAt = 0;
    const stats = await takeOverWal(options(f, vol.volumeId, walPath, 1, vol.claim!.modRevision, { onFenced: () => { fencedAt = Date.now(); } }));

    const pending = bw.appended.slice(uploadedBefore);
    assert.deepEqual(stats, {
      records: bw.appended.length, batches: pending.length, partitions: 2, skippedBatches: uploadedBefore,
      bytes: pending.reduce((n, a) => n + a.bytes.length, 0),
    });
    assert.ok(fencedAt > 0, 'onFenced was called');
    await assertCommittedExactly(f, 0, bw.appended);
    await assertCommittedExactly(f, 1, bw.appended);
    const after = await f.registry.list();
    assert.ok(after.length > objectsBefore.length);
    for (const o of objectsBefore) assert.ok(after.some((x) => x.id === o.id), 'objects committed before the crash stay');

    // Producer state of everything now durable in S3: idempotence survives the trimmed WAL.
    const snaps = await f.registry.producerSnapshots(T);
    const p0 = producerSnapshot(snaps.get(0));
    const p7 = p0.find((p) => p.id === '7');
    assert.ok(p7, 'producer 7 in partition 0\'s snapshot');
    assert.deepEqual(p7.b[p7.b.length - 1], [8, 8, 8, 8], 'the last batch of producer 7 (seq 8, offset 8)');
    const p1 = producerSnapshot(snaps.get(1));
    assert.deepEqual(p1.map((p) => [p.id, p.epoch, p.b]), [['8', 1, [[0, 2, 6, 8], [3, 3, 9, 9]]]]);

    // The owner record names the target, one epoch up; the volume's rack and home are kept.
    const { claimedMs: _at, ...ownerNow } = (await readVolumeOwner(f.store, f.keys, vol.volumeId))!.owner;
    assert.deepEqual(ownerNow, {
      volumeId: vol.volumeId, brokerId: 1, instanceId: instanceOf(1), rack: 'b', homeBrokerId: DEAD, epoch: 2,
    });
    // The dead broker's WAL handle (a zombie) can acknowledge nothing more.
    await assert.rejects(bw.wal.append(Buffer.from('zombie')), WalFencedError);
    // Trimmed to its end: the volume's own broker starts empty when it comes back.
    assert.equal(await walRecordsNow(f, walPath, 3), 0);
  });

  test('records of a partition that has another leader, and of a deleted topic, are never committed', async (t) => {
    const f = await failoverFixture(t);
    const { vol, bw } = await leftOutScenario(f);
    const p2Before = await committedBatches(f, T, 2);
    assert.equal(p2Before.batches.length, 1);

    const walPath = await moveTo(f, vol.volumeId, 1);
    const stats = await takeOverWal(options(f, vol.volumeId, walPath, 1, vol.claim!.modRevision));
    assert.equal(stats.partitions, 2);
    assert.equal(stats.batches, 4);
    assert.deepEqual(await committedBatches(f, T, 2), p2Before, 'partition 2 (led by broker 3 now) got nothing from the takeover');
    assert.equal((await committedBatches(f, topicIdOf(2), 0)).batches.length, 0, 'a deleted topic gets nothing');
    await assertCommittedExactly(f, 0, bw.appended);
    await assertCommittedExactly(f, 1, bw.appended);
  });

  test('skippedBatches counts only the batches already in S3 (not those of partitions or topics left out)', async (t) => {
    // FailoverReplayStats.skippedBatches: "Batches already in S3 (uploaded before the crash, WAL not
    // yet trimmed)". Fails today: wal-takeover.ts computes walBatches - batches, so the 2 batches
    // left out (a deleted topic, a partition with another leader) are counted as if in S3.
    const f = await failoverFixture(t);
    const { vol, uploadedBefore } = await leftOutScenario(f);
    const walPath = await moveTo(f, vol.volumeId, 1);
    const stats = await takeOverWal(options(f, vol.volumeId, walPath, 1, vol.claim!.modRevision));
    assert.equal(stats.skippedBatches, uploadedBefore);
  });

  test('a partition record that changes during the takeover: nothing of that commit lands, the WAL stays untrimmed', async (t) => {
    const f = await failoverFixture(t);
    const { vol, bw, uploadedBefore } = await deadBroker(f);
    await setLeader(f, T, 2, 3, 1);
    const objectsBefore = await f.registry.list();
    // The controller moves partition 1 (another leader, epoch + 1) right before the takeover commits.
    let moved = false;
    const store = interceptTxn(f.store, async (_compares, ops) => {
      if (!moved && ops.some((o) => o.type === 'put' && o.key.startsWith(`${f.keys.root}objects/`))) {
        moved = true;
        await setLeader(f, T, 1, 3, 1);
      }
    });
    const walPath = await moveTo(f, vol.volumeId, 1);
    await assert.rejects(takeOverWal(options(f, vol.volumeId, walPath, 1, vol.claim!.modRevision, { store, registry: new ObjectRegistry(store, f.keys) })), UploadFencedError);
    assert.ok(moved);
    assert.deepEqual((await f.registry.list()).map((o) => o.id).sort(), objectsBefore.map((o) => o.id).sort(), 'no object committed');
    // Fenced, but not trimmed: a later takeover still finds every record.
    await assert.rejects(bw.wal.append(Buffer.from('zombie')), WalFencedError);
    assert.equal(await walRecordsNow(f, walPath, 3), bw.appended.length);
    assert.ok(uploadedBefore < bw.appended.length);
  });

  test('a takeover that failed half way is retried by another target: every batch still committed exactly once', async (t) => {
    const f = await failoverFixture(t);
    const { vol, bw } = await deadBroker(f);
    await setLeader(f, T, 2, 3, 1);
    // One object per partition; partition 1's record is rewritten (same leader, new revision) before
    // the first commit, so partition 0 commits and partition 1 fails: the WAL is not trimmed.
    let bumped = false;
    const store = interceptTxn(f.store, async (_compares, ops) => {
      if (!bumped && ops.some((o) => o.type === 'put' && o.key.startsWith(`${f.keys.root}objects/`))) {
        bumped = true;
        await setLeader(f, T, 1, DEAD, 0);
      }
    });
    const walPath = await moveTo(f, vol.volumeId, 1);
    await assert.rejects(takeOverWal(options(f, vol.volumeId, walPath, 1, vol.claim!.modRevision, { store, registry: new ObjectRegistry(store, f.keys), streamSplitBytes: 1 })), UploadFencedError);
    await assertCommittedExactly(f, 0, bw.appended);
    const first = (await readVolumeOwner(f.store, f.keys, vol.volumeId))!;
    assert.deepEqual([first.owner.brokerId, first.owner.epoch], [1, 2]);

    // The controller starts over with broker 3 and the owner revision it sees now.
    const walPath3 = await moveTo(f, vol.volumeId, 3);
    const stats = await takeOverWal(options(f, vol.volumeId, walPath3, 3, first.modRevision));
    assert.equal(stats.partitions, 1, 'only partition 1 is left');
    await assertCommittedExactly(f, 0, bw.appended);
    await assertCommittedExactly(f, 1, bw.appended);
    assert.deepEqual((await readVolumeOwner(f.store, f.keys, vol.volumeId))?.owner.epoch, 3);
    assert.equal(await walRecordsNow(f, walPath3, 4), 0);
  });

  test('an owner record that moved since the failover began: VolumeClaimError, nothing committed, the WAL untouched', async (t) => {
    const f = await failoverFixture(t);
    const { vol, bw } = await deadBroker(f);
    const objectsBefore = await f.registry.list();
    const owner = (await readVolumeOwner(f.store, f.keys, vol.volumeId))!;
    const walPath = await moveTo(f, vol.volumeId, 1);
    let fenced = false;
    await assert.rejects(
      takeOverWal(options(f, vol.volumeId, walPath, 1, owner.modRevision - 1, { onFenced: () => { fenced = true; } })),
      VolumeClaimError,
    );
    assert.equal(fenced, false);
    assert.deepEqual(await readVolumeOwner(f.store, f.keys, vol.volumeId), owner, 'owner record unchanged');
    assert.deepEqual((await f.registry.list()).map((o) => o.id).sort(), objectsBefore.map((o) => o.id).sort(), 'no object committed');
    // The WAL was never opened: its writer is not fenced and nothing was trimmed.
    assert.equal(bw.wal.epoch, 1);
    const offset = await bw.wal.append(Buffer.from('still the owner of the WAL'));
    assert.ok(offset >= 0n);
    await bw.wal.close();
    assert.equal(await walRecordsNow(f, walPath, 2), bw.appended.length + 1);
  });

  test('a WAL whose data is all in S3 already: nothing uploaded, everything counted as skipped, trimmed', async (t) => {
    const f = await failoverFixture(t);
    const vol = await makeBrokerVolume(f, DEAD, 'b');
    await createTopic(f, T);
    await setLeader(f, T, 0, DEAD, 0);
    const bw = await BrokerWal.open(f, vol.walPath, DEAD, 1);
    await bw.append(T, 0, 0, 2);
    await bw.append(T, 0, 0, 2);
    await bw.uploadWithoutTrim();
    const before = await f.registry.list();
    const walPath = await moveTo(f, vol.volumeId, 1);
    const stats = await takeOverWal(options(f, vol.volumeId, walPath, 1, vol.claim!.modRevision));
    assert.deepEqual(stats, { records: 2, batches: 0, bytes: 0, partitions: 0, skippedBatches: 2 });
    assert.deepEqual((await f.registry.list()).map((o) => o.id), before.map((o) => o.id));
    await assertCommittedExactly(f, 0, bw.appended);
    assert.equal(await walRecordsNow(f, walPath, 3), 0);
  });
});

/** The store, with `before` run ahead of every transaction (to change the world at the worst moment). */
function interceptTxn(store: MetadataStore, before: (compares: Compare[], ops: Op[]) => Promise<void>): MetadataStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'txn') {
        return async (compares: Compare[], success: Op[], failure?: Op[]) => {
          await before(compares, success);
          return target.txn(compares, success, failure);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
