// Transactions across a SIGKILL with the data in the object store: a committed, an aborted and an
// open transaction; after the restart the LSO, the aborted list (from the producer snapshot that
// went with the upload) and DescribeProducers are what they were, a read_committed consumer
// (confluent-kafka-python) sees only the committed records, and a new producer of the same
// transactional id aborts the open transaction so the LSO moves on.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { LineProcess, runChecked } from '../helpers/run-process.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const SCRIPT = fileURLToPath(new URL('./py/txn_steps.py', import.meta.url));
const TOPIC = 'txn-restart';

const brokers: BrokerProcess[] = [];
after(async () => { for (const b of brokers) await b.dispose(); });

async function partitionState(bootstrap: string) {
  const conn = await RawKafkaConnection.connect(bootstrap);
  try {
    const fetch = async (isolationLevel: number) => {
      const r = await conn.request(ApiKey.Fetch, 11, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel, sessionId: 0, sessionEpoch: -1, rackId: '',
        topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
      });
      return r.responses[0].partitions[0];
    };
    const committed = await fetch(1);
    const uncommitted = await fetch(0);
    const listLatest = async (isolationLevel: number) => (await conn.request(ApiKey.ListOffsets, 7, {
      replicaId: -1, isolationLevel, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    })).topics[0].partitions[0].offset as bigint;
    const producers = (await conn.request(ApiKey.DescribeProducers, 0, { topics: [{ name: TOPIC, partitionIndexes: [0] }] })).topics[0].partitions[0];
    return {
      hw: committed.highWatermark as bigint, lso: committed.lastStableOffset as bigint,
      aborted: (committed.abortedTransactions as { producerId: bigint; firstOffset: bigint }[]).map((a) => [a.producerId, a.firstOffset]),
      committedBytes: (committed.records as Buffer[] | Buffer | null) ? Buffer.concat([].concat(committed.records ?? [])).length : 0,
      uncommittedBytes: (uncommitted.records as Buffer[] | Buffer | null) ? Buffer.concat([].concat(uncommitted.records ?? [])).length : 0,
      latestCommitted: await listLatest(1), latestUncommitted: await listLatest(0),
      openTxnStart: (producers.activeProducers as { currentTxnStartOffset: bigint }[]).map((p) => p.currentTxnStartOffset),
      describeError: producers.errorCode as number,
    };
  } finally {
    conn.close();
  }
}

test('a committed, an aborted and an open transaction survive SIGKILL and upload; the next producer of the id aborts the open one', { timeout: 120_000 }, async () => {
  const python = requirePythonModules('confluent_kafka');
  const broker = new BrokerProcess({ config: { 'upload.interval.ms': '200', 'num.partitions': '1' } });
  brokers.push(broker);
  await broker.start();
  const open = new LineProcess(python, [SCRIPT, broker.bootstrap, TOPIC, 'leave-open']);
  try {
    await open.waitForLine((l) => l === 'open', 60_000);
    const before = await partitionState(broker.bootstrap);
    // 10 committed + marker, 10 aborted + marker, 5 open: offsets 0..9, 10, 11..20, 21, 22..26.
    assert.equal(before.hw, 27n);
    assert.equal(before.lso, 22n, 'the open transaction holds the LSO');
    assert.equal(before.latestCommitted, 22n);
    assert.equal(before.latestUncommitted, 27n);
    assert.equal(before.aborted.length, 1);
    assert.equal(before.aborted[0][1], 11n, 'the aborted transaction starts after the first commit marker');
    assert.deepEqual(before.openTxnStart, [22n]);
    // Let an upload carry it all (and its producer snapshot) to the object store, then kill.
    await new Promise((r) => setTimeout(r, 1_500));
    open.child.kill('SIGKILL');
    await broker.kill();
    const logFrom = broker.logs.length;
    await broker.start();
    const recovered = /"msg":"WAL recovered"/.test(broker.logs.slice(logFrom)) ? /"batches":(\d+)[^\n]*"msg":"WAL recovered"/.exec(broker.logs.slice(logFrom)) : null;
    assert.equal(recovered?.[1], '0', 'everything was in the object store: the state came from the producer snapshot, not a WAL replay');
    const after = await partitionState(broker.bootstrap);
    assert.deepEqual({ ...after, committedBytes: 0, uncommittedBytes: 0 }, { ...before, committedBytes: 0, uncommittedBytes: 0 }, 'the same state after the restart');
    assert.ok(after.committedBytes > 0 && after.uncommittedBytes > after.committedBytes, 'read_committed reads less than read_uncommitted');
    const committed = JSON.parse((await runChecked(python, [SCRIPT, broker.bootstrap, TOPIC, 'read', 'read_committed', '10'], { timeoutMs: 40_000 })).stdout.toString().trim().split('\n').pop()!);
    assert.deepEqual(committed, Array.from({ length: 10 }, (_, i) => `c1-${i}`), 'read_committed: only the committed transaction, the open one not yet');

    // A new producer of the same id fences the old one and aborts its open transaction.
    await runChecked(python, [SCRIPT, broker.bootstrap, TOPIC, 'fence'], { timeoutMs: 60_000 });
    const fenced = await partitionState(broker.bootstrap);
    assert.equal(fenced.lso, fenced.hw, 'nothing open any more');
    assert.equal(fenced.aborted.length, 2, 'the open transaction was aborted');
    assert.equal(fenced.aborted[1][1], 22n);
    const all = JSON.parse((await runChecked(python, [SCRIPT, broker.bootstrap, TOPIC, 'read', 'read_committed', '13'], { timeoutMs: 40_000 })).stdout.toString().trim().split('\n').pop()!);
    assert.deepEqual(all, [...Array.from({ length: 10 }, (_, i) => `c1-${i}`), ...Array.from({ length: 3 }, (_, i) => `c2-${i}`)]);
    const raw = JSON.parse((await runChecked(python, [SCRIPT, broker.bootstrap, TOPIC, 'read', 'read_uncommitted', '28'], { timeoutMs: 40_000 })).stdout.toString().trim().split('\n').pop()!);
    assert.equal(raw.length, 28, 'read_uncommitted sees the aborted records too (10 + 10 + 5 + 3)');
    assert.equal(fenced.describeError, ErrorCode.NONE);
  } finally {
    open.child.kill('SIGKILL');
  }
});
