/**
 * Delivery of transaction markers for the coordinator: to partitions this broker leads, through
 * its own append path; to partitions and groups led or coordinated elsewhere, as WriteTxnMarkers
 * to that broker (as Kafka's coordinator does), over one cached connection per broker.
 */
import type { Logger } from 'pino';
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import type { WriteTxnMarkersResponse } from '../protocol/messages/write-txn-markers.js';
import { KafkaConnection } from '../admin/kafka-connection.js';
import { PLAINTEXT_CLIENT, type ClientSecurity } from '../admin/client-security.js';
import type { BrokerContext } from '../broker/context.js';
import { completeGroups, groupMarkerTopic, writeMarker } from '../broker/txn-apis.js';
import type { MarkerRequest, MarkerResult, MarkerWriter, TxnTopicPartition } from '../txn/types.js';

/** Connections per broker for long polls (read replicas waiting on different partitions). */
const POLL_CONNECTIONS_MAX = 8;

/** Codes that mean the partition needs no marker (its topic is gone). */
const DONE = new Set<number>([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);

/** Connections to the other brokers, opened on first use and dropped when they fail. */
export class BrokerChannels {
  /** By broker id, and `<id>:poll:<n>` for the long-poll pool. */
  private readonly open = new Map<string, Promise<KafkaConnection>>();
  private readonly polls = new Map<number, { key: string; inFlight: number }[]>();

  constructor(
    private readonly addressOf: (nodeId: number) => string | null,
    private readonly log: Logger,
    private readonly requestTimeoutMs = 10_000,
    /** How to connect on inter.broker.listener.name (TLS, SASL). */
    private readonly security: ClientSecurity = PLAINTEXT_CLIENT,
  ) {}

  async request<T>(nodeId: number, apiKey: number, version: number, body: object, options: { lane?: 'default' | 'poll' } = {}): Promise<T> {
    if (options.lane === 'poll') return this.pollRequest(nodeId, apiKey, version, body);
    return this.send(String(nodeId), nodeId, apiKey, version, body);
  }

  /**
   * A long poll parks its connection's later answers (a broker answers a connection in order), so
   * each gets a connection of a small pool of its own: the least busy, a new one while the pool is
   * below POLL_CONNECTIONS_MAX, shared only past that.
   */
  private async pollRequest<T>(nodeId: number, apiKey: number, version: number, body: object): Promise<T> {
    let pool = this.polls.get(nodeId);
    if (!pool) this.polls.set(nodeId, (pool = []));
    let slot = pool.reduce<{ key: string; inFlight: number } | null>((best, s) => (best === null || s.inFlight < best.inFlight ? s : best), null);
    if (!slot || (slot.inFlight > 0 && pool.length < POLL_CONNECTIONS_MAX)) {
      slot = { key: `${nodeId}:poll:${pool.length}`, inFlight: 0 };
      pool.push(slot);
    }
    slot.inFlight++;
    try {
      return await this.send<T>(slot.key, nodeId, apiKey, version, body);
    } finally {
      slot.inFlight--;
    }
  }

  private async send<T>(key: string, nodeId: number, apiKey: number, version: number, body: object): Promise<T> {
    let conn = this.open.get(key);
    if (!conn) {
      const address = this.addressOf(nodeId);
      if (!address) throw new Error(`broker ${nodeId} is not alive`);
      conn = KafkaConnection.connect(address, { clientId: 'ferry-broker', requestTimeoutMs: this.requestTimeoutMs, connectTimeoutMs: 5000, security: this.security });
      this.open.set(key, conn);
    }
    try {
      const c = await conn;
      // Ferry's own inter-broker APIs (30000+) are never advertised in ApiVersions: sent at their version as is.
      return apiKey >= 30000 ? await c.requestAt<T>(apiKey, version, body) : await c.request<T>(apiKey, version, body);
    } catch (err) {
      if (this.open.get(key) === conn) this.open.delete(key);
      conn.then((c) => c.close(), () => {});
      throw err;
    }
  }

  close(): void {
    for (const c of this.open.values()) c.then((x) => x.close(), () => {});
    this.open.clear();
    this.polls.clear();
    this.log.debug('inter-broker connections closed');
  }
}

export class BrokerMarkerWriter implements MarkerWriter {
  constructor(private readonly b: BrokerContext, private readonly channels: BrokerChannels, private readonly coordinatorKey: (groupId: string) => string = (g) => g) {}

  async write(req: MarkerRequest): Promise<MarkerResult> {
    const b = this.b;
    const result: MarkerResult = { failedPartitions: [], failedGroups: [] };
    const remote = new Map<number, { partitions: TxnTopicPartition[]; groups: string[] }>();
    const remoteOf = (nodeId: number) => {
      let r = remote.get(nodeId);
      if (!r) remote.set(nodeId, (r = { partitions: [], groups: [] }));
      return r;
    };
    const local: Promise<void>[] = [];
    for (const tp of req.partitions) {
      const topic = b.topics.byName(tp.topic);
      if (!topic) continue; // deleted: nothing to end there
      const leader = b.leadership.leaderOf(topic.topicId, tp.partition);
      if (!leader) { result.failedPartitions.push({ tp, errorCode: ErrorCode.LEADER_NOT_AVAILABLE }); continue; }
      if (leader.nodeId !== b.self.nodeId) { remoteOf(leader.nodeId).partitions.push(tp); continue; }
      local.push(writeMarker(b, tp.topic, tp.partition, req.producerId, req.producerEpoch, req.commit, req.coordinatorEpoch).then((code) => {
        if (!DONE.has(code)) result.failedPartitions.push({ tp, errorCode: code });
      }));
    }
    const localGroups: string[] = [];
    for (const groupId of req.groups) {
      const c = b.leadership.coordinatorFor(this.coordinatorKey(groupId));
      if (!c) result.failedGroups.push({ groupId, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE });
      else if (c.nodeId === b.self.nodeId) localGroups.push(groupId);
      else remoteOf(c.nodeId).groups.push(groupId);
    }
    if (localGroups.length) {
      local.push(completeGroups(b, req.producerId, req.commit, localGroups).then((code) => {
        if (code !== ErrorCode.NONE) for (const groupId of localGroups) result.failedGroups.push({ groupId, errorCode: code });
      }));
    }
    await Promise.all([...local, ...[...remote].map(([nodeId, r]) => this.sendRemote(nodeId, req, r.partitions, r.groups, result))]);
    return result;
  }

  private async sendRemote(nodeId: number, req: MarkerRequest, partitions: TxnTopicPartition[], groups: string[], result: MarkerResult): Promise<void> {
    const topics = new Map<string, number[]>();
    for (const tp of partitions) topics.set(tp.topic, [...(topics.get(tp.topic) ?? []), tp.partition]);
    for (const g of groups) topics.set(groupMarkerTopic(g), [0]);
    try {
      const res = await this.channels.request<WriteTxnMarkersResponse>(nodeId, ApiKey.WriteTxnMarkers, 1, {
        markers: [{
          producerId: req.producerId, producerEpoch: req.producerEpoch, transactionResult: req.commit, coordinatorEpoch: req.coordinatorEpoch,
          topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        }],
      });
      const codes = new Map<string, number>();
      for (const m of res.markers) for (const t of m.topics) for (const p of t.partitions) codes.set(`${t.name}\u0000${p.partitionIndex}`, p.errorCode);
      for (const tp of partitions) {
        const code = codes.get(`${tp.topic}\u0000${tp.partition}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR;
        if (!DONE.has(code)) result.failedPartitions.push({ tp, errorCode: code });
      }
      for (const groupId of groups) {
        const code = codes.get(`${groupMarkerTopic(groupId)}\u00000`) ?? ErrorCode.UNKNOWN_SERVER_ERROR;
        if (code !== ErrorCode.NONE) result.failedGroups.push({ groupId, errorCode: code });
      }
    } catch (err) {
      this.b.log.warn({ err, nodeId }, 'WriteTxnMarkers to another broker failed; the coordinator retries');
      for (const tp of partitions) result.failedPartitions.push({ tp, errorCode: ErrorCode.NETWORK_EXCEPTION });
      for (const groupId of groups) result.failedGroups.push({ groupId, errorCode: ErrorCode.NETWORK_EXCEPTION });
    }
  }
}
