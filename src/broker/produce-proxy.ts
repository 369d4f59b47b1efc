/**
 * The zone-local produce proxy (ferry.produce.routing=zone-local, docs/zone-local.md).
 *
 * A producer in another zone than a partition's leader is told by Metadata that a broker of its
 * own zone leads it (src/broker/metadata.ts). That broker, this proxy, gathers the batches of all
 * such partitions for ferry.proxy.linger.ms or until ferry.proxy.buffer.bytes, writes them as one
 * staging object (the object store's PUT crosses no zone), and sends each real leader only a
 * reference: key and byte ranges (FerryProxyProduce). The leader reads its range (a GET, no zone
 * crossed), appends the batches through its normal path (offsets, idempotence, transactions,
 * fencing) and answers; the proxy answers the client with the leader's answer. The staging object
 * is deleted once every leader answered (a leftover is deleted after
 * ferry.proxy.staging.retention.ms by any broker: staging-janitor.ts).
 *
 * Order: batches of one partition keep their arrival order. One flush's references to a leader
 * are sent only after the previous flush's to that leader were answered, and within a flush a
 * partition's batches are in arrival order; a producer's batches therefore reach the leader in
 * the order of their sequence numbers. Memory: gathered plus in-flight bytes stay under twice
 * ferry.proxy.buffer.bytes; past that a produce gets REQUEST_TIMED_OUT (retriable).
 */
import { randomBytes } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import type { FerryProxyProduceRequest, FerryProxyProduceResponse } from '../protocol/messages/ferry-proxy-produce.js';
import type { ProduceRequest, ProduceResponse } from '../protocol/messages/produce.js';
import type { DeepPartial } from '../protocol/primitives.js';
import { parseBatches } from '../protocol/record-batch.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { clientZone } from './zones.js';

type PartitionResult = NonNullable<NonNullable<DeepPartial<ProduceResponse>['responses']>[number]['partitionResponses']>[number];

/** One partition's batches of one client request, waiting for its leader's answer. */
interface Staged {
  topic: string;
  partition: number;
  leaderId: number;
  bytes: Buffer;
  /** The leader request this entry goes in: one per transactional id and Produce version. */
  groupKey: string;
  transactionalId: string | null;
  produceVersion: number;
  clientId: string;
  clientZone: string | null;
  timeoutMs: number;
  result: PartitionResult;
  stagedAt: number;
  settled: boolean;
  done: () => void;
}

export class ProduceProxy {
  private open: Staged[] = [];
  private openBytes = 0;
  /** Gathered plus staged bytes not yet answered. */
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Per leader: the previous flush's requests, answered (so references go in flush order). */
  private readonly leaderTail = new Map<number, Promise<void>>();
  private seq = 0;
  private closed = false;

  constructor(private readonly b: BrokerContext) {}

  /**
   * Stages one partition's batches for `leaderId`; the promise settles when `result` holds the
   * leader's answer. Returns undefined when the partition failed here (result says why).
   */
  stage(ctx: RequestContext, req: ProduceRequest, topicName: string, partition: number, leaderId: number, records: Buffer | null, result: PartitionResult): Promise<void> | undefined {
    const b = this.b;
    const fail = (code: number, message: string | null = null): undefined => { result.errorCode = code; result.errorMessage = message; return undefined; };
    if (this.closed) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (!records || records.length === 0) return fail(ErrorCode.INVALID_RECORD, 'no record batch');
    const topic = b.topics.byName(topicName)!;
    // Bad input is refused at the edge, before it costs a PUT (the leader checks everything again).
    const parsed = parseBatches(records, { batchBytesMax: Math.min(topic.maxMessageBytes, b.logs.batchBytesMax) });
    if (!Array.isArray(parsed)) {
      ctx.log.info({ topic: topicName, partition, code: parsed.errorCode, reason: parsed.message }, 'produce batch rejected by the zone-local proxy');
      return fail(parsed.errorCode, parsed.message);
    }
    if (parsed.length === 0) return fail(ErrorCode.INVALID_RECORD, 'no record batch');
    if (this.pendingBytes + records.length > 2 * b.zones.proxyBufferBytes) {
      return fail(ErrorCode.REQUEST_TIMED_OUT, 'the zone-local proxy buffer is full (ferry.proxy.buffer.bytes); retry');
    }
    return new Promise<void>((resolve) => {
      const version = ctx.header.apiVersion;
      const entry: Staged = {
        topic: topicName, partition, leaderId, bytes: records, groupKey: `${req.transactionalId ?? ''}\u0000${version}`,
        transactionalId: req.transactionalId, produceVersion: version, clientId: ctx.header.clientId ?? '',
        clientZone: clientZone(ctx.header.clientId), timeoutMs: req.timeoutMs, result, stagedAt: performance.now(), settled: false, done: resolve,
      };
      this.open.push(entry);
      this.openBytes += records.length;
      this.pendingBytes += records.length;
      b.metrics.proxyPendingBytes(this.pendingBytes);
      if (this.openBytes >= b.zones.proxyBufferBytes) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), b.zones.proxyLingerMs);
    });
  }

  private flushNow(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    const entries = this.open;
    if (entries.length === 0) return;
    this.open = [];
    this.openBytes = 0;
    void this.flush(entries);
  }

  /** One staging object for all gathered entries, then one reference request per leader and group. */
  private async flush(entries: Staged[]): Promise<void> {
    const b = this.b;
    // Layout: by leader, then by group, each in arrival order: every request's range is contiguous.
    const byLeader = new Map<number, Map<string, Staged[]>>();
    for (const e of entries) {
      let groups = byLeader.get(e.leaderId);
      if (!groups) byLeader.set(e.leaderId, (groups = new Map()));
      let g = groups.get(e.groupKey);
      if (!g) groups.set(e.groupKey, (g = []));
      g.push(e);
    }
    const body: Buffer[] = [];
    const positions = new Map<Staged, number>();
    let size = 0;
    for (const groups of byLeader.values()) {
      for (const g of groups.values()) {
        for (const e of g) { positions.set(e, size); body.push(e.bytes); size += e.bytes.length; }
      }
    }
    const key = `${b.zones.stagingPrefix}${b.self.nodeId}/${Date.now().toString(36)}-${(this.seq++).toString(36)}-${randomBytes(4).toString('hex')}`;
    const t0 = performance.now();
    const put = b.zones.store.put(key, body);
    // Each leader's requests wait for its previous flush's (order), then for the PUT.
    const sends: Promise<void>[] = [];
    for (const [leaderId, groups] of byLeader) {
      const prev = this.leaderTail.get(leaderId) ?? Promise.resolve();
      const mine = prev.then(() => put).then(
        () => Promise.all([...groups.values()].map((g) => this.sendGroup(key, leaderId, g, positions).catch((err) => {
          b.log.error({ err, leader: leaderId, key }, 'zone-local proxy: sending a reference failed');
          this.settle(g, ErrorCode.UNKNOWN_SERVER_ERROR, 'the zone-local proxy failed');
        }))).then(() => {}),
        (err) => { for (const g of groups.values()) this.settle(g, ErrorCode.KAFKA_STORAGE_ERROR, `staging the batches in the object store failed: ${(err as Error).message}`); },
      );
      this.leaderTail.set(leaderId, mine);
      void mine.then(() => { if (this.leaderTail.get(leaderId) === mine) this.leaderTail.delete(leaderId); });
      sends.push(mine);
    }
    put.then(
      () => b.metrics.proxyStaged(true, size, (performance.now() - t0) / 1000),
      (err) => { b.metrics.proxyStaged(false, size, 0); b.log.warn({ err, key, bytes: size }, 'zone-local proxy: staging object PUT failed'); },
    );
    await Promise.all(sends);
    // Every leader answered (or failed): the object is no longer needed (their WALs hold the data).
    if (await put.then(() => true, () => false)) {
      await b.zones.store.delete([key]).catch((err) => b.log.warn({ err, key }, 'zone-local proxy: deleting a staging object failed (the janitor retries)'));
    }
  }

  private async sendGroup(key: string, leaderId: number, entries: Staged[], positions: Map<Staged, number>): Promise<void> {
    const b = this.b;
    const topics: FerryProxyProduceRequest['topics'] = [];
    // Positional: the leader answers partition i of topic j for request entry (j, i); a partition may repeat.
    const order: Staged[][] = [];
    for (const e of entries) {
      const last = topics[topics.length - 1];
      const part = { index: e.partition, position: BigInt(positions.get(e)!), length: e.bytes.length, crc: crc32c(e.bytes) | 0 };
      if (last && last.name === e.topic) { last.partitions.push(part); order[order.length - 1]!.push(e); } else { topics.push({ name: e.topic, partitions: [part] }); order.push([e]); }
    }
    const first = entries[0]!;
    const request: FerryProxyProduceRequest = {
      proxyId: b.self.nodeId, clientId: first.clientId, produceVersion: first.produceVersion, transactionalId: first.transactionalId,
      acks: -1, timeoutMs: Math.max(...entries.map((e) => e.timeoutMs)), objectKey: key, topics,
    };
    let res: FerryProxyProduceResponse;
    try {
      res = await b.zones.interBroker!.request<FerryProxyProduceResponse>(leaderId, ApiKey.FerryProxyProduce, 0, request);
    } catch (err) {
      b.log.warn({ err, leader: leaderId, key }, 'zone-local proxy: the leader did not answer');
      // Retriable and sends the client to refresh its metadata (the leader may have moved).
      this.settle(entries, ErrorCode.NOT_LEADER_OR_FOLLOWER, `leader ${leaderId} did not answer the zone-local proxy`);
      return;
    }
    if (res.errorCode !== ErrorCode.NONE) {
      this.settle(entries, res.errorCode, res.errorMessage);
      return;
    }
    order.forEach((es, j) => es.forEach((e, i) => {
      const p = res.responses[j]?.partitions[i];
      if (!p || p.index !== e.partition || res.responses[j]!.name !== e.topic) {
        this.settleOne(e, ErrorCode.UNKNOWN_SERVER_ERROR, 'the leader answered the zone-local proxy out of order');
        return;
      }
      e.result.baseOffset = p.baseOffset;
      e.result.logAppendTimeMs = p.logAppendTimeMs;
      e.result.logStartOffset = p.logStartOffset;
      if (p.recordErrors.length > 0) e.result.recordErrors = p.recordErrors.map((r) => ({ batchIndex: r.batchIndex, batchIndexErrorMessage: r.batchIndexErrorMessage }));
      this.settleOne(e, p.errorCode, p.errorMessage);
    }));
  }

  private settle(entries: readonly Staged[], code: number, message: string | null): void {
    for (const e of entries) this.settleOne(e, code, message);
  }

  private settleOne(e: Staged, code: number, message: string | null): void {
    if (e.settled) return;
    e.settled = true;
    const b = this.b;
    e.result.errorCode = code;
    e.result.errorMessage = message;
    this.pendingBytes -= e.bytes.length;
    b.metrics.proxyPendingBytes(this.pendingBytes);
    b.metrics.proxyProduced((performance.now() - e.stagedAt) / 1000);
    // The client's bytes reached this broker, in its zone (or not: then they count as cross-AZ here).
    if (code === ErrorCode.NONE) b.metrics.crossAzBytes(e.clientZone, b.self.rack, e.bytes.length, 'in');
    e.done();
  }

  /** Stops taking batches; what is gathered is flushed and answered. */
  async close(): Promise<void> {
    this.closed = true;
    this.flushNow();
    await Promise.all([...this.leaderTail.values()]);
  }
}
