// Produce->consume latency p50/p99 and MB/s with librdkafka (confluent-kafka-python) at 1 KiB,
// acks=all, against a broker started here, plus the fdatasync p50/p99 of the same disk measured in
// the same run (4 KiB write + fdatasync, from Node, in the broker's data directory). Not a test.
//   node --conditions=ferry-source --import tsx test/clients/perf-e2e.ts [--rate 2000] [--seconds 10] [--count 200000]
import { openSync, writeSync, fdatasyncSync, closeSync, unlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { runJson } from '../helpers/run-process.js';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '2000' }, seconds: { type: 'string', default: '10' }, count: { type: 'string', default: '200000' }, partitions: { type: 'string', default: '1' } } });
const script = fileURLToPath(new URL('./py/perf_e2e.py', import.meta.url));

function fdatasyncLatency(dir: string, iterations = 2000): { p50Ms: number; p99Ms: number } {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'fdatasync-probe');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 0xab);
  const samples: number[] = [];
  try {
    for (let i = 0; i < iterations; i++) {
      const t0 = process.hrtime.bigint();
      writeSync(fd, block, 0, block.length, (i % 256) * 4096);
      fdatasyncSync(fd);
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
  samples.sort((a, b) => a - b);
  return { p50Ms: samples[Math.floor(samples.length * 0.5)]!, p99Ms: samples[Math.floor(samples.length * 0.99)]! };
}

const python = requirePythonModules('confluent_kafka');
const broker = new BrokerProcess();
await broker.start();
try {
  const diskBefore = fdatasyncLatency(join(broker.dataDir, 'probe'));
  const result = await runJson(python, [script, '--bootstrap', broker.bootstrap, '--rate', values.rate!, '--seconds', values.seconds!, '--count', values.count!, '--partitions', values.partitions!], { timeoutMs: 600_000 });
  const diskAfter = fdatasyncLatency(join(broker.dataDir, 'probe'));
  console.log(JSON.stringify({ ...result, fdatasync4KiB: { before: diskBefore, after: diskAfter } }, null, 2));
} finally {
  await broker.dispose();
}
