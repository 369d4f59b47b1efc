// confluent-kafka-python (librdkafka 2.0.x, Debian) against a real Ferry broker process.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { LineProcess, runJson } from '../helpers/run-process.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { RecordingProxy } from '../helpers/recording-proxy.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { Reader } from '../../src/protocol/primitives.js';
import { decodeRequestHeader } from '../../src/protocol/headers.js';
import { API_TABLE, ApiKey, type ProduceRequest } from '../../src/protocol/messages/index.js';

const SCRIPT = fileURLToPath(new URL('./py/ck_client.py', import.meta.url));
const CODECS = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

/** Equal bytes, ignoring baseOffset (0..7) and partitionLeaderEpoch (12..15), which the broker sets. */
function sameExceptOffsetAndEpoch(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.subarray(8, 12).equals(b.subarray(8, 12)) && a.subarray(16).equals(b.subarray(16));
}

describe('confluent-kafka-python against a Ferry broker', { timeout: 180_000 }, () => {
  let broker: BrokerProcess;
  let python: string;
  // Clients go through a recording proxy (the broker advertises it), so a test can compare what the
  // client sent with what the broker stored.
  let proxy: RecordingProxy;
  const produced: ProduceRequest[] = [];
  let produceMinVersion = 0;

  before(async () => {
    python = requirePythonModules('confluent_kafka');
    const port = await freePort();
    proxy = new RecordingProxy({ host: '127.0.0.1', port }, (r) => {
      if (r.apiKey !== ApiKey.Produce) return;
      const reader = new Reader(r.frame);
      decodeRequestHeader(reader);
      produced.push(API_TABLE.get(ApiKey.Produce)!.decodeRequest(reader, r.apiVersion));
    });
    const proxyPort = await proxy.listen();
    broker = new BrokerProcess({ port, config: { 'advertised.listeners': `PLAINTEXT://127.0.0.1:${proxyPort}` } });
    await broker.start();
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const versions = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'ferry-test', clientSoftwareVersion: '1' });
      produceMinVersion = versions.apiKeys.find((a: any) => a.apiKey === ApiKey.Produce).minVersion;
    } finally { conn.close(); }
  });
  after(async () => { await proxy?.close(); await broker?.dispose(); });

  const run = (command: string, args: Record<string, string | number>, timeoutMs = 60_000) =>
    runJson(python, [SCRIPT, command, '--bootstrap', `127.0.0.1:${proxy.port}`, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)])], { timeoutMs });

  for (const [codec, id] of Object.entries(CODECS)) {
    test(`idempotent producer with ${codec} batches, consumed back byte-exact`, { timeout: 60_000 }, async () => {
      const topic = `ck-idem-${codec}`;
      const count = 2000;
      const r = await run('idempotent', { topic, count, compression: codec });
      assert.deepEqual(r.deliveryErrors, []);
      assert.equal(r.notFlushed, 0);
      assert.equal(r.acked, count);
      assert.equal(r.consumed, count, 'every message consumed once');
      assert.equal(r.distinct, count);
      assert.deepEqual(r.mismatches, []);
      // The broker stored the producer's batches as they were sent: still compressed with the
      // codec, with the producer id and sequences of an idempotent producer, offsets contiguous.
      const conn = await RawKafkaConnection.connect(broker.bootstrap);
      try {
        const stored = await fetchAllBatches(conn, topic, 0);
        assert.equal(stored.highWatermark, BigInt(count));
        assert.ok(stored.batches.length > 1, 'more than one batch');
        // What the client sent, by sequence number (an idempotent producer's batches are unique by it).
        const sent = new Map<number, Buffer>();
        for (const req of produced) {
          for (const t of req.topicData) {
            if (t.name !== topic) continue;
            for (const p of t.partitionData) {
              const recs = p.records ?? Buffer.alloc(0);
              for (let pos = 0; pos + 61 <= recs.length; pos += recs.readInt32BE(pos + 8) + 12) {
                const b = recs.subarray(pos, pos + recs.readInt32BE(pos + 8) + 12);
                sent.set(b.readInt32BE(53), b);
              }
            }
          }
        }
        // librdkafka 2.0.x only compresses gzip/snappy/lz4 if the broker lists Produce v0 (it checks
        // Produce v0..0 for those codecs); zstd needs Produce v7, which any broker here has.
        const clientCompresses = codec === 'zstd' || produceMinVersion === 0;
        let next = 0n;
        let seq = 0;
        for (const b of stored.batches) {
          const original = sent.get(b.baseSequence);
          assert.ok(original, `the client sent a batch with sequence ${b.baseSequence}`);
          assert.ok(sameExceptOffsetAndEpoch(b.bytes, original), `batch at ${b.baseOffset} stored exactly as sent (only baseOffset and partitionLeaderEpoch rewritten)`);
          assert.equal(b.compression, clientCompresses ? id : original.readInt16BE(21) & 7, `batch at ${b.baseOffset} compression`);
          assert.ok(b.producerId >= 0n, 'idempotent batches carry a producer id');
          assert.equal(b.baseOffset, next, 'contiguous offsets');
          assert.equal(b.baseSequence, seq, 'sequence numbers follow offsets');
          next = b.lastOffset + 1n;
          seq += b.recordsCount;
        }
        assert.equal(new Set(stored.batches.map((b) => b.producerId)).size, 1, 'one producer id');
      } finally { conn.close(); }
    });
  }

  for (const assignor of ['range', 'cooperative-sticky']) test(`a consumer group of three (${assignor}) rebalances when one member leaves; nothing is lost`, { timeout: 120_000 }, async () => {
    const r = await run('group', { topic: `ck-group-${assignor}`, group: `ck-group-${assignor}-g`, count: 300, assignor }, 110_000);
    assert.ok(r.threeWay, `each of 3 members gets one partition: ${JSON.stringify(r.firstAssign)}`);
    assert.ok(r.firstRound, 'first round consumed');
    assert.ok(r.twoWay, `the remaining 2 members take all 3 partitions: ${JSON.stringify(r.secondAssign)}`);
    assert.ok(r.secondRound, 'second round consumed');
    if (assignor === 'cooperative-sticky') {
      for (const m of ['m0', 'm1']) {
        for (const p of r.firstAssign[m]) assert.ok(r.secondAssign[m].includes(p), `${m} keeps partition ${p} (sticky): ${JSON.stringify(r)}`);
      }
    }
    assert.equal(r.produced, 600);
    assert.deepEqual(r.missing, [], 'no produced message missing');
    assert.equal(r.distinct, 600);
    assert.ok(r.rebalances.m0 >= 2 || r.rebalances.m1 >= 2, `a rebalance happened: ${JSON.stringify(r.rebalances)}`);
  });

  test('a member that dies without leaving is expired after session.timeout.ms; the survivor takes its partitions', { timeout: 60_000 }, async () => {
    const admin = await runJson(python, [SCRIPT, 'static', '--bootstrap', `127.0.0.1:${proxy.port}`, '--topic', 'ck-expire-setup', '--group', 'ck-expire-setup-g'], { timeoutMs: 40_000 });
    assert.ok(admin.stable);
    const args = (group: string) => [SCRIPT, 'member', '--bootstrap', `127.0.0.1:${proxy.port}`, '--topic', 'ck-expire-setup', '--group', group];
    const a = new LineProcess(python, args('ck-expire-g'));
    const b = new LineProcess(python, args('ck-expire-g'));
    try {
      const one = (l: string) => JSON.parse(l).assignment.length === 1;
      await a.waitForLine(one, 30_000);
      await b.waitForLine(one, 30_000);
      // Both have one partition now (b's line came after a's last change, or a would have moved again).
      await waitFor(() => JSON.parse(a.lines[a.lines.length - 1]!).assignment.length === 1 && JSON.parse(b.lines[b.lines.length - 1]!).assignment.length === 1, 20_000, 'one partition each');
      const killedAt = Date.now() / 1000;
      const from = a.lines.length;
      b.kill('SIGKILL');
      const line = await a.waitForLine((l) => JSON.parse(l).assignment.length === 2, 25_000, from);
      const took = JSON.parse(line).t - killedAt;
      assert.ok(took >= 3, `expired after ${took.toFixed(1)} s: not before the session timeout (6 s, minus heartbeat slack)`);
      assert.ok(took < 20, `expired after ${took.toFixed(1)} s`);
    } finally {
      a.kill();
      b.kill();
    }
  });

  for (const assignor of ['range', 'cooperative-sticky']) test(`membership churn (${assignor}): members join and leave while a producer runs; nothing lost, commits reach the end`, { timeout: 90_000 }, async () => {
    const r = await run('churn', { topic: `ck-churn-${assignor}`, group: `ck-churn-${assignor}-g`, assignor, seconds: 10, count: 7 }, 85_000);
    assert.ok(r.changes >= 5, `membership changed ${r.changes} times`);
    assert.ok(r.produced > 1000, `produced ${r.produced}`);
    assert.equal(r.missingCount, 0, `missing (partition, offset): ${JSON.stringify(r.missing)}`);
    assert.deepEqual(r.errors, []);
    const allowed = ['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS', '_ASSIGNMENT_LOST', '_STATE'];
    assert.deepEqual(r.commitErrors.filter((e: string) => !allowed.includes(e)), [], `commit errors: ${r.commitErrors}`);
    assert.deepEqual(r.committed, r.ends, 'committed offsets equal the end offsets');
  });

  test('static membership: a restarted member with the same group.instance.id gets its partition back, the other sees no rebalance', { timeout: 60_000 }, async () => {
    const r = await run('static', { topic: 'ck-static', group: 'ck-static-g' });
    assert.ok(r.stable, `two members with one partition each: ${JSON.stringify(r)}`);
    assert.ok(r.rejoined, `the restarted static member has a partition again: ${JSON.stringify(r)}`);
    assert.deepEqual(r.s1After, r.first.s1, 'the same partition as before');
    assert.deepEqual(r.s0After, r.first.s0);
    assert.deepEqual(r.s0Events, r.s0Before, `the other member saw no revoke or assign: ${JSON.stringify(r)}`);
  });

  test('AdminClient: create, describe configs, alter, delete topics; list and describe groups', { timeout: 90_000 }, async () => {
    const r = await run('admin', { topic: 'ck-admin', group: 'ck-admin-g' }, 80_000);
    assert.equal(r.created, true);
    assert.equal(r.duplicateCreate, 36, 'TOPIC_ALREADY_EXISTS');
    const d1 = r.describe1;
    assert.equal(d1['retention.ms'].value, '3600000');
    assert.equal(d1['retention.ms'].isDefault, false);
    for (const key of ['max.message.bytes', 'cleanup.policy', 'retention.bytes', 'segment.bytes', 'message.timestamp.type']) {
      assert.ok(d1[key], `${key} is described`);
    }
    assert.equal(d1['cleanup.policy'].value, 'delete');
    assert.equal(d1['retention.bytes'].value, '-1');
    assert.equal(d1['message.timestamp.type'].value, 'CreateTime');
    assert.equal(d1['cleanup.policy'].isDefault, true, 'a default is marked as such');
    assert.equal(r.describe2['retention.ms'].value, '7200000');
    assert.equal(r.describe2['max.message.bytes'].value, '2097152');
    assert.equal(r.badAlter, 40, 'INVALID_CONFIG');
    assert.equal(r.afterBadAlter.value, '7200000');
    assert.equal(r.memberAssigned, true);
    assert.ok(r.listGroups.includes('ck-admin-g'), `groups: ${r.listGroups}`);
    assert.equal(r.describeGroup.error, 0);
    assert.equal(r.describeGroup.state, 'Stable');
    assert.equal(r.describeGroup.protocolType, 'consumer');
    assert.ok(['range', 'roundrobin'].includes(r.describeGroup.protocol), r.describeGroup.protocol);
    assert.equal(r.describeGroup.members.length, 1);
    assert.equal(r.describeGroup.members[0].clientId, 'ck-admin-member');
    assert.equal(r.describeGroup.members[0].hasAssignment, true);
    assert.equal(r.deleted, true);
    assert.equal(r.deleteMissing, 3, 'UNKNOWN_TOPIC_OR_PARTITION');
  });

  test('offsets_for_times', { timeout: 60_000 }, async () => {
    const r = await run('times', { topic: 'ck-times' });
    assert.deepEqual(r.watermarks, [0, 10]);
    assert.equal(r.before, 0);
    assert.equal(r.exact3, 3);
    assert.equal(r.between3and4, 4);
    assert.equal(r.last, 9);
    assert.equal(r.after, -1);
  });
});
