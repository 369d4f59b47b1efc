// The cluster's own "writable again" time, independent of the workload client's retry policy:
// from t0, each affected partition gets one acks=all produce at a time, sent straight to the
// leader Metadata names (asked of any responsive broker), with short timeouts, until one is
// acknowledged. kafkajs, for one, does not refresh metadata after a request timeout, so a client
// stuck on a paused (zombie) leader can report minutes where the cluster needed seconds; the
// drill reports both. Probe records (value "ferry-drill-probe") are counted as foreign records
// by the read-back, never as the run's.

import { KafkaConnection, type ConnectionOptions } from '../admin/kafka-connection.js';
import type { ClientSecurity } from '../admin/client-security.js';
import { ApiKey } from '../protocol/messages/index.js';
import { buildRecordBatch } from '../protocol/record-batch.js';
import { DrillCluster } from './cluster.js';

export const PROBE_VALUE = 'ferry-drill-probe';

export interface WritableProbeOptions {
  bootstrap: string[];
  topic: string;
  /** Per request (Metadata, Produce). Default 1000. */
  timeoutMs?: number;
  clock: () => number;
  /** TLS/SASL of every connection (--command-config; unset: PLAINTEXT). */
  security?: ClientSecurity;
  /** Client id of Metadata and Produce (default ferry-drill-probe); with --client-zone it carries ferry_az=<zone>, so the probe writes where the zone's clients do (the proxy). */
  clientId?: string;
}

export class WritableProbe {
  private readonly cluster: DrillCluster;
  private readonly found = new Map<number, number>();
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly o: WritableProbeOptions) {
    this.cluster = new DrillCluster({ bootstrap: o.bootstrap, clientId: o.clientId ?? 'ferry-drill-probe', requestTimeoutMs: o.timeoutMs ?? 1000, security: o.security });
  }

  /** Probe each partition from t0 until it takes a write (or stop()). */
  start(partitions: number[], t0: number): void {
    for (const p of partitions) this.loops.push(this.loop(p, t0));
  }

  /** Milliseconds after t0 at which each partition took a probe write. */
  results(): Map<number, number> { return new Map(this.found); }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    this.cluster.close();
  }

  private async loop(partition: number, t0: number): Promise<void> {
    const timeoutMs = this.o.timeoutMs ?? 1000;
    while (!this.stopped) {
      const started = this.o.clock();
      try {
        const md = await this.cluster.metadata([this.o.topic]);
        const leader = md.topics.find((t) => t.name === this.o.topic)?.partitions.find((x) => x.partition === partition)?.leader ?? -1;
        const b = md.brokers.find((x) => x.nodeId === leader);
        if (b) {
          const connOpts: ConnectionOptions & { security?: ClientSecurity } = { clientId: this.o.clientId ?? 'ferry-drill-probe', requestTimeoutMs: timeoutMs, connectTimeoutMs: timeoutMs, security: this.o.security };
          const conn = await KafkaConnection.connect(`${b.host}:${b.port}`, connOpts);
          try {
            const res = await conn.request(ApiKey.Produce, 9, {
              transactionalId: null, acks: -1, timeoutMs,
              topicData: [{ name: this.o.topic, partitionData: [{ index: partition, records: buildRecordBatch([{ value: Buffer.from(PROBE_VALUE) }]) }] }],
            });
            if (res.responses[0]?.partitionResponses[0]?.errorCode === 0 && started >= t0) {
              this.found.set(partition, this.o.clock() - t0);
              return;
            }
          } finally { conn.close(); }
        }
      } catch {
        this.cluster.reset(); // a dead or paused broker: ask another next time
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
