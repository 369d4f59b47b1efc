/**
 * A real client over the whole tier: kcat produces more than the WAL and the cache hold, the
 * broker restarts with an empty cache, and kcat consumes everything from offset 0 — compared
 * byte-exact (key and value of every message, in order).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requireTool } from '../helpers/require-tool.js';
import { runChecked } from '../helpers/run-process.js';

/** Small WAL and cache, frequent uploads: most of the data must come back from objects. */
export const TIGHT_TIER = {
  'wal.capacity.bytes': '4194304', 'cache.max.bytes': '1048576', 'upload.interval.ms': '200',
  'upload.max.bytes': '524288', 'compaction.interval.ms': '1000', 'wal.append.timeout.ms': '30000',
};

export async function kcatRoundTrip(broker: BrokerProcess, topic: string, messages: number): Promise<{ bytes: number }> {
  const kcat = requireTool('kcat');
  // Keys and values of printable hex, so kcat's text framing (key:value per line) is unambiguous.
  const lines: string[] = [];
  for (let i = 0; i < messages; i++) lines.push(`k${i}:${randomBytes(500).toString('hex')}`);
  const input = lines.join('\n') + '\n';
  // Idempotent: the broker refuses produce (retriable) while un-uploaded bytes reach upload.max.bytes,
  // and a plain producer with many requests in flight would retry those out of order.
  await runChecked(kcat, ['-b', broker.bootstrap, '-t', topic, '-P', '-K:', '-X', 'acks=all', '-X', 'enable.idempotence=true', '-X', 'linger.ms=5'], { input, timeoutMs: 120_000 });
  await broker.stop();
  await broker.start();
  const out = await runChecked(kcat, ['-b', broker.bootstrap, '-t', topic, '-C', '-e', '-o', 'beginning', '-f', '%k:%s\n', '-X', 'fetch.message.max.bytes=1048576'], { timeoutMs: 120_000 });
  const got = out.stdout.toString('utf8').split('\n').filter(Boolean);
  assert.equal(got.length, lines.length, 'every message came back');
  assert.ok(got.every((l, i) => l === lines[i]), 'byte-exact and in order');
  return { bytes: input.length };
}
