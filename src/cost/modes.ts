/**
 * The deployment modes `ferry cost` compares, each as traffic, storage and request rates (no
 * prices: model.ts prices them). Every mode runs in `azCount` AZs with clients spread evenly.
 *
 *   kafka             Kafka RF=3 on broker disks
 *   kafka-tiered      the same with tiered storage (KIP-405)
 *   block-wal         AutoMQ-style: one leader per partition, its WAL on a block volume, data in S3
 *   ferry-leader      Ferry, ferry.produce.routing=leader (the block-WAL write path) plus read replicas
 *   ferry-zone-local  Ferry, ferry.produce.routing=zone-local: producers write in their own AZ
 *
 * A Ferry mode may name its ferry.remote.read.mode: `ferry-zone-local:uploaded-only`.
 */
import { REMOTE_READ_MODES, type CostInputs, type RemoteReadMode } from './inputs.js';
import {
  brokersByNetwork, leadersPerStagingObject, remoteReadingZones, requestsPerSec, stagingGetsPerSec, stagingPutsPerSec, uploadPutsPerSec,
} from './traffic.js';

export type ModeId = 'kafka' | 'kafka-tiered' | 'block-wal' | 'ferry-leader' | 'ferry-zone-local';
export const MODE_IDS: readonly ModeId[] = ['kafka', 'kafka-tiered', 'block-wal', 'ferry-leader', 'ferry-zone-local'];
/** What `ferry cost` prints without --modes. */
export const DEFAULT_MODES = 'kafka,kafka-tiered,block-wal,ferry-leader,ferry-zone-local';

export interface ModeSpec { id: ModeId; readMode?: RemoteReadMode }

/** Objects a tiered-Kafka segment upload writes: the segment, offset index, time index, leader-epoch checkpoint. */
export const KAFKA_PUTS_PER_SEGMENT = 4;

/** Cross-AZ flows, MB/s, by cause. */
export interface CrossAzFlows {
  /** Producers to a leader (or proxy) in another AZ. */
  produceMBps: number;
  /** Kafka followers copying from their leader. */
  replicationMBps: number;
  /** Consumers reading from a broker in another AZ. */
  consumeMBps: number;
  /** Ferry read replicas receiving the un-uploaded tail from the leader (ferry.remote.read.mode=tail). */
  replicaTailMBps: number;
  /** Zone-local proxies' FerryProxyProduce requests and answers (to leaders in other AZs). */
  proxyRequestMBps: number;
}

/** S3 requests per second, by cause. */
export interface RequestRates {
  uploadPuts: number;
  compactionPuts: number;
  tieredPuts: number;
  stagingPuts: number;
  compactionGets: number;
  laggingGets: number;
  replicaGets: number;
  stagingGets: number;
}

export interface Traffic {
  mode: ModeId;
  name: string;
  /** How consumers outside the leader's AZ read: leader, follower, rack-aware, tail, uploaded-only. */
  reads: string;
  brokers: number;
  /** Cluster network through broker NICs (in + out), MB/s: what sizes the fleet. */
  networkMBps: number;
  crossAz: CrossAzFlows;
  blockStorageGB: number;
  s3StoredGB: number;
  requests: RequestRates;
}

export function parseModes(text: string): ModeSpec[] {
  const specs = text.split(',').map((s) => s.trim()).filter((s) => s !== '').map((item) => {
    const [id, readMode, extra] = item.split(':');
    if (!(MODE_IDS as readonly string[]).includes(id!)) throw new RangeError(`unknown mode ${id} (modes: ${MODE_IDS.join(', ')})`);
    if (extra !== undefined) throw new RangeError(`mode ${item}: one read mode at most`);
    if (readMode !== undefined) {
      if (!id!.startsWith('ferry-')) throw new RangeError(`mode ${item}: only the ferry modes take a read mode`);
      if (!(REMOTE_READ_MODES as readonly string[]).includes(readMode)) throw new RangeError(`mode ${item}: read mode must be one of ${REMOTE_READ_MODES.join(', ')}`);
    }
    return { id: id as ModeId, ...(readMode !== undefined ? { readMode: readMode as RemoteReadMode } : {}) };
  });
  if (specs.length === 0) throw new RangeError('no modes given');
  return specs;
}

/** The rates every mode starts from. */
export interface Workload {
  /** Bytes on the network (client batches as sent), MB/s. */
  wire: number;
  /** Bytes stored (compressed batches), MB/s. */
  stored: number;
  fanout: number;
  azCount: number;
  /** Share of clients in another AZ than a given broker: (A-1)/A. */
  remoteShare: number;
  retainedGB: number;
}

export function workloadOf(i: CostInputs): Workload {
  const stored = i.writeMBps / i.compressionRatio;
  return {
    wire: i.compressedOnWire ? stored : i.writeMBps,
    stored,
    fanout: i.readFanout,
    azCount: i.azCount,
    remoteShare: (i.azCount - 1) / i.azCount,
    retainedGB: (stored * i.retentionHours * 3600) / 1000,
  };
}

const NO_REQUESTS: RequestRates = { uploadPuts: 0, compactionPuts: 0, tieredPuts: 0, stagingPuts: 0, compactionGets: 0, laggingGets: 0, replicaGets: 0, stagingGets: 0 };

function fleet(networkMBps: number, minimum: number, i: CostInputs): number {
  if (i.brokersPerZone > 0) return Math.max(minimum, i.brokersPerZone * i.azCount);
  return brokersByNetwork(networkMBps, i.brokerMBps, minimum, i.azCount);
}

function kafka(i: CostInputs, wl: Workload, tiered: boolean): Traffic {
  const { wire: w, stored: s, fanout: F, azCount: A, remoteShare: x } = wl;
  const RF = i.replicationFactor;
  // Rack-aware placement puts each follower in another AZ; with follower fetching a consumer
  // reads in its own AZ when that AZ holds a replica.
  const crossAz: CrossAzFlows = {
    produceMBps: w * x,
    replicationMBps: w * Math.min(RF - 1, A - 1),
    consumeMBps: i.fetchFromFollower ? (F * w * (A - Math.min(RF, A))) / A : F * w * x,
    replicaTailMBps: 0,
    proxyRequestMBps: 0,
  };
  // Produce in, replication out and in, consume out.
  const network = w * (1 + 2 * (RF - 1) + F);
  const reads = i.fetchFromFollower ? 'follower' : 'leader';
  if (!tiered) {
    return {
      mode: 'kafka', name: `Kafka RF=${RF}`, reads, brokers: fleet(network, RF, i), networkMBps: network, crossAz,
      blockStorageGB: (wl.retainedGB * RF) / i.diskFillMax, s3StoredGB: 0, requests: NO_REQUESTS,
    };
  }
  // Tiered: disks keep the local retention; the leader uploads each closed segment once;
  // lagging reads come from S3.
  const lagging = F * s * i.laggingReadFraction;
  const tieredNetwork = network + s + lagging;
  return {
    mode: 'kafka-tiered', name: 'Kafka tiered', reads, brokers: fleet(tieredNetwork, RF, i), networkMBps: tieredNetwork, crossAz,
    blockStorageGB: (((s * i.kafkaLocalRetentionHours * 3600) / 1000) * RF) / i.diskFillMax,
    s3StoredGB: wl.retainedGB,
    requests: { ...NO_REQUESTS, tieredPuts: requestsPerSec(s, i.kafkaSegmentBytes) * KAFKA_PUTS_PER_SEGMENT, laggingGets: requestsPerSec(lagging, i.s3GetBytes) },
  };
}

/**
 * One leader per partition, WAL on a volume, every byte to S3 once plus compaction. The write
 * path of block-wal and ferry-leader; ferry-zone-local adds the proxies; the read path differs.
 */
function singleLeader(i: CostInputs, wl: Workload, spec: ModeSpec): Traffic {
  const { wire: w, stored: s, fanout: F, azCount: A, remoteShare: x } = wl;
  const zoneLocal = spec.id === 'ferry-zone-local';
  const ferry = spec.id !== 'block-wal';
  const readMode: RemoteReadMode = spec.readMode ?? i.remoteReadMode;
  const lagging = F * s * i.laggingReadFraction;
  const caughtUp = 1 - i.laggingReadFraction;

  // Reads. Without client.rack every consumer reads from the leader. block-wal with it: AutoMQ's
  // tables count consumer traffic as zero (rack-aware reads), without saying what it costs.
  // Ferry with it: consumers in other AZs read from a read replica of their AZ, which gets the
  // caught-up bytes once per (AZ, partition): as tail bytes from the leader (tail: a zone
  // crossing) or as object blocks from S3 (uploaded-only: GETs, no crossing).
  let reads: string;
  let consumeMBps = 0;
  let replicaTailMBps = 0;
  let replicaGetMBps = 0;
  if (!i.fetchFromFollower || (ferry && readMode === 'leader')) {
    reads = 'leader';
    consumeMBps = F * w * x;
  } else if (!ferry) {
    reads = 'rack-aware';
  } else {
    reads = readMode;
    const zones = remoteReadingZones(A, F);
    if (readMode === 'tail') replicaTailMBps = w * zones * caughtUp;
    else replicaGetMBps = s * zones * caughtUp;
  }

  // Zone-local: producers whose leader is in another AZ write to their AZ's proxy instead.
  const stagedMBps = zoneLocal ? w * x : 0;
  // Produce in, consume out, upload, compaction read + write, lagging reads, replica traffic
  // (tail: leader out + replica in; blocks: replica in), staging (proxy PUT out + leader GET in).
  const network = w * (1 + F) + s * (1 + 2 * i.compactionRewrites) + lagging + 2 * replicaTailMBps + replicaGetMBps + 2 * stagedMBps;
  const brokers = fleet(network, A, i);
  const stagingPuts = stagingPutsPerSec(brokers, stagedMBps, i.proxyLingerMs, i.proxyBufferBytes);
  const requests: RequestRates = {
    ...NO_REQUESTS,
    uploadPuts: uploadPutsPerSec(brokers, s, i.uploadIntervalSec, i.uploadMaxBytes),
    compactionPuts: requestsPerSec(i.compactionRewrites * s, i.s3PartBytes),
    compactionGets: requestsPerSec(i.compactionRewrites * s, i.s3GetBytes),
    laggingGets: requestsPerSec(lagging, i.s3GetBytes),
    replicaGets: requestsPerSec(replicaGetMBps, i.blockBytes),
    stagingPuts,
    stagingGets: stagingGetsPerSec(stagingPuts, leadersPerStagingObject(brokers, A)),
  };
  const crossAz: CrossAzFlows = {
    produceMBps: zoneLocal ? 0 : w * x, replicationMBps: 0, consumeMBps, replicaTailMBps,
    // One round trip per (staging object, leader), like the GETs.
    proxyRequestMBps: (requests.stagingGets * i.proxyRequestBytes) / 1e6,
  };
  const names: Record<string, string> = { 'block-wal': 'block WAL', 'ferry-leader': 'Ferry leader', 'ferry-zone-local': 'Ferry zone-local' };
  return {
    mode: spec.id, name: names[spec.id]!, reads, brokers, networkMBps: network, crossAz,
    blockStorageGB: brokers * i.walVolumeGB, s3StoredGB: wl.retainedGB, requests,
  };
}

export function trafficOf(spec: ModeSpec, i: CostInputs, wl: Workload = workloadOf(i)): Traffic {
  switch (spec.id) {
    case 'kafka': return kafka(i, wl, false);
    case 'kafka-tiered': return kafka(i, wl, true);
    default: return singleLeader(i, wl, spec);
  }
}
