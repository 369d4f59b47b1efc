// The transaction coordinator's state machine, pure: one transactional id's durable record and
// the transitions Kafka's TransactionMetadata.scala allows, as functions from (record, request)
// to the next record or an error code. No I/O, no clock (callers pass nowMs), no producer-id
// allocation (a plan says when it needs a new producer id).
//
// States (Kafka's TransactionState.scala; Dead is never stored, an expired id's key is deleted;
// Kafka's transient PrepareEpochFence is a PrepareAbort whose marker epoch is the bumped epoch):
//   Empty          <- Empty, CompleteCommit, CompleteAbort        (InitProducerId)
//   Ongoing        <- Ongoing, Empty, CompleteCommit, CompleteAbort (AddPartitions/AddOffsets)
//   PrepareCommit  <- Ongoing                                     (EndTxn commit)
//   PrepareAbort   <- Ongoing                                     (EndTxn abort, fence, timeout)
//   CompleteCommit <- PrepareCommit                               (markers written)
//   CompleteAbort  <- PrepareAbort
//
// API: type TxnRecord, StoredStateName; NO_PRODUCER_ID, NO_PRODUCER_EPOCH, PRODUCER_EPOCH_MAX,
//      isEpochExhausted(epoch); newRecord; planInit / rotateProducerId; planAdd; planEnd;
//      fenceRecord; completeRecord; isPrepare; isExpirable; isTimedOut; recordProblem(value) ->
//      string | null; checkTransition(prev, next) (asserts); sameMembers; STATE_NAMES

import { assert } from '../common/assert.js';
import { ErrorCode } from '../protocol/errors.js';
import type { TxnStateName, TxnTopicPartition } from './types.js';

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
/** Short.MaxValue: only ever reached by a fence (the abort of a timed-out or superseded txn). */
export const PRODUCER_EPOCH_MAX = 32767;

/** Kafka's TransactionMetadata.isEpochExhausted: clients never get Short.MaxValue, so a fence always fits. */
export function isEpochExhausted(epoch: number): boolean {
  return epoch >= PRODUCER_EPOCH_MAX - 1;
}

export type StoredStateName = Exclude<TxnStateName, 'Dead'>;

/** Every state name Kafka knows (ListTransactions filters): ours plus Kafka's transient PrepareEpochFence. */
export const STATE_NAMES: ReadonlySet<string> = new Set<string>([
  'Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead', 'PrepareEpochFence',
]);

/** One transactional id's durable state (the JSON value at MetadataKeys.transaction(id)). */
export interface TxnRecord {
  transactionalId: string;
  /** Producer ids are safe integers (ProducerIdAllocator); bigint only at the API edge. */
  producerId: number;
  /** Kafka's previousProducerId: set by InitProducerId (the id before a rotation, else the same id). */
  lastProducerId: number;
  producerEpoch: number;
  /** The epoch a retried InitProducerId may present (KIP-360), or -1. */
  lastProducerEpoch: number;
  timeoutMs: number;
  state: StoredStateName;
  /** Sorted by topic then partition, no duplicates. Empty unless Ongoing or Prepare*. */
  partitions: TxnTopicPartition[];
  /** Sorted, no duplicates: the groups of AddOffsetsToTxn. */
  groups: string[];
  /** When the first partition or group was added; -1 while Empty. */
  txnStartMs: number;
  lastUpdateMs: number;
  /** Prepare* only: the producer epoch the markers carry (the bumped one after a fence); else -1. */
  markerEpoch: number;
  /** Counts this id's transaction ends; the markers carry it so a partition rejects an older coordinator's late markers. */
  coordinatorEpoch: number;
}

const VALID_PREVIOUS: Record<StoredStateName, readonly StoredStateName[]> = {
  Empty: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  Ongoing: ['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareCommit: ['Ongoing'],
  PrepareAbort: ['Ongoing'],
  CompleteCommit: ['PrepareCommit'],
  CompleteAbort: ['PrepareAbort'],
};

export function isPrepare(state: StoredStateName): state is 'PrepareCommit' | 'PrepareAbort' {
  return state === 'PrepareCommit' || state === 'PrepareAbort';
}

/** Kafka's isExpirationAllowed plus shouldExpire: idle long enough in Empty or Complete*. */
export function isExpirable(r: TxnRecord, nowMs: number, expirationMs: number): boolean {
  return (r.state === 'Empty' || r.state === 'CompleteCommit' || r.state === 'CompleteAbort')
    && r.lastUpdateMs <= nowMs - expirationMs;
}

/** Kafka's timedOutTransactions: Ongoing for longer than its timeout. */
export function isTimedOut(r: TxnRecord, nowMs: number): boolean {
  return r.state === 'Ongoing' && r.txnStartMs + r.timeoutMs < nowMs;
}

export function newRecord(transactionalId: string, producerId: number, timeoutMs: number, nowMs: number): TxnRecord {
  const r: TxnRecord = {
    transactionalId, producerId, lastProducerId: NO_PRODUCER_ID, producerEpoch: 0, lastProducerEpoch: NO_PRODUCER_EPOCH,
    timeoutMs, state: 'Empty', partitions: [], groups: [], txnStartMs: -1, lastUpdateMs: nowMs, markerEpoch: -1, coordinatorEpoch: 0,
  };
  assertRecord(r);
  return r;
}

// ---- InitProducerId ----------------------------------------------------------------------------

export interface ExpectedProducer { producerId: number; producerEpoch: number }

export type InitPlan =
  | { kind: 'error'; errorCode: number }
  /** Prepare*: the markers must finish first (Kafka answers CONCURRENT_TRANSACTIONS at once). */
  | { kind: 'wait' }
  /** Ongoing: abort it with the epoch bumped (Kafka's PrepareEpochFence), then init again. */
  | { kind: 'fence'; next: TxnRecord }
  /** The epoch is exhausted: a new producer id at epoch 0 (call rotateProducerId with it). */
  | { kind: 'rotate'; lastProducerEpoch: number }
  | { kind: 'write'; next: TxnRecord };

/** Kafka's prepareInitProducerIdTransit + prepareIncrementProducerEpoch for an existing id. */
export function planInit(r: TxnRecord, timeoutMs: number, expected: ExpectedProducer | null, nowMs: number): InitPlan {
  // isValidProducerId: the current id, or the previous one with an exhausted epoch (a retry of a
  // rotation whose answer was lost). The epoch is checked below.
  if (expected && !(expected.producerId === r.producerId
      || (expected.producerId === r.lastProducerId && isEpochExhausted(expected.producerEpoch)))) {
    return { kind: 'error', errorCode: ErrorCode.PRODUCER_FENCED };
  }
  switch (r.state) {
    case 'PrepareCommit':
    case 'PrepareAbort':
      return { kind: 'wait' };
    case 'Ongoing':
      // A new producer instance fences the old one: Kafka clears lastProducerEpoch here, so the
      // zombie cannot pass the KIP-360 retry check afterwards.
      return { kind: 'fence', next: fenceRecord(r, nowMs, false) };
    case 'Empty':
    case 'CompleteCommit':
    case 'CompleteAbort': {
      if (isEpochExhausted(r.producerEpoch)) {
        // Kafka rotates when no epoch is given or it equals the current one. Kafka would throw on a
        // retry (expected == lastProducerEpoch) with an exhausted current epoch; rotating is the
        // safe answer (the caller is the current producer, and 32767 must never be handed out).
        if (!expected || expected.producerEpoch === r.producerEpoch || expected.producerEpoch === r.lastProducerEpoch) {
          return { kind: 'rotate', lastProducerEpoch: expected ? expected.producerEpoch : NO_PRODUCER_EPOCH };
        }
        return { kind: 'error', errorCode: ErrorCode.PRODUCER_FENCED };
      }
      let epoch: number;
      let lastEpoch: number;
      if (!expected) {
        epoch = r.producerEpoch + 1;
        lastEpoch = NO_PRODUCER_EPOCH;
      } else if (expected.producerEpoch === r.producerEpoch) {
        // The producer continues after an error (KIP-360) and no other producer was initialized.
        epoch = r.producerEpoch + 1;
        lastEpoch = r.producerEpoch;
      } else if (expected.producerEpoch === r.lastProducerEpoch) {
        // A retry of a call that succeeded (its answer was lost): hand out the current epoch again.
        epoch = r.producerEpoch;
        lastEpoch = r.lastProducerEpoch;
      } else {
        return { kind: 'error', errorCode: ErrorCode.PRODUCER_FENCED };
      }
      return {
        kind: 'write',
        next: {
          ...r, lastProducerId: r.producerId, producerEpoch: epoch, lastProducerEpoch: lastEpoch, timeoutMs, state: 'Empty',
          partitions: [], groups: [], txnStartMs: -1, lastUpdateMs: nowMs, markerEpoch: -1,
        },
      };
    }
  }
}

/** Kafka's prepareProducerIdRotation. */
export function rotateProducerId(r: TxnRecord, producerId: number, lastProducerEpoch: number, timeoutMs: number, nowMs: number): TxnRecord {
  assert(r.state === 'Empty' || r.state === 'CompleteCommit' || r.state === 'CompleteAbort', `rotating the producer id of ${r.transactionalId} in ${r.state}`);
  assert(producerId !== r.producerId, `rotation of ${r.transactionalId} to the same producer id ${producerId}`);
  return {
    ...r, producerId, lastProducerId: r.producerId, producerEpoch: 0, lastProducerEpoch, timeoutMs, state: 'Empty',
    partitions: [], groups: [], txnStartMs: -1, lastUpdateMs: nowMs, markerEpoch: -1,
  };
}

/**
 * Kafka's prepareFenceProducerEpoch followed by the PrepareAbort of endTransaction(isFromClient =
 * false): the epoch is bumped and the markers carry the bumped epoch, so the partitions fence the
 * old producer. keepLastEpoch (timeouts) remembers the old epoch so the same producer may recover
 * with InitProducerId(producerId, oldEpoch) (KIP-360's retry check); an InitProducerId fence
 * (a new producer instance) clears it, as Kafka does.
 */
export function fenceRecord(r: TxnRecord, nowMs: number, keepLastEpoch: boolean): TxnRecord {
  assert(r.state === 'Ongoing', `fencing ${r.transactionalId} in ${r.state}`);
  assert(r.producerEpoch < PRODUCER_EPOCH_MAX, `fencing ${r.transactionalId} at epoch ${r.producerEpoch} would overflow`);
  const epoch = r.producerEpoch + 1;
  return {
    ...r, producerEpoch: epoch, lastProducerEpoch: keepLastEpoch ? r.producerEpoch : NO_PRODUCER_EPOCH,
    state: 'PrepareAbort', markerEpoch: epoch, coordinatorEpoch: r.coordinatorEpoch + 1, lastUpdateMs: nowMs,
  };
}

// ---- AddPartitionsToTxn / AddOffsetsToTxn --------------------------------------------------------

export type AddPlan = { kind: 'error'; errorCode: number } | { kind: 'none' } | { kind: 'write'; next: TxnRecord };

/** Kafka's handleAddPartitionsToTransaction checks and prepareAddPartitions. */
export function planAdd(
  r: TxnRecord, producerId: number, producerEpoch: number, partitions: readonly TxnTopicPartition[], groups: readonly string[], nowMs: number,
): AddPlan {
  if (r.producerId !== producerId) return { kind: 'error', errorCode: ErrorCode.INVALID_PRODUCER_ID_MAPPING };
  if (r.producerEpoch !== producerEpoch) return { kind: 'error', errorCode: ErrorCode.PRODUCER_FENCED };
  if (isPrepare(r.state)) return { kind: 'error', errorCode: ErrorCode.CONCURRENT_TRANSACTIONS };
  const allPartitions = unionPartitions(r.partitions, partitions);
  const allGroups = [...new Set([...r.groups, ...groups])].sort();
  if (r.state === 'Ongoing' && allPartitions.length === r.partitions.length && allGroups.length === r.groups.length) {
    return { kind: 'none' }; // already in the transaction
  }
  const starting = r.state !== 'Ongoing';
  return {
    kind: 'write',
    next: {
      ...r, state: 'Ongoing', partitions: allPartitions, groups: allGroups,
      txnStartMs: starting ? nowMs : r.txnStartMs, lastUpdateMs: nowMs,
    },
  };
}

// ---- EndTxn --------------------------------------------------------------------------------------

export type EndPlan =
  | { kind: 'error'; errorCode: number }
  /** A retry of an end that completed: NONE with the current producer id and epoch. */
  | { kind: 'done' }
  | { kind: 'write'; next: TxnRecord };

/** Kafka's endTransaction(isFromClient = true) for transaction version 0/1 (no epoch bump per end). */
export function planEnd(r: TxnRecord, producerId: number, producerEpoch: number, commit: boolean, nowMs: number): EndPlan {
  if (r.producerId !== producerId) return { kind: 'error', errorCode: ErrorCode.INVALID_PRODUCER_ID_MAPPING };
  if (r.producerEpoch !== producerEpoch) return { kind: 'error', errorCode: ErrorCode.PRODUCER_FENCED };
  switch (r.state) {
    case 'Ongoing':
      return {
        kind: 'write',
        next: {
          ...r, state: commit ? 'PrepareCommit' : 'PrepareAbort', markerEpoch: r.producerEpoch,
          coordinatorEpoch: r.coordinatorEpoch + 1, lastUpdateMs: nowMs,
        },
      };
    case 'CompleteCommit':
      return commit ? { kind: 'done' } : { kind: 'error', errorCode: ErrorCode.INVALID_TXN_STATE };
    case 'CompleteAbort':
      return !commit ? { kind: 'done' } : { kind: 'error', errorCode: ErrorCode.INVALID_TXN_STATE };
    case 'PrepareCommit':
      return { kind: 'error', errorCode: commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE };
    case 'PrepareAbort':
      return { kind: 'error', errorCode: !commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE };
    case 'Empty':
      return { kind: 'error', errorCode: ErrorCode.INVALID_TXN_STATE };
  }
}

/** Kafka's prepareComplete: every marker is written. Partitions and groups are cleared. */
export function completeRecord(r: TxnRecord, nowMs: number): TxnRecord {
  assert(isPrepare(r.state), `completing ${r.transactionalId} in ${r.state}`);
  return {
    ...r, state: r.state === 'PrepareCommit' ? 'CompleteCommit' : 'CompleteAbort', partitions: [], groups: [],
    markerEpoch: -1, lastUpdateMs: nowMs,
  };
}

// ---- checks --------------------------------------------------------------------------------------

function comparePartitions(a: TxnTopicPartition, b: TxnTopicPartition): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  return a.partition - b.partition;
}

function unionPartitions(a: readonly TxnTopicPartition[], b: readonly TxnTopicPartition[]): TxnTopicPartition[] {
  const all = [...a, ...b].map((tp) => ({ topic: tp.topic, partition: tp.partition })).sort(comparePartitions);
  return all.filter((tp, i) => i === 0 || comparePartitions(all[i - 1]!, tp) !== 0);
}

function isSubset<T>(small: readonly T[], big: readonly T[], key: (x: T) => string): boolean {
  const keys = new Set(big.map(key));
  return small.every((x) => keys.has(key(x)));
}

export function sameMembers<T>(a: readonly T[], b: readonly T[], key: (x: T) => string): boolean {
  return a.length === b.length && isSubset(a, b, key);
}

const tpKey = (tp: TxnTopicPartition): string => `${tp.partition}:${tp.topic}`;
const id = (s: string): string => s;

const isInt = (x: unknown, min: number, max = Number.MAX_SAFE_INTEGER): x is number =>
  typeof x === 'number' && Number.isSafeInteger(x) && x >= min && x <= max;

/** What is wrong with a record (read from the store or about to be written), or null. */
export function recordProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null) return 'not an object';
  const r = v as Partial<TxnRecord>;
  if (typeof r.transactionalId !== 'string' || r.transactionalId.length === 0) return 'bad transactionalId';
  if (!isInt(r.producerId, 0)) return `bad producerId ${String(r.producerId)}`;
  if (!isInt(r.lastProducerId, NO_PRODUCER_ID)) return `bad lastProducerId ${String(r.lastProducerId)}`;
  if (!isInt(r.producerEpoch, 0, PRODUCER_EPOCH_MAX)) return `bad producerEpoch ${String(r.producerEpoch)}`;
  if (!isInt(r.lastProducerEpoch, NO_PRODUCER_EPOCH, PRODUCER_EPOCH_MAX)) return `bad lastProducerEpoch ${String(r.lastProducerEpoch)}`;
  if (!isInt(r.timeoutMs, 1, 2 ** 31 - 1)) return `bad timeoutMs ${String(r.timeoutMs)}`;
  if (typeof r.state !== 'string' || !(r.state in VALID_PREVIOUS)) return `bad state ${String(r.state)}`;
  if (!Array.isArray(r.partitions)) return 'bad partitions';
  for (let i = 0; i < r.partitions.length; i++) {
    const tp = r.partitions[i] as TxnTopicPartition | undefined;
    if (typeof tp !== 'object' || tp === null || typeof tp.topic !== 'string' || !isInt(tp.partition, 0, 2 ** 31 - 1)) return `bad partition #${i}`;
    if (i > 0 && comparePartitions(r.partitions[i - 1]!, tp) >= 0) return 'partitions not sorted and unique';
  }
  if (!Array.isArray(r.groups)) return 'bad groups';
  for (let i = 0; i < r.groups.length; i++) {
    if (typeof r.groups[i] !== 'string') return `bad group #${i}`;
    if (i > 0 && r.groups[i - 1]! >= r.groups[i]!) return 'groups not sorted and unique';
  }
  if (!isInt(r.txnStartMs, -1)) return `bad txnStartMs ${String(r.txnStartMs)}`;
  if (!isInt(r.lastUpdateMs, 0)) return `bad lastUpdateMs ${String(r.lastUpdateMs)}`;
  if (!isInt(r.markerEpoch, -1, PRODUCER_EPOCH_MAX)) return `bad markerEpoch ${String(r.markerEpoch)}`;
  if (!isInt(r.coordinatorEpoch, 0, 2 ** 31 - 1)) return `bad coordinatorEpoch ${String(r.coordinatorEpoch)}`;
  const inTxn = r.state === 'Ongoing' || isPrepare(r.state);
  if (!inTxn && (r.partitions.length > 0 || r.groups.length > 0)) return `${r.state} with partitions or groups`;
  if (r.state === 'Empty' && r.txnStartMs !== -1) return 'Empty with a start time';
  if (inTxn && r.txnStartMs < 0) return `${r.state} without a start time`;
  if (isPrepare(r.state) !== (r.markerEpoch >= 0)) return `${r.state} with marker epoch ${r.markerEpoch}`;
  if (isPrepare(r.state) && r.markerEpoch !== r.producerEpoch) return `marker epoch ${r.markerEpoch} is not the producer epoch ${r.producerEpoch}`;
  return null;
}

function assertRecord(r: TxnRecord): void {
  const problem = recordProblem(r);
  assert(problem === null, `transaction record of ${JSON.stringify(r.transactionalId)}: ${problem}`);
}

/**
 * The invariants of one durable transition (Kafka's completeTransitionTo): only legal state
 * changes; an epoch never goes backwards for a producer id and moves by at most one; a new
 * producer id starts at epoch 0 and remembers the old one.
 */
export function checkTransition(prev: TxnRecord | null, next: TxnRecord): void {
  assertRecord(next);
  const what = `transaction ${JSON.stringify(next.transactionalId)}`;
  if (prev === null) {
    assert(next.state === 'Empty' && next.producerEpoch === 0, `${what}: created in ${next.state} at epoch ${next.producerEpoch}`);
    return;
  }
  assert(prev.transactionalId === next.transactionalId, `${what}: record of ${prev.transactionalId} replaced`);
  assert(VALID_PREVIOUS[next.state].includes(prev.state), `${what}: illegal transition ${prev.state} -> ${next.state}`);
  if (next.producerId === prev.producerId) {
    assert(next.producerEpoch === prev.producerEpoch || next.producerEpoch === prev.producerEpoch + 1,
      `${what}: producer ${next.producerId} epoch ${prev.producerEpoch} -> ${next.producerEpoch}`);
  } else {
    assert(next.state === 'Empty' && next.producerEpoch === 0 && next.lastProducerId === prev.producerId,
      `${what}: producer id ${prev.producerId} -> ${next.producerId} in ${next.state} at epoch ${next.producerEpoch}`);
  }
  switch (next.state) {
    case 'Empty':
      break;
    case 'Ongoing':
      assert(next.producerEpoch === prev.producerEpoch && next.timeoutMs === prev.timeoutMs, `${what}: Ongoing changed the epoch or timeout`);
      assert(isSubset(prev.partitions, next.partitions, tpKey) && isSubset(prev.groups, next.groups, id), `${what}: Ongoing dropped partitions or groups`);
      break;
    case 'PrepareCommit':
    case 'PrepareAbort':
      assert(next.producerEpoch === prev.producerEpoch || next.state === 'PrepareAbort', `${what}: PrepareCommit bumped the epoch`);
      assert(sameMembers(prev.partitions, next.partitions, tpKey) && sameMembers(prev.groups, next.groups, id), `${what}: ${next.state} changed the partitions or groups`);
      assert(next.txnStartMs === prev.txnStartMs && next.timeoutMs === prev.timeoutMs, `${what}: ${next.state} changed the start or timeout`);
      assert(next.coordinatorEpoch === prev.coordinatorEpoch + 1, `${what}: ${next.state} did not count the coordinator epoch`);
      break;
    case 'CompleteCommit':
    case 'CompleteAbort':
      assert(next.producerEpoch === prev.producerEpoch && next.coordinatorEpoch === prev.coordinatorEpoch, `${what}: ${next.state} changed the epochs`);
      break;
  }
}
