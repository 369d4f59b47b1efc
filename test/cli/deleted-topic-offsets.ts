// Issue 11: deleting a topic removes its committed offsets from every group. One scenario for a
// single broker (local metadata) and for a cluster on etcd (groups coordinated by every broker,
// the topic deleted through whichever broker the admin client picks):
//   commit offsets of two topics in idle groups and in a group with a live kafkajs member, delete
//   one topic -> OffsetFetch shows only the other (idle groups at once: DeleteTopics answers after
//   the store no longer has them; the live group as soon as its coordinator sees the deletion);
//   `ferry groups describe` and `reset-offsets --all-topics` work; the re-created topic has none.
import assert from 'node:assert/strict';
import type * as KafkaJs from 'kafkajs';
import { AdminClient } from '../../src/admin/admin-client.js';
import { waitFor } from '../helpers/wait.js';
import { ferry } from './run-cli.js';

export interface DeletedTopicScenario {
  /** Every broker's address (the admin client bootstraps from the first). */
  bootstraps: string[];
  kjs: typeof KafkaJs;
  /** Topic and group name prefix, unique per test. */
  prefix: string;
}

/** Runs the scenario; returns the groups and topics for checks after a restart. */
export async function deletedTopicOffsetsScenario(s: DeletedTopicScenario): Promise<{ groups: string[]; gone: string; kept: string }> {
  const b = s.bootstraps[0]!;
  const gone = `${s.prefix}-gone`, kept = `${s.prefix}-kept`;
  const admin = await AdminClient.connect({ bootstrap: s.bootstraps });
  const kafka = new s.kjs.Kafka({ clientId: s.prefix, brokers: s.bootstraps, logLevel: s.kjs.logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } });
  let consumer: KafkaJs.Consumer | null = null;
  try {
    const md = await admin.metadata(null);
    // An idle group coordinated by each broker, and the live one by a broker that does not
    // serve the deletion (the controller) when there is one.
    const idle: string[] = [];
    const coordinators = new Set<number>();
    for (let i = 0; coordinators.size < md.brokers.length && i < 200; i++) {
      const { nodeId } = await admin.coordinator(`${s.prefix}-idle-${i}`);
      if (!coordinators.has(nodeId)) { coordinators.add(nodeId); idle.push(`${s.prefix}-idle-${i}`); }
    }
    assert.equal(idle.length, md.brokers.length, 'an idle group on every broker');
    let live = `${s.prefix}-live`;
    for (let i = 0; md.brokers.length > 1 && (await admin.coordinator(live)).nodeId === md.controllerId; i++) live = `${s.prefix}-live-${i}`;
    const groups = [...idle, live];

    for (const [topic, partitions] of [[gone, 2], [kept, 1]] as const) {
      const r = await ferry('topics', 'create', '--topic', topic, '--partitions', String(partitions), '-b', b);
      assert.equal(r.code, 0, r.stderr);
    }
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: kept, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ value: `k${i}` })) });
    await producer.send({ topic: gone, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `g${i}` })) });
    await producer.disconnect();
    // Every coordinator must know both topics before it takes commits for them.
    for (const g of groups) {
      await waitFor(async () => {
        await admin.commitOffsets(g, [{ topic: gone, partition: 0, offset: 3n }, { topic: gone, partition: 1, offset: 4n }, { topic: kept, partition: 0, offset: 5n }]);
        return true;
      }, 15_000, `commit in ${g}`);
      assert.deepEqual((await admin.committedOffsets(g)).map((o) => `${o.topic}/${o.partition}=${o.offset}`), [`${gone}/0=3`, `${gone}/1=4`, `${kept}/0=5`]);
    }

    // The live group gets a member: its coordinator serves it from memory, not from the store.
    consumer = kafka.consumer({ groupId: live, sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; });
    await consumer.subscribe({ topic: kept, fromBeginning: false });
    await consumer.run({ autoCommit: false, eachMessage: async () => {} });
    await waitFor(() => joined, 30_000, 'the kafkajs member joined');

    const del = await ferry('topics', 'delete', '--topic', gone, '-b', b);
    assert.equal(del.code, 0, del.stderr);
    const topicsOf = async (g: string) => [...new Set((await admin.committedOffsets(g)).map((o) => o.topic))];
    for (const g of idle) assert.deepEqual(await topicsOf(g), [kept], `${g}: only ${kept} once DeleteTopics answered`);
    let liveTopics: string[] = [];
    await waitFor(async () => JSON.stringify(liveTopics = await topicsOf(live)) === JSON.stringify([kept]), 15_000, () => `${live}: only ${kept} (has ${liveTopics.join(', ')})`);

    await consumer.disconnect();
    await waitFor(async () => (await admin.describeGroup(live)).state === 'Empty', 15_000, `${live} empty`);
    for (const g of groups) {
      const d = await ferry('groups', 'describe', '--group', g, '-b', b, '--json');
      assert.equal(d.code, 0, d.stderr);
      assert.deepEqual(JSON.parse(d.stdout).offsets.map((o: any) => [o.topic, o.partition, o.currentOffset, o.logEndOffset]), [[kept, 0, 5, 10]]);
      const r = await ferry('groups', 'reset-offsets', '--group', g, '--all-topics', '--to-earliest', '--execute', '-b', b, '--json');
      assert.equal(r.code, 0, `${g}: reset-offsets --all-topics: ${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout).offsets.map((o: any) => [o.topic, o.partition, o.newOffset]), [[kept, 0, 0]]);
    }

    // The same name again: a new topic, with no offsets from the old one.
    const re = await ferry('topics', 'create', '--topic', gone, '--partitions', '2', '-b', b);
    assert.equal(re.code, 0, re.stderr);
    for (const g of groups) assert.deepEqual((await admin.committedOffsets(g)).map((o) => `${o.topic}/${o.partition}=${o.offset}`), [`${kept}/0=0`], `${g} after re-creating ${gone}`);
    return { groups, gone, kept };
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    admin.close();
  }
}
