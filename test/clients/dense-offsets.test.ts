// Offsets stay dense while the WAL pushes back: three idempotent librdkafka producers at full
// speed over 20 partitions into a 4 MiB WAL that fills between uploads (appends time out and are
// retried by the clients). Every partition's high watermark equals the messages delivered to it:
// no offset was reserved by a refused append.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { runJson } from '../helpers/run-process.js';

const SCRIPT = fileURLToPath(new URL('./py/ck_client.py', import.meta.url));

test('full-speed idempotent producers into a WAL that fills: high watermark = messages delivered, per partition', { timeout: 180_000 }, async () => {
  const python = requirePythonModules('confluent_kafka');
  const broker = new BrokerProcess({
    config: {
      'wal.capacity.bytes': '4194304', 'wal.append.timeout.ms': '200', 'upload.interval.ms': '500',
      'upload.max.bytes': '67108864', 'compaction.interval.ms': '3600000', 'log.level': 'info',
    },
  });
  try {
    await broker.start();
    const r = await runJson(python, [SCRIPT, 'dense', '--bootstrap', broker.bootstrap, '--topic', 'dense', '--partitions', '20', '--count', '30000'], { timeoutMs: 170_000 });
    assert.equal(r.errorCount, 0, `delivery errors: ${r.errors.join(', ')}`);
    assert.equal(r.delivered.reduce((a: number, b: number) => a + b, 0), 30000);
    assert.deepEqual(r.highWatermarks, r.delivered, 'each partition holds exactly what was delivered: no holes, no duplicates');
    assert.match(broker.logs, /WAL full/, 'the WAL did push back during the run');
  } finally {
    await broker.dispose();
  }
});
