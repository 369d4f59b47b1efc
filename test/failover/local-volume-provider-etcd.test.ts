// The local volume provider's attachment records on a real etcd (what drills use): attachers on
// separate etcd clients (as separate controller processes would be) race for one volume; exactly
// one wins, every time. Needs etcd (apt-get install -y etcd-server); missing, it fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { MetadataKeys } from '../../src/cluster/metadata-keys.js';
import { createLocalVolume, LocalVolumeProvider } from '../../src/failover/local-volume-provider.js';
import { VolumeInUseError } from '../../src/failover/volume-provider.js';
import { startEtcd } from '../helpers/etcd.js';

test('local provider on etcd: of 6 attachers on 6 clients exactly one wins, over 10 rounds of detach + race', async (t) => {
  const etcd = await startEtcd(t);
  const root = await mkdtemp(join(tmpdir(), 'ferry-volumes-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await createLocalVolume(root, 'wal-1', { tags: { 'ferry:cluster': 'drill', 'ferry:role': 'wal' } });
  const keys = new MetadataKeys('drill');
  const stores = await Promise.all(Array.from({ length: 6 }, () => EtcdMetadataStore.open({ endpoints: [etcd.endpoint] })));
  t.after(async () => { await Promise.all(stores.map((s) => s.close())); });
  const providers = stores.map((store) => new LocalVolumeProvider({ root, store, keys }));

  let previous: string | null = null;
  for (let round = 0; round < 10; round++) {
    if (previous) await providers[round % 6]!.detach('wal-1', { force: true, instanceId: previous });
    const results = await Promise.allSettled(providers.map((p, i) => p.attach('wal-1', `broker-${i}`)));
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [`broker-${i}`] : []));
    assert.equal(winners.length, 1, `round ${round}: ${winners.join(', ')}`);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof VolumeInUseError && r.reason.attachedTo === winners[0], String(r.reason));
    for (const p of providers) assert.equal((await p.describe('wal-1')).attachedTo, winners[0]);
    previous = winners[0]!;
  }
});
