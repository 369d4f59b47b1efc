// The control plane on the embedded local MetadataStore (single node): the same election,
// controller, membership and view code paths as on etcd; plus membership fencing details that are
// easier to force here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetadataKeys } from '../../src/cluster/metadata-keys.js';
import { registerBroker, BrokerIdInUseError } from '../../src/cluster/membership.js';
import { ClusterController } from '../../src/cluster/controller.js';
import { LeadershipView, controlledShutdown } from '../../src/cluster/leadership.js';
import { TopicRegistry } from '../../src/topics/topic-registry.js';
import type { Lease, LeaseOptions, MetadataStore } from '../../src/cluster/metadata-store.js';
import { tempStore } from './temp-store.js';
import { waitFor } from '../helpers/wait.js';

const info = (nodeId: number) => ({ nodeId, host: 'localhost', port: 9092, rack: null, instanceId: null, volumeId: null });

test('single node on the local store: registers, is elected, leads every partition of a new topic at epoch 0; a second candidate takes over only after the first resigns', async (t) => {
  const { store } = await tempStore(t);
  const keys = new MetadataKeys('local');
  const reg = await registerBroker(store, keys, info(1), { sessionTimeoutMs: 1000 });
  const view = new LeadershipView(store, keys, { nodeId: 1, registration: reg });
  const acquired: string[] = [];
  view.onAcquired((_t, p, e) => acquired.push(`${p}@${e}`));
  await view.start();
  const c1 = new ClusterController(store, keys, { nodeId: 1, sessionTimeoutMs: 1000 });
  const c2 = new ClusterController(store, keys, { nodeId: 2, sessionTimeoutMs: 1000 });
  t.after(async () => { view.close(); await c1.close(); await c2.close(); await reg.close(); });
  c1.start();
  await waitFor(() => c1.isController, 2000, 'controller 1 elected');
  c2.start();
  const r = await new TopicRegistry(store, { clusterName: 'local', nodeId: 1 }).create('t', 3);
  assert.ok(r.ok);
  await waitFor(() => acquired.length === 3, 2000, 'leads 3 partitions');
  assert.deepEqual(acquired.sort(), ['0@0', '1@0', '2@0']);
  const settled = await c1.reconcileNow('balance');
  assert.deepEqual(settled.planned, [], 'one broker: nothing to move');
  for (let p = 0; p < 3; p++) {
    assert.equal(view.acceptsWrites(r.value.id, p), 0);
    assert.ok(view.mayAcknowledge(r.value.id, p, 0));
  }
  assert.equal(view.controllerId(), 1);
  assert.equal(view.coordinatorFor('g'), 1);
  assert.ok(!c2.isController);
  await c1.close();
  await waitFor(() => c2.isController, 2000, 'controller 2 takes over');
  await waitFor(() => view.controllerId() === 2, 2000, 'the view follows');
  // Controlled shutdown with nowhere to go: not clean, and the broker deregisters anyway.
  const down = await controlledShutdown(reg, view, { timeoutMs: 200 });
  assert.equal(down.clean, false);
  assert.equal(await store.get(keys.broker(1)), null);
});

test('a broker id held by another live process is refused; a clean close frees it at once', async (t) => {
  const { store } = await tempStore(t);
  const keys = new MetadataKeys('dup');
  const a = await registerBroker(store, keys, info(7), { sessionTimeoutMs: 1000 });
  await assert.rejects(registerBroker(store, keys, info(7), { sessionTimeoutMs: 1000, registerTimeoutMs: 300 }), BrokerIdInUseError);
  await a.close();
  const b = await registerBroker(store, keys, info(7), { sessionTimeoutMs: 1000, registerTimeoutMs: 300 });
  assert.ok(b.isAlive() && b.safeToAcknowledge());
  await b.close();
});

test('after a lost lease, a re-registering broker is not safe to acknowledge until its record is written (and its view has re-read)', async (t) => {
  const { store } = await tempStore(t);
  const keys = new MetadataKeys('rereg');
  // The first lease is not kept alive (a "paused" broker); registration transactions can be held.
  let grants = 0;
  let gate: Promise<void> | null = null;
  const wrapped: MetadataStore = Object.create(store) as MetadataStore;
  wrapped.grantLease = (ttlMs: number, options?: LeaseOptions): Promise<Lease> => store.grantLease(ttlMs, grants++ === 0 ? { autoKeepAlive: false } : options);
  wrapped.txn = async (...args: Parameters<MetadataStore['txn']>) => { if (gate) await gate; return store.txn(...args); };
  const reg = await registerBroker(wrapped, keys, info(3), { sessionTimeoutMs: 1000 });
  const view = new LeadershipView(wrapped, keys, { nodeId: 3, registration: reg });
  t.after(async () => { view.close(); await reg.close(); });
  await view.start();
  assert.equal(reg.generation, 1);
  assert.ok(reg.safeToAcknowledge());
  let open!: () => void;
  gate = new Promise<void>((r) => { open = r; });
  const lost: string[] = [];
  reg.onLost((why) => lost.push(why));
  await waitFor(() => lost.length === 1, 3000, 'the lease expires');
  assert.deepEqual(lost, ['expired']);
  await waitFor(() => grants === 2, 2000, 'a new lease granted');
  await new Promise((r) => setTimeout(r, 50));
  // New lease granted, record not yet written: still not safe.
  assert.equal(reg.generation, 1);
  assert.equal(reg.safeToAcknowledge(), false);
  gate = null;
  open();
  await waitFor(() => reg.generation === 2 && reg.safeToAcknowledge(), 2000, 'registered again');
  assert.ok(await store.get(keys.broker(3)));
});
