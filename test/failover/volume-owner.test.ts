// volumes/<id>/owner claims (volume-owner.ts): epochs start at 1 and only grow, an expected
// revision that moved refuses the claim, of racing claimants exactly one wins each revision, and
// ownerCompare makes a commit fail once someone else has claimed the volume.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { encodeJson } from '../../src/cluster/metadata-store.js';
import { listVolumeOwners } from '../../src/cluster/failover-records.js';
import { claimVolume, ownerCompare, readVolumeOwner, VolumeClaimError, type VolumeClaim } from '../../src/failover/volume-owner.js';
import { failoverFixture } from './failover-fixture.js';

const claimOf = (brokerId: number, extra: { rack?: string | null; homeBrokerId?: number } = {}) => ({
  volumeId: 'wal-1', brokerId, instanceId: `i-${brokerId}`, rack: extra.rack === undefined ? 'a' : extra.rack, homeBrokerId: extra.homeBrokerId ?? 1,
});

describe('claimVolume', () => {
  test('the first claim creates the record at epoch 1; each later claim raises the epoch by one', async (t) => {
    const { store, keys } = await failoverFixture(t);
    assert.equal(await readVolumeOwner(store, keys, 'wal-1'), null);

    const first = await claimVolume(store, keys, claimOf(1));
    assert.equal(first.owner.epoch, 1);
    assert.equal(first.previous, null);
    assert.equal(first.key, keys.volumeOwner('wal-1'));
    const { claimedMs, ...rest } = first.owner;
    assert.deepEqual(rest, { volumeId: 'wal-1', brokerId: 1, instanceId: 'i-1', rack: 'a', homeBrokerId: 1, epoch: 1 });
    assert.ok(typeof claimedMs === 'number' && Math.abs(claimedMs - Date.now()) < 60_000, 'the claim time is recorded');
    const stored = await readVolumeOwner(store, keys, 'wal-1');
    assert.deepEqual(stored, { owner: first.owner, modRevision: first.modRevision });

    // A takeover by broker 3 (rack unknown to it: the volume's rack is kept), then the owner again.
    const second = await claimVolume(store, keys, claimOf(3, { rack: null, homeBrokerId: 1 }));
    assert.equal(second.owner.epoch, 2);
    assert.equal(second.owner.brokerId, 3);
    assert.equal(second.owner.rack, 'a', 'a claim without a rack keeps the volume\'s rack');
    assert.deepEqual(second.previous, first.owner);
    assert.ok(second.modRevision > first.modRevision);

    const third = await claimVolume(store, keys, claimOf(1));
    assert.equal(third.owner.epoch, 3);
    assert.equal(third.previous?.brokerId, 3);

    const owners = await listVolumeOwners(store, keys);
    assert.deepEqual(owners, [{ owner: third.owner, modRevision: third.modRevision }]);
  });

  test('minEpoch lifts the epoch (never lowers it)', async (t) => {
    const { store, keys } = await failoverFixture(t);
    assert.equal((await claimVolume(store, keys, claimOf(1), { minEpoch: 7 })).owner.epoch, 7);
    assert.equal((await claimVolume(store, keys, claimOf(1), { minEpoch: 3 })).owner.epoch, 8);
  });

  test('expectRevision: succeeds at the expected revision, refuses with VolumeClaimError (record unchanged) once it moved', async (t) => {
    const { store, keys } = await failoverFixture(t);
    // Expecting "no record yet" (revision 0) works for the very first claim.
    const first = await claimVolume(store, keys, claimOf(1), { expectRevision: 0 });
    assert.equal(first.owner.epoch, 1);
    await assert.rejects(claimVolume(store, keys, claimOf(2), { expectRevision: 0 }), VolumeClaimError);

    const takeover = await claimVolume(store, keys, claimOf(2), { expectRevision: first.modRevision });
    assert.equal(takeover.owner.epoch, 2);

    // A second takeover still holding the old revision loses, and learns who holds it.
    await assert.rejects(claimVolume(store, keys, claimOf(3), { expectRevision: first.modRevision }), (err: unknown) => {
      assert.ok(err instanceof VolumeClaimError);
      assert.equal(err.code, 'VOLUME_CLAIMED');
      assert.equal(err.volumeId, 'wal-1');
      assert.deepEqual(err.current, takeover.owner);
      assert.match(err.message, /broker 2 \(epoch 2\)/);
      return true;
    });
    assert.deepEqual(await readVolumeOwner(store, keys, 'wal-1'), { owner: takeover.owner, modRevision: takeover.modRevision });
    // An expected revision on a record that does not exist is refused too.
    await assert.rejects(claimVolume(store, keys, { ...claimOf(1), volumeId: 'wal-9' }, { expectRevision: first.modRevision }), (err: unknown) => {
      assert.ok(err instanceof VolumeClaimError);
      assert.equal(err.current, null);
      return true;
    });
    assert.equal(await readVolumeOwner(store, keys, 'wal-9'), null);
  });

  test('concurrent claims at one expected revision: exactly one wins', async (t) => {
    const { store, keys } = await failoverFixture(t);
    const base = await claimVolume(store, keys, claimOf(1));
    for (let round = 0; round < 5; round++) {
      const cur = (await readVolumeOwner(store, keys, 'wal-1'))!;
      const results = await Promise.allSettled([2, 3, 4, 5, 6, 7].map((b) => claimVolume(store, keys, claimOf(b), { expectRevision: cur.modRevision })));
      const won = results.filter((r): r is PromiseFulfilledResult<VolumeClaim> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1, `round ${round}: exactly one claimant wins`);
      for (const l of lost) assert.ok(l.reason instanceof VolumeClaimError, String(l.reason));
      assert.equal(won[0].value.owner.epoch, cur.owner.epoch + 1);
      assert.deepEqual(await readVolumeOwner(store, keys, 'wal-1'), { owner: won[0].value.owner, modRevision: won[0].value.modRevision });
    }
    assert.equal((await readVolumeOwner(store, keys, 'wal-1'))!.owner.epoch, base.owner.epoch + 5);
  });

  test('concurrent claims without an expected revision: all succeed, one at a time, each with its own epoch', async (t) => {
    const { store, keys } = await failoverFixture(t);
    const claims = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((b) => claimVolume(store, keys, claimOf(b))));
    assert.deepEqual(claims.map((c) => c.owner.epoch).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
    const revisions = claims.map((c) => c.modRevision);
    assert.equal(new Set(revisions).size, 8, 'every claim is its own revision');
    // Each claim's previous owner is the claim just before it in epoch order.
    const byEpoch = [...claims].sort((a, b) => a.owner.epoch - b.owner.epoch);
    for (let i = 1; i < byEpoch.length; i++) assert.deepEqual(byEpoch[i].previous, byEpoch[i - 1].owner);
    const last = byEpoch[byEpoch.length - 1];
    assert.deepEqual(await readVolumeOwner(store, keys, 'wal-1'), { owner: last.owner, modRevision: last.modRevision });
  });

  test('a malformed owner record is refused, not overwritten', async (t) => {
    const { store, keys } = await failoverFixture(t);
    await store.put(keys.volumeOwner('wal-1'), encodeJson({ brokerId: 1, epoch: 0 }));
    await assert.rejects(claimVolume(store, keys, claimOf(1)), /malformed volume owner record/);
  });
});

describe('ownerCompare', () => {
  test('a transaction guarded by a claim succeeds while it stands and fails after another claim', async (t) => {
    const { store, keys } = await failoverFixture(t);
    const mine = await claimVolume(store, keys, claimOf(1));
    assert.deepEqual(ownerCompare(mine), { key: keys.volumeOwner('wal-1'), target: 'modRevision', op: '==', value: mine.modRevision });
    const ok = await store.txn([ownerCompare(mine)], [{ type: 'put', key: 'c1/test/commit-1', value: Buffer.from('x') }]);
    assert.equal(ok.succeeded, true);

    const theirs = await claimVolume(store, keys, claimOf(2), { expectRevision: mine.modRevision });
    const fenced = await store.txn([ownerCompare(mine)], [{ type: 'put', key: 'c1/test/commit-2', value: Buffer.from('x') }]);
    assert.equal(fenced.succeeded, false, 'a fenced holder cannot commit');
    assert.equal(await store.get('c1/test/commit-2'), null);
    const theirsOk = await store.txn([ownerCompare(theirs)], [{ type: 'put', key: 'c1/test/commit-3', value: Buffer.from('x') }]);
    assert.equal(theirsOk.succeeded, true);
  });
});
