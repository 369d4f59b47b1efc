// acquireOwnVolume (volume-acquire.ts): a starting broker waits while its volume is being taken
// over (failovers/<id> active) and while the volume is attached to another instance, then attaches
// it and claims the owner record one epoch up. Errors that waiting cannot fix are thrown at once.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FailoverRecord } from '../../src/cluster/failover-records.js';
import { acquireOwnVolume, type AcquireOwnVolumeOptions } from '../../src/failover/volume-acquire.js';
import { claimVolume, markVolumeStarted, ownerCompare, readVolumeOwner } from '../../src/failover/volume-owner.js';
import { VolumeNotFoundError, VolumeProviderError } from '../../src/failover/volume-provider.js';
import { sleep } from '../helpers/wait.js';
import {
  failoverFixture, instanceOf, makeBrokerVolume, stateOf, volumeOf, writeFailover, type FailoverFixture,
} from './failover-fixture.js';

/** A logger that keeps the warnings (acquireOwnVolume logs each reason to wait once). */
function recordingLog(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const log = { warn: (_o: object, m: string) => { warnings.push(m); }, info: () => {} } as unknown as Logger;
  return { log, warnings };
}

function acquireOptions(f: FailoverFixture, log: Logger, extra: Partial<AcquireOwnVolumeOptions> = {}): AcquireOwnVolumeOptions {
  return {
    store: f.store, keys: f.keys, provider: f.provider, volumeId: volumeOf(2), instanceId: instanceOf(2), brokerId: 2, rack: 'b',
    attachTimeoutMs: 2000, log, ...extra,
  };
}

function failover(phase: FailoverRecord['phase']): FailoverRecord {
  return {
    id: '2-1000', brokerId: 2, volumeId: volumeOf(2), fromInstance: instanceOf(2), fromRack: 'b', ownerRevision: 1,
    target: 3, targetInstance: instanceOf(3), targetRack: 'c', phase, times: { detected: 1000 }, controller: 1,
  };
}

/** Broker 2's volume after a takeover by broker 3: owner epoch 2 held by 3, attached to nothing. */
async function takenOver(f: FailoverFixture) {
  const vol = await makeBrokerVolume(f, 2, 'b', { attach: false });
  const takeover = await claimVolume(f.store, f.keys, { volumeId: vol.volumeId, brokerId: 3, instanceId: instanceOf(3), rack: null, homeBrokerId: 2 }, { expectRevision: vol.claim!.modRevision });
  assert.equal(takeover.owner.epoch, 2);
  return { vol, takeover };
}

describe('acquireOwnVolume', () => {
  test('waits while a failover of this broker is active; proceeds once it is done; claims epoch + 1', async (t) => {
    const f = await failoverFixture(t);
    const { vol, takeover } = await takenOver(f);
    await writeFailover(f, failover('replaying'));
    const { log, warnings } = recordingLog();
    const acquiring = acquireOwnVolume(acquireOptions(f, log));
    const state = stateOf(acquiring);

    await sleep(700);
    assert.equal(state.settled(), false, 'still waiting');
    assert.equal((await f.provider.describe(vol.volumeId)).attachedTo, null, 'not even attached while the replay runs');
    assert.deepEqual(await readVolumeOwner(f.store, f.keys, vol.volumeId), { owner: takeover.owner, modRevision: takeover.modRevision });
    await writeFailover(f, failover('releasing'));
    await sleep(400);
    assert.equal(state.settled(), false, 'releasing is still active');

    await writeFailover(f, failover('done'));
    const own = await acquiring;
    const { claimedMs: _at, ...claimed } = own.claim.owner;
    assert.deepEqual(claimed, { volumeId: vol.volumeId, brokerId: 2, instanceId: instanceOf(2), rack: 'b', homeBrokerId: 2, epoch: 3, starting: true }, 'starting until the broker registers');
    assert.deepEqual(own.claim.previous, takeover.owner);
    assert.equal(own.walPath, join(f.volumesRoot, vol.volumeId, 'ferry.wal'));
    assert.equal(own.lockPath, f.provider.lockPath(vol.volumeId, instanceOf(2)));
    assert.equal((await f.provider.describe(vol.volumeId)).attachedTo, instanceOf(2));
    assert.deepEqual(await readVolumeOwner(f.store, f.keys, vol.volumeId), { owner: own.claim.owner, modRevision: own.claim.modRevision });
    assert.equal(warnings.length, 1, `one warning for one reason to wait, however many polls (${warnings})`);
    assert.match(warnings[0], /being taken over/);
  });

  test('a failed failover does not hold the broker back', async (t) => {
    const f = await failoverFixture(t);
    await takenOver(f);
    await writeFailover(f, failover('failed'));
    const own = await acquireOwnVolume(acquireOptions(f, recordingLog().log));
    assert.equal(own.claim.owner.epoch, 3);
  });

  test('waits while the volume is attached to another instance; proceeds after the detach', async (t) => {
    const f = await failoverFixture(t);
    const { vol, takeover } = await takenOver(f);
    await f.provider.attach(vol.volumeId, instanceOf(3)); // the takeover broker has not released it yet
    const { log, warnings } = recordingLog();
    const acquiring = acquireOwnVolume(acquireOptions(f, log));
    const state = stateOf(acquiring);

    await sleep(700);
    assert.equal(state.settled(), false, 'still waiting');
    assert.equal((await f.provider.describe(vol.volumeId)).attachedTo, instanceOf(3));
    assert.deepEqual((await readVolumeOwner(f.store, f.keys, vol.volumeId))?.owner, takeover.owner, 'no claim while attached elsewhere');

    await f.provider.detach(vol.volumeId, { force: false, instanceId: instanceOf(3) });
    const own = await acquiring;
    assert.equal(own.claim.owner.epoch, 3);
    assert.equal(own.claim.owner.brokerId, 2);
    assert.equal((await f.provider.describe(vol.volumeId)).attachedTo, instanceOf(2));
    assert.equal(warnings.length, 1, String(warnings));
    assert.match(warnings[0], /attached elsewhere/);
  });

  test('a volume never claimed before: attached and claimed at epoch 1; already attached here: no wait', async (t) => {
    const f = await failoverFixture(t);
    const vol = await makeBrokerVolume(f, 2, 'b', { attach: true, claim: false });
    const own = await acquireOwnVolume(acquireOptions(f, recordingLog().log));
    assert.equal(own.claim.owner.epoch, 1);
    assert.equal(own.claim.previous, null);
    assert.equal(own.walPath, vol.walPath);
    // A restart of the same instance (volume still attached to it): epoch 2.
    assert.equal((await acquireOwnVolume(acquireOptions(f, recordingLog().log))).claim.owner.epoch, 2);
  });

  test('gives up after waitMaxMs with VOLUME_TIMEOUT', async (t) => {
    const f = await failoverFixture(t);
    await takenOver(f);
    await writeFailover(f, failover('moving'));
    const started = Date.now();
    await assert.rejects(acquireOwnVolume(acquireOptions(f, recordingLog().log, { waitMaxMs: 300 })), (err: unknown) => {
      assert.ok(err instanceof VolumeProviderError);
      assert.equal(err.code, 'VOLUME_TIMEOUT');
      return true;
    });
    assert.ok(Date.now() - started < 3000);
    assert.equal((await readVolumeOwner(f.store, f.keys, volumeOf(2)))?.owner.brokerId, 3, 'nothing claimed');
  });

  test('a missing volume fails at once (waiting cannot fix it)', async (t) => {
    const f = await failoverFixture(t);
    const started = Date.now();
    await assert.rejects(acquireOwnVolume(acquireOptions(f, recordingLog().log, { volumeId: 'wal-nope' })), VolumeNotFoundError);
    assert.ok(Date.now() - started < 1000);
    assert.equal(await readVolumeOwner(f.store, f.keys, 'wal-nope'), null);
  });
});

describe('acquireOwnVolume: a failover that has not moved anything yet', () => {
  test('a broker declared dead whose volume is still in place (phase detected) takes it back and ends that failover in one transaction', async (t) => {
    const f = await failoverFixture(t);
    const vol = await makeBrokerVolume(f, 2, 'b');
    const rec = { ...failover('detected'), target: null, targetInstance: null, targetRack: null, ownerRevision: vol.claim!.modRevision };
    await writeFailover(f, rec);
    const { log, warnings } = recordingLog();
    const own = await acquireOwnVolume(acquireOptions(f, log));
    assert.equal(own.claim.owner.brokerId, 2);
    assert.equal(own.claim.owner.epoch, vol.claim!.owner.epoch + 1);
    assert.equal(own.claim.owner.starting, true);
    const kv = await f.store.get(f.keys.failover(2));
    const ended = JSON.parse(kv!.value.toString('utf8')) as FailoverRecord;
    assert.equal(ended.id, rec.id);
    assert.equal(ended.phase, 'failed');
    assert.match(ended.error ?? '', /came back before its volume was moved/);
    assert.ok(warnings.some((w) => /took it back/.test(w)));
    // The controller's view: the owner record changed, so a takeover against the old revision fails.
    await assert.rejects(claimVolume(f.store, f.keys, { volumeId: vol.volumeId, brokerId: 3, instanceId: instanceOf(3), rack: null, homeBrokerId: 2 }, { expectRevision: rec.ownerRevision }), /claimed meanwhile/);
  });

  test('markVolumeStarted clears "starting" and moves the revision the commits compare', async (t) => {
    const f = await failoverFixture(t);
    await makeBrokerVolume(f, 2, 'b', { attach: false });
    const own = await acquireOwnVolume(acquireOptions(f, recordingLog().log));
    const before = own.claim.modRevision;
    assert.equal(await markVolumeStarted(f.store, own.claim), true);
    assert.ok(own.claim.modRevision > before);
    const stored = await readVolumeOwner(f.store, f.keys, own.claim.owner.volumeId);
    assert.equal(stored!.owner.starting, undefined);
    assert.equal(stored!.modRevision, own.claim.modRevision);
    const r = await f.store.txn([ownerCompare(own.claim)], []);
    assert.equal(r.succeeded, true, 'the updated compare holds');
  });
});
