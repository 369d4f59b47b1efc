// A real client sending a request Ferry has a codec for but does not serve gets an error code,
// not a closed connection: kafka-python's Fetch v3 (message format v0/v1, which Ferry refuses as
// Kafka 4.0 does, KIP-896) answers UNSUPPORTED_VERSION on every partition it named, and the same
// connection then serves Metadata. kafka-python's own consumer never sends it (it picks Fetch v4
// against any broker that answers ApiVersions with 0.11+ APIs): the check of its auto-detected
// version is here too. DescribeQuorum and UpdateFeatures, which Ferry leaves unserved (no KRaft
// quorum to describe, no finalized features to update), answer UNSUPPORTED_VERSION with a message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { runJson } from '../helpers/run-process.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

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

test('DescribeQuorum and UpdateFeatures (no KRaft quorum, no finalized features) answer UNSUPPORTED_VERSION with a message', { timeout: 60_000 }, async (t) => {
  const broker = new BrokerProcess();
  await broker.start();
  t.after(() => broker.dispose());
  const conn = await RawKafkaConnection.connect(broker.bootstrap);
  t.after(() => conn.close());
  const versions = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
  const advertised = new Set(versions.apiKeys.map((a: { apiKey: number }) => a.apiKey));
  assert.equal(advertised.has(ApiKey.DescribeQuorum), false, 'not advertised');
  assert.equal(advertised.has(ApiKey.UpdateFeatures), false, 'not advertised');
  for (const v of [0, 1, 2]) {
    const q = await conn.request(ApiKey.DescribeQuorum, v, { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] });
    assert.equal(q.errorCode, ErrorCode.UNSUPPORTED_VERSION, `DescribeQuorum v${v}`);
    if (v >= 2) assert.equal(q.errorMessage, `Ferry does not serve DescribeQuorum v${v}`);
  }
  const f = await conn.request(ApiKey.UpdateFeatures, 1, { timeoutMs: 1000, featureUpdates: [{ feature: 'metadata.version', maxVersionLevel: 20, upgradeType: 1 }], validateOnly: true });
  assert.equal(f.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  assert.equal(f.errorMessage, 'Ferry does not serve UpdateFeatures v1');
  assert.equal((await conn.request(ApiKey.Metadata, 9, { topics: [], allowAutoTopicCreation: false })).brokers.length, 1, 'the connection stays open');
});
