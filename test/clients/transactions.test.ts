// Transactions with a real client (confluent-kafka-python, Debian's librdkafka 2.0.x) against a real
// broker process: a consume-transform-produce loop that stays exactly-once while the broker is
// SIGKILLed and restarted; zombie fencing; the coordinator aborting a transaction that outlives its
// timeout; and bad transactional requests, after which the broker still serves normally.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from '../helpers/broker-process.js';
import { requirePythonModules } from '../helpers/require-tool.js';
import { LineProcess, runJson } from '../helpers/run-process.js';
import { waitFor, sleep } from '../helpers/wait.js';
import { RawKafkaConnection, fetchAllBatches } from '../helpers/raw-kafka.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch, controlTypeOf } from '../../src/protocol/record-batch.js';

const SCRIPT = fileURLToPath(new URL('./py/ck_txn.py', import.meta.url));

/** p, or null after ms (the timer does not hold the process open). */
function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

type Args = Record<string, string | number>;
const argv = (command: string, bootstrap: string, args: Args) =>
  [SCRIPT, command, '--bootstrap', bootstrap, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)])];

interface ReadResult {
  count: number; distinct: number; duplicates: number; duplicateSample: string[]; allEof: boolean;
  eofAt: Record<string, number>; highWatermarks: number[];
  missing?: number; missingSample?: string[]; extra?: number; extraSample?: string[]; values?: string[];
}

/** A small seeded PRNG (mulberry32), so a failing kill schedule can be told apart and replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Control batches of a topic's partitions, read raw: [aborts, commits, data records]. */
async function markerCounts(bootstrap: string, topic: string, partitions: number): Promise<{ aborts: number; commits: number; dataRecords: number }> {
  const conn = await RawKafkaConnection.connect(bootstrap);
  try {
    let aborts = 0, commits = 0, dataRecords = 0;
    for (let p = 0; p < partitions; p++) {
      for (const b of (await fetchAllBatches(conn, topic, p)).batches) {
        const type = controlTypeOf(b.bytes);
        if (type === 0) aborts++;
        else if (type === 1) commits++;
        else dataRecords += b.recordsCount;
      }
    }
    return { aborts, commits, dataRecords };
  } finally { conn.close(); }
}

describe('transactions with confluent-kafka-python', { timeout: 160_000 }, () => {
  const dirs: string[] = [];
  const brokers: BrokerProcess[] = [];
  const procs: LineProcess[] = [];
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    for (const b of brokers) await b.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('consume-transform-produce is exactly-once across 5 broker SIGKILLs and restarts', { timeout: 110_000 }, async (t) => {
    const python = requirePythonModules('confluent_kafka');
    const work = mkdtempSync(join(tmpdir(), 'ferry-txn-ctp-'));
    dirs.push(work);
    const broker = new BrokerProcess({ dataDir: join(work, 'data') });
    brokers.push(broker);
    await broker.start();
    const COUNT = 100_000;
    const KILLS = 5;
    const input = await runJson(python, argv('produce-input', broker.bootstrap, { topic: 'ctp-in', 'out-topic': 'ctp-out', partitions: 4, count: COUNT }), { timeoutMs: 60_000 });
    assert.equal(input.acked, COUNT, `input produced: ${JSON.stringify(input)}`);

    const seed = Number(process.env.CTP_KILL_SEED ?? Date.now() % 1_000_000);
    const random = rng(seed);
    t.diagnostic(`kill schedule seed ${seed} (CTP_KILL_SEED=${seed} replays it)`);
    const ctp = new LineProcess(python, argv('ctp', broker.bootstrap, {
      topic: 'ctp-in', 'out-topic': 'ctp-out', partitions: 4, group: 'ctp-group', 'txn-id': 'ctp-app', batch: 1000, seconds: 90,
    }));
    procs.push(ctp);
    const progress = () => {
      for (let i = ctp.lines.length - 1; i >= 0; i--) {
        const m = /^progress (\d+) /.exec(ctp.lines[i]!);
        if (m) return Number(m[1]);
      }
      return 0;
    };
    const kills: { atRecords: number; downMs: number }[] = [];
    const t0 = Date.now();
    try {
      await ctp.waitForLine((l) => l === 'started', 30_000);
      for (let k = 1; k <= KILLS; k++) {
        // Spread the kills over the run; each one after the loop has committed again since the last restart.
        const threshold = Math.max(k * 15_000 + Math.floor(random() * 3000), (kills.at(-1)?.atRecords ?? 0) + 1000);
        await waitFor(() => progress() >= threshold || !ctp.running, 40_000, () => `CTP progress ${progress()} reaches ${threshold} before kill ${k}; stderr: ${ctp.stderr.slice(-2000)}`, 20);
        assert.ok(ctp.running, `the CTP loop is still running before kill ${k}: ${ctp.lines.slice(-3).join(' | ')}\n${ctp.stderr.slice(-2000)}`);
        await sleep(Math.floor(random() * 100)); // a random moment within the transactions in flight
        const atRecords = progress();
        await broker.kill();
        const downMs = 50 + Math.floor(random() * 500);
        await sleep(downMs);
        await broker.start();
        kills.push({ atRecords, downMs });
      }
      const exit = await within(ctp.exited, 90_000);
      assert.ok(exit, `the CTP loop ended; last lines: ${ctp.lines.slice(-3).join(' | ')}`);
    } finally {
      ctp.kill('SIGKILL');
    }
    const seconds = (Date.now() - t0) / 1000;
    const stats = JSON.parse(ctp.lines.filter((l) => l.startsWith('{')).pop() ?? '{}');
    assert.equal(stats.finished, true, `the group's committed offsets reached the input's ends: ${JSON.stringify(stats)}\n${ctp.stderr.slice(-3000)}`);
    assert.equal(kills.length, KILLS);

    const committed = await runJson<ReadResult>(python, argv('read', broker.bootstrap, { topic: 'ctp-out', partitions: 4, group: 'ctp-verify-rc', isolation: 'read_committed', count: COUNT, prefix: 'out-', seconds: 60 }), { timeoutMs: 90_000 });
    const uncommitted = await runJson<ReadResult>(python, argv('read', broker.bootstrap, { topic: 'ctp-out', partitions: 4, group: 'ctp-verify-ru', isolation: 'read_uncommitted', count: COUNT, prefix: 'out-', seconds: 60 }), { timeoutMs: 90_000 });
    const markers = await markerCounts(broker.bootstrap, 'ctp-out', 4);
    t.diagnostic(`CTP: ${COUNT} records in ${stats.seconds} s (${Math.round(COUNT / stats.seconds)} records/s including ${KILLS} broker restarts; test wall ${seconds.toFixed(1)} s); ` +
      `kills at ${JSON.stringify(kills)}; client: commits ${stats.commits}, aborts ${stats.aborts}, producers ${stats.producersCreated}, consumers ${stats.consumersCreated}, ` +
      `rewinds ${stats.rewinds}, rebalances ${stats.rebalances}, fatal ${stats.fatal}, commit retries ${stats.commitRetries}, errors ${JSON.stringify(stats.errors)}`);
    t.diagnostic(`output topic: read_committed ${committed.count} records, read_uncommitted ${uncommitted.count} (${uncommitted.count - committed.count} aborted); ` +
      `markers: ${markers.commits} commit, ${markers.aborts} abort control batches; ${markers.dataRecords} data records stored`);

    assert.ok(committed.allEof, `read_committed reached every partition's end (LSO): ${JSON.stringify(committed.eofAt)} vs high watermarks ${committed.highWatermarks}`);
    assert.equal(committed.missing, 0, `nothing lost: ${committed.missing} missing, e.g. ${committed.missingSample}`);
    assert.equal(committed.duplicates, 0, `nothing twice: ${committed.duplicates} duplicates, e.g. ${committed.duplicateSample}`);
    assert.equal(committed.extra, 0, `nothing foreign: ${committed.extraSample}`);
    assert.equal(committed.count, COUNT);
    assert.equal(committed.distinct, COUNT);
    assert.ok(uncommitted.allEof, 'read_uncommitted reached every partition\'s end');
    assert.ok(uncommitted.count >= committed.count, `read_uncommitted sees at least as many (${uncommitted.count} >= ${committed.count})`);
    assert.equal(uncommitted.missing, 0);
    assert.equal(uncommitted.count, markers.dataRecords, 'read_uncommitted delivers every stored data record');
    // Records beyond the committed ones can only come from aborted transactions: each has its markers.
    if (uncommitted.count > committed.count) assert.ok(markers.aborts > 0, 'aborted records come with abort markers');
    assert.equal(stats.positionMismatches, 0, 'consumer.position() agreed with the records consumed');
  });

  describe('on one broker', () => {
    let broker: BrokerProcess;
    let python: string;
    before(async () => {
      broker = new BrokerProcess();
      brokers.push(broker);
      await broker.start();
    });
    const run = <T = any>(command: string, args: Args, timeoutMs = 60_000) => runJson<T>(python, argv(command, broker.bootstrap, args), { timeoutMs });

    test('zombie fencing: a second producer with the same transactional.id fences the first', { timeout: 60_000 }, async () => {
      python = requirePythonModules('confluent_kafka');
      const r = await run('fence', { topic: 'fence-t', 'txn-id': 'fence-x' });
      const FENCED = ['_FENCED', 'PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH'];
      assert.ok(FENCED.includes(r.p1Commit), `P1's commit fails fenced: ${JSON.stringify(r)}`);
      assert.equal(r.p1CommitFatal, true, 'the fencing error is fatal');
      assert.ok(r.p1LateDelivery.length > 0 && r.p1LateDelivery.every((e: string) => e !== 'ok'), `P1's produce after the fence is refused: ${r.p1LateDelivery}`);
      assert.equal(r.p2Commit, 'ok');
      const rc = await run<ReadResult>('read', { topic: 'fence-t', partitions: 1, group: 'fence-rc', isolation: 'read_committed', seconds: 20 });
      assert.deepEqual(rc.values, ['p2-0', 'p2-1', 'p2-2', 'p2-3', 'p2-4'], 'read_committed sees P2\'s records and none of P1\'s');
      const ru = await run<ReadResult>('read', { topic: 'fence-t', partitions: 1, group: 'fence-ru', isolation: 'read_uncommitted', seconds: 20 });
      assert.deepEqual(ru.values!.filter((v) => v.startsWith('zombie-')), Array.from({ length: 10 }, (_, i) => `zombie-${i}`), 'P1\'s records were written (and aborted)');
      const m = await markerCounts(broker.bootstrap, 'fence-t', 1);
      assert.deepEqual([m.aborts, m.commits], [1, 1], 'one abort marker (P1, aborted by the fence) and one commit marker (P2)');
    });

    test('a transaction past transaction.timeout.ms is aborted by the coordinator; the LSO moves on', { timeout: 60_000 }, async () => {
      python = requirePythonModules('confluent_kafka');
      const topic = 'timeout-t';
      const abandoner = new LineProcess(python, argv('abandon', broker.bootstrap, { topic, 'txn-id': 'abandoner', count: 5, prefix: 'abandoned-' }));
      procs.push(abandoner);
      const conn = await RawKafkaConnection.connect(broker.bootstrap);
      try {
        await abandoner.waitForLine((l) => l === 'produced 0', 30_000);
        const producedAt = Date.now();
        const offsets = async (isolationLevel: number): Promise<bigint> => {
          const res = await conn.request(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }], timeoutMs: 0 });
          const p = res.topics[0].partitions[0];
          assert.equal(p.errorCode, 0);
          return p.offset;
        };
        const describeTxn = async (id: string) => (await conn.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [id] })).transactionStates[0];
        const lsoOpen = await offsets(1);
        assert.equal(await offsets(0), 5n);
        const open = await describeTxn('abandoner');
        assert.equal(open.transactionState, 'Ongoing');
        assert.equal(lsoOpen, 0n, 'the open transaction holds the LSO at its first offset');
        assert.equal(open.transactionTimeoutMs, 3000);
        assert.deepEqual(open.topics, [{ topic, partitions: [0] }]);
        const ongoing = await conn.request(ApiKey.ListTransactions, 1, { stateFilters: ['Ongoing'], producerIdFilters: [], durationFilter: -1n });
        assert.ok(ongoing.transactionStates.some((s: any) => s.transactionalId === 'abandoner'), 'ListTransactions(Ongoing) shows it');

        // Another producer commits after it: invisible to read_committed until the abort.
        await run('txn-produce', { topic, 'txn-id': 'after-producer', count: 5, prefix: 'after-' });
        // (The LSO read before the state: if it is still Ongoing after, it was when the LSO was read.
        // On a loaded machine the 3 s may be over by now.)
        const lsoAfterCommit = await offsets(1);
        if ((await describeTxn('abandoner')).transactionState === 'Ongoing') assert.equal(lsoAfterCommit, 0n, 'the later commit is still held back by the open transaction');

        let state: any;
        await waitFor(async () => (state = await describeTxn('abandoner')).transactionState === 'CompleteAbort', 15_000, () => `the coordinator aborts the timed-out transaction (state ${state?.transactionState})`, 100);
        const abortedAfterMs = Date.now() - producedAt;
        await waitFor(async () => (await offsets(1)) === (await offsets(0)), 5_000, 'the LSO reaches the high watermark');
        assert.ok(abortedAfterMs >= 2000 && abortedAfterMs <= 9000, `aborted ~3 s after it started (${abortedAfterMs} ms after its records were acknowledged)`);
        assert.equal(state.producerEpoch, open.producerEpoch + 1, 'the abort bumped the epoch (fencing the idle producer)');
        const aborted = await conn.request(ApiKey.ListTransactions, 1, { stateFilters: ['CompleteAbort'], producerIdFilters: [], durationFilter: -1n });
        assert.ok(aborted.transactionStates.some((s: any) => s.transactionalId === 'abandoner' && s.transactionState === 'CompleteAbort'), `ListTransactions(CompleteAbort): ${JSON.stringify(aborted.transactionStates, (_, v) => typeof v === 'bigint' ? String(v) : v)}`);

        const rc = await run<ReadResult>('read', { topic, partitions: 1, group: 'timeout-rc', isolation: 'read_committed', seconds: 20 });
        assert.deepEqual(rc.values, ['after-0', 'after-1', 'after-2', 'after-3', 'after-4'], 'read_committed gets the later commit and never the abandoned records');
        const m = await markerCounts(broker.bootstrap, topic, 1);
        assert.deepEqual([m.aborts, m.commits, m.dataRecords], [1, 1, 10]);
      } finally {
        conn.close();
        abandoner.kill('SIGKILL');
      }
    });

    test('bad transactional requests get Kafka\'s error codes and leave the broker serving', { timeout: 60_000 }, async () => {
      python = requirePythonModules('confluent_kafka');
      const topic = 'raw-txn-t';
      const conn = await RawKafkaConnection.connect(broker.bootstrap);
      const produced: string[] = [];
      try {
        const created = await conn.request(ApiKey.CreateTopics, 5, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
        assert.equal(created.topics[0].errorCode, 0);
        const produce = async (records: Buffer, transactionalId: string | null = null) => {
          const r = await conn.request(ApiKey.Produce, 9, { transactionalId, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
          return r.responses[0].partitionResponses[0].errorCode as number;
        };
        let n = 0;
        /** A plain produce works and everything produced so far reads back, in order. */
        const stillServes = async (after: string) => {
          const value = `plain-${n++}`;
          assert.equal(await produce(buildRecordBatch([{ value: Buffer.from(value) }])), 0, `plain produce after ${after}`);
          produced.push(value);
          const rc = await run<ReadResult>('read', { topic, partitions: 1, group: `raw-rc-${n}`, isolation: 'read_committed', seconds: 20 });
          assert.deepEqual(rc.values, produced, `data intact after ${after}`);
        };
        const init = async (id: string, timeoutMs = 60_000, version = 4) =>
          conn.request(ApiKey.InitProducerId, version, { transactionalId: id, transactionTimeoutMs: timeoutMs, producerId: -1n, producerEpoch: -1 });
        const endTxn = async (version: number, id: string, producerId: bigint, producerEpoch: number, committed = true) =>
          (await conn.request(ApiKey.EndTxn, version, { transactionalId: id, producerId, producerEpoch, committed })).errorCode as number;
        const addPartitions = async (version: number, id: string, producerId: bigint, producerEpoch: number, topics: { name: string; partitions: number[] }[]) =>
          (await conn.request(ApiKey.AddPartitionsToTxn, version, { transactions: [], v3AndBelowTransactionalId: id, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: producerEpoch, v3AndBelowTopics: topics }))
            .resultsByTopicV3AndBelow.flatMap((t: any) => t.resultsByPartition.map((p: any) => [`${t.name}-${p.partitionIndex}`, p.partitionErrorCode]));

        await stillServes('nothing');

        // EndTxn for an id that was never initialized: Kafka's INVALID_PRODUCER_ID_MAPPING.
        assert.equal(await endTxn(3, 'never-began', 12345n, 0), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
        assert.equal(await endTxn(3, 'never-began', 12345n, 0, false), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
        // An initialized id with no transaction begun: INVALID_TXN_STATE.
        const ok = await init('raw-ok');
        assert.equal(ok.errorCode, 0);
        assert.equal(await endTxn(3, 'raw-ok', ok.producerId, ok.producerEpoch), ErrorCode.INVALID_TXN_STATE);
        await stillServes('EndTxn without a transaction');

        // AddPartitionsToTxn with an unknown topic: UNKNOWN_TOPIC_OR_PARTITION, the known partition not attempted.
        assert.deepEqual(await addPartitions(3, 'raw-ok', ok.producerId, ok.producerEpoch, [{ name: 'no-such-topic', partitions: [0] }, { name: topic, partitions: [0, 7] }]),
          [['no-such-topic-0', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [`${topic}-0`, ErrorCode.OPERATION_NOT_ATTEMPTED], [`${topic}-7`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
        // ...and nothing was added: the id is still without a transaction.
        assert.equal(await endTxn(3, 'raw-ok', ok.producerId, ok.producerEpoch), ErrorCode.INVALID_TXN_STATE);
        await stillServes('AddPartitionsToTxn for an unknown topic');

        // A wrong epoch: PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before.
        assert.deepEqual(await addPartitions(3, 'raw-ok', ok.producerId, ok.producerEpoch + 1, [{ name: topic, partitions: [0] }]), [[`${topic}-0`, ErrorCode.PRODUCER_FENCED]]);
        assert.deepEqual(await addPartitions(1, 'raw-ok', ok.producerId, ok.producerEpoch + 1, [{ name: topic, partitions: [0] }]), [[`${topic}-0`, ErrorCode.INVALID_PRODUCER_EPOCH]]);
        assert.equal(await endTxn(3, 'raw-ok', ok.producerId, ok.producerEpoch + 1), ErrorCode.PRODUCER_FENCED);
        assert.equal(await endTxn(1, 'raw-ok', ok.producerId, ok.producerEpoch + 1), ErrorCode.INVALID_PRODUCER_EPOCH);
        // A transactional produce for a partition not added to a transaction (KIP-890 verification).
        const stray = buildRecordBatch([{ value: Buffer.from('stray') }], { producerId: ok.producerId, producerEpoch: ok.producerEpoch, baseSequence: 0, isTransactional: true });
        assert.equal(await produce(stray, 'raw-ok'), ErrorCode.INVALID_TXN_STATE, 'Produce v9: TRANSACTION_ABORTABLE answered as INVALID_TXN_STATE');
        await stillServes('wrong epochs and an unverified transactional produce');

        // InitProducerId with a timeout above transaction.max.timeout.ms (900000).
        for (const version of [0, 4]) {
          const r = await init('raw-too-long', 900_001, version);
          assert.equal(r.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT, `InitProducerId v${version}`);
          assert.equal(r.producerId, -1n);
        }
        const described = (await conn.request(ApiKey.DescribeTransactions, 0, { transactionalIds: ['raw-too-long', 'never-began'] })).transactionStates;
        assert.deepEqual(described.map((d: any) => d.errorCode), [ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND], 'the refused ids were not created');
        await stillServes('InitProducerId with too long a timeout');

        // After all that, a proper transaction on the same id commits and is read back.
        assert.deepEqual(await addPartitions(3, 'raw-ok', ok.producerId, ok.producerEpoch, [{ name: topic, partitions: [0] }]), [[`${topic}-0`, 0]]);
        const batch = buildRecordBatch([{ value: Buffer.from('txn-0') }, { value: Buffer.from('txn-1') }], { producerId: ok.producerId, producerEpoch: ok.producerEpoch, baseSequence: 0, isTransactional: true });
        assert.equal(await produce(batch, 'raw-ok'), 0);
        assert.equal(await endTxn(3, 'raw-ok', ok.producerId, ok.producerEpoch, true), 0);
        produced.push('txn-0', 'txn-1');
        await stillServes('a committed transaction');
      } finally {
        conn.close();
      }
    });
  });
});
