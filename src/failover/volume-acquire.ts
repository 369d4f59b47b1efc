// A broker with volume.id getting its own WAL volume at start (DESIGN §6):
//
//   1. while a failover of this broker is in progress (failovers/<id> in an active phase), wait:
//      another broker is replaying this volume's WAL into S3, and writing to it now would race it;
//      a failover still in "detected" (nothing moved: no target yet, e.g. no live broker in this
//      zone) is ended instead, in the same transaction that claims the volume back;
//   2. attach the volume to this instance (a volume still attached to the takeover broker is
//      waited for: it is released once the replay is committed);
//   3. claim the owner record (epoch + 1, starting=true until the broker registers) and open the
//      WAL at devicePath with that epoch.
//
// A volume that was taken over comes back trimmed (everything in it is in S3), so the broker
// starts empty; its partitions have new leaders by then.
//
// API: acquireOwnVolume(options) -> { walPath, lockPath, claim }

import type { Logger } from 'pino';
import { decodeFailover, isActivePhase } from '../cluster/failover-records.js';
import type { MetadataKeys } from '../cluster/metadata-keys.js';
import type { MetadataStore } from '../cluster/metadata-store.js';
import { claimVolume, VolumeClaimError, type VolumeClaim } from './volume-owner.js';
import { encodeJson } from '../cluster/metadata-store.js';
import { VolumeInUseError, VolumeProviderError, isRetriableVolumeError, type VolumeProvider } from './volume-provider.js';
import { LocalVolumeProvider } from './local-volume-provider.js';

export interface AcquireOwnVolumeOptions {
  store: MetadataStore;
  keys: MetadataKeys;
  provider: VolumeProvider;
  volumeId: string;
  instanceId: string;
  brokerId: number;
  rack: string | null;
  attachTimeoutMs: number;
  /** Give up after this long (a takeover that never finishes needs an operator). Default 10 min. */
  waitMaxMs?: number;
  log: Logger;
}

export interface OwnVolume {
  walPath: string;
  /** Where the WAL's flock goes (the local provider: one lock file per instance). */
  lockPath: string | undefined;
  claim: VolumeClaim;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function acquireOwnVolume(o: AcquireOwnVolumeOptions): Promise<OwnVolume> {
  const deadline = Date.now() + (o.waitMaxMs ?? 600_000);
  let logged = '';
  const note = (what: string, fields: object) => {
    if (what !== logged) o.log.warn(fields, what);
    logged = what;
  };
  for (;;) {
    if (Date.now() > deadline) throw new VolumeProviderError('VOLUME_TIMEOUT', `volume ${o.volumeId}: still not ours after ${o.waitMaxMs ?? 600_000} ms`);
    const fkv = await o.store.get(o.keys.failover(o.brokerId));
    const failover = fkv ? decodeFailover(fkv) : null;
    if (failover && failover.phase === 'detected') {
      // Declared dead, but nothing moved yet (e.g. no broker in this zone could take the volume):
      // take it back and end that failover in one transaction; the controller then sees us return.
      try {
        await o.provider.attach(o.volumeId, o.instanceId);
        await o.provider.waitAttached(o.volumeId, o.instanceId, { timeoutMs: o.attachTimeoutMs });
        const ended = { ...failover, phase: 'failed' as const, error: `broker ${o.brokerId} came back before its volume was moved` };
        const claim = await claimVolume(o.store, o.keys, { volumeId: o.volumeId, brokerId: o.brokerId, instanceId: o.instanceId, rack: o.rack, homeBrokerId: o.brokerId, starting: true }, {
          attemptsMax: 1,
          alsoCompare: [{ key: fkv!.key, target: 'modRevision', op: '==', value: fkv!.modRevision }],
          alsoDo: [{ type: 'put', key: fkv!.key, value: encodeJson(ended) }],
        });
        o.log.warn({ volumeId: o.volumeId, failover: failover.id, epoch: claim.owner.epoch }, 'this broker was declared dead but its volume had not moved yet: took it back, failover ended');
        return own(claim);
      } catch (err) {
        if (!(err instanceof VolumeClaimError || err instanceof VolumeInUseError || isRetriableVolumeError(err))) throw err;
        await sleep(100);
        continue; // the failover moved on meanwhile: decide again
      }
    }
    if (failover && isActivePhase(failover.phase)) {
      note('volume is being taken over after this broker was declared dead; waiting until the replay is committed', { volumeId: o.volumeId, failover: failover.id, phase: failover.phase, target: failover.target });
      await sleep(250);
      continue;
    }
    try {
      await o.provider.attach(o.volumeId, o.instanceId);
      await o.provider.waitAttached(o.volumeId, o.instanceId, { timeoutMs: o.attachTimeoutMs });
    } catch (err) {
      if (err instanceof VolumeInUseError || isRetriableVolumeError(err)) {
        note('volume is attached elsewhere; waiting for it to be released', { volumeId: o.volumeId, err: (err as Error).message });
        await sleep(250);
        continue;
      }
      throw err;
    }
    // starting=true until registered (markVolumeStarted): the controller does not fail over a
    // broker that is coming back. A failover that started before this claim compares the owner
    // revision it saw, so its takeover fails.
    const claim = await claimVolume(o.store, o.keys, { volumeId: o.volumeId, brokerId: o.brokerId, instanceId: o.instanceId, rack: o.rack, homeBrokerId: o.brokerId, starting: true });
    return own(claim);
  }

  async function own(claim: VolumeClaim): Promise<OwnVolume> {
    const walPath = await o.provider.devicePath(o.volumeId, o.instanceId);
    o.log.info({ volumeId: o.volumeId, instanceId: o.instanceId, epoch: claim.owner.epoch, previousOwner: claim.previous?.brokerId ?? null, walPath }, 'WAL volume attached and claimed');
    const lockPath = o.provider instanceof LocalVolumeProvider ? o.provider.lockPath(o.volumeId, o.instanceId) : undefined;
    return { walPath, lockPath, claim };
  }
}
