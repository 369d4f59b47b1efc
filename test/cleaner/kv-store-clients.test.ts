/**
 * A compacted topic as a key-value store, as applications use one (a changelog, a table), through
 * kafkajs and through confluent-kafka-python (librdkafka): keys written several times and
 * deleted, a graceful restart, more writes, a SIGKILL, the cleaner left to run to the end; the
 * table rebuilt from offset 0 equals the map of the writes, each key read once.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as KafkaJs from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireNodeModule, requirePythonModules } from '../helpers/require-tool.js';
import { runJson } from '../helpers/run-process.js';
import { freePort } from '../helpers/ports.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { MetricsSnapshot } from '../../src/admin/prom-text.js';

const SCRIPT = fileURLToPath(new URL('./py/kv_table.py', import.meta.url));
const PARTITIONS = 3;
const KEYS = 300;
const TOPIC_CONFIGS = {
  'cleanup.policy': 'compact', 'segment.ms': '100', 'min.cleanable.dirty.ratio': '0.01', 'delete.retention.ms': '1000',
};

interface Op { k: string; v: string | null; p?: number }

/**
 * The writes of one phase. 1: every key three times, every 7th deleted; 2: half the keys again,
 * every 5th deleted, some deleted ones written again; 3: a few keys; each phase ends with one
 * write per partition (so a reader knows where a partition ends: the last offset is always kept).
 */
function phase(n: 1 | 2 | 3, prefix: string): Op[] {
  const ops: Op[] = [];
  const k = (i: number) => `${prefix}-${i}`;
  const v = (i: number, round: number) => `${prefix}-${i}@${round}:${'v'.repeat(i % 30)}`;
  if (n === 1) {
    for (let round = 1; round <= 3; round++) for (let i = 0; i < KEYS; i++) ops.push({ k: k(i), v: round === 3 && i % 7 === 0 ? null : v(i, round) });
  } else if (n === 2) {
    for (let i = 0; i < KEYS; i += 2) ops.push({ k: k(i), v: i % 5 === 0 ? null : v(i, 4) });
    for (let i = 7; i < KEYS; i += 14) ops.push({ k: k(i), v: v(i, 5) }); // deleted in phase 1 (odd multiples of 7), back again
  } else {
    for (let i = 0; i < KEYS; i += 17) ops.push({ k: k(i), v: v(i, 6) });
  }
  for (let p = 0; p < PARTITIONS; p++) ops.push({ k: `${prefix}-end-${p}`, v: `phase-${n}`, p });
  return ops;
}

function apply(table: Map<string, string>, ops: readonly Op[]): void {
  for (const o of ops) if (o.v === null) table.delete(o.k); else table.set(o.k, o.v);
}

/** The broker's "cleaned partition" log lines for `topic`. */
function passesOf(logs: string, topic: string): { partition: number; mapEnd: number }[] {
  return logs.split('\n').filter((l) => l.includes('"msg":"cleaned partition"')).map((l) => JSON.parse(l)).filter((j) => j.topic === topic);
}

describe('compacted topic as a key-value store, across restarts', { timeout: 180_000 }, () => {
  let broker: BrokerProcess;
  let metricsPort: number;
  let kjs: typeof KafkaJs;
  let tmp: string;

  before(async () => {
    kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    tmp = mkdtempSync(join(tmpdir(), 'ferry-kv-'));
    metricsPort = await freePort();
    broker = new BrokerProcess({
      config: {
        'metrics.listener': `127.0.0.1:${metricsPort}`, 'upload.interval.ms': '100', 'compaction.interval.ms': '200',
        'log.cleaner.backoff.ms': '200', 'object.gc.grace.ms': '1000',
      },
    });
    await broker.start();
  });
  after(async () => {
    await broker?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const kafkaClient = () => new kjs.Kafka({ clientId: 'kv-store', brokers: [broker.bootstrap], logLevel: kjs.logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } });

  async function highWatermarks(topic: string): Promise<Map<number, number>> {
    const admin = kafkaClient().admin();
    await admin.connect();
    try {
      return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
    } finally { await admin.disconnect(); }
  }

  /**
   * Until every partition of `topic` had a pass that cleaned up to its high watermark. Meanwhile
   * writes to another topic: compaction splits a stream-set object only once a newer upload
   * exists, so the topic's last writes reach the cleaner only after a later upload (as Kafka's
   * active segment rolls only on the next append).
   */
  async function cleanedToEnd(topic: string): Promise<void> {
    const hw = await highWatermarks(topic);
    const ticker = kafkaClient().producer();
    await ticker.connect();
    let ticking = true;
    const ticks = (async () => {
      while (ticking) {
        await ticker.send({ topic: 'kv-tick', acks: 1, messages: [{ value: String(Date.now()) }] }).catch(() => undefined);
        await sleep(150);
      }
    })();
    try {
      await waitFor(() => [...hw].every(([p, end]) => passesOf(broker.logs, topic).some((x) => x.partition === p && x.mapEnd === end)), 30_000,
        () => `passes of ${topic} up to ${JSON.stringify([...hw])}; so far ${JSON.stringify(passesOf(broker.logs, topic).slice(-6))}`);
    } finally {
      ticking = false;
      await ticks;
      await ticker.disconnect();
    }
  }

  /** Restarts between phases: graceful after phase 1, SIGKILL after phase 2. */
  async function restart(how: 'stop' | 'kill'): Promise<void> {
    if (how === 'stop') assert.equal(await broker.stop(), 0, 'graceful stop'); else await broker.kill();
    await broker.start();
  }

  /** Checks of a rebuilt table, whichever client read it. */
  async function checkCompacted(expected: Map<string, string>, table: Map<string, string>, records: number, written: number): Promise<void> {
    assert.equal(table.size, expected.size);
    assert.deepEqual(table, expected, 'the table rebuilt from offset 0 is the map of the writes');
    assert.ok(records < written / 2, `compacted: ${records} records read of ${written} written`);
    const m = await MetricsSnapshot.fetch(`http://127.0.0.1:${metricsPort}`);
    assert.ok(m.sum('ferry_cleaner_passes_total', { result: 'done' }) >= 1, 'a pass since the last restart');
    assert.equal(m.sum('ferry_cleaner_passes_total', { result: 'failed' }), 0);
    assert.equal(m.sum('ferry_cleaner_uncleanable_partitions'), 0);
  }

  test('kafkajs: write, delete, restart (SIGTERM, then SIGKILL), rebuild the table', { timeout: 80_000 }, async () => {
    const topic = 'kv-kafkajs';
    const admin = kafkaClient().admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS, configEntries: Object.entries(TOPIC_CONFIGS).map(([name, value]) => ({ name, value })) }] });
    await admin.disconnect();
    const expected = new Map<string, string>();
    let written = 0;
    const write = async (ops: readonly Op[]) => {
      const producer = kafkaClient().producer({ createPartitioner: kjs.Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        for (let i = 0; i < ops.length; i += 200) {
          const r = await producer.send({ topic, acks: -1, messages: ops.slice(i, i + 200).map((o) => ({ key: o.k, value: o.v, ...(o.p === undefined ? {} : { partition: o.p }) })) });
          for (const x of r) assert.equal(x.errorCode, 0);
        }
      } finally { await producer.disconnect(); }
      apply(expected, ops);
      written += ops.length;
    };
    await write(phase(1, 'js'));
    await sleep(500); // some of it cleaned before the restart
    await restart('stop');
    await write(phase(2, 'js'));
    await restart('kill');
    await write(phase(3, 'js'));
    await cleanedToEnd(topic);

    const ends = await highWatermarks(topic);
    const consumer = kafkaClient().consumer({ groupId: 'kv-rebuild', maxWaitTimeInMs: 100 });
    const table = new Map<string, string>();
    const seen = new Map<string, string>();
    const last = new Map<number, number>();
    const problems: string[] = [];
    let records = 0;
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          records++;
          const offset = Number(message.offset);
          // Collected, not thrown: kafkajs would retry a message whose handler throws.
          if (offset <= (last.get(partition) ?? -1)) problems.push(`partition ${partition}: offset ${offset} after ${last.get(partition)}`);
          last.set(partition, offset);
          const k = message.key!.toString();
          if (seen.has(k)) problems.push(`${k} twice: at ${seen.get(k)} and ${partition}/${offset}`);
          seen.set(k, `${partition}/${offset}`);
          if (message.value === null) table.delete(k); else table.set(k, message.value.toString());
        },
      });
      await waitFor(() => [...ends].every(([p, end]) => (last.get(p) ?? -1) === end - 1), 20_000, () => `the reader reaches ${JSON.stringify([...ends])} (at ${JSON.stringify([...last])})`);
    } finally { await consumer.disconnect(); }
    assert.deepEqual(problems, [], 'offsets increase, each key once');
    await checkCompacted(expected, table, records, written);
  });

  test('confluent-kafka-python: write, delete, restart (SIGTERM, then SIGKILL), rebuild the table', { timeout: 80_000 }, async () => {
    const python = requirePythonModules('confluent_kafka');
    const topic = 'kv-confluent';
    const run = (command: string, args: string[]) => runJson(python, [SCRIPT, command, '--bootstrap', broker.bootstrap, '--topic', topic, ...args], { timeoutMs: 60_000 });
    await run('create', ['--partitions', String(PARTITIONS), ...Object.entries(TOPIC_CONFIGS).flatMap(([k, v]) => ['--config', `${k}=${v}`])]);
    const expected = new Map<string, string>();
    let written = 0;
    const write = async (n: 1 | 2 | 3) => {
      const ops = phase(n, 'py');
      const file = join(tmp, `ops-${n}.jsonl`);
      writeFileSync(file, ops.map((o) => JSON.stringify(o)).join('\n') + '\n');
      const r = await run('write', ['--ops', file]);
      assert.deepEqual(r, { sent: ops.length, acked: ops.length, unflushed: 0, errors: [] }, `phase ${n} acknowledged`);
      apply(expected, ops);
      written += ops.length;
    };
    await write(1);
    await sleep(500);
    await restart('stop');
    await write(2);
    await restart('kill');
    await write(3);
    await cleanedToEnd(topic);

    const t = await run('table', []);
    assert.equal(t.eof, true, 'read to the end of every partition');
    assert.deepEqual(t.offsetErrors, [], 'offsets increase');
    assert.equal(t.duplicateCount, 0, `each key once: ${t.duplicates.join(', ')}`);
    const hw = await highWatermarks(topic);
    for (const [p, end] of hw) assert.equal(t.last[String(p)], end - 1, `partition ${p} read up to its last offset`);
    await checkCompacted(expected, new Map(Object.entries(t.table as Record<string, string>)), t.records, written);
  });
});
