/**
 * The handlers' Leadership, per mode. Single node (local metadata): this broker leads every
 * partition at the epoch in its log. Cluster (etcd): the LeadershipView of
 * src/cluster/leadership.ts, fed by the controller's assignments.
 */
import type { LeadershipView } from '../cluster/leadership.js';
import type { LogManager } from '../log/log-manager.js';
import type { BrokerEndpoint, Leadership } from '../broker/context.js';

export class LocalLeadership implements Leadership {
  readonly clustered = false;
  constructor(private readonly self: BrokerEndpoint, private readonly logs: LogManager) {}
  acceptsWrites(topicId: string, partition: number): number | null {
    return this.logs.get(topicId, partition)?.log.leaderEpoch ?? null;
  }
  mayAcknowledge(): boolean { return true; }
  leaderOf(topicId: string, partition: number) {
    const st = this.logs.get(topicId, partition);
    return st ? { nodeId: this.self.nodeId, epoch: st.log.leaderEpoch } : null;
  }
  brokers(): BrokerEndpoint[] { return [this.self]; }
  broker(nodeId: number): BrokerEndpoint | null { return nodeId === this.self.nodeId ? this.self : null; }
  controllerId(): number { return this.self.nodeId; }
  coordinatorFor(): BrokerEndpoint { return this.self; }
}

function endpointOf(b: { nodeId: number; host: string; port: number; rack: string | null; listeners?: Record<string, { host: string; port: number }> }): BrokerEndpoint {
  return { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack, ...(b.listeners ? { listeners: b.listeners } : {}) };
}

export class ClusterLeadership implements Leadership {
  readonly clustered = true;
  /** The view exists once the broker has registered (it needs the registration's lease). */
  view: LeadershipView | null = null;
  constructor(private readonly self: BrokerEndpoint) {}
  acceptsWrites(topicId: string, partition: number): number | null { return this.view?.acceptsWrites(topicId, partition) ?? null; }
  mayAcknowledge(topicId: string, partition: number, epoch: number): boolean { return this.view?.mayAcknowledge(topicId, partition, epoch) ?? false; }
  leaderOf(topicId: string, partition: number) {
    const l = this.view?.leaderOf(topicId, partition) ?? null;
    return l && this.view!.isLive(l.nodeId) ? l : null;
  }
  brokers(): BrokerEndpoint[] {
    if (!this.view) return [this.self];
    return this.view.brokers().map(endpointOf);
  }
  broker(nodeId: number): BrokerEndpoint | null {
    const b = this.view?.broker(nodeId);
    return b ? endpointOf(b) : null;
  }
  controllerId(): number { return this.view?.controllerId() ?? -1; }
  coordinatorFor(groupId: string): BrokerEndpoint | null {
    const id = this.view?.coordinatorFor(groupId) ?? null;
    return id === null ? null : this.broker(id);
  }
}
