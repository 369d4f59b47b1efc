/**
 * Issue 5's workload proof on real processes: an idempotent acks=all producer (confluent-kafka-
 * python) and a two-member consumer group on a 12-partition topic, while the cluster changes under
 * them: a fourth broker joins (and takes its share), one broker is stopped with SIGTERM (its
 * partitions move), and a partition is moved by an admin command. Every acknowledged message is
 * in the log exactly once at its acknowledged offset, and the group consumed all of them.
 * Measured on the way: seconds until the new broker leads its share.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd } from '../helpers/etcd.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { waitFor, sleep } from '../helpers/wait.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { LineProcess, runChecked } from '../helpers/run-process.js';

const SCRIPT = fileURLToPath(new URL('../clients/py/ck_client.py', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ferry-cluster-load-'));
const brokers: BrokerProcess[] = [];
const procs: LineProcess[] = [];
after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  for (const b of brokers) await b.dispose();
  rmSync(work, { recursive: true, force: true });
});

const lines = (file: string) => { try { const t = readFileSync(file, 'utf8'); return t.slice(0, t.lastIndexOf('\n') + 1).split('\n').filter(Boolean); } catch { return []; } };

async function leaders(b: BrokerProcess): Promise<number[]> {
  const c = await RawKafkaConnection.connect(b.bootstrap);
  try {
    const md = await c.request(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: 'load' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    return md.topics[0].partitions.map((p: any) => p.leaderId);
  } finally { c.close(); }
}

test('producer and consumer group ride through scale-out, SIGTERM and an admin move with nothing lost', { timeout: 240_000 }, async (t) => {
  const python = requirePythonModules('confluent_kafka');
  const etcd = await startEtcd(t);
  const objects = join(work, 'objects');
  const startBroker = async (id: number, rack: string) => {
    const b = new BrokerProcess({ config: {
      'metadata.backend': 'etcd', 'etcd.endpoints': etcd.endpoint, 'cluster.name': 'load', 'node.id': String(id), rack,
      'object.store.path': objects, 'broker.session.timeout.ms': '3000', 'upload.interval.ms': '500',
      'group.initial.rebalance.delay.ms': '0',
    } });
    brokers.push(b);
    await b.start();
    return b;
  };
  const b1 = await startBroker(1, 'a');
  await startBroker(2, 'b');
  await startBroker(3, 'c');

  const acked = join(work, 'acked.txt');
  const producer = new LineProcess(python, [SCRIPT, 'crash-producer', '--bootstrap', b1.bootstrap, '--topic', 'load', '--partitions', '12', '--out', acked, '--idempotent']);
  procs.push(producer);
  await producer.waitForLine((l) => l === 'started', 30_000);
  const consumed = [join(work, 'c1.txt'), join(work, 'c2.txt')];
  const consumers = consumed.map((out) => new LineProcess(python, [SCRIPT, 'group-consumer', '--bootstrap', b1.bootstrap, '--topic', 'load', '--group', 'g-load', '--out', out]));
  procs.push(...consumers);
  for (const c of consumers) await c.waitForLine((l) => l === 'started', 30_000);
  await waitFor(() => lines(acked).length > 2000, 30_000, 'the producer gets going');

  // Scale out: broker 4 joins and takes its share of the 12 partitions.
  const t0 = Date.now();
  const b4 = await startBroker(4, 'a');
  await waitFor(async () => (await leaders(b1)).filter((l) => l === 4).length === 3, 30_000, 'broker 4 leads 3 of 12');
  t.diagnostic(`new broker leads its share ${((Date.now() - t0) / 1000).toFixed(2)} s after its process started`);
  await waitFor(() => lines(acked).length > 6000, 30_000, 'producing goes on after the scale-out');

  // SIGTERM broker 2: its partitions move away before it exits.
  assert.equal(await brokers[1].stop(), 0);
  await waitFor(async () => (await leaders(b1)).every((l) => l !== 2 && l !== -1), 30_000, 'broker 2 leads nothing');

  // Admin move, through the CLI: one of broker 1's partitions to broker 4.
  const p = (await leaders(b1)).indexOf(1);
  const moved = await runChecked(process.execPath, ['--conditions=ferry-source', '--import', 'tsx', ROOT + 'src/cli/main.ts', 'cluster', 'move',
    '--etcd', etcd.endpoint, '--cluster', 'load', '--topic', 'load', '--partition', String(p), '--to', '4', '--json'], { timeoutMs: 60_000 });
  assert.equal(JSON.parse(moved.stdout.toString('utf8')).leader, 4);
  assert.equal((await leaders(b1))[p], 4);
  await waitFor(() => lines(acked).length > 10_000, 60_000, 'producing goes on after the admin move');

  producer.kill('SIGTERM');
  await Promise.race([producer.exited, sleep(30_000)]);
  // The producer saw only retriable errors (retried by librdkafka): nothing failed delivery.
  const summary = JSON.parse(producer.lines.find((l) => l.startsWith('{')) ?? '{}');
  assert.equal(summary.deliveryErrors, 0, `no delivery failed: ${JSON.stringify(summary)}`);
  assert.equal(summary.notFlushed, 0);
  const ackedLines = lines(acked);
  const ack = new Map<string, string>(); // "partition offset" -> key
  for (const l of ackedLines) {
    const [key, partition, offset] = l.split(' ');
    ack.set(`${partition} ${offset}`, key);
  }
  // Every acknowledged message consumed, exactly where it was acknowledged, and no key twice.
  await waitFor(() => {
    const seen = new Set<string>();
    for (const f of consumed) for (const l of lines(f)) { const [p, o] = l.split(' '); seen.add(`${p} ${o}`); }
    return [...ack.keys()].every((k) => seen.has(k));
  }, 60_000, () => 'the group consumed every acknowledged message');
  for (const cons of consumers) cons.kill('SIGTERM');
  const byOffset = new Map<string, string>();
  for (const f of consumed) for (const l of lines(f)) { const [p, o, k] = l.split(' '); const prev = byOffset.get(`${p} ${o}`); assert.ok(prev === undefined || prev === k, `offset ${p}/${o} holds one message`); byOffset.set(`${p} ${o}`, k); }
  for (const [k, key] of ack) assert.equal(byOffset.get(k), key, `acknowledged ${key} at ${k}`);
  const keys = new Map<string, number>();
  for (const key of byOffset.values()) keys.set(key, (keys.get(key) ?? 0) + 1);
  assert.ok([...keys.values()].every((n) => n === 1), 'no message was written twice (idempotent producer across moves)');
  assert.ok(ack.size > 10_000);
});
