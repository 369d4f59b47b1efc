/**
 * A six-broker cluster in three zones for the zone-local traffic tests (issue #15): real etcd,
 * Ceph's S3 gateway (radosgw) as the shared object store, brokers 1..6 in racks a, a, b, b, c, c
 * with local WAL volumes (test/failover/volume-cluster.ts, so a killed broker's volume fails over),
 * each with its own /metrics port. Helpers to create topics with Ferry's zone keys, to ask
 * Metadata as a client of a zone (the ferry_az token in the client id), and to sum the traffic
 * counters over every broker.
 *
 *   const z = await ZoneCluster.start({ name: 'ze2e' });   // inside a test or a before() hook
 *   await z.createTopic('t', 12, { 'ferry.produce.routing': 'zone-local' });
 *   const before = await z.traffic(); ...; const after = await z.traffic();
 *   await z.dispose();
 */
import { MetricsSnapshot } from '../../src/admin/prom-text.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { freePort } from '../helpers/ports.js';
import { startRadosgw, type Radosgw } from '../helpers/radosgw.js';
import { RawKafkaConnection, decodeResponseFrame } from '../helpers/raw-kafka.js';
import { waitFor } from '../helpers/wait.js';
import { VolumeCluster } from '../failover/volume-cluster.js';

export const ZONE_RACKS = ['a', 'a', 'b', 'b', 'c', 'c'];
export const ZONES = ['a', 'b', 'c'];

export interface ZoneClusterOptions {
  name: string;
  racks?: string[];
  /** Extra broker config (every broker); overrides the defaults below. */
  config?: Record<string, string>;
  /** radosgw's in-memory store (default 2 GiB; big benchmark runs need more). */
  memstoreBytes?: number;
}

/** The client id a zone's client uses: Produce and Metadata carry no rack, the token does. */
export function zoneClientId(name: string, zone: string): string { return `${name};ferry_az=${zone}`; }

/** One partition as Metadata answers it. */
export interface PartitionView { partition: number; leaderId: number; leaderEpoch: number; replicas: number[]; isr: number[] }

/** Cluster-wide traffic counters (sums over every scraped broker). */
export interface Traffic {
  /** ferry_cross_az_bytes_total by direction. */
  crossAzIn: number;
  crossAzOut: number;
  /** ferry_replica_cross_az_bytes_total. */
  replicaCrossAz: number;
  /** ferry_client_bytes_total by direction and locality. */
  sameAzIn: number;
  sameAzOut: number;
  crossAzLocalityIn: number;
  crossAzLocalityOut: number;
  unknownIn: number;
  unknownOut: number;
  /** ferry_produced_bytes_total / ferry_fetched_bytes_total by topic. */
  producedByTopic: Map<string, number>;
  fetchedByTopic: Map<string, number>;
  readReplicaRedirects: number;
  /** ferry_read_replica_bytes_total by source (object, tail). */
  readReplicaBytes: Map<string, number>;
  proxyStagedBytes: number;
  proxyStagedObjects: Map<string, number>;
}

export function trafficDelta(after: Traffic, before: Traffic): Traffic {
  const mapDelta = (a: Map<string, number>, b: Map<string, number>) => new Map([...a].map(([k, v]) => [k, v - (b.get(k) ?? 0)]));
  return {
    crossAzIn: after.crossAzIn - before.crossAzIn,
    crossAzOut: after.crossAzOut - before.crossAzOut,
    replicaCrossAz: after.replicaCrossAz - before.replicaCrossAz,
    sameAzIn: after.sameAzIn - before.sameAzIn,
    sameAzOut: after.sameAzOut - before.sameAzOut,
    crossAzLocalityIn: after.crossAzLocalityIn - before.crossAzLocalityIn,
    crossAzLocalityOut: after.crossAzLocalityOut - before.crossAzLocalityOut,
    unknownIn: after.unknownIn - before.unknownIn,
    unknownOut: after.unknownOut - before.unknownOut,
    producedByTopic: mapDelta(after.producedByTopic, before.producedByTopic),
    fetchedByTopic: mapDelta(after.fetchedByTopic, before.fetchedByTopic),
    readReplicaRedirects: after.readReplicaRedirects - before.readReplicaRedirects,
    readReplicaBytes: mapDelta(after.readReplicaBytes, before.readReplicaBytes),
    proxyStagedBytes: after.proxyStagedBytes - before.proxyStagedBytes,
    proxyStagedObjects: mapDelta(after.proxyStagedObjects, before.proxyStagedObjects),
  };
}

export class ZoneCluster {
  private constructor(
    readonly cluster: VolumeCluster,
    readonly rgw: Radosgw,
    readonly etcd: EtcdServer,
    readonly racks: string[],
    /** broker id -> its metrics port. */
    readonly metricsPorts: Map<number, number>,
  ) {}

  /** Starts radosgw, etcd and the brokers; on failure stops whatever started. */
  static async start(o: ZoneClusterOptions): Promise<ZoneCluster> {
    const racks = o.racks ?? ZONE_RACKS;
    const rgw = await startRadosgw(undefined, { timeoutMs: 120_000, ...(o.memstoreBytes ? { memstoreBytes: o.memstoreBytes } : {}) });
    let etcd: EtcdServer | null = null;
    let cluster: VolumeCluster | null = null;
    try {
      const bucket = `ferry-${o.name}-${process.pid}`;
      await rgw.createBucket(bucket);
      etcd = await startEtcd();
      cluster = new VolumeCluster({
        name: o.name, racks, etcd,
        objectStore: {
          'object.store': 's3', 's3.bucket': bucket, 's3.endpoint': rgw.endpoint, 's3.region': rgw.region,
          's3.force.path.style': 'true', 's3.access.key.id': rgw.accessKeyId, 's3.secret.access.key': rgw.secretAccessKey,
        },
        config: {
          // Uploads often: consumers of uploaded-only topics in other zones read what is uploaded.
          'upload.interval.ms': '1000',
          'num.partitions': '12',
          ...(o.config ?? {}),
        },
      });
      const ports = new Map<number, number>();
      // VolumeCluster gives every broker the same config; the metrics port differs per broker,
      // so it goes in each broker's environment (FERRY_<KEY>).
      for (const [i, b] of cluster.brokers.entries()) {
        const port = await freePort();
        ports.set(i + 1, port);
        b.envOverride.FERRY_METRICS_LISTENER = `127.0.0.1:${port}`;
      }
      await cluster.start();
      return new ZoneCluster(cluster, rgw, etcd, racks, ports);
    } catch (err) {
      await cluster?.dispose().catch(() => {});
      await etcd?.stop().catch(() => {});
      await rgw.stop().catch(() => {});
      throw err;
    }
  }

  get brokerIds(): number[] { return this.racks.map((_, i) => i + 1); }
  rackOf(id: number): string { return this.racks[id - 1]!; }
  brokersIn(zone: string): number[] { return this.brokerIds.filter((id) => this.rackOf(id) === zone); }
  running(id: number): boolean { return this.cluster.broker(id).running; }
  liveBrokers(): number[] { return this.brokerIds.filter((id) => this.running(id)); }

  /** Bootstrap list of the running brokers, the zone's own first (a client starts in its zone). */
  bootstrap(zone?: string): string {
    const ids = this.liveBrokers().sort((x, y) => Number(this.rackOf(y) === zone) - Number(this.rackOf(x) === zone));
    return ids.map((id) => this.cluster.broker(id).bootstrap).join(',');
  }

  /** Creates a topic with configs (e.g. ferry.produce.routing) and waits until its leaders are spread over the live brokers. */
  async createTopic(name: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
    const conn = await RawKafkaConnection.connect(this.cluster.broker(this.liveBrokers()[0]!).bootstrap);
    try {
      const r = await conn.request(ApiKey.CreateTopics, 7, {
        topics: [{ name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })) }],
        timeoutMs: 10_000, validateOnly: false,
      });
      const t = r.topics[0];
      if (t.errorCode !== 0) throw new Error(`CreateTopics ${name}: error ${t.errorCode} ${t.errorMessage ?? ''}`);
    } finally { conn.close(); }
    // A new topic's partitions start on the broker that created them; the controller then moves
    // them (in ~0.2 s) to spread over brokers and racks. Tests want the spread layout.
    let settled = '';
    let since = 0;
    await waitFor(async () => {
      const ps = await this.partitions(name);
      if (ps.length !== partitions || ps.some((p) => p.leaderId <= 0)) return false;
      const live = this.liveBrokers();
      const counts = live.map((id) => ps.filter((p) => p.leaderId === id).length);
      const q = Math.floor(partitions / live.length);
      if (!counts.every((n) => n === q || n === q + 1)) return false;
      const layout = ps.map((p) => p.leaderId).join(',');
      if (layout !== settled) { settled = layout; since = Date.now(); }
      return Date.now() - since >= 1000;
    }, 30_000, `every partition of ${name} led, spread over the live brokers, for 1 s`, 200);
  }

  /**
   * Metadata for `topic` as a client sees it: with `zone`, the client id carries ferry_az=<zone>
   * (zone-local topics then name the zone's proxy as leader). Asked of a running broker, the
   * zone's own first.
   */
  async partitions(topic: string, zone?: string): Promise<PartitionView[]> {
    const via = this.liveBrokers().sort((x, y) => Number(this.rackOf(y) === zone) - Number(this.rackOf(x) === zone))[0]!;
    const conn = await RawKafkaConnection.connect(this.cluster.broker(via).bootstrap);
    try {
      const clientId = zone ? zoneClientId('zone-test-metadata', zone) : 'zone-test-metadata';
      const corr = await conn.send(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, clientId);
      const frame = await conn.readFrame(10_000);
      if (!frame) throw new Error(`broker ${via} closed the connection instead of answering Metadata`);
      const md = decodeResponseFrame(ApiKey.Metadata, 12, frame, corr);
      const t = md.topics[0];
      if (!t || t.errorCode !== 0) return [];
      return t.partitions.map((p: any) => ({ partition: p.partitionIndex, leaderId: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: p.isrNodes }))
        .sort((x: PartitionView, y: PartitionView) => x.partition - y.partition);
    } finally { conn.close(); }
  }

  /** /metrics of every running broker (a broker that does not answer is left out). */
  async scrape(): Promise<Map<number, MetricsSnapshot>> {
    const out = new Map<number, MetricsSnapshot>();
    await Promise.all(this.liveBrokers().map(async (id) => {
      try { out.set(id, await MetricsSnapshot.fetch(`http://127.0.0.1:${this.metricsPorts.get(id)}`)); } catch { /* down */ }
    }));
    return out;
  }

  /** Sum of a metric (samples matching `filter`) over every running broker. */
  async sum(name: string, filter: Record<string, string> = {}): Promise<number> {
    let total = 0;
    for (const s of (await this.scrape()).values()) total += s.sum(name, filter);
    return total;
  }

  async traffic(): Promise<Traffic> {
    const snaps = [...(await this.scrape()).values()];
    const sum = (name: string, filter: Record<string, string> = {}) => snaps.reduce((n, s) => n + s.sum(name, filter), 0);
    const byLabel = (name: string, label: string) => {
      const m = new Map<string, number>();
      for (const s of snaps) for (const [k, v] of s.byLabel(name, label)) m.set(k, (m.get(k) ?? 0) + v);
      return m;
    };
    return {
      crossAzIn: sum('ferry_cross_az_bytes_total', { direction: 'in' }),
      crossAzOut: sum('ferry_cross_az_bytes_total', { direction: 'out' }),
      replicaCrossAz: sum('ferry_replica_cross_az_bytes_total'),
      sameAzIn: sum('ferry_client_bytes_total', { direction: 'in', locality: 'same_az' }),
      sameAzOut: sum('ferry_client_bytes_total', { direction: 'out', locality: 'same_az' }),
      crossAzLocalityIn: sum('ferry_client_bytes_total', { direction: 'in', locality: 'cross_az' }),
      crossAzLocalityOut: sum('ferry_client_bytes_total', { direction: 'out', locality: 'cross_az' }),
      unknownIn: sum('ferry_client_bytes_total', { direction: 'in', locality: 'unknown' }),
      unknownOut: sum('ferry_client_bytes_total', { direction: 'out', locality: 'unknown' }),
      producedByTopic: byLabel('ferry_produced_bytes_total', 'topic'),
      fetchedByTopic: byLabel('ferry_fetched_bytes_total', 'topic'),
      readReplicaRedirects: sum('ferry_fetch_read_replica_redirects_total'),
      readReplicaBytes: byLabel('ferry_read_replica_bytes_total', 'source'),
      proxyStagedBytes: sum('ferry_proxy_staged_bytes_total'),
      proxyStagedObjects: byLabel('ferry_proxy_staged_objects_total', 'result'),
    };
  }

  /** SIGKILL a broker (its volume fails over to a live broker). */
  async kill(id: number): Promise<void> { await this.cluster.broker(id).kill(); }

  /** Waits until the controller has moved a dead broker's volume and partitions (failover record done). */
  async waitFailoverDone(brokerId: number, timeoutMs = 90_000): Promise<void> {
    await waitFor(async () => (await this.cluster.failovers()).some((f) => f.brokerId === brokerId && f.phase === 'done'),
      timeoutMs, `failover of broker ${brokerId} done`, 250);
  }

  /** Logs of the brokers (tails), for failure messages. */
  logTails(chars = 3000): string {
    return this.brokerIds.map((id) => `--- broker ${id} (rack ${this.rackOf(id)}) ---\n${this.cluster.broker(id).logs.slice(-chars)}`).join('\n');
  }

  async dispose(): Promise<void> {
    await this.cluster.dispose().catch(() => {});
    await this.etcd.stop().catch(() => {});
    await this.rgw.stop().catch(() => {});
  }
}
