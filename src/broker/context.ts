/**
 * What every API handler can reach. One instance per broker process, built by broker.ts.
 */
import type { Logger } from 'pino';
import type { LogManager } from '../log/log-manager.js';
import type { TopicService } from '../topics/topic-service.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import type { HandlerRegistry } from '../server/handler-registry.js';
import type { ReadPath, BlockReader } from '../log/read-path.js';
import type { BrokerMetrics } from '../ops/metrics.js';
import type { TransactionCoordinatorApi } from '../txn/types.js';
import type { Authorizer } from '../security/types.js';
import type { ClientTelemetry } from '../telemetry/client-telemetry.js';
import type { SchemaLookup } from './schema-validation.js';

// The handlers see narrow views of the process's parts: only what they call is in reach, and
// src/node may hand any implementation that has these members.

/** Partition logs: find a partition, append, wait for data, memory back-pressure. */
export type HandlerLogs = Pick<LogManager, 'get' | 'append' | 'appendMarker' | 'notifier' | 'pendingFull' | 'batchBytesMax'>;
/** Topic state and its admin operations. */
export type HandlerTopics = Pick<TopicService,
  'byName' | 'byId' | 'list' | 'autoCreate' | 'create' | 'delete' | 'addPartitions' | 'alterConfigs'
  | 'describeConfigs' | 'advanceLogStart' | 'onTopicsRemoved'>;
/** Reads below the log cache (through the object store) and timestamp lookups. */
export type HandlerReads = Pick<ReadPath, 'read' | 'maxTimestamp' | 'offsetForTimestamp'>;
/** Group membership and committed offsets. */
export type HandlerGroups = Pick<GroupCoordinator,
  'joinGroup' | 'syncGroup' | 'heartbeat' | 'leaveGroup' | 'listGroups' | 'describeGroups' | 'deleteGroups'
  | 'commitOffsets' | 'fetchOffsets' | 'deleteOffsets' | 'deleteTopicOffsets' | 'deleteOffsetsOfMissingTopics' | 'adoptGroup'
  | 'commitTxnOffsets' | 'completeTxn' | 'consumerGroupHeartbeat' | 'consumerGroupDescribe' | 'consumerProtocolEnabled'>;
/** The per-request figures handlers count. */
export type HandlerMetrics = Pick<BrokerMetrics, 'producedBytes' | 'fetchedBytes' | 'crossAzBytes' | 'walAppendSeconds'
  | 'replicaBytes' | 'proxyStaged' | 'proxyProduced' | 'proxyPendingBytes' | 'readReplicaRedirect' | 'readReplicaServed' | 'schemaValidated'>;

export interface BrokerEndpoint {
  nodeId: number;
  /** The address of the broker's first listener (advertised.listeners). */
  host: string;
  port: number;
  rack: string | null;
  /** Advertised address of each listener, by name; absent: only host:port. */
  listeners?: Readonly<Record<string, { host: string; port: number }>>;
}

/**
 * The address of `e` on the listener a client came in on: Kafka answers each client with the
 * addresses of its own listener (a SASL_SSL client must not be sent to a plaintext port). A broker
 * that does not advertise that listener is answered with its first listener's address.
 */
export function endpointFor(e: BrokerEndpoint, listenerName: string | undefined): { host: string; port: number } {
  const l = listenerName === undefined ? undefined : e.listeners?.[listenerName];
  return l ?? { host: e.host, port: e.port };
}

export interface BrokerLimits {
  /** Broker default for topics without max.message.bytes. */
  messageMaxBytes: number;
  fetchMaxBytes: number;
  autoCreateTopics: boolean;
  defaultPartitions: number;
  fetchSessionSlots: number;
}

/**
 * Requests to other brokers of the cluster, on inter.broker.listener.name (one cached connection
 * per broker). Throws when the broker is not alive or the request fails; the caller answers its
 * client a retriable error.
 */
export interface InterBrokerRequests {
  /**
   * `lane: 'poll'` uses a connection of its own to that broker: a broker answers a connection's
   * requests in order, so a parked long poll (FerryRemoteFetch) would hold up every later answer
   * (a proxied produce, transaction markers) behind it.
   */
  request<T>(nodeId: number, apiKey: number, version: number, body: object, options?: { lane?: 'default' | 'poll' }): Promise<T>;
}

/** The object store as zone-local produce uses it (staging objects); the full interface is src/objects/object-store.ts. */
export interface StagingStore {
  put(key: string, body: Buffer | readonly Buffer[]): Promise<void>;
  get(key: string, range?: { start: number; end: number }): Promise<Buffer>;
  delete(keys: readonly string[]): Promise<void>;
  list(prefix: string): AsyncIterable<{ key: string; size: number; lastModifiedMs: number }>;
}

/** Zone-local traffic (docs/zone-local.md): what the produce proxy and the read replica use. */
export interface ZoneServices {
  /** Null on a single node: there is no other broker to proxy for or read from. */
  interBroker: InterBrokerRequests | null;
  /** The object store (staging objects of the produce proxy). */
  store: StagingStore;
  /** Key prefix of staging objects, ending in '/': `<cluster>/staging/`. */
  stagingPrefix: string;
  /** Object blocks through this broker's block cache (read replicas serve uploaded data with it). */
  blocks: BlockReader;
  proxyLingerMs: number;
  proxyBufferBytes: number;
}

export interface ProducerIdSource {
  next(): Promise<bigint>;
}

/** A leadership move in progress (a partition-moves/ record that matches its partition record). */
export interface PartitionMoveInfo { topicId: string; partition: number; from: number; to: number; state: 'moving' | 'released' }

/** The outcome of a move request, as a Kafka error code (NONE: requested or already so). */
export interface PartitionMoveResult { errorCode: number; errorMessage: string | null }

/**
 * Admin leadership moves (AlterPartitionReassignments, ListPartitionReassignments, ElectLeaders).
 * Replication factor 1: "reassigning" a partition means moving its one leader, gracefully (the old
 * leader uploads and releases; nothing is copied). A cluster goes through the controller's records
 * in the metadata store (src/node/partition-moves-adapter.ts); a single node has nowhere to move to.
 */
export interface PartitionMoves {
  /** Asks for broker `to` to lead topic/partition; resolves once the move is requested (or done), not when it finishes. */
  move(topic: string, partition: number, to: number, timeoutMs: number): Promise<PartitionMoveResult>;
  /** Withdraws the partition's pending move: NO_REASSIGNMENT_IN_PROGRESS when there is none. */
  cancel(topic: string, partition: number): Promise<PartitionMoveResult>;
  list(): Promise<PartitionMoveInfo[]>;
  /** The broker the partition's record names as leader, alive or not (null: no record). */
  recordedLeader(topicId: string, partition: number): number | null;
}

/** The volume this broker's WAL is on (DescribeLogDirs's one log dir). */
export interface LogDirInfo {
  /** The directory of the WAL file. */
  path: string;
  /** Size and free bytes of the volume (statfs), or null when it cannot be read. */
  usage(): Promise<{ totalBytes: bigint; usableBytes: bigint } | null>;
}

export interface BrokerContext {
  self: BrokerEndpoint;
  clusterId: string;
  limits: BrokerLimits;
  /** The broker's static configuration (DescribeConfigs of the broker resource). */
  brokerConfig: { redacted(): Record<string, string | null>; isExplicit(key: string): boolean };
  topics: HandlerTopics;
  logs: HandlerLogs;
  /** Reads through the log cache and, below it, the object store. */
  reads: HandlerReads;
  groups: HandlerGroups;
  producerIds: ProducerIdSource;
  /** The transaction coordinator (transactional ids this broker coordinates; verification for any). */
  transactions: TransactionCoordinatorApi;
  registry: Pick<HandlerRegistry, 'list'>;
  /** ACL checks (ALLOW_ALL when authorizer.class.name is unset). */
  authorizer: Authorizer;
  metrics: HandlerMetrics;
  /** Who leads which partition, which brokers are alive, who coordinates a group. */
  leadership: Leadership;
  /** Zone-local produce and read replicas. */
  zones: ZoneServices;
  /**
   * Admin leadership moves (partition reassignments). Optional so that handler-only test contexts
   * need not build one: absent, the handlers answer as a single node does.
   */
  partitionMoves?: PartitionMoves;
  /** The WAL volume, as DescribeLogDirs reports it (absent: no log dir to report). */
  logDir?: LogDirInfo;
  /** KIP-714 client telemetry (absent: GetTelemetrySubscriptions/PushTelemetry are not served). */
  telemetry?: ClientTelemetry;
  /** The schema registry, for topics with broker-side schema validation (absent: they refuse records). */
  schemas?: SchemaLookup;
  log: Logger;
  /** The broker's clock (ms); injectable for tests. */
  now(): number;
  /** Called on errors that must end the process (a failed fsync). */
  fatal(err: Error): void;
}

/**
 * Who leads what, as the request handlers need it. The process wires an implementation
 * (src/node/leadership-adapters.ts): a single node leads every partition, a cluster member
 * follows the controller's assignments.
 */
export interface Leadership {
  readonly clustered: boolean;
  /** Before appending: the epoch to write at, or null (not the leader, or a move is pending). */
  acceptsWrites(topicId: string, partition: number): number | null;
  /** Right before acknowledging: still the leader at `epoch` with a safe lease. */
  mayAcknowledge(topicId: string, partition: number, epoch: number): boolean;
  leaderOf(topicId: string, partition: number): { nodeId: number; epoch: number } | null;
  brokers(): BrokerEndpoint[];
  broker(nodeId: number): BrokerEndpoint | null;
  controllerId(): number;
  /** The broker that coordinates `groupId`, or null when none is available. */
  coordinatorFor(groupId: string): BrokerEndpoint | null;
}
