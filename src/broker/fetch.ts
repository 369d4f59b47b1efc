/**
 * Fetch (api key 1), versions 4–17.
 *
 * Not v0–3, as Kafka 4.0 (KIP-896): those versions can only carry message format v0/v1 (a
 * MessageSet), and Ferry stores record batches v2 only, so serving them would mean converting
 * every batch down on the way out (losing headers, transactional markers and producer ids). No
 * client in use needs them: kafka-python (2.0.2 here) asks ApiVersions and uses Fetch v4 with any
 * broker of 0.11+; librdkafka/kcat use v4+ whenever ApiVersions succeeds (only an ancient client
 * with api.version.request=false and broker.version.fallback < 0.10.1 sends v0–3). A v0–3
 * request is answered with UNSUPPORTED_VERSION on every partition it names (src/server/connection.ts).
 *
 * Long poll: answers as soon as `minBytes` are available or `maxWaitMs` passes, woken by new
 * durable data on any requested partition; a wake-up reads again only the partitions that were
 * notified, the others keep what they read. Honors `maxBytes` and `partitionMaxBytes`, always
 * returning at least one whole batch of the first partition with data so a consumer can make
 * progress (KIP-74). Records go into the response as the log's own batch buffers (a list, never
 * concatenated), and from there to the socket as chunks of their own: no copy of record bytes.
 * read_committed (isolation level 1) reads only below the last stable offset (the first offset of
 * the oldest open transaction) and gets the aborted transactions overlapping what it read, so the
 * client drops their records; read_uncommitted reads up to the high watermark.
 * v7+: fetch sessions (see fetch-sessions.ts). v13+: topics by id.
 *
 * Zones (KIP-392, docs/zone-local.md): v11+, the leader answers a consumer whose zone (rackId, or
 * ferry_az=<zone> in its client id) is not its own rack, for a topic whose ferry.remote.read.mode
 * is not `leader`, with preferredReadReplica = the live broker that serves that zone for the
 * partition (zoneBrokerFor) and no records, at once. A broker that does not lead a partition of
 * such a topic (or of a zone-local one) serves consumers as its read replica (read-replica.ts):
 * it asks the leader (FerryRemoteFetch, one request per leader) and serves uploaded data from the
 * object store and the tail from its tail cache and the leader's answer; waiting for data, it has
 * the leader long poll for it, raced with the local notifier. Sessions keep working for such partitions (the
 * leader's high watermark and log start are what the session remembers).
 *
 * ACLs (Kafka's): a consumer needs READ on each topic, a follower (replica id >= 0) CLUSTER_ACTION
 * on the cluster; refused partitions answer TOPIC_AUTHORIZATION_FAILED whether they exist or not
 * (an unknown topic id stays UNKNOWN_TOPIC_ID: ids are no secret). Checked on every request, for
 * the session's partitions too.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { FetchRequest, FetchResponse } from '../protocol/messages/fetch.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { missingPartitionError } from './partition-errors.js';
import { FetchSessionCache, sessionKey, type SessionPartition, type FetchSession } from './fetch-sessions.js';
import { partitionKey, type DataWatch } from '../log/data-notifier.js';
import type { ReadResult } from '../log/partition-log.js';
import { lastOffsetOf } from '../protocol/record-batch.js';
import type { TopicInfo } from '../topics/topic-service.js';
import { requestAcl } from './authorize.js';
import { clientZone, zoneBrokerFor } from './zones.js';
import { ReadReplica, type RemoteAnswer, type RemotePart } from './read-replica.js';

export const FETCH_VERSIONS = { min: 4, max: 17 } as const;
const READ_COMMITTED = 1;

type TopicResponse = NonNullable<DeepPartial<FetchResponse>['responses']>[number];
type PartitionData = NonNullable<TopicResponse['partitions']>[number];

interface Wanted extends SessionPartition {
  /** Error found while resolving the topic (unknown topic or id, or not authorized), if any. */
  resolveError: number;
}

/** What one partition's last read gave. */
interface PartitionRead {
  data: PartitionData;
  /** Record bytes in `data.records`, claimed in the send queue for as long as they are held. */
  bytes: number;
  /** Whether an incremental session response carries the partition. */
  changed: boolean;
  /** High watermark and log start as read, for the session; null when the partition is not here. */
  seen: { hw: number; logStart: number } | null;
  /** Sent to a read replica of the consumer's zone (answered at once, as Kafka does). */
  redirected: boolean;
  /** Read through its leader (this broker is a read replica): where a long poll waits from. */
  remote: { leaderId: number; next: number; more: boolean } | null;
  /** Of `bytes`, read replicas only: from object blocks, from the leader's tail. */
  objectBytes: number;
  tailBytes: number;
}

const NO_RECORDS: readonly Buffer[] = [];

export function makeFetchHandler(b: BrokerContext) {
  const sessions = new FetchSessionCache(b.limits.fetchSessionSlots);
  const replica = new ReadReplica(b);

  return async (ctx: RequestContext, req: FetchRequest): Promise<DeepPartial<FetchResponse>> => {
    const version = ctx.header.apiVersion;
    const byId = version >= 13;
    const lookup = version >= 7 ? sessions.lookup(req.sessionId, req.sessionEpoch, b.now()) : { kind: 'sessionless' as const };
    if (lookup.kind === 'error') return { errorCode: lookup.errorCode, sessionId: 0, responses: [] };

    const acl = requestAcl(b, ctx);
    const follower = (version >= 15 ? req.replicaState.replicaId : req.replicaId) >= 0;
    const followerDenied = follower && !acl.allowedOnCluster('CLUSTER_ACTION');
    // Authorization before existence, so a refused client cannot tell which topics exist.
    const resolveError = (topic: TopicInfo | undefined, name: string): number => {
      if (followerDenied) return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      if (!topic && byId) return ErrorCode.UNKNOWN_TOPIC_ID;
      if (!follower && !acl.allowed('READ', 'TOPIC', topic?.name ?? name)) return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      return topic ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    };

    const requested: Wanted[] = [];
    for (const t of req.topics) {
      const topic = byId ? b.topics.byId(t.topicId) : b.topics.byName(t.topic);
      const error = resolveError(topic, t.topic);
      for (const p of t.partitions) {
        requested.push({
          topicId: topic?.topicId ?? t.topicId, topicName: topic?.name ?? t.topic, partition: p.partition,
          fetchOffset: Number(p.fetchOffset), partitionMaxBytes: p.partitionMaxBytes, currentLeaderEpoch: p.currentLeaderEpoch,
          lastHighWatermark: -1, lastLogStartOffset: -1, resolveError: error,
        });
      }
    }

    let session: FetchSession | null = null;
    let incremental = false;
    let wanted: Wanted[];
    if (lookup.kind === 'new' || lookup.kind === 'incremental') {
      session = lookup.session;
      incremental = lookup.kind === 'incremental';
      if (incremental) {
        for (const f of req.forgottenTopicsData) {
          const id = byId ? f.topicId : b.topics.byName(f.topic)?.topicId;
          if (id) for (const p of f.partitions) session.partitions.delete(sessionKey(id, p));
        }
      }
      for (const w of requested) {
        const key = sessionKey(w.topicId, w.partition);
        const prev = session.partitions.get(key);
        session.partitions.set(key, { ...w, lastHighWatermark: prev?.lastHighWatermark ?? -1, lastLogStartOffset: prev?.lastLogStartOffset ?? -1 });
      }
      const resolveErrors = new Map(requested.map((w) => [sessionKey(w.topicId, w.partition), w.resolveError]));
      wanted = [...session.partitions.values()].map((p) => ({
        ...p, resolveError: resolveErrors.get(sessionKey(p.topicId, p.partition)) ?? resolveError(b.topics.byId(p.topicId), p.topicName),
      }));
    } else {
      wanted = requested;
    }

    const reads = new PartitionReads(b, ctx, req, wanted, replica, follower);
    const watch = b.logs.notifier.watch(wanted.map((w) => partitionKey(w.topicId, w.partition)));
    try {
      const deadline = b.now() + Math.max(0, req.maxWaitMs);
      await reads.readAll();
      for (;;) {
        const remaining = deadline - b.now();
        if (reads.bytes >= req.minBytes || reads.answerNow() || remaining <= 0 || ctx.signal.aborted || wanted.length === 0) break;
        // Not enough yet: what was read stays (and stays claimed); only partitions with news are read
        // again. Partitions read through their leaders wait on a long poll of the leader (its tail
        // lands in the replica's cache and is notified like local data).
        await waitForNews(watch, remaining, ctx.signal, reads.pollLeaders(remaining));
        await reads.readAgain(watch.take());
      }
    } finally {
      watch.close();
    }
    if (session) remember(session, reads.seen(incremental));
    return { errorCode: ErrorCode.NONE, sessionId: session ? session.id : 0, responses: reads.responses(incremental, byId), throttleTimeMs: 0 };
  };
}

/** The watch's wait, cut short when `poll` ends (aborting the wait keeps the watch's state right). */
async function waitForNews(watch: DataWatch, timeoutMs: number, signal: AbortSignal, poll: Promise<void> | null): Promise<void> {
  if (!poll) return watch.wait(timeoutMs, signal);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) stop.abort();
  void poll.then(onAbort);
  try {
    await watch.wait(timeoutMs, stop.signal);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function remember(session: FetchSession, seen: { key: string; hw: number; logStart: number }[]): void {
  for (const s of seen) {
    const p = session.partitions.get(s.key);
    if (p) { p.lastHighWatermark = s.hw; p.lastLogStartOffset = s.logStart; }
  }
}

/**
 * The latest read of every wanted partition. The records read are claimed in the connection's
 * send queue (ctx.responseBytes) before each read and held until the response is built, so a
 * client that pipelines fetches and does not read the answers gets smaller ones, not unbounded
 * memory; past the grant only KIP-74's first batch is read. A partition read again first gives
 * back what it held. Partitions read through their leaders (read replica) are asked of each
 * leader in one FerryRemoteFetch, sent before the reads in request order begin.
 */
class PartitionReads {
  private readonly reads: PartitionRead[] = [];
  /** Record bytes held over all partitions. */
  bytes = 0;
  private readonly maxBytes: number;

  constructor(
    private readonly b: BrokerContext,
    private readonly ctx: RequestContext,
    private readonly req: FetchRequest,
    private readonly wanted: readonly Wanted[],
    private readonly replica: ReadReplica,
    private readonly follower: boolean,
  ) {
    this.maxBytes = Math.min(req.maxBytes, b.limits.fetchMaxBytes);
  }

  async readAll(): Promise<void> {
    await this.readSome(this.wanted.map((_, i) => i));
  }

  /** Reads again the partitions whose keys were notified, in request order. */
  async readAgain(keys: ReadonlySet<string>): Promise<void> {
    if (keys.size === 0) return;
    await this.readSome(this.wanted.flatMap((w, i) => (keys.has(partitionKey(w.topicId, w.partition)) ? [i] : [])));
  }

  /** An error or a redirect answers at once. */
  answerNow(): boolean {
    return this.reads.some((r) => r.data.errorCode !== ErrorCode.NONE || r.redirected);
  }

  /**
   * Long polls of the leaders of the partitions read through them that got no error and have
   * room for more, from where their reads ended; null when there are none.
   */
  pollLeaders(remainingMs: number): Promise<void> | null {
    const groups = new Map<number, RemotePart[]>();
    this.reads.forEach((r, i) => {
      if (!r.remote || r.remote.more || r.data.errorCode !== ErrorCode.NONE) return;
      const part = this.remotePart(i, r.remote.next);
      const list = groups.get(r.remote.leaderId);
      if (list) list.push(part); else groups.set(r.remote.leaderId, [part]);
    });
    if (groups.size === 0) return null;
    return this.replica.poll(groups, { isolationLevel: this.req.isolationLevel, maxBytes: this.maxBytes, maxWaitMs: remainingMs });
  }

  private async readSome(indices: readonly number[]): Promise<void> {
    // Leaders are asked first (one request each, in parallel); the reads then go in request order.
    const byLeader = new Map<number, number[]>();
    for (const i of indices) {
      const w = this.wanted[i];
      if (w.resolveError !== ErrorCode.NONE || this.b.logs.get(w.topicId, w.partition)) continue;
      const leaderId = this.replica.leaderFor(this.b.topics.byId(w.topicId), w.partition, this.follower);
      if (leaderId === null) continue;
      const list = byLeader.get(leaderId);
      if (list) list.push(i); else byLeader.set(leaderId, [i]);
    }
    const answers = new Map<number, { leaderId: number; answer: Promise<RemoteAnswer> }>();
    for (const [leaderId, list] of byLeader) {
      const asked = this.replica.fetch(leaderId, list.map((i) => this.remotePart(i, this.wanted[i].fetchOffset)), { isolationLevel: this.req.isolationLevel, maxBytes: this.maxBytes });
      list.forEach((i, k) => answers.set(i, { leaderId, answer: asked.then((a) => a[k]) }));
    }
    for (const i of indices) {
      const remote = answers.get(i);
      if (remote) await this.readRemote(i, remote.leaderId, await remote.answer);
      else await this.read(i);
    }
  }

  private remotePart(i: number, fetchOffset: number): RemotePart {
    const w = this.wanted[i];
    return {
      topicId: w.topicId, topicName: w.topicName, partition: w.partition, fetchOffset, partitionMaxBytes: w.partitionMaxBytes,
      currentLeaderEpoch: w.currentLeaderEpoch, uploadedOnly: this.b.topics.byId(w.topicId)?.remoteReadMode === 'uploaded-only',
    };
  }

  private release(i: number): void {
    const prev = this.reads[i];
    if (!prev || prev.bytes === 0) return;
    this.bytes -= prev.bytes;
    this.ctx.responseBytes?.adjust(-prev.bytes);
    prev.bytes = 0;
  }

  private begin(i: number): PartitionRead {
    this.release(i);
    const data: PartitionData = {
      partitionIndex: this.wanted[i].partition, errorCode: ErrorCode.NONE, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n,
      abortedTransactions: this.req.isolationLevel === READ_COMMITTED ? [] : null, preferredReadReplica: -1, records: NO_RECORDS,
    };
    const out: PartitionRead = { data, bytes: 0, changed: true, seen: null, redirected: false, remote: null, objectBytes: 0, tailBytes: 0 };
    this.reads[i] = out;
    return out;
  }

  /** The bytes this partition may read now: claimed in the send queue (give back what is not used). */
  private claim(w: Wanted): number {
    const wantBytes = Math.min(w.partitionMaxBytes, Math.max(0, this.maxBytes - this.bytes));
    return this.ctx.responseBytes ? this.ctx.responseBytes.claim(wantBytes) : wantBytes;
  }

  /**
   * KIP-392: the broker of the consumer's zone that serves it this partition, when that is not
   * this broker (the leader) and the topic is read remotely. Fetch v11+ only (preferredReadReplica).
   */
  private readReplicaFor(w: Wanted): number | null {
    const { b, req, ctx } = this;
    if (ctx.header.apiVersion < 11 || this.follower) return null;
    const zone = clientZone(ctx.header.clientId, req.rackId);
    if (!zone || zone === b.self.rack) return null;
    const topic = b.topics.byId(w.topicId);
    if (!topic || topic.remoteReadMode === 'leader') return null;
    // The broker Metadata lists as the zone's replica (the Java client follows only a listed one).
    const target = zoneBrokerFor(b.leadership.brokers(), zone, w.topicId, w.partition, b.self.nodeId);
    return target && target.nodeId !== b.self.nodeId ? target.nodeId : null;
  }

  private async read(i: number): Promise<void> {
    const { b, req } = this;
    const w = this.wanted[i];
    const out = this.begin(i);
    const data = out.data;
    const st = w.resolveError === ErrorCode.NONE ? b.logs.get(w.topicId, w.partition) : undefined;
    if (w.resolveError !== ErrorCode.NONE) {
      data.errorCode = w.resolveError;
      return;
    }
    if (!st) {
      data.errorCode = missingPartitionError(b.topics.byId(w.topicId), w.partition);
      return;
    }
    const log = st.log;
    out.seen = { hw: log.highWatermark, logStart: log.logStartOffset };
    if (w.currentLeaderEpoch >= 0 && w.currentLeaderEpoch < log.leaderEpoch) {
      data.errorCode = ErrorCode.FENCED_LEADER_EPOCH;
      return;
    }
    if (w.currentLeaderEpoch > log.leaderEpoch) {
      data.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH;
      return;
    }
    const lso = st.producers.txns.lastStableOffset(log.highWatermark);
    const readCommitted = req.isolationLevel === READ_COMMITTED;
    data.highWatermark = BigInt(log.highWatermark);
    data.lastStableOffset = BigInt(lso);
    data.logStartOffset = BigInt(log.logStartOffset);
    const readReplica = this.readReplicaFor(w);
    if (readReplica !== null) {
      // As Kafka: the replica's id and the offsets, no records.
      data.preferredReadReplica = readReplica;
      out.redirected = true;
      b.metrics.readReplicaRedirect();
      return;
    }
    if (w.fetchOffset < log.logStartOffset || w.fetchOffset > log.highWatermark) {
      data.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
      return;
    }
    const budget = this.claim(w);
    let read: ReadResult;
    try {
      read = await b.reads.read(log, w.fetchOffset, budget, this.bytes === 0, readCommitted ? lso : log.highWatermark);
    } catch (err) {
      // The object store failed this read: a retriable error for this partition only.
      b.log.warn({ err, topic: w.topicName, partition: w.partition, offset: w.fetchOffset }, 'fetch from the object store failed');
      read = { batches: [], bytes: 0 };
      data.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
    }
    this.ctx.responseBytes?.adjust(read.bytes - budget);
    if (read.bytes > 0) {
      data.records = read.batches;
      if (readCommitted) {
        const to = lastOffsetOf(read.batches[read.batches.length - 1]);
        data.abortedTransactions = st.producers.txns.abortedIn(w.fetchOffset, to).map((a) => ({ producerId: a.producerId, firstOffset: BigInt(a.firstOffset) }));
      }
    }
    this.finish(out, w, read.bytes);
  }

  /** A partition this broker reads through its leader: the leader's answer, then the data from where it says. */
  private async readRemote(i: number, leaderId: number, a: RemoteAnswer): Promise<void> {
    const { b } = this;
    const w = this.wanted[i];
    const out = this.begin(i);
    const data = out.data;
    out.remote = { leaderId, next: w.fetchOffset, more: false };
    if (a.highWatermark >= 0) {
      out.seen = { hw: a.highWatermark, logStart: a.logStartOffset };
      data.highWatermark = BigInt(a.highWatermark);
      data.lastStableOffset = BigInt(a.lastStableOffset);
      data.logStartOffset = BigInt(a.logStartOffset);
    }
    if (a.errorCode !== ErrorCode.NONE) {
      data.errorCode = a.errorCode;
      return;
    }
    const budget = this.claim(w);
    let bytes = 0;
    try {
      const served = await this.replica.serve(a, partitionKey(w.topicId, w.partition), w.fetchOffset, budget, this.bytes === 0);
      out.remote = { leaderId, next: served.next, more: served.more };
      bytes = served.bytes;
      if (bytes > 0) {
        data.records = served.batches;
        out.objectBytes = served.objectBytes;
        out.tailBytes = served.tailBytes;
        if (a.abortedTransactions) {
          const last = served.next - 1;
          data.abortedTransactions = a.abortedTransactions.filter((t) => t.firstOffset <= last).map((t) => ({ producerId: t.producerId, firstOffset: BigInt(t.firstOffset) }));
        }
      }
    } catch (err) {
      b.log.warn({ err, topic: w.topicName, partition: w.partition, offset: w.fetchOffset }, 'read replica: reading object blocks failed');
      data.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
    }
    this.ctx.responseBytes?.adjust(bytes - budget);
    this.finish(out, w, bytes);
  }

  private finish(out: PartitionRead, w: Wanted, bytes: number): void {
    out.bytes = bytes;
    this.bytes += bytes;
    // The high watermark and log start as they were when the read began (what the data matches).
    out.changed = bytes > 0 || out.data.errorCode !== ErrorCode.NONE || !out.seen || out.seen.hw !== w.lastHighWatermark || out.seen.logStart !== w.lastLogStartOffset;
  }

  /** Session bookkeeping: the high watermark and log start each partition in the response carries. */
  seen(incremental: boolean): { key: string; hw: number; logStart: number }[] {
    const out: { key: string; hw: number; logStart: number }[] = [];
    this.reads.forEach((r, i) => {
      const w = this.wanted[i];
      if (r.seen && (r.changed || !incremental)) out.push({ key: sessionKey(w.topicId, w.partition), ...r.seen });
    });
    return out;
  }

  /** The response's topics, in request order; an incremental response leaves out partitions without news. Counts the bytes sent. */
  responses(incremental: boolean, byId: boolean): TopicResponse[] {
    const responses: TopicResponse[] = [];
    const topicIndex = new Map<string, TopicResponse>();
    this.reads.forEach((r, i) => {
      if (incremental && !r.changed) return;
      const w = this.wanted[i];
      if (r.bytes > 0) {
        this.b.metrics.fetchedBytes(w.topicName, r.bytes);
        this.b.metrics.crossAzBytes(clientZone(this.ctx.header.clientId, this.req.rackId), this.b.self.rack, r.bytes, 'out');
        this.b.metrics.readReplicaServed('object', r.objectBytes);
        this.b.metrics.readReplicaServed('tail', r.tailBytes);
      }
      const tkey = byId ? w.topicId : w.topicName;
      let topic = topicIndex.get(tkey);
      if (!topic) {
        topic = { topic: w.topicName, topicId: w.topicId, partitions: [] };
        topicIndex.set(tkey, topic);
        responses.push(topic);
      }
      topic.partitions!.push(r.data);
    });
    return responses;
  }
}
