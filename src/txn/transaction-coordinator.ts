// Kafka's transaction coordinator (TransactionCoordinator.scala, TransactionStateManager.scala),
// protocol-neutral: the handlers of InitProducerId (transactional ids), AddPartitionsToTxn,
// AddOffsetsToTxn, EndTxn, DescribeTransactions and ListTransactions call it with plain values and
// encode its answers; the partition leaders call verify() for KIP-890 produce verification.
//
// Durability and ownership. The state of every transactional id is one record in the metadata
// store (transaction-store.ts; the local embedded store, or etcd in a cluster). owns(id) says
// whether this broker coordinates the id now (a hash over live brokers, so it moves on failover);
// any broker that owns an id reads its record from the store, so failover needs no log replay.
// Every write compares the key's modRevision as last read: if another broker wrote in between,
// the write fails, the cached record is dropped and the request answers NOT_COORDINATOR (the
// client looks the coordinator up again). The in-memory cache is an optimisation only, refreshed
// by every scan.
//
// Concurrency. Operations on one id run one at a time (a promise queue per id); they hold the
// queue only while deciding and writing, never while markers are in flight: during markers the
// record is Prepare*, which is what makes other requests answer CONCURRENT_TRANSACTIONS, as in
// Kafka.
//
// Transaction end. EndTxn writes Prepare{Commit,Abort} (the decision, durable), then the markers
// go out through the MarkerWriter, the failed ones retried with backoff (100 ms doubling to 2 s)
// for as long as this broker owns the id, then Complete* is written (partitions and groups
// cleared). EndTxn answers once Complete* is durable or after markerWaitMs, NONE either way: the
// decision is durable and whoever owns the id finishes it (the scan resumes every Prepare* it
// finds, e.g. after a failover or restart; a duplicate marker is harmless at the partition).
//
// The scan (every scanIntervalMs, and on scanNow() when ownership may have changed): resumes
// Prepare* records without markers in flight; aborts Ongoing transactions older than their
// timeout with the epoch bumped (the markers carry the bumped epoch, so the partitions fence the
// zombie); deletes ids idle (Empty/Complete*) for transactionalIdExpirationMs.
//
// Error codes are Kafka's, including the handlers' version mapping: PRODUCER_FENCED becomes
// INVALID_PRODUCER_EPOCH for InitProducerId < v4, AddPartitionsToTxn/AddOffsetsToTxn/EndTxn < v2.
// Store failures answer COORDINATOR_NOT_AVAILABLE (retriable), like Kafka's failed transaction-log
// appends; invariant violations (InvariantError) are thrown, never answered.
//
// API: new TransactionCoordinator(opts: TransactionCoordinatorOptions); start(); close();
//      scanNow(); initProducerId; addPartitions; addOffsets; endTxn; verify; describe; list
//      (signatures below; all answers are Kafka error codes, ErrorCode.NONE on success)

import type { Logger } from 'pino';
import { InvariantError, assert } from '../common/assert.js';
import { ErrorCode } from '../protocol/errors.js';
import { MetadataLimitError, MetadataStoreError, type MetadataStore } from '../cluster/metadata-store.js';
import {
  NO_PRODUCER_EPOCH, NO_PRODUCER_ID, STATE_NAMES, completeRecord, fenceRecord, isExpirable, isPrepare, isTimedOut, newRecord,
  planAdd, planEnd, planInit, rotateProducerId, type ExpectedProducer, type TxnRecord,
} from './transaction-metadata.js';
import { TransactionStore, type StoredTxn } from './transaction-store.js';
import type { MarkerResult, MarkerWriter, TxnTopicPartition } from './types.js';
import { trueWithin } from '../common/within.js';

export interface TransactionCoordinatorOptions {
  store: MetadataStore;
  clusterName: string;
  producerIds: { next(): Promise<bigint> };
  markers: MarkerWriter;
  /** True when this broker coordinates the id now (hash over live brokers; changes on failover). */
  owns(transactionalId: string): boolean;
  /** False when the topic or partition does not exist (AddPartitionsToTxn: UNKNOWN_TOPIC_OR_PARTITION). */
  partitionExists(topic: string, partition: number): boolean;
  /** Wall clock, ms: transaction start and update times, timeouts, expiration. */
  now(): number;
  log: Logger;
  /** transaction.max.timeout.ms (Kafka default 900000). */
  transactionMaxTimeoutMs: number;
  /** transactional.id.expiration.ms (Kafka default 604800000). */
  transactionalIdExpirationMs: number;
  /** How often to scan the store: resume Prepare*, abort timed-out Ongoing, expire idle ids. */
  scanIntervalMs: number;
  /** How long EndTxn/InitProducerId wait for markers before answering (default 10000). */
  markerWaitMs?: number;
  /** A transaction's markers are all written (for metrics): its result and how long it ran (ms, -1 if unknown). */
  onCompleted?(commit: boolean, durationMs: number): void;
  /** A transaction ran past its timeout and is being aborted (for metrics). */
  onTimedOut?(): void;
}

export interface InitProducerIdResult { errorCode: number; producerId: bigint; producerEpoch: number }
export interface EndTxnResult { errorCode: number; producerId: bigint; producerEpoch: number }

export interface DescribedTransaction {
  transactionalId: string;
  errorCode: number;
  transactionState: string;
  transactionTimeoutMs: number;
  transactionStartTimeMs: bigint;
  producerId: bigint;
  producerEpoch: number;
  topics: { topic: string; partitions: number[] }[];
}

export interface ListTransactionsResult {
  errorCode: number;
  unknownStateFilters: string[];
  transactionStates: { transactionalId: string; producerId: bigint; transactionState: string }[];
}

const MARKER_BACKOFF_MS_MIN = 100;
const MARKER_BACKOFF_MS_MAX = 2000;
const MARKER_WAIT_MS_DEFAULT = 10_000;
/** A producer id the client sent that cannot be one of ours (beyond the safe-integer range). */
const FOREIGN_PRODUCER_ID = -2;

const tpKey = (tp: TxnTopicPartition): string => `${tp.partition}:${tp.topic}`;

/** Kafka's handlers map PRODUCER_FENCED to INVALID_PRODUCER_EPOCH for clients that predate it. */
function fencedFor(errorCode: number, oldClient: boolean): number {
  return oldClient && errorCode === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}

function toPid(producerId: bigint): number {
  if (producerId < -1n || producerId > BigInt(Number.MAX_SAFE_INTEGER)) return FOREIGN_PRODUCER_ID;
  return Number(producerId);
}

function dedupe(partitions: readonly TxnTopicPartition[]): TxnTopicPartition[] {
  const seen = new Set<string>();
  const out: TxnTopicPartition[] = [];
  for (const tp of partitions) {
    if (seen.has(tpKey(tp))) continue;
    seen.add(tpKey(tp));
    out.push({ topic: tp.topic, partition: tp.partition });
  }
  return out;
}

type InitStep = { result: InitProducerIdResult } | { completion: Promise<boolean> };

interface Completion {
  promise: Promise<boolean>;
  /** The partitions still without a marker (DescribeTransactions shows these while Prepare*). */
  remaining: TxnTopicPartition[];
}

export class TransactionCoordinator {
  private readonly txns: TransactionStore;
  private readonly log: Logger;
  private readonly markerWaitMs: number;
  /** Last record read or written per id; only ever replaced by a newer modRevision. */
  private readonly cache = new Map<string, StoredTxn>();
  /** Tail of each id's operation queue. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Marker delivery in flight per id. */
  private readonly completions = new Map<string, Completion>();
  /** Wake-ups of pending backoff sleeps (close() ends them early). */
  private readonly sleeps = new Set<() => void>();
  private scanChain: Promise<void> = Promise.resolve();
  private scanRunning = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly opts: TransactionCoordinatorOptions) {
    assert(Number.isSafeInteger(opts.transactionMaxTimeoutMs) && opts.transactionMaxTimeoutMs > 0, 'transactionMaxTimeoutMs must be a positive integer');
    assert(Number.isSafeInteger(opts.transactionalIdExpirationMs) && opts.transactionalIdExpirationMs > 0, 'transactionalIdExpirationMs must be a positive integer');
    assert(Number.isSafeInteger(opts.scanIntervalMs) && opts.scanIntervalMs > 0, 'scanIntervalMs must be a positive integer');
    this.markerWaitMs = opts.markerWaitMs ?? MARKER_WAIT_MS_DEFAULT;
    assert(Number.isSafeInteger(this.markerWaitMs) && this.markerWaitMs >= 0, 'markerWaitMs must be a non-negative integer');
    this.txns = new TransactionStore(opts.store, opts.clusterName);
    this.log = opts.log;
  }

  /** Starts the scan timer (unref'd) and runs one scan at once. */
  start(): void {
    assert(!this.closed, 'TransactionCoordinator started after close');
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.opts.scanIntervalMs);
    this.timer.unref();
    this.tick();
  }

  /** Stops the timer and the marker retries, and waits for in-flight work to settle. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const wake of [...this.sleeps]) wake();
    await this.scanChain;
    // A completion enqueues its final write after its markers: drain until nothing is left.
    while (this.queues.size > 0 || this.completions.size > 0) {
      await Promise.allSettled([...this.queues.values(), ...[...this.completions.values()].map((c) => c.promise)]);
    }
  }

  /** One scan; scans never overlap (a call during a scan runs another one after it). */
  scanNow(): Promise<void> {
    const run = this.scanChain.then(() => this.scanOnce());
    this.scanChain = run.catch(() => undefined);
    return run;
  }

  // ---- InitProducerId ----------------------------------------------------------------------------

  /**
   * InitProducerId for a non-null transactional id. producerId/producerEpoch are the request's
   * (KIP-360; -1/-1 when not given). An Ongoing transaction is aborted with the epoch bumped
   * (fencing the old producer: its markers carry the bumped epoch). Kafka then answers
   * CONCURRENT_TRANSACTIONS and the client's retry bumps the epoch a second time (so the fencing
   * epoch is never handed out, and a fence that exhausts the epochs rotates the producer id on the
   * retry). We do the same but run the retry ourselves once the abort completes (within
   * markerWaitMs), with the same request: the answer is what the client's retry would have got.
   * Prepare* likewise waits for the markers (bounded) and then runs again; CONCURRENT_TRANSACTIONS
   * if they take longer.
   */
  async initProducerId(p: { transactionalId: string; transactionTimeoutMs: number; producerId: bigint; producerEpoch: number; apiVersion: number }): Promise<InitProducerIdResult> {
    const fail = (errorCode: number): InitProducerIdResult => ({
      errorCode: fencedFor(errorCode, p.apiVersion < 4), producerId: BigInt(NO_PRODUCER_ID), producerEpoch: NO_PRODUCER_EPOCH,
    });
    const id = p.transactionalId;
    // Kafka's order: an empty id, then the timeout, then the coordinator.
    if (!this.validId(id)) return fail(ErrorCode.INVALID_REQUEST);
    if (!Number.isSafeInteger(p.transactionTimeoutMs) || p.transactionTimeoutMs <= 0 || p.transactionTimeoutMs > this.opts.transactionMaxTimeoutMs) {
      return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    }
    let expected: ExpectedProducer | null = null;
    if (p.producerId !== -1n || p.producerEpoch !== NO_PRODUCER_EPOCH) {
      // KafkaApis: both or neither.
      if (p.producerId === -1n || p.producerEpoch === NO_PRODUCER_EPOCH) return fail(ErrorCode.INVALID_REQUEST);
      expected = { producerId: toPid(p.producerId), producerEpoch: p.producerEpoch };
    }
    const deadline = performance.now() + this.markerWaitMs;
    for (;;) {
      if (!this.owns(id)) return fail(ErrorCode.NOT_COORDINATOR);
      let step: InitStep;
      try {
        step = await this.serialize(id, () => this.initStep(id, p.transactionTimeoutMs, expected, fail));
      } catch (err) {
        return fail(this.errorCodeOf(err, id, 'InitProducerId'));
      }
      if ('result' in step) return step.result;
      const remainingMs = deadline - performance.now();
      if (remainingMs <= 0 || !(await trueWithin(step.completion, remainingMs))) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    }
  }

  private async initStep(
    id: string, timeoutMs: number, expected: ExpectedProducer | null, fail: (errorCode: number) => InitProducerIdResult,
  ): Promise<InitStep> {
    if (!this.owns(id)) return { result: fail(ErrorCode.NOT_COORDINATOR) };
    const ok = (e: StoredTxn): InitStep => ({
      result: { errorCode: ErrorCode.NONE, producerId: BigInt(e.record.producerId), producerEpoch: e.record.producerEpoch },
    });
    const cur = await this.load(id);
    const now = this.opts.now();
    if (!cur) {
      // A new id: a fresh producer id at epoch 0, whatever producer the request named (Kafka).
      const e = await this.write(newRecord(id, await this.nextProducerId(), timeoutMs, now), null);
      if (!e) return { result: fail(ErrorCode.NOT_COORDINATOR) };
      this.log.info({ transactionalId: id, producerId: e.record.producerId }, 'transactional id initialized');
      return ok(e);
    }
    const plan = planInit(cur.record, timeoutMs, expected, now);
    switch (plan.kind) {
      case 'error':
        return { result: fail(plan.errorCode) };
      case 'wait':
        return { completion: this.ensureCompletion(cur) };
      case 'fence': {
        const e = await this.write(plan.next, cur);
        if (!e) return { result: fail(ErrorCode.NOT_COORDINATOR) };
        this.log.info({ transactionalId: id, producerId: e.record.producerId, producerEpoch: e.record.producerEpoch },
          'InitProducerId fences the ongoing transaction: aborting it with the bumped epoch');
        return { completion: this.ensureCompletion(e) };
      }
      case 'rotate': {
        const next = rotateProducerId(cur.record, await this.nextProducerId(), plan.lastProducerEpoch, timeoutMs, now);
        const e = await this.write(next, cur);
        if (!e) return { result: fail(ErrorCode.NOT_COORDINATOR) };
        this.log.info({ transactionalId: id, from: cur.record.producerId, to: e.record.producerId }, 'producer epoch exhausted: new producer id');
        return ok(e);
      }
      case 'write': {
        const e = await this.write(plan.next, cur);
        if (!e) return { result: fail(ErrorCode.NOT_COORDINATOR) };
        return ok(e);
      }
    }
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn ------------------------------------------------------

  /**
   * AddPartitionsToTxn for one transaction. Unknown partitions fail the whole request
   * (UNKNOWN_TOPIC_OR_PARTITION for them, OPERATION_NOT_ATTEMPTED for the rest, nothing added);
   * otherwise one code for all. verifyOnly (v4+, from brokers) is Kafka's
   * handleVerifyPartitionsInTransaction: changes nothing, NONE for partitions in the transaction,
   * TRANSACTION_ABORTABLE for the others. One result per distinct partition, in request order.
   */
  async addPartitions(p: {
    transactionalId: string; producerId: bigint; producerEpoch: number; partitions: TxnTopicPartition[]; verifyOnly: boolean; apiVersion: number;
  }): Promise<{ tp: TxnTopicPartition; errorCode: number }[]> {
    const tps = dedupe(p.partitions);
    const all = (errorCode: number) => tps.map((tp) => ({ tp, errorCode: fencedFor(errorCode, p.apiVersion < 2) }));
    const id = p.transactionalId;
    if (!this.validId(id)) return all(ErrorCode.INVALID_REQUEST);
    // KafkaApis checks the partitions before the coordinator sees the request.
    if (tps.some((tp) => !this.opts.partitionExists(tp.topic, tp.partition))) {
      return tps.map((tp) => ({
        tp, errorCode: this.opts.partitionExists(tp.topic, tp.partition) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      }));
    }
    if (!this.owns(id)) return all(ErrorCode.NOT_COORDINATOR);
    if (p.verifyOnly) {
      let cur: StoredTxn | null;
      try {
        cur = await this.txns.get(id);
      } catch (err) {
        return all(this.errorCodeOf(err, id, 'AddPartitionsToTxn(verifyOnly)'));
      }
      const pid = toPid(p.producerId);
      return tps.map((tp) => ({ tp, errorCode: verifyCode(cur?.record ?? null, pid, p.producerEpoch, tp) }));
    }
    return all(await this.add(id, toPid(p.producerId), p.producerEpoch, tps, [], 'AddPartitionsToTxn'));
  }

  /** AddOffsetsToTxn: the group joins the transaction (Kafka adds its __consumer_offsets partition). */
  async addOffsets(p: { transactionalId: string; producerId: bigint; producerEpoch: number; groupId: string; apiVersion: number }): Promise<number> {
    const id = p.transactionalId;
    if (!this.validId(id)) return ErrorCode.INVALID_REQUEST;
    if (!this.owns(id)) return ErrorCode.NOT_COORDINATOR;
    return fencedFor(await this.add(id, toPid(p.producerId), p.producerEpoch, [], [p.groupId], 'AddOffsetsToTxn'), p.apiVersion < 2);
  }

  private async add(id: string, producerId: number, producerEpoch: number, tps: TxnTopicPartition[], groups: string[], what: string): Promise<number> {
    try {
      return await this.serialize(id, async () => {
        if (!this.owns(id)) return ErrorCode.NOT_COORDINATOR;
        const cur = await this.load(id);
        if (!cur) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
        const plan = planAdd(cur.record, producerId, producerEpoch, tps, groups, this.opts.now());
        if (plan.kind === 'error') {
          this.resumeIfPrepare(cur);
          return plan.errorCode;
        }
        if (plan.kind === 'none') return ErrorCode.NONE;
        const e = await this.write(plan.next, cur);
        return e ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR;
      });
    } catch (err) {
      return this.errorCodeOf(err, id, what);
    }
  }

  // ---- EndTxn ------------------------------------------------------------------------------------

  /**
   * EndTxn (Kafka's rules for transaction versions 0/1). Answers with the current producer id and
   * epoch on success, -1/-1 on an error. A retry of an end that completed answers NONE.
   */
  async endTxn(p: { transactionalId: string; producerId: bigint; producerEpoch: number; committed: boolean; apiVersion: number }): Promise<EndTxnResult> {
    const fail = (errorCode: number): EndTxnResult => ({
      errorCode: fencedFor(errorCode, p.apiVersion < 2), producerId: BigInt(NO_PRODUCER_ID), producerEpoch: NO_PRODUCER_EPOCH,
    });
    const id = p.transactionalId;
    if (!this.validId(id)) return fail(ErrorCode.INVALID_REQUEST);
    if (!this.owns(id)) return fail(ErrorCode.NOT_COORDINATOR);
    type Step = { result: EndTxnResult; completion?: Promise<boolean> };
    let step: Step;
    try {
      step = await this.serialize(id, async (): Promise<Step> => {
        if (!this.owns(id)) return { result: fail(ErrorCode.NOT_COORDINATOR) };
        const cur = await this.load(id);
        if (!cur) return { result: fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING) };
        const plan = planEnd(cur.record, toPid(p.producerId), p.producerEpoch, p.committed, this.opts.now());
        if (plan.kind === 'error') {
          this.resumeIfPrepare(cur);
          return { result: fail(plan.errorCode) };
        }
        const e = plan.kind === 'done' ? cur : await this.write(plan.next, cur);
        if (!e) return { result: fail(ErrorCode.NOT_COORDINATOR) };
        const result = { errorCode: ErrorCode.NONE, producerId: BigInt(e.record.producerId), producerEpoch: e.record.producerEpoch };
        return plan.kind === 'done' ? { result } : { result, completion: this.ensureCompletion(e) };
      });
    } catch (err) {
      return fail(this.errorCodeOf(err, id, 'EndTxn'));
    }
    // The decision is durable: NONE even if the markers take longer (they go on) or this broker
    // loses the id meanwhile (the new owner's scan finishes them).
    if (step.completion) await trueWithin(step.completion, this.markerWaitMs);
    return step.result;
  }

  // ---- verification, describe, list --------------------------------------------------------------

  /**
   * KIP-890 produce verification, on any broker: NONE when tp is in the Ongoing transaction of
   * exactly (producerId, producerEpoch). Otherwise Kafka's coordinator codes
   * (handleVerifyPartitionsInTransaction): INVALID_PRODUCER_ID_MAPPING (no such id or another
   * producer id), PRODUCER_FENCED (another epoch), CONCURRENT_TRANSACTIONS (Prepare*),
   * TRANSACTION_ABORTABLE (not in the transaction), COORDINATOR_NOT_AVAILABLE (store unreachable),
   * INVALID_REQUEST (empty id). The produce path maps them as Kafka's AddPartitionsToTxnManager
   * and ReplicaManager do: PRODUCER_FENCED -> INVALID_PRODUCER_EPOCH, TRANSACTION_ABORTABLE ->
   * INVALID_TXN_STATE for clients that predate it, CONCURRENT_TRANSACTIONS and coordinator errors
   * -> NOT_ENOUGH_REPLICAS (retriable for old clients). Always reads the store (linearizable), not
   * the cache: a wrong NONE would let a write into a transaction that has ended.
   */
  async verify(p: { transactionalId: string; producerId: bigint; producerEpoch: number; tp: TxnTopicPartition }): Promise<number> {
    if (!this.validId(p.transactionalId)) return ErrorCode.INVALID_REQUEST;
    let cur: StoredTxn | null;
    try {
      cur = await this.txns.get(p.transactionalId);
    } catch (err) {
      return this.errorCodeOf(err, p.transactionalId, 'verify');
    }
    return verifyCode(cur?.record ?? null, toPid(p.producerId), p.producerEpoch, p.tp);
  }

  /** DescribeTransactions (Kafka's handleDescribeTransactions). Error entries carry Kafka's defaults. */
  async describe(ids: string[]): Promise<DescribedTransaction[]> {
    return Promise.all(ids.map(async (id): Promise<DescribedTransaction> => {
      const error = (errorCode: number): DescribedTransaction => ({
        transactionalId: id, errorCode, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: 0n,
        producerId: 0n, producerEpoch: 0, topics: [],
      });
      if (this.closed) return error(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      if (!this.validId(id)) return error(ErrorCode.INVALID_REQUEST);
      if (!this.owns(id)) return error(ErrorCode.NOT_COORDINATOR);
      let cur: StoredTxn | null;
      try {
        cur = await this.load(id);
      } catch (err) {
        return error(this.errorCodeOf(err, id, 'DescribeTransactions'));
      }
      if (!cur) return error(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
      const r = cur.record;
      // While markers are in flight, only the partitions still without one (the spec's wording).
      const partitions = (isPrepare(r.state) && this.completions.get(id)?.remaining) || r.partitions;
      const topics = new Map<string, number[]>();
      for (const tp of partitions) {
        const list = topics.get(tp.topic) ?? [];
        list.push(tp.partition);
        topics.set(tp.topic, list);
      }
      return {
        transactionalId: id, errorCode: ErrorCode.NONE, transactionState: r.state, transactionTimeoutMs: r.timeoutMs,
        transactionStartTimeMs: BigInt(r.txnStartMs), producerId: BigInt(r.producerId), producerEpoch: r.producerEpoch,
        topics: [...topics].map(([topic, ps]) => ({ topic, partitions: ps })),
      };
    }));
  }

  /**
   * ListTransactions (Kafka's listTransactionStates) over the ids this broker owns, read from the
   * store. Unknown state names come back in unknownStateFilters (and, as in Kafka, filters that
   * are all unknown match nothing); durationFilterMs >= 0 keeps transactions whose start is longer
   * ago than it (Kafka compares txnStartMs for every state, so an Empty id's -1 start passes).
   */
  async list(p: { stateFilters: string[]; producerIdFilters: bigint[]; durationFilterMs: bigint }): Promise<ListTransactionsResult> {
    const unknownStateFilters = p.stateFilters.filter((s) => !STATE_NAMES.has(s));
    if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, unknownStateFilters: [], transactionStates: [] };
    let entries: StoredTxn[];
    try {
      entries = (await this.txns.list()).entries;
    } catch (err) {
      if (err instanceof InvariantError) throw err;
      this.log.warn({ err }, 'ListTransactions: metadata store failed');
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, unknownStateFilters: [], transactionStates: [] };
    }
    const states = new Set(p.stateFilters);
    const pids = new Set(p.producerIdFilters);
    const now = BigInt(this.opts.now());
    const transactionStates = entries
      .map((e) => e.record)
      .filter((r) => this.owns(r.transactionalId))
      .filter((r) => pids.size === 0 || pids.has(BigInt(r.producerId)))
      .filter((r) => states.size === 0 || states.has(r.state))
      .filter((r) => p.durationFilterMs < 0n || now - BigInt(r.txnStartMs) > p.durationFilterMs)
      .map((r) => ({ transactionalId: r.transactionalId, producerId: BigInt(r.producerId), transactionState: r.state }));
    return { errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates };
  }

  // ---- markers -----------------------------------------------------------------------------------

  /** The marker delivery of a Prepare* record, started unless one is in flight. Resolves true once Complete* is durable. */
  private ensureCompletion(start: StoredTxn): Promise<boolean> {
    const id = start.record.transactionalId;
    const existing = this.completions.get(id);
    if (existing) return existing.promise;
    const completion: Completion = { promise: Promise.resolve(false), remaining: start.record.partitions };
    completion.promise = this.complete(start, completion).finally(() => {
      if (this.completions.get(id) === completion) this.completions.delete(id);
    });
    this.completions.set(id, completion);
    return completion.promise;
  }

  private resumeIfPrepare(cur: StoredTxn): void {
    if (isPrepare(cur.record.state)) void this.ensureCompletion(cur);
  }

  private async complete(start: StoredTxn, progress: Completion): Promise<boolean> {
    const r = start.record;
    const id = r.transactionalId;
    assert(isPrepare(r.state), `marker delivery of ${id} in ${r.state}`);
    const commit = r.state === 'PrepareCommit';
    let partitions = r.partitions;
    let groups = r.groups;
    let backoffMs = MARKER_BACKOFF_MS_MIN;
    // An Ongoing transaction with no partitions and no groups completes without markers.
    while (partitions.length > 0 || groups.length > 0) {
      if (!this.owns(id)) {
        this.log.info({ transactionalId: id }, 'stopped writing transaction markers: no longer the coordinator (the new owner resumes)');
        return false;
      }
      let result: MarkerResult;
      try {
        result = await this.opts.markers.write({
          transactionalId: id, producerId: BigInt(r.producerId), producerEpoch: r.markerEpoch, commit,
          coordinatorEpoch: r.coordinatorEpoch, partitions, groups,
        });
      } catch (err) {
        if (err instanceof InvariantError) throw err;
        this.log.warn({ err, transactionalId: id }, 'transaction marker delivery failed; retrying');
        result = { failedPartitions: partitions.map((tp) => ({ tp, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR })), failedGroups: groups.map((groupId) => ({ groupId, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR })) };
      }
      // Only what was asked can still be pending, whatever the writer reports.
      const failedPartitions = new Set(result.failedPartitions.map((f) => tpKey(f.tp)));
      const failedGroups = new Set(result.failedGroups.map((f) => f.groupId));
      partitions = partitions.filter((tp) => failedPartitions.has(tpKey(tp)));
      groups = groups.filter((g) => failedGroups.has(g));
      progress.remaining = partitions;
      if (partitions.length === 0 && groups.length === 0) break;
      this.log.debug({ transactionalId: id, partitions: partitions.length, groups: groups.length, backoffMs }, 'retrying transaction markers');
      await this.sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, MARKER_BACKOFF_MS_MAX);
      if (this.closed) return false;
    }
    try {
      return await this.serialize(id, async () => {
        if (!this.owns(id)) return false;
        const cur = await this.load(id);
        if (!cur || cur.modRevision !== start.modRevision) {
          this.log.warn({ transactionalId: id }, 'transaction record changed while its markers were written; not completing it');
          return false;
        }
        const now = this.opts.now();
        const e = await this.write(completeRecord(cur.record, now), cur);
        if (e) {
          this.log.debug({ transactionalId: id, state: e.record.state }, 'transaction completed');
          this.opts.onCompleted?.(e.record.state === 'CompleteCommit', cur.record.txnStartMs >= 0 ? now - cur.record.txnStartMs : -1);
        }
        return e !== null;
      });
    } catch (err) {
      if (err instanceof InvariantError) throw err;
      this.cache.delete(id);
      this.log.warn({ err, transactionalId: id }, 'writing the transaction completion failed; the scan retries');
      return false;
    }
  }

  // ---- scan --------------------------------------------------------------------------------------

  private tick(): void {
    if (this.scanRunning || this.closed) return;
    this.scanRunning = true;
    void this.scanNow().catch((err: unknown) => {
      if (err instanceof InvariantError) throw err;
      this.log.warn({ err }, 'transaction scan failed');
    }).finally(() => { this.scanRunning = false; });
  }

  private async scanOnce(): Promise<void> {
    if (this.closed) return;
    let listing: Awaited<ReturnType<TransactionStore['list']>>;
    try {
      listing = await this.txns.list();
    } catch (err) {
      if (err instanceof InvariantError) throw err;
      this.log.warn({ err }, 'transaction scan: listing the metadata store failed');
      return;
    }
    for (const b of listing.bad) this.log.error({ key: b.key, err: b.error }, 'transaction scan: unreadable transaction record');
    const now = this.opts.now();
    const seen = new Set<string>();
    const work: Promise<void>[] = [];
    for (const listed of listing.entries) {
      const id = listed.record.transactionalId;
      seen.add(id);
      if (!this.owns(id)) {
        this.cache.delete(id);
        continue;
      }
      this.remember(listed);
      const e = this.cache.get(id)!;
      const r = e.record;
      if (isPrepare(r.state)) {
        if (!this.completions.has(id)) {
          this.log.info({ transactionalId: id, state: r.state }, 'resuming transaction markers');
          void this.ensureCompletion(e);
        }
      } else if (isTimedOut(r, now)) {
        work.push(this.abortTimedOut(id));
      } else if (isExpirable(r, now, this.opts.transactionalIdExpirationMs)) {
        work.push(this.expire(id));
      }
    }
    // Records deleted behind our back (expired by another owner).
    for (const [id, c] of this.cache) {
      if (!seen.has(id) && c.modRevision <= listing.revision) this.cache.delete(id);
    }
    await Promise.all(work);
  }

  /** Kafka's abortTimedOutTransactions: fence with a bumped epoch and abort. */
  private async abortTimedOut(id: string): Promise<void> {
    try {
      await this.serialize(id, async () => {
        if (!this.owns(id)) return;
        const cur = await this.load(id);
        if (!cur || !isTimedOut(cur.record, this.opts.now())) return;
        const e = await this.write(fenceRecord(cur.record, this.opts.now(), true), cur);
        if (!e) return;
        this.log.info({ transactionalId: id, producerId: e.record.producerId, producerEpoch: e.record.producerEpoch },
          'aborting a timed-out transaction with the bumped epoch');
        this.opts.onTimedOut?.();
        void this.ensureCompletion(e);
      });
    } catch (err) {
      this.errorCodeOf(err, id, 'timeout abort');
    }
  }

  private async expire(id: string): Promise<void> {
    try {
      await this.serialize(id, async () => {
        if (!this.owns(id)) return;
        const cur = await this.load(id);
        if (!cur || !isExpirable(cur.record, this.opts.now(), this.opts.transactionalIdExpirationMs)) return;
        const deleted = await this.txns.delete(cur);
        this.cache.delete(id);
        if (deleted) this.log.info({ transactionalId: id, producerId: cur.record.producerId }, 'transactional id expired');
      });
    } catch (err) {
      this.errorCodeOf(err, id, 'expiration');
    }
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  private owns(id: string): boolean {
    if (!this.closed && this.opts.owns(id)) return true;
    this.cache.delete(id);
    return false;
  }

  private validId(id: string): boolean {
    return typeof id === 'string' && id.length > 0 && this.txns.keyFits(id);
  }

  /** Runs fn after every earlier operation on the id has settled. */
  private serialize<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(id) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.then(() => undefined, () => undefined);
    this.queues.set(id, tail);
    void tail.then(() => { if (this.queues.get(id) === tail) this.queues.delete(id); });
    return run;
  }

  private async load(id: string): Promise<StoredTxn | null> {
    const cached = this.cache.get(id);
    if (cached) return cached;
    const e = await this.txns.get(id);
    if (e) this.remember(e);
    return e;
  }

  private remember(e: StoredTxn): void {
    const id = e.record.transactionalId;
    const cached = this.cache.get(id);
    if (!cached || cached.modRevision < e.modRevision) this.cache.set(id, e);
  }

  /** Compare-and-put; null (and the cache entry dropped) when another writer got there first. */
  private async write(next: TxnRecord, prev: StoredTxn | null): Promise<StoredTxn | null> {
    const id = next.transactionalId;
    let e: StoredTxn | null;
    try {
      e = await this.txns.put(next, prev);
    } catch (err) {
      this.cache.delete(id); // the write may have applied (MetadataUnavailableError.mayHaveApplied): re-read next time
      throw err;
    }
    if (!e) {
      this.cache.delete(id);
      this.log.warn({ transactionalId: id, state: next.state }, 'transaction record changed in the store: another coordinator took over');
      return null;
    }
    this.cache.set(id, e);
    return e;
  }

  private async nextProducerId(): Promise<number> {
    const pid = await this.opts.producerIds.next();
    assert(pid >= 0n && pid <= BigInt(Number.MAX_SAFE_INTEGER), `producer id ${pid} out of range`);
    return Number(pid);
  }

  /** The answer for a failure inside an operation; invariant violations are rethrown. */
  private errorCodeOf(err: unknown, id: string, what: string): number {
    if (err instanceof InvariantError) throw err;
    this.cache.delete(id);
    if (err instanceof MetadataLimitError) {
      this.log.error({ err, transactionalId: id }, `${what}: the transaction record exceeds the metadata store's limits`);
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    }
    if (err instanceof MetadataStoreError) {
      this.log.warn({ err, transactionalId: id }, `${what}: metadata store failed`);
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    this.log.error({ err, transactionalId: id }, `${what} failed`);
    return ErrorCode.UNKNOWN_SERVER_ERROR;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleeps.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref(); // marker retries alone do not keep a process alive; close() ends them
      this.sleeps.add(wake);
    });
  }

}

/** Kafka's handleVerifyPartitionsInTransaction for one partition. */
function verifyCode(r: TxnRecord | null, producerId: number, producerEpoch: number, tp: TxnTopicPartition): number {
  if (!r || r.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
  if (r.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
  if (isPrepare(r.state)) return ErrorCode.CONCURRENT_TRANSACTIONS;
  return r.partitions.some((x) => x.topic === tp.topic && x.partition === tp.partition) ? ErrorCode.NONE : ErrorCode.TRANSACTION_ABORTABLE;
}
