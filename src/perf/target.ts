/**
 * What a perf run talks to: the topic's partitions, their leaders, and a dedicated connection per
 * leader (separate from the admin client's, so a long-polling consumer never blocks a producer's
 * pipeline). Creates the topic when it does not exist: with --partitions through CreateTopics,
 * otherwise (producers, e2e) by asking Metadata to auto-create it, as Kafka producers do, which
 * works wherever the broker auto-creates topics (auto.create.topics.enable).
 */
import { AdminClient, type PartitionInfo } from '../admin/admin-client.js';
import { AdminError } from '../admin/errors.js';
import { KafkaConnection, type ConnectionOptions } from '../admin/kafka-connection.js';
import type { ClientSecurity } from '../admin/client-security.js';
import { ErrorCode } from '../protocol/errors.js';

export interface PerfTargetOptions {
  bootstrap: string;
  topic: string;
  /** Create the topic with this many partitions if it does not exist (and check the count if it does). */
  partitions?: number;
  /** Without `partitions`: let the broker auto-create the topic (Metadata allowAutoTopicCreation), as a producer does. */
  autoCreate?: boolean;
  clientId: string;
  requestTimeoutMs?: number;
  /** TLS/SASL for the admin connection and every leader connection (unset: PLAINTEXT). */
  security?: ClientSecurity;
}

export class PerfTarget {
  private readonly connections = new Map<number, Promise<KafkaConnection>>();

  private constructor(readonly admin: AdminClient, readonly topic: string, readonly partitions: PartitionInfo[], private readonly opts: PerfTargetOptions) {}

  static async open(opts: PerfTargetOptions): Promise<PerfTarget> {
    const admin = await AdminClient.connect({ bootstrap: opts.bootstrap.split(','), clientId: opts.clientId, requestTimeoutMs: opts.requestTimeoutMs ?? 30_000, security: opts.security });
    try {
      const autoCreate = opts.partitions === undefined && opts.autoCreate === true;
      let md = await admin.metadata([opts.topic], autoCreate);
      let t = md.topics[0];
      let created = false;
      if (t && t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && opts.partitions !== undefined) {
        await admin.createTopic(opts.topic, opts.partitions, -1);
        created = true;
      }
      // A topic just created (either way) may answer LEADER_NOT_AVAILABLE or lack leaders for a moment.
      for (let i = 0; i < 50; i++) {
        if (t && t.errorCode === 0 && t.partitions.every((p) => p.leader >= 0)) break;
        const settling = t !== undefined && (t.errorCode === 0 || t.errorCode === ErrorCode.LEADER_NOT_AVAILABLE
          || (created && t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        if (!settling) break;
        await new Promise((r) => setTimeout(r, 100));
        md = await admin.metadata([opts.topic], autoCreate);
        t = md.topics[0];
      }
      if (!t || t.errorCode !== 0) {
        const hint = opts.partitions !== undefined ? undefined
          : autoCreate ? 'the broker does not auto-create topics: give --partitions N to create it' : 'give --partitions N to create it';
        throw new AdminError(t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${opts.topic}`, hint);
      }
      if (t.partitions.some((p) => p.leader < 0)) throw new AdminError(ErrorCode.LEADER_NOT_AVAILABLE, `topic ${opts.topic}`);
      return new PerfTarget(admin, opts.topic, t.partitions, opts);
    } catch (err) {
      admin.close();
      throw err;
    }
  }

  /** A dedicated connection to a partition's leader (one per leader per PerfTarget). */
  async leaderConnection(partition: PartitionInfo): Promise<KafkaConnection> {
    let c = this.connections.get(partition.leader);
    if (!c) {
      // Cache the promise: concurrent callers for one leader share one connection.
      c = (async () => {
        const b = (await this.admin.metadata([])).brokers.find((x) => x.nodeId === partition.leader);
        if (!b) throw new AdminError(ErrorCode.LEADER_NOT_AVAILABLE, `${this.topic}-${partition.partition}`);
        const connOpts: ConnectionOptions & { security?: ClientSecurity } = { clientId: this.opts.clientId, requestTimeoutMs: this.opts.requestTimeoutMs ?? 30_000, security: this.opts.security };
        return KafkaConnection.connect(`${b.host}:${b.port}`, connOpts);
      })();
      this.connections.set(partition.leader, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.connections.values()) c.then((conn) => conn.close(), () => undefined);
    this.admin.close();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Milliseconds on a monotonic clock shared by everything in this process. */
export const nowMs = () => performance.now();
