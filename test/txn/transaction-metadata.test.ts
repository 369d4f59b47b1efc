// The pure state machine: legal transitions only, epochs never backwards, records checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { InvariantError } from '../../src/common/assert.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { MetadataKeys } from '../../src/cluster/metadata-keys.js';
import {
  checkTransition, completeRecord, fenceRecord, newRecord, planAdd, planEnd, planInit, recordProblem, type TxnRecord,
} from '../../src/txn/transaction-metadata.js';
import { TransactionCoordinator } from '../../src/txn/transaction-coordinator.js';
import { tempStore } from '../cluster/temp-store.js';

const base = (): TxnRecord => newRecord('app', 10, 60_000, 1000);

test('the happy path is a chain of legal transitions', () => {
  const r0 = base();
  checkTransition(null, r0);
  const add = planAdd(r0, 10, 0, [{ topic: 't', partition: 1 }, { topic: 't', partition: 0 }], ['g'], 2000);
  assert.equal(add.kind, 'write');
  const r1 = (add as { next: TxnRecord }).next;
  checkTransition(r0, r1);
  assert.deepEqual(r1.partitions, [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
  const endPlan = planEnd(r1, 10, 0, true, 3000);
  assert.equal(endPlan.kind, 'write');
  const r2 = (endPlan as { next: TxnRecord }).next;
  checkTransition(r1, r2);
  const r3 = completeRecord(r2, 4000);
  checkTransition(r2, r3);
  assert.equal(r3.state, 'CompleteCommit');
  const init = planInit(r3, 60_000, null, 5000);
  assert.equal(init.kind, 'write');
  checkTransition(r3, (init as { next: TxnRecord }).next);
});

test('illegal transitions and epochs going backwards are invariant violations', () => {
  const r0 = base();
  const ongoing: TxnRecord = { ...r0, state: 'Ongoing', partitions: [{ topic: 't', partition: 0 }], txnStartMs: 2000 };
  assert.throws(() => checkTransition(r0, { ...r0, state: 'PrepareCommit', markerEpoch: 0, txnStartMs: 2000, coordinatorEpoch: 1 }), InvariantError);
  assert.throws(() => checkTransition(r0, { ...r0, state: 'CompleteCommit', txnStartMs: 2000 }), InvariantError);
  assert.throws(() => checkTransition({ ...r0, producerEpoch: 5 }, { ...r0, producerEpoch: 4 }), InvariantError);
  assert.throws(() => checkTransition(r0, { ...r0, producerEpoch: 2 }), InvariantError, 'a jump of two');
  assert.throws(() => checkTransition(ongoing, { ...ongoing, partitions: [] }), InvariantError, 'Ongoing dropping a partition');
  assert.throws(() => checkTransition(r0, { ...r0, producerId: 11, producerEpoch: 3 }), InvariantError, 'a new producer id not at 0');
  assert.throws(() => fenceRecord(r0, 1, true), InvariantError, 'fencing without a transaction');
  assert.throws(() => fenceRecord({ ...ongoing, producerEpoch: 32767 }, 1, true), InvariantError, 'the fence would overflow');
  assert.match(recordProblem({ ...r0, state: 'Dead' }) ?? '', /bad state/);
  assert.match(recordProblem({ ...r0, partitions: [{ topic: 't', partition: 0 }] }) ?? '', /partitions/);
});

test('planInit answers Kafka codes', () => {
  const r = { ...base(), producerEpoch: 3, lastProducerEpoch: 2 };
  assert.deepEqual(planInit(r, 1, { producerId: 99, producerEpoch: 3 }, 0), { kind: 'error', errorCode: ErrorCode.PRODUCER_FENCED });
  assert.equal(planInit({ ...r, state: 'PrepareAbort', markerEpoch: 3, txnStartMs: 1 }, 1, null, 0).kind, 'wait');
  const retry = planInit(r, 1, { producerId: 10, producerEpoch: 2 }, 0);
  assert.equal(retry.kind === 'write' && retry.next.producerEpoch, 3, 'a retry gets the same epoch');
});

test('an unreadable record answers COORDINATOR_NOT_AVAILABLE, not a guess', async (t) => {
  const { store } = await tempStore(t);
  await store.put(new MetadataKeys('test').transaction('bad'), Buffer.from('{"v":1,"transactionalId":"bad"}'));
  const c = new TransactionCoordinator({
    store, clusterName: 'test', producerIds: { next: async () => 1n }, markers: { write: async () => ({ failedPartitions: [], failedGroups: [] }) },
    owns: () => true, partitionExists: () => true, now: () => 1000, log: pino({ level: 'silent' }),
    transactionMaxTimeoutMs: 900_000, transactionalIdExpirationMs: 604_800_000, scanIntervalMs: 1000,
  });
  t.after(() => c.close());
  const r = await c.initProducerId({ transactionalId: 'bad', transactionTimeoutMs: 1000, producerId: -1n, producerEpoch: -1, apiVersion: 4 });
  assert.equal(r.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(await c.verify({ transactionalId: 'bad', producerId: 1n, producerEpoch: 0, tp: { topic: 't', partition: 0 } }), ErrorCode.COORDINATOR_NOT_AVAILABLE);
  c.start(); // the scan logs it and goes on
  await c.scanNow();
});
