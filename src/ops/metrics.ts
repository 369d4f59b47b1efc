/**
 * Broker metrics (prom-client), one registry per BrokerMetrics so tests and several in-process
 * brokers do not share counters. The broker calls the hook methods below; nothing here knows
 * about the broker's internals. docs/operations.md lists every metric.
 *
 * Hook API (what each component calls):
 *   server/connection:  connectionOpened(), connectionClosed()
 *                       connectionRefused(reason), connectionTimedOut(reason), connectionMuted(reason)
 *                       serverQueues({ queuedResponseBytes, receivingRequestBytes, mutedConnections })
 *                       const done = requestStarted(apiKey, version); ... done(errorCode | 'closed')
 *   broker/produce:     producedBytes(topic, bytes, records); walAppendSeconds(seconds); schemaValidated(records, refused)
 *                       crossAzBytes(clientRack, brokerRack, bytes, 'in')
 *   broker/fetch:       fetchedBytes(topic, bytes); crossAzBytes(clientRack, brokerRack, bytes, 'out')
 *   txn coordinator:    transactionCompleted(commit, seconds), transactionTimedOut()
 *   group coordinator:  consumerGroupRebalanced(); observeGroups(() => [{ protocol, state, count }])
 *   broker start:       walMetrics() -> the WAL's `metrics` option; observeWal(wal) after open;
 *                       setReady(bool) (the HTTP server also sets it from readiness() per scrape)
 *   uploader (S3 tier): uploadCompleted(bytes, seconds), uploadFailed(), uploadLag(bytes, seconds),
 *                       s3Request(operation, seconds, bytes, direction), s3Error(operation, code)
 *   read path caches:   cacheLookup(cache, hit), cacheBytes(cache, bytes)
 *   cluster:            partitionsLed(n), controller(isController), brokersAlive(n)
 *   client telemetry:   clientTelemetryPush(errorCode); observeClientTelemetry(store) at start
 *   schema registry:    schemaRegistryRequest(method, status); observeSchemaRegistry(() => { schemas, subjects })
 *   failover:           failoverCompleted(seconds, result); failoverFinished / failoverPhase (remount
 *                       controller), volumesAttached(delta), takeoverFinished(ok) (takeover worker)
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WalMetrics } from '@ferry/wal';
import { API_TABLE } from '../protocol/messages/index.js';
import { errorName } from '../protocol/errors.js';

/** Request latency buckets (seconds): 100 µs .. 30 s, denser around Kafka's ~10 ms. */
const REQUEST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** fsync / WAL append buckets (seconds): 50 µs .. 5 s. */
const DISK_BUCKETS = [0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5];
/** Upload / S3 request buckets (seconds). */
const S3_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Failover buckets (seconds). */
const FAILOVER_BUCKETS = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300];

export type Direction = 'in' | 'out';
export type RequestOutcome = number | 'closed';
export type S3Operation = 'put' | 'get' | 'head' | 'delete' | 'list' | 'multipart';
export type FailoverResult = 'ok' | 'failed';

/** What the client telemetry store (src/telemetry/metric-store.ts) shows at each scrape. */
export interface ClientTelemetrySource {
  series(): Iterable<{ clientInstanceId: string; clientId: string; metric: string; attributes: string; value: number }>;
  seriesCount(): number;
  clientCount(): number;
  droppedSeries(): number;
}

export interface BrokerMetricsOptions {
  /** Constant labels on every series (e.g. { node_id: '1', rack: 'az1' }). */
  labels?: Record<string, string>;
  /** Node.js process metrics (CPU, RSS, event loop lag, GC). Default true. */
  processMetrics?: boolean;
  /** Clock for request durations, in seconds (tests inject a fake one). */
  nowSeconds?: () => number;
}

const defaultNow = () => Number(process.hrtime.bigint()) / 1e9;

export class BrokerMetrics {
  readonly registry = new Registry();
  private readonly now: () => number;

  // Requests and connections
  private readonly requests: Counter<'api' | 'version' | 'outcome'>;
  private readonly requestSeconds: Histogram<'api' | 'version'>;
  private readonly requestsInFlight: Gauge;
  private readonly connections: Gauge;
  private readonly connectionsOpened: Counter;
  private readonly connectionsClosed: Counter;
  private readonly connectionsRefused: Counter<'reason'>;
  private readonly connectionsTimedOut: Counter<'reason'>;
  private readonly connectionMutes: Counter<'reason'>;
  private readonly connectionsMuted: Gauge;
  private readonly sendQueueBytes: Gauge;
  private readonly receivingRequestBytes: Gauge;
  // Data
  private readonly producedBytesTotal: Counter<'topic'>;
  private readonly transactionsEnded: Counter<'result'>;
  private readonly transactionSeconds: Histogram<'result'>;
  private readonly transactionsTimedOut: Counter;
  private readonly consumerGroupRebalances: Counter;
  private readonly groupsGauge: Gauge<'protocol' | 'state'>;
  private readonly producedRecordsTotal: Counter<'topic'>;
  private readonly fetchedBytesTotal: Counter<'topic'>;
  private readonly clientBytes: Counter<'direction' | 'locality'>;
  private readonly crossAzBytesTotal: Counter<'direction' | 'client_rack' | 'broker_rack'>;
  private readonly replicaCrossAzBytes: Counter<'peer_rack' | 'broker_rack'>;
  private readonly proxyObjects: Counter<'result'>;
  private readonly proxyBytes: Counter;
  private readonly proxyStageSeconds: Histogram;
  private readonly proxyProduceSeconds: Histogram;
  private readonly proxyStagedBytesGauge: Gauge;
  private readonly readRedirects: Counter;
  private readonly readReplicaBytes: Counter<'source'>;
  // WAL
  private readonly walAppends: Counter;
  private readonly walAppendedBytes: Counter;
  private readonly walAppendedRecords: Counter;
  private readonly walAppendSecondsHist: Histogram;
  private readonly walFsyncSeconds: Histogram;
  private readonly walHeaderWriteSeconds: Histogram;
  private readonly walUsedBytes: Gauge;
  private readonly walCapacityBytes: Gauge;
  private readonly walFillRatio: Gauge;
  private readonly walTrimmedBytes: Counter;
  private readonly walFull: Counter<'reason'>;
  private readonly walBackpressureWaiting: Gauge;
  private readonly walFullGauge: Gauge;
  private readonly uploadsFailingGauge: Gauge;
  private readonly walRecoveredRecords: Gauge;
  private readonly walRecoveredBytes: Gauge;
  private readonly walRecoverySeconds: Gauge;
  // Upload / S3
  private readonly uploadLagBytes: Gauge;
  private readonly uploadLagSeconds: Gauge;
  private readonly uploads: Counter<'result'>;
  private readonly uploadedBytes: Counter;
  private readonly uploadSeconds: Histogram;
  private readonly s3Requests: Counter<'operation'>;
  private readonly compactionSteps: Counter;
  private readonly cleanerPasses: Counter<'result'>;
  private readonly cleanerBytesRead: Counter;
  private readonly cleanerBytesWritten: Counter;
  private readonly cleanerBytesCleaned: Counter;
  private readonly cleanerRecordsRemoved: Counter<'reason'>;
  private readonly cleanerDirtyRatio: Gauge<'topic' | 'partition'>;
  private readonly cleanerLagSeconds: Gauge<'topic' | 'partition'>;
  private readonly cleanerUncleanable: Gauge;
  private readonly objectsGauge: Gauge;
  private readonly s3Bytes: Counter<'operation' | 'direction'>;
  private readonly s3Errors: Counter<'operation' | 'code'>;
  private readonly s3Seconds: Histogram<'operation'>;
  // Caches
  private readonly cacheLookups: Counter<'cache' | 'result'>;
  private readonly cacheSizeBytes: Gauge<'cache'>;
  private readonly cacheHitRatio: Gauge<'cache'>;
  private readonly cacheCounts = new Map<string, { hits: number; misses: number }>();
  // Cluster / failover / readiness
  private readonly partitionsLedGauge: Gauge;
  private readonly controllerGauge: Gauge;
  private readonly brokersAliveGauge: Gauge;
  private readonly readyGauge: Gauge;
  private readonly failovers: Counter<'result'>;
  private readonly failoverSeconds: Histogram;
  private readonly failoverPhaseSeconds: Histogram<'phase'>;
  private readonly volumesAttachedGauge: Gauge;
  private readonly takeovers: Counter<'result'>;
  // Security
  private readonly authentications: Counter<'listener' | 'mechanism' | 'result'>;
  private readonly tlsHandshakeFailures: Counter<'listener'>;
  private readonly authorizationDenials: Counter<'operation' | 'resource_type'>;
  private readonly throttledRequests: Counter<'quota'>;
  private readonly throttleSeconds: Counter<'quota'>;
  // Client telemetry (KIP-714)
  private readonly clientMetric: Gauge<'client_instance_id' | 'client_id' | 'metric' | 'attributes'>;
  private readonly clientTelemetryPushes: Counter<'result'>;
  private readonly schemaValidationRecords: Counter<'result'>;
  private readonly schemaRegistryRequests: Counter<'method' | 'status'>;
  private readonly schemaRegistrySize: Gauge<'kind'>;
  private readonly clientTelemetrySeries: Gauge;
  private readonly clientTelemetryClients: Gauge;
  private readonly clientTelemetryDropped: Counter;
  private clientTelemetryDroppedSeen = 0;

  private walCapacity = 0;
  /** Pull-based values refreshed at each scrape (e.g. the WAL's used bytes). */
  private readonly collectors: Array<() => void> = [];

  constructor(opts: BrokerMetricsOptions = {}) {
    this.now = opts.nowSeconds ?? defaultNow;
    if (opts.labels) this.registry.setDefaultLabels(opts.labels);
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const r = [this.registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) => new Counter<L>({ name, help, labelNames, registers: r });
    const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) => new Gauge<L>({ name, help, labelNames, registers: r });
    const histogram = <L extends string>(name: string, help: string, buckets: number[], labelNames: L[] = []) => new Histogram<L>({ name, help, buckets, labelNames, registers: r });

    this.requests = counter('ferry_requests_total', 'Kafka requests answered, by API, version and outcome (NONE, a Kafka error name, or closed).', ['api', 'version', 'outcome']);
    this.requestSeconds = histogram('ferry_request_duration_seconds', 'Time from a request being read to its response being queued, by API and version.', REQUEST_BUCKETS, ['api', 'version']);
    this.requestsInFlight = gauge('ferry_requests_in_flight', 'Requests read and not yet answered.');
    this.connections = gauge('ferry_connections', 'Open client connections.');
    this.connectionsOpened = counter('ferry_connections_opened_total', 'Client connections accepted.');
    this.connectionsClosed = counter('ferry_connections_closed_total', 'Client connections closed.');
    this.connectionsRefused = counter('ferry_connections_refused_total', 'Connections closed on accept, by reason (connections_max, per_ip, creation_rate: max.connection.creation.rate or a connection_creation_rate quota).', ['reason']);
    this.connectionsTimedOut = counter('ferry_connections_timed_out_total', 'Connections closed by a timeout, by reason (idle: connections.max.idle.ms, receive: request.receive.timeout.ms).', ['reason']);
    this.connectionMutes = counter('ferry_connection_mutes_total', 'Times a connection began holding back requests because of queued response bytes, by reason (connection: socket.send.queue.max.bytes, broker: queued.max.response.bytes).', ['reason']);
    this.connectionsMuted = gauge('ferry_connections_muted', 'Connections holding back requests because of queued response bytes.');
    this.sendQueueBytes = gauge('ferry_send_queue_bytes', 'Response bytes held for clients: being built, waiting in order, or in socket buffers (not yet taken by the kernel).');
    this.receivingRequestBytes = gauge('ferry_receiving_request_bytes', 'Declared bytes reserved by partly received requests (queued.max.request.bytes).');

    this.producedBytesTotal = counter('ferry_produced_bytes_total', 'Record batch bytes appended by Produce, by topic.', ['topic']);
    this.transactionsEnded = counter('ferry_transactions_completed_total', 'Transactions this broker coordinated to the end (markers written), by result (commit, abort).', ['result']);
    this.transactionSeconds = histogram('ferry_transaction_duration_seconds', 'Time from a transaction\'s first AddPartitions/AddOffsets to its completion (markers written), by result.', REQUEST_BUCKETS, ['result']);
    this.transactionsTimedOut = counter('ferry_transactions_timed_out_total', 'Transactions aborted by the coordinator because they ran past transaction.timeout.ms.');
    this.consumerGroupRebalances = counter('ferry_consumer_group_rebalances_total', 'KIP-848 consumer-group epoch bumps (a member joined, left or expired, a subscription or subscribed topic changed).');
    this.groupsGauge = gauge('ferry_groups', 'Groups this broker coordinates, by protocol (classic, consumer) and state.', ['protocol', 'state']);
    this.producedRecordsTotal = counter('ferry_produced_records_total', 'Records appended by Produce, by topic.', ['topic']);
    this.fetchedBytesTotal = counter('ferry_fetched_bytes_total', 'Record batch bytes returned by Fetch to consumers, by topic.', ['topic']);
    this.clientBytes = counter('ferry_client_bytes_total', 'Record bytes between clients and this broker by direction (in: produce, out: fetch) and locality (same_az, cross_az, unknown).', ['direction', 'locality']);
    this.crossAzBytesTotal = counter('ferry_cross_az_bytes_total', 'Record bytes between a client and this broker in different racks/AZs (billed cross-AZ traffic).', ['direction', 'client_rack', 'broker_rack']);
    this.replicaCrossAzBytes = counter('ferry_replica_cross_az_bytes_total', 'Record bytes this leader sent a read replica in another rack/AZ (the un-uploaded tail of ferry.remote.read.mode=tail; billed cross-AZ traffic).', ['peer_rack', 'broker_rack']);
    this.proxyObjects = counter('ferry_proxy_staged_objects_total', 'Zone-local produce: staging objects this proxy wrote, by result (ok, failed).', ['result']);
    this.proxyBytes = counter('ferry_proxy_staged_bytes_total', 'Zone-local produce: record batch bytes this proxy staged in the object store for other brokers\' partitions.');
    this.proxyStageSeconds = histogram('ferry_proxy_stage_duration_seconds', 'Zone-local produce: the PUT of one staging object.', S3_BUCKETS);
    this.proxyProduceSeconds = histogram('ferry_proxy_produce_duration_seconds', 'Zone-local produce: from a staged batch gathered to the leader\'s answer (linger, PUT, leader GET and WAL append).', S3_BUCKETS);
    this.proxyStagedBytesGauge = gauge('ferry_proxy_pending_bytes', 'Zone-local produce: bytes gathered or staged and waiting for the leaders\' answers (bounded by 2x ferry.proxy.buffer.bytes).');
    this.readRedirects = counter('ferry_fetch_read_replica_redirects_total', 'Fetch answers that sent a consumer in another zone to a read replica of its own zone (KIP-392 preferredReadReplica).');
    this.readReplicaBytes = counter('ferry_read_replica_bytes_total', 'Record bytes this broker served as a read replica, by where they came from (object: the object store through the block cache; tail: the leader\'s un-uploaded tail).', ['source']);

    this.walAppends = counter('ferry_wal_group_commits_total', 'WAL group commits made durable (one write + fdatasync each).');
    this.walAppendedBytes = counter('ferry_wal_appended_bytes_total', 'WAL record body bytes made durable.');
    this.walAppendedRecords = counter('ferry_wal_appended_records_total', 'WAL records made durable.');
    this.walAppendSecondsHist = histogram('ferry_wal_append_duration_seconds', 'Latency of one WAL append, from the call to durable (includes queueing behind the group commit).', DISK_BUCKETS);
    this.walFsyncSeconds = histogram('ferry_wal_fsync_duration_seconds', 'Latency of each fdatasync of the WAL ring.', DISK_BUCKETS);
    this.walHeaderWriteSeconds = histogram('ferry_wal_header_write_duration_seconds', 'Latency of WAL header slot writes (trim, fence, takeover) including fdatasync.', DISK_BUCKETS);
    this.walUsedBytes = gauge('ferry_wal_used_bytes', 'WAL bytes between the trim point and the head (not yet uploaded and trimmed).');
    this.walCapacityBytes = gauge('ferry_wal_capacity_bytes', 'WAL ring capacity.');
    this.walFillRatio = gauge('ferry_wal_fill_ratio', 'ferry_wal_used_bytes / ferry_wal_capacity_bytes (0..1).');
    this.walTrimmedBytes = counter('ferry_wal_trimmed_bytes_total', 'WAL bytes released by trim after upload.');
    this.walFull = counter('ferry_wal_full_total', 'WAL appends refused for lack of room, by reason (ring, in-flight-bytes, queue-depth).', ['reason']);
    this.walBackpressureWaiting = gauge('ferry_wal_backpressure_waiting_appends', 'Appends waiting for ring space (uploads lag).');
    this.walFullGauge = gauge('ferry_wal_full', '1 while the WAL ring is full (produce is refused with a retriable error until uploads free space).');
    this.uploadsFailingGauge = gauge('ferry_uploads_failing', '1 while uploads to the object store fail (the WAL fills meanwhile).');
    this.walRecoveredRecords = gauge('ferry_wal_recovered_records', 'Records replayed from the WAL at the last open.');
    this.walRecoveredBytes = gauge('ferry_wal_recovered_bytes', 'Bytes replayed from the WAL at the last open.');
    this.walRecoverySeconds = gauge('ferry_wal_recovery_duration_seconds', 'Duration of the last WAL recovery scan.');

    this.uploadLagBytes = gauge('ferry_upload_lag_bytes', 'Durable bytes in the WAL not yet uploaded to object storage.');
    this.uploadLagSeconds = gauge('ferry_upload_lag_seconds', 'Age of the oldest durable byte not yet uploaded.');
    this.uploads = counter('ferry_uploads_total', 'Upload rounds (stream-set/stream objects committed), by result.', ['result']);
    this.uploadedBytes = counter('ferry_uploaded_bytes_total', 'Bytes uploaded to object storage and committed.');
    this.compactionSteps = counter('ferry_compaction_steps_total', 'Compaction steps committed (objects swapped for merged ones).');
    this.cleanerPasses = counter('ferry_cleaner_passes_total', 'Log cleaner passes over a compacted partition, by result (done, lost_race, failed).', ['result']);
    this.cleanerBytesRead = counter('ferry_cleaner_bytes_read_total', 'Object bytes the log cleaner read (dirty objects twice: to index keys, then to filter).');
    this.cleanerBytesWritten = counter('ferry_cleaner_bytes_written_total', 'Object bytes the log cleaner wrote.');
    this.cleanerBytesCleaned = counter('ferry_cleaner_bytes_cleaned_total', 'Batch bytes that went through the cleaner\'s filter (the clean and dirty sections of each pass).');
    this.cleanerRecordsRemoved = counter('ferry_cleaner_records_removed_total', 'Records the log cleaner removed, by reason (superseded, tombstone, keyless, aborted, marker).', ['reason']);
    this.cleanerDirtyRatio = gauge('ferry_cleaner_dirty_ratio', 'Cleanable dirty bytes / (clean + cleanable dirty bytes) of each compacted partition this broker leads (a pass runs at min.cleanable.dirty.ratio).', ['topic', 'partition']);
    this.cleanerLagSeconds = gauge('ferry_cleaner_lag_seconds', 'Age of the oldest cleanable data not yet cleaned, per compacted partition (0: nothing dirty).', ['topic', 'partition']);
    this.cleanerUncleanable = gauge('ferry_cleaner_uncleanable_partitions', 'Compacted partitions the cleaner skips after a failure (corrupt or undecodable data), until retried.');
    this.objectsGauge = gauge('ferry_objects', 'Objects referenced by committed metadata (as loaded by this broker).');
    this.uploadSeconds = histogram('ferry_upload_duration_seconds', 'Duration of one upload round: PUT(s) and metadata commit.', S3_BUCKETS);
    this.s3Requests = counter('ferry_s3_requests_total', 'Object storage requests, by operation (put, get, head, delete, list, multipart).', ['operation']);
    this.s3Bytes = counter('ferry_s3_bytes_total', 'Object storage payload bytes, by operation and direction (out: to S3, in: from S3).', ['operation', 'direction']);
    this.s3Errors = counter('ferry_s3_errors_total', 'Object storage requests that failed, by operation and error code.', ['operation', 'code']);
    this.s3Seconds = histogram('ferry_s3_request_duration_seconds', 'Object storage request latency, by operation.', S3_BUCKETS, ['operation']);

    this.cacheLookups = counter('ferry_cache_lookups_total', 'Read-path cache lookups, by cache (log, block) and result (hit, miss).', ['cache', 'result']);
    this.cacheSizeBytes = gauge('ferry_cache_bytes', 'Bytes held by each read-path cache.', ['cache']);
    this.cacheHitRatio = gauge('ferry_cache_hit_ratio', 'Hits / lookups of each cache since start (rate() of ferry_cache_lookups_total is better for dashboards).', ['cache']);

    this.partitionsLedGauge = gauge('ferry_partitions_led', 'Partitions this broker leads.');
    this.controllerGauge = gauge('ferry_controller', '1 if this broker is the active controller, else 0.');
    this.brokersAliveGauge = gauge('ferry_brokers_alive', 'Live brokers this broker knows of (registered in the metadata store).');
    this.readyGauge = gauge('ferry_ready', '1 when the broker is registered and serving its partitions (same as /readyz).');
    this.failovers = counter('ferry_failovers_total', 'Failovers (volume moved, WAL replayed, partitions reassigned) this broker carried out, by result.', ['result']);
    this.failoverSeconds = histogram('ferry_failover_duration_seconds', 'From lease expiry of the failed broker to its partitions writable again.', FAILOVER_BUCKETS);
    this.failoverPhaseSeconds = histogram('ferry_failover_phase_seconds', 'Failover phases driven by this controller: attach (detected to attached on the target), replay (attached to replayed), total (detected to released).', FAILOVER_BUCKETS, ['phase']);
    this.volumesAttachedGauge = gauge('ferry_volumes_attached', 'WAL volumes this broker holds: its own, plus any it is replaying after a failover.');
    this.takeovers = counter('ferry_wal_takeovers_total', 'Dead brokers\' WALs this broker replayed into the object store, by result.', ['result']);
    this.authentications = counter('ferry_authentications_total', 'SASL authentications (and re-authentications), by listener, mechanism and result (success, failure).', ['listener', 'mechanism', 'result']);
    this.tlsHandshakeFailures = counter('ferry_tls_handshake_failures_total', 'TLS handshakes that failed (plaintext clients on a TLS port, untrusted or missing client certificates, old TLS versions), by listener.', ['listener']);
    this.authorizationDenials = counter('ferry_authorization_denials_total', 'ACL checks that denied an operation, by operation and resource type.', ['operation', 'resource_type']);
    this.throttledRequests = counter('ferry_throttled_requests_total', 'Responses that throttled their client because it was over a client quota, by quota (produce, fetch, request).', ['quota']);
    this.throttleSeconds = counter('ferry_throttle_seconds_total', 'Throttle time given to clients over a client quota, by quota (produce, fetch, request).', ['quota']);

    this.clientMetric = gauge('ferry_client_metric', 'KIP-714: the last value a client pushed for one of its metrics (client.telemetry.metrics), by client instance, client id, metric name (OTLP, e.g. org.apache.kafka.producer.record.queue.time.avg; histograms as .count and .sum) and the data point\'s attributes (k=v,...).', ['client_instance_id', 'client_id', 'metric', 'attributes']);
    this.schemaValidationRecords = counter('ferry_schema_validation_records_total', 'Records checked by broker-side schema validation (confluent.*.schema.validation), by result: ok, or why refused (no_header, unknown_id, wrong_subject, mismatch).', ['result']);
    this.schemaRegistryRequests = counter('ferry_schema_registry_requests_total', 'Schema registry REST requests answered, by HTTP method and status code.', ['method', 'status']);
    this.schemaRegistrySize = gauge('ferry_schema_registry_size', 'What the schema registry holds, as this broker follows it: schemas (ids) and subjects with a live version.', ['kind']);
    this.clientTelemetryPushes = counter('ferry_client_telemetry_pushes_total', 'KIP-714 PushTelemetry requests answered, by result (NONE, or the Kafka error name).', ['result']);
    this.clientTelemetrySeries = gauge('ferry_client_telemetry_series', 'Client-metric series kept for ferry_client_metric (at most client.telemetry.max.series).');
    this.clientTelemetryClients = gauge('ferry_client_telemetry_clients', 'Client instances whose pushed metrics are kept (forgotten after 3 push intervals without a push).');
    this.clientTelemetryDropped = counter('ferry_client_telemetry_series_dropped_total', 'Client-metric series not kept because client.telemetry.max.series was reached.');
  }

  // ---- Connections and requests ----

  connectionOpened(): void { this.connections.inc(); this.connectionsOpened.inc(); }
  connectionClosed(): void { this.connections.dec(); this.connectionsClosed.inc(); }
  connectionRefused(reason: string): void { this.connectionsRefused.inc({ reason }); }
  connectionTimedOut(reason: string): void { this.connectionsTimedOut.inc({ reason }); }
  connectionMuted(reason: string): void { this.connectionMutes.inc({ reason }); }
  authenticated(listener: string, mechanism: string, ok: boolean): void { this.authentications.inc({ listener, mechanism, result: ok ? 'success' : 'failure' }); }
  tlsHandshakeFailed(listener: string): void { this.tlsHandshakeFailures.inc({ listener }); }
  authorizationDenied(operation: string, resourceType: string): void { this.authorizationDenials.inc({ operation, resource_type: resourceType }); }
  throttled(quota: string, ms: number): void { this.throttledRequests.inc({ quota }); this.throttleSeconds.inc({ quota }, ms / 1000); }
  /** The server's queues, read at each scrape (see addCollector). */
  serverQueues(q: { queuedResponseBytes: number; receivingRequestBytes: number; mutedConnections: number }): void {
    this.sendQueueBytes.set(q.queuedResponseBytes);
    this.receivingRequestBytes.set(q.receivingRequestBytes);
    this.connectionsMuted.set(q.mutedConnections);
  }

  /**
   * Call when a request has been decoded; call the returned function once when its response is
   * queued with the response's top-level error code (0 = NONE), or 'closed' when the connection
   * is closed instead. Extra calls are ignored.
   */
  requestStarted(apiKey: number, version: number): (outcome: RequestOutcome) => void {
    const start = this.now();
    const api = API_TABLE.get(apiKey)?.name ?? `api_${apiKey}`;
    const v = String(version);
    this.requestsInFlight.inc();
    let done = false;
    return (outcome) => {
      if (done) return;
      done = true;
      this.requestsInFlight.dec();
      this.requestSeconds.observe({ api, version: v }, Math.max(0, this.now() - start));
      this.requests.inc({ api, version: v, outcome: outcome === 'closed' ? 'closed' : errorName(outcome) });
    };
  }

  // ---- Data ----

  transactionCompleted(commit: boolean, seconds: number): void {
    const result = commit ? 'commit' : 'abort';
    this.transactionsEnded.inc({ result });
    if (seconds >= 0) this.transactionSeconds.observe({ result }, seconds);
  }

  transactionTimedOut(): void { this.transactionsTimedOut.inc(); }

  consumerGroupRebalanced(): void { this.consumerGroupRebalances.inc(); }

  /** Refreshes ferry_groups from the coordinator at every scrape. */
  observeGroups(counts: () => Array<{ protocol: string; state: string; count: number }>): void {
    this.collectors.push(() => {
      this.groupsGauge.reset();
      for (const c of counts()) this.groupsGauge.set({ protocol: c.protocol, state: c.state }, c.count);
    });
  }

  /** Broker-side schema validation of one produce to one partition: records checked, refusals by reason. */
  schemaValidated(records: number, refused: ReadonlyMap<string, number>): void {
    let bad = 0;
    for (const [reason, n] of refused) { this.schemaValidationRecords.inc({ result: reason }, n); bad += n; }
    if (records > bad) this.schemaValidationRecords.inc({ result: 'ok' }, records - bad);
  }

  schemaRegistryRequest(method: string, status: number): void {
    this.schemaRegistryRequests.inc({ method, status: String(status) });
  }

  /** Read at each scrape. */
  observeSchemaRegistry(size: () => { schemas: number; subjects: number }): void {
    this.collectors.push(() => {
      const s = size();
      this.schemaRegistrySize.set({ kind: 'schemas' }, s.schemas);
      this.schemaRegistrySize.set({ kind: 'subjects' }, s.subjects);
    });
  }

  producedBytes(topic: string, bytes: number, records: number): void {
    this.producedBytesTotal.inc({ topic }, bytes);
    this.producedRecordsTotal.inc({ topic }, records);
  }

  fetchedBytes(topic: string, bytes: number): void {
    if (bytes > 0) this.fetchedBytesTotal.inc({ topic }, bytes);
  }

  /**
   * Bytes between a client and this broker, classified by AZ. `clientRack` comes from the Fetch
   * request's rackId (client.rack) or from the client id (see clientRackFromClientId); null when
   * unknown. Counts every call in ferry_client_bytes_total; cross-AZ ones also by rack pair.
   */
  /** Tail bytes this leader sent a read replica (inter-broker); counted when the replica is in another rack. */
  replicaBytes(peerRack: string | null, brokerRack: string | null, bytes: number): void {
    if (bytes > 0 && peerRack && brokerRack && peerRack !== brokerRack) this.replicaCrossAzBytes.inc({ peer_rack: peerRack, broker_rack: brokerRack }, bytes);
  }

  /** A staging object written by the zone-local produce proxy (or failed). */
  proxyStaged(ok: boolean, bytes: number, seconds: number): void {
    this.proxyObjects.inc({ result: ok ? 'ok' : 'failed' });
    if (ok) { this.proxyBytes.inc(bytes); this.proxyStageSeconds.observe(seconds); }
  }

  proxyProduced(seconds: number): void { this.proxyProduceSeconds.observe(seconds); }

  proxyPendingBytes(bytes: number): void { this.proxyStagedBytesGauge.set(bytes); }

  readReplicaRedirect(): void { this.readRedirects.inc(); }

  readReplicaServed(source: 'object' | 'tail', bytes: number): void {
    if (bytes > 0) this.readReplicaBytes.inc({ source }, bytes);
  }

  crossAzBytes(clientRack: string | null, brokerRack: string | null, bytes: number, direction: Direction): void {
    if (bytes <= 0) return;
    const locality = !clientRack || !brokerRack ? 'unknown' : clientRack === brokerRack ? 'same_az' : 'cross_az';
    this.clientBytes.inc({ direction, locality }, bytes);
    if (locality === 'cross_az') this.crossAzBytesTotal.inc({ direction, client_rack: clientRack!, broker_rack: brokerRack! }, bytes);
  }

  // ---- WAL ----

  /** The WAL's `metrics` option. */
  walMetrics(): WalMetrics {
    return {
      onAppend: (records, bytes) => { this.walAppends.inc(); this.walAppendedRecords.inc(records); this.walAppendedBytes.inc(bytes); },
      onFsync: (seconds) => this.walFsyncSeconds.observe(seconds),
      onHeaderWrite: (seconds) => this.walHeaderWriteSeconds.observe(seconds),
      onTrim: (_trimOffset, freedBytes, usedBytes) => { this.walTrimmedBytes.inc(freedBytes); this.walUsed(usedBytes); },
      onFull: (reason) => this.walFull.inc({ reason }),
      onBackpressure: (waiting) => this.walBackpressureWaiting.set(waiting),
      onRecover: (records, bytes, seconds) => { this.walRecoveredRecords.set(records); this.walRecoveredBytes.set(bytes); this.walRecoverySeconds.set(seconds); },
    };
  }

  /**
   * Reads the WAL's fill at every scrape (the WAL reports used bytes only on trim): pass the
   * opened Wal, or anything with usedBytes and capacityBytes.
   */
  observeWal(wal: { readonly usedBytes: number; readonly capacityBytes: number }): void {
    this.collectors.push(() => {
      this.walCapacityBytesSet(wal.capacityBytes);
      this.walUsed(wal.usedBytes);
    });
  }

  /** Runs `fn` before every scrape, to refresh gauges from their source. */
  addCollector(fn: () => void): void { this.collectors.push(fn); }

  /** Latency of one append as the produce path sees it (call to durable). */
  walAppendSeconds(seconds: number): void { this.walAppendSecondsHist.observe(seconds); }

  walCapacityBytesSet(bytes: number): void {
    this.walCapacity = bytes;
    this.walCapacityBytes.set(bytes);
  }

  walUsed(usedBytes: number): void {
    this.walUsedBytes.set(usedBytes);
    if (this.walCapacity > 0) this.walFillRatio.set(usedBytes / this.walCapacity);
  }

  // ---- Upload / S3 ----

  uploadLag(bytes: number, seconds: number): void { this.uploadLagBytes.set(bytes); this.uploadLagSeconds.set(seconds); }
  uploadCompleted(bytes: number, seconds: number): void { this.uploads.inc({ result: 'ok' }); this.uploadedBytes.inc(bytes); this.uploadSeconds.observe(seconds); }
  uploadFailed(): void { this.uploads.inc({ result: 'failed' }); }
  compactionStepsDone(steps: number): void { if (steps > 0) this.compactionSteps.inc(steps); }
  cleanerPass(result: 'done' | 'lost_race' | 'failed', p?: { bytesRead: number; bytesWritten: number; bytesCleaned: number; removed: Record<string, number> }): void {
    this.cleanerPasses.inc({ result });
    if (!p) return;
    this.cleanerBytesRead.inc(p.bytesRead);
    this.cleanerBytesWritten.inc(p.bytesWritten);
    this.cleanerBytesCleaned.inc(p.bytesCleaned);
    for (const [reason, n] of Object.entries(p.removed)) if (n > 0) this.cleanerRecordsRemoved.inc({ reason }, n);
  }
  /** Read at each scrape: the cleaner's view of every compacted partition led here. */
  cleanerPartitions(states: readonly { topic: string; partition: number; dirtyRatio: number; lagMs: number; uncleanable: boolean }[]): void {
    this.cleanerDirtyRatio.reset();
    this.cleanerLagSeconds.reset();
    let uncleanable = 0;
    for (const s of states) {
      const labels = { topic: s.topic, partition: String(s.partition) };
      this.cleanerDirtyRatio.set(labels, s.dirtyRatio);
      this.cleanerLagSeconds.set(labels, s.lagMs / 1000);
      if (s.uncleanable) uncleanable++;
    }
    this.cleanerUncleanable.set(uncleanable);
  }
  objects(count: number): void { this.objectsGauge.set(count); }

  s3Request(operation: S3Operation, seconds: number, bytes = 0, direction: Direction = operation === 'put' || operation === 'multipart' ? 'out' : 'in'): void {
    this.s3Requests.inc({ operation });
    this.s3Seconds.observe({ operation }, seconds);
    if (bytes > 0) this.s3Bytes.inc({ operation, direction }, bytes);
  }

  /** A failed request; also call s3Request for it so request counts include failures. */
  s3Error(operation: S3Operation, code: string): void { this.s3Errors.inc({ operation, code }); }

  // ---- Client telemetry (KIP-714) ----

  clientTelemetryPush(errorCode: number): void { this.clientTelemetryPushes.inc({ result: errorName(errorCode) }); }
  /** Shows a telemetry store's series at each scrape. */
  observeClientTelemetry(source: ClientTelemetrySource): void {
    this.addCollector(() => {
      this.clientMetric.reset();
      for (const s of source.series()) {
        this.clientMetric.set({ client_instance_id: s.clientInstanceId, client_id: s.clientId, metric: s.metric, attributes: s.attributes }, s.value);
      }
      this.clientTelemetrySeries.set(source.seriesCount());
      this.clientTelemetryClients.set(source.clientCount());
      const dropped = source.droppedSeries();
      if (dropped > this.clientTelemetryDroppedSeen) this.clientTelemetryDropped.inc(dropped - this.clientTelemetryDroppedSeen);
      this.clientTelemetryDroppedSeen = dropped;
    });
  }

  // ---- Caches ----

  cacheLookup(cache: string, hit: boolean, count = 1): void {
    this.cacheLookups.inc({ cache, result: hit ? 'hit' : 'miss' }, count);
    const c = this.cacheCounts.get(cache) ?? { hits: 0, misses: 0 };
    if (hit) c.hits += count; else c.misses += count;
    this.cacheCounts.set(cache, c);
    this.cacheHitRatio.set({ cache }, c.hits / (c.hits + c.misses));
  }

  cacheBytes(cache: string, bytes: number): void { this.cacheSizeBytes.set({ cache }, bytes); }

  // ---- Cluster / failover / readiness ----

  partitionsLed(count: number): void { this.partitionsLedGauge.set(count); }
  controller(isController: boolean): void { this.controllerGauge.set(isController ? 1 : 0); }
  brokersAlive(count: number): void { this.brokersAliveGauge.set(count); }
  setReady(ready: boolean): void { this.readyGauge.set(ready ? 1 : 0); }
  walFullState(full: boolean): void { this.walFullGauge.set(full ? 1 : 0); }
  uploadsFailing(failing: boolean): void { this.uploadsFailingGauge.set(failing ? 1 : 0); }
  failoverCompleted(seconds: number, result: FailoverResult = 'ok'): void {
    this.failovers.inc({ result });
    if (result === 'ok') this.failoverSeconds.observe(seconds);
  }
  /** The remount controller's FailoverMetrics. */
  failoverFinished(result: 'done' | 'failed'): void { this.failovers.inc({ result: result === 'done' ? 'ok' : 'failed' }); }
  failoverPhase(phase: string, seconds: number): void {
    this.failoverPhaseSeconds.observe({ phase }, seconds);
    if (phase === 'total') this.failoverSeconds.observe(seconds);
  }
  volumesAttached(delta: number): void { this.volumesAttachedGauge.inc(delta); }
  takeoverFinished(ok: boolean): void { this.takeovers.inc({ result: ok ? 'ok' : 'failed' }); }

  /** Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    for (const c of this.collectors) {
      try { c(); } catch { /* a failing source must not break the scrape */ }
    }
    return this.registry.metrics();
  }
  get contentType(): string { return this.registry.contentType; }
}

