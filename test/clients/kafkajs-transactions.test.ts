// kafkajs 2.x transactions against a real Ferry broker process: a transactional producer's commit
// and abort as a read_committed consumer sees them, then a consume-transform-produce loop (input
// offsets committed in the output's transaction) over 20,000 records while the broker is SIGKILLed
// twice and restarted on the same data dir and port: every input is in the output exactly once.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type * as KafkaJs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule } from '../helpers/require-tool.js';
import { waitFor } from '../helpers/wait.js';
import { consumeTransformProduce, readCommitted } from '../helpers/kafkajs-eos.js';

describe('kafkajs transactions against a Ferry broker', { timeout: 170_000 }, () => {
  let broker: BrokerProcess;
  let kjs: typeof KafkaJs;
  const cleanups: Array<() => Promise<void>> = [];
  const newKafka = (clientId: string) => new kjs.Kafka({ clientId, brokers: [broker.bootstrap], logLevel: kjs.logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 } });

  before(async () => {
    kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    broker = new BrokerProcess({ config: { 'num.partitions': '3' } });
    await broker.start();
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await broker?.dispose();
  });

  test('commit and abort: a read_committed consumer sees only the committed records', { timeout: 40_000 }, async () => {
    const kafka = newKafka('kjs-txn');
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic: 'kjs-txn', numPartitions: 3 }], waitForLeaders: true });

    const producer = kafka.producer({ transactionalId: 'kjs-txn-1', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const batch = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ key: `${tag}-${i}`, value: `${tag}-value-${i}` }));

    const t1 = await producer.transaction();
    await t1.send({ topic: 'kjs-txn', messages: batch('committed-1', 30) });
    await t1.commit();
    const t2 = await producer.transaction();
    await t2.send({ topic: 'kjs-txn', messages: batch('aborted', 30) });
    await t2.send({ topic: 'kjs-txn', messages: batch('aborted-more', 5) });
    await t2.abort();
    const t3 = await producer.transaction();
    await t3.send({ topic: 'kjs-txn', messages: batch('committed-2', 20) });
    await t3.commit();

    // Every record, markers and aborted ones included, takes an offset; read_committed skips both.
    const offsets = await admin.fetchTopicOffsets('kjs-txn');
    const total = offsets.reduce((n, o) => n + Number(o.high), 0);
    assert.ok(total >= 30 + 35 + 20 + 3, `log end offsets count data and control records (${total})`);

    const got = await readCommitted(kafka, 'kjs-txn', 20_000);
    const keys = got.map((r) => r.key).sort();
    assert.deepEqual(keys, [...batch('committed-1', 30), ...batch('committed-2', 20)].map((m) => m.key).sort(), 'exactly the committed records');
    assert.ok(got.every((r) => r.value === r.key.replace(/-(\d+)$/, '-value-$1')));

    // A read_uncommitted consumer sees the aborted ones too (they are in the log).
    const uncommitted = kafka.consumer({ groupId: 'kjs-txn-ru', readUncommitted: true, sessionTimeout: 10_000, heartbeatInterval: 500 });
    await uncommitted.connect();
    cleanups.push(() => uncommitted.disconnect());
    await uncommitted.subscribe({ topic: 'kjs-txn', fromBeginning: true });
    const seen = new Set<string>();
    await uncommitted.run({ eachMessage: async ({ message }) => { seen.add(message.key!.toString()); } });
    await waitFor(() => seen.size === 85, 20_000, () => `read_uncommitted saw ${seen.size} of 85`);
    assert.ok(seen.has('aborted-0') && seen.has('aborted-more-4'));
    await uncommitted.disconnect();
  });

  test('consume-transform-produce over 20,000 records, broker SIGKILLed twice: every input exactly once', { timeout: 120_000 }, async (t) => {
    const N = 20_000;
    const kafka = newKafka('kjs-ctp-setup');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'ctp-in', numPartitions: 3 }, { topic: 'ctp-out', numPartitions: 3 }], waitForLeaders: true });
    const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await plain.connect();
    for (let i = 0; i < N; i += 1000) {
      await plain.send({ topic: 'ctp-in', acks: -1, messages: Array.from({ length: 1000 }, (_, j) => ({ key: `k${i + j}`, value: `in-${i + j}` })) });
    }
    await plain.disconnect();
    const inputEnds = new Map((await admin.fetchTopicOffsets('ctp-in')).map((p) => [p.partition, BigInt(p.high)]));
    await admin.disconnect();
    assert.equal([...inputEnds.values()].reduce((a, b) => a + b, 0n), BigInt(N));

    let committedRecords = 0;
    const kills: number[] = [];
    let killing: Promise<void> = Promise.resolve();
    const killAt = [N / 3, (2 * N) / 3];
    const t0 = Date.now();
    const res = await consumeTransformProduce({
      kjs, kafka: () => newKafka('kjs-ctp'), input: 'ctp-in', output: 'ctp-out', groupId: 'ctp-group', transactionalId: 'ctp-txn',
      inputEnds, transform: (v) => Buffer.from(v.toString().replace(/^in-/, 'out-')), deadlineMs: Date.now() + 90_000,
      onCommit: (n) => {
        committedRecords += n;
        if (kills.length < killAt.length && committedRecords >= killAt[kills.length]!) {
          kills.push(Date.now());
          // SIGKILL in the middle of the loop (the next transaction is about to start), then restart.
          killing = killing.then(async () => { await broker.kill(); await broker.start(); });
        }
      },
    });
    await killing;
    t.diagnostic(`loop: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${res.commits} commits, ${res.aborts} aborts, ${res.sessions} sessions; errors: ${res.errors.slice(0, 6).join(' | ')}`);
    assert.equal(kills.length, 2, 'the broker was killed twice during the loop');
    assert.ok(res.sessions >= 2, 'the loop restarted after a kill');

    const out = await readCommitted(newKafka('kjs-ctp-verify'), 'ctp-out', 30_000);
    const count = new Map<string, number>();
    for (const r of out) {
      assert.equal(r.value, `out-${r.key.slice(1)}`);
      count.set(r.key, (count.get(r.key) ?? 0) + 1);
    }
    const missing = Array.from({ length: N }, (_, i) => `k${i}`).filter((k) => !count.has(k));
    const dup = [...count].filter(([, n]) => n > 1);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} inputs missing from the output`);
    assert.deepEqual(dup.slice(0, 10), [], `${dup.length} inputs more than once in the output`);
    assert.equal(out.length, N);
  });
});
