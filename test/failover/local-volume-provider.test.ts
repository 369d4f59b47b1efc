// The local volume provider: attachment records with compare-guarded transactions (exactly one of
// many racing attachers wins), detach with and without force (the owner's WAL lock), discovery by
// tags, and the whole one-machine fencing story with a real WAL: a forced move to another
// instance fences the old writer through the header epoch.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWal, WalFencedError, WalLockedError } from '@ferry/wal';
import { MetadataKeys } from '../../src/cluster/metadata-keys.js';
import { lockFileExclusive } from '../../src/cluster/file-lock.js';
import { createLocalVolume, LocalVolumeProvider } from '../../src/failover/local-volume-provider.js';
import {
  VolumeBusyError, VolumeInUseError, VolumeNotAttachedError, VolumeNotFoundError, VolumeProviderError, VolumeTimeoutError,
} from '../../src/failover/volume-provider.js';
import { tempStore } from '../cluster/temp-store.js';

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const { store } = await tempStore(t);
  const root = await mkdtemp(join(tmpdir(), 'ferry-volumes-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const keys = new MetadataKeys('c1');
  const provider = new LocalVolumeProvider({ root, store, keys });
  const tags = (broker: number) => ({ 'ferry:cluster': 'c1', 'ferry:role': 'wal', 'ferry:broker-id': String(broker) });
  await createLocalVolume(root, 'wal-1', { zone: 'a', tags: tags(1) });
  await createLocalVolume(root, 'wal-2', { zone: 'b', tags: tags(2) });
  return { store, root, keys, provider };
}

describe('local volume provider', () => {
  test('describe, attach (idempotent), devicePath, detach, waitDetached', async (t) => {
    const { provider, root, store, keys } = await setup(t);
    const fresh = await provider.describe('wal-1');
    assert.deepEqual(fresh, {
      volumeId: 'wal-1', state: 'available', attachedTo: null, zone: 'a', rawState: 'detached', brokerId: 1,
      tags: { 'ferry:cluster': 'c1', 'ferry:role': 'wal', 'ferry:broker-id': '1' },
    });
    await assert.rejects(provider.devicePath('wal-1', 'broker-1'), VolumeNotAttachedError);

    await provider.attach('wal-1', 'broker-1');
    await provider.attach('wal-1', 'broker-1'); // no-op
    const attached = await provider.waitAttached('wal-1', 'broker-1', { timeoutMs: 1000 });
    assert.equal(attached.state, 'attached');
    assert.equal(attached.attachedTo, 'broker-1');
    assert.equal(await provider.devicePath('wal-1', 'broker-1'), join(root, 'wal-1', 'ferry.wal'));
    const record = JSON.parse((await store.get(keys.volumeAttachment('wal-1')))!.value.toString());
    assert.equal(record.instanceId, 'broker-1');
    assert.equal(record.generation, 1, 'a repeated attach is not a new generation');

    await provider.detach('wal-1', { force: false });
    await provider.detach('wal-1', { force: false }); // no-op
    assert.equal((await provider.waitDetached('wal-1', { timeoutMs: 1000 })).state, 'available');
    await provider.attach('wal-1', 'broker-2');
    const again = JSON.parse((await store.get(keys.volumeAttachment('wal-1')))!.value.toString());
    assert.deepEqual([again.instanceId, again.generation], ['broker-2', 2]);
  });

  test('a volume attached elsewhere: attach, devicePath, detach from the wrong instance and waitAttached refuse', async (t) => {
    const { provider } = await setup(t);
    await provider.attach('wal-1', 'broker-1');
    await assert.rejects(provider.attach('wal-1', 'broker-2'), (err: unknown) => {
      assert.ok(err instanceof VolumeInUseError);
      assert.equal(err.attachedTo, 'broker-1');
      assert.equal(err.code, 'VOLUME_IN_USE');
      assert.equal(err.retriable, false);
      return true;
    });
    await assert.rejects(provider.devicePath('wal-1', 'broker-2'), VolumeInUseError);
    await assert.rejects(provider.detach('wal-1', { force: true, instanceId: 'broker-2' }), VolumeInUseError);
    await assert.rejects(provider.waitAttached('wal-1', 'broker-2', { timeoutMs: 200 }), VolumeInUseError);
    assert.equal((await provider.describe('wal-1')).attachedTo, 'broker-1');
  });

  test('waitAttached and waitDetached time out with the last state', async (t) => {
    const { provider } = await setup(t);
    await assert.rejects(provider.waitAttached('wal-1', 'broker-1', { timeoutMs: 60 }), (err: unknown) => {
      assert.ok(err instanceof VolumeTimeoutError);
      assert.equal(err.retriable, true);
      assert.equal(err.last?.state, 'available');
      return true;
    });
    await provider.attach('wal-1', 'broker-1');
    await assert.rejects(provider.waitDetached('wal-1', { timeoutMs: 60 }), VolumeTimeoutError);
  });

  test('of 16 racing attachers exactly one wins; the others see VolumeInUseError naming it', async (t) => {
    const { provider } = await setup(t);
    const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => provider.attach('wal-2', `broker-${i}`)));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [`broker-${i}`] : []));
    assert.equal(won.length, 1);
    for (const r of results) {
      if (r.status === 'rejected') {
        assert.ok(r.reason instanceof VolumeInUseError, String(r.reason));
        assert.equal(r.reason.attachedTo, won[0]);
      }
    }
    assert.equal((await provider.describe('wal-2')).attachedTo, won[0]);
  });

  test('two providers on the same store (two controllers) racing a move: one target wins', async (t) => {
    const { store, root, keys, provider } = await setup(t);
    const other = new LocalVolumeProvider({ root, store, keys });
    await provider.attach('wal-1', 'broker-1');
    await provider.detach('wal-1', { force: true });
    const [a, b] = await Promise.allSettled([provider.attach('wal-1', 'broker-2'), other.attach('wal-1', 'broker-3')]);
    assert.equal([a, b].filter((r) => r.status === 'fulfilled').length, 1);
  });

  test('plain detach waits for a live owner (its lock held); force detaches anyway', async (t) => {
    const { provider } = await setup(t);
    await provider.attach('wal-1', 'broker-1');
    const held = lockFileExclusive(provider.lockPath('wal-1', 'broker-1'));
    try {
      await assert.rejects(provider.detach('wal-1', { force: false }), (err: unknown) => {
        assert.ok(err instanceof VolumeBusyError);
        assert.equal(err.retriable, true);
        assert.match(err.message, /broker-1 holds .*ferry\.wal\.broker-1\.lock/);
        return true;
      });
      assert.equal((await provider.describe('wal-1')).attachedTo, 'broker-1');
      await provider.detach('wal-1', { force: true, instanceId: 'broker-1' });
      assert.equal((await provider.describe('wal-1')).state, 'available');
    } finally {
      held.release();
    }
  });

  test('discover: by cluster and role, extra tags, other clusters and untagged directories left out', async (t) => {
    const { provider, root, store } = await setup(t);
    await createLocalVolume(root, 'other-cluster', { tags: { 'ferry:cluster': 'c2', 'ferry:role': 'wal' } });
    await createLocalVolume(root, 'objects', { tags: { 'ferry:cluster': 'c1', 'ferry:role': 'objects' } });
    await createLocalVolume(root, 'bare');
    await writeFile(join(root, 'a-file'), 'not a volume');
    assert.deepEqual((await provider.discover({ clusterName: 'c1' })).map((v) => [v.volumeId, v.brokerId, v.zone]), [['wal-1', 1, 'a'], ['wal-2', 2, 'b']]);
    assert.deepEqual((await provider.discover({ clusterName: 'c1', tags: { 'ferry:broker-id': '2' } })).map((v) => v.volumeId), ['wal-2']);
    assert.deepEqual((await provider.discover({ clusterName: 'c1', role: 'objects' })).map((v) => v.volumeId), ['objects']);
    const empty = new LocalVolumeProvider({ root: join(root, 'missing'), store, keys: new MetadataKeys('c1') });
    assert.deepEqual(await empty.discover({ clusterName: 'c1' }), []);
  });

  test('bad input: unknown volume, unsafe ids, a broken descriptor, a malformed record', async (t) => {
    const { provider, root, store, keys } = await setup(t);
    await assert.rejects(provider.describe('nope'), VolumeNotFoundError);
    await assert.rejects(provider.attach('nope', 'broker-1'), VolumeNotFoundError);
    await writeFile(join(root, 'plain-file'), 'x');
    await assert.rejects(provider.describe('plain-file'), VolumeNotFoundError);
    for (const bad of ['..', '../x', 'a/b', '', 'x'.repeat(129)]) {
      await assert.rejects(provider.describe(bad), (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_BAD_ID', bad);
      await assert.rejects(provider.attach('wal-1', bad), (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_BAD_ID', bad);
    }
    await writeFile(join(root, 'wal-2', 'volume.json'), '{not json');
    await assert.rejects(provider.describe('wal-2'), (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_BAD_DESCRIPTOR');
    await writeFile(join(root, 'wal-2', 'volume.json'), '{"zone": 3}');
    await assert.rejects(provider.describe('wal-2'), (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_BAD_DESCRIPTOR');
    await store.put(keys.volumeAttachment('wal-1'), Buffer.from('{"instanceId": 7}'));
    await assert.rejects(provider.attach('wal-1', 'broker-1'), (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_BAD_RECORD');
  });

  test('one-machine fencing with a real WAL: forced move to another instance, the old writer is fenced by the epoch', async (t) => {
    const { provider } = await setup(t);
    await provider.attach('wal-1', 'broker-1');
    const path = await provider.devicePath('wal-1', 'broker-1');
    const walOptions = { capacityBytes: 1 << 20, recordBytesMax: 64 << 10 };
    const old = await openWal(path, { ...walOptions, nodeId: 'broker-1', epoch: 1, lockPath: provider.lockPath('wal-1', 'broker-1') });
    await old.recover();
    await old.append(Buffer.from('acknowledged before the failure'));

    // A second process of the same instance is excluded by the flock.
    await assert.rejects(openWal(path, { ...walOptions, nodeId: 'broker-1', epoch: 2, lockPath: provider.lockPath('wal-1', 'broker-1') }), WalLockedError);
    // The owner is alive (it holds its lock): a plain detach refuses.
    await assert.rejects(provider.detach('wal-1', { force: false }), VolumeBusyError);

    // Controller: the owner is declared dead (a zombie, still holding the WAL open). Force the move.
    await provider.detach('wal-1', { force: true, instanceId: 'broker-1' });
    await provider.attach('wal-1', 'broker-2');
    await provider.waitAttached('wal-1', 'broker-2', { timeoutMs: 1000 });
    const takeover = await openWal(await provider.devicePath('wal-1', 'broker-2'), { ...walOptions, nodeId: 'broker-2', epoch: 2, lockPath: provider.lockPath('wal-1', 'broker-2') });
    const replay = await takeover.recover();
    assert.deepEqual(replay.map((r) => r.body.toString()), ['acknowledged before the failure']);

    // The zombie resumes: it acknowledges nothing more.
    await assert.rejects(old.append(Buffer.from('zombie write')), WalFencedError);
    assert.equal((await takeover.read(replay[0]!.offset, 1 << 20)).length, 1, 'no zombie record became readable');
    // And the restarted broker-1 sees its volume taken.
    await assert.rejects(provider.devicePath('wal-1', 'broker-1'), VolumeInUseError);
    await old.close().catch(() => {});
    await takeover.close();
  });
});
