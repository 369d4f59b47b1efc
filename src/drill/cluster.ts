// The drill's admin view of the cluster: an AdminClient that survives the death of the broker it
// bootstrapped from, by reconnecting to any address it has seen (bootstrap list + Metadata brokers).
import { AdminClient, type ClusterMetadata, type PartitionInfo } from '../admin/admin-client.js';
import { AdminError, ConnectionError } from '../admin/errors.js';
import { ErrorCode } from '../protocol/errors.js';
import type { ClientSecurity } from '../admin/client-security.js';

export interface DrillClusterOptions {
  bootstrap: string[];
  clientId: string;
  requestTimeoutMs: number;
  /** TLS/SASL of every connection (--command-config; unset: PLAINTEXT). */
  security?: ClientSecurity;
}

export class DrillCluster {
  private client: AdminClient | null = null;
  private connecting: Promise<AdminClient> | null = null;
  /** Every address seen, bootstrap first. */
  private readonly addresses: string[];

  constructor(private readonly opts: DrillClusterOptions) {
    if (opts.bootstrap.length === 0) throw new RangeError('no bootstrap address');
    this.addresses = [...opts.bootstrap];
  }

  /** The current client, connecting (to any known address) if there is none. */
  async admin(): Promise<AdminClient> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      try {
        // Addresses seen in Metadata first after a failure: the bootstrap broker may be the victim.
        const order = [...this.addresses.slice(this.opts.bootstrap.length), ...this.opts.bootstrap];
        const c = await AdminClient.connect({ bootstrap: order, clientId: this.opts.clientId, requestTimeoutMs: this.opts.requestTimeoutMs, connectTimeoutMs: Math.min(this.opts.requestTimeoutMs, 3000), security: this.opts.security });
        this.client = c;
        return c;
      } finally {
        this.connecting = null;
      }
    })();
    return this.connecting;
  }

  /** Runs f on the client; on a connection failure drops the client so the next call reconnects. */
  async with<T>(f: (admin: AdminClient) => Promise<T>): Promise<T> {
    const admin = await this.admin();
    try {
      return await f(admin);
    } catch (err) {
      if (err instanceof ConnectionError || (err as { code?: string }).code === 'ETIMEDOUT' || /timed out|closed/i.test((err as Error).message)) this.reset(admin);
      throw err;
    }
  }

  async metadata(topics: string[] | null): Promise<ClusterMetadata> {
    const md = await this.with((a) => a.metadata(topics));
    for (const b of md.brokers) {
      const addr = `${b.host}:${b.port}`;
      if (!this.addresses.includes(addr)) this.addresses.push(addr);
    }
    return md;
  }

  /** The topic's partitions, creating it with `partitions` (and `configs`) when missing; waits for every leader. */
  async ensureTopic(topic: string, partitions: number, timeoutMs: number, configs: Record<string, string> = {}): Promise<PartitionInfo[]> {
    const deadline = Date.now() + timeoutMs;
    let created = false;
    for (;;) {
      const t = (await this.metadata([topic])).topics.find((x) => x.name === topic);
      if (t && t.errorCode === 0 && t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)) return t.partitions;
      if (!created && (!t || t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) {
        try {
          await this.with((a) => a.createTopic(topic, partitions, -1, configs));
        } catch (err) {
          if (!(err instanceof AdminError && err.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS)) throw err;
        }
        created = true;
      }
      if (Date.now() > deadline) throw new AdminError(t?.errorCode || ErrorCode.LEADER_NOT_AVAILABLE, `topic ${topic}`, `no leader for every partition in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  reset(which?: AdminClient): void {
    if (which && which !== this.client) return;
    this.client?.close();
    this.client = null;
  }

  close(): void { this.reset(); }
}
