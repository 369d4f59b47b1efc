// Polls Metadata for the drill topic (every 200 ms by default) and keeps what the drill needs: the
// brokers listed now, each partition's leader now, and every leader change seen (bounded).
import type { BrokerInfo, PartitionInfo } from '../admin/admin-client.js';
import type { DrillCluster } from './cluster.js';

export interface LeaderChange { atMs: number; partition: number; from: number; to: number; leaderEpoch: number }

const CHANGES_MAX = 100_000;

export class MetadataWatch {
  brokers: BrokerInfo[] = [];
  partitions: PartitionInfo[] = [];
  /** When the last successful poll answered (drill clock), and how many polls failed. */
  lastOkMs = -1;
  pollErrors = 0;
  lastError: string | null = null;
  readonly leaderChanges: LeaderChange[] = [];
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly cluster: DrillCluster, private readonly topic: string, private readonly clock: () => number, private readonly intervalMs = 200) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.poll().finally(() => { if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs); });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
  }

  /** One poll now (shares a poll already running). Resolves true when it succeeded. */
  async poll(): Promise<boolean> {
    if (!this.polling) {
      this.polling = (async () => {
        try {
          const md = await this.cluster.metadata([this.topic]);
          const at = this.clock();
          const t = md.topics.find((x) => x.name === this.topic);
          const next = t && t.errorCode === 0 ? t.partitions : this.partitions;
          const before = new Map(this.partitions.map((p) => [p.partition, p]));
          for (const p of next) {
            const b = before.get(p.partition);
            if (b && (b.leader !== p.leader || b.leaderEpoch !== p.leaderEpoch) && this.leaderChanges.length < CHANGES_MAX) {
              this.leaderChanges.push({ atMs: at, partition: p.partition, from: b.leader, to: p.leader, leaderEpoch: p.leaderEpoch });
            }
          }
          this.brokers = md.brokers;
          this.partitions = next;
          this.lastOkMs = at;
        } catch (err) {
          this.pollErrors++;
          this.lastError = (err as Error).message;
          throw err;
        } finally {
          this.polling = null;
        }
      })();
    }
    return this.polling.then(() => true, () => false);
  }

  listed(nodeId: number): boolean { return this.brokers.some((b) => b.nodeId === nodeId); }
  leaderOf(partition: number): number { return this.partitions.find((p) => p.partition === partition)?.leader ?? -1; }
}
