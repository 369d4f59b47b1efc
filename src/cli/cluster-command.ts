/**
 * `ferry cluster describe`: brokers (with racks), the controller, every partition with its leader;
 * with `--metrics URL` (repeatable, one per broker's metrics.listener) also each broker's WAL fill
 * and upload lag, read from its /metrics endpoint.
 */
import { UsageError } from '../admin/errors.js';
import { MetricsSnapshot } from '../admin/prom-text.js';
import { Args, type OptionSpecs } from './args.js';
import { COMMAND_CONFIG_USAGE, COMMON_OPTIONS, connectAdmin, runReporting } from './admin-common.js';
import { type Io } from './output.js';
import { formatBytes, renderTable, toJson } from '../common/text-format.js';

export const CLUSTER_USAGE = `usage: ferry cluster describe [options]
       ferry cluster move --etcd URL --cluster NAME --topic T --partition P --to BROKER
       ferry cluster drain|undrain --etcd URL --cluster NAME --broker ID

describe shows the brokers (host, rack), the controller and every partition's leader.
move, drain and undrain change leadership through etcd (a cluster with metadata.backend=etcd):
a graceful move (the old leader uploads its pending data and releases, then the target leads at
epoch + 1; no data is copied between brokers). drain moves everything off a broker, as its
controlled shutdown does. The controller rebalances by itself when brokers join or leave.

options:
  --metrics URL      a broker's metrics endpoint (http://host:port, repeatable): adds WAL use
                     and upload lag per broker
  --bootstrap-server host:port[,host:port]  (default localhost:9092)
  ${COMMAND_CONFIG_USAGE}
  --json             machine-readable output
`;

const OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS, metrics: { kind: 'list' },
  etcd: { kind: 'string' }, cluster: { kind: 'string' }, topic: { kind: 'string' }, partition: { kind: 'number' },
  to: { kind: 'number' }, broker: { kind: 'number' },
};

/** Leadership changes go through etcd with the controller's own transactions. */
async function runLeadershipAction(action: string, args: Args, io: Io): Promise<number> {
  const endpoints = args.required('etcd').split(',');
  const clusterName = args.strOr('cluster', 'ferry');
  const { EtcdMetadataStore } = await import('../cluster/etcd-metadata-store.js');
  const { ClusterController, MetadataKeys } = await import('../cluster/index.js');
  const store = await EtcdMetadataStore.open({ endpoints });
  try {
    // An admin-only participant: it never runs for controller.
    const controller = new ClusterController(store, new MetadataKeys(clusterName), { nodeId: -1 });
    const timeoutMs = args.numOr('timeout-ms', 60_000);
    let result: unknown;
    if (action === 'move') {
      result = await controller.movePartition(args.required('topic'), Number(args.required('partition')), Number(args.required('to')), { timeoutMs });
    } else if (action === 'drain') {
      result = await controller.drain(Number(args.required('broker')));
    } else {
      result = await controller.undrain(Number(args.required('broker')));
    }
    io.out(args.bool('json') ? toJson(result ?? { ok: true }) : `${action}: ${JSON.stringify(result ?? 'ok')}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

export interface BrokerOpsStatus {
  url: string;
  nodeId: string | null;
  ready: boolean | null;
  walUsedBytes: number;
  walCapacityBytes: number;
  walFillRatio: number;
  uploadLagBytes: number;
  uploadLagSeconds: number;
  partitionsLed: number | null;
  walFsyncP99Seconds: number | null;
  error?: string;
}

export async function readOpsStatus(url: string): Promise<BrokerOpsStatus> {
  try {
    const s = await MetricsSnapshot.fetch(url);
    const nodeId = s.samples.find((x) => x.name.startsWith('ferry_') && x.labels.node_id !== undefined)?.labels.node_id ?? null;
    return {
      url, nodeId,
      ready: s.has('ferry_ready') ? s.sum('ferry_ready') === 1 : null,
      walUsedBytes: s.sum('ferry_wal_used_bytes'),
      walCapacityBytes: s.sum('ferry_wal_capacity_bytes'),
      walFillRatio: s.sum('ferry_wal_fill_ratio'),
      uploadLagBytes: s.sum('ferry_upload_lag_bytes'),
      uploadLagSeconds: s.sum('ferry_upload_lag_seconds'),
      partitionsLed: s.has('ferry_partitions_led') ? s.sum('ferry_partitions_led') : null,
      walFsyncP99Seconds: s.histogramQuantile('ferry_wal_fsync_duration_seconds', 0.99),
    };
  } catch (err) {
    return { url, nodeId: null, ready: null, walUsedBytes: 0, walCapacityBytes: 0, walFillRatio: 0, uploadLagBytes: 0, uploadLagSeconds: 0, partitionsLed: null, walFsyncP99Seconds: null, error: (err as Error).message };
  }
}

export async function runCluster(argv: string[], io: Io): Promise<number> {
  return runReporting(io, 'cluster', CLUSTER_USAGE, async () => {
    const args = Args.parse(argv, OPTIONS);
    const [action, ...extra] = args.positionals;
    if (args.bool('help') || action === undefined) { io.out(CLUSTER_USAGE); return action === undefined && !args.bool('help') ? 2 : 0; }
    if (action === 'move' || action === 'drain' || action === 'undrain') return runLeadershipAction(action, args, io);
    if (action !== 'describe') throw new UsageError(`unknown action '${action}'`);
    if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
    const admin = await connectAdmin(args, io);
    try {
      const cluster = await admin.describeCluster();
      const md = await admin.metadata(null);
      const led = new Map<number, number>();
      const partitions = md.topics.flatMap((t) => t.partitions.map((p) => {
        led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
        return { topic: t.name, partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, rack: cluster.brokers.find((b) => b.nodeId === p.leader)?.rack ?? null };
      }));
      const ops = await Promise.all(args.list('metrics').map(readOpsStatus));
      const brokers = cluster.brokers.map((b) => ({ ...b, controller: b.nodeId === cluster.controllerId, partitionsLed: led.get(b.nodeId) ?? 0 }));
      if (args.bool('json')) {
        io.out(toJson({ clusterId: cluster.clusterId, controllerId: cluster.controllerId, brokers, partitions, metrics: ops }));
        return 0;
      }
      io.out(`Cluster ${cluster.clusterId ?? '(no id)'}: ${brokers.length} broker(s), controller ${cluster.controllerId}, ${md.topics.length} topic(s), ${partitions.length} partition(s)\n\n`);
      io.out(renderTable(['BROKER', 'HOST', 'RACK', 'CONTROLLER', 'PARTITIONS LED'], brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`, b.rack, b.controller ? 'yes' : '', b.partitionsLed])));
      if (ops.length > 0) {
        io.out('\n');
        io.out(renderTable(['METRICS', 'NODE', 'READY', 'WAL USED', 'WAL FILL', 'FSYNC P99', 'UPLOAD LAG', 'UPLOAD LAG S'], ops.map((o) => o.error
          ? [o.url, null, `error: ${o.error}`, null, null, null, null, null]
          : [o.url, o.nodeId, o.ready === null ? null : o.ready ? 'yes' : 'no', formatBytes(o.walUsedBytes), `${(o.walFillRatio * 100).toFixed(1)}%`,
            o.walFsyncP99Seconds === null ? null : `${(o.walFsyncP99Seconds * 1000).toFixed(2)} ms`, formatBytes(o.uploadLagBytes), o.uploadLagSeconds.toFixed(1)])));
      }
      if (partitions.length > 0) {
        io.out('\n');
        io.out(renderTable(['TOPIC', 'PARTITION', 'LEADER', 'RACK', 'EPOCH'], partitions.map((p) => [p.topic, p.partition, p.leader, p.rack, p.leaderEpoch])));
      }
      return ops.some((o) => o.error) ? 1 : 0;
    } finally {
      admin.close();
    }
  });
}
