/**
 * Produce (api key 0), versions 0–11.
 *
 * Versions 0–2 carry the old message formats (magic 0 and 1), which Ferry does not store: such
 * partitions are answered UNSUPPORTED_FOR_MESSAGE_FORMAT. They are advertised anyway because
 * librdkafka up to 2.11 only compresses gzip, snappy and lz4 when the broker lists Produce v0
 * (it checks the range 0..0 for those codecs); without it those clients silently send
 * uncompressed batches. Every current client uses v3+ with record batches (magic 2).
 *
 * Per partition: validate every batch (header, CRC-32C, size against max.message.bytes),
 * check idempotent-producer sequences, assign offsets by rewriting baseOffset and
 * partitionLeaderEpoch in place, write one WAL entry, and answer after the fsync. Records are
 * never decoded or recompressed. Errors are per partition; nothing of a rejected partition is
 * written. acks=0 gets no response at all; acks=1 and acks=-1 both wait for the fsync.
 * Produce to an unknown topic answers UNKNOWN_TOPIC_OR_PARTITION and, when auto-creation is
 * on, creates it in the background (the client retries after refreshing metadata).
 *
 * ACLs (Kafka's): transactional batches need WRITE on the transactional id (else the whole request
 * is TRANSACTIONAL_ID_AUTHORIZATION_FAILED); each topic needs WRITE (TOPIC_AUTHORIZATION_FAILED,
 * checked before existence). An idempotent producer needs nothing more here: InitProducerId checked
 * it. The background auto-creation also needs CREATE on the cluster or the topic.
 */
import { ErrorCode } from '../protocol/errors.js';
import { clientRackFromClientId } from '../protocol/client-id.js';
import { BATCH_HEADER_BYTES, BatchView, parseBatches } from '../protocol/record-batch.js';
import type { ProduceRequest, ProduceResponse } from '../protocol/messages/produce.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { isFatalAppendError, type PartitionState } from '../log/log-manager.js';
import type { SequencedBatch } from '../log/producer-state.js';
import { requestAcl, type RequestAcl } from './authorize.js';
import { checkRecordKeys } from './compacted-keys.js';
import { checkRecordSchemas, type SchemaCheck, type SchemaCheckFailure } from './schema-validation.js';
import { zoneLeaderFor } from './zone-forward.js';
import type { ProduceProxy } from './produce-proxy.js';

type PartitionResponse = NonNullable<DeepPartial<ProduceResponse>['responses']>[number]['partitionResponses'];
type PartitionResult = NonNullable<PartitionResponse>[number];

export const PRODUCE_VERSIONS = { min: 0, max: 11 } as const;

/**
 * Who sent a produce: a client connected here, or a zone-local proxy broker that staged the
 * client's batches in the object store (the proxy checked the client's ACLs and counts its bytes).
 */
export interface ProduceOrigin {
  acl: RequestAcl;
  /** The client's bytes came through a proxy broker (object store), not over this connection. */
  proxied: boolean;
}

export function makeProduceHandler(b: BrokerContext, proxy?: ProduceProxy) {
  return async (ctx: RequestContext, req: ProduceRequest): Promise<DeepPartial<ProduceResponse> | null> =>
    produceRecords(b, ctx, req, { acl: requestAcl(b, ctx), proxied: false }, proxy);
}

/** Produce, for a client here or for a proxy broker (src/broker/proxy-produce-api.ts). */
export async function produceRecords(b: BrokerContext, ctx: RequestContext, req: ProduceRequest, origin: ProduceOrigin, proxy?: ProduceProxy): Promise<DeepPartial<ProduceResponse> | null> {
  const pending: Promise<void>[] = [];
  const acl = origin.acl;
  const txnDenied = acl.enabled && carriesTransactionalBatch(req) && (req.transactionalId === null || !acl.allowed('WRITE', 'TRANSACTIONAL_ID', req.transactionalId));
  const responses = req.topicData.map((topic) => ({
    name: topic.name,
    partitionResponses: topic.partitionData.map((p) => {
      const result: PartitionResult = { index: p.index, errorCode: ErrorCode.NONE, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n };
      if (txnDenied) result.errorCode = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
      else if (!acl.allowed('WRITE', 'TOPIC', topic.name)) result.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      if (result.errorCode !== ErrorCode.NONE) return result;
      const via = proxy && !origin.proxied ? zoneLeaderFor(b, ctx, b.topics.byName(topic.name), p.index) : null;
      const settle = via !== null
        ? proxy!.stage(ctx, req, topic.name, p.index, via, p.records, result)
        : appendPartition(b, ctx, acl, req, topic.name, p.index, p.records, result, origin);
      if (settle) pending.push(settle);
      return result;
    }),
  }));
  if (req.acks === 0) {
    // Nothing is sent back; failures are only logged.
    void Promise.all(pending).catch((err) => ctx.log.warn({ err }, 'acks=0 produce failed'));
    return null;
  }
  await Promise.all(pending);
  return { responses, throttleTimeMs: 0 };
}

/** Whether any partition's first batch is transactional (Kafka's RequestUtils.hasTransactionalRecords; mixed batches are refused per partition). */
function carriesTransactionalBatch(req: ProduceRequest): boolean {
  return req.topicData.some((t) => t.partitionData.some((p) => p.records !== null && p.records.length >= BATCH_HEADER_BYTES && new BatchView(p.records).isTransactional));
}

function fail(result: PartitionResult, code: number, message: string | null = null): undefined {
  result.errorCode = code;
  result.errorMessage = message;
  return undefined;
}

/**
 * Validates and issues the append synchronously (so offsets follow request order); returns a
 * promise that fills `result` once durable, or undefined when the partition failed up front.
 */
function appendPartition(
  b: BrokerContext, ctx: RequestContext, acl: RequestAcl, req: ProduceRequest, topicName: string, partition: number,
  records: Buffer | null, result: PartitionResult, origin: ProduceOrigin,
): Promise<void> | undefined {
  const topic = b.topics.byName(topicName);
  if (!topic) {
    const mayCreate = () => acl.allowedOnCluster('CREATE') || acl.allowed('CREATE', 'TOPIC', topicName);
    if (b.limits.autoCreateTopics && mayCreate()) b.topics.autoCreate(topicName).catch((err) => ctx.log.warn({ err, topic: topicName }, 'auto-create failed'));
    return fail(result, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  if (partition < 0 || partition >= topic.partitionCount) return fail(result, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  // Fencing: only the leader at its current epoch, with a safe lease and no move pending, appends.
  const epoch = b.leadership.acceptsWrites(topic.topicId, partition);
  const st = b.logs.get(topic.topicId, partition);
  if (epoch === null || !st || st.log.leaderEpoch !== epoch) return fail(result, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  if (!records || records.length === 0) return fail(result, ErrorCode.INVALID_RECORD, 'no record batch');

  // The topic's max.message.bytes, within what one WAL record can hold (a tiny WAL only).
  const batchBytesMax = Math.min(topic.maxMessageBytes, b.logs.batchBytesMax);
  const parsed = parseBatches(records, { batchBytesMax });
  if (!Array.isArray(parsed)) {
    ctx.log.info({ topic: topicName, partition, code: parsed.errorCode, reason: parsed.message }, 'produce batch rejected');
    return fail(result, parsed.errorCode, parsed.message);
  }
  if (parsed.length === 0) return fail(result, ErrorCode.INVALID_RECORD, 'no record batch');
  const transactional = parsed[0].isTransactional;
  for (const batch of parsed) {
    if (batch.isControl) return fail(result, ErrorCode.INVALID_RECORD, 'control batches are written by the broker only');
    if (batch.isTransactional !== transactional) return fail(result, ErrorCode.INVALID_RECORD, 'transactional and non-transactional batches in one produce');
  }
  if (transactional && (req.transactionalId === null || parsed[0].producerId < 0n)) {
    return fail(result, ErrorCode.INVALID_RECORD, 'transactional batches need a transactional id and a producer id');
  }
  if (topic.compactPolicy) {
    const keys = checkRecordKeys(parsed, topicName, partition);
    if (keys) {
      ctx.log.info({ topic: topicName, partition, code: keys.errorCode, records: keys.recordErrors.length }, 'produce to a compacted topic rejected: records without a key');
      result.recordErrors = keys.recordErrors;
      return fail(result, keys.errorCode, keys.errorMessage);
    }
  }
  if (topic.keySchemaValidation || topic.valueSchemaValidation) {
    const schemas = b.schemas;
    if (!schemas) return fail(result, ErrorCode.INVALID_RECORD, `topic ${topicName} validates schemas but this broker has no schema registry`);
    const refused = (f: SchemaCheckFailure): undefined => {
      ctx.log.info({ topic: topicName, partition, code: f.errorCode, records: f.recordErrors.length }, 'produce rejected by schema validation');
      result.recordErrors = f.recordErrors;
      return fail(result, f.errorCode, f.errorMessage);
    };
    const counted = (c: SchemaCheck): SchemaCheckFailure | null => {
      b.metrics.schemaValidated(c.records, c.refused);
      return c.failure;
    };
    const first = checkRecordSchemas(schemas, parsed, topic, topicName, partition);
    if (first.failure && !first.failure.unknownId) return refused(counted(first)!);
    if (!first.failure) counted(first);
    // An id registered on another broker a moment ago: catch up with the store once, check again.
    if (first.failure) {
      return schemas.refresh().then(() => {
        const again = counted(checkRecordSchemas(schemas, parsed, topic, topicName, partition));
        if (again) return refused(again);
        return afterChecks(b, ctx, st, req, topic, topicName, partition, epoch, parsed, result, origin);
      });
    }
  }
  return afterChecks(b, ctx, st, req, topic, topicName, partition, epoch, parsed, result, origin);
}

/** The transaction check (first batch of a transaction here) and the append. */
function afterChecks(
  b: BrokerContext, ctx: RequestContext, st: PartitionState, req: ProduceRequest, topic: { topicId: string; logAppendTime: boolean }, topicName: string,
  partition: number, epoch: number, parsed: BatchView[], result: PartitionResult, origin: ProduceOrigin,
): Promise<void> | undefined {
  const transactional = parsed[0]!.isTransactional;
  const append = (): Promise<void> | undefined => appendVerified(b, ctx, st, topic, topicName, partition, epoch, parsed, result, origin);
  const first = parsed[0]!;
  // Already open here at this epoch: verified when its first batch came.
  if (!transactional || (st.producers.txns.openFirstOffset(first.producerId) >= 0 && st.producers.epochOf(first.producerId) === first.producerEpoch)) return append();
  // The first batch of a transaction here: the coordinator must have this partition in the
  // producer's ongoing transaction (KIP-890), or a late produce could open a transaction nobody ends.
  return verifyInTransaction(b, st, req.transactionalId!, parsed[0], topicName, partition, ctx.header.apiVersion).then((code) => {
    if (code !== ErrorCode.NONE) { fail(result, code, `partition ${topicName}-${partition} is not in the ongoing transaction of ${req.transactionalId}`); return; }
    return append();
  });
}

/** Sequence checks and the append, synchronously (so offsets follow request order). */
function appendVerified(
  b: BrokerContext, ctx: RequestContext, st: PartitionState, topic: { topicId: string; logAppendTime: boolean }, topicName: string, partition: number, epoch: number,
  parsed: BatchView[], result: PartitionResult, origin: ProduceOrigin,
): Promise<void> | undefined {
  if (b.logs.get(topic.topicId, partition) !== st || st.log.leaderEpoch !== epoch) return fail(result, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  if (parsed[0].producerId >= 0n) {
    if (parsed.length !== 1) return fail(result, ErrorCode.INVALID_RECORD, 'an idempotent produce carries exactly one batch per partition');
    const batch = parsed[0];
    const lastSeq = batch.baseSequence + batch.lastOffsetDelta;
    const check = st.producers.check(batch.producerId, batch.producerEpoch, batch.baseSequence, lastSeq);
    if (check.kind === 'error') return fail(result, check.errorCode, check.message);
    if (check.kind === 'duplicate') {
      const dup = check.batch;
      return dup.durable.then(
        () => { result.baseOffset = BigInt(dup.baseOffset); result.logStartOffset = BigInt(st.log.logStartOffset); },
        () => { fail(result, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'the original of this duplicate was not written'); },
      );
    }
  }
  const memoryFull = b.logs.pendingFull();
  if (memoryFull) return fail(result, ErrorCode.REQUEST_TIMED_OUT, memoryFull);
  const t0 = performance.now();
  let bytes = 0, recordCount = 0;
  for (const v of parsed) { bytes += v.bytes.length; recordCount += v.recordsCount; }
  return issueAppend(b, st, parsed, topic.logAppendTime, result).then(() => {
    if (result.errorCode !== ErrorCode.NONE) return;
    // A lease at risk or a lost leadership since the append: durable, but not acknowledged (the client retries).
    if (!b.leadership.mayAcknowledge(topic.topicId, partition, epoch)) { fail(result, ErrorCode.NOT_LEADER_OR_FOLLOWER); return; }
    b.metrics.walAppendSeconds((performance.now() - t0) / 1000);
    b.metrics.producedBytes(topicName, bytes, recordCount);
    // Proxied bytes came through the object store; the proxy counted the client's.
    if (!origin.proxied) b.metrics.crossAzBytes(clientRackFromClientId(ctx.header.clientId), b.self.rack, bytes, 'in');
  });
}

/**
 * Verifications in flight per partition, by producer id and epoch: produces of one producer that
 * arrive while its first batch here is being verified wait on the same answer, and their
 * continuations run in arrival order, so their offsets keep the order of their sequences.
 */
const verifying = new WeakMap<PartitionState, Map<string, Promise<number>>>();

/** What Produce answers for the coordinator's verdict (Kafka's ReplicaManager mapping). */
function produceCodeOfVerification(code: number, apiVersion: number): number {
  switch (code) {
    case ErrorCode.PRODUCER_FENCED: return ErrorCode.INVALID_PRODUCER_EPOCH;
    case ErrorCode.INVALID_PRODUCER_EPOCH: case ErrorCode.INVALID_PRODUCER_ID_MAPPING: case ErrorCode.INVALID_TXN_STATE: return code;
    // Produce v11 added TRANSACTION_ABORTABLE (KIP-890); older clients know INVALID_TXN_STATE.
    case ErrorCode.TRANSACTION_ABORTABLE: return apiVersion >= 11 ? code : ErrorCode.INVALID_TXN_STATE;
    // Coordinator moving, loading or busy: retriable for every client.
    default: return ErrorCode.NOT_ENOUGH_REPLICAS;
  }
}

function verifyInTransaction(b: BrokerContext, st: PartitionState, transactionalId: string, batch: BatchView, topic: string, partition: number, apiVersion: number): Promise<number> {
  let byProducer = verifying.get(st);
  if (!byProducer) verifying.set(st, (byProducer = new Map()));
  const key = `${batch.producerId}:${batch.producerEpoch}`;
  const inFlight = byProducer.get(key);
  if (inFlight) return inFlight;
  const ask = async (): Promise<number> => {
    // A marker admitted while we asked (the transaction ended meanwhile): ask again.
    for (let attempt = 0; ; attempt++) {
      const markers = st.producers.txns.markerCount(batch.producerId);
      let code: number;
      try {
        code = await b.transactions.verify({ transactionalId, producerId: batch.producerId, producerEpoch: batch.producerEpoch, tp: { topic, partition } });
      } catch (err) {
        b.log.warn({ err, transactionalId, topic, partition }, 'transaction verification failed');
        return ErrorCode.NOT_ENOUGH_REPLICAS; // retriable for every client
      }
      if (code !== ErrorCode.NONE) return produceCodeOfVerification(code, apiVersion);
      if (st.producers.txns.markerCount(batch.producerId) === markers) return code;
      if (attempt >= 2) return ErrorCode.INVALID_TXN_STATE;
    }
  };
  const p = ask().finally(() => { if (byProducer!.get(key) === p) byProducer!.delete(key); });
  byProducer.set(key, p);
  return p;
}

function issueAppend(b: BrokerContext, st: PartitionState, parsed: BatchView[], logAppendTime: boolean, result: PartitionResult): Promise<void> {
  const appendTime = logAppendTime ? b.now() : null;
  const first = parsed[0];
  // Offsets are known only once the WAL admits the write (until then -1: not in any snapshot).
  const sequenced: SequencedBatch | null = first.producerId >= 0n
    ? { firstSeq: first.baseSequence, lastSeq: first.baseSequence + first.lastOffsetDelta, baseOffset: -1, lastOffset: -1, durable: Promise.resolve() }
    : null;
  const outcome = b.logs.append(st, parsed.map((v) => ({
    bytes: v.bytes, recordsCount: v.recordsCount, maxTimestamp: Number(v.maxTimestamp),
    producerId: v.producerId, producerEpoch: v.producerEpoch, baseSequence: v.baseSequence,
  })), appendTime, sequenced === null ? undefined : ((base, last) => {
    sequenced.baseOffset = base;
    sequenced.lastOffset = last;
    if (first.isTransactional) st.producers.txns.onData(first.producerId, base);
  }));
  if (sequenced) {
    sequenced.durable = outcome.done;
    st.producers.record(first.producerId, first.producerEpoch, sequenced, Number(first.maxTimestamp));
    outcome.done.catch(() => st.producers.forget(first.producerId, sequenced));
  }
  return outcome.done.then(
    () => {
      result.baseOffset = BigInt(outcome.baseOffset);
      result.logStartOffset = BigInt(st.log.logStartOffset);
      if (appendTime !== null) result.logAppendTimeMs = BigInt(appendTime);
    },
    (err: Error) => {
      // Fenced: another broker took this volume over (we were declared dead); stop serving.
      if (isFatalAppendError(err)) b.fatal(err);
      const retriable = (err as { retriable?: boolean }).retriable === true;
      fail(result, retriable ? ErrorCode.REQUEST_TIMED_OUT : ErrorCode.KAFKA_STORAGE_ERROR, err.message);
    },
  );
}

