/**
 * A consume-transform-produce loop with kafkajs (exactly-once: read_committed input, output and
 * input offsets in one transaction per batch) that survives broker crashes the blunt way: any
 * error aborts the open transaction (best effort), drops the consumer and the producer, and starts
 * again with new ones — the new producer's InitProducerId (same transactional id) fences the old
 * one and waits until its last transaction is complete, then the new consumer resumes from the
 * committed offsets. Used by test/clients/kafkajs-transactions.test.ts and
 * test/cluster/transactions-cluster.test.ts.
 */
import { createRequire } from 'node:module';
import type * as KafkaJs from 'kafkajs';

/**
 * kafkajs 2.2.4 bug (a variant of tulios/kafkajs#1384/#1387): consumer.disconnect() while the
 * fetch manager rebuilds its fetchers (the set of partition leaders changed, as it does when a
 * broker is killed or comes back) stops the old fetchers only; the new ones then call
 * Runner.fetch, which returns [] at once because the runner is stopped, in a loop of resolved
 * promises that starves the event loop (100% CPU, no timer ever fires, the test hangs). Found
 * here by profiling the hung test process. Workaround: a stopped runner's fetch waits a little and
 * stops the fetch manager's current fetchers.
 */
function patchKafkaJsStopRace(): void {
  const Runner = createRequire(import.meta.url)('kafkajs/src/consumer/runner.js') as { prototype: any };
  if (Runner.prototype.__ferryPatched) return;
  const fetch = Runner.prototype.fetch;
  Runner.prototype.fetch = async function (this: any, nodeId: number) {
    if (!this.running) {
      await new Promise((r) => setTimeout(r, 20));
      this.fetchManager?.stop().catch(() => undefined);
      return [];
    }
    return fetch.call(this, nodeId);
  };
  Runner.prototype.__ferryPatched = true;
}
patchKafkaJsStopRace();

export interface CtpOptions {
  kjs: typeof KafkaJs;
  /** A fresh client for each session (broker lists may change between sessions). */
  kafka: () => KafkaJs.Kafka;
  input: string;
  output: string;
  groupId: string;
  transactionalId: string;
  /** End offsets of the input (everything was produced before the loop starts). */
  inputEnds: Map<number, bigint>;
  /** Output value for an input value. */
  transform: (value: Buffer) => Buffer;
  /**
   * Called after every successful commit (records in the transaction, Date.now(), their keys);
   * the loop waits for it before the next transaction (so a fault injected here falls between two).
   */
  onCommit?: (records: number, at: number, keys: string[]) => void | Promise<void>;
  /** Awaited inside each transaction after its sends, before EndTxn (a fault injected here hits an open transaction). */
  beforeCommit?: () => void | Promise<void>;
  /** Called on every failure that restarts the session. */
  onError?: (err: Error, at: number) => void;
  deadlineMs: number;
  transactionTimeoutMs?: number;
  /**
   * The output partition of an input key. When set, each transaction sends one request per output
   * partition, one after the other: kafkajs 2.2.4's sendMessages retries per broker, so after a
   * leader change it re-sends the records of a partition the old leader had already acknowledged
   * to the new leader with fresh sequence numbers (a duplicate no broker can detect; seen here as
   * two adjacent batches with consecutive sequences and leader epochs 1 and 2). With one
   * partition per request, a retry is always of an unacknowledged batch with its old sequence.
   */
  outputPartition?: (key: string) => number;
  /** Input records per transaction (default 100). */
  recordsPerTransaction?: number;
}

export interface CtpResult {
  commits: number;
  aborts: number;
  sessions: number;
  errors: string[];
}

const debug = (...a: unknown[]) => { if (process.env.FERRY_CTP_DEBUG) console.error(new Date().toISOString(), 'ctp', ...a); };

const describeError = (e: unknown): string => {
  const err = e as { name?: string; type?: string; message?: string };
  return `${err?.name ?? 'Error'}${err?.type ? `/${err.type}` : ''}: ${err?.message ?? String(e)}`.slice(0, 300);
};

export async function consumeTransformProduce(o: CtpOptions): Promise<CtpResult> {
  const result: CtpResult = { commits: 0, aborts: 0, sessions: 0, errors: [] };
  for (;;) {
    if (Date.now() > o.deadlineMs) throw new Error(`consume-transform-produce did not finish in time: ${JSON.stringify({ ...result, errors: result.errors.slice(-10) })}`);
    result.sessions++;
    const done = await session(o, result).catch((e: unknown) => {
      result.errors.push(describeError(e));
      debug('session failed:', describeError(e));
      o.onError?.(e as Error, Date.now());
      return false;
    });
    if (done) return result;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One producer + consumer pair; true when every input offset is committed, false (or a throw) to start again. */
async function session(o: CtpOptions, result: CtpResult): Promise<boolean> {
  const kafka = o.kafka();
  const producer = kafka.producer({ transactionalId: o.transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: o.transactionTimeoutMs ?? 10_000, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: o.groupId, readUncommitted: false, sessionTimeout: 10_000, heartbeatInterval: 1000, rebalanceTimeout: 10_000, retry: { retries: 3, initialRetryTime: 100 } });
  const admin = kafka.admin();
  let failure: Error | null = null;
  let wake: () => void = () => {};
  const changed = () => wake();
  const fail = (e: unknown) => { failure ??= e instanceof Error ? e : new Error(String(e)); changed(); };
  try {
    // InitProducerId first: it completes (or aborts) whatever the previous session left open,
    // so the offsets the consumer reads next are the ones of the last committed transaction.
    await producer.connect();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId: o.groupId, topics: [o.input] });
    const position = new Map<number, bigint>();
    for (const p of committed[0]!.partitions) position.set(p.partition, BigInt(p.offset === '-1' ? 0 : p.offset));
    const finished = () => [...o.inputEnds].every(([p, end]) => (position.get(p) ?? 0n) >= end);
    debug('session', result.sessions, 'from', [...position].map(([p, o]) => `${p}:${o}`).join(' '));
    if (finished()) return true;

    await consumer.connect();
    consumer.on(consumer.events.CRASH, (e: any) => fail(e.payload?.error ?? new Error('consumer crashed')));
    await consumer.subscribe({ topic: o.input, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (failure || !isRunning() || isStale() || batch.messages.length === 0) return;
        // One transaction per chunk of the batch (a fetch brings thousands of records).
        const chunk = o.recordsPerTransaction ?? 100;
        for (let from = 0; from < batch.messages.length; from += chunk) {
          if (failure || !isRunning() || isStale()) return;
          const messages = batch.messages.slice(from, from + chunk);
          const last = from + chunk >= batch.messages.length ? batch.lastOffset() : messages[messages.length - 1]!.offset;
          const next = BigInt(last) + 1n;
          const tx = await producer.transaction();
          try {
            const out = messages.map((m) => ({ key: m.key, value: o.transform(m.value!), partition: o.outputPartition?.(m.key?.toString() ?? '') }));
            if (!o.outputPartition) await tx.send({ topic: o.output, messages: out });
            else {
              const byPartition = new Map<number, typeof out>();
              for (const m of out) byPartition.set(m.partition!, [...(byPartition.get(m.partition!) ?? []), m]);
              for (const part of byPartition.values()) await tx.send({ topic: o.output, messages: part });
            }
            await tx.sendOffsets({ consumerGroupId: o.groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(next) }] }] });
            await o.beforeCommit?.();
            await tx.commit();
          } catch (e) {
            if (tx.isActive()) { result.aborts++; await tx.abort().catch(() => undefined); }
            fail(e);
            return;
          }
          result.commits++;
          if (result.commits % 10 === 0) debug('commits', result.commits);
          await o.onCommit?.(messages.length, Date.now(), messages.map((m) => m.key?.toString() ?? ''));
          position.set(batch.partition, next);
          resolveOffset(last);
          await heartbeat().catch(() => undefined);
          changed();
        }
      },
    });
    while (!failure && !finished()) {
      await new Promise<void>((r) => { wake = r; setTimeout(r, 500); });
    }
    if (failure) throw failure;
    return true;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Every record of `topic` under read_committed (kafkajs, a fresh group, from the beginning), up to
 * the end offsets taken first. A partition is read to its end when kafkajs's batch instrumentation
 * reports a last offset (data, control or aborted records alike) at end - 1.
 */
export async function readCommitted(kafka: KafkaJs.Kafka, topic: string, timeoutMs: number): Promise<Array<{ partition: number; offset: string; key: string; value: string }>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
  await admin.disconnect();
  const out: Array<{ partition: number; offset: string; key: string; value: string }> = [];
  const consumer = kafka.consumer({ groupId: `verify-${topic}-${Date.now()}`, readUncommitted: false, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 500 });
  const reached = new Map<number, bigint>();
  consumer.on(consumer.events.END_BATCH_PROCESS, (e: any) => {
    const last = BigInt(e.payload.lastOffset) + 1n;
    if (last > (reached.get(e.payload.partition) ?? 0n)) reached.set(e.payload.partition, last);
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) out.push({ partition: batch.partition, offset: m.offset, key: m.key?.toString() ?? '', value: m.value?.toString() ?? '' });
      },
    });
    const deadline = Date.now() + timeoutMs;
    const done = () => [...ends].every(([p, end]) => end === 0n || (reached.get(p) ?? 0n) >= end);
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`read_committed reader of ${topic} did not reach the end offsets ${JSON.stringify([...ends].map(([p, e]) => [p, String(e), String(reached.get(p) ?? '-')]))} (read ${out.length})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return out;
}
