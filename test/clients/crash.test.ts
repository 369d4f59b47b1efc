// SIGKILL the broker while an acks=all producer (confluent-kafka-python) runs; restart it on the same
// data directory and port. Every message the producer saw acknowledged is there, at the acknowledged
// offset, and every offset holds exactly one message.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requirePythonModules, requireTool } from '../helpers/require-tool.js';
import { LineProcess, runChecked } from '../helpers/run-process.js';
import { waitFor, sleep } from '../helpers/wait.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { ApiKey } from '../../src/protocol/messages/index.js';

const SCRIPT = fileURLToPath(new URL('./py/ck_client.py', import.meta.url));

function ackedLines(file: string): string[] {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
  } catch { return []; }
}

describe('crash: SIGKILL under an acks=all producer, restart, nothing acknowledged is lost', { timeout: 150_000 }, () => {
  const dirs: string[] = [];
  const brokers: BrokerProcess[] = [];
  after(async () => {
    for (const b of brokers) await b.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  for (const idempotent of [false, true]) {
    test(idempotent ? 'idempotent producer: also no duplicates after the restart' : 'plain acks=all producer', { timeout: 70_000 }, async () => {
      const python = requirePythonModules('confluent_kafka');
      const kcat = requireTool('kcat');
      const work = mkdtempSync(join(tmpdir(), 'ferry-crash-'));
      dirs.push(work);
      const ackFile = join(work, 'acked.txt');
      const topic = idempotent ? 'crash-idem' : 'crash-plain';
      const broker = new BrokerProcess({ dataDir: join(work, 'data') });
      brokers.push(broker);
      await broker.start();

      const producer = new LineProcess(python, [SCRIPT, 'crash-producer', '--bootstrap', broker.bootstrap, '--topic', topic, '--partitions', '3', '--out', ackFile, ...(idempotent ? ['--idempotent'] : [])]);
      try {
        await producer.waitForLine((l) => l === 'started', 20_000);
        await waitFor(() => ackedLines(ackFile).length >= 5000, 30_000, () => `5000 acknowledged before the crash (have ${ackedLines(ackFile).length}); producer stderr: ${producer.stderr.slice(-1500)}`);
        await broker.kill();
        const ackedAtCrash = ackedLines(ackFile).length;
        await sleep(300);
        await broker.start();
        await waitFor(() => ackedLines(ackFile).length >= ackedAtCrash + 3000, 30_000, () => `producing resumes after the restart (${ackedLines(ackFile).length - ackedAtCrash} new acks); producer stderr: ${producer.stderr.slice(-1500)}`);
        producer.kill('SIGTERM');
        const exit = await Promise.race([producer.exited, sleep(30_000).then(() => null)]);
        assert.ok(exit, 'producer stopped after SIGTERM');
      } finally {
        producer.kill('SIGKILL');
      }
      const summary = JSON.parse(producer.lines.filter((l) => l.startsWith('{')).pop() ?? '{}');
      assert.equal(summary.notFlushed, 0, `all sent messages resolved: ${JSON.stringify(summary)}`);

      const acked = ackedLines(ackFile).map((l) => { const [key, p, o] = l.split(' '); return { key: key!, partition: Number(p), offset: Number(o) }; });
      const res = await runChecked(kcat, ['-b', broker.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %o %k\n'], { timeoutMs: 60_000 });
      const stored = new Map<string, string>();
      const dupOffsets: string[] = [];
      const perPartition = new Map<number, number[]>();
      for (const line of res.stdout.toString('utf8').split('\n').filter(Boolean)) {
        const [p, o, key] = line.split(' ');
        const id = `${p}:${o}`;
        if (stored.has(id)) dupOffsets.push(id);
        stored.set(id, key!);
        perPartition.set(Number(p), [...(perPartition.get(Number(p)) ?? []), Number(o)]);
      }
      assert.deepEqual(dupOffsets, [], 'each offset is consumed once');
      for (const [p, offsets] of perPartition) {
        offsets.forEach((o, i) => assert.equal(o, i, `partition ${p}: offsets are contiguous from 0`));
      }
      const lost = acked.filter((a) => stored.get(`${a.partition}:${a.offset}`) !== a.key);
      assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${acked.length} acknowledged messages missing or at another offset`);
      assert.equal(new Set(acked.map((a) => `${a.partition}:${a.offset}`)).size, acked.length, 'no two acknowledgements share an offset');
      if (idempotent) {
        const seenKeys = new Set<string>();
        const dupKeys = [...stored.values()].filter((k) => seenKeys.size === seenKeys.add(k).size);
        assert.deepEqual(dupKeys.slice(0, 10), [], 'an idempotent producer leaves no duplicate across the restart');
      }
    });
  }

  test('a consumer group keeps consuming across the crash and ends with every acknowledged message and final commits', { timeout: 90_000 }, async () => {
    const python = requirePythonModules('confluent_kafka');
    const work = mkdtempSync(join(tmpdir(), 'ferry-crash-'));
    dirs.push(work);
    const ackFile = join(work, 'acked.txt');
    const consumedFile = join(work, 'consumed.txt');
    const topic = 'crash-group';
    const broker = new BrokerProcess({ dataDir: join(work, 'data') });
    brokers.push(broker);
    await broker.start();
    const producer = new LineProcess(python, [SCRIPT, 'crash-producer', '--bootstrap', broker.bootstrap, '--topic', topic, '--partitions', '2', '--out', ackFile, '--idempotent']);
    await producer.waitForLine((l) => l === 'started', 20_000);
    const consumer = new LineProcess(python, [SCRIPT, 'group-consumer', '--bootstrap', broker.bootstrap, '--topic', topic, '--group', 'crash-g', '--out', consumedFile]);
    const consumed = () => new Set(ackedLines(consumedFile).map((l) => { const [p, o] = l.split(' '); return `${p}:${o}`; }));
    try {
      await consumer.waitForLine((l) => l === 'started', 20_000);
      await waitFor(() => consumed().size >= 3000, 30_000, () => `3000 consumed before the crash (have ${consumed().size}); consumer stderr: ${consumer.stderr.slice(-1500)}`);
      await broker.kill();
      await sleep(300);
      await broker.start();
      const atRestart = ackedLines(ackFile).length;
      await waitFor(() => ackedLines(ackFile).length >= atRestart + 3000, 30_000, () => `producing resumes (${ackedLines(ackFile).length - atRestart} new acks)`);
      producer.kill('SIGTERM');
      await Promise.race([producer.exited, sleep(30_000)]);
      const acked = ackedLines(ackFile).map((l) => { const [, p, o] = l.split(' '); return `${p}:${o}`; });
      await waitFor(() => { const got = consumed(); return acked.every((x) => got.has(x)); }, 40_000, () => {
        const got = consumed();
        const missing = acked.filter((x) => !got.has(x));
        return `the group consumed every acknowledged message (${missing.length} of ${acked.length} missing, e.g. ${missing.slice(0, 5)}); consumer stderr: ${consumer.stderr.slice(-1500)}`;
      });
      // After the restart the coordinator no longer knows the member: its heartbeats fail, it loses
      // its partitions and rejoins, and until then it cannot commit (as with Kafka). Fetches go on
      // meanwhile, so "consumed everything" can come before the rejoin; wait for the group's commits
      // to reach every partition's end, then stop the member and check its final commit.
      const conn = await RawKafkaConnection.connect(broker.bootstrap);
      try {
        const ends = new Map<number, bigint>();
        for (const p of [0, 1]) ends.set(p, (await fetchAllBatches(conn, topic, p)).highWatermark);
        let committed = new Map<number, bigint>();
        await waitFor(async () => {
          const res = await conn.request(ApiKey.OffsetFetch, 7, { groupId: 'crash-g', topics: [{ name: topic, partitionIndexes: [0, 1] }], requireStable: false });
          committed = new Map(res.topics[0].partitions.map((p: { partitionIndex: number; committedOffset: bigint }) => [p.partitionIndex, p.committedOffset]));
          return [...ends].every(([p, end]) => committed.get(p) === end);
        }, 40_000, () => `the group's committed offsets reach the ends ${JSON.stringify([...ends].map(String))} (have ${JSON.stringify([...committed].map(String))}); consumer stderr: ${consumer.stderr.slice(-1500)}`);
        consumer.kill('SIGTERM');
        await Promise.race([consumer.exited, sleep(20_000)]);
        const summary = JSON.parse(consumer.lines.filter((l) => l.startsWith('{')).pop() ?? '{}');
        assert.equal(summary.commitError, null, `final commit: ${JSON.stringify(summary)}`);
        const res = await conn.request(ApiKey.OffsetFetch, 7, { groupId: 'crash-g', topics: [{ name: topic, partitionIndexes: [0, 1] }], requireStable: false });
        for (const p of res.topics[0].partitions) {
          assert.equal(p.committedOffset, ends.get(p.partitionIndex), `partition ${p.partitionIndex}: the final commit kept the end`);
        }
      } finally { conn.close(); }
    } finally {
      producer.kill('SIGKILL');
      consumer.kill('SIGKILL');
    }
  });
});
