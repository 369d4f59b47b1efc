/**
 * etcd restarts (SIGKILL, then back on the same data dir) while an idempotent acks=all producer
 * writes to a three-broker cluster: producing resumes by itself, and every acknowledged offset
 * is in the log.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd } from '../helpers/etcd.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { LineProcess } from '../helpers/run-process.js';
import { waitFor, sleep } from '../helpers/wait.js';

const SCRIPT = fileURLToPath(new URL('../clients/py/ck_client.py', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ferry-etcd-restart-'));
const brokers: BrokerProcess[] = [];
let producer: LineProcess | null = null;
after(async () => {
  producer?.kill('SIGKILL');
  for (const b of brokers) await b.dispose();
  rmSync(work, { recursive: true, force: true });
});

const lines = (file: string) => { try { const t = readFileSync(file, 'utf8'); return t.slice(0, t.lastIndexOf('\n') + 1).split('\n').filter(Boolean); } catch { return []; } };

test('an etcd restart under load loses nothing and the cluster recovers by itself', { timeout: 180_000 }, async (t) => {
  const python = requirePythonModules('confluent_kafka');
  const etcd = await startEtcd(t);
  for (const [i, rack] of ['a', 'b', 'c'].entries()) {
    const b = new BrokerProcess({ config: {
      'metadata.backend': 'etcd', 'etcd.endpoints': etcd.endpoint, 'cluster.name': 'er', 'node.id': String(i + 1), rack,
      'object.store.path': join(work, 'objects'), 'broker.session.timeout.ms': '6000', 'upload.interval.ms': '300',
    } });
    brokers.push(b);
    await b.start();
  }
  const acked = join(work, 'acked.txt');
  producer = new LineProcess(python, [SCRIPT, 'crash-producer', '--bootstrap', brokers[0].bootstrap, '--topic', 'er', '--partitions', '6', '--out', acked, '--idempotent']);
  await producer.waitForLine((l) => l === 'started', 30_000);
  await waitFor(() => lines(acked).length > 3000, 30_000, 'producing');

  await etcd.kill();
  await sleep(500);
  await etcd.restart();
  const atRestart = lines(acked).length;
  await waitFor(() => lines(acked).length > atRestart + 3000, 60_000, () => `producing resumes after the etcd restart (${lines(acked).length - atRestart} new acks)`);
  producer.kill('SIGTERM');
  await Promise.race([producer.exited, sleep(30_000)]);

  const ack = new Map<string, string>();
  for (const l of lines(acked)) { const [key, p, o] = l.split(' '); ack.set(`${p} ${o}`, key); }
  const stored = new Map<string, string>();
  for (let p = 0; p < 6; p++) {
    // Any broker: clients are told the leader; here ask each until one leads the partition.
    for (const b of brokers) {
      const c = await RawKafkaConnection.connect(b.bootstrap);
      try {
        const all = await fetchAllBatches(c, 'er', p);
        for (const batch of all.batches) {
          for (let o = batch.baseOffset; o <= batch.lastOffset; o++) stored.set(`${p} ${o}`, 'x');
        }
        break;
      } catch { /* not the leader */ } finally { c.close(); }
    }
  }
  const missing = [...ack.keys()].filter((k) => !stored.has(k));
  assert.deepEqual(missing, [], 'every acknowledged offset is in the log');
  assert.ok(ack.size > 6000);
});
