// TransactionCoordinator against the real local metadata store: InitProducerId (new, existing,
// fencing, KIP-360 retries, epoch overflow), AddPartitions/AddOffsets, EndTxn with marker retries,
// timeouts, restart/resume, two coordinators on one store, verification, describe/list, expiry.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ProducerIdAllocator } from '../../src/cluster/producer-id-allocator.js';
import { MetadataKeys } from '../../src/cluster/metadata-keys.js';
import { encodeJson, type MetadataStore } from '../../src/cluster/metadata-store.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { TransactionCoordinator, type TransactionCoordinatorOptions } from '../../src/txn/transaction-coordinator.js';
import type { TxnRecord } from '../../src/txn/transaction-metadata.js';
import type { MarkerRequest, MarkerResult, MarkerWriter, TxnTopicPartition } from '../../src/txn/types.js';
import { tempStore } from '../cluster/temp-store.js';

const CLUSTER = 'test';
const keys = new MetadataKeys(CLUSTER);
const silent = pino({ level: 'silent' });
const tp = (topic: string, partition: number): TxnTopicPartition => ({ topic, partition });

/** Records every call; fails the next `failTimes` calls for every partition and group; `hold` parks calls until released. */
class RecordingMarkers implements MarkerWriter {
  calls: MarkerRequest[] = [];
  failTimes = 0;
  /** Fail forever (until cleared). */
  failAlways = false;
  private held: (() => void)[] = [];
  hold = false;

  async write(req: MarkerRequest): Promise<MarkerResult> {
    this.calls.push(structuredClone(req));
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.failAlways || this.failTimes > 0) {
      if (this.failTimes > 0) this.failTimes--;
      return {
        failedPartitions: req.partitions.map((x) => ({ tp: x, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER })),
        failedGroups: req.groups.map((groupId) => ({ groupId, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE })),
      };
    }
    return { failedPartitions: [], failedGroups: [] };
  }

  release(): void {
    this.hold = false;
    for (const r of this.held.splice(0)) r();
  }
}

interface Broker {
  coordinator: TransactionCoordinator;
  markers: RecordingMarkers;
  owned: { value: boolean };
}

interface Fixture {
  store: MetadataStore;
  clock: { ms: number };
  broker(opts?: Partial<TransactionCoordinatorOptions>): Broker;
  reopen(): Promise<MetadataStore>;
}

async function fixture(t: { after(fn: () => Promise<void>): void }): Promise<Fixture> {
  const ctx = await tempStore(t);
  const clock = { ms: 1_000_000 };
  const coordinators: TransactionCoordinator[] = [];
  t.after(async () => { for (const c of coordinators) await c.close(); });
  return {
    get store() { return ctx.store; },
    clock,
    reopen: () => ctx.reopen(),
    broker(opts = {}) {
      const markers = new RecordingMarkers();
      const owned = { value: true };
      const coordinator = new TransactionCoordinator({
        store: ctx.store,
        clusterName: CLUSTER,
        producerIds: new ProducerIdAllocator(ctx.store, { clusterName: CLUSTER, blockSize: 10 }),
        markers,
        owns: () => owned.value,
        partitionExists: (topic, partition) => topic.startsWith('t') && partition >= 0 && partition < 4,
        now: () => clock.ms,
        log: silent,
        transactionMaxTimeoutMs: 900_000,
        transactionalIdExpirationMs: 604_800_000,
        scanIntervalMs: 3_600_000, // tests drive scanNow()
        markerWaitMs: 2_000,
        ...opts,
      });
      coordinators.push(coordinator);
      return { coordinator, markers, owned };
    },
  };
}

const init = (c: TransactionCoordinator, id: string, extra: Partial<{ producerId: bigint; producerEpoch: number; transactionTimeoutMs: number; apiVersion: number }> = {}) =>
  c.initProducerId({ transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1, apiVersion: 4, ...extra });

const add = (c: TransactionCoordinator, id: string, pid: bigint, epoch: number, partitions: TxnTopicPartition[], extra: Partial<{ verifyOnly: boolean; apiVersion: number }> = {}) =>
  c.addPartitions({ transactionalId: id, producerId: pid, producerEpoch: epoch, partitions, verifyOnly: false, apiVersion: 3, ...extra });

const end = (c: TransactionCoordinator, id: string, pid: bigint, epoch: number, committed: boolean, apiVersion = 3) =>
  c.endTxn({ transactionalId: id, producerId: pid, producerEpoch: epoch, committed, apiVersion });

async function stored(store: MetadataStore, id: string): Promise<TxnRecord | null> {
  const kv = await store.get(keys.transaction(id));
  return kv ? (JSON.parse(kv.value.toString()) as TxnRecord) : null;
}

async function state(c: TransactionCoordinator, id: string): Promise<string> {
  const [d] = await c.describe([id]);
  return d!.errorCode === ErrorCode.NONE ? d!.transactionState : `error ${d!.errorCode}`;
}

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Puts a raw record (to start from states that take 32k calls to reach). */
async function putRaw(store: MetadataStore, r: TxnRecord): Promise<void> {
  await store.put(keys.transaction(r.transactionalId), encodeJson({ v: 1, ...r }));
}

function rawRecord(id: string, over: Partial<TxnRecord>): TxnRecord {
  return {
    transactionalId: id, producerId: 5000, lastProducerId: -1, producerEpoch: 0, lastProducerEpoch: -1, timeoutMs: 60_000,
    state: 'Empty', partitions: [], groups: [], txnStartMs: -1, lastUpdateMs: 1_000_000, markerEpoch: -1, coordinatorEpoch: 0, ...over,
  };
}

describe('InitProducerId', () => {
  test('a new id gets a fresh producer id at epoch 0; an existing one the next epoch', async (t) => {
    const f = await fixture(t);
    const { coordinator: c } = f.broker();
    const a = await init(c, 'app');
    assert.equal(a.errorCode, ErrorCode.NONE);
    assert.equal(a.producerEpoch, 0);
    const b = await init(c, 'app');
    assert.deepEqual(b, { errorCode: ErrorCode.NONE, producerId: a.producerId, producerEpoch: 1 });
    const other = await init(c, 'other/with%odd chars');
    assert.notEqual(other.producerId, a.producerId);
    const r = await stored(f.store, 'app');
    assert.equal(r!.state, 'Empty');
    assert.equal(r!.producerEpoch, 1);
    assert.equal(r!.lastProducerEpoch, -1);
    assert.ok(await f.store.get(`/ferry/${CLUSTER}/txn/other%2Fwith%25odd%20chars`), 'the id is one encoded key segment');
  });

  test('request checks: empty id, timeout bounds, half-given producer, not the coordinator', async (t) => {
    const f = await fixture(t);
    const { coordinator: c, owned } = f.broker();
    assert.equal((await init(c, '')).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await init(c, 'x', { transactionTimeoutMs: 0 })).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    assert.equal((await init(c, 'x', { transactionTimeoutMs: 900_001 })).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    assert.equal((await init(c, 'x', { producerId: 7n })).errorCode, ErrorCode.INVALID_REQUEST);
    owned.value = false;
    const r = await init(c, 'x');
    assert.deepEqual(r, { errorCode: ErrorCode.NOT_COORDINATOR, producerId: -1n, producerEpoch: -1 });
    assert.equal(await stored(f.store, 'x'), null);
  });

  test('KIP-360: the current epoch bumps, a retry of it gets the same answer, anything else is fenced', async (t) => {
    const f = await fixture(t);
    const { coordinator: c } = f.broker();
    const { producerId } = await init(c, 'app'); // epoch 0
    const bumped = await init(c, 'app', { producerId, producerEpoch: 0 });
    assert.deepEqual(bumped, { errorCode: ErrorCode.NONE, producerId, producerEpoch: 1 });
    assert.equal((await stored(f.store, 'app'))!.lastProducerEpoch, 0);
    // The answer was lost; the client retries with the epoch it had.
    assert.deepEqual(await init(c, 'app', { producerId, producerEpoch: 0 }), bumped);
    assert.equal((await init(c, 'app', { producerId, producerEpoch: 7 })).errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal((await init(c, 'app', { producerId: producerId + 99n, producerEpoch: 1 })).errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal((await init(c, 'app', { producerId, producerEpoch: 7, apiVersion: 3 })).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'v3 clients get the old code');
    // A new instance (no producer given) bumps and clears the retry epoch.
    assert.equal((await init(c, 'app')).producerEpoch, 2);
    assert.equal((await init(c, 'app', { producerId, producerEpoch: 1 })).errorCode, ErrorCode.PRODUCER_FENCED);
  });

  test('epoch 32766 is exhausted: the next init rotates to a new producer id at epoch 0, and its retry is recognised', async (t) => {
    const f = await fixture(t);
    const { coordinator: c } = f.broker();
    await putRaw(f.store, rawRecord('old', { producerId: 5000, producerEpoch: 32765, state: 'CompleteCommit', txnStartMs: 999_000 }));
    const a = await init(c, 'old', { producerId: 5000n, producerEpoch: 32765 });
    assert.deepEqual(a, { errorCode: ErrorCode.NONE, producerId: 5000n, producerEpoch: 32766 });
    const b = await init(c, 'old', { producerId: 5000n, producerEpoch: 32766 });
    assert.equal(b.errorCode, ErrorCode.NONE);
    assert.notEqual(b.producerId, 5000n);
    assert.equal(b.producerEpoch, 0);
    const r = await stored(f.store, 'old');
    assert.equal(r!.lastProducerId, 5000);
    assert.equal(r!.lastProducerEpoch, 32766);
    // The rotation's answer was lost: the retry with the old producer gets the new one again.
    assert.deepEqual(await init(c, 'old', { producerId: 5000n, producerEpoch: 32766 }), b);
    // Without a producer: an exhausted epoch rotates too.
    await putRaw(f.store, rawRecord('old2', { producerId: 6000, producerEpoch: 32766 }));
    const d = await init(c, 'old2');
    assert.equal(d.producerEpoch, 0);
    assert.notEqual(d.producerId, 6000n);
  });

  test('an Ongoing transaction is aborted with the bumped epoch (fencing the zombie), then the epoch bumps again', async (t) => {
    const f = await fixture(t);
    const { coordinator: c, markers } = f.broker();
    const zombie = await init(c, 'app');
    assert.equal((await add(c, 'app', zombie.producerId, 0, [tp('t1', 0), tp('t2', 1)]))[0]!.errorCode, ErrorCode.NONE);
    const fresh = await init(c, 'app');
    assert.deepEqual(fresh, { errorCode: ErrorCode.NONE, producerId: zombie.producerId, producerEpoch: 2 });
    assert.equal(markers.calls.length, 1);
    const m = markers.calls[0]!;
    assert.equal(m.commit, false);
    assert.equal(m.producerEpoch, 1, 'the abort markers carry the fencing epoch');
    assert.deepEqual(m.partitions, [tp('t1', 0), tp('t2', 1)]);
    assert.equal(await state(c, 'app'), 'Empty');
    // The zombie is fenced at the coordinator too.
    assert.equal((await add(c, 'app', zombie.producerId, 0, [tp('t1', 0)]))[0]!.errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal((await end(c, 'app', zombie.producerId, 0, true)).errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal((await end(c, 'app', zombie.producerId, 0, true, 1)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  test('markers slower than markerWaitMs: CONCURRENT_TRANSACTIONS, and the retry succeeds once they are written', async (t) => {
    const f = await fixture(t);
    const { coordinator: c, markers } = f.broker({ markerWaitMs: 50 });
    const p = await init(c, 'app');
    await add(c, 'app', p.producerId, 0, [tp('t1', 0)]);
    markers.hold = true;
    assert.equal((await init(c, 'app')).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
    assert.equal(await state(c, 'app'), 'PrepareAbort');
    assert.equal((await init(c, 'app')).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS, 'still Prepare*');
    markers.release();
    await eventually(async () => (await state(c, 'app')) === 'CompleteAbort', 'the abort to complete');
    assert.deepEqual(await init(c, 'app'), { errorCode: ErrorCode.NONE, producerId: p.producerId, producerEpoch: 2 });
    assert.equal(markers.calls.length, 1, 'one delivery, not one per retry');
  });
});

describe('AddPartitionsToTxn / AddOffsetsToTxn', () => {
  test('unknown partitions fail the request and add nothing', async (t) => {
    const f = await fixture(t);
    const { coordinator: c } = f.broker();
    const p = await init(c, 'app');
    const r = await add(c, 'app', p.producerId, 0, [tp('t1', 0), tp('nope', 0), tp('t1', 9), tp('t1', 0)]);
    assert.deepEqual(r, [
      { tp: tp('t1', 0), errorCode: ErrorCode.OPERATION_NOT_ATTEMPTED },
      { tp: tp('nope', 0), errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
      { tp: tp('t1', 9), errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
    ]);
    assert.equal(await state(c, 'app'), 'Empty');
  });

  test('producer checks, the transaction start, durable partitions, idempotent re-adds', async (t) => {
    const f = await fixture(t);
    const { coordinator: c } = f.broker();
    assert.equal((await add(c, 'nobody', 1n, 0, [tp('t1', 0)]))[0]!.errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const p = await init(c, 'app');
    assert.equal((await add(c, 'app', p.producerId + 1n, 0, [tp('t1', 0)]))[0]!.errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    assert.equal((await add(c, 'app', p.producerId, 3, [tp('t1', 0)]))[0]!.errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal((await add(c, 'app', p.producerId, 3, [tp('t1', 0)], { apiVersion: 1 }))[0]!.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal((await add(c, 'app', p.producerId, 0, [tp('t1', 0)], { apiVersion: 0 }))[0]!.errorCode, ErrorCode.NONE);
    const started = f.clock.ms;
    f.clock.ms += 500;
    assert.equal((await add(c, 'app', p.producerId, 0, [tp('t2', 3), tp('t1', 0)]))[1]!.errorCode, ErrorCode.NONE);
    assert.equal(await c.addOffsets({ transactionalId: 'app', producerId: p.producerId, producerEpoch: 0, groupId: 'g1', apiVersion: 3 }), ErrorCode.NONE);
    assert.equal(await c.addOffsets({ transactionalId: 'app', producerId: p.producerId, producerEpoch: 9, groupId: 'g1', apiVersion: 1 }), ErrorCode.INVALID_PRODUCER_EPOCH);
    const r = await stored(f.store, 'app');
    assert.equal(r!.state, 'Ongoing');
    assert.equal(r!.txnStartMs, started, 'the start is the first add');
    assert.deepEqual(r!.partitions, [tp('t1', 0), tp('t2', 3)]);
    assert.deepEqual(r!.groups, ['g1']);
    const [d] = await c.describe(['app']);
    assert.deepEqual(d, {
      transactionalId: 'app', errorCode: ErrorCode.NONE, transactionState: 'Ongoing', transactionTimeoutMs: 60_000,
      transactionStartTimeMs: BigInt(started), producerId: p.producerId, producerEpoch: 0,
      topics: [{ topic: 't1', partitions: [0] }, { topic: 't2', partitions: [3] }],
    });
  });

  test('verifyOnly changes nothing: NONE for partitions in the transaction, TRANSACTION_ABORTABLE for the rest', async (t) => {
    const f = await fixture(t);
    const { coordinator: c } = f.broker();
    const p = await init(c, 'app');
    await add(c, 'app', p.producerId, 0, [tp('t1', 0)]);
    const before = await f.store.get(keys.transaction('app'));
    const r = await add(c, 'app', p.producerId, 0, [tp('t1', 0), tp('t1', 1)], { verifyOnly: true, apiVersion: 4 });
    assert.deepEqual(r.map((x) => x.errorCode), [ErrorCode.NONE, ErrorCode.TRANSACTION_ABORTABLE]);
    assert.equal((await add(c, 'app', p.producerId, 1, [tp('t1', 0)], { verifyOnly: true, apiVersion: 4 }))[0]!.errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal((await f.store.get(keys.transaction('app')))!.modRevision, before!.modRevision);
  });

  test('while markers are in flight: CONCURRENT_TRANSACTIONS', async (t) => {
    const f = await fixture(t);
    const { coordinator: c, markers } = f.broker({ markerWaitMs: 20 });
    const p = await init(c, 'app');
    await add(c, 'app', p.producerId, 0, [tp('t1', 0)]);
    markers.hold = true;
    assert.equal((await end(c, 'app', p.producerId, 0, true)).errorCode, ErrorCode.NONE, 'the decision is durable: NONE after markerWaitMs');
    assert.equal((await add(c, 'app', p.producerId, 0, [tp('t1', 1)]))[0]!.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
    assert.equal(await c.addOffsets({ transactionalId: 'app', producerId: p.producerId, producerEpoch: 0, groupId: 'g', apiVersion: 3 }), ErrorCode.CONCURRENT_TRANSACTIONS);
    assert.equal((await end(c, 'app', p.producerId, 0, true)).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
    assert.equal((await end(c, 'app', p.producerId, 0, false)).errorCode, ErrorCode.INVALID_TXN_STATE);
    markers.release();
    await eventually(async () => (await state(c, 'app')) === 'CompleteCommit', 'the commit to complete');
    assert.equal((await add(c, 'app', p.producerId, 0, [tp('t1', 1)]))[0]!.errorCode, ErrorCode.NONE, 'the next transaction starts');
  });
});

describe('EndTxn', () => {
  test('commit: Prepare, markers for partitions and groups, Complete; retries answer NONE, the opposite INVALID_TXN_STATE', async (t) => {
    const f = await fixture(t);
    const { coordinator: c, markers } = f.broker();
    const p = await init(c, 'app');
    assert.equal((await end(c, 'app', p.producerId, 0, true)).errorCode, ErrorCode.INVALID_TXN_STATE, 'nothing to end');
    await add(c, 'app', p.producerId, 0, [tp('t1', 0), tp('t1', 1)]);
    await c.addOffsets({ transactionalId: 'app', producerId: p.producerId, producerEpoch: 0, groupId: 'g1', apiVersion: 3 });
    assert.equal((await end(c, 'app', p.producerId + 1n, 0, true)).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    assert.equal((await end(c, 'app', p.producerId, 1, true)).errorCode, ErrorCode.PRODUCER_FENCED);
    const r = await end(c, 'app', p.producerId, 0, true);
    assert.deepEqual(r, { errorCode: ErrorCode.NONE, producerId: p.producerId, producerEpoch: 0 });
    assert.equal(markers.calls.length, 1);
    const m = markers.calls[0]!;
    assert.deepEqual({ ...m, coordinatorEpoch: 0 }, {
      transactionalId: 'app', producerId: p.producerId, producerEpoch: 0, commit: true, coordinatorEpoch: 0,
      partitions: [tp('t1', 0), tp('t1', 1)], groups: ['g1'],
    });
    assert.ok(m.coordinatorEpoch > 0);
    const rec = await stored(f.store, 'app');
    assert.equal(rec!.state, 'CompleteCommit');
    assert.deepEqual([rec!.partitions, rec!.groups], [[], []]);
    assert.deepEqual(await end(c, 'app', p.producerId, 0, true), r, 'a retried commit');
    assert.equal((await end(c, 'app', p.producerId, 0, false)).errorCode, ErrorCode.INVALID_TXN_STATE);
    // The next transaction: abort, with a higher coordinator epoch on its markers.
    await add(c, 'app', p.producerId, 0, [tp('t3', 0)]);
    assert.equal((await end(c, 'app', p.producerId, 0, false)).errorCode, ErrorCode.NONE);
    assert.equal(markers.calls[1]!.commit, false);
    assert.ok(markers.calls[1]!.coordinatorEpoch > m.coordinatorEpoch);
    assert.equal(await state(c, 'app'), 'CompleteAbort');
    assert.equal((await end(c, 'app', p.producerId, 0, false)).errorCode, ErrorCode.NONE);
    assert.equal((await end(c, 'app', p.producerId, 0, true)).errorCode, ErrorCode.INVALID_TXN_STATE);
  });

  test('failed markers are retried with backoff, only for what failed', async (t) => {
    const f = await fixture(t);
    const { coordinator: c, markers } = f.broker();
    const p = await init(c, 'app');
    await add(c, 'app', p.producerId, 0, [tp('t1', 0), tp('t1', 1)]);
    // First call: t1-1 fails; second call: everything fails; third: done.
    let call = 0;
    const original = markers.write.bind(markers);
    markers.write = async (req) => {
      call++;
      await original(req);
      if (call === 1) return { failedPartitions: [{ tp: tp('t1', 1), errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }], failedGroups: [] };
      if (call === 2) throw new Error('connection reset');
      return { failedPartitions: [], failedGroups: [] };
    };
    const started = Date.now();
    assert.equal((await end(c, 'app', p.producerId, 0, true)).errorCode, ErrorCode.NONE);
    assert.equal(await state(c, 'app'), 'CompleteCommit');
    assert.ok(Date.now() - started >= 280, 'backoff of 100 then 200 ms');
    assert.deepEqual(markers.calls.map((x) => x.partitions), [[tp('t1', 0), tp('t1', 1)], [tp('t1', 1)], [tp('t1', 1)]]);
  });

  test('markers failing N times: EndTxn answers NONE after markerWaitMs, the transaction completes later', async (t) => {
    const f = await fixture(t);
    const { coordinator: c, markers } = f.broker({ markerWaitMs: 50 });
    const p = await init(c, 'app');
    await add(c, 'app', p.producerId, 0, [tp('t1', 0)]);
    markers.failTimes = 3; // 100 + 200 + 400 ms of backoff
    assert.equal((await end(c, 'app', p.producerId, 0, false)).errorCode, ErrorCode.NONE);
    assert.equal(await state(c, 'app'), 'PrepareAbort');
    const [d] = await c.describe(['app']);
    assert.deepEqual(d!.topics, [{ topic: 't1', partitions: [0] }], 'the partitions still without a marker');
    await eventually(async () => (await state(c, 'app')) === 'CompleteAbort', 'the abort to complete');
    assert.equal(markers.calls.length, 4);
  });

  test('a transaction with no partitions and no groups completes without markers', async (t) => {
    const f = await fixture(t);
    const { coordinator: c, markers } = f.broker();
    const p = await init(c, 'app');
    assert.deepEqual(await add(c, 'app', p.producerId, 0, []), []);
    assert.equal(await state(c, 'app'), 'Ongoing');
    assert.equal((await end(c, 'app', p.producerId, 0, true)).errorCode, ErrorCode.NONE);
    assert.equal(await state(c, 'app'), 'CompleteCommit');
    assert.equal(markers.calls.length, 0);
  });
});

describe('scan: timeouts, resume, expiry', () => {
  test('a timed-out transaction is aborted with the epoch bumped; the producer may recover with KIP-360', async (t) => {
    const f = await fixture(t);
    const { coordinator: c, markers } = f.broker();
    const p = await init(c, 'app', { transactionTimeoutMs: 10_000 });
    await add(c, 'app', p.producerId, 0, [tp('t1', 0)]);
    f.clock.ms += 10_000;
    await c.scanNow();
    assert.equal(markers.calls.length, 0, 'not older than its timeout yet');
    f.clock.ms += 1;
    await c.scanNow();
    await eventually(async () => (await state(c, 'app')) === 'CompleteAbort', 'the timeout abort');
    assert.equal(markers.calls.length, 1);
    assert.equal(markers.calls[0]!.commit, false);
    assert.equal(markers.calls[0]!.producerEpoch, 1, 'markers carry the bumped epoch');
    const r = await stored(f.store, 'app');
    assert.equal(r!.producerEpoch, 1);
    assert.equal(r!.lastProducerEpoch, 0, 'kept for KIP-360');
    assert.equal((await add(c, 'app', p.producerId, 0, [tp('t1', 0)]))[0]!.errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal((await end(c, 'app', p.producerId, 0, true)).errorCode, ErrorCode.PRODUCER_FENCED);
    const recovered = await init(c, 'app', { producerId: p.producerId, producerEpoch: 0, transactionTimeoutMs: 10_000 });
    assert.deepEqual(recovered, { errorCode: ErrorCode.NONE, producerId: p.producerId, producerEpoch: 1 });
    assert.equal((await add(c, 'app', p.producerId, 1, [tp('t1', 0)]))[0]!.errorCode, ErrorCode.NONE);
  });

  test('restart: a new coordinator on the same store resumes a PrepareCommit and finishes its markers', async (t) => {
    const f = await fixture(t);
    const first = f.broker({ markerWaitMs: 20 });
    const p = await init(first.coordinator, 'app');
    await add(first.coordinator, 'app', p.producerId, 0, [tp('t1', 0), tp('t2', 2)]);
    first.markers.failAlways = true;
    assert.equal((await end(first.coordinator, 'app', p.producerId, 0, true)).errorCode, ErrorCode.NONE);
    await first.coordinator.close(); // the broker dies; its retries stop
    assert.equal((await stored(f.store, 'app'))!.state, 'PrepareCommit');
    const store = await f.reopen();
    const second = f.broker({ store });
    second.coordinator.start();
    await eventually(async () => (await stored(store, 'app'))?.state === 'CompleteCommit', 'the resumed commit');
    assert.equal(second.markers.calls.length, 1);
    assert.equal(second.markers.calls[0]!.commit, true);
    assert.deepEqual(second.markers.calls[0]!.partitions, [tp('t1', 0), tp('t2', 2)]);
    assert.equal(second.markers.calls[0]!.coordinatorEpoch, first.markers.calls[0]!.coordinatorEpoch);
    assert.equal((await end(second.coordinator, 'app', p.producerId, 0, true)).errorCode, ErrorCode.NONE);
  });

  test('an id idle longer than transactionalIdExpirationMs is removed', async (t) => {
    const f = await fixture(t);
    const { coordinator: c } = f.broker({ transactionalIdExpirationMs: 60_000 });
    const p = await init(c, 'idle');
    await init(c, 'busy');
    await add(c, 'idle', p.producerId, 0, [tp('t1', 0)]);
    await end(c, 'idle', p.producerId, 0, true);
    f.clock.ms += 30_000;
    await init(c, 'busy');
    f.clock.ms += 30_000;
    await c.scanNow();
    assert.equal(await stored(f.store, 'idle'), null);
    assert.equal((await c.describe(['idle']))[0]!.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    assert.ok(await stored(f.store, 'busy'));
    const again = await init(c, 'idle');
    assert.notEqual(again.producerId, p.producerId, 'an expired id starts over with a new producer id');
  });
});

describe('ownership', () => {
  test('two coordinators on one store: the stale one fails its write with NOT_COORDINATOR', async (t) => {
    const f = await fixture(t);
    const a = f.broker();
    const b = f.broker();
    const p = await init(a.coordinator, 'app');
    await add(a.coordinator, 'app', p.producerId, 0, [tp('t1', 0)]); // a caches Ongoing
    // The id moves to b (a has not noticed yet): b aborts through a new producer instance.
    const fresh = await init(b.coordinator, 'app');
    assert.equal(fresh.producerEpoch, 2);
    assert.equal(b.markers.calls.length, 1);
    // a's view is stale: its write fails and it answers NOT_COORDINATOR instead of overwriting.
    assert.equal((await add(a.coordinator, 'app', p.producerId, 0, [tp('t1', 1)]))[0]!.errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal((await stored(f.store, 'app'))!.producerEpoch, 2);
    // Having re-read, a answers from the current state.
    assert.equal((await add(a.coordinator, 'app', p.producerId, 0, [tp('t1', 1)]))[0]!.errorCode, ErrorCode.PRODUCER_FENCED);
    // Once a knows it does not own the id, it answers NOT_COORDINATOR at once.
    a.owned.value = false;
    assert.equal((await add(a.coordinator, 'app', p.producerId, 2, [tp('t1', 1)]))[0]!.errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal((await end(a.coordinator, 'app', p.producerId, 2, true)).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal((await a.coordinator.describe(['app']))[0]!.errorCode, ErrorCode.NOT_COORDINATOR);
    assert.deepEqual((await a.coordinator.list({ stateFilters: [], producerIdFilters: [], durationFilterMs: -1n })).transactionStates, []);
  });

  test('marker delivery stops when ownership is lost; the new owner finishes it', async (t) => {
    const f = await fixture(t);
    const a = f.broker({ markerWaitMs: 20 });
    const p = await init(a.coordinator, 'app');
    await add(a.coordinator, 'app', p.producerId, 0, [tp('t1', 0)]);
    a.markers.failAlways = true;
    assert.equal((await end(a.coordinator, 'app', p.producerId, 0, false)).errorCode, ErrorCode.NONE);
    a.owned.value = false;
    const b = f.broker();
    await b.coordinator.scanNow();
    await eventually(async () => (await stored(f.store, 'app'))?.state === 'CompleteAbort', 'the new owner to complete');
    const callsOfA = a.markers.calls.length;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(a.markers.calls.length, callsOfA, 'the old owner stopped retrying');
  });

  test('verify from a broker that does not coordinate the id reads the store', async (t) => {
    const f = await fixture(t);
    const owner = f.broker();
    const leader = f.broker();
    leader.owned.value = false;
    const v = (pid: bigint, epoch: number, x: TxnTopicPartition, id = 'app') =>
      leader.coordinator.verify({ transactionalId: id, producerId: pid, producerEpoch: epoch, tp: x });
    const p = await init(owner.coordinator, 'app');
    assert.equal(await v(p.producerId, 0, tp('t1', 0)), ErrorCode.TRANSACTION_ABORTABLE);
    await add(owner.coordinator, 'app', p.producerId, 0, [tp('t1', 0)]);
    assert.equal(await v(p.producerId, 0, tp('t1', 0)), ErrorCode.NONE);
    assert.equal(await v(p.producerId, 0, tp('t1', 1)), ErrorCode.TRANSACTION_ABORTABLE);
    assert.equal(await v(p.producerId, 1, tp('t1', 0)), ErrorCode.PRODUCER_FENCED);
    assert.equal(await v(p.producerId + 1n, 0, tp('t1', 0)), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    assert.equal(await v(p.producerId, 0, tp('t1', 0), 'unknown'), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    assert.equal(await v(p.producerId, 0, tp('t1', 0), ''), ErrorCode.INVALID_REQUEST);
    owner.markers.hold = true;
    const ending = end(owner.coordinator, 'app', p.producerId, 0, true);
    await eventually(() => owner.markers.calls.length === 1, 'markers to start');
    assert.equal(await v(p.producerId, 0, tp('t1', 0)), ErrorCode.CONCURRENT_TRANSACTIONS);
    owner.markers.release();
    await ending;
    assert.equal(await v(p.producerId, 0, tp('t1', 0)), ErrorCode.TRANSACTION_ABORTABLE, 'the transaction is over');
  });
});

describe('DescribeTransactions / ListTransactions', () => {
  test('describe: unknown id, empty id, Empty state', async (t) => {
    const f = await fixture(t);
    const { coordinator: c } = f.broker();
    const p = await init(c, 'app', { transactionTimeoutMs: 5_000 });
    const [known, unknown, empty] = await c.describe(['app', 'nope', '']);
    assert.deepEqual(known, {
      transactionalId: 'app', errorCode: ErrorCode.NONE, transactionState: 'Empty', transactionTimeoutMs: 5_000,
      transactionStartTimeMs: -1n, producerId: p.producerId, producerEpoch: 0, topics: [],
    });
    assert.equal(unknown!.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    assert.equal(unknown!.transactionalId, 'nope');
    assert.equal(empty!.errorCode, ErrorCode.INVALID_REQUEST);
  });

  test('list: owned ids only, state / producer / duration filters, unknown state names', async (t) => {
    const f = await fixture(t);
    const mine = new Set(['a', 'b', 'c']);
    const { coordinator: c } = f.broker({ owns: (id) => mine.has(id) });
    const other = f.broker();
    const a = await init(c, 'a');
    const b = await init(c, 'b');
    await init(c, 'c');
    await init(other.coordinator, 'elsewhere');
    await add(c, 'a', a.producerId, 0, [tp('t1', 0)]);
    f.clock.ms += 10_000;
    await add(c, 'b', b.producerId, 0, [tp('t1', 0)]);
    f.clock.ms += 1_000;
    const list = (stateFilters: string[], producerIdFilters: bigint[] = [], durationFilterMs = -1n) =>
      c.list({ stateFilters, producerIdFilters, durationFilterMs });
    const ids = async (...args: Parameters<typeof list>) => (await list(...args)).transactionStates.map((x) => x.transactionalId).sort();
    assert.deepEqual(await ids([]), ['a', 'b', 'c']);
    assert.deepEqual(await ids(['Ongoing']), ['a', 'b']);
    assert.deepEqual(await ids(['Ongoing'], [b.producerId]), ['b']);
    assert.deepEqual(await ids(['Ongoing'], [], 5_000n), ['a'], 'only transactions running longer than 5 s');
    const r = await list(['Ongoing', 'Bogus']);
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.deepEqual(r.unknownStateFilters, ['Bogus']);
    assert.deepEqual(await ids(['Bogus']), [], 'only unknown filters match nothing');
    const one = (await list([], [a.producerId])).transactionStates;
    assert.deepEqual(one, [{ transactionalId: 'a', producerId: a.producerId, transactionState: 'Ongoing' }]);
  });
});
