/**
 * The Produce handler (src/broker/produce.ts) called directly, with a BrokerContext built by hand:
 * a real TopicService over a local metadata store in a temp dir, a real LogManager over an
 * in-memory WAL whose acknowledgements the test releases, and a leadership the test sets. No
 * broker process, no socket, no timers. Only the parts of the context Produce may use are real;
 * touching any other throws.
 */
import { ALLOW_ALL } from '../../src/security/types.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { WalFatalError, WalFullError } from '@ferry/wal';
import { makeProduceHandler } from '../../src/broker/produce.js';
import type { BrokerContext, BrokerEndpoint, Leadership } from '../../src/broker/context.js';
import type { RequestContext } from '../../src/server/handler-registry.js';
import { LogManager, type WalAppender } from '../../src/log/log-manager.js';
import { TopicService } from '../../src/topics/topic-service.js';
import { LocalMetadataStore } from '../../src/cluster/local-metadata-store.js';
import { wrapStore } from '../../src/node/cluster-metadata.js';
import { loadConfig } from '../../src/ops/config.js';
import { BrokerMetrics } from '../../src/ops/metrics.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { BatchView, buildControlBatch, buildRecordBatch } from '../../src/protocol/record-batch.js';
import type { ProduceRequest, ProduceResponse } from '../../src/protocol/messages/produce.js';
import type { DeepPartial } from '../../src/protocol/primitives.js';

const silent = pino({ level: 'silent' });

/** A WAL stand-in: admits at once (offsets are assigned), acknowledges when the test says so. */
class HeldWal implements WalAppender {
  readonly limits = { recordBytesMax: 1 << 20 };
  /** When false, appends wait for release(). */
  autoAck = true;
  /** The next append fails with this, before admission (no offsets) unless `admitted`. */
  failNext: { err: Error; admitted: boolean } | null = null;
  appended = 0;
  private next = 0n;
  private held: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  append(body: Buffer, _type?: number, onAdmit?: () => void): Promise<bigint> {
    const fail = this.failNext;
    this.failNext = null;
    if (fail && !fail.admitted) return Promise.reject(fail.err);
    onAdmit?.();
    this.appended++;
    const offset = this.next;
    this.next += BigInt(body.length);
    if (fail) return Promise.reject(fail.err);
    if (this.autoAck) return Promise.resolve(offset);
    return new Promise((resolve, reject) => this.held.push({ resolve: () => resolve(offset), reject }));
  }

  release(): void { for (const h of this.held.splice(0)) h.resolve(); }
  failHeld(err: Error): void { for (const h of this.held.splice(0)) h.reject(err); }
  get waiting(): number { return this.held.length; }
}

/** Leads every partition at its log's epoch unless told otherwise. */
class TestLeadership implements Leadership {
  readonly clustered = false;
  notLeader = new Set<string>();
  /** Epoch reported to Produce instead of the log's (a leadership change in between). */
  epochOverride: number | null = null;
  acknowledge = true;
  constructor(private readonly logs: LogManager, private readonly self: BrokerEndpoint) {}
  acceptsWrites(topicId: string, partition: number): number | null {
    if (this.notLeader.has(`${topicId}:${partition}`)) return null;
    return this.epochOverride ?? this.logs.get(topicId, partition)?.log.leaderEpoch ?? null;
  }
  mayAcknowledge(): boolean { return this.acknowledge; }
  leaderOf(): { nodeId: number; epoch: number } | null { return { nodeId: this.self.nodeId, epoch: 0 }; }
  brokers(): BrokerEndpoint[] { return [this.self]; }
  broker(): BrokerEndpoint | null { return this.self; }
  controllerId(): number { return this.self.nodeId; }
  coordinatorFor(): BrokerEndpoint | null { return this.self; }
}

/** A context field Produce must not use: any access throws. */
function unused<T>(name: string): T {
  return new Proxy({}, { get(_t, prop) { throw new Error(`produce touched context.${name}.${String(prop)}`); } }) as T;
}

async function setup(t: { after(fn: () => Promise<void>): void }, opts: { autoCreate?: boolean; verify?: BrokerContext['transactions']['verify'] } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-produce-'));
  const store = await LocalMetadataStore.open(dir);
  t.after(async () => { await store.close(); await rm(dir, { recursive: true, force: true }); });
  const meta = await wrapStore(store, { clusterName: 'test', nodeId: 1 }, silent);
  const config = loadConfig({ argv: [], env: {}, cwd: '/' });
  const topics = await TopicService.load(meta, { numPartitions: 1, config }, silent);
  const wal = new HeldWal();
  const logs = new LogManager(wal);
  await topics.attachLogs(logs);
  const self: BrokerEndpoint = { nodeId: 1, host: '127.0.0.1', port: 9092, rack: null };
  const leadership = new TestLeadership(logs, self);
  const fatal: Error[] = [];
  let clock = 1_700_000_000_000;
  const context: BrokerContext = {
    self, clusterId: meta.clusterId, topics, logs, leadership, metrics: new BrokerMetrics({ processMetrics: false }), log: silent,
    limits: { messageMaxBytes: 1 << 20, fetchMaxBytes: 50 << 20, autoCreateTopics: opts.autoCreate ?? false, defaultPartitions: 1, fetchSessionSlots: 0 },
    now: () => clock,
    fatal: (err) => { fatal.push(err); },
    brokerConfig: unused('brokerConfig'), reads: unused('reads'), groups: unused('groups'),
    producerIds: unused('producerIds'), registry: unused('registry'), authorizer: ALLOW_ALL, zones: unused('zones'),
    transactions: opts.verify ? new Proxy({ verify: opts.verify }, { get: (o, prop) => { if (prop === 'verify') return o.verify; throw new Error(`produce touched context.transactions.${String(prop)}`); } }) as unknown as BrokerContext['transactions'] : unused('transactions'),
  };
  const handler = makeProduceHandler(context);
  const request: RequestContext = {
    header: { apiKey: 0, apiVersion: 9, correlationId: 1, clientId: 'produce-test' },
    connectionId: 1, remoteAddress: '127.0.0.1', log: silent, signal: new AbortController().signal,
  };
  const produce = (req: Partial<ProduceRequest> & Pick<ProduceRequest, 'topicData'>) =>
    handler(request, { transactionalId: null, acks: -1, timeoutMs: 5000, ...req }) as Promise<DeepPartial<ProduceResponse> | null>;
  return { topics, logs, wal, leadership, fatal, produce, setClock: (ms: number) => { clock = ms; } };
}

function batch(values: string[], opts: { producerId?: bigint; epoch?: number; seq?: number; transactional?: boolean } = {}): Buffer {
  return buildRecordBatch(values.map((v, i) => ({ value: Buffer.from(v), timestamp: BigInt(1_000 + i) })), {
    producerId: opts.producerId ?? -1n, producerEpoch: opts.epoch ?? -1, baseSequence: opts.seq ?? -1, isTransactional: opts.transactional,
  });
}

const one = (topic: string, records: Buffer | null, index = 0) => ({ topicData: [{ name: topic, partitionData: [{ index, records }] }] });
const only = (r: DeepPartial<ProduceResponse> | null) => {
  assert.ok(r, 'a response');
  return r.responses![0]!.partitionResponses![0]!;
};

test('appends get dense offsets, answered once durable, with the log start', async (t) => {
  const { topics, logs, wal, produce } = await setup(t);
  const topic = await topics.create('orders', 1, [], false);
  const a = only(await produce(one('orders', batch(['a', 'b', 'c']))));
  assert.deepEqual({ errorCode: a.errorCode, baseOffset: a.baseOffset, logStartOffset: a.logStartOffset, logAppendTimeMs: a.logAppendTimeMs },
    { errorCode: ErrorCode.NONE, baseOffset: 0n, logStartOffset: 0n, logAppendTimeMs: -1n });
  assert.equal(only(await produce(one('orders', batch(['d'])))).baseOffset, 3n);
  // Not answered before the WAL acknowledges.
  wal.autoAck = false;
  let answered = false;
  const pending = produce(one('orders', batch(['e']))).then((r) => { answered = true; return r; });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(wal.waiting, 1);
  assert.equal(answered, false, 'no answer before the fsync');
  assert.equal(logs.get(topic.topicId, 0)!.log.highWatermark, 4, 'and not readable yet');
  wal.release();
  assert.equal(only(await pending).baseOffset, 4n);
  assert.equal(logs.get(topic.topicId, 0)!.log.highWatermark, 5);
});

test('an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION; with auto-creation the topic appears for the retry', async (t) => {
  const plain = await setup(t);
  assert.equal(only(await plain.produce(one('nope', batch(['x'])))).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(plain.topics.byName('nope'), undefined, 'not created when auto-creation is off');
  await plain.topics.create('one-partition', 1, [], false);
  assert.equal(only(await plain.produce(one('one-partition', batch(['x']), 1))).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(only(await plain.produce(one('one-partition', batch(['x']), -1))).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(plain.wal.appended, 0);

  const auto = await setup(t, { autoCreate: true });
  assert.equal(only(await auto.produce(one('fresh', batch(['x'])))).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'the first produce still fails');
  const created = await auto.topics.autoCreate('fresh'); // joins the creation the produce started
  assert.ok(created && auto.topics.byName('fresh'));
  assert.equal(auto.wal.appended, 0, 'nothing of the first produce was written');
  assert.equal(only(await auto.produce(one('fresh', batch(['x'])))).errorCode, ErrorCode.NONE);
});

test('not the leader, or the leader at another epoch, is NOT_LEADER_OR_FOLLOWER and writes nothing', async (t) => {
  const { topics, wal, leadership, produce } = await setup(t);
  const topic = await topics.create('led', 2, [], false);
  leadership.notLeader.add(`${topic.topicId}:1`);
  const r = await produce({ topicData: [{ name: 'led', partitionData: [{ index: 0, records: batch(['a']) }, { index: 1, records: batch(['b']) }] }] });
  const [p0, p1] = r!.responses![0]!.partitionResponses!;
  assert.equal(p0!.errorCode, ErrorCode.NONE);
  assert.equal(p1!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.equal(wal.appended, 1);
  leadership.epochOverride = 7;
  assert.equal(only(await produce(one('led', batch(['c'])))).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'the log is at epoch 0, leadership says 7');
  assert.equal(wal.appended, 1);
});

test('leadership lost during the append: durable but not acknowledged (NOT_LEADER_OR_FOLLOWER, the client retries)', async (t) => {
  const { topics, logs, leadership, produce } = await setup(t);
  const topic = await topics.create('moving', 1, [], false);
  leadership.acknowledge = false;
  assert.equal(only(await produce(one('moving', batch(['a'])))).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.equal(logs.get(topic.topicId, 0)!.log.highWatermark, 1, 'the batch is in the log');
});

test('a CRC error is CORRUPT_MESSAGE for that partition only; the others of the request are written', async (t) => {
  const { topics, logs, produce } = await setup(t);
  const topic = await topics.create('crc', 2, [], false);
  const bad = batch(['good', 'bytes']);
  bad[bad.length - 1] ^= 0xff; // a record byte: the CRC-32C over attributes..end no longer matches
  const r = await produce({ topicData: [{ name: 'crc', partitionData: [{ index: 0, records: bad }, { index: 1, records: batch(['fine']) }] }] });
  const [p0, p1] = r!.responses![0]!.partitionResponses!;
  assert.equal(p0!.errorCode, ErrorCode.CORRUPT_MESSAGE);
  assert.match(p0!.errorMessage ?? '', /CRC/);
  assert.equal(p0!.baseOffset, -1n);
  assert.equal(p1!.errorCode, ErrorCode.NONE);
  assert.equal(p1!.baseOffset, 0n);
  assert.equal(logs.get(topic.topicId, 0)!.log.highWatermark, 0, 'nothing of the rejected partition is written');
  assert.equal(logs.get(topic.topicId, 1)!.log.highWatermark, 1);
});

test('a bad batch among good ones rejects the whole partition; no records at all is INVALID_RECORD', async (t) => {
  const { topics, logs, produce } = await setup(t);
  const topic = await topics.create('mixed', 1, [], false);
  const bad = batch(['b']);
  bad[bad.length - 1] ^= 0x01;
  assert.equal(only(await produce(one('mixed', Buffer.concat([batch(['a']), bad])))).errorCode, ErrorCode.CORRUPT_MESSAGE);
  assert.equal(logs.get(topic.topicId, 0)!.log.highWatermark, 0);
  assert.equal(only(await produce(one('mixed', null))).errorCode, ErrorCode.INVALID_RECORD);
  assert.equal(only(await produce(one('mixed', Buffer.alloc(0)))).errorCode, ErrorCode.INVALID_RECORD);
});

test('a batch above the topic\'s max.message.bytes is MESSAGE_TOO_LARGE', async (t) => {
  const { topics, logs, produce } = await setup(t);
  const topic = await topics.create('small', 1, [{ name: 'max.message.bytes', value: '200' }], false);
  const big = batch(['x'.repeat(300)]);
  const r = only(await produce(one('small', big)));
  assert.equal(r.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  assert.match(r.errorMessage ?? '', /exceeds the limit of 200/);
  assert.equal(only(await produce(one('small', batch(['ok'])))).errorCode, ErrorCode.NONE, 'a batch within the limit goes through');
  assert.equal(logs.get(topic.topicId, 0)!.log.highWatermark, 1);
});

test('idempotent producer: a duplicate is answered with the original offset and written once', async (t) => {
  const { topics, logs, wal, produce } = await setup(t);
  const topic = await topics.create('idem', 1, [], false);
  const st = () => logs.get(topic.topicId, 0)!;
  const first = only(await produce(one('idem', batch(['a', 'b'], { producerId: 42n, epoch: 0, seq: 0 }))));
  assert.equal(first.baseOffset, 0n);
  await produce(one('idem', batch(['plain'])));
  const dup = only(await produce(one('idem', batch(['a', 'b'], { producerId: 42n, epoch: 0, seq: 0 }))));
  assert.equal(dup.errorCode, ErrorCode.NONE);
  assert.equal(dup.baseOffset, 0n, 'the original offset, not a new one');
  assert.equal(st().log.highWatermark, 3, 'the duplicate was not appended');
  assert.equal(wal.appended, 2);
  assert.equal(only(await produce(one('idem', batch(['c'], { producerId: 42n, epoch: 0, seq: 2 })))).baseOffset, 3n);
  assert.equal(only(await produce(one('idem', batch(['z'], { producerId: 42n, epoch: 0, seq: 7 })))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  // Two batches of one producer in one partition's data are refused (one per partition).
  const two = Buffer.concat([batch(['d'], { producerId: 42n, epoch: 0, seq: 3 }), batch(['e'], { producerId: 42n, epoch: 0, seq: 4 })]);
  assert.equal(only(await produce(one('idem', two))).errorCode, ErrorCode.INVALID_RECORD);
});

test('a duplicate of a batch still in flight waits for it: its offset once durable, an error if it failed', async (t) => {
  const { topics, wal, produce } = await setup(t);
  await topics.create('inflight', 1, [], false);
  wal.autoAck = false;
  const original = produce(one('inflight', batch(['a'], { producerId: 9n, epoch: 0, seq: 0 })));
  const retry = produce(one('inflight', batch(['a'], { producerId: 9n, epoch: 0, seq: 0 })));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(wal.waiting, 1, 'the retry is not written again');
  wal.release();
  assert.equal(only(await original).baseOffset, 0n);
  const r = only(await retry);
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(r.baseOffset, 0n);

  const lost = produce(one('inflight', batch(['b'], { producerId: 9n, epoch: 0, seq: 1 })));
  const lostRetry = produce(one('inflight', batch(['b'], { producerId: 9n, epoch: 0, seq: 1 })));
  await new Promise((resolve) => setImmediate(resolve));
  wal.failHeld(new WalFullError('/wal', 'ring', 'full'));
  assert.equal(only(await lost).errorCode, ErrorCode.REQUEST_TIMED_OUT);
  assert.equal(only(await lostRetry).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'the original was never written');
});

test('acks=0 answers nothing (null) and still writes', async (t) => {
  const { topics, logs, produce } = await setup(t);
  const topic = await topics.create('fire', 1, [], false);
  assert.equal(await produce({ acks: 0, ...one('fire', batch(['a', 'b'])) }), null);
  const st = logs.get(topic.topicId, 0)!;
  await logs.settled(st);
  assert.equal(st.log.highWatermark, 2);
  assert.equal(await produce({ acks: 0, ...one('unknown', batch(['a'])) }), null, 'errors are not answered either');
});

test('transactional batches: need an id and the coordinator\'s word (KIP-890); control batches are the broker\'s', async (t) => {
  const verified: string[] = [];
  let inTxn = false;
  const { topics, logs, wal, produce } = await setup(t, {
    verify: async (p) => { verified.push(`${p.transactionalId}/${p.producerId}/${p.producerEpoch}/${p.tp.topic}-${p.tp.partition}`); return inTxn ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE; },
  });
  const topic = await topics.create('tx', 1, [], false);
  const txBatch = (seq: number, values: string[]) => batch(values, { producerId: 1n, epoch: 0, seq, transactional: true });
  assert.equal(only(await produce(one('tx', txBatch(0, ['a'])))).errorCode, ErrorCode.INVALID_RECORD, 'no transactional id');
  const control = buildControlBatch(1, 0, { producerId: 1n, producerEpoch: 0, timestamp: 1n });
  assert.equal(only(await produce({ transactionalId: 'my-tx', ...one('tx', control) })).errorCode, ErrorCode.INVALID_RECORD, 'a client may not write markers');
  const refused = only(await produce({ transactionalId: 'my-tx', ...one('tx', txBatch(0, ['a'])) }));
  assert.equal(refused.errorCode, ErrorCode.INVALID_TXN_STATE, 'a partition not in the ongoing transaction');
  assert.equal(wal.appended, 0);
  inTxn = true;
  // Two produces in flight while the first is verified: one question, offsets in sequence order.
  const [r1, r2] = await Promise.all([
    produce({ transactionalId: 'my-tx', ...one('tx', txBatch(0, ['a', 'b'])) }),
    produce({ transactionalId: 'my-tx', ...one('tx', txBatch(2, ['c'])) }),
  ]);
  assert.deepEqual([only(r1).errorCode, only(r1).baseOffset, only(r2).errorCode, only(r2).baseOffset], [ErrorCode.NONE, 0n, ErrorCode.NONE, 2n]);
  assert.deepEqual(verified, ['my-tx/1/0/tx-0', 'my-tx/1/0/tx-0']);
  const st = logs.get(topic.topicId, 0)!;
  assert.equal(st.producers.txns.openFirstOffset(1n), 0);
  assert.equal(st.producers.txns.lastStableOffset(st.log.highWatermark), 0, 'the open transaction holds the LSO');
  // Once open here, later batches of the transaction need no question.
  assert.equal(only(await produce({ transactionalId: 'my-tx', ...one('tx', txBatch(3, ['d'])) })).baseOffset, 3n);
  assert.equal(verified.length, 2);
  // The commit marker closes it: the LSO moves to the high watermark.
  const marker = logs.appendMarker(st, { producerId: 1n, producerEpoch: 0, commit: true, coordinatorEpoch: 0 });
  assert.ok(marker);
  await marker.done;
  assert.equal(st.log.highWatermark, 5);
  assert.equal(st.producers.txns.lastStableOffset(st.log.highWatermark), 5);
  assert.deepEqual(st.producers.txns.abortedIn(0, 10), []);
});

test('WAL failures: retriable ones are REQUEST_TIMED_OUT, others KAFKA_STORAGE_ERROR, fatal ones also end the process', async (t) => {
  const { topics, logs, wal, fatal, produce } = await setup(t);
  const topic = await topics.create('disk', 1, [], false);
  wal.failNext = { err: new WalFullError('/wal', 'ring', 'ring full'), admitted: false };
  assert.equal(only(await produce(one('disk', batch(['a'])))).errorCode, ErrorCode.REQUEST_TIMED_OUT);
  assert.equal(only(await produce(one('disk', batch(['b'])))).baseOffset, 0n, 'a refusal before admission consumed no offset');
  wal.failNext = { err: new Error('EIO'), admitted: true };
  assert.equal(only(await produce(one('disk', batch(['c'])))).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
  assert.deepEqual(fatal, []);
  const fsyncFailed = new WalFatalError('/wal', 'fdatasync failed');
  wal.failNext = { err: fsyncFailed, admitted: true };
  assert.equal(only(await produce(one('disk', batch(['d'])))).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
  assert.deepEqual(fatal, [fsyncFailed]);
  // Memory bound: batches not yet uploaded reach the bound: refused before the WAL, retriable.
  logs.pendingMaxBytes = 0;
  const before = wal.appended;
  const full = only(await produce(one('disk', batch(['e']))));
  assert.equal(full.errorCode, ErrorCode.REQUEST_TIMED_OUT);
  assert.match(full.errorMessage ?? '', /not yet uploaded/);
  assert.equal(wal.appended, before);
});

test('LogAppendTime topics answer the broker time and store it in the batch', async (t) => {
  const { topics, logs, produce, setClock } = await setup(t);
  const topic = await topics.create('stamped', 1, [{ name: 'message.timestamp.type', value: 'LogAppendTime' }], false);
  setClock(1_234_567);
  const r = only(await produce(one('stamped', batch(['a']))));
  assert.equal(r.logAppendTimeMs, 1_234_567n);
  const stored = new BatchView(logs.get(topic.topicId, 0)!.log.read(0, 1 << 20, true).batches[0]!);
  assert.equal(stored.maxTimestamp, 1_234_567n);
});
