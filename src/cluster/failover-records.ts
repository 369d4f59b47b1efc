// The failover state in the metadata store (DESIGN §5–6), shared by the remount controller, the
// broker that replays a dead broker's WAL, a restarting broker, and `ferry drill`.
//
//   volumes/<volumeId>/owner  VolumeOwnerRecord: the broker that may write the volume's WAL and its
//                             epoch (only grows). A broker claims it at start; a takeover claims it
//                             with epoch + 1. Every upload commit of the holder compares the record's
//                             modRevision, so a fenced holder (a zombie) cannot commit.
//   failovers/<brokerId>      FailoverRecord: the last failover of that broker's volume. Phases, in
//                             order (each written by a guarded transaction on the record's modRevision):
//
//     detected    the controller saw the lease gone and the volume still owned by the dead broker
//     moving      target chosen; the controller detaches the volume (force) and attaches it to the target
//     replaying   attached to the target; the target fences (owner + WAL epoch), replays into S3, trims
//     releasing   the target closed the WAL; the controller detaches the volume from it
//     done        the volume is free; the controller moves the partitions (epoch + 1)
//     failed      gave up (error says why); a later reconcile starts over with a new record
//
// The record keeps the wall-clock time each phase was reached, so the drill can report
// detection → attached → replayed → released without access to the brokers' logs.

import { decodeJson, encodeJson, type KeyValue, type MetadataStore } from './metadata-store.js';
import type { MetadataKeys } from './metadata-keys.js';

export interface VolumeOwnerRecord {
  volumeId: string;
  /** The broker that writes the WAL (its own broker, or the one replaying it after a failover). */
  brokerId: number;
  instanceId: string | null;
  /** The rack (AZ) of the volume's own broker: where its failover should prefer to go. */
  rack: string | null;
  /** The broker whose volume this is (broker-id tag); differs from brokerId during a takeover. */
  homeBrokerId: number;
  epoch: number;
  /** Wall clock of the claim. */
  claimedMs?: number;
  /**
   * The home broker claimed it and is still starting (WAL recovery, not registered yet): the
   * controller does not fail a starting broker over (it is coming back) for a grace period.
   */
  starting?: boolean;
}

export const FAILOVER_PHASES = ['detected', 'moving', 'replaying', 'releasing', 'done', 'failed'] as const;
export type FailoverPhase = (typeof FAILOVER_PHASES)[number];

export interface FailoverTimes {
  /** Lease found gone (the controller's clock, ms since epoch). */
  detected: number;
  /** Detached from the dead instance. */
  detached?: number;
  /** Attached to the target. */
  attached?: number;
  /** Target fenced the WAL (owner record and WAL header at the new epoch). */
  fenced?: number;
  /** Every WAL record after the trim point committed to S3 and the WAL trimmed. */
  replayed?: number;
  /** Detached from the target again. */
  released?: number;
  done?: number;
}

export interface FailoverReplayStats {
  records: number;
  batches: number;
  bytes: number;
  partitions: number;
  /** Batches already in S3 (uploaded before the crash, WAL not yet trimmed). */
  skippedBatches: number;
}

export interface FailoverRecord {
  /** `<brokerId>-<detected ms>`: one failover. */
  id: string;
  brokerId: number;
  volumeId: string;
  fromInstance: string | null;
  fromRack: string | null;
  /** The owner record's modRevision when detected: the target's claim compares it. */
  ownerRevision: number;
  target: number | null;
  targetInstance: string | null;
  targetRack: string | null;
  phase: FailoverPhase;
  times: FailoverTimes;
  replay?: FailoverReplayStats;
  error?: string;
  /** The controller that last drove it. */
  controller: number;
}

export function isActivePhase(p: FailoverPhase): boolean {
  return p !== 'done' && p !== 'failed';
}

export function decodeFailover(kv: KeyValue): FailoverRecord {
  const r = decodeJson<FailoverRecord>(kv.value, kv.key);
  if (!FAILOVER_PHASES.includes(r.phase) || !Number.isInteger(r.brokerId) || typeof r.volumeId !== 'string') {
    throw new Error(`malformed failover record at ${kv.key}`);
  }
  return r;
}

export function decodeVolumeOwner(kv: KeyValue): VolumeOwnerRecord {
  const r = decodeJson<VolumeOwnerRecord>(kv.value, kv.key);
  if (!Number.isInteger(r.brokerId) || !Number.isInteger(r.epoch) || r.epoch < 1) throw new Error(`malformed volume owner record at ${kv.key}`);
  return r;
}

export { encodeJson as encodeFailoverValue };

/** Every failover record (the drill and `ferry cluster describe` read these). */
export async function listFailovers(store: MetadataStore, keys: MetadataKeys): Promise<FailoverRecord[]> {
  return (await store.list(keys.failoversPrefix())).map(decodeFailover);
}

/** Every volume owner record. */
export async function listVolumeOwners(store: MetadataStore, keys: MetadataKeys): Promise<{ owner: VolumeOwnerRecord; modRevision: number }[]> {
  const out: { owner: VolumeOwnerRecord; modRevision: number }[] = [];
  for (const kv of await store.list(keys.volumesPrefix())) {
    if (kv.key.endsWith('/owner')) out.push({ owner: decodeVolumeOwner(kv), modRevision: kv.modRevision });
  }
  return out;
}
