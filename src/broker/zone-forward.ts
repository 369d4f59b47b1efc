/**
 * Requests a zone's broker takes for partitions it does not lead (ferry.produce.routing=zone-local):
 * Metadata named it the leader to clients of its zone (src/broker/metadata.ts), so those clients
 * send it everything they send a leader. Produce goes through the proxy (produce-proxy.ts);
 * ListOffsets and OffsetForLeaderEpoch are small and are forwarded to the real leader as they are.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import type { TopicInfo } from '../topics/topic-service.js';
import { clientZone } from './zones.js';

/**
 * The leader to hand a partition's request to, or null to answer here: a zone-local topic's
 * partition that another live broker leads, asked by a client that says its zone.
 */
export function zoneLeaderFor(b: BrokerContext, ctx: RequestContext, topic: TopicInfo | undefined, partition: number): number | null {
  if (!topic || topic.produceRouting !== 'zone-local' || !b.zones.interBroker) return null;
  if (partition < 0 || partition >= topic.partitionCount || b.logs.get(topic.topicId, partition)) return null;
  if (clientZone(ctx.header.clientId) === null) return null;
  const leader = b.leadership.leaderOf(topic.topicId, partition);
  if (!leader || leader.nodeId === b.self.nodeId || !b.leadership.broker(leader.nodeId)) return null;
  return leader.nodeId;
}

/** Partitions of one request to forward, by leader, each with where its answer goes. */
export class Forwarded<P, A> {
  private readonly byLeader = new Map<number, { topic: string; partition: P; answer: (a: A | null) => void }[]>();

  add(leaderId: number, topic: string, partition: P, answer: (a: A | null) => void): void {
    let l = this.byLeader.get(leaderId);
    if (!l) this.byLeader.set(leaderId, (l = []));
    l.push({ topic, partition, answer });
  }

  get size(): number { return this.byLeader.size; }

  /**
   * Sends each leader one request with its partitions (`build` makes the body from topic → partitions)
   * and hands each partition its answer (`pick` finds it in the response), or null when the leader
   * failed to answer (the caller answers a retriable error).
   */
  async send<R>(b: BrokerContext, ctx: RequestContext, apiKey: number, build: (topics: { name: string; partitions: P[] }[]) => object, pick: (res: R, topic: string, partition: P) => A | undefined): Promise<void> {
    await Promise.all([...this.byLeader].map(async ([leaderId, items]) => {
      const topics: { name: string; partitions: P[] }[] = [];
      for (const it of items) {
        let t = topics.find((x) => x.name === it.topic);
        if (!t) topics.push((t = { name: it.topic, partitions: [] }));
        t.partitions.push(it.partition);
      }
      let res: R | null = null;
      try {
        res = await b.zones.interBroker!.request<R>(leaderId, apiKey, ctx.header.apiVersion, build(topics));
      } catch (err) {
        ctx.log.warn({ err, leader: leaderId, apiKey }, 'forwarding to the partition leader failed');
      }
      for (const it of items) it.answer(res === null ? null : pick(res, it.topic, it.partition) ?? null);
    }));
  }
}

/** What a forwarded partition answers when its leader did not: retriable, and the client refreshes its metadata. */
export const FORWARD_FAILED = ErrorCode.NOT_LEADER_OR_FOLLOWER;
