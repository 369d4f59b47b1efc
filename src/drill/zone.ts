// The drill's workload in one zone (--client-zone): the client id every zone client of the drill
// uses, and the topic's zone settings as the cluster reports them (DescribeConfigs), checked
// against --topic-config so a drill never runs on a topic routed otherwise than asked.
import { ConfigResource } from '../admin/admin-client.js';
import type { DrillCluster } from './cluster.js';

export const ROUTING_KEY = 'ferry.produce.routing';
export const READ_MODE_KEY = 'ferry.remote.read.mode';

/** Produce and Metadata carry no rack: a client says its zone with this token in its client id. */
export function zoneClientId(name: string, zone: string | undefined): string {
  return zone === undefined ? name : `${name};ferry_az=${zone}`;
}

export class TopicConfigMismatchError extends Error {
  readonly code = 'TOPIC_CONFIG_MISMATCH';
  constructor(message: string) {
    super(message);
    this.name = 'TopicConfigMismatchError';
  }
}

/**
 * The topic's routing and read mode (null when the cluster does not report them: not a Ferry
 * cluster of this version). Throws when a --topic-config entry differs from the topic's value:
 * the topic existed before with other settings.
 */
export async function topicZoneSettings(cluster: DrillCluster, topic: string, requested: Record<string, string>): Promise<{ routing: string | null; readMode: string | null }> {
  const entries = await cluster.with((a) => a.describeConfigs(ConfigResource.Topic, topic));
  const value = (k: string) => entries.find((e) => e.name === k)?.value ?? null;
  const differ = Object.entries(requested).filter(([k, v]) => value(k) !== v);
  if (differ.length > 0) {
    throw new TopicConfigMismatchError(`topic ${topic} exists with ${differ.map(([k]) => `${k}=${value(k) ?? '(unset)'}`).join(', ')}, not ${differ.map(([k, v]) => `${k}=${v}`).join(', ')} as --topic-config asks: use another --topic (the drill creates it) or alter the topic first`);
  }
  return { routing: value(ROUTING_KEY), readMode: value(READ_MODE_KEY) };
}
