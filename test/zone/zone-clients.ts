/**
 * The zone tests' clients and their bookkeeping: librdkafka producers and consumers (the
 * zone_client.py script, Debian's confluent-kafka-python), kafkajs producers and consumers in this
 * process, each saying its zone (ferry_az=<zone> in the client id; client.rack / rackId for
 * consumers), and the exactly-once check of what was read against what was acknowledged.
 *
 * Keys are "<producer name>-<seq>": a producer's messages are numbered from 0, so order per
 * partition per producer can be checked from the keys alone.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as KafkaJs from 'kafkajs';
import { LineProcess } from '../helpers/run-process.js';
import { waitFor } from '../helpers/wait.js';
import { zoneClientId } from './zone-cluster.js';

export const ZONE_CLIENT_PY = fileURLToPath(new URL('./zone_client.py', import.meta.url));

export interface Acked { key: string; partition: number; offset: number }
export interface Consumed { partition: number; offset: number; key: string }

/** Lines of a file another process appended to (the last, partial line left out). */
function completeLines(file: string): string[] {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
  } catch { return []; }
}

export function readAcked(file: string): Acked[] {
  return completeLines(file).map((l) => { const [key, p, o] = l.split(' '); return { key: key!, partition: Number(p), offset: Number(o) }; });
}

export function readConsumed(file: string): Consumed[] {
  return completeLines(file).map((l) => { const [p, o, key] = l.split(' '); return { partition: Number(p), offset: Number(o), key: key ?? '' }; });
}

/** The process's exit, or null after timeoutMs (the timer is cleared either way: a pending one keeps the test process alive). */
async function exitedWithin(p: LineProcess, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p.exited, new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); })]);
  } finally { clearTimeout(timer); }
}

function lastJson(p: LineProcess): any {
  for (let i = p.lines.length - 1; i >= 0; i--) {
    const l = p.lines[i]!.trim();
    if (l.startsWith('{')) return JSON.parse(l);
  }
  return { error: `no JSON summary; stderr tail: ${p.stderr.slice(-2000)}` };
}

export interface PyProduceOptions {
  bootstrap: string; topic: string; zone: string; name: string; out: string;
  /** Stop after this many value bytes; 0: until stop(). */
  bytes?: number; size?: number; rate?: number; linger?: number; messageTimeoutMs?: number;
}

/** A librdkafka idempotent producer in its own process. */
export class PyProducer {
  private constructor(readonly proc: LineProcess, readonly o: PyProduceOptions) {}

  static async start(python: string, o: PyProduceOptions): Promise<PyProducer> {
    const args = [ZONE_CLIENT_PY, 'produce', '--bootstrap', o.bootstrap, '--topic', o.topic, '--zone', o.zone, '--name', o.name, '--out', o.out,
      '--bytes', String(o.bytes ?? 0), '--size', String(o.size ?? 1024), '--rate', String(o.rate ?? 0), '--linger', String(o.linger ?? 5),
      '--message-timeout-ms', String(o.messageTimeoutMs ?? 120_000)];
    const p = new PyProducer(new LineProcess(python, args), o);
    await p.proc.waitForLine((l) => l === 'started', 30_000);
    return p;
  }

  acked(): Acked[] { return readAcked(this.o.out); }

  /** Waits for the process to end by itself (a --bytes run); returns its summary. */
  async done(timeoutMs: number): Promise<any> {
    const r = await exitedWithin(this.proc, timeoutMs);
    if (!r) { this.proc.kill('SIGKILL'); throw new Error(`producer ${this.o.name} did not finish in ${timeoutMs} ms; stderr tail:\n${this.proc.stderr.slice(-2000)}`); }
    return lastJson(this.proc);
  }

  /** SIGTERM: stop sending, flush what is in flight, summary. */
  async stop(timeoutMs = 150_000): Promise<any> {
    this.proc.kill('SIGTERM');
    return this.done(timeoutMs);
  }

  kill(): void { this.proc.kill('SIGKILL'); }
}

export interface PyConsumeOptions {
  bootstrap: string; topic: string; zone: string; name: string; group: string; out: string;
  /** The test writes the expected count here when the producers are done. */
  expectedFile: string; timeoutS?: number; idleS?: number;
  /** The zone only as client.rack, no ferry_az token in the client id (KIP-392 redirects). */
  rackOnly?: boolean;
}

/** A librdkafka consumer group member in its own process. */
export class PyConsumer {
  private constructor(readonly proc: LineProcess, readonly o: PyConsumeOptions) {}

  static async start(python: string, o: PyConsumeOptions): Promise<PyConsumer> {
    const args = [ZONE_CLIENT_PY, 'consume', '--bootstrap', o.bootstrap, '--topic', o.topic, '--zone', o.zone, '--name', o.name,
      '--group', o.group, '--out', o.out, '--expected-file', o.expectedFile, '--timeout', String(o.timeoutS ?? 150), '--idle', String(o.idleS ?? 2), ...(o.rackOnly ? ['--rack-only'] : [])];
    const c = new PyConsumer(new LineProcess(python, args), o);
    await c.proc.waitForLine((l) => l === 'started', 30_000);
    return c;
  }

  consumed(): Consumed[] { return readConsumed(this.o.out); }

  async done(timeoutMs: number): Promise<any> {
    const r = await exitedWithin(this.proc, timeoutMs);
    if (!r) { this.proc.kill('SIGTERM'); await exitedWithin(this.proc, 5000); }
    return lastJson(this.proc);
  }

  kill(): void { this.proc.kill('SIGKILL'); }
}

export function writeExpected(file: string, n: number): void { writeFileSync(file, `${n}\n`); }

export interface KjsProduceOptions {
  brokers: string[]; topic: string; zone: string; name: string; partitions: number;
  /** Stop after this many value bytes (0: until `stop.stopped`). */
  bytes: number; size?: number; batch?: number;
  /** Set by the caller to end the loop early (a failed run must not leave sends going). */
  stop?: { stopped: boolean };
  /** Sent as `acks`: -1 (all) unless set. */
  acks?: number;
  /**
   * Each send to one partition (the next one in turn) instead of spreading it. For fault tests:
   * kafkajs 2.2.4 loses messages when a send spans brokers and one fails: its retry skips every
   * broker that already answered (sendMessages.js responsePerBroker), so partitions that moved
   * from the failed broker to one of those are never sent again, and send() resolves without them.
   */
  onePartitionPerSend?: boolean;
}

/**
 * A kafkajs idempotent producer sending `bytes` of numbered messages, `batch` per send, message
 * seq to partition seq % partitions (explicit, so each message's offset follows from the
 * partition's baseOffset in the answer).
 */
export async function kjsProduce(kjs: typeof KafkaJs, o: KjsProduceOptions, acked: Acked[] = []): Promise<{ acked: Acked[]; bytes: number; sends: number }> {
  const kafka = new kjs.Kafka({ clientId: zoneClientId(o.name, o.zone), brokers: o.brokers, logLevel: kjs.logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kjs.Partitioners.LegacyPartitioner });
  await producer.connect();
  const size = o.size ?? 1024;
  const batch = o.batch ?? 200;
  let seq = 0;
  let bytes = 0;
  let sends = 0;
  try {
    const more = () => !o.stop?.stopped && (o.bytes === 0 || bytes < o.bytes);
    while (more()) {
      const msgs: Array<{ key: string; value: Buffer; partition: number }> = [];
      for (let i = 0; i < batch && more(); i++, seq++) {
        const head = `${o.name} ${seq} `;
        const value = Buffer.alloc(size, 'k');
        value.write(head);
        msgs.push({ key: `${o.name}-${seq}`, value, partition: o.onePartitionPerSend ? sends % o.partitions : seq % o.partitions });
        bytes += size;
      }
      const meta = await producer.send({ topic: o.topic, acks: o.acks ?? -1, messages: msgs });
      sends++;
      const base = new Map(meta.map((m) => [m.partition, BigInt(m.baseOffset!)]));
      const next = new Map<number, bigint>();
      for (const m of msgs) {
        const off = next.get(m.partition) ?? base.get(m.partition);
        if (off === undefined) throw new Error(`kafkajs send resolved without an answer for partition ${m.partition} (answers: ${JSON.stringify(meta)})`);
        acked.push({ key: m.key, partition: m.partition, offset: Number(off) });
        next.set(m.partition, off + 1n);
      }
    }
  } finally {
    await producer.disconnect().catch(() => {});
  }
  return { acked, bytes, sends };
}

/** A kafkajs consumer group member (rackId = its zone), recording what it reads. */
export class KjsConsumer {
  readonly consumed: Consumed[] = [];
  bytes = 0;
  private lastNewAt = Date.now();
  errors: string[] = [];

  private constructor(private readonly consumer: KafkaJs.Consumer, readonly name: string) {}

  static async start(kjs: typeof KafkaJs, o: { brokers: string[]; topic: string; zone: string; name: string; group: string }): Promise<KjsConsumer> {
    const kafka = new kjs.Kafka({ clientId: zoneClientId(o.name, o.zone), brokers: o.brokers, logLevel: kjs.logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    const consumer = kafka.consumer({ groupId: o.group, rackId: o.zone, maxWaitTimeInMs: 200, sessionTimeout: 30_000 });
    const c = new KjsConsumer(consumer, o.name);
    consumer.on(consumer.events.CRASH, (e: any) => { c.errors.push(String(e.payload?.error?.message ?? e.payload?.error)); });
    await consumer.connect();
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          c.consumed.push({ partition: batch.partition, offset: Number(m.offset), key: m.key?.toString() ?? '' });
          c.bytes += m.value?.length ?? 0;
        }
        if (batch.messages.length > 0) c.lastNewAt = Date.now();
      },
    });
    return c;
  }

  /** Until `expected` messages were read and nothing new came for idleMs. */
  async waitFor(expected: () => number, idleMs: number, timeoutMs: number): Promise<void> {
    await waitFor(() => expected() > 0 && this.consumed.length >= expected() && Date.now() - this.lastNewAt >= idleMs,
      timeoutMs, () => `kafkajs consumer ${this.name}: ${this.consumed.length} of ${expected()} read`, 100);
  }

  async stop(): Promise<void> { await this.consumer.disconnect().catch(() => {}); }
}

/** What a reader got wrong against what was acknowledged. */
export interface ReadCheck {
  read: number;
  /** Acknowledged but never read. */
  missing: string[];
  /** Read more than once. */
  duplicates: string[];
  /** Read at another partition/offset than the one acknowledged. */
  misplaced: string[];
  /** Read but never sent by our producers. */
  unknown: string[];
  /** Offsets going backwards within a partition, or a producer's seq going backwards within a partition. */
  outOfOrder: string[];
}

function splitKey(key: string): { producer: string; seq: number } {
  const i = key.lastIndexOf('-');
  return { producer: key.slice(0, i), seq: Number(key.slice(i + 1)) };
}

/**
 * Checks a reader's log against the acknowledgements: each acknowledged message read exactly
 * once, where it was acknowledged; offsets increasing per partition in read order; each
 * producer's numbers increasing per partition; nothing read that none of `producers` (their
 * names) sent: their keys count as sent whether acknowledged or not.
 */
export function checkReads(acked: readonly Acked[], consumed: readonly Consumed[], producers: readonly string[]): ReadCheck {
  const ackedAt = new Map(acked.map((a) => [a.key, `${a.partition}:${a.offset}`]));
  const seen = new Map<string, string[]>();
  const lastOffset = new Map<number, number>();
  const lastSeq = new Map<string, number>();
  const outOfOrder: string[] = [];
  const unknown: string[] = [];
  for (const c of consumed) {
    const at = `${c.partition}:${c.offset}`;
    const list = seen.get(c.key);
    if (list) list.push(at); else seen.set(c.key, [at]);
    const prev = lastOffset.get(c.partition);
    if (prev !== undefined && c.offset <= prev) outOfOrder.push(`partition ${c.partition}: offset ${c.offset} after ${prev}`);
    lastOffset.set(c.partition, c.offset);
    const { producer, seq } = splitKey(c.key);
    if (!producers.includes(producer)) { unknown.push(c.key); continue; }
    const pk = `${c.partition}/${producer}`;
    const ps = lastSeq.get(pk);
    if (ps !== undefined && seq <= ps) outOfOrder.push(`partition ${c.partition} producer ${producer}: seq ${seq} after ${ps}`);
    lastSeq.set(pk, seq);
  }
  const missing = acked.filter((a) => !seen.has(a.key)).map((a) => a.key);
  const duplicates = [...seen].filter(([, at]) => at.length > 1).map(([k, at]) => `${k} at ${at.join(',')}`);
  const misplaced = [...seen].filter(([k, at]) => ackedAt.has(k) && at[0] !== ackedAt.get(k)).map(([k, at]) => `${k} read at ${at[0]}, acknowledged at ${ackedAt.get(k)}`);
  return { read: consumed.length, missing, duplicates, misplaced, unknown, outOfOrder };
}

/** Acknowledgements that contradict each other: two keys at one offset, or one producer's numbers not increasing with offsets in a partition. */
export function checkAcked(acked: readonly Acked[]): string[] {
  const bad: string[] = [];
  const at = new Map<string, string>();
  for (const a of acked) {
    const k = `${a.partition}:${a.offset}`;
    const other = at.get(k);
    if (other !== undefined && other !== a.key) bad.push(`${a.key} and ${other} both acknowledged at ${k}`);
    at.set(k, a.key);
  }
  const byPartitionProducer = new Map<string, Array<{ offset: number; seq: number }>>();
  for (const a of acked) {
    const { producer, seq } = splitKey(a.key);
    const k = `${a.partition}/${producer}`;
    const list = byPartitionProducer.get(k) ?? [];
    list.push({ offset: a.offset, seq });
    byPartitionProducer.set(k, list);
  }
  for (const [k, list] of byPartitionProducer) {
    list.sort((x, y) => x.offset - y.offset);
    for (let i = 1; i < list.length; i++) if (list[i]!.seq <= list[i - 1]!.seq) { bad.push(`${k}: seq ${list[i]!.seq} at offset ${list[i]!.offset} after seq ${list[i - 1]!.seq}`); break; }
  }
  return bad;
}
