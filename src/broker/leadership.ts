/**
 * Who leads what, as the request handlers need it. The process wires an implementation
 * (src/node/leadership-adapters.ts): a single node leads every partition, a cluster member
 * follows the controller's assignments.
 */
import type { BrokerEndpoint } from './context.js';

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
