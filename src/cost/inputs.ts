/**
 * Inputs of the cost model: the workload and the cloud's prices, every one with a default and
 * where the default comes from (docs/cost-model.md prints this table). Prices are AWS us-east-1
 * on-demand list prices (see PRICES_AS_OF); change them with flags for another region or cloud.
 */
export type RemoteReadMode = 'tail' | 'uploaded-only' | 'leader';
export const REMOTE_READ_MODES: readonly RemoteReadMode[] = ['tail', 'uploaded-only', 'leader'];

/** Which prices the defaults are, and when they were set (re-check the pages named in docs/cost-model.md). */
export const PRICES_AS_OF = 'AWS us-east-1 on-demand list prices, defaults set December 2026';

export interface CostInputs {
  // Workload
  /** Producer payload before compression, MB/s (1 MB = 10^6 bytes). */
  writeMBps: number;
  /** Uncompressed / compressed bytes. Disks and S3 always carry compressed batches. */
  compressionRatio: number;
  /**
   * Producers compress (Kafka's usual path): the wire carries payload / compressionRatio. False:
   * network bytes count at the payload rate and only what is stored is compressed (the
   * convention of AutoMQ's published tables; see docs/cost-model.md).
   */
  compressedOnWire: boolean;
  /** How many times each byte is read (consumer groups reading everything). */
  readFanout: number;
  retentionHours: number;
  azCount: number;
  /** Share of reads that miss the brokers' memory (lagging consumers, replays) and go to S3 (Ferry, tiered Kafka) or disk. */
  laggingReadFraction: number;
  /** Consumers set client.rack: Kafka KIP-392 follower fetching, rack-aware reads, Ferry read replicas. */
  fetchFromFollower: boolean;
  hoursPerMonth: number;
  // Sizing
  /** Usable network per broker, in + out, MB/s (sizes the fleet). */
  brokerMBps: number;
  /** 0: size every fleet by network; N: every mode runs N brokers in each AZ. */
  brokersPerZone: number;
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
  // Ferry (and AutoMQ-style block WAL: the same upload and compaction model)
  uploadIntervalSec: number;
  uploadMaxBytes: number;
  walVolumeGB: number;
  /** Times each byte is rewritten by compaction (stream-set -> stream objects). */
  compactionRewrites: number;
  /** Bytes per S3 PUT part when compaction writes (multipart) and per ranged GET. */
  s3PartBytes: number;
  s3GetBytes: number;
  // Ferry zones (ferry.produce.routing=zone-local, ferry.remote.read.mode)
  /** ferry.proxy.linger.ms: a zone-local proxy PUTs one staging object per window. */
  proxyLingerMs: number;
  /** ferry.proxy.buffer.bytes: a proxy also PUTs when it has gathered this much. */
  proxyBufferBytes: number;
  /** Default ferry.remote.read.mode of the Ferry modes (a mode may name its own: ferry-leader:uploaded-only). */
  remoteReadMode: RemoteReadMode;
  /** Bytes per GET a read replica makes of uploaded data (object data blocks). */
  blockBytes: number;
  /** Bytes of one FerryProxyProduce request plus its answer: the part of zone-local produce that still crosses AZs. */
  proxyRequestBytes: number;
}

export interface InputSpec {
  key: keyof CostInputs;
  flag: string;
  unit: string;
  default: number | boolean | string;
  /** Only for string inputs: the values accepted. */
  choices?: readonly string[];
  /** Other spellings of the flag (full, with dashes). */
  aliases?: string[];
  source: string;
}

const MiB = 1024 * 1024;

export const INPUT_SPECS: InputSpec[] = [
  { key: 'writeMBps', flag: 'write-mbps', unit: 'MB/s', default: 100, source: 'workload: producer payload before compression (or --in RATE)' },
  { key: 'compressionRatio', flag: 'compression-ratio', unit: 'x', default: 4, aliases: ['--compression'], source: 'workload: typical zstd/lz4 ratio on JSON/log events' },
  { key: 'compressedOnWire', flag: 'compressed-on-wire', unit: 'bool', default: true, source: 'producers compress, so every network byte is compressed too' },
  { key: 'readFanout', flag: 'read-fanout', unit: 'x', default: 3, source: 'workload: consumer groups reading every byte (or --out RATE)' },
  { key: 'retentionHours', flag: 'retention-hours', unit: 'h', default: 168, source: 'workload: Kafka default log.retention.hours (7 days; or --retention 7d)' },
  { key: 'azCount', flag: 'az-count', unit: 'AZs', default: 3, source: 'a region\'s usual three availability zones' },
  { key: 'laggingReadFraction', flag: 'lagging-read-fraction', unit: '0..1', default: 0.05, source: 'workload: share of reads not served from memory' },
  { key: 'fetchFromFollower', flag: 'fetch-from-follower', unit: 'bool', default: false, aliases: ['--kafka-follower-fetching'], source: 'off by default: needs client.rack on every consumer' },
  { key: 'hoursPerMonth', flag: 'hours-per-month', unit: 'h', default: 730, source: 'AWS bills a month as 730 hours' },
  { key: 'brokerMBps', flag: 'broker-mbps', unit: 'MB/s', default: 100, source: 'about half of m6i.xlarge baseline network (1.56 Gbit/s = 195 MB/s), for headroom' },
  { key: 'brokersPerZone', flag: 'brokers-per-zone', unit: 'brokers', default: 0, source: '0: size each fleet by network (broker-mbps)' },
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
  { key: 'uploadIntervalSec', flag: 'upload-interval-sec', unit: 's', default: 5, source: 'Ferry default upload.interval.ms' },
  { key: 'uploadMaxBytes', flag: 'upload-max-bytes', unit: 'bytes', default: 64 * MiB, source: 'Ferry default upload.max.bytes' },
  { key: 'walVolumeGB', flag: 'wal-volume-gb', unit: 'GB', default: 16, source: 'Ferry: the WAL volume per broker (wal.capacity 2 GiB plus room)' },
  { key: 'compactionRewrites', flag: 'compaction-rewrites', unit: 'x', default: 1, source: 'Ferry: each byte compacted once into a stream object' },
  { key: 's3PartBytes', flag: 's3-part-bytes', unit: 'bytes', default: 16 * MiB, source: 'Ferry: multipart part size of compaction writes' },
  { key: 's3GetBytes', flag: 's3-get-bytes', unit: 'bytes', default: 4 * MiB, source: 'Ferry: ranged GET size with block-cache readahead' },
  { key: 'proxyLingerMs', flag: 'linger-ms', unit: 'ms', default: 50, source: 'Ferry default ferry.proxy.linger.ms' },
  { key: 'proxyBufferBytes', flag: 'proxy-buffer-bytes', unit: 'bytes', default: 8 * MiB, source: 'Ferry default ferry.proxy.buffer.bytes' },
  { key: 'remoteReadMode', flag: 'remote-read-mode', unit: 'mode', default: 'tail', choices: REMOTE_READ_MODES, source: 'Ferry default ferry.remote.read.mode' },
  { key: 'blockBytes', flag: 'block-bytes', unit: 'bytes', default: 512 * 1024, source: 'Ferry: object data block and first readahead window (512 KiB)' },
  { key: 'proxyRequestBytes', flag: 'proxy-request-bytes', unit: 'bytes', default: 300, source: 'estimate: FerryProxyProduce request (object key, ranges) and answer' },
];

export function defaultInputs(): CostInputs {
  return Object.fromEntries(INPUT_SPECS.map((s) => [s.key, s.default])) as unknown as CostInputs;
}
