// `ferry transactions list|describe|describe-producers|find-hanging|abort` against a real Ferry
// broker process, with real transactional producers from confluent-kafka-python (librdkafka): a
// transaction left open by a producer that is then SIGKILLed is listed and described, found by
// find-hanging once old enough, and ended by `abort --start-offset`: the partition's last stable
// offset reaches the high watermark and a read_committed consumer moves past it.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { LineProcess, runChecked } from '../helpers/run-process.js';
import { AdminClient, IsolationLevel, LATEST, type ProducerStateInfo, type TransactionDescription } from '../../src/admin/admin-client.js';
import { classifyOpenTransactions, openTransactionCandidates } from '../../src/cli/transactions-command.js';
import { ferry, ferryProcess } from './run-cli.js';

const SCRIPT = fileURLToPath(new URL('./py/txn_cli.py', import.meta.url));
const TOPIC = 'cli-txn';
const OPEN_ID = 'cli-open-txn';

async function readValues(python: string, bootstrap: string, mode: string, want: number): Promise<string[]> {
  const res = await runChecked(python, [SCRIPT, bootstrap, TOPIC, '-', 'read', mode, String(want)], { timeoutMs: 40_000 });
  return JSON.parse(res.stdout.toString().trim().split('\n').pop()!) as string[];
}

async function offsets(bootstrap: string): Promise<{ lso: bigint; hw: bigint }> {
  const admin = await AdminClient.connect({ bootstrap: [bootstrap] });
  try {
    const p = await admin.partitionInfo(TOPIC, 0);
    const lso = (await admin.listOffsets(TOPIC, [p], LATEST, IsolationLevel.ReadCommitted)).get(0)!;
    const hw = (await admin.listOffsets(TOPIC, [p], LATEST)).get(0)!;
    return { lso, hw };
  } finally {
    admin.close();
  }
}

describe('ferry transactions against a broker with real transactional producers', { timeout: 240_000 }, () => {
  const broker = new BrokerProcess({ config: { 'num.partitions': '1' } });
  const producers: LineProcess[] = [];
  let b: string;
  let python: string;
  before(async () => {
    python = requirePythonModules('confluent_kafka');
    await broker.start();
    b = broker.bootstrap;
  });
  after(async () => {
    for (const p of producers) p.kill();
    await broker.dispose();
  });

  test('list, describe, describe-producers, find-hanging and abort --start-offset on a killed producer\'s open transaction', async () => {
    let r = await ferry('topics', 'create', '--topic', TOPIC, '--partitions', '1', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    const open = new LineProcess(python, [SCRIPT, b, TOPIC, OPEN_ID, 'leave-open']);
    producers.push(open);
    await open.waitForLine((l) => l === 'open', 60_000);

    // list: the open transaction is Ongoing at broker 1, the only coordinator.
    r = await ferry('transactions', 'list', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^TRANSACTIONAL-ID\s+COORDINATOR\s+PRODUCER-ID\s+STATE$/m);
    assert.match(r.stdout, new RegExp(`^${OPEN_ID}\\s+1\\s+\\d+\\s+Ongoing$`, 'm'));
    r = await ferry('transactions', 'list', '-b', b, '--json', '--state', 'Ongoing');
    const listed = JSON.parse(r.stdout) as Array<{ transactionalId: string; producerId: number; state: string; coordinator: number }>;
    const mine = listed.find((t) => t.transactionalId === OPEN_ID);
    assert.ok(mine, r.stdout);
    assert.equal(mine.state, 'Ongoing');
    assert.equal(mine.coordinator, 1);
    r = await ferry('transactions', 'list', '-b', b, '--json', '--state', 'CompleteCommit');
    assert.ok(!JSON.parse(r.stdout).some((t: any) => t.transactionalId === OPEN_ID), 'the state filter');
    r = await ferry('transactions', 'list', '-b', b, '--json', '--producer-id', String(mine.producerId));
    assert.deepEqual(JSON.parse(r.stdout).map((t: any) => t.transactionalId), [OPEN_ID], 'the producer id filter');
    r = await ferry('transactions', 'list', '-b', b, '--json', '--duration-ms', '3600000');
    assert.ok(!JSON.parse(r.stdout).some((t: any) => t.transactionalId === OPEN_ID), 'the duration filter: not open for an hour');

    // describe: at the coordinator (FindCoordinator key type 1).
    r = await ferry('transactions', 'describe', '--transactional-id', OPEN_ID, '-b', b);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^COORDINATOR\s+TRANSACTIONAL-ID\s+PRODUCER-ID\s+PRODUCER-EPOCH\s+STATE\s+TIMEOUT-MS\s+START-TIME-MS\s+DURATION-MS\s+PARTITIONS$/m);
    assert.match(r.stdout, new RegExp(`^\\s*1\\s+${OPEN_ID}\\s+${mine.producerId}\\s+\\d+\\s+Ongoing\\s+300000\\s+\\d+\\s+\\d+\\s+${TOPIC}-0$`, 'm'));
    r = await ferry('transactions', 'describe', '--transactional-id', OPEN_ID, '-b', b, '--json');
    const d = JSON.parse(r.stdout);
    assert.equal(d.state, 'Ongoing');
    assert.equal(d.producerId, mine.producerId);
    assert.equal(d.timeoutMs, 300000);
    assert.ok(d.startTimeMs > 0 && d.durationMs >= 0, r.stdout);
    assert.deepEqual(d.partitions, [{ topic: TOPIC, partition: 0 }]);
    r = await ferry('transactions', 'describe', '--transactional-id', 'no-such-txn', '-b', b);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TRANSACTIONAL_ID_NOT_FOUND/);

    // describe-producers: c-0..c-2 at 0..2, the commit marker at 3, the open transaction from 4.
    r = await ferry('transactions', 'describe-producers', '--topic', TOPIC, '--partition', '0', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^PRODUCER-ID\s+PRODUCER-EPOCH\s+COORDINATOR-EPOCH\s+LAST-SEQUENCE\s+LAST-TIMESTAMP\s+CURRENT-TXN-START-OFFSET$/m);
    assert.match(r.stdout, new RegExp(`^\\s*${mine.producerId}\\s+${d.producerEpoch}\\s+-?\\d+\\s+7\\s+\\d+\\s+4$`, 'm'));
    r = await ferry('transactions', 'describe-producers', '--topic', TOPIC, '--partition', '0', '-b', b, '--json');
    const dp = JSON.parse(r.stdout);
    assert.equal(dp.leader, 1);
    const state = dp.producers.find((p: any) => p.producerId === mine.producerId);
    assert.equal(state.currentTxnStartOffset, 4);
    assert.equal(state.producerEpoch, d.producerEpoch);

    open.kill('SIGKILL');
    await open.exited;

    // find-hanging: under the default 15 minutes nothing is old enough. With 1 ms the killed
    // producer's transaction is a candidate, but its coordinator still has it Ongoing with this
    // partition (it aborts it at its 300 s timeout), so it is tracked, not hanging (Kafka's rule).
    r = await ferry('transactions', 'find-hanging', '--topic', TOPIC, '-b', b, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { topic: TOPIC, maxTransactionTimeoutMs: 900000, hanging: [], tracked: [] });
    await new Promise((res) => setTimeout(res, 20));
    r = await ferry('transactions', 'find-hanging', '--topic', TOPIC, '--partition', '0', '--max-transaction-timeout-ms', '1', '-b', b, '--json');
    assert.equal(r.code, 0, r.stderr);
    const fh = JSON.parse(r.stdout);
    assert.deepEqual(fh.hanging, []);
    assert.equal(fh.tracked.length, 1, r.stdout);
    assert.equal(fh.tracked[0].producerId, mine.producerId);
    assert.equal(fh.tracked[0].startOffset, 4);
    assert.equal(fh.tracked[0].transactionalId, OPEN_ID);
    r = await ferry('transactions', 'find-hanging', '--topic', TOPIC, '--max-transaction-timeout-ms', '1', '-b', b);
    assert.match(r.stdout, /No hanging transactions on cli-txn/);
    assert.match(r.stdout, /1 open transaction\(s\) older than 1 ms are still tracked by their coordinator/);
    assert.match(r.stdout, new RegExp(`^${TOPIC}\\s+0\\s+${mine.producerId}\\s.*\\s4\\s.*Ongoing with this partition`, 'm'));

    // Another producer commits after the open transaction: read_committed stops at the LSO (4).
    await runChecked(python, [SCRIPT, b, TOPIC, 'cli-after-txn', 'commit', '2'], { timeoutMs: 60_000 });
    // 0..2 committed, 3 marker, 4..8 open, 9..10 after-*, 11 marker.
    assert.deepEqual(await offsets(b), { lso: 4n, hw: 12n });
    assert.deepEqual(await readValues(python, b, 'read_committed', 3), ['c-0', 'c-1', 'c-2'], 'read_committed is held at the open transaction');

    // abort: a start offset with no open transaction is refused; the right one ends it.
    r = await ferry('transactions', 'abort', '--topic', TOPIC, '--partition', '0', '--start-offset', '5', '-b', b);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no open transaction starts at offset 5; open transactions start at: 4 \(producer \d+\)/);
    r = await ferry('transactions', 'abort', '--topic', TOPIC, '--partition', '0', '--start-offset', '4', '-b', b, '--json');
    assert.equal(r.code, 0, r.stderr);
    const ab = JSON.parse(r.stdout);
    assert.equal(ab.aborted, true);
    assert.equal(ab.producerId, mine.producerId);
    assert.equal(ab.producerEpoch, d.producerEpoch);
    assert.equal(ab.startOffset, 4);
    assert.equal(ab.leader, 1);
    assert.equal(ab.lastStableOffset, ab.highWatermark);
    assert.deepEqual(await offsets(b), { lso: 13n, hw: 13n }, 'the abort marker at 12; nothing open');
    assert.deepEqual(await readValues(python, b, 'read_committed', 5), ['c-0', 'c-1', 'c-2', 'after-0', 'after-1'], 'read_committed moves past the aborted transaction');
    r = await ferry('transactions', 'describe-producers', '--topic', TOPIC, '--partition', '0', '-b', b, '--json');
    assert.equal(JSON.parse(r.stdout).producers.find((p: any) => p.producerId === mine.producerId).currentTxnStartOffset, null);
    r = await ferry('transactions', 'abort', '--topic', TOPIC, '--partition', '0', '--start-offset', '4', '-b', b);
    assert.equal(r.code, 1, 'nothing left to abort');
    assert.match(r.stderr, /open transactions start at: none/);
  });

  test('abort with --producer-id --producer-epoch (the explicit form), through the real entry point', async () => {
    // The same transactional id again: InitProducerId bumps the epoch (the coordinator first ends
    // the killed producer's transaction, which the abort above already ended at the partition).
    const open = new LineProcess(python, [SCRIPT, b, TOPIC, OPEN_ID, 'leave-open']);
    producers.push(open);
    await open.waitForLine((l) => l === 'open', 60_000);
    open.kill('SIGKILL');
    await open.exited;
    let r = await ferry('transactions', 'describe-producers', '--topic', TOPIC, '--partition', '0', '-b', b, '--json');
    const st = JSON.parse(r.stdout).producers.find((p: any) => p.currentTxnStartOffset !== null);
    assert.ok(st, r.stdout);
    assert.ok(st.producerEpoch > 0, `a bumped epoch: ${r.stdout}`);
    const before = await offsets(b);
    assert.equal(before.lso, BigInt(st.currentTxnStartOffset));
    assert.ok(before.hw > before.lso);
    // A producer with nothing open is refused; an older epoch is taken by the leader without effect: both fail.
    r = await ferry('transactions', 'abort', '--topic', TOPIC, '--partition', '0', '--producer-id', '987654', '--producer-epoch', '0', '-b', b);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /producer 987654 has no open transaction on the partition/);
    r = await ferry('transactions', 'abort', '--topic', TOPIC, '--partition', '0', '--producer-id', String(st.producerId), '--producer-epoch', String(st.producerEpoch - 1), '-b', b);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /still has a transaction open/);
    assert.deepEqual(await offsets(b), before, 'nothing changed');
    const res = await ferryProcess(['transactions', 'abort', '--topic', TOPIC, '--partition', '0', '--producer-id', String(st.producerId),
      '--producer-epoch', String(st.producerEpoch), '--coordinator-epoch', '-1', '--bootstrap-server', b]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`Aborted the transaction of producer ${st.producerId} \\(epoch ${st.producerEpoch}\\) on ${TOPIC}-0: abort marker written at broker 1 \\(coordinator epoch 0\\)`));
    const afterAbort = await offsets(b);
    assert.equal(afterAbort.lso, afterAbort.hw);
    assert.match(res.stdout, new RegExp(`Last stable offset ${afterAbort.hw}, high watermark ${afterAbort.hw}\\.`));
  });

  test('usage errors exit 2 without connecting', async () => {
    let r = await ferry('transactions', 'abort', '--topic', TOPIC, '--partition', '0', '-b', b);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--start-offset O, or with --producer-id/);
    r = await ferry('transactions', 'abort', '--topic', TOPIC, '--partition', '0', '--start-offset', '1', '--producer-id', '3', '-b', b);
    assert.equal(r.code, 2);
    r = await ferry('transactions', 'abort', '--topic', TOPIC, '--partition', '0', '--producer-id', '3', '-b', b);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--producer-epoch is required/);
    r = await ferry('transactions', 'find-hanging', '-b', b);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--topic is required/);
    r = await ferry('transactions', 'describe', '-b', b);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--transactional-id is required/);
    r = await ferry('transactions', 'describe-producers', '--topic', TOPIC, '--partition', 'x', '-b', b);
    assert.equal(r.code, 2);
    r = await ferry('transactions', 'bogus', '-b', b);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown action 'bogus'/);
    r = await ferry('transactions', '--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /find-hanging --topic T/);
  });
});

test('find-hanging classification (Kafka\'s filterHangingTransactions)', () => {
  const now = 10_000_000;
  const ps = (producerId: bigint, lastTimestamp: number, start: bigint): ProducerStateInfo => ({
    producerId, producerEpoch: 0, lastSequence: 4, lastTimestamp: BigInt(lastTimestamp), coordinatorEpoch: -1, currentTxnStartOffset: start,
  });
  const candidates = openTransactionCandidates([
    { topic: 't', partition: 0, producers: [ps(1n, now - 2000, 10n), ps(2n, now - 2000, -1n), ps(3n, now - 500, 7n)] },
    { topic: 't', partition: 1, producers: [ps(4n, now - 2000, 0n), ps(5n, now - 2000, 3n), ps(6n, now - 2000, 9n)] },
  ], 1000, now);
  assert.deepEqual(candidates.map((c) => c.producer.producerId), [1n, 4n, 5n, 6n], 'open (start >= 0) and older than the max timeout only');
  const desc = (id: string, state: string, partitions: Array<{ topic: string; partition: number }>): TransactionDescription => ({
    transactionalId: id, coordinator: 1, state, producerId: 0n, producerEpoch: 0, timeoutMs: 60000, startTimeMs: 1n, partitions,
  });
  const { hanging, tracked } = classifyOpenTransactions(candidates,
    new Map([[4n, 'gone'], [5n, 'moved-on'], [6n, 'live']]),
    new Map([['gone', null], ['moved-on', desc('moved-on', 'Ongoing', [{ topic: 't', partition: 0 }])], ['live', desc('live', 'Ongoing', [{ topic: 't', partition: 1 }])]]));
  assert.deepEqual(hanging.map((h) => [h.producer.producerId, h.transactionalId]), [[1n, null], [4n, 'gone'], [5n, 'moved-on']]);
  assert.match(hanging[0]!.reason, /no coordinator has a transaction of this producer id/);
  assert.match(hanging[1]!.reason, /no longer knows transactional id gone/);
  assert.match(hanging[2]!.reason, /without this partition/);
  assert.deepEqual(tracked.map((h) => h.producer.producerId), [6n]);
});
