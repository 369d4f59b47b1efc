/**
 * The KIP-848 consumer-group settings (group.consumer.*, group.coordinator.rebalance.protocols) as
 * the GroupCoordinator takes them. Refuses to start when the interval or session timeout lies
 * outside its min/max keys, as Kafka does.
 */
import type { BrokerConfig } from '../ops/config.js';
import type { ConsumerGroupConfig } from '../groups/coordinator.js';

export class ConsumerGroupConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ConsumerGroupConfigError';
  }
}

export function consumerGroupConfig(config: Pick<BrokerConfig, 'get'>): ConsumerGroupConfig {
  const num = (key: string) => config.get(key) as number;
  const within = (key: string, minKey: string, maxKey: string): number => {
    const v = num(key);
    if (v < num(minKey) || v > num(maxKey)) throw new ConsumerGroupConfigError(`config ${key}=${v}: expected between ${minKey} (${num(minKey)}) and ${maxKey} (${num(maxKey)})`);
    return v;
  };
  return {
    heartbeatIntervalMs: within('group.consumer.heartbeat.interval.ms', 'group.consumer.min.heartbeat.interval.ms', 'group.consumer.max.heartbeat.interval.ms'),
    sessionTimeoutMs: within('group.consumer.session.timeout.ms', 'group.consumer.min.session.timeout.ms', 'group.consumer.max.session.timeout.ms'),
    maxSize: num('group.consumer.max.size'),
    assignors: [...(config.get('group.consumer.assignors') as string[])],
    enabled: (config.get('group.coordinator.rebalance.protocols') as string[]).includes('consumer'),
  };
}
