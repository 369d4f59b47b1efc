// Issue 11 on one broker with the local metadata backend: a deleted topic's committed offsets
// leave every group (see deleted-topic-offsets.ts), stay gone after a SIGKILL restart, and
// offsets an older version left behind for deleted topics are removed when the broker starts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type * as KafkaJs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule } from '../helpers/require-tool.js';
import { AdminClient } from '../../src/admin/admin-client.js';
import { LocalMetadataStore } from '../../src/cluster/local-metadata-store.js';
import { MetadataGroupOffsetStore } from '../../src/cluster/metadata-group-offset-store.js';
import { ferry } from './run-cli.js';
import { deletedTopicOffsetsScenario } from './deleted-topic-offsets.js';

describe('a deleted topic\'s committed offsets (local metadata)', { timeout: 120_000 }, () => {
  const broker = new BrokerProcess();
  let kjs: typeof KafkaJs;
  before(async () => { kjs = requireNodeModule<typeof KafkaJs>('kafkajs'); await broker.start(); });
  after(async () => { await broker.dispose(); });

  const offsetsOf = async (group: string) => {
    const admin = await AdminClient.connect({ bootstrap: [broker.bootstrap] });
    try { return (await admin.committedOffsets(group)).map((o) => `${o.topic}/${o.partition}=${o.offset}`); } finally { admin.close(); }
  };

  test('removed from every group on DeleteTopics; describe and reset-offsets --all-topics work; none after re-creation or a restart', { timeout: 60_000 }, async () => {
    const { groups, kept } = await deletedTopicOffsetsScenario({ bootstraps: [broker.bootstrap], kjs, prefix: 'dl' });
    await broker.kill();
    await broker.start();
    for (const g of groups) assert.deepEqual(await offsetsOf(g), [`${kept}/0=0`], `${g} after a restart`);
  });

  test('offsets left behind for a deleted topic (older version, or a crash in between) are removed at start', { timeout: 60_000 }, async () => {
    assert.equal((await ferry('topics', 'create', '--topic', 'lb-kept', '--partitions', '1', '-b', broker.bootstrap)).code, 0);
    const admin = await AdminClient.connect({ bootstrap: [broker.bootstrap] });
    try { await admin.commitOffsets('lb-g', [{ topic: 'lb-kept', partition: 0, offset: 0n }]); } finally { admin.close(); }
    assert.equal(await broker.stop(), 0);
    // What issue 11 left in the store: offsets of a topic that no longer exists, without a topic id.
    const store = await LocalMetadataStore.open(join(broker.dataDir, 'meta'));
    try {
      await new MetadataGroupOffsetStore(store, { clusterName: 'ferry' }).commit('lb-g', [{ topic: 'lb-gone', partition: 0, offset: 7n, leaderEpoch: -1, metadata: '', commitTimestampMs: Date.now() }]);
    } finally { await store.close(); }
    await broker.start();
    assert.deepEqual(await offsetsOf('lb-g'), ['lb-kept/0=0']);
    const r = await ferry('groups', 'reset-offsets', '--group', 'lb-g', '--all-topics', '--to-latest', '--execute', '-b', broker.bootstrap);
    assert.equal(r.code, 0, r.stderr);
  });
});
