/**
 * Three brokers in one process for the read-replica handler tests: each a BrokerContext with the
 * real Fetch and FerryRemoteFetch handlers, racks a, b, c, broker 1 leading every partition (real
 * PartitionLogs and producer state), a shared fs object store read through each broker's own
 * block cache, and inter-broker requests that go through the codecs both ways. "Uploading" writes
 * the pending batches of a partition to an object and adds its blocks to the leader's log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { API_TABLE, ApiKey } from '../../src/protocol/messages/index.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { buildControlBatch, buildRecordBatch, setBaseOffset, splitBatches, baseOffsetOf, lastOffsetOf, type BuildBatchOptions } from '../../src/protocol/record-batch.js';
import type { RequestContext } from '../../src/server/handler-registry.js';
import type { Session } from '../../src/server/session.js';
import type { BrokerContext, BrokerEndpoint, HandlerMetrics } from '../../src/broker/context.js';
import { makeFetchHandler } from '../../src/broker/fetch.js';
import { makeRemoteFetchHandler } from '../../src/broker/remote-fetch-api.js';
import { DataNotifier, partitionKey } from '../../src/log/data-notifier.js';
import { PartitionLog, type ObjectBlockRef } from '../../src/log/partition-log.js';
import { ProducerStateTable } from '../../src/log/producer-state.js';
import type { PartitionState } from '../../src/log/log-manager.js';
import { ReadPath, type BlockReader } from '../../src/log/read-path.js';
import { FsObjectStore } from '../../src/objects/fs-object-store.js';
import { BlockCache, ObjectReader } from '../../src/objects/block-cache.js';
import { ALLOW_ALL, type Authorizer } from '../../src/security/types.js';
import type { TopicInfo } from '../../src/topics/topic-service.js';

const log = pino({ level: process.env.FERRY_TEST_LOG ?? 'silent' });

export const TOPIC = 'rr';
export const TOPIC_ID = '0123456789abcdef0123456789abcdef';

/** What the handlers counted. */
export class Counted {
  redirects = 0;
  served = { object: 0, tail: 0 };
  /** Tail bytes the leader sent replicas in other racks. */
  replicaBytes = 0;
  fetched = 0;
}

function metricsInto(c: Counted): HandlerMetrics {
  return {
    producedBytes: () => {}, walAppendSeconds: () => {}, crossAzBytes: () => {},
    fetchedBytes: (_t: string, n: number) => { c.fetched += n; },
    replicaBytes: (peer: string | null, self: string | null, n: number) => { if (peer && self && peer !== self) c.replicaBytes += n; },
    proxyStaged: () => {}, proxyProduced: () => {}, proxyPendingBytes: () => {}, schemaValidated: () => {},
    readReplicaRedirect: () => { c.redirects++; },
    readReplicaServed: (source: 'object' | 'tail', n: number) => { c.served[source] += n; },
  } as HandlerMetrics;
}

export interface Node {
  id: number;
  ctx: BrokerContext;
  counted: Counted;
  reader: ObjectReader;
  fetch: (ctx: RequestContext, req: any) => Promise<any>;
  remoteFetch: (ctx: RequestContext, req: any) => Promise<any>;
  /** FerryRemoteFetch requests this broker sent, as decoded by the leader. */
  sent: any[];
  /** Record bytes of the FerryRemoteFetch answers it got. */
  receivedTailBytes: number;
}

export class ReplicaHarness {
  readonly dir = mkdtempSync(join(tmpdir(), 'ferry-rr-'));
  readonly store = new FsObjectStore({ root: this.dir, fsync: false });
  readonly endpoints: BrokerEndpoint[] = [
    { nodeId: 1, host: '127.0.0.1', port: 1, rack: 'a' },
    { nodeId: 2, host: '127.0.0.1', port: 2, rack: 'b' },
    { nodeId: 3, host: '127.0.0.1', port: 3, rack: 'c' },
  ];
  /** Broker ids Leadership reports as live. */
  readonly live = new Set([1, 2, 3]);
  /** Brokers whose inter-broker requests fail (down, or not reachable). */
  readonly unreachable = new Set<number>();
  readonly topic: TopicInfo;
  readonly partitions = new Map<string, PartitionState>();
  readonly notifier = new DataNotifier();
  readonly nodes = new Map<number, Node>();
  authorizer: Authorizer = ALLOW_ALL;
  /** Fails the next GETs of any broker's block reader when set. */
  failGets = false;
  private objects = 0;

  constructor(partitions = 2, readonly leaderEpoch = 3) {
    this.topic = {
      name: TOPIC, topicId: TOPIC_ID, partitionCount: partitions, configs: {}, maxMessageBytes: 1 << 20, logAppendTime: false,
      retentionMs: -1, retentionBytes: -1, deletePolicy: true, compactPolicy: false,
      compaction: { minCleanableDirtyRatio: 0.5, minCompactionLagMs: 0, maxCompactionLagMs: 0, deleteRetentionMs: 0, segmentMs: 0, segmentBytes: 0 },
      produceRouting: 'leader', remoteReadMode: 'tail', keySchemaValidation: null, valueSchemaValidation: null,
    };
    for (let p = 0; p < partitions; p++) {
      this.partitions.set(partitionKey(TOPIC_ID, p), { log: new PartitionLog(TOPIC_ID, p, leaderEpoch), producers: new ProducerStateTable(), inFlight: new Set() });
    }
    for (const e of this.endpoints) this.nodes.set(e.nodeId, this.makeNode(e));
  }

  node(id: number): Node { return this.nodes.get(id)!; }
  state(p = 0): PartitionState { return this.partitions.get(partitionKey(TOPIC_ID, p))!; }

  private makeNode(self: BrokerEndpoint): Node {
    const counted = new Counted();
    const reader = new ObjectReader(this.store, new BlockCache({ maxBytes: 64 << 20 }));
    const blocks: BlockReader = {
      readBlocks: async (refs) => { if (this.failGets) throw new Error('injected GET failure'); return reader.readRefs(refs); },
      readPartition: async (refs, offset, maxBytes) => { if (this.failGets) throw new Error('injected GET failure'); return (await reader.readPartition(refs, offset, maxBytes)).blocks; },
    };
    const h = this;
    const node = { id: self.nodeId, counted, reader, sent: [] as any[], receivedTailBytes: 0 } as unknown as Node;
    const ctx = {
      self, clusterId: 'rr-test', log, metrics: metricsInto(counted), now: () => Date.now(), fatal: (e: Error) => { throw e; },
      limits: { messageMaxBytes: 1 << 20, fetchMaxBytes: 50 << 20, autoCreateTopics: false, defaultPartitions: 1, fetchSessionSlots: 100 },
      get authorizer() { return h.authorizer; },
      topics: {
        byId: (id: string) => (id === TOPIC_ID ? h.topic : undefined),
        byName: (name: string) => (name === TOPIC ? h.topic : undefined),
        list: () => [h.topic],
      },
      logs: {
        // Only the leader (broker 1) has the partitions' logs.
        get: (topicId: string, p: number) => (self.nodeId === 1 ? h.partitions.get(partitionKey(topicId, p)) : undefined),
        notifier: self.nodeId === 1 ? h.notifier : new DataNotifier(),
      },
      reads: new ReadPath(blocks),
      leadership: {
        clustered: true,
        leaderOf: (topicId: string, p: number) => (topicId === TOPIC_ID && p < h.topic.partitionCount && h.live.has(1) ? { nodeId: 1, epoch: h.leaderEpoch } : null),
        brokers: () => h.endpoints.filter((e) => h.live.has(e.nodeId)),
        broker: (id: number) => (h.live.has(id) ? h.endpoints.find((e) => e.nodeId === id) ?? null : null),
        controllerId: () => 1,
      },
      zones: {
        interBroker: {
          request: async (nodeId: number, apiKey: number, version: number, body: object) => h.interBroker(node, nodeId, apiKey, version, body),
        },
        blocks, store: this.store, stagingPrefix: 'rr-test/staging/', proxyLingerMs: 10, proxyBufferBytes: 1 << 20,
      },
    } as unknown as BrokerContext;
    node.ctx = ctx;
    node.fetch = makeFetchHandler(ctx) as Node['fetch'];
    node.remoteFetch = makeRemoteFetchHandler(ctx) as Node['remoteFetch'];
    return node;
  }

  /** The replica's request to `nodeId`, through the codecs both ways, as the inter-broker principal. */
  private async interBroker(from: Node, nodeId: number, apiKey: number, version: number, body: object): Promise<any> {
    if (this.unreachable.has(nodeId) || !this.live.has(nodeId)) throw new Error(`broker ${nodeId} is not reachable`);
    const api = API_TABLE.get(apiKey)!;
    const w = new Writer(256);
    api.encodeRequest(w, version, body);
    const req = api.decodeRequest(new Reader(w.toBuffer()), version);
    from.sent.push(req);
    const target = this.node(nodeId);
    const res = await target.remoteFetch(requestContext(apiKey, version, 'ferry-broker'), req);
    const rw = new Writer(256);
    api.encodeResponse(rw, version, res);
    const decoded = api.decodeResponse(new Reader(rw.toBuffer()), version);
    for (const t of decoded.responses) for (const p of t.partitions) from.receivedTailBytes += p.records?.length ?? 0;
    return decoded;
  }

  /** Appends `count` records of `valueBytes` each as one batch to partition `p` (durable at once), and wakes its fetches. */
  append(p: number, count: number, valueBytes = 100, opts: BuildBatchOptions = {}): { base: number; last: number; bytes: number } {
    return this.appendBatch(p, buildRecordBatch(Array.from({ length: count }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(valueBytes, i) })), opts), count);
  }

  appendBatch(p: number, batch: Buffer, count: number): { base: number; last: number; bytes: number } {
    const st = this.state(p);
    const base = st.log.reserve(count);
    setBaseOffset(batch, BigInt(base));
    st.log.commit({ baseOffset: base, lastOffset: base + count - 1, maxTimestamp: Date.now(), bytes: batch, walOffset: 0n }, this.leaderEpoch);
    this.notifier.notify(partitionKey(TOPIC_ID, p));
    return { base, last: base + count - 1, bytes: batch.length };
  }

  /** A transaction of `count` batches of one record by `producerId`, ended by a marker (abort or commit). */
  transaction(p: number, producerId: bigint, count: number, commit: boolean | null): void {
    const st = this.state(p);
    for (let i = 0; i < count; i++) {
      const r = this.append(p, 1, 50, { producerId, producerEpoch: 0, baseSequence: i, isTransactional: true });
      st.producers.txns.onData(producerId, r.base);
    }
    if (commit === null) return;
    const marker = buildControlBatch(commit ? 1 : 0, 0, { producerId, producerEpoch: 0, timestamp: BigInt(Date.now()) });
    const r = this.appendBatch(p, marker, 1);
    st.producers.txns.onMarker(producerId, r.base, commit);
  }

  /** Writes what partition `p` has not uploaded (its first `batches`) to one object, `batchesPerBlock` batches per block, and adds its blocks. */
  async upload(p: number, batchesPerBlock = 2, batches = Infinity): Promise<ObjectBlockRef[]> {
    const st = this.state(p);
    const pending = st.log.pendingUpload().slice(0, batches);
    if (pending.length === 0) return [];
    const objectId = `obj${++this.objects}`;
    const key = `rr-test/o/00/${objectId}`;
    const refs: ObjectBlockRef[] = [];
    let position = 0;
    for (let i = 0; i < pending.length; i += batchesPerBlock) {
      const run = pending.slice(i, i + batchesPerBlock);
      const size = run.reduce((n, b) => n + b.bytes.length, 0);
      refs.push({ objectId, objectKey: key, objectSize: 0, baseOffset: run[0].baseOffset, endOffset: run[run.length - 1].lastOffset + 1, maxTimestamp: Date.now(), position, size });
      position += size;
    }
    for (const r of refs) r.objectSize = position;
    await this.store.put(key, pending.map((b) => b.bytes));
    st.log.addObjectBlocks(refs);
    return refs;
  }

  /** GETs every broker's block reader made. */
  gets(id: number): number { return this.node(id).reader.stats.gets; }

  async dispose(): Promise<void> {
    await this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function requestContext(apiKey: number, apiVersion: number, clientId: string, session?: Session, signal = new AbortController().signal): RequestContext {
  return { header: { apiKey, apiVersion, correlationId: 1, clientId }, connectionId: 1, remoteAddress: '127.0.0.1', log, signal, ...(session ? { session } : {}) };
}

export interface FetchOptions {
  version?: number;
  rackId?: string;
  clientId?: string;
  replicaId?: number;
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
  isolationLevel?: number;
  currentLeaderEpoch?: number;
  sessionId?: number;
  sessionEpoch?: number;
  signal?: AbortSignal;
}

/** A consumer's Fetch of `partitions` (partition -> offset) from broker `id`, through the codecs at `version` (default 12). */
export async function fetch(h: ReplicaHarness, id: number, partitions: Record<number, number>, o: FetchOptions = {}): Promise<any> {
  const version = o.version ?? 12;
  const body = {
    replicaId: o.replicaId ?? -1, replicaState: { replicaId: o.replicaId ?? -1, replicaEpoch: -1 }, maxWaitMs: o.maxWaitMs ?? 0, minBytes: o.minBytes ?? 0,
    maxBytes: o.maxBytes ?? 1 << 20, isolationLevel: o.isolationLevel ?? 0, sessionId: o.sessionId ?? 0, sessionEpoch: o.sessionEpoch ?? -1,
    topics: [{
      topic: TOPIC, topicId: TOPIC_ID,
      partitions: Object.entries(partitions).map(([p, off]) => ({
        partition: Number(p), fetchOffset: BigInt(off), partitionMaxBytes: o.partitionMaxBytes ?? 1 << 20, currentLeaderEpoch: o.currentLeaderEpoch ?? -1, logStartOffset: -1n,
      })),
    }],
    forgottenTopicsData: [], rackId: o.rackId ?? '',
  };
  const api = API_TABLE.get(ApiKey.Fetch)!;
  const w = new Writer(256);
  api.encodeRequest(w, version, body);
  const req = api.decodeRequest(new Reader(w.toBuffer()), version);
  const res = await h.node(id).fetch(requestContext(ApiKey.Fetch, version, o.clientId ?? 'consumer', undefined, o.signal), req);
  const rw = new Writer(256);
  api.encodeResponse(rw, version, res);
  return api.decodeResponse(new Reader(rw.toBuffer()), version);
}

/** The partition's answer in a decoded Fetch response. */
export function partitionOf(res: any, p = 0): any {
  for (const t of res.responses) for (const x of t.partitions) if (x.partitionIndex === p) return x;
  return undefined;
}

/** [base, last] offsets of the batches in a partition's records. */
export function offsetsOf(part: any): [number, number][] {
  if (!part?.records || part.records.length === 0) return [];
  return splitBatches(part.records).map((b) => [baseOffsetOf(b), lastOffsetOf(b)]);
}
