// The remount controller's failover records (src/cluster/failover-records.ts), as the drill reports
// them: each phase time relative to the fault (t0), for the victims' failovers that began with it.
import { listFailovers, type FailoverPhase, type FailoverRecord, type FailoverReplayStats, type MetadataKeys, type MetadataStore } from '../cluster/index.js';

export const FAILOVER_TIME_KEYS = ['detected', 'detached', 'attached', 'fenced', 'replayed', 'released', 'done'] as const;
export type FailoverTimeKey = (typeof FAILOVER_TIME_KEYS)[number];

/** A record detected this long before t0 still belongs to the fault (clocks of two machines). */
export const DETECTED_BEFORE_T0_SLACK_MS = 1000;

export interface FailoverObservation {
  id: string;
  brokerId: number;
  volumeId: string;
  phase: FailoverPhase;
  target: number | null;
  fromRack: string | null;
  targetRack: string | null;
  /** ms after t0 each phase was reached (null: not reached). */
  afterT0Ms: Record<FailoverTimeKey, number | null>;
  replay: FailoverReplayStats | null;
  error: string | null;
}

export function observeFailover(r: FailoverRecord, t0: number): FailoverObservation {
  const afterT0Ms = {} as Record<FailoverTimeKey, number | null>;
  for (const k of FAILOVER_TIME_KEYS) {
    const v = r.times[k];
    afterT0Ms[k] = typeof v === 'number' && Number.isFinite(v) ? Math.round(v - t0) : null;
  }
  return {
    id: r.id, brokerId: r.brokerId, volumeId: r.volumeId, phase: r.phase, target: r.target, fromRack: r.fromRack, targetRack: r.targetRack,
    afterT0Ms, replay: r.replay ?? null, error: r.error ?? null,
  };
}

/** The victims' failover records that started with this fault (detected at or after t0 − slack). */
export async function readFailovers(store: Pick<MetadataStore, 'list'>, keys: MetadataKeys, victims: readonly number[], t0: number): Promise<FailoverObservation[]> {
  const records = await listFailovers(store as MetadataStore, keys);
  return records
    .filter((r) => victims.includes(r.brokerId) && typeof r.times?.detected === 'number' && r.times.detected >= t0 - DETECTED_BEFORE_T0_SLACK_MS)
    .sort((a, b) => a.brokerId - b.brokerId)
    .map((r) => observeFailover(r, t0));
}

export const failoverSettled = (o: FailoverObservation) => o.phase === 'done' || o.phase === 'failed';
