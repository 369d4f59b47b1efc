/**
 * The monthly cost model: Ferry vs classic Kafka (RF=3 on broker disks) vs Kafka with tiered
 * storage (KIP-405). Pure arithmetic over CostInputs; docs/cost-model.md explains each formula
 * and works one example that test/cost/cost.test.ts reproduces.
 *
 * Conventions: 1 MB = 10^6 bytes, 1 GB = 10^9 bytes, a month is 730 hours (AWS's convention).
 * w = writeMBps / compressionRatio is the compressed rate every wire, volume and object carries.
 */
import type { CostInputs } from './inputs.js';

export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
/** Objects a tiered-Kafka segment upload writes: the segment, offset index, time index, leader-epoch checkpoint. */
export const KAFKA_PUTS_PER_SEGMENT = 4;

export interface CostBreakdown {
  instances: number;
  crossAz: number;
  blockStorage: number;
  s3Storage: number;
  s3Api: number;
  total: number;
}

export interface Scenario {
  name: string;
  brokers: number;
  /** Cluster network through broker NICs, MB/s (what sizes the fleet). */
  networkMBps: number;
  crossAzMBps: number;
  crossAzGBMonth: number;
  blockStorageGB: number;
  s3StoredGB: number;
  s3PutsMonth: number;
  s3GetsMonth: number;
  monthly: CostBreakdown;
}

export interface CostResult {
  inputs: CostInputs;
  compressedMBps: number;
  retainedGB: number;
  scenarios: Scenario[];
}

const gbPerMonth = (mbps: number) => (mbps * SECONDS_PER_MONTH) / 1000;

function brokersFor(networkMBps: number, minimum: number, inputs: CostInputs): number {
  const byNetwork = Math.ceil(networkMBps / inputs.brokerMBps - 1e-9);
  const n = Math.max(minimum, byNetwork, 1);
  // Same count in every AZ.
  return Math.ceil(n / inputs.azCount) * inputs.azCount;
}

function price(s: Omit<Scenario, 'monthly'>, inputs: CostInputs): Scenario {
  const instances = s.brokers * inputs.instanceHourly * HOURS_PER_MONTH;
  const crossAz = s.crossAzGBMonth * inputs.crossAzPerGB;
  const blockStorage = s.blockStorageGB * inputs.ebsPerGBMonth;
  const s3Storage = s.s3StoredGB * inputs.s3PerGBMonth;
  const s3Api = (s.s3PutsMonth / 1000) * inputs.s3PutPer1000 + (s.s3GetsMonth / 1000) * inputs.s3GetPer1000;
  return { ...s, monthly: { instances, crossAz, blockStorage, s3Storage, s3Api, total: instances + crossAz + blockStorage + s3Storage + s3Api } };
}

export function validateInputs(i: CostInputs): void {
  const positive: Array<keyof CostInputs> = ['writeMBps', 'compressionRatio', 'brokerMBps', 'diskFillMax', 'kafkaSegmentBytes', 'uploadIntervalSec', 'uploadMaxBytes', 's3PartBytes', 's3GetBytes'];
  for (const k of positive) if (!((i[k] as number) > 0)) throw new RangeError(`${k} must be > 0, got ${i[k]}`);
  for (const [k, v] of Object.entries(i)) if (typeof v === 'number' && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`${k} must be a non-negative number, got ${v}`);
  if (!Number.isInteger(i.azCount) || i.azCount < 1) throw new RangeError(`azCount must be an integer >= 1, got ${i.azCount}`);
  if (!Number.isInteger(i.replicationFactor) || i.replicationFactor < 1) throw new RangeError(`replicationFactor must be an integer >= 1, got ${i.replicationFactor}`);
  if (i.laggingReadFraction > 1 || i.diskFillMax > 1) throw new RangeError('laggingReadFraction and diskFillMax must be <= 1');
  if (i.kafkaLocalRetentionHours > i.retentionHours) throw new RangeError('kafkaLocalRetentionHours must be <= retentionHours');
}

export function computeCosts(inputs: CostInputs): CostResult {
  validateInputs(inputs);
  const w = inputs.writeMBps / inputs.compressionRatio;
  const F = inputs.readFanout;
  const A = inputs.azCount;
  const RF = inputs.replicationFactor;
  const crossFraction = (A - 1) / A;
  const retainedGB = (w * inputs.retentionHours * 3600) / 1000;
  const monthBytes = w * 1e6 * SECONDS_PER_MONTH;
  const laggingBytes = F * inputs.laggingReadFraction * monthBytes;

  // Kafka: producers reach the leader from any AZ; each follower sits in another AZ (rack-aware
  // placement); consumers fetch from the leader unless follower fetching is on.
  const kafkaProduceCross = w * crossFraction;
  const kafkaReplicationCross = w * Math.min(RF - 1, A - 1);
  const kafkaConsumeCross = inputs.kafkaFollowerFetching ? 0 : F * w * crossFraction;
  const kafkaCross = kafkaProduceCross + kafkaReplicationCross + kafkaConsumeCross;
  const kafkaNetwork = w * (1 + 2 * (RF - 1) + F);
  const classic = price({
    name: `Kafka RF=${RF}`,
    brokers: brokersFor(kafkaNetwork, RF, inputs),
    networkMBps: kafkaNetwork,
    crossAzMBps: kafkaCross,
    crossAzGBMonth: gbPerMonth(kafkaCross),
    blockStorageGB: (retainedGB * RF) / inputs.diskFillMax,
    s3StoredGB: 0,
    s3PutsMonth: 0,
    s3GetsMonth: 0,
  }, inputs);

  // Tiered Kafka: the same replication; disks keep local retention only; the leader uploads each
  // closed segment once; lagging reads come from S3.
  const tieredNetwork = kafkaNetwork + w + F * w * inputs.laggingReadFraction;
  const tiered = price({
    name: `Kafka RF=${RF} tiered`,
    brokers: brokersFor(tieredNetwork, RF, inputs),
    networkMBps: tieredNetwork,
    crossAzMBps: kafkaCross,
    crossAzGBMonth: gbPerMonth(kafkaCross),
    blockStorageGB: (((w * inputs.kafkaLocalRetentionHours * 3600) / 1000) * RF) / inputs.diskFillMax,
    s3StoredGB: retainedGB,
    s3PutsMonth: (monthBytes / inputs.kafkaSegmentBytes) * KAFKA_PUTS_PER_SEGMENT,
    s3GetsMonth: laggingBytes / inputs.s3GetBytes,
  }, inputs);

  // Ferry: one leader per partition; the WAL volume is the replication (no broker-to-broker
  // copy); every byte goes to S3 once plus compaction; consumers read from the leader.
  const ferryCross = w * crossFraction + F * w * crossFraction;
  const ferryNetwork = w * (1 + F + 1 + 2 * inputs.compactionRewrites) + F * w * inputs.laggingReadFraction;
  const ferryBrokers = brokersFor(ferryNetwork, A, inputs);
  const perBrokerBytesPerSec = (w * 1e6) / ferryBrokers;
  const uploadsPerBrokerPerSec = Math.max(1 / inputs.uploadIntervalSec, perBrokerBytesPerSec / inputs.uploadMaxBytes);
  const ferry = price({
    name: 'Ferry',
    brokers: ferryBrokers,
    networkMBps: ferryNetwork,
    crossAzMBps: ferryCross,
    crossAzGBMonth: gbPerMonth(ferryCross),
    blockStorageGB: ferryBrokers * inputs.walVolumeGB,
    s3StoredGB: retainedGB,
    s3PutsMonth: ferryBrokers * uploadsPerBrokerPerSec * SECONDS_PER_MONTH + (inputs.compactionRewrites * monthBytes) / inputs.s3PartBytes,
    s3GetsMonth: (inputs.compactionRewrites * monthBytes) / inputs.s3GetBytes + laggingBytes / inputs.s3GetBytes,
  }, inputs);

  return { inputs, compressedMBps: w, retainedGB, scenarios: [ferry, classic, tiered] };
}
