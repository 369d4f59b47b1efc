/**
 * One broker process: opens the metadata store and the WAL, rebuilds partition state from
 * them, and serves the Kafka protocol. Used by `ferry broker` and by tests.
 *
 * Start order matters: metadata first (topics, epochs, log start offsets), then the WAL
 * replay (batches, producer state), then groups (committed offsets), then the listener — so
 * no client ever sees a partition before its acknowledged data is back. Before all of them the
 * ports are bound (early-listeners.ts; the Kafka port refuses connections until the
 * listener takes it over), so a port in use fails the start before the WAL is allocated.
 */
import { loadCompressionCodecs } from '../protocol/compression.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../ops/config.js';
import { openWal, RECORD_BODY_BYTES_LIMIT as WAL_RECORD_BYTES_LIMIT, type Wal } from '@ferry/wal';
import { WAL_ENTRY_HEADER_BYTES } from '../log/wal-entry.js';
import { StorageHealth } from './storage-health.js';
import { pendingMaxBytes } from '../ops/memory-budget.js';
import { LogManager } from '../log/log-manager.js';
import { ReadPath } from '../log/read-path.js';
import { ObjectTier } from './object-tier.js';
import type { ObjectStore } from '../objects/object-store.js';
import { stagingKeyPrefix } from '../objects/object-format.js';
import type { ProduceProxy } from '../broker/produce-proxy.js';
import { StagingJanitor } from '../broker/staging-janitor.js';
import { BrokerMetrics, type ClientTelemetrySource } from '../ops/metrics.js';
import { EarlyListeners } from './early-listeners.js';
import type { OpsHttpServer } from '../ops/http-server.js';
import { HandlerRegistry } from '../server/handler-registry.js';
import { KafkaServer, type ServerStats } from '../server/server.js';
import { parseConnectionOverrides } from '../server/limits.js';
import { registerApis } from '../broker/register-apis.js';
import { ClientTelemetry } from '../telemetry/client-telemetry.js';
import { requestedMetricsOf } from '../telemetry/subscriptions.js';
import { openSchemaRegistry, type BrokerSchemaRegistry } from './schema-registry-wiring.js';
import { endpointFor, type BrokerContext } from '../broker/context.js';
import { TopicService } from '../topics/topic-service.js';
import { openLocalMetadata, openEtcdMetadata, type ClusterMetadata } from './cluster-metadata.js';
import { ClusterMode } from './cluster-mode.js';
import { LocalLeadership } from './leadership-adapters.js';
import { ClusterPartitionMoves } from './partition-moves-adapter.js';
import { walLogDir } from './log-dir-adapter.js';
import { singleNodeMoves } from '../broker/partition-reassignments.js';
import { GroupCoordinator } from '../groups/coordinator.js';
import { consumerGroupConfig } from './consumer-group-config.js';
import { TransactionCoordinator } from '../txn/transaction-coordinator.js';
import { transactionCoordinatorKey } from '../broker/find-coordinator.js';
import { BrokerChannels, BrokerMarkerWriter } from './txn-markers.js';
import { createVolumeProvider } from '../failover/create-volume-provider.js';
import { LocalVolumeProvider, createLocalVolume } from '../failover/local-volume-provider.js';
import { FERRY_TAGS, VolumeNotFoundError, type VolumeProvider } from '../failover/volume-provider.js';
import { acquireOwnVolume, type OwnVolume } from '../failover/volume-acquire.js';
import { planListeners, interBrokerListener } from './listener-plan.js';
import { interBrokerClientSecurity } from './inter-broker-security.js';
import { openSecurity, type BrokerSecurity } from './security-wiring.js';

export interface BrokerSettings {
  nodeId: number;
  clusterName: string;
  listenHost: string;
  listenPort: number;
  advertisedHost: string;
  advertisedPort: number;
  rack: string | null;
  dataDir: string;
  walPath: string;
  walCapacityBytes: number;
  walAppendTimeoutMs: number;
  socketRequestMaxBytes: number;
  messageMaxBytes: number;
  autoCreateTopics: boolean;
  numPartitions: number;
  logRetentionMs: number;
  logRetentionBytes: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupInitialRebalanceDelayMs: number;
  groupMaxSize: number;
  connectionsMax: number;
  fetchMaxBytes: number;
  fetchSessionSlots: number;
  /** The full validated configuration (topic defaults read from it). */
  config: BrokerConfig;
}

/** Seams for tests (fault injection); production passes none. */
export interface BrokerHooks {
  wrapObjectStore?: (store: ObjectStore) => ObjectStore;
}

/** The volume provider and this broker's claimed volume (cluster mode with volume.id). */
async function openOwnVolume(settings: BrokerSettings, meta: ClusterMetadata, log: Logger): Promise<{ provider: VolumeProvider; own: OwnVolume }> {
  const c = settings.config;
  if (c.instanceId === null) throw new Error('config instance.id: required with volume.id (the volume is attached to this instance)');
  const provider = await createVolumeProvider(c, meta.store, { log: log.child({ component: 'volumes' }) });
  if (provider instanceof LocalVolumeProvider) {
    // Local volumes are directories: the first start creates this broker's, in its rack ("zone").
    await provider.describe(c.volumeId!).catch(async (err) => {
      if (!(err instanceof VolumeNotFoundError)) throw err;
      await createLocalVolume(c.volumeLocalRoot, c.volumeId!, {
        zone: settings.rack, tags: { [FERRY_TAGS.local.cluster]: settings.clusterName, [FERRY_TAGS.local.role]: 'wal', [FERRY_TAGS.local.brokerId]: String(settings.nodeId) },
      });
    });
  }
  const own = await acquireOwnVolume({
    store: meta.store, keys: meta.keys, provider, volumeId: c.volumeId!, instanceId: c.instanceId, brokerId: settings.nodeId,
    rack: settings.rack, attachTimeoutMs: c.volumeAttachTimeoutMs, log: log.child({ component: 'volumes' }),
  });
  return { provider, own };
}

/** KIP-714 client telemetry from the client.telemetry.* keys. */
function clientTelemetryOf(c: BrokerConfig, metrics: BrokerMetrics): ClientTelemetry {
  return new ClientTelemetry({
    requestedMetrics: requestedMetricsOf(c.clientTelemetryMetrics), pushIntervalMs: c.clientTelemetryPushIntervalMs,
    telemetryMaxBytes: c.clientTelemetryMaxBytes, seriesMax: c.clientTelemetryMaxSeries,
    onPush: (errorCode) => metrics.clientTelemetryPush(errorCode),
  });
}

function telemetrySource(t: ClientTelemetry): ClientTelemetrySource {
  return {
    series: () => t.store.snapshot(Date.now()), seriesCount: () => t.store.series,
    clientCount: () => t.store.clientCount, droppedSeries: () => t.store.droppedSeries,
  };
}

/** A WAL node id: the broker id (the volume's owner). */
function walOwner(s: BrokerSettings): string { return `${s.clusterName}/broker-${s.nodeId}`; }

export class Broker {
  /** Serving: set once listening, cleared when a stop begins (/readyz). */
  ready = false;
  /** Cluster mode (metadata.backend=etcd): membership, leadership, controller. */
  private cluster: ClusterMode | null = null;
  private stopFollowingTopics: (() => void) | null = null;
  private producerExpiry: NodeJS.Timeout | null = null;
  stagingJanitor: StagingJanitor | null = null;
  private ops: OpsHttpServer | null = null;

  private constructor(
    readonly settings: BrokerSettings,
    readonly context: BrokerContext,
    /** The concrete parts behind the context's narrow views (tests and operations reach them here). */
    readonly parts: { metrics: BrokerMetrics; logs: LogManager; groups: GroupCoordinator; transactions: TransactionCoordinator; channels: BrokerChannels; security: BrokerSecurity; proxy: ProduceProxy | null; schemas: BrokerSchemaRegistry },
    private readonly server: KafkaServer,
    private readonly wal: Wal,
    readonly tier: ObjectTier,
    private readonly meta: ClusterMetadata,
    private readonly log: Logger,
    readonly address: { host: string; port: number },
    /** Every listener's bound address, in the order of `listeners`. */
    readonly listenerAddresses: readonly { name: string; host: string; port: number }[],
  ) {}

  static async start(settings: BrokerSettings, log: Logger, hooks: BrokerHooks = {}): Promise<Broker> {
    const metrics = new BrokerMetrics({ labels: { node_id: String(settings.nodeId), ...(settings.rack ? { rack: settings.rack } : {}) } });
    const clustered = settings.config.metadataBackend === 'etcd';
    const health = new StorageHealth(log.child({ component: 'storage' }), metrics);
    let broker: Broker | undefined;
    // Ports first: a start that cannot listen fails before the data directory is locked and the WAL allocated.
    const listeners = planListeners(settings);
    const early = await EarlyListeners.bind(listeners, settings.config.metricsListener, metrics, () => broker?.ready === true && health.writable);
    let meta: ClusterMetadata;
    try {
      // Produce decompresses batches of compacted topics to check their keys (zstd is wasm, loaded once).
      await loadCompressionCodecs();
      mkdirSync(settings.dataDir, { recursive: true });
      meta = clustered ? await openEtcdMetadata(settings, log) : await openLocalMetadata(settings, log);
    } catch (err) {
      await early.close();
      throw err;
    }
    let wal: Wal | undefined;
    let tier: ObjectTier | undefined;
    let security: BrokerSecurity | undefined;
    let schemas: BrokerSchemaRegistry | undefined;
    try {
      security = await openSecurity(settings.config, meta, listeners, log.child({ component: 'security' }), metrics);
      schemas = await openSchemaRegistry(settings.config, meta, listeners, security.authorizer, log.child({ component: 'schema-registry' }), metrics);
      const topics = await TopicService.load(meta, settings, log);
      // A cluster broker with volume.id gets its WAL volume through the provider (it may be held by
      // a failover that is replaying it); otherwise the WAL is a file at wal.path.
      const volume = clustered && settings.config.volumeId !== null ? await openOwnVolume(settings, meta, log) : null;
      const walPath = volume?.own.walPath ?? settings.walPath;
      mkdirSync(dirname(walPath), { recursive: true });
      const walEpoch = volume ? volume.own.claim.owner.epoch : await meta.claimVolumeEpoch(walOwner(settings));
      wal = await openWal(walPath, {
        nodeId: walOwner(settings), epoch: walEpoch, capacityBytes: settings.walCapacityBytes,
        ...walRecordLimits(settings),
        appendTimeoutMs: settings.walAppendTimeoutMs, lockPath: volume?.own.lockPath,
        metrics: { ...metrics.walMetrics(), onFullChange: (full) => health.setWalFull(full) },
      });
      metrics.observeWal(wal);
      const started = Date.now();
      const logs = new LogManager(wal);
      logs.cacheMaxBytes = settings.config.cacheMaxBytes;
      logs.pendingMaxBytes = pendingMaxBytes(settings.config);
      await topics.attachLogs(logs, { leadsAll: !clustered });
      // Object metadata first, so the replay skips what is already uploaded.
      tier = await ObjectTier.open(meta, logs, wal, topics, settings.config, log.child({ component: 'objects' }), metrics, hooks.wrapObjectStore);
      tier.uploader.onFailingChange = (err) => health.setUploadError(err);
      const records = await wal.recover();
      // A cluster replays each partition's records when it acquires the partition.
      const restored = clustered ? 0 : logs.recover(records, (id) => topics.byId(id) !== undefined);
      if (!clustered) await topics.applyPartitionState();
      log.info({ walRecords: records.length, batches: restored, ms: Date.now() - started, wal: walPath }, 'WAL recovered');
      if (!clustered) tier.start();

      const groups = await GroupCoordinator.open({
        store: meta.groupOffsets,
        logger: log.child({ component: 'groups' }),
        config: {
          sessionTimeoutMsMin: settings.groupMinSessionTimeoutMs,
          sessionTimeoutMsMax: settings.groupMaxSessionTimeoutMs,
          initialRebalanceDelayMs: settings.groupInitialRebalanceDelayMs,
          groupSizeMax: settings.groupMaxSize,
        },
        consumer: consumerGroupConfig(settings.config),
        topics: () => topics.list().map((t) => ({ topicId: t.topicId, name: t.name, partitionCount: t.partitionCount })),
        onConsumerGroupRebalance: () => metrics.consumerGroupRebalanced(),
      });
      metrics.observeGroups(() => groups.groupCounts());

      const registry = new HandlerRegistry();
      const advertised: Record<string, { host: string; port: number }> = Object.fromEntries(listeners.map((l) => [l.name, { ...l.advertised }]));
      const self = { nodeId: settings.nodeId, host: settings.advertisedHost, port: settings.advertisedPort, rack: settings.rack, listeners: advertised };
      const cluster = clustered ? new ClusterMode(meta.store, meta.keys, logs, tier, topics, {
        self, instanceId: settings.config.instanceId, volumeId: settings.config.volumeId,
        sessionTimeoutMs: settings.config.brokerSessionTimeoutMs,
        volumes: volume ? { provider: volume.provider, claim: volume.own.claim, attachTimeoutMs: settings.config.volumeAttachTimeoutMs, streamSplitBytes: settings.config.uploadStreamSplitBytes } : null,
        fatal: (err) => context.fatal(err),
        metrics,
      }, log.child({ component: 'cluster' })) : null;
      const context: BrokerContext = {
        self,
        leadership: cluster ? cluster.leadership : new LocalLeadership(self, logs),
        // Reassignments move a leader through the controller's records; a single node keeps everything.
        partitionMoves: cluster ? new ClusterPartitionMoves(meta.store, meta.keys, cluster.leadership) : singleNodeMoves(self, (t, p) => logs.get(t, p) !== undefined),
        logDir: walLogDir(dirname(walPath)),
        telemetry: clientTelemetryOf(settings.config, metrics),
        schemas: schemas.registry,
        clusterId: meta.clusterId,
        brokerConfig: settings.config,
        limits: {
          messageMaxBytes: settings.messageMaxBytes, fetchMaxBytes: settings.fetchMaxBytes,
          autoCreateTopics: settings.autoCreateTopics, defaultPartitions: settings.numPartitions,
          fetchSessionSlots: settings.fetchSessionSlots,
        },
        topics, logs, groups, registry, metrics,
        authorizer: security.authorizer,
        reads: new ReadPath(tier.reader),
        producerIds: meta.producerIds,
        transactions: null as unknown as TransactionCoordinator, // set below: it needs the context to write markers
        zones: {
          interBroker: null, // set below: the channels need the context's leadership
          store: tier.store, stagingPrefix: stagingKeyPrefix(settings.clusterName), blocks: tier.reader,
          proxyLingerMs: settings.config.ferryProxyLingerMs, proxyBufferBytes: settings.config.ferryProxyBufferBytes,
        },
        log,
        now: () => Date.now(),
        fatal: (err) => {
          log.fatal({ err }, 'fatal storage error; exiting so the WAL is recovered from disk');
          process.exit(70);
        },
      };
      const c = settings.config;
      const txnLog = log.child({ component: 'transactions' });
      // Other brokers are reached on inter.broker.listener.name, with its security settings.
      const interBroker = interBrokerListener(listeners, c.interBrokerListenerName);
      const channels = new BrokerChannels((id) => {
        const e = context.leadership.broker(id);
        if (!e) return null;
        const at = endpointFor(e, interBroker.name);
        return `${at.host}:${at.port}`;
      }, txnLog, 10_000, interBrokerClientSecurity(c, interBroker));
      if (clustered) context.zones.interBroker = channels;
      const transactions = new TransactionCoordinator({
        store: meta.store, clusterName: settings.clusterName, producerIds: meta.producerIds,
        markers: new BrokerMarkerWriter(context, channels),
        owns: (id) => context.leadership.coordinatorFor(transactionCoordinatorKey(id))?.nodeId === settings.nodeId,
        partitionExists: (topic, partition) => {
          const t = topics.byName(topic);
          return t !== undefined && partition >= 0 && partition < t.partitionCount;
        },
        now: () => Date.now(), log: txnLog,
        transactionMaxTimeoutMs: c.transactionMaxTimeoutMs,
        transactionalIdExpirationMs: c.transactionalIdExpirationMs,
        scanIntervalMs: c.transactionAbortTimedOutTransactionCleanupIntervalMs,
        onCompleted: (commit, ms) => metrics.transactionCompleted(commit, ms / 1000),
        onTimedOut: () => metrics.transactionTimedOut(),
      });
      context.transactions = transactions;
      const { proxy } = registerApis(registry, context, metrics, (add) => security!.registerApis(context, add));
      const server = new KafkaServer(registry, {
        listeners: listeners.map((l) => ({ name: l.name, protocol: l.protocol, host: l.host, port: l.port, tls: security!.tlsFor(l), admit: security!.admitFor(l) })),
        quotas: security.quotas,
        connectionsMax: settings.connectionsMax,
        frameBytesMax: settings.socketRequestMaxBytes, inFlightMax: 64,
        maxConnectionsPerIp: c.maxConnectionsPerIp, maxConnectionsPerIpOverrides: parseConnectionOverrides(c.maxConnectionsPerIpOverrides),
        sendQueueMaxBytes: c.socketSendQueueMaxBytes, queuedMaxResponseBytes: c.queuedMaxResponseBytes, queuedMaxRequestBytes: c.queuedMaxRequestBytes,
        requestReceiveTimeoutMs: c.requestReceiveTimeoutMs, idleTimeoutMs: c.connectionsMaxIdleMs,
        onConnectionCount: (d) => (d > 0 ? metrics.connectionOpened() : metrics.connectionClosed()),
        events: {
          connectionRefused: (reason) => metrics.connectionRefused(reason),
          connectionTimedOut: (reason) => metrics.connectionTimedOut(reason),
          connectionMuted: (reason) => metrics.connectionMuted(reason),
          tlsHandshakeFailed: (listener) => metrics.tlsHandshakeFailed(listener),
        },
      }, log.child({ component: 'server' }));
      metrics.addCollector(() => metrics.serverQueues(server.stats));
      if (context.telemetry) metrics.observeClientTelemetry(telemetrySource(context.telemetry));
      metrics.addCollector(() => {
        let led = 0;
        for (const _ of logs.all()) led++;
        metrics.partitionsLed(led);
        metrics.controller(context.leadership.controllerId() === settings.nodeId);
        metrics.brokersAlive(context.leadership.brokers().length);
      });
      const bound = await early.handOver(() => server.listenAll());
      // Port 0 picks a free port: advertise the one actually bound.
      for (const [i, l] of listeners.entries()) if (advertised[l.name]!.port === 0) advertised[l.name]!.port = bound[i]!.port;
      if (context.self.port === 0) context.self.port = bound[0]!.port;
      const address = { host: bound[0]!.host, port: bound[0]!.port };
      broker = new Broker(settings, context, { metrics, logs, groups, transactions, channels, security, proxy, schemas }, server, wal, tier, meta, log, address, bound);
      broker.ops = early.ops;
      if (cluster) {
        broker.cluster = cluster;
        broker.stopFollowingTopics = topics.follow();
        await cluster.start(records);
        tier.start();
      }
      transactions.start();
      if (cluster) {
        broker.stagingJanitor = new StagingJanitor(tier.store, context.zones.stagingPrefix, c.ferryProxyStagingRetentionMs, log.child({ component: 'staging-janitor' }));
        broker.stagingJanitor.start();
      }
      // producer.id.expiration.ms: idle producers' states go (Kafka checks every 10 minutes; here every minute at most).
      broker.producerExpiry = setInterval(() => {
        const n = logs.expireProducers(Date.now(), c.producerIdExpirationMs);
        if (n > 0) log.info({ producers: n, expirationMs: c.producerIdExpirationMs }, 'dropped the state of idle producers');
      }, Math.min(60_000, c.producerIdExpirationMs)).unref();
      broker.ready = true;
      metrics.setReady(true);
      log.info({ host: address.host, port: address.port, nodeId: settings.nodeId, clusterId: meta.clusterId, advertised: `${settings.advertisedHost}:${settings.advertisedPort}` }, 'broker ready');
      return broker;
    } catch (err) {
      await tier?.stop().catch(() => {});
      await schemas?.close().catch(() => {});
      await security?.close().catch(() => {});
      await wal?.close().catch(() => {});
      await meta.close().catch(() => {});
      await early.close();
      throw err;
    }
  }

  /** The Kafka listener's connections and queued bytes (tests, diagnostics). */
  get serverStats(): ServerStats { return this.server.stats; }

  private stopping: Promise<void> | null = null;

  /** Graceful stop: no new connections, close clients, upload, close the WAL and metadata. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.log.info('broker stopping');
    this.ready = false;
    this.parts.metrics.setReady(false);
    // A cluster member first hands its partitions over (uploads them) and leaves the cluster.
    if (this.cluster) await this.cluster.shutdown(this.settings.config.shutdownTimeoutMs).catch((err) => this.log.warn({ err }, 'controlled shutdown failed'));
    this.stopFollowingTopics?.();
    if (this.producerExpiry) clearInterval(this.producerExpiry);
    await this.server.close();
    // Staged batches still reach their leaders and get answered.
    await this.parts.proxy?.close().catch((err) => this.log.warn({ err }, 'closing the zone-local produce proxy failed'));
    await this.stagingJanitor?.stop();
    // Markers in flight still append; then no more.
    await this.parts.transactions.close().catch((err) => this.log.warn({ err }, 'closing the transaction coordinator failed'));
    this.parts.channels.close();
    // The final upload empties the WAL into the object store.
    await this.tier.stop();
    this.parts.groups.close();
    await this.parts.schemas.close();
    await this.parts.security.close();
    await this.wal.close();
    await this.meta.close();
    await this.ops?.close();
    this.log.info('broker stopped');
  }
}

/**
 * Any batch that fits in a request frame fits in one WAL record (whatever message.max.bytes or a
 * topic's max.message.bytes say, now or after an AlterConfigs), unless the WAL is too small to
 * hold a quarter of it. A record larger than a group write gets a buffer of its own, so this
 * costs no memory until such a batch comes.
 */
function walRecordLimits(settings: BrokerSettings): { recordBytesMax: number; inFlightBytesMax: number } {
  const recordBytesMax = Math.min(settings.socketRequestMaxBytes + WAL_ENTRY_HEADER_BYTES, Math.floor(settings.walCapacityBytes / 4), WAL_RECORD_BYTES_LIMIT);
  return { recordBytesMax, inFlightBytesMax: Math.max(64 * 1024 * 1024, recordBytesMax) };
}
