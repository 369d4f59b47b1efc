// The drill report: everything `ferry drill --json` writes, what the text summary and the SVG draw.
// Times ending in "Ms" under a cycle are relative to that cycle's t0 (the kill command returned)
// unless named "...AtMs", which are relative to the run's start.
import type { BrokerTarget, CommandRun } from './commands.js';
import type { FailoverObservation } from './failovers.js';
import type { Summary, TimelinePoint } from './measure.js';
import type { LostSample, DuplicateSample } from './verify.js';

export const SCENARIOS = ['kill-broker', 'kill-rack', 'pause-broker', 'etcd-leader-loss', 'kill-proxy'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface PartitionOutcome {
  partition: number;
  leaderBefore: number;
  /** Leader in Metadata when the cycle ended. */
  leaderAfter: number;
  affected: boolean;
  /** t0 → first acks=all probe write (sent straight to the leader, short timeouts) that succeeded: the cluster's recovery. Null: never. */
  writableMs: number | null;
  /** t0 → first ack of a workload (kafkajs) send started after t0: what a client saw, retry policy included. Null: never. */
  clientWritableMs: number | null;
  /** Longest time in the cycle (t0 to its end) without a workload ack: the outage, wherever in the cycle it fell. Null: no ack at all. */
  maxAckGapMs: number | null;
  /** With --client-zone: the leader Metadata names to the zone's clients (the proxy of a zone-local topic) at the fault and at the end; null without. */
  zoneLeaderBefore?: number | null;
  zoneLeaderAfter?: number | null;
}

/** With --client-zone: where the workload runs and how the topic routes it. */
export interface ZoneSettings {
  /** The workload's zone: its client ids carry ferry_az=<zone>, the read-back sets Fetch's rackId. */
  clientZone: string;
  /** The topic's ferry.produce.routing and ferry.remote.read.mode (DescribeConfigs; null: not reported). */
  routing: string | null;
  readMode: string | null;
  /** --topic-config, applied when the drill created the topic. */
  topicConfigs: Record<string, string>;
  /** Per partition at the start: the real leader and the broker the zone's clients are told leads it. */
  leaders: Array<{ partition: number; leader: number; zoneLeader: number }>;
  /** Partitions the read-back fetched from a read replica (following preferredReadReplica), by broker. */
  readFrom: Record<number, number>;
  /** The leader of each partition when the read-back read it (the cluster may have moved partitions since the start). */
  readLeaders: Record<number, number>;
}

export interface CycleReport {
  cycle: number;
  scenario: Scenario;
  victims: BrokerTarget[];
  rack: string | null;
  /** Run-relative: the fault command started, and t0 (it returned). */
  faultAtMs: number;
  t0AtMs: number;
  /** Wall clock of t0 (ms since the epoch), to line up with logs and etcd records. */
  t0EpochMs: number;
  endAtMs: number;
  restartedBeforeWritable: boolean;
  partitions: PartitionOutcome[];
  writableAffectedMs: Summary;
  /** The same for the workload client (kafkajs). */
  clientWritableAffectedMs: Summary;
  writableAllMs: Summary;
  notWritable: number[];
  /** null when etcd was not given; see failoverNote. */
  failovers: FailoverObservation[] | null;
  failoverNote: string | null;
  leaderChanges: Array<{ atMs: number; partition: number; from: number; to: number; leaderEpoch: number }>;
  /** Run-relative times of the restart (or SIGCONT) and of the victims being listed again. */
  recoveredAtMs: number | null;
  backInMetadataMs: number | null;
  commands: CommandRun[];
  sends: { sent: number; acked: number; failed: number; pending: number };
  latencyMs: Summary;
  ackedLost: number;
  duplicates: number;
  unackedPresent: number;
  failures: string[];
  passed: boolean;
}

export interface DrillTotals {
  cycles: number;
  passedCycles: number;
  sent: number;
  acked: number;
  failed: number;
  pending: number;
  ackedLost: number;
  duplicates: number;
  unackedPresent: number;
  writableAffectedMs: Summary;
  clientWritableAffectedMs: Summary;
  detectedMs: Summary;
  attachedMs: Summary;
  replayedMs: Summary;
  doneMs: Summary;
  failoversFailed: number;
  replayRecords: number;
  replayBytes: number;
  latencyMs: Summary;
}

export interface DrillReport {
  version: 1;
  runId: string;
  scenario: Scenario;
  topic: string;
  partitions: number;
  bootstrap: string[];
  startedAt: string;
  durationMs: number;
  settings: Record<string, unknown>;
  cycles: CycleReport[];
  totals: DrillTotals;
  verify: {
    recordsRead: number;
    foreignRecords: number;
    corruptRecords: number;
    misplacedRecords: number;
    lostSamples: LostSample[];
    duplicateSamples: DuplicateSample[];
    logStart: Record<number, number>;
    highWatermark: Record<number, number>;
    unsettledSends: boolean;
    error: string | null;
  };
  /** Sends that failed after kafkajs's retries, by error name; kafkajs warnings by message. */
  sendErrors: Record<string, number>;
  clientLog: Record<string, number>;
  etcd: { endpoints: string[]; cluster: string } | null;
  /** Null (or absent, in reports of earlier versions) without --client-zone. */
  zone?: ZoneSettings | null;
  metadataPollErrors: number;
  timeline: {
    bucketMs: number;
    /** [bucket start (run-relative ms), p50 latency, max latency, acks, failed sends]. */
    points: TimelinePoint[];
    /** [run-relative ms, partition, error type] (bounded). */
    errors: Array<[number, number, string]>;
  };
  failures: string[];
  passed: boolean;
}
