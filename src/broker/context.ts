/**
 * What every API handler can reach. One instance per broker process, built by broker.ts.
 */
import type { Logger } from 'pino';
import type { LogManager } from '../log/log-manager.js';
import type { TopicService } from '../topics/topic-service.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import type { HandlerRegistry } from '../server/handler-registry.js';
import type { ReadPath } from '../log/read-path.js';
import type { BrokerMetrics } from '../ops/metrics.js';

export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface BrokerLimits {
  /** Broker default for topics without max.message.bytes. */
  messageMaxBytes: number;
  fetchMaxBytes: number;
  autoCreateTopics: boolean;
  defaultPartitions: number;
  fetchSessionSlots: number;
}

export interface ProducerIdSource {
  next(): Promise<bigint>;
}

export interface BrokerContext {
  self: BrokerEndpoint;
  clusterId: string;
  limits: BrokerLimits;
  /** The broker's static configuration (DescribeConfigs of the broker resource). */
  brokerConfig: { redacted(): Record<string, string | null>; isExplicit(key: string): boolean };
  topics: TopicService;
  logs: LogManager;
  /** Reads through the log cache and, below it, the object store. */
  reads: ReadPath;
  groups: GroupCoordinator;
  producerIds: ProducerIdSource;
  registry: HandlerRegistry;
  metrics: BrokerMetrics;
  /** Who leads which partition, which brokers are alive, who coordinates a group. */
  leadership: Leadership;
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
