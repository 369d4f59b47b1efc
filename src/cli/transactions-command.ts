/**
 * `ferry transactions list|describe|describe-producers|find-hanging|abort`, the operator's tool
 * for transactions (Kafka's kafka-transactions.sh), over the Kafka protocol:
 *   list                ListTransactions at every broker (each lists the ids it coordinates), merged
 *   describe            FindCoordinator (key type 1), then DescribeTransactions at the coordinator
 *   describe-producers  DescribeProducers at the partition's leader
 *   find-hanging        Kafka's FindHangingTransactionsCommand: open transactions on the partitions
 *                       (DescribeProducers) older than the max transaction timeout that no
 *                       coordinator will end (ListTransactions by producer id, DescribeTransactions)
 *   abort               WriteTxnMarkers (abort) to the partition's leader for the producer whose
 *                       open transaction starts at --start-offset (or the explicit producer)
 */
import { IsolationLevel, LATEST, type AdminClient, type PartitionInfo, type ProducerStateInfo, type TransactionDescription } from '../admin/admin-client.js';
import { AdminError, UsageError } from '../admin/errors.js';
import { ErrorCode } from '../protocol/errors.js';
import { Args, type OptionSpecs } from './args.js';
import { COMMON_OPTIONS_USAGE, COMMON_OPTIONS, runReporting, withAdmin } from './admin-common.js';
import { type Io } from './output.js';
import { renderTable, toJson } from '../common/text-format.js';

export const TRANSACTIONS_USAGE = `usage: ferry transactions <action> [options]

actions:
  list [--state S ...] [--producer-id P ...] [--duration-ms D]
                                  transactional ids, their coordinator, producer id and state
                                  (every broker is asked; --duration-ms keeps transactions
                                  running longer than D)
  describe --transactional-id X   state, producer id/epoch, timeout, start time and partitions
                                  of one transactional id (asked of its coordinator)
  describe-producers --topic T --partition P
                                  active producers of a partition: epoch, last sequence, last
                                  timestamp, start offset of the open transaction
  find-hanging --topic T [--partition P] [--max-transaction-timeout-ms 900000]
                                  open transactions older than the max timeout that no
                                  coordinator will end (as kafka-transactions.sh find-hanging)
  abort --topic T --partition P --start-offset O
  abort --topic T --partition P --producer-id P --producer-epoch E [--coordinator-epoch C]
                                  abort the open transaction on the partition: writes the
                                  abort marker at the leader (WriteTxnMarkers), as a
                                  coordinator would

${COMMON_OPTIONS_USAGE}`;

const OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  state: { kind: 'list' },
  'producer-id': { kind: 'list' },
  'duration-ms': { kind: 'string' },
  'transactional-id': { kind: 'string' },
  topic: { kind: 'string', aliases: ['-t'] },
  partition: { kind: 'string', aliases: ['-p'] },
  'max-transaction-timeout-ms': { kind: 'string' },
  'start-offset': { kind: 'string' },
  'producer-epoch': { kind: 'string' },
  'coordinator-epoch': { kind: 'string' },
};

const ACTIONS = ['list', 'describe', 'describe-producers', 'find-hanging', 'abort'];
/** Kafka's default --max-transaction-timeout (15 minutes), the broker's transaction.max.timeout.ms default. */
export const DEFAULT_MAX_TRANSACTION_TIMEOUT_MS = 900_000;

export async function runTransactions(argv: string[], io: Io): Promise<number> {
  return runReporting(io, 'transactions', TRANSACTIONS_USAGE, async () => {
    const args = Args.parse(argv, OPTIONS);
    const [action, ...extra] = args.positionals;
    if (args.bool('help') || action === undefined) { io.out(TRANSACTIONS_USAGE); return action === undefined && !args.bool('help') ? 2 : 0; }
    if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
    if (!ACTIONS.includes(action)) throw new UsageError(`unknown action '${action}'`);
    const json = args.bool('json');
    // Validate everything before connecting.
    const run = plan(action, args);
    return await withAdmin(args, io, (admin) => run(admin, io, json));
  });
}

type Runner = (admin: AdminClient, io: Io, json: boolean) => Promise<number>;

function plan(action: string, args: Args): Runner {
  switch (action) {
    case 'list': {
      const states = args.list('state').flatMap((s) => s.split(',')).filter((s) => s !== '');
      const producerIds = args.list('producer-id').flatMap((s) => s.split(',')).filter((s) => s !== '').map((s) => int(s, '--producer-id'));
      const d = args.str('duration-ms');
      const durationMs = d === undefined ? undefined : nonNegative(d, '--duration-ms');
      return (admin, io, json) => list(admin, io, json, { states, producerIds, ...(durationMs !== undefined ? { durationMs } : {}) });
    }
    case 'describe': {
      const id = args.required('transactional-id');
      return (admin, io, json) => describe(admin, id, io, json);
    }
    case 'describe-producers': {
      const topic = args.required('topic');
      const partition = Number(nonNegative(args.required('partition'), '--partition'));
      return (admin, io, json) => describeProducers(admin, topic, partition, io, json);
    }
    case 'find-hanging': {
      const topic = args.str('topic');
      if (!topic) throw new UsageError('--topic is required (find-hanging searches the partitions of one topic)');
      const p = args.str('partition');
      const partition = p === undefined ? null : Number(nonNegative(p, '--partition'));
      const m = args.str('max-transaction-timeout-ms');
      const maxTimeoutMs = m === undefined ? DEFAULT_MAX_TRANSACTION_TIMEOUT_MS : Number(nonNegative(m, '--max-transaction-timeout-ms'));
      return (admin, io, json) => findHanging(admin, topic, partition, maxTimeoutMs, io, json);
    }
    case 'abort': {
      const topic = args.required('topic');
      const partition = Number(nonNegative(args.required('partition'), '--partition'));
      const so = args.str('start-offset');
      const pids = args.list('producer-id');
      if (so !== undefined && (pids.length > 0 || args.has('producer-epoch') || args.has('coordinator-epoch'))) {
        throw new UsageError('give either --start-offset or --producer-id with --producer-epoch (and --coordinator-epoch), not both');
      }
      if (so !== undefined) {
        const startOffset = nonNegative(so, '--start-offset');
        return (admin, io, json) => abortAtOffset(admin, topic, partition, startOffset, io, json);
      }
      if (pids.length === 0) throw new UsageError('identify the transaction with --start-offset O, or with --producer-id P --producer-epoch E [--coordinator-epoch C]');
      if (pids.length > 1) throw new UsageError('abort takes one --producer-id');
      const producerId = int(pids[0]!, '--producer-id');
      const producerEpoch = Number(nonNegative(args.required('producer-epoch'), '--producer-epoch'));
      if (producerEpoch > 32767) throw new UsageError(`--producer-epoch is an int16, got ${producerEpoch}`);
      const ce = args.str('coordinator-epoch');
      // As Kafka: a coordinator epoch unknown to the partition (-1) becomes 0, which no real epoch is below.
      const coordinatorEpoch = ce === undefined ? 0 : Math.max(0, Number(int(ce, '--coordinator-epoch')));
      return (admin, io, json) => abortProducer(admin, { topic, partition, producerId, producerEpoch, coordinatorEpoch, startOffset: null }, io, json);
    }
  }
  throw new UsageError(`unknown action '${action}'`);
}

function int(s: string, flag: string): bigint {
  if (!/^-?\d+$/.test(s)) throw new UsageError(`${flag} expects an integer, got ${s}`);
  return BigInt(s);
}

function nonNegative(s: string, flag: string): bigint {
  if (!/^\d+$/.test(s)) throw new UsageError(`${flag} expects a non-negative integer, got ${s}`);
  return BigInt(s);
}

async function list(admin: AdminClient, io: Io, json: boolean, filter: { states: string[]; producerIds: bigint[]; durationMs?: bigint }): Promise<number> {
  const txns = await admin.listTransactions(filter);
  if (json) io.out(toJson(txns));
  else if (txns.length === 0) io.out('(no transactional ids)\n');
  else io.out(renderTable(['TRANSACTIONAL-ID', 'COORDINATOR', 'PRODUCER-ID', 'STATE'], txns.map((t) => [t.transactionalId, t.coordinator, t.producerId, t.state])));
  return 0;
}

async function describe(admin: AdminClient, transactionalId: string, io: Io, json: boolean): Promise<number> {
  const d = await admin.describeTransaction(transactionalId);
  const now = Date.now();
  const durationMs = d.startTimeMs === null ? null : now - Number(d.startTimeMs);
  if (json) {
    io.out(toJson({ ...d, durationMs }));
    return 0;
  }
  io.out(renderTable(
    ['COORDINATOR', 'TRANSACTIONAL-ID', 'PRODUCER-ID', 'PRODUCER-EPOCH', 'STATE', 'TIMEOUT-MS', 'START-TIME-MS', 'DURATION-MS', 'PARTITIONS'],
    [[d.coordinator, d.transactionalId, d.producerId, d.producerEpoch, d.state, d.timeoutMs, d.startTimeMs, durationMs,
      d.partitions.map((p) => `${p.topic}-${p.partition}`).join(',') || '-']],
  ));
  return 0;
}

function producerJson(s: ProducerStateInfo) {
  return {
    producerId: s.producerId, producerEpoch: s.producerEpoch, coordinatorEpoch: s.coordinatorEpoch, lastSequence: s.lastSequence,
    lastTimestamp: s.lastTimestamp, currentTxnStartOffset: s.currentTxnStartOffset >= 0n ? s.currentTxnStartOffset : null,
  };
}

async function describeProducers(admin: AdminClient, topic: string, partition: number, io: Io, json: boolean): Promise<number> {
  const p = await admin.partitionInfo(topic, partition);
  const producers = (await admin.describeProducers(topic, [p])).get(partition) ?? [];
  if (json) {
    io.out(toJson({ topic, partition, leader: p.leader, producers: producers.map(producerJson) }));
    return 0;
  }
  if (producers.length === 0) { io.out(`(no active producers on ${topic}-${partition})\n`); return 0; }
  io.out(renderTable(['PRODUCER-ID', 'PRODUCER-EPOCH', 'COORDINATOR-EPOCH', 'LAST-SEQUENCE', 'LAST-TIMESTAMP', 'CURRENT-TXN-START-OFFSET'],
    producers.map((s) => [s.producerId, s.producerEpoch, s.coordinatorEpoch, s.lastSequence, s.lastTimestamp, s.currentTxnStartOffset >= 0n ? s.currentTxnStartOffset : null])));
  return 0;
}

// ---- find-hanging ------------------------------------------------------------------------------

export interface OpenTransaction { topic: string; partition: number; producer: ProducerStateInfo }

export interface HangingVerdict extends OpenTransaction {
  transactionalId: string | null;
  /** Why no coordinator will end it (hanging), or what the coordinator still has (tracked). */
  reason: string;
}

/**
 * Candidates (Kafka's collectCandidateOpenTransactions): producers with an open transaction on
 * the partition whose last write is older than the max transaction timeout; any coordinator
 * would have aborted a transaction of its own by then.
 */
export function openTransactionCandidates(producersByPartition: Array<{ topic: string; partition: number; producers: ProducerStateInfo[] }>, maxTimeoutMs: number, nowMs: number): OpenTransaction[] {
  const out: OpenTransaction[] = [];
  for (const { topic, partition, producers } of producersByPartition) {
    for (const producer of producers) {
      if (producer.currentTxnStartOffset < 0n) continue;
      if (nowMs - Number(producer.lastTimestamp) > maxTimeoutMs) out.push({ topic, partition, producer });
    }
  }
  return out;
}

/**
 * Kafka's filterHangingTransactions: a candidate hangs when no transactional id has its producer
 * id (ListTransactions), the id is unknown to its coordinator (DescribeTransactions), or the
 * coordinator's transaction does not include the partition (it would never write that marker).
 * Otherwise the coordinator still tracks it and will end it itself (tracked).
 */
export function classifyOpenTransactions(
  candidates: OpenTransaction[],
  transactionalIdOf: ReadonlyMap<bigint, string>,
  descriptions: ReadonlyMap<string, TransactionDescription | null>,
): { hanging: HangingVerdict[]; tracked: HangingVerdict[] } {
  const hanging: HangingVerdict[] = [];
  const tracked: HangingVerdict[] = [];
  for (const c of candidates) {
    const id = transactionalIdOf.get(c.producer.producerId) ?? null;
    if (id === null) { hanging.push({ ...c, transactionalId: null, reason: 'no coordinator has a transaction of this producer id' }); continue; }
    const d = descriptions.get(id) ?? null;
    if (d === null) { hanging.push({ ...c, transactionalId: id, reason: `the coordinator no longer knows transactional id ${id}` }); continue; }
    if (!d.partitions.some((p) => p.topic === c.topic && p.partition === c.partition)) {
      hanging.push({ ...c, transactionalId: id, reason: `transactional id ${id} is ${d.state} (producer ${d.producerId}, epoch ${d.producerEpoch}) without this partition` });
      continue;
    }
    tracked.push({ ...c, transactionalId: id, reason: `transactional id ${id} is ${d.state} with this partition at coordinator ${d.coordinator}: it ends the transaction itself (timeout ${d.timeoutMs} ms)` });
  }
  return { hanging, tracked };
}

async function findHanging(admin: AdminClient, topic: string, partition: number | null, maxTimeoutMs: number, io: Io, json: boolean): Promise<number> {
  let partitions: PartitionInfo[];
  if (partition !== null) partitions = [await admin.partitionInfo(topic, partition)];
  else {
    const md = await admin.metadata([topic]);
    const t = md.topics[0];
    if (!t || t.errorCode !== 0) throw new AdminError(t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic}`);
    partitions = t.partitions;
  }
  const byPartition = await admin.describeProducers(topic, partitions);
  const now = Date.now();
  const candidates = openTransactionCandidates(partitions.map((p) => ({ topic, partition: p.partition, producers: byPartition.get(p.partition) ?? [] })), maxTimeoutMs, now);
  const transactionalIdOf = new Map<bigint, string>();
  const descriptions = new Map<string, TransactionDescription | null>();
  if (candidates.length > 0) {
    const pids = [...new Set(candidates.map((c) => c.producer.producerId))];
    for (const l of await admin.listTransactions({ producerIds: pids })) if (pids.includes(l.producerId)) transactionalIdOf.set(l.producerId, l.transactionalId);
    for (const id of new Set(transactionalIdOf.values())) {
      try {
        descriptions.set(id, await admin.describeTransaction(id));
      } catch (err) {
        if (err instanceof AdminError && err.errorCode === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND) descriptions.set(id, null);
        else throw err;
      }
    }
  }
  const { hanging, tracked } = classifyOpenTransactions(candidates, transactionalIdOf, descriptions);
  const row = (v: HangingVerdict) => ({
    topic: v.topic, partition: v.partition, producerId: v.producer.producerId, producerEpoch: v.producer.producerEpoch,
    coordinatorEpoch: v.producer.coordinatorEpoch, startOffset: v.producer.currentTxnStartOffset, lastTimestamp: v.producer.lastTimestamp,
    durationMs: now - Number(v.producer.lastTimestamp), transactionalId: v.transactionalId, reason: v.reason,
  });
  if (json) {
    io.out(toJson({ topic, maxTransactionTimeoutMs: maxTimeoutMs, hanging: hanging.map(row), tracked: tracked.map(row) }));
    return 0;
  }
  const headers = ['TOPIC', 'PARTITION', 'PRODUCER-ID', 'PRODUCER-EPOCH', 'COORDINATOR-EPOCH', 'START-OFFSET', 'LAST-TIMESTAMP', 'DURATION-MIN', 'REASON'];
  const cells = (v: HangingVerdict) => { const r = row(v); return [r.topic, r.partition, r.producerId, r.producerEpoch, r.coordinatorEpoch, r.startOffset, r.lastTimestamp, Math.floor(r.durationMs / 60_000), r.reason]; };
  if (hanging.length === 0) io.out(`No hanging transactions on ${topic}${partition !== null ? `-${partition}` : ''} (open longer than ${maxTimeoutMs} ms with no coordinator to end them).\n`);
  else {
    io.out(renderTable(headers, hanging.map(cells)));
    io.out(`\n${hanging.length} hanging transaction(s). End one with: ferry transactions abort --topic T --partition P --start-offset O\n`);
  }
  if (tracked.length > 0) {
    io.out(`\n${tracked.length} open transaction(s) older than ${maxTimeoutMs} ms are still tracked by their coordinator (not hanging):\n`);
    io.out(renderTable(headers, tracked.map(cells)));
  }
  return 0;
}

// ---- abort -------------------------------------------------------------------------------------

interface AbortSpec { topic: string; partition: number; producerId: bigint; producerEpoch: number; coordinatorEpoch: number; startOffset: bigint | null }

async function abortAtOffset(admin: AdminClient, topic: string, partition: number, startOffset: bigint, io: Io, json: boolean): Promise<number> {
  const p = await admin.partitionInfo(topic, partition);
  const producers = (await admin.describeProducers(topic, [p])).get(partition) ?? [];
  const found = producers.find((s) => s.currentTxnStartOffset === startOffset);
  if (!found) {
    const open = producers.filter((s) => s.currentTxnStartOffset >= 0n).map((s) => `${s.currentTxnStartOffset} (producer ${s.producerId})`);
    throw new AdminError(ErrorCode.INVALID_REQUEST, `abort on ${topic}-${partition}`,
      `no open transaction starts at offset ${startOffset}; open transactions start at: ${open.length ? open.join(', ') : 'none'}`);
  }
  return abortProducer(admin, {
    topic, partition, producerId: found.producerId, producerEpoch: found.producerEpoch,
    coordinatorEpoch: Math.max(0, found.coordinatorEpoch), startOffset,
  }, io, json);
}

async function abortProducer(admin: AdminClient, spec: AbortSpec, io: Io, json: boolean): Promise<number> {
  if (spec.startOffset === null) {
    // The explicit form: refuse a producer with nothing open here (the marker would be a no-op).
    const p = await admin.partitionInfo(spec.topic, spec.partition);
    const producers = (await admin.describeProducers(spec.topic, [p])).get(spec.partition) ?? [];
    const mine = producers.find((s) => s.producerId === spec.producerId);
    if (!mine || mine.currentTxnStartOffset < 0n) {
      throw new AdminError(ErrorCode.INVALID_REQUEST, `abort on ${spec.topic}-${spec.partition}`, `producer ${spec.producerId} has no open transaction on the partition`);
    }
  }
  const { leader } = await admin.writeTxnMarker({ ...spec, commit: false });
  // The broker answers NONE for a marker of an older epoch without writing it: check the result.
  const p = await admin.partitionInfo(spec.topic, spec.partition);
  const after = (await admin.describeProducers(spec.topic, [p])).get(spec.partition) ?? [];
  const still = after.find((s) => s.producerId === spec.producerId && s.currentTxnStartOffset >= 0n && (spec.startOffset === null || s.currentTxnStartOffset === spec.startOffset));
  if (still) {
    throw new AdminError(ErrorCode.INVALID_PRODUCER_EPOCH, `abort on ${spec.topic}-${spec.partition}`,
      `the leader took the marker but producer ${spec.producerId} still has a transaction open from offset ${still.currentTxnStartOffset} at epoch ${still.producerEpoch} (the marker's epoch ${spec.producerEpoch} is older)`);
  }
  const [lso, hw] = await Promise.all([
    admin.listOffsets(spec.topic, [p], LATEST, IsolationLevel.ReadCommitted).then((m) => m.get(spec.partition)!),
    admin.listOffsets(spec.topic, [p], LATEST).then((m) => m.get(spec.partition)!),
  ]);
  const result = { ...spec, leader, aborted: true, lastStableOffset: lso, highWatermark: hw };
  if (json) io.out(toJson(result));
  else {
    io.out(`Aborted the transaction of producer ${spec.producerId} (epoch ${spec.producerEpoch}) on ${spec.topic}-${spec.partition}` +
      `${spec.startOffset !== null ? `, open from offset ${spec.startOffset}` : ''}: abort marker written at broker ${leader} (coordinator epoch ${spec.coordinatorEpoch}).\n`);
    io.out(`Last stable offset ${lso}, high watermark ${hw}${lso < hw ? ' (another transaction is still open)' : ''}.\n`);
  }
  return 0;
}
