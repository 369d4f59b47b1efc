/**
 * Inputs of the cost model: the workload and the cloud's prices, every one with a default and
 * where the default comes from (docs/cost-model.md prints this table). Prices are AWS us-east-1
 * on-demand list prices; change them with flags for another region or cloud.
 */
export interface CostInputs {
  // Workload
  /** Producer payload before compression, MB/s (1 MB = 10^6 bytes). */
  writeMBps: number;
  /** Uncompressed / compressed bytes. Wire, WAL, disk and S3 all carry compressed batches. */
  compressionRatio: number;
  /** How many times each byte is read (consumer groups reading everything). */
  readFanout: number;
  retentionHours: number;
  azCount: number;
  /** Share of reads that miss the brokers' memory (lagging consumers, replays) and go to S3 (Ferry, tiered Kafka) or disk. */
  laggingReadFraction: number;
  // Sizing
  /** Usable network per broker, in + out, MB/s (sizes the fleet). */
  brokerMBps: number;
  instanceHourly: number;
  /** Largest fill of a Kafka data volume before adding disk. */
  diskFillMax: number;
  // Prices
  crossAzPerGB: number;
  ebsPerGBMonth: number;
  s3PerGBMonth: number;
  s3PutPer1000: number;
  s3GetPer1000: number;
  // Kafka
  replicationFactor: number;
  /** Tiered storage: hours kept on the brokers' disks (the rest only in S3). */
  kafkaLocalRetentionHours: number;
  kafkaSegmentBytes: number;
  /** KIP-392 fetch-from-follower: consumers read in their own AZ. */
  kafkaFollowerFetching: boolean;
  // Ferry
  uploadIntervalSec: number;
  uploadMaxBytes: number;
  walVolumeGB: number;
  /** Times each byte is rewritten by compaction (stream-set -> stream objects). */
  compactionRewrites: number;
  /** Bytes per S3 PUT part when compaction writes (multipart) and per ranged GET. */
  s3PartBytes: number;
  s3GetBytes: number;
}

export interface InputSpec {
  key: keyof CostInputs;
  flag: string;
  unit: string;
  default: number | boolean;
  source: string;
}

const MiB = 1024 * 1024;

export const INPUT_SPECS: InputSpec[] = [
  { key: 'writeMBps', flag: 'write-mbps', unit: 'MB/s', default: 100, source: 'workload: producer payload before compression' },
  { key: 'compressionRatio', flag: 'compression-ratio', unit: 'x', default: 4, source: 'workload: typical zstd/lz4 ratio on JSON/log events' },
  { key: 'readFanout', flag: 'read-fanout', unit: 'x', default: 3, source: 'workload: consumer groups reading every byte' },
  { key: 'retentionHours', flag: 'retention-hours', unit: 'h', default: 168, source: 'workload: Kafka default log.retention.hours (7 days)' },
  { key: 'azCount', flag: 'az-count', unit: 'AZs', default: 3, source: 'a region\'s usual three availability zones' },
  { key: 'laggingReadFraction', flag: 'lagging-read-fraction', unit: '0..1', default: 0.05, source: 'workload: share of reads not served from memory' },
  { key: 'brokerMBps', flag: 'broker-mbps', unit: 'MB/s', default: 100, source: 'about half of m6i.xlarge baseline network (1.56 Gbit/s = 195 MB/s), for headroom' },
  { key: 'instanceHourly', flag: 'instance-hourly', unit: '$/h', default: 0.192, source: 'AWS EC2 m6i.xlarge on-demand, us-east-1' },
  { key: 'diskFillMax', flag: 'disk-fill-max', unit: '0..1', default: 0.7, source: 'operations practice: keep Kafka volumes below 70 % full' },
  { key: 'crossAzPerGB', flag: 'cross-az-per-gb', unit: '$/GB', default: 0.02, source: 'AWS inter-AZ transfer: $0.01/GB out + $0.01/GB in' },
  { key: 'ebsPerGBMonth', flag: 'ebs-per-gb-month', unit: '$/GB-month', default: 0.08, source: 'AWS EBS gp3, us-east-1' },
  { key: 's3PerGBMonth', flag: 's3-per-gb-month', unit: '$/GB-month', default: 0.023, source: 'AWS S3 Standard, first 50 TB, us-east-1' },
  { key: 's3PutPer1000', flag: 's3-put-per-1000', unit: '$', default: 0.005, source: 'AWS S3 Standard PUT/COPY/POST/LIST per 1,000' },
  { key: 's3GetPer1000', flag: 's3-get-per-1000', unit: '$', default: 0.0004, source: 'AWS S3 Standard GET/SELECT per 1,000' },
  { key: 'replicationFactor', flag: 'replication-factor', unit: 'copies', default: 3, source: 'Kafka: the usual RF=3 across three AZs' },
  { key: 'kafkaLocalRetentionHours', flag: 'kafka-local-retention-hours', unit: 'h', default: 24, source: 'tiered Kafka: local.retention.ms of one day' },
  { key: 'kafkaSegmentBytes', flag: 'kafka-segment-bytes', unit: 'bytes', default: 1024 * MiB, source: 'Kafka default log.segment.bytes (1 GiB)' },
  { key: 'kafkaFollowerFetching', flag: 'kafka-follower-fetching', unit: 'bool', default: false, source: 'KIP-392 off by default (needs client.rack on every consumer)' },
  { key: 'uploadIntervalSec', flag: 'upload-interval-sec', unit: 's', default: 5, source: 'Ferry default upload.interval.ms' },
  { key: 'uploadMaxBytes', flag: 'upload-max-bytes', unit: 'bytes', default: 64 * MiB, source: 'Ferry default upload.max.bytes' },
  { key: 'walVolumeGB', flag: 'wal-volume-gb', unit: 'GB', default: 16, source: 'Ferry: the WAL volume per broker (wal.capacity 2 GiB plus room)' },
  { key: 'compactionRewrites', flag: 'compaction-rewrites', unit: 'x', default: 1, source: 'Ferry: each byte compacted once into a stream object' },
  { key: 's3PartBytes', flag: 's3-part-bytes', unit: 'bytes', default: 16 * MiB, source: 'Ferry: multipart part size of compaction writes' },
  { key: 's3GetBytes', flag: 's3-get-bytes', unit: 'bytes', default: 4 * MiB, source: 'Ferry: ranged GET size with block-cache readahead' },
];

export function defaultInputs(): CostInputs {
  return Object.fromEntries(INPUT_SPECS.map((s) => [s.key, s.default])) as unknown as CostInputs;
}
