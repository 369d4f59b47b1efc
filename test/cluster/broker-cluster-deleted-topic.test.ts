/**
 * Issue 11 on a cluster: two broker processes on a real etcd. Committed offsets live in etcd and
 * each group has its coordinator; deleting a topic through one broker removes its offsets from
 * the groups every broker coordinates, including a group with a live member served from another
 * broker's memory (see test/cli/deleted-topic-offsets.ts), and a re-created topic has none; and
 * from the groups of a broker that was down during the deletion.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as KafkaJs from 'kafkajs';
import { startEtcd } from '../helpers/etcd.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule } from '../helpers/require-tool.js';
import { waitFor } from '../helpers/wait.js';
import { AdminClient } from '../../src/admin/admin-client.js';
import { deletedTopicOffsetsScenario } from '../cli/deleted-topic-offsets.js';
import { ferry } from '../cli/run-cli.js';

const shared = mkdtempSync(join(tmpdir(), 'ferry-cluster-objects-'));
const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.dispose();
  rmSync(shared, { recursive: true, force: true });
});

test('two brokers on etcd: a deleted topic\'s offsets leave the groups of both coordinators', { timeout: 120_000 }, async (t) => {
  const kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
  const etcd = await startEtcd(t);
  for (const i of [1, 2]) {
    const b = new BrokerProcess({
      config: {
        'metadata.backend': 'etcd', 'etcd.endpoints': etcd.endpoint, 'cluster.name': 'cldel', 'node.id': String(i),
        'object.store.path': shared, 'broker.session.timeout.ms': '3000',
      },
    });
    brokers.push(b);
    await b.start();
  }
  const bootstraps = brokers.map((b) => b.bootstrap);
  await waitFor(async () => {
    const admin = await AdminClient.connect({ bootstrap: bootstraps });
    try { return (await admin.metadata(null)).brokers.length === 2; } finally { admin.close(); }
  }, 15_000, 'both brokers registered');
  const { groups } = await deletedTopicOffsetsScenario({ bootstraps, kjs, prefix: 'cd' });
  assert.equal(groups.length, 3, 'an idle group per broker and the live one');

  // A broker that is down while the topic is deleted never sees the deletion: the deleting
  // broker removes the offsets from etcd itself, so the restarted one does not load them.
  const admin = await AdminClient.connect({ bootstrap: [brokers[0]!.bootstrap] });
  try {
    let group = 'down-0';
    for (let i = 1; (await admin.coordinator(group)).nodeId !== 2; i++) group = `down-${i}`;
    assert.equal((await ferry('topics', 'create', '--topic', 'down-gone', '--partitions', '1', '-b', bootstraps[0]!)).code, 0);
    assert.equal((await ferry('topics', 'create', '--topic', 'down-kept', '--partitions', '1', '-b', bootstraps[0]!)).code, 0);
    await waitFor(async () => {
      await admin.commitOffsets(group, [{ topic: 'down-gone', partition: 0, offset: 1n }, { topic: 'down-kept', partition: 0, offset: 2n }]);
      return true;
    }, 15_000, `commit in ${group}`);
    assert.equal(await brokers[1]!.stop(), 0);
    await waitFor(async () => (await ferry('topics', 'delete', '--topic', 'down-gone', '-b', bootstraps[0]!)).code === 0, 20_000, 'down-gone deleted through broker 1');
    await brokers[1]!.start();
    await waitFor(async () => (await admin.coordinator(group)).nodeId === 2, 20_000, `broker 2 coordinates ${group} again`);
    assert.deepEqual((await admin.committedOffsets(group)).map((o) => `${o.topic}/${o.partition}=${o.offset}`), ['down-kept/0=2']);
  } finally {
    admin.close();
  }
});
