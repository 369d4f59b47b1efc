/**
 * The transaction coordinator's vocabulary, shared by the coordinator (src/txn), the handlers
 * (src/broker) and the process that wires marker delivery (src/node).
 *
 * Kafka's states (TransactionState.scala): Empty -> Ongoing -> PrepareCommit|PrepareAbort ->
 * CompleteCommit|CompleteAbort -> Ongoing ...; Dead once an idle id expires. PrepareEpochFence
 * is Kafka's transient "abort with a bumped epoch" (InitProducerId or a timeout while Ongoing):
 * here it is a PrepareAbort whose markers carry the bumped epoch.
 */
export type TxnStateName =
  | 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort' | 'Dead';

export interface TxnTopicPartition {
  topic: string;
  partition: number;
}

/** One transaction's end, to be written as control batches (markers). */
export interface MarkerRequest {
  transactionalId: string;
  producerId: bigint;
  /** The epoch the markers carry (bumped when a timeout or a new producer fenced the old one). */
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  /** Data partitions of the transaction. */
  partitions: TxnTopicPartition[];
  /** Groups whose transactional offset commits become visible (commit) or are dropped (abort). */
  groups: string[];
}

/** Result of one marker delivery attempt: what still needs a marker (retried by the coordinator). */
export interface MarkerResult {
  /** Partitions not written, with why (not the leader, unavailable, ...). Empty: all durable. */
  failedPartitions: { tp: TxnTopicPartition; errorCode: number }[];
  failedGroups: { groupId: string; errorCode: number }[];
}

/**
 * Writes the markers of one transaction end: to each partition's leader (a control batch through
 * the normal append path) and to each group's coordinator. Resolves once every marker it reports
 * as written is durable; the coordinator retries the failed ones until all are written. A
 * partition whose topic no longer exists counts as written.
 */
export interface MarkerWriter {
  write(req: MarkerRequest): Promise<MarkerResult>;
}

/** Kafka's control record types (ControlRecordType.java): the key's second int16. */
export const CONTROL_TYPE_ABORT = 0;
export const CONTROL_TYPE_COMMIT = 1;

/** What the Kafka handlers call of the transaction coordinator (transaction-coordinator.ts implements it). */
export interface TransactionCoordinatorApi {
  initProducerId(p: { transactionalId: string; transactionTimeoutMs: number; producerId: bigint; producerEpoch: number; apiVersion: number }):
    Promise<{ errorCode: number; producerId: bigint; producerEpoch: number }>;
  addPartitions(p: { transactionalId: string; producerId: bigint; producerEpoch: number; partitions: TxnTopicPartition[]; verifyOnly: boolean; apiVersion: number }):
    Promise<{ tp: TxnTopicPartition; errorCode: number }[]>;
  addOffsets(p: { transactionalId: string; producerId: bigint; producerEpoch: number; groupId: string; apiVersion: number }): Promise<number>;
  endTxn(p: { transactionalId: string; producerId: bigint; producerEpoch: number; committed: boolean; apiVersion: number }):
    Promise<{ errorCode: number; producerId: bigint; producerEpoch: number }>;
  /** KIP-890: NONE when `tp` is in the ongoing transaction of exactly (producerId, producerEpoch); works on any broker. */
  verify(p: { transactionalId: string; producerId: bigint; producerEpoch: number; tp: TxnTopicPartition }): Promise<number>;
  describe(ids: string[]): Promise<Array<{
    transactionalId: string; errorCode: number; transactionState: string; transactionTimeoutMs: number;
    transactionStartTimeMs: bigint; producerId: bigint; producerEpoch: number; topics: { topic: string; partitions: number[] }[];
  }>>;
  list(p: { stateFilters: string[]; producerIdFilters: bigint[]; durationFilterMs: bigint }): Promise<{
    errorCode: number; unknownStateFilters: string[]; transactionStates: { transactionalId: string; producerId: bigint; transactionState: string }[];
  }>;
}
