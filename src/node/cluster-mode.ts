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
  type BrokerRegistration, type MetadataStore, type MetadataKeys, type KeyValue,
} from '../cluster/index.js';
import type { LogManager } from '../log/log-manager.js';
import type { ObjectTier } from './object-tier.js';
import type { TopicService } from '../topics/topic-service.js';
import type { BrokerEndpoint } from '../broker/context.js';
import { ClusterLeadership } from './leadership-adapters.js';
import type { BrokerMetrics } from '../ops/metrics.js';
import type { VolumeProvider } from '../failover/volume-provider.js';
import { decodeVolumeOwner } from '../cluster/failover-records.js';
import { markVolumeStarted, ownerCompare, type VolumeClaim } from '../failover/volume-owner.js';
import { RemountController } from '../failover/remount-controller.js';
import { TakeoverWorker } from '../failover/takeover-worker.js';

export interface ClusterVolumes {
  provider: VolumeProvider;
  /** This broker's claim on its own volume (its commits compare it). */
  claim: VolumeClaim;
  attachTimeoutMs: number;
  streamSplitBytes: number;
}

export interface ClusterModeOptions {
  self: BrokerEndpoint;
  instanceId: string | null;
  volumeId: string | null;
  sessionTimeoutMs: number;
  /** Brokers with volume.id: failover (remount controller, takeovers); null: no volumes to move. */
  volumes: ClusterVolumes | null;
  /** Stop the process (a broker whose volume was taken over must not go on). */
  fatal: (err: Error) => void;
  metrics: BrokerMetrics;
}

export class ClusterMode {
  readonly leadership: ClusterLeadership;
  private view!: LeadershipView;
  private registration: BrokerRegistration | null = null;
  private controller: ClusterController | null = null;
  /** WAL records recovered at start, replayed into a partition when it is acquired. */
  private walRecords: WalRecord[] = [];
  private readonly acquiring = new Map<string, Promise<void>>();
  private remount: RemountController | null = null;
  private takeovers: TakeoverWorker | null = null;
  private stopWatchingOwner: (() => void) | null = null;

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
      ...(self.listeners ? { listeners: { ...self.listeners } } : {}),
    }, { sessionTimeoutMs: this.options.sessionTimeoutMs, log: this.log.child({ component: 'membership' }) });
    // Registered: a death from now on is failed over at once (no start-up grace).
    if (this.options.volumes) await markVolumeStarted(this.store, this.options.volumes.claim);
    this.view = new LeadershipView(this.store, this.keys, { nodeId: self.nodeId, registration: this.registration, log: this.log.child({ component: 'leadership' }) });
    this.tier.uploader.useGuards((t, p) => this.view.commitGuard(t, p));
    const volumes = this.options.volumes;
    if (volumes) {
      this.tier.uploader.useCommitCompares(() => [ownerCompare(volumes.claim)]);
      this.watchOwner(volumes.claim);
      this.options.metrics.volumesAttached(1);
      this.takeovers = new TakeoverWorker({
        store: this.store, keys: this.keys, provider: volumes.provider, objectStore: this.tier.store, registry: this.tier.registry,
        clusterName: this.keys.clusterName, nodeId: self.nodeId, instanceId: this.options.instanceId!, streamSplitBytes: volumes.streamSplitBytes,
        log: this.log.child({ component: 'takeover' }),
        onTakeover: (event, ok) => {
          this.options.metrics.volumesAttached(event === 'start' ? 1 : -1);
          if (event === 'end') this.options.metrics.takeoverFinished(ok);
        },
      });
      await this.takeovers.start();
      this.remount = new RemountController({
        store: this.store, keys: this.keys, provider: volumes.provider, nodeId: self.nodeId, attachTimeoutMs: volumes.attachTimeoutMs,
        log: this.log.child({ component: 'remount' }), metrics: this.options.metrics,
      });
    }
    this.view.onAcquired((topicId, partition, epoch) => this.track(topicId, partition, this.acquire(topicId, partition, epoch)));
    this.view.onLost((topicId, partition) => this.logs.removePartition(topicId, partition));
    this.view.onMoveRequested((topicId, partition, to) => { void this.handOver(topicId, partition, to); });
    await this.view.start();
    this.leadership.view = this.view;
    await Promise.all(this.acquiring.values());
    this.controller = new ClusterController(this.store, this.keys, {
      nodeId: self.nodeId, sessionTimeoutMs: this.options.sessionTimeoutMs, log: this.log.child({ component: 'controller' }),
      ...(this.remount ? { beforeReassignDeadBroker: (id: number) => this.remount!.beforeReassign(id) } : {}),
    });
    this.controller.start();
  }

  /**
   * A broker whose volume another broker claimed (a failover while this one was paused or cut
   * off) must stop at once: its WAL is fenced and its commits fail; a restart waits for the
   * failover, then claims the volume back.
   */
  private watchOwner(claim: VolumeClaim): void {
    const check = (kv: KeyValue) => {
      if (kv.modRevision === claim.modRevision) return;
      const owner = decodeVolumeOwner(kv);
      if (owner.brokerId === this.options.self.nodeId && owner.epoch === claim.owner.epoch) return;
      this.options.fatal(new Error(`WAL volume ${claim.owner.volumeId} was claimed by broker ${owner.brokerId} at epoch ${owner.epoch} (ours: ${claim.owner.epoch}); this broker was declared dead`));
    };
    const start = (from: number) => {
      this.stopWatchingOwner = this.store.watch(claim.key, from, (e) => {
        if (e.type === 'put') check(e.kv);
      }, (err) => {
        this.log.warn({ err }, 'volume owner watch lost; re-reading');
        setTimeout(() => {
          this.store.get(claim.key).then((kv) => {
            if (kv) check(kv);
            start(0);
          }, () => start(0));
        }, 500).unref();
      });
    };
    start(claim.modRevision + 1);
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
    this.remount?.close();
    await this.controller?.close();
    await this.takeovers?.close();
    this.stopWatchingOwner?.();
    await this.options.volumes?.provider.close().catch(() => {});
    this.view?.close();
    await this.registration?.close().catch(() => {});
  }
}
