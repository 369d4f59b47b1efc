// A real client sending a request Ferry has a codec for but does not serve gets an error code,
// not a closed connection: kafka-python's Fetch v3 (message format v0/v1, which Ferry refuses as
// Kafka 4.0 does, KIP-896) answers UNSUPPORTED_VERSION on every partition it named, and the same
// connection then serves Metadata. kafka-python's own consumer never sends it (it picks Fetch v4
// against any broker that answers ApiVersions with 0.11+ APIs): the check of its auto-detected
// version is here too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { runJson } from '../helpers/run-process.js';

const SCRIPT = fileURLToPath(new URL('./py/kp_unsupported.py', import.meta.url));

test('kafka-python: Fetch v3 answers UNSUPPORTED_VERSION per partition and the connection stays open', { timeout: 60_000 }, async (t) => {
  const python = requirePythonModules('kafka');
  const broker = new BrokerProcess();
  await broker.start();
  t.after(() => broker.dispose());
  const r = await runJson(python, [SCRIPT, broker.bootstrap], { timeoutMs: 30_000 });
  assert.equal(r.fetchV3Failed, undefined, `an answer, not a transport failure (${r.fetchV3Failed})`);
  assert.deepEqual(r.fetchV3, [['kp-unsupported', [[0, 35], [1, 35]]]]);
  assert.equal(r.metadataAfter, 1, 'the same connection answers Metadata');
  t.diagnostic(`kafka-python detects broker version ${r.brokerVersion}`);
  // The broker version kafka-python infers: 0.11 or later, so its consumer uses Fetch v4+.
  const [major, minor] = String(r.brokerVersion).split('.').map(Number);
  assert.ok(major! > 0 || minor! >= 11, `kafka-python detects ${r.brokerVersion}`);
});
