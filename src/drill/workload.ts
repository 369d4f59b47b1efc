// The drill's workload: a real Kafka client (kafkajs), one idempotent acks=all producer per
// partition sending one message per send() at a fixed total rate. One producer per partition so a
// partition whose leader is dead never holds up the others (maxInFlightRequests 1 is per producer
// connection), and so a producer that gave up can be replaced without touching the rest: a send
// kafkajs gave up on leaves the idempotent sequence where it was, and reusing it for a new message
// could let the broker answer with the old message's offset. A fresh producer has a fresh producer id.
import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import { Ledger, encodeMessage, payloadHash } from './ledger.js';
import { kafkajsSecurity } from './kafkajs-security.js';
import type { ClientSecurity } from '../admin/client-security.js';

export interface WorkloadOptions {
  bootstrap: string[];
  topic: string;
  partitions: number[];
  /** Messages per second over all partitions. */
  ratePerSec: number;
  messageBytes: number;
  ledger: Ledger;
  clock: () => number;
  /** The cycle a message sent now belongs to. */
  currentCycle: () => number;
  requestTimeoutMs: number;
  /** kafkajs retries per send (with backoff up to 1 s: retries ≈ seconds a send keeps trying). */
  retries: number;
  /** kafkajs's own warnings and errors, e.g. for --verbose. */
  onClientLog?: (line: string) => void;
  /** TLS/SASL (--command-config), as kafkajs ssl/sasl options; unset: PLAINTEXT. */
  security?: ClientSecurity;
  /** kafkajs clientId (default ferry-drill); with --client-zone it carries ferry_az=<zone>. */
  clientId?: string;
}

export interface ErrorEvent { atMs: number; partition: number; type: string }

const ERROR_EVENTS_MAX = 10_000;
const ERROR_TYPES_MAX = 100;

export class Workload {
  private running = false;
  /** After stop(): late acks no longer change the ledger (verification has a fixed ledger). */
  private frozen = false;
  private readonly loops: Promise<void>[] = [];
  private readonly producers = new Map<number, Producer>();
  private readonly kafka: Kafka;
  /** Sends that failed, by error name (after kafkajs's retries). */
  readonly sendErrors = new Map<string, number>();
  /** kafkajs warnings/errors (retried problems, e.g. connection refused), by message. */
  readonly clientLog = new Map<string, number>();
  readonly errorEvents: ErrorEvent[] = [];
  private readonly lastAckMs = new Map<number, number>();

  constructor(private readonly opts: WorkloadOptions) {
    if (!(opts.ratePerSec > 0)) throw new RangeError(`rate ${opts.ratePerSec} must be > 0`);
    if (opts.partitions.length === 0) throw new RangeError('no partitions');
    this.kafka = new Kafka({
      clientId: opts.clientId ?? 'ferry-drill', brokers: opts.bootstrap, requestTimeout: opts.requestTimeoutMs, connectionTimeout: Math.min(opts.requestTimeoutMs, 3000),
      ...kafkajsSecurity(opts.security),
      logLevel: logLevel.WARN,
      logCreator: () => ({ level, log }) => {
        const key = String(log.message ?? 'unknown').slice(0, 120);
        this.bump(this.clientLog, key);
        if (level <= logLevel.WARN) opts.onClientLog?.(`kafkajs ${level === logLevel.ERROR ? 'error' : 'warn'}: ${key}${log.error ? ` (${String(log.error)})` : ''}`);
      },
    });
  }

  /** Connects one producer per partition and starts sending. */
  async start(): Promise<void> {
    if (this.running) throw new Error('workload already started');
    for (const p of this.opts.partitions) this.producers.set(p, await this.connectProducer());
    this.running = true;
    const intervalMs = (this.opts.partitions.length * 1000) / this.opts.ratePerSec;
    this.opts.partitions.forEach((p, i) => this.loops.push(this.loop(p, intervalMs, (i * intervalMs) / this.opts.partitions.length)));
  }

  /** Stops sending; waits up to settleMs for sends in flight, then freezes the ledger and disconnects. */
  async stop(settleMs: number): Promise<{ unsettled: boolean }> {
    this.running = false;
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.all(this.loops).then(() => true),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(false), settleMs); }),
    ]);
    clearTimeout(timer);
    this.frozen = true;
    await Promise.all([...this.producers.values()].map((p) => p.disconnect().catch(() => undefined)));
    this.producers.clear();
    return { unsettled: !settled };
  }

  /** Time of the last ack per partition. */
  lastAck(partition: number): number | undefined { return this.lastAckMs.get(partition); }

  private async connectProducer(): Promise<Producer> {
    const producer = this.kafka.producer({
      idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: this.opts.retries, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    await producer.connect();
    return producer;
  }

  private async loop(partition: number, intervalMs: number, phaseMs: number): Promise<void> {
    const { ledger, clock, topic } = this.opts;
    let nextAt = clock() + phaseMs;
    while (this.running) {
      const wait = nextAt - clock();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!this.running) break;
      // After a stall, resume at the rate instead of bursting to catch up.
      nextAt = Math.max(nextAt + intervalMs, clock());
      let producer = this.producers.get(partition);
      if (!producer) {
        try {
          producer = await this.connectProducer();
          this.producers.set(partition, producer);
        } catch (err) {
          this.recordError(partition, `connect: ${(err as Error).name}`);
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
      }
      const seq = ledger.nextSeq(partition);
      const cycle = this.opts.currentCycle();
      const value = encodeMessage({ run: ledger.run, cycle, partition, seq }, this.opts.messageBytes);
      const idx = ledger.beginSend(cycle, partition, payloadHash(value), clock(), seq);
      try {
        const md = await producer.send({ topic, acks: -1, messages: [{ partition, value }] });
        if (this.frozen) return;
        const m = md.find((x) => x.partition === partition && x.topicName === topic);
        const offset = Number(m?.baseOffset ?? m?.offset ?? NaN);
        if (!m || m.errorCode !== 0 || !Number.isSafeInteger(offset) || offset < 0) {
          ledger.fail(idx, clock());
          this.recordError(partition, `bad metadata ${JSON.stringify(m ?? null)}`.slice(0, 80));
          continue;
        }
        const now = clock();
        ledger.ack(idx, offset, now);
        this.lastAckMs.set(partition, now);
      } catch (err) {
        if (this.frozen) return;
        ledger.fail(idx, clock());
        this.recordError(partition, (err as Error).name || 'Error');
        // A fresh producer id: see the top of the file.
        this.producers.delete(partition);
        producer.disconnect().catch(() => undefined);
      }
    }
  }

  private recordError(partition: number, type: string): void {
    this.bump(this.sendErrors, type);
    if (this.errorEvents.length < ERROR_EVENTS_MAX) this.errorEvents.push({ atMs: this.opts.clock(), partition, type });
  }

  private bump(m: Map<string, number>, key: string): void {
    if (!m.has(key) && m.size >= ERROR_TYPES_MAX) key = 'other';
    m.set(key, (m.get(key) ?? 0) + 1);
  }
}
