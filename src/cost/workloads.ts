/**
 * Named workloads for `ferry cost --workload NAME`. Flags given on the command line override a
 * workload's values.
 *
 * seed: the workload of the cost table issue #15 starts from (AutoMQ's comparison): 1 GB/s
 * produced, 3 GB/s consumed, 4:1 compression, 7 days of retention, consumers with client.rack
 * (fetch from follower), compared as Kafka RF=3, AutoMQ-style block WAL, Ferry leader-routed and
 * Ferry zone-local (with both read modes that keep consumers in their AZ).
 */
import type { CostInputs } from './inputs.js';

export interface NamedWorkload {
  description: string;
  inputs: Partial<CostInputs>;
  modes: string;
}

export const WORKLOADS: Record<string, NamedWorkload> = {
  seed: {
    description: '1 GB/s in, 3 GB/s out, 4:1 compression, 7 days, fetch from follower',
    inputs: { writeMBps: 1000, readFanout: 3, compressionRatio: 4, retentionHours: 168, fetchFromFollower: true },
    modes: 'kafka,block-wal,ferry-leader,ferry-zone-local,ferry-zone-local:uploaded-only',
  },
};
