/**
 * A small Kafka admin client for the `ferry` CLI, on the generated codecs. It bootstraps with
 * Metadata, talks to each broker by node id, routes group calls to the group's coordinator
 * (FindCoordinator), and sends topic admin calls to the controller (any broker forwards them in
 * KRaft; ours serves them everywhere). Transaction calls: ListTransactions at every broker,
 * DescribeTransactions at the transactional id's coordinator (key type 1), DescribeProducers and
 * WriteTxnMarkers at the partition's leader. Every error is an AdminError carrying Kafka's error name.
 */
import { ApiKey } from '../protocol/messages/index.js';
import { Reader, ZERO_UUID } from '../protocol/primitives.js';
import { decodeConsumerProtocolAssignment, decodeConsumerProtocolSubscription } from '../protocol/messages/index.js';
import { AdminError, ConnectionError } from './errors.js';
import { KafkaConnection, check, type ConnectionOptions } from './kafka-connection.js';
import type { ClientSecurity } from './client-security.js';

export interface BrokerInfo { nodeId: number; host: string; port: number; rack: string | null }
export interface PartitionInfo { partition: number; leader: number; leaderEpoch: number; replicas: number[]; isr: number[]; errorCode: number }
export interface TopicInfo { name: string; topicId: string; isInternal: boolean; errorCode: number; partitions: PartitionInfo[] }
export interface ClusterMetadata { clusterId: string | null; controllerId: number; brokers: BrokerInfo[]; topics: TopicInfo[] }
export interface ConfigEntry { name: string; value: string | null; isDefault: boolean; readOnly: boolean; isSensitive: boolean; source: number }
export interface GroupListing { groupId: string; protocolType: string; state: string }
export interface GroupMember { memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; assignment: Array<{ topic: string; partitions: number[] }> }
export interface GroupDescription { groupId: string; state: string; protocolType: string; protocol: string; members: GroupMember[]; coordinator: number }
export interface CommittedOffset { topic: string; partition: number; offset: bigint; metadata: string | null }
export interface TransactionListing { transactionalId: string; producerId: bigint; state: string; coordinator: number }
export interface TransactionDescription {
  transactionalId: string; coordinator: number; state: string; producerId: bigint; producerEpoch: number;
  timeoutMs: number; startTimeMs: bigint | null; partitions: Array<{ topic: string; partition: number }>;
}
export interface ProducerStateInfo {
  producerId: bigint; producerEpoch: number; lastSequence: number; lastTimestamp: bigint;
  /** -1 when the broker does not know it. */
  coordinatorEpoch: number;
  /** -1 when the producer has no open transaction on the partition. */
  currentTxnStartOffset: bigint;
}
export interface TxnMarker { topic: string; partition: number; producerId: bigint; producerEpoch: number; coordinatorEpoch: number; commit: boolean }

/** FindCoordinator key types. */
export const CoordinatorType = { Group: 0, Transaction: 1 } as const;
/** ListOffsets isolation levels. */
export const IsolationLevel = { ReadUncommitted: 0, ReadCommitted: 1 } as const;

/** ListOffsets timestamps with special meaning. */
export const LATEST = -1n;
export const EARLIEST = -2n;

export const ConfigResource = { Topic: 2, Broker: 4 } as const;
export const ConfigOp = { Set: 0, Delete: 1, Append: 2, Subtract: 3 } as const;

export interface AdminClientOptions extends ConnectionOptions {
  bootstrap: string[];
  /** TLS and SASL for every connection the client opens (bootstrap and per broker); unset: PLAINTEXT. */
  security?: ClientSecurity;
}

export class AdminClient {
  private readonly connections = new Map<number, Promise<KafkaConnection>>();
  private bootstrapConn: KafkaConnection | null = null;
  private brokers = new Map<number, BrokerInfo>();

  private constructor(private readonly opts: AdminClientOptions) {}

  /** Connects to the first reachable bootstrap server and loads the broker list. */
  static async connect(opts: AdminClientOptions): Promise<AdminClient> {
    const c = new AdminClient(opts);
    const errors: string[] = [];
    for (const address of opts.bootstrap) {
      try {
        c.bootstrapConn = await KafkaConnection.connect(address, opts);
        break;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (!c.bootstrapConn) throw new ConnectionError(opts.bootstrap.join(','), `no bootstrap server reachable: ${errors.join('; ')}`);
    await c.metadata([]);
    return c;
  }

  close(): void {
    this.bootstrapConn?.close();
    for (const p of this.connections.values()) p.then((c) => c.close(), () => undefined);
    this.connections.clear();
  }

  /** Any live connection (the bootstrap one). */
  get any(): KafkaConnection { return this.bootstrapConn!; }

  /** The connection to a broker by node id (opened on first use). */
  async broker(nodeId: number): Promise<KafkaConnection> {
    const existing = this.connections.get(nodeId);
    if (existing) {
      const c = await existing;
      if (!c.closed) return c;
    }
    const b = this.brokers.get(nodeId);
    if (!b) throw new AdminError(8, `broker ${nodeId}`, 'not in the cluster metadata');
    const p = KafkaConnection.connect(`${b.host}:${b.port}`, this.opts);
    this.connections.set(nodeId, p);
    p.catch(() => this.connections.delete(nodeId));
    return p;
  }

  /** Metadata for the given topics (null: all topics). */
  async metadata(topics: string[] | null, allowAutoTopicCreation = false): Promise<ClusterMetadata> {
    const res = await this.any.request(ApiKey.Metadata, 12, {
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation,
    });
    const brokers: BrokerInfo[] = res.brokers.map((b: any) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }));
    this.brokers = new Map(brokers.map((b) => [b.nodeId, b]));
    return {
      clusterId: res.clusterId,
      controllerId: res.controllerId,
      brokers: brokers.sort((a, b) => a.nodeId - b.nodeId),
      topics: res.topics.map((t: any) => ({
        name: t.name ?? '', topicId: t.topicId, isInternal: t.isInternal, errorCode: t.errorCode,
        partitions: t.partitions.map((p: any) => ({
          partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: p.isrNodes, errorCode: p.errorCode,
        })).sort((a: PartitionInfo, b: PartitionInfo) => a.partition - b.partition),
      })).sort((a: TopicInfo, b: TopicInfo) => a.name.localeCompare(b.name)),
    };
  }

  /** The controller (or any broker if the controller is unknown) for topic admin calls. */
  private async controller(): Promise<KafkaConnection> {
    const md = await this.metadata([]);
    if (md.controllerId >= 0 && this.brokers.has(md.controllerId)) return this.broker(md.controllerId);
    return this.any;
  }

  async createTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string> = {}): Promise<{ topicId: string; partitions: number }> {
    const conn = await this.controller();
    const res = await conn.request(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions: partitions, replicationFactor, assignments: [], configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })) }],
      timeoutMs: 30_000, validateOnly: false,
    });
    const t = res.topics[0];
    check(t.errorCode, `create topic ${name}`, t.errorMessage);
    return { topicId: t.topicId, partitions: t.numPartitions };
  }

  async deleteTopic(name: string): Promise<void> {
    const conn = await this.controller();
    const v = conn.versionFor(ApiKey.DeleteTopics, 6);
    const body = v >= 6 ? { topics: [{ name, topicId: ZERO_UUID }], timeoutMs: 30_000 } : { topicNames: [name], timeoutMs: 30_000 };
    const res = await conn.requestAt(ApiKey.DeleteTopics, v, body);
    const t = res.responses[0];
    check(t.errorCode, `delete topic ${name}`, t.errorMessage);
  }

  async addPartitions(name: string, totalCount: number): Promise<void> {
    const conn = await this.controller();
    const res = await conn.request(ApiKey.CreatePartitions, 3, { topics: [{ name, count: totalCount, assignments: null }], timeoutMs: 30_000, validateOnly: false });
    const t = res.results[0];
    check(t.errorCode, `add partitions to ${name}`, t.errorMessage);
  }

  async describeConfigs(resourceType: number, resourceName: string): Promise<ConfigEntry[]> {
    const conn = resourceType === ConfigResource.Broker ? await this.broker(Number(resourceName)) : await this.controller();
    const res = await conn.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType, resourceName, configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
    const r = res.results[0];
    check(r.errorCode, `describe configs of ${resourceName}`, r.errorMessage);
    return r.configs.map((c: any) => ({ name: c.name, value: c.value, isDefault: c.isDefault || c.configSource === 5, readOnly: c.readOnly, isSensitive: c.isSensitive, source: c.configSource }))
      .sort((a: ConfigEntry, b: ConfigEntry) => a.name.localeCompare(b.name));
  }

  /** IncrementalAlterConfigs: set (value) or delete (null) each key. */
  async alterTopicConfig(topic: string, changes: Record<string, string | null>): Promise<void> {
    const conn = await this.controller();
    const res = await conn.request(ApiKey.IncrementalAlterConfigs, 1, {
      resources: [{
        resourceType: ConfigResource.Topic, resourceName: topic,
        configs: Object.entries(changes).map(([name, value]) => ({ name, configOperation: value === null ? ConfigOp.Delete : ConfigOp.Set, value })),
      }],
      validateOnly: false,
    });
    const r = res.responses[0];
    check(r.errorCode, `alter configs of ${topic}`, r.errorMessage);
  }

  /** Offsets per partition for a timestamp (LATEST, EARLIEST, or ms since the epoch), asked of each leader. */
  async listOffsets(topic: string, partitions: PartitionInfo[], timestamp: bigint, isolationLevel: number = IsolationLevel.ReadUncommitted): Promise<Map<number, bigint>> {
    const byLeader = new Map<number, number[]>();
    for (const p of partitions) byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), p.partition]);
    const out = new Map<number, bigint>();
    for (const [leader, ps] of byLeader) {
      const conn = await this.broker(leader);
      const res = await conn.request(ApiKey.ListOffsets, 7, {
        replicaId: -1, isolationLevel, timeoutMs: 30_000,
        topics: [{ name: topic, partitions: ps.map((p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) }],
      });
      for (const t of res.topics) for (const p of t.partitions) {
        check(p.errorCode, `list offsets of ${topic}-${p.partitionIndex}`);
        out.set(p.partitionIndex, p.offset);
      }
    }
    return out;
  }

  async listGroups(): Promise<GroupListing[]> {
    const md = await this.metadata([]);
    const seen = new Map<string, GroupListing>();
    for (const b of md.brokers) {
      const conn = await this.broker(b.nodeId);
      const res = await conn.request(ApiKey.ListGroups, 4, { statesFilter: [], typesFilter: [] });
      check(res.errorCode, `list groups on broker ${b.nodeId}`);
      for (const g of res.groups) seen.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType, state: g.groupState || '' });
    }
    return [...seen.values()].sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  /** The coordinator of a group (FindCoordinator, key type 0). */
  async coordinator(groupId: string): Promise<{ nodeId: number; conn: KafkaConnection }> {
    return this.findCoordinator(groupId, CoordinatorType.Group);
  }

  /** The coordinator of a key: a group id (key type 0) or a transactional id (key type 1). */
  async findCoordinator(key: string, keyType: number): Promise<{ nodeId: number; conn: KafkaConnection }> {
    const what = keyType === CoordinatorType.Transaction ? `transactional id ${key}` : `group ${key}`;
    const v = this.any.versionFor(ApiKey.FindCoordinator, 6);
    const res = await this.any.requestAt(ApiKey.FindCoordinator, v, v >= 4 ? { keyType, coordinatorKeys: [key] } : { key, keyType });
    const c = v >= 4 ? res.coordinators[0] : res;
    check(c.errorCode, `find coordinator of ${what}`, c.errorMessage);
    if (!this.brokers.has(c.nodeId)) this.brokers.set(c.nodeId, { nodeId: c.nodeId, host: c.host, port: c.port, rack: null });
    return { nodeId: c.nodeId, conn: await this.broker(c.nodeId) };
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const { nodeId, conn } = await this.coordinator(groupId);
    const res = await conn.request(ApiKey.DescribeGroups, 5, { groups: [groupId], includeAuthorizedOperations: false });
    const g = res.groups[0];
    check(g.errorCode, `describe group ${groupId}`);
    return {
      groupId, state: g.groupState, protocolType: g.protocolType, protocol: g.protocolData, coordinator: nodeId,
      members: g.members.map((m: any) => ({
        memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
        assignment: g.protocolType === 'consumer' ? decodeAssignment(m.memberAssignment) : [],
      })),
    };
  }

  async committedOffsets(groupId: string): Promise<CommittedOffset[]> {
    const { conn } = await this.coordinator(groupId);
    // v7 and below carry one group; null topics means every committed partition (v2+).
    const res = await conn.request(ApiKey.OffsetFetch, 7, { groupId, topics: null, requireStable: false });
    check(res.errorCode, `fetch offsets of group ${groupId}`);
    const out: CommittedOffset[] = [];
    for (const t of res.topics) for (const p of t.partitions) {
      check(p.errorCode, `fetch offset of group ${groupId} on ${t.name}-${p.partitionIndex}`);
      if (p.committedOffset >= 0n) out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata });
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** Commits offsets as an admin (generation -1, no member): only accepted for an empty group. */
  async commitOffsets(groupId: string, offsets: Array<{ topic: string; partition: number; offset: bigint }>): Promise<void> {
    const { conn } = await this.coordinator(groupId);
    const byTopic = new Map<string, Array<{ partition: number; offset: bigint }>>();
    for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    const res = await conn.request(ApiKey.OffsetCommit, 8, {
      groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n,
      topics: [...byTopic].map(([name, ps]) => ({
        name, partitions: ps.map((p) => ({ partitionIndex: p.partition, committedOffset: p.offset, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: '' })),
      })),
    });
    for (const t of res.topics) for (const p of t.partitions) check(p.errorCode, `commit offset of group ${groupId} on ${t.name}-${p.partitionIndex}`);
  }

  async deleteGroup(groupId: string): Promise<void> {
    const { conn } = await this.coordinator(groupId);
    const res = await conn.request(ApiKey.DeleteGroups, 2, { groupsNames: [groupId] });
    check(res.results[0].errorCode, `delete group ${groupId}`);
  }

  /**
   * ListTransactions at every broker (each lists the transactional ids it coordinates), merged.
   * Empty filters match everything; durationMs >= 0 keeps transactions running longer than it.
   */
  async listTransactions(filter: { states?: string[]; producerIds?: bigint[]; durationMs?: bigint } = {}): Promise<TransactionListing[]> {
    const md = await this.metadata([]);
    const seen = new Map<string, TransactionListing>();
    for (const b of md.brokers) {
      const conn = await this.broker(b.nodeId);
      const durationFilter = filter.durationMs ?? -1n;
      const v = conn.versionFor(ApiKey.ListTransactions, 1);
      if (durationFilter >= 0n && v < 1) throw new AdminError(35, 'ListTransactions', `broker ${b.nodeId} does not support the duration filter (ListTransactions v1)`);
      const res = await conn.requestAt(ApiKey.ListTransactions, v, { stateFilters: filter.states ?? [], producerIdFilters: filter.producerIds ?? [], durationFilter });
      check(res.errorCode, `list transactions on broker ${b.nodeId}`);
      for (const t of res.transactionStates) {
        seen.set(t.transactionalId, { transactionalId: t.transactionalId, producerId: t.producerId, state: t.transactionState, coordinator: b.nodeId });
      }
    }
    return [...seen.values()].sort((a, b) => a.transactionalId.localeCompare(b.transactionalId));
  }

  /** DescribeTransactions at the coordinator of `transactionalId` (FindCoordinator key type 1). */
  async describeTransaction(transactionalId: string): Promise<TransactionDescription> {
    const { nodeId, conn } = await this.findCoordinator(transactionalId, CoordinatorType.Transaction);
    const res = await conn.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [transactionalId] });
    const t = res.transactionStates[0];
    check(t.errorCode, `describe transaction ${transactionalId}`);
    return {
      transactionalId, coordinator: nodeId, state: t.transactionState, producerId: t.producerId, producerEpoch: t.producerEpoch,
      timeoutMs: t.transactionTimeoutMs, startTimeMs: t.transactionStartTimeMs >= 0n ? t.transactionStartTimeMs : null,
      partitions: t.topics.flatMap((tp: any) => tp.partitions.map((p: number) => ({ topic: tp.topic, partition: p })))
        .sort((a: { topic: string; partition: number }, b: { topic: string; partition: number }) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
    };
  }

  /** The partition's metadata (its leader), or an AdminError naming the partition. */
  async partitionInfo(topic: string, partition: number): Promise<PartitionInfo> {
    const md = await this.metadata([topic]);
    const t = md.topics[0];
    if (!t || t.errorCode !== 0) throw new AdminError(t?.errorCode ?? 3, `topic ${topic}`);
    const p = t.partitions.find((x) => x.partition === partition);
    if (!p) throw new AdminError(3, `partition ${topic}-${partition}`, `the topic has ${t.partitions.length} partitions`);
    return p;
  }

  /** DescribeProducers at each partition's leader: the active producers per partition. */
  async describeProducers(topic: string, partitions: PartitionInfo[]): Promise<Map<number, ProducerStateInfo[]>> {
    const byLeader = new Map<number, number[]>();
    for (const p of partitions) byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), p.partition]);
    const out = new Map<number, ProducerStateInfo[]>();
    for (const [leader, ps] of byLeader) {
      if (leader < 0) throw new AdminError(5, `describe producers of ${topic}-${ps[0]}`, 'the partition has no leader');
      const conn = await this.broker(leader);
      const res = await conn.request(ApiKey.DescribeProducers, 0, { topics: [{ name: topic, partitionIndexes: ps }] });
      for (const t of res.topics) for (const p of t.partitions) {
        check(p.errorCode, `describe producers of ${topic}-${p.partitionIndex}`, p.errorMessage);
        out.set(p.partitionIndex, p.activeProducers.map((s: any) => ({
          producerId: s.producerId, producerEpoch: s.producerEpoch, lastSequence: s.lastSequence, lastTimestamp: s.lastTimestamp,
          coordinatorEpoch: s.coordinatorEpoch, currentTxnStartOffset: s.currentTxnStartOffset,
        })).sort((a: ProducerStateInfo, b: ProducerStateInfo) => (a.producerId < b.producerId ? -1 : a.producerId > b.producerId ? 1 : 0)));
      }
    }
    return out;
  }

  /**
   * WriteTxnMarkers to the partition's leader, as a coordinator would (Kafka's
   * Admin.abortTransaction): ends the producer's transaction on that partition. Throws on an error.
   */
  async writeTxnMarker(m: TxnMarker): Promise<{ leader: number }> {
    const p = await this.partitionInfo(m.topic, m.partition);
    if (p.leader < 0) throw new AdminError(5, `write a transaction marker to ${m.topic}-${m.partition}`, 'the partition has no leader');
    const conn = await this.broker(p.leader);
    const res = await conn.request(ApiKey.WriteTxnMarkers, 1, {
      markers: [{
        producerId: m.producerId, producerEpoch: m.producerEpoch, transactionResult: m.commit,
        topics: [{ name: m.topic, partitionIndexes: [m.partition] }], coordinatorEpoch: m.coordinatorEpoch,
      }],
    });
    const r = res.markers[0];
    const pr = r?.topics?.[0]?.partitions?.[0];
    if (!pr) throw new AdminError(-1, `write a transaction marker to ${m.topic}-${m.partition}`, 'the broker answered no result');
    check(pr.errorCode, `write a transaction marker to ${m.topic}-${m.partition}`);
    return { leader: p.leader };
  }

  /** DescribeCluster when the broker has it (racks, controller), else Metadata. */
  async describeCluster(): Promise<{ clusterId: string | null; controllerId: number; brokers: BrokerInfo[] }> {
    if (this.any.supports(ApiKey.DescribeCluster)) {
      const res = await this.any.request(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 });
      check(res.errorCode, 'describe cluster', res.errorMessage);
      return {
        clusterId: res.clusterId, controllerId: res.controllerId,
        brokers: res.brokers.map((b: any) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack })).sort((a: BrokerInfo, b: BrokerInfo) => a.nodeId - b.nodeId),
      };
    }
    const md = await this.metadata([]);
    return { clusterId: md.clusterId, controllerId: md.controllerId, brokers: md.brokers };
  }
}

/** A consumer-protocol assignment: int16 version, then the body (empty bytes: nothing assigned). */
export function decodeAssignment(bytes: Buffer): Array<{ topic: string; partitions: number[] }> {
  if (bytes.length < 2) return [];
  const r = new Reader(bytes);
  const version = r.int16();
  const a = decodeConsumerProtocolAssignment(r, Math.min(version, 3));
  if (r.error) return [];
  return a.assignedPartitions.map((tp) => ({ topic: tp.topic, partitions: [...tp.partitions].sort((x, y) => x - y) }));
}

/** The topics a consumer-protocol member subscribed to. */
export function decodeSubscription(bytes: Buffer): string[] {
  if (bytes.length < 2) return [];
  const r = new Reader(bytes);
  const version = r.int16();
  const s = decodeConsumerProtocolSubscription(r, Math.min(version, 3));
  return r.error ? [] : s.topics;
}
