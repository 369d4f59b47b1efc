// kcat (librdkafka 2.0.x, Debian) against a real Ferry broker process: metadata, 10,000 keyed
// messages with headers produced and consumed back byte for byte, offsets by timestamp.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireTool } from '../helpers/require-tool.js';
import { runChecked } from '../helpers/run-process.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';

const MESSAGES = 10_000;

describe('kcat against a Ferry broker', { timeout: 120_000 }, () => {
  let broker: BrokerProcess;
  let kcat: string;

  before(async () => {
    kcat = requireTool('kcat');
    broker = new BrokerProcess();
    await broker.start();
  });
  after(async () => { await broker?.dispose(); });

  const k = (...args: string[]) => ['-b', broker.bootstrap, '-X', 'socket.timeout.ms=10000', ...args];

  /** Key i and a value whose length and characters vary (ASCII punctuation, multi-byte UTF-8, ':'). */
  function line(i: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 !"#$%&\'()*+,-./;<=>?@[\\]^_`{|}~éß€漢🙂:';
    const chars = Array.from(alphabet);
    let v = `v${i}-`;
    for (let j = 0; j < (i * 7) % 97; j++) v += chars[(i * 31 + j * 17) % chars.length];
    return `key-${i}:${v}\n`;
  }

  test('produce 10,000 keyed messages with headers, consume them back byte-exact', { timeout: 90_000 }, async () => {
    const topic = 'kcat-bulk';
    const input = Array.from({ length: MESSAGES }, (_, i) => line(i)).join('');
    const before = Date.now();
    await runChecked(kcat, k('-P', '-t', topic, '-K:', '-H', 'k=v', '-H', 'trace=0123456789abcdef'), { input, timeoutMs: 60_000 });
    const afterProduce = Date.now();

    // Byte-exact: the same "key:value\n" lines come back in order.
    const raw = await runChecked(kcat, k('-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%k:%s\n'), { timeoutMs: 60_000 });
    const got = raw.stdout;
    const want = Buffer.from(input, 'utf8');
    if (!got.equals(want)) {
      const gotLines = got.toString('utf8').split('\n');
      const wantLines = input.split('\n');
      const first = wantLines.findIndex((l, i) => gotLines[i] !== l);
      assert.fail(`consumed bytes differ (${got.length} vs ${want.length} bytes); first differing line ${first}: got ${JSON.stringify(gotLines[first])}, want ${JSON.stringify(wantLines[first])}`);
    }

    // Offsets, headers and timestamps, as kcat reports them.
    const json = await runChecked(kcat, k('-C', '-t', topic, '-o', 'beginning', '-e', '-J'), { timeoutMs: 60_000 });
    const msgs = json.stdout.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(msgs.length, MESSAGES);
    msgs.forEach((m, i) => {
      assert.equal(m.partition, 0);
      assert.equal(m.offset, i, `offset of message ${i}`);
      assert.deepEqual(m.headers, ['k', 'v', 'trace', '0123456789abcdef'], `headers of message ${i}`);
      assert.equal(m.key, `key-${i}`);
      assert.ok(m.ts >= before - 1000 && m.ts <= afterProduce + 1000, `CreateTime ${m.ts} of message ${i} outside the produce window`);
    });

    // And the broker says the same about the partition.
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const stored = await fetchAllBatches(conn, topic, 0);
      assert.equal(stored.highWatermark, BigInt(MESSAGES));
      assert.equal(stored.batches.reduce((n, b) => n + b.recordsCount, 0), MESSAGES);
    } finally { conn.close(); }
  });

  test('-L lists the broker and the topic with its leader', async () => {
    const res = await runChecked(kcat, k('-L', '-J', '-t', 'kcat-bulk'), { timeoutMs: 20_000 });
    const md = JSON.parse(res.stdout.toString('utf8'));
    assert.equal(md.brokers.length, 1, JSON.stringify(md.brokers));
    const b = md.brokers[0];
    assert.equal(b.name, broker.bootstrap);
    const t = md.topics.find((x: any) => x.topic === 'kcat-bulk');
    assert.ok(t, `topic in ${JSON.stringify(md.topics)}`);
    assert.equal(t.partitions.length, 1);
    assert.equal(t.partitions[0].leader, b.id);
    assert.deepEqual(t.partitions[0].replicas.map((r: any) => r.id), [b.id]);
    assert.deepEqual(t.partitions[0].isrs.map((r: any) => r.id), [b.id]);
  });

  test('-Q finds offsets by timestamp', { timeout: 60_000 }, async () => {
    const topic = 'kcat-times';
    const batch = (from: number) => Array.from({ length: 5 }, (_, i) => `k${from + i}:v${from + i}\n`).join('');
    await runChecked(kcat, k('-P', '-t', topic, '-K:'), { input: batch(0), timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 50));
    const middle = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    await runChecked(kcat, k('-P', '-t', topic, '-K:'), { input: batch(5), timeoutMs: 30_000 });
    const query = async (ts: number): Promise<number> => {
      const res = await runChecked(kcat, k('-Q', '-t', `${topic}:0:${ts}`), { timeoutMs: 20_000 });
      const out = res.stdout.toString('utf8');
      const m = /offset (-?\d+)/.exec(out);
      assert.ok(m, `kcat -Q output: ${out}`);
      return Number(m[1]);
    };
    assert.equal(await query(middle), 5, 'first message at or after the middle timestamp');
    assert.equal(await query(1), 0, 'a timestamp before everything finds the first offset');
    assert.equal(await query(Date.now() + 3_600_000), -1, 'a timestamp after everything finds nothing (-1, the end)');
  });

  test('acks=0: produced messages arrive though nothing is answered', { timeout: 40_000 }, async () => {
    const topic = 'kcat-acks0';
    const input = Array.from({ length: 1000 }, (_, i) => `a${i}\n`).join('');
    await runChecked(kcat, k('-P', '-t', topic, '-X', 'acks=0'), { input, timeoutMs: 30_000 });
    // With acks=0 the client does not know when the broker wrote them: wait for the high watermark.
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const deadline = Date.now() + 10_000;
      while ((await fetchAllBatches(conn, topic, 0).catch(() => ({ highWatermark: -1n }))).highWatermark < 1000n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally { conn.close(); }
    const out = await runChecked(kcat, k('-C', '-t', topic, '-o', 'beginning', '-e', '-q'), { timeoutMs: 30_000 });
    assert.equal(out.stdout.toString('utf8'), input);
  });

  test('a message larger than the consumer\'s fetch limits is still delivered (first batch always returned)', { timeout: 40_000 }, async () => {
    const topic = 'kcat-big';
    const big = 'B'.repeat(900_000);
    await runChecked(kcat, k('-P', '-t', topic, '-X', 'message.max.bytes=1000000'), { input: `small\n${big}\nafter\n`, timeoutMs: 30_000 });
    const out = await runChecked(kcat, k('-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-X', 'fetch.message.max.bytes=4096', '-X', 'fetch.max.bytes=8192', '-X', 'message.max.bytes=8192', '-X', 'receive.message.max.bytes=2000000'), { timeoutMs: 30_000 });
    assert.equal(out.stdout.toString('utf8'), `small\n${big}\nafter\n`);
  });

  test('LogAppendTime topics: the broker sets the timestamp and the CRC still checks', { timeout: 40_000 }, async () => {
    const topic = 'kcat-logappend';
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const res = await conn.request(19, 5, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }], timeoutMs: 10_000, validateOnly: false });
      assert.equal(res.topics[0].errorCode, 0, JSON.stringify(res.topics[0].errorMessage));
    } finally { conn.close(); }
    const before = Date.now();
    await runChecked(kcat, k('-P', '-t', topic, '-K:'), { input: 'a:1\nb:2\nc:3\n', timeoutMs: 30_000 });
    const after = Date.now();
    const out = await runChecked(kcat, k('-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-J', '-X', 'check.crcs=true'), { timeoutMs: 30_000 });
    const msgs = out.stdout.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(msgs.map((m) => m.payload), ['1', '2', '3']);
    for (const m of msgs) {
      assert.equal(m.tstype, 'logappend', JSON.stringify(m));
      assert.ok(m.ts >= before - 5 && m.ts <= after + 5, `broker time ${m.ts} within [${before}, ${after}]`);
    }
  });
});
