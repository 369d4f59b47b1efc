// `ferry topics|groups|cluster` against a real Ferry broker process.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type * as KafkaJs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule } from '../helpers/require-tool.js';
import { AdminClient } from '../../src/admin/admin-client.js';
import { BrokerMetrics } from '../../src/ops/metrics.js';
import { startOpsHttpServer } from '../../src/ops/http-server.js';
import { ferry, ferryProcess } from './run-cli.js';

describe('ferry admin commands against a broker', { timeout: 120_000 }, () => {
  const broker = new BrokerProcess({ config: { 'num.partitions': '1' } });
  let b: string;
  before(async () => { await broker.start(); b = broker.bootstrap; });
  after(async () => { await broker.dispose(); });

  test('topics create, list, describe, alter-config, add-partitions, delete', async () => {
    let r = await ferry('topics', 'create', '--topic', 'cli-t1', '--partitions', '3', '--config', 'retention.ms=3600000', '--bootstrap-server', b);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Created topic cli-t1 \(3 partitions/);

    r = await ferry('topics', 'list', '--bootstrap-server', b);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^TOPIC\s+PARTITIONS\s+TOPIC ID$/m);
    assert.match(r.stdout, /^cli-t1\s+3\s/m);

    r = await ferry('topics', 'list', '--bootstrap-server', b, '--json');
    const listed = JSON.parse(r.stdout);
    assert.deepEqual(listed.find((t: any) => t.name === 'cli-t1').partitions, 3);

    r = await ferry('topics', 'describe', 'cli-t1', '--bootstrap-server', b);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Topic: cli-t1\s+TopicId: \S+\s+PartitionCount: 3/);
    assert.match(r.stdout, /retention\.ms=3600000/);

    r = await ferry('topics', 'alter-config', '--topic', 'cli-t1', '--add-config', 'retention.ms=60000,cleanup.policy=compact', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    r = await ferry('topics', 'describe', '--topic', 'cli-t1', '-b', b, '--json');
    let d = JSON.parse(r.stdout)[0];
    assert.equal(d.configs['retention.ms'], '60000');
    assert.equal(d.configs['cleanup.policy'], 'compact');
    assert.equal(d.partitions.length, 3);
    assert.ok(d.partitions.every((p: any) => p.leader === 1 && p.error === 0));

    r = await ferry('topics', 'alter-config', '--topic', 'cli-t1', '--delete-config', 'cleanup.policy', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    r = await ferry('topics', 'add-partitions', '--topic', 'cli-t1', '--partitions', '5', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    r = await ferry('topics', 'describe', '--topic', 'cli-t1', '-b', b, '--json');
    d = JSON.parse(r.stdout)[0];
    assert.equal(d.partitions.length, 5);
    assert.equal(d.configs['cleanup.policy'], undefined);

    r = await ferry('topics', 'delete', '--topic', 'cli-t1', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    r = await ferry('topics', 'list', '-b', b, '--json');
    assert.ok(!JSON.parse(r.stdout).some((t: any) => t.name === 'cli-t1'));
  });

  test('topic errors print Kafka error names and exit 1; usage errors exit 2', async () => {
    assert.equal((await ferry('topics', 'create', '--topic', 'cli-dup', '--partitions', '1', '-b', b)).code, 0);
    let r = await ferry('topics', 'create', '--topic', 'cli-dup', '--partitions', '1', '-b', b);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TOPIC_ALREADY_EXISTS/);
    r = await ferry('topics', 'describe', '--topic', 'no-such-topic', '-b', b);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);
    r = await ferry('topics', 'add-partitions', '--topic', 'cli-dup', '--partitions', '1', '-b', b);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /INVALID_PARTITIONS/);
    r = await ferry('topics', 'alter-config', '--topic', 'cli-dup', '--add-config', 'no.such.config=1', '-b', b);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /INVALID_CONFIG|UNKNOWN/);
    r = await ferry('topics', 'create', '-b', b);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--topic is required/);
    r = await ferry('topics', 'list', '--bogus', '-b', b);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option --bogus/);
    r = await ferry('topics', 'list', '-b', '127.0.0.1:1');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /127\.0\.0\.1:1/);
  });

  test('groups list, describe (lag), reset-offsets (dry run, execute, to-offset, to-datetime), delete', async () => {
    assert.equal((await ferry('topics', 'create', '--topic', 'cli-g', '--partitions', '2', '-b', b)).code, 0);
    // 30 records: 15 per partition, through the perf producer (our own client).
    const p = await ferry('perf', 'produce', '--topic', 'cli-g', '--num-records', '30', '--record-size', '16', '--batch-records', '5', '--progress-interval-ms', '0', '--json', '-b', b);
    assert.equal(p.code, 0, p.stderr);
    const afterFirst = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    const admin = await AdminClient.connect({ bootstrap: [b] });
    try {
      await admin.commitOffsets('cli-group', [{ topic: 'cli-g', partition: 0, offset: 5n }, { topic: 'cli-g', partition: 1, offset: 10n }]);
    } finally {
      admin.close();
    }
    let r = await ferry('groups', 'list', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^cli-group\s+Empty/m);

    r = await ferry('groups', 'describe', '--group', 'cli-group', '-b', b, '--json');
    assert.equal(r.code, 0, r.stderr);
    let d = JSON.parse(r.stdout);
    assert.equal(d.state, 'Empty');
    assert.deepEqual(d.offsets.map((o: any) => [o.partition, o.currentOffset, o.logEndOffset, o.lag]), [[0, 5, 15, 10], [1, 10, 15, 5]]);
    r = await ferry('groups', 'describe', 'cli-group', '-b', b);
    assert.match(r.stdout, /^cli-g\s+0\s+5\s+15\s+10/m);

    // Dry run by default: plan shown, nothing committed.
    r = await ferry('groups', 'reset-offsets', '--group', 'cli-group', '--topic', 'cli-g', '--to-earliest', '-b', b, '--json');
    assert.equal(r.code, 0, r.stderr);
    let plan = JSON.parse(r.stdout);
    assert.equal(plan.executed, false);
    assert.deepEqual(plan.offsets.map((o: any) => [o.partition, o.currentOffset, o.newOffset]), [[0, 5, 0], [1, 10, 0]]);
    d = JSON.parse((await ferry('groups', 'describe', '--group', 'cli-group', '-b', b, '--json')).stdout);
    assert.equal(d.offsets[0].currentOffset, 5);

    r = await ferry('groups', 'reset-offsets', '--group', 'cli-group', '--topic', 'cli-g:1', '--to-earliest', '--execute', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Committed new offsets for 1 partition/);
    d = JSON.parse((await ferry('groups', 'describe', '--group', 'cli-group', '-b', b, '--json')).stdout);
    assert.deepEqual(d.offsets.map((o: any) => o.currentOffset), [5, 0]);

    r = await ferry('groups', 'reset-offsets', '--group', 'cli-group', '--all-topics', '--to-latest', '--execute', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    d = JSON.parse((await ferry('groups', 'describe', '--group', 'cli-group', '-b', b, '--json')).stdout);
    assert.deepEqual(d.offsets.map((o: any) => o.lag), [0, 0]);

    // --to-offset is clamped to the log's range.
    r = await ferry('groups', 'reset-offsets', '--group', 'cli-group', '--topic', 'cli-g', '--to-offset', '99', '--execute', '-b', b, '--json');
    assert.deepEqual(JSON.parse(r.stdout).offsets.map((o: any) => o.newOffset), [15, 15]);
    r = await ferry('groups', 'reset-offsets', '--group', 'cli-group', '--topic', 'cli-g', '--to-offset', '7', '--execute', '-b', b, '--json');
    assert.deepEqual(JSON.parse(r.stdout).offsets.map((o: any) => o.newOffset), [7, 7]);

    // A time before the first record: offset 0; after the last: the log end.
    r = await ferry('groups', 'reset-offsets', '--group', 'cli-group', '--topic', 'cli-g', '--to-datetime', new Date(afterFirst - 3_600_000).toISOString(), '-b', b, '--json');
    assert.deepEqual(JSON.parse(r.stdout).offsets.map((o: any) => o.newOffset), [0, 0]);
    r = await ferry('groups', 'reset-offsets', '--group', 'cli-group', '--topic', 'cli-g', '--to-datetime', new Date(Date.now() + 3_600_000).toISOString(), '-b', b, '--json');
    assert.deepEqual(JSON.parse(r.stdout).offsets.map((o: any) => o.newOffset), [15, 15]);

    r = await ferry('groups', 'reset-offsets', '--group', 'cli-group', '--topic', 'cli-g', '-b', b);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exactly one of --to-earliest/);

    r = await ferry('groups', 'delete', '--group', 'cli-group', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    r = await ferry('groups', 'list', '-b', b, '--json');
    assert.ok(!JSON.parse(r.stdout).some((g: any) => g.groupId === 'cli-group'));
  });

  test('reset-offsets and delete refuse an active group (a real kafkajs consumer)', async () => {
    const kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    const kafka = new kjs.Kafka({ clientId: 'ferry-cli-test', brokers: [b], logLevel: kjs.logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'cli-active', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'cli-dup', fromBeginning: true });
    let joined!: () => void;
    const isJoined = new Promise<void>((r) => { joined = r; });
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({ eachMessage: async () => {} });
    await isJoined;
    try {
      let r = await ferry('groups', 'describe', '--group', 'cli-active', '-b', b, '--json');
      const d = JSON.parse(r.stdout);
      assert.equal(d.state, 'Stable');
      assert.equal(d.members.length, 1);
      assert.deepEqual(d.members[0].assignment, [{ topic: 'cli-dup', partitions: [0] }]);
      r = await ferry('groups', 'reset-offsets', '--group', 'cli-active', '--topic', 'cli-dup', '--to-earliest', '--execute', '-b', b);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /NON_EMPTY_GROUP/);
      assert.match(r.stderr, /Stable/);
      r = await ferry('groups', 'delete', '--group', 'cli-active', '-b', b);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /NON_EMPTY_GROUP/);
    } finally {
      await consumer.disconnect();
    }
  });

  test('cluster describe: brokers, controller, leaders; WAL and upload lag from --metrics', async () => {
    const metrics = new BrokerMetrics({ processMetrics: false, labels: { node_id: '1' } });
    metrics.walCapacityBytesSet(1 << 30);
    metrics.walUsed(256 << 20);
    metrics.uploadLag(3 << 20, 1.5);
    metrics.walMetrics().onFsync!(0.0004);
    const ops = await startOpsHttpServer({ host: '127.0.0.1', port: 0, metrics, readiness: () => true });
    try {
      let r = await ferry('cluster', 'describe', '-b', b, '--metrics', ops.url, '--json');
      assert.equal(r.code, 0, r.stderr);
      const c = JSON.parse(r.stdout);
      assert.equal(c.controllerId, 1);
      assert.deepEqual(c.brokers.map((x: any) => [x.nodeId, x.port, x.controller]), [[1, broker.port, true]]);
      assert.ok(c.partitions.some((p: any) => p.topic === 'cli-dup' && p.partition === 0 && p.leader === 1));
      assert.equal(c.metrics[0].nodeId, '1');
      assert.equal(c.metrics[0].ready, true);
      assert.equal(c.metrics[0].walFillRatio, 0.25);
      assert.equal(c.metrics[0].uploadLagBytes, 3 << 20);
      r = await ferry('cluster', 'describe', '-b', b, '--metrics', ops.url);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^BROKER\s+HOST\s+RACK\s+CONTROLLER\s+PARTITIONS LED$/m);
      assert.match(r.stdout, /256\.0 MiB\s+25\.0%/);
      assert.match(r.stdout, /3\.0 MiB\s+1\.5/);
    } finally {
      await ops.close();
    }
    const r = await ferry('cluster', 'describe', '-b', b, '--metrics', 'http://127.0.0.1:1');
    assert.equal(r.code, 1, 'an unreachable metrics endpoint is an error');
    assert.match(r.stdout, /error:/);
  });

  test('through the real entry point: ferry topics list exits 0, an unreachable broker exits 1', async () => {
    const ok = await ferryProcess(['topics', 'list', '--bootstrap-server', b]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /cli-dup/);
    const ko = await ferryProcess(['groups', 'list', '--bootstrap-server', '127.0.0.1:1']);
    assert.equal(ko.code, 1);
    assert.match(ko.stderr, /ferry groups: /);
  });
});
