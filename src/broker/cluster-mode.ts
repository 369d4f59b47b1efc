/**
 * A broker in a cluster (metadata.backend=etcd, DESIGN §5–6): membership (a lease-bound
 * registration), the leadership view that says which partitions this broker leads at which
 * epoch, and the controller (elected; assigns partitions and drives moves).
 *
 * Partitions come and go with leadership: on acquiring one, its state is rebuilt from metadata
 * (object blocks, log start, producer snapshot) plus any of this broker's own WAL records for it;
 * on a move request, writes stop (the view refuses them), appends in flight settle, everything
 * pending is uploaded and committed, and only then the partition is released. Nothing is copied
 * between brokers.
 */
import type { Logger } from 'pino';
import type { WalRecord } from '@ferry/wal';
import {
  registerBroker, LeadershipView, ClusterController, controlledShutdown,
  type BrokerRegistration, type MetadataStore, type MetadataKeys,
} from '../cluster/index.js';
import type { LogManager } from '../log/log-manager.js';
import type { ObjectTier } from './object-tier.js';
import type { TopicService } from './topic-service.js';
import type { BrokerEndpoint } from './context.js';
import { ClusterLeadership } from './leadership.js';

export interface ClusterModeOptions {
  self: BrokerEndpoint;
  instanceId: string | null;
  volumeId: string | null;
  sessionTimeoutMs: number;
}

export class ClusterMode {
  readonly leadership: ClusterLeadership;
  private view!: LeadershipView;
  private registration: BrokerRegistration | null = null;
  private controller: ClusterController | null = null;
  /** WAL records recovered at start, replayed into a partition when it is acquired. */
  private walRecords: WalRecord[] = [];
  private readonly acquiring = new Map<string, Promise<void>>();

  constructor(
    private readonly store: MetadataStore,
    private readonly keys: MetadataKeys,
    private readonly logs: LogManager,
    private readonly tier: ObjectTier,
    private readonly topics: TopicService,
    private readonly options: ClusterModeOptions,
    private readonly log: Logger,
  ) {
    this.leadership = new ClusterLeadership(options.self);
  }

  /** Register, follow leadership, run for controller. Call once the listener's port is known. */
  async start(walRecords: WalRecord[]): Promise<void> {
    this.walRecords = walRecords;
    const { self } = this.options;
    this.registration = await registerBroker(this.store, this.keys, {
      nodeId: self.nodeId, host: self.host, port: self.port, rack: self.rack,
      instanceId: this.options.instanceId, volumeId: this.options.volumeId,
    }, { sessionTimeoutMs: this.options.sessionTimeoutMs, log: this.log.child({ component: 'membership' }) });
    this.view = new LeadershipView(this.store, this.keys, { nodeId: self.nodeId, registration: this.registration, log: this.log.child({ component: 'leadership' }) });
    this.tier.uploader.useGuards((t, p) => this.view.commitGuard(t, p));
    this.view.onAcquired((topicId, partition, epoch) => this.track(topicId, partition, this.acquire(topicId, partition, epoch)));
    this.view.onLost((topicId, partition) => this.logs.removePartition(topicId, partition));
    this.view.onMoveRequested((topicId, partition, to) => { void this.handOver(topicId, partition, to); });
    await this.view.start();
    this.leadership.view = this.view;
    await Promise.all(this.acquiring.values());
    this.controller = new ClusterController(this.store, this.keys, {
      nodeId: self.nodeId, sessionTimeoutMs: this.options.sessionTimeoutMs, log: this.log.child({ component: 'controller' }),
    });
    this.controller.start();
  }

  private track(topicId: string, partition: number, p: Promise<void>): void {
    const key = `${topicId}:${partition}`;
    this.acquiring.set(key, p);
    p.finally(() => { if (this.acquiring.get(key) === p) this.acquiring.delete(key); });
  }

  /** Rebuild a partition we now lead: object blocks, log start, producers, then our own WAL records. */
  private async acquire(topicId: string, partition: number, epoch: number): Promise<void> {
    try {
      if (!this.topics.byId(topicId)) await this.topics.refresh();
      const data = await this.tier.partitionData(topicId, partition);
      if (this.view.leads(topicId, partition) !== epoch) return; // lost again meanwhile
      this.logs.removePartition(topicId, partition);
      const st = this.logs.ensure(topicId, partition, epoch);
      if (data.blocks.length) st.log.addObjectBlocks(data.blocks);
      if (data.producers) st.producers.restore(data.producers);
      this.logs.recover(this.walRecords, (id) => this.topics.byId(id) !== undefined, { topicId, partition });
      if (data.logStart > st.log.logStartOffset) st.log.advanceLogStart(Math.min(data.logStart, st.log.highWatermark));
      this.logs.recountPending();
      this.log.info({ topicId, partition, epoch, highWatermark: st.log.highWatermark, objectBlocks: data.blocks.length }, 'leading partition');
    } catch (err) {
      this.log.error({ err, topicId, partition, epoch }, 'could not take over partition; it stays unavailable here until reassigned');
    }
  }

  /** Graceful move: writes are already refused; settle, upload, commit, release. */
  private async handOver(topicId: string, partition: number, to: number): Promise<void> {
    const started = performance.now();
    try {
      await this.acquiring.get(`${topicId}:${partition}`);
      const st = this.logs.get(topicId, partition);
      if (st) {
        await this.logs.settled(st);
        for (let attempt = 0; st.log.pendingUpload().length > 0; attempt++) {
          await this.tier.uploader.trigger(`move to broker ${to}`);
          if (attempt >= 20) throw new Error('pending data would not upload');
        }
      }
      await this.view.release(topicId, partition);
      // Writes were refused from the move request until here (the new leader then takes over).
      this.log.info({ topicId, partition, to, ms: Math.round(performance.now() - started) }, 'partition handed over');
    } catch (err) {
      // Not released: the controller cancels the move after its timeout and writes resume here.
      this.log.warn({ err, topicId, partition, to }, 'hand-over failed');
    }
  }

  /** SIGTERM: move every partition away first, then leave. */
  async shutdown(timeoutMs: number): Promise<void> {
    if (this.registration && this.view) {
      const r = await controlledShutdown(this.registration, this.view, { timeoutMs });
      this.log.info({ clean: r.clean, ms: r.ms }, 'controlled shutdown');
    }
    await this.controller?.close();
    this.view?.close();
    await this.registration?.close().catch(() => {});
  }
}
