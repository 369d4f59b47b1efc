// Claiming a WAL volume in the metadata store (volumes/<volumeId>/owner, failover-records.ts).
//
// A broker claims its own volume at start; a takeover claims a dead broker's volume. A claim is one
// transaction comparing the owner record's modRevision, and raises the epoch by one, so of two
// claimants exactly one wins and epochs never go backwards. The claimant opens the WAL at that
// epoch (the WAL refuses a lower one) and compares the record's new modRevision in every upload
// commit: a broker whose volume was taken over can neither append (WAL epoch) nor commit.
//
// API: claimVolume(store, keys, claim, { expectRevision?, alsoCompare?, alsoDo? }) -> VolumeClaim; markVolumeStarted(store, claim)
//      readVolumeOwner(store, keys, volumeId); ownerCompare(claim) -> Compare
//      VolumeClaimError (code VOLUME_CLAIMED: someone else claimed it first)

import { decodeVolumeOwner, type VolumeOwnerRecord } from '../cluster/failover-records.js';
import { encodeJson, type Compare, type MetadataStore, type Op } from '../cluster/metadata-store.js';
import type { MetadataKeys } from '../cluster/metadata-keys.js';

export interface VolumeClaim {
  key: string;
  owner: VolumeOwnerRecord;
  /** The owner record's modRevision after the claim: compared by every commit of the claimant (markVolumeStarted moves it). */
  modRevision: number;
  /** The record before the claim (null: first claim ever). */
  previous: VolumeOwnerRecord | null;
}

export class VolumeClaimError extends Error {
  readonly code = 'VOLUME_CLAIMED';
  constructor(readonly volumeId: string, readonly current: VolumeOwnerRecord | null, message: string) {
    super(message);
    this.name = 'VolumeClaimError';
  }
}

export async function readVolumeOwner(store: MetadataStore, keys: MetadataKeys, volumeId: string): Promise<{ owner: VolumeOwnerRecord; modRevision: number } | null> {
  const kv = await store.get(keys.volumeOwner(volumeId));
  return kv ? { owner: decodeVolumeOwner(kv), modRevision: kv.modRevision } : null;
}

/**
 * Claim `volumeId` for `brokerId`. With expectRevision the claim only succeeds if the record is
 * still at that revision (a takeover must not overrule a broker that came back and re-claimed);
 * without it a lost race re-reads and tries again (a broker claiming its own volume at start).
 */
export async function claimVolume(
  store: MetadataStore, keys: MetadataKeys,
  claim: { volumeId: string; brokerId: number; instanceId: string | null; rack: string | null; homeBrokerId: number; starting?: boolean },
  options: { expectRevision?: number; minEpoch?: number; alsoCompare?: Compare[]; alsoDo?: Op[]; attemptsMax?: number } = {},
): Promise<VolumeClaim> {
  const key = keys.volumeOwner(claim.volumeId);
  const attemptsMax = options.attemptsMax ?? 16;
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    const cur = await readVolumeOwner(store, keys, claim.volumeId);
    if (options.expectRevision !== undefined && (cur?.modRevision ?? 0) !== options.expectRevision) {
      throw new VolumeClaimError(claim.volumeId, cur?.owner ?? null,
        `volume ${claim.volumeId} was claimed meanwhile by broker ${cur?.owner.brokerId ?? '?'} (epoch ${cur?.owner.epoch ?? '?'}); not taking it over`);
    }
    const epoch = Math.max(cur ? cur.owner.epoch + 1 : 1, options.minEpoch ?? 1);
    const owner: VolumeOwnerRecord = {
      volumeId: claim.volumeId, brokerId: claim.brokerId, instanceId: claim.instanceId,
      rack: claim.rack ?? cur?.owner.rack ?? null, homeBrokerId: claim.homeBrokerId, epoch, claimedMs: Date.now(),
      ...(claim.starting ? { starting: true } : {}),
    };
    const r = await store.txn(
      [cur ? { key, target: 'modRevision', op: '==', value: cur.modRevision } : { key, target: 'createRevision', op: '==', value: 0 }, ...(options.alsoCompare ?? [])],
      [{ type: 'put', key, value: encodeJson(owner) }, ...(options.alsoDo ?? [])],
    );
    if (r.succeeded) return { key, owner, modRevision: r.revision, previous: cur?.owner ?? null };
  }
  throw new VolumeClaimError(claim.volumeId, null, `volume ${claim.volumeId}: the claim lost its race ${attemptsMax} times in a row`);
}

/**
 * The broker that claimed its own volume with starting=true is serving now (registered): clear
 * the flag, so its death is failed over at once. Updates claim.modRevision (commits compare it).
 */
export async function markVolumeStarted(store: MetadataStore, claim: VolumeClaim): Promise<boolean> {
  const owner: VolumeOwnerRecord = { ...claim.owner };
  delete owner.starting;
  const r = await store.txn([{ key: claim.key, target: 'modRevision', op: '==', value: claim.modRevision }], [{ type: 'put', key: claim.key, value: encodeJson(owner) }]);
  if (!r.succeeded) return false;
  claim.owner = owner;
  claim.modRevision = r.revision;
  return true;
}

/** The compare that keeps a claimant's commits valid only while its claim stands. */
export function ownerCompare(claim: VolumeClaim): Compare {
  return { key: claim.key, target: 'modRevision', op: '==', value: claim.modRevision };
}
