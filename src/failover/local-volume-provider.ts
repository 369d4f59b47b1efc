// The local volume provider: volumes are directories on this machine, attachments are records in
// the metadata store. Drills run with it on one machine: one process per broker, one rack per
// simulated AZ; every volume is reachable from every "instance", like a zone-redundant disk.
//
// Layout: <root>/<volumeId>/           the volume
//         <root>/<volumeId>/volume.json  {"zone": string|null, "tags": {...}} (createLocalVolume)
//         <root>/<volumeId>/ferry.wal    the WAL (devicePath)
// Attachment: MetadataKeys.volumeAttachment(volumeId) -> {"instanceId": string|null,
//   "generation": n, "changedMs": t, "forced"?: true}; generation counts attaches. Every change is
//   a transaction comparing the record's modRevision (or its absence), so of two attachers exactly
//   one wins and the other sees VolumeInUseError.
//
// Fencing on one machine (what a cloud's detach does, done by the WAL instead):
//   1. The attachment record: a broker opens its WAL only while describe() shows the volume
//      attached to its instance id; the takeover attaches before it opens.
//   2. flock: open the WAL with lockPath(volumeId, instanceId) (one lock file per instance, as if
//      each instance were its own host). Two processes of one instance exclude each other; a
//      SIGKILLed owner's lock is dropped by the kernel. A paused (SIGSTOP) owner keeps its lock,
//      which does not stop the takeover on "another host", exactly as a cloud zombie keeps its
//      mount until the forced detach lands.
//   3. The WAL header epoch: the takeover opens with a higher epoch (and fence()); the old writer
//      re-reads the header after each fdatasync and before writing after a pause, and
//      acknowledges nothing more. The metadata store's leader-epoch guard then refuses its commits.
//   A plain detach (force=false) refuses with VolumeBusyError while the owner's lock is held (the
//   owner is alive, like a cloud detach that waits for the OS); force skips that check.
//
// API: LocalVolumeProvider (implements VolumeProvider; plus lockPath()), createLocalVolume(root,
//      volumeId, { zone, tags }), LOCAL_WAL_FILE_NAME

import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileLockedError, lockFileExclusive } from '../cluster/file-lock.js';
import type { MetadataKeys } from '../cluster/metadata-keys.js';
import { decodeJson, encodeJson, type Compare, type KeyValue, type MetadataStore } from '../cluster/metadata-store.js';
import { pollUntil, realClock, type Clock } from './backoff.js';
import {
  FERRY_TAGS, VolumeBusyError, VolumeInUseError, VolumeNotAttachedError, VolumeNotFoundError, VolumeProviderError,
  VolumeTimeoutError, brokerIdOfTags,
  type AttachOptions, type DetachOptions, type DiscoverOptions, type VolumeInfo, type VolumeProvider, type WaitOptions,
} from './volume-provider.js';

export const LOCAL_WAL_FILE_NAME = 'ferry.wal';
const DESCRIPTOR = 'volume.json';
const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
/** A lost transaction race is re-read and decided again; more losses than this is a bug or a storm. */
const TXN_ATTEMPTS_MAX = 8;

export interface LocalVolumeProviderOptions {
  /** Directory holding one directory per volume. */
  root: string;
  store: MetadataStore;
  keys: MetadataKeys;
  /** File name of the WAL inside a volume directory. Default ferry.wal. */
  walFileName?: string;
  clock?: Clock;
}

interface AttachmentRecord {
  instanceId: string | null;
  generation: number;
  changedMs: number;
  forced?: boolean;
}

interface Descriptor {
  zone: string | null;
  tags: Record<string, string>;
}

function checkId(what: string, id: string): void {
  if (!ID_PATTERN.test(id) || id === '.' || id === '..') {
    throw new VolumeProviderError('VOLUME_BAD_ID', `${what} ${JSON.stringify(id)} is not 1-128 of A-Z a-z 0-9 . _ - (local volumes are directories)`);
  }
}

/** Creates a local volume (directory and descriptor); an existing one gets the new zone and tags. */
export async function createLocalVolume(root: string, volumeId: string, options: { zone?: string | null; tags?: Record<string, string> } = {}): Promise<string> {
  checkId('volume id', volumeId);
  const dir = join(root, volumeId);
  await mkdir(dir, { recursive: true });
  const descriptor: Descriptor = { zone: options.zone ?? null, tags: { ...(options.tags ?? {}) } };
  await writeFile(join(dir, DESCRIPTOR), JSON.stringify(descriptor) + '\n');
  return dir;
}

export class LocalVolumeProvider implements VolumeProvider {
  readonly kind = 'local' as const;
  readonly crossZone = true;
  private readonly walFileName: string;
  private readonly clock: Clock;

  constructor(private readonly options: LocalVolumeProviderOptions) {
    this.walFileName = options.walFileName ?? LOCAL_WAL_FILE_NAME;
    checkId('WAL file name', this.walFileName);
    this.clock = options.clock ?? realClock;
  }

  /** The WAL lock file for this instance (pass as the WAL's lockPath; see the header comment). */
  lockPath(volumeId: string, instanceId: string): string {
    checkId('volume id', volumeId);
    checkId('instance id', instanceId);
    return join(this.options.root, volumeId, `${this.walFileName}.${instanceId}.lock`);
  }

  async describe(volumeId: string): Promise<VolumeInfo> {
    checkId('volume id', volumeId);
    const descriptor = await this.readDescriptor(volumeId);
    const { record } = await this.readAttachment(volumeId);
    return this.info(volumeId, descriptor, record);
  }

  async attach(volumeId: string, instanceId: string, _options?: AttachOptions): Promise<void> {
    checkId('instance id', instanceId);
    await this.describe(volumeId); // exists?
    await this.change(volumeId, (record) => {
      if (record?.instanceId === instanceId) return null;
      if (record?.instanceId) throw new VolumeInUseError(volumeId, record.instanceId, `detach it from ${record.instanceId} first (force if that instance is dead)`);
      return { instanceId, generation: (record?.generation ?? 0) + 1, changedMs: this.clock.now() };
    });
  }

  async detach(volumeId: string, options: DetachOptions): Promise<void> {
    checkId('volume id', volumeId);
    if (options.instanceId !== undefined) checkId('instance id', options.instanceId);
    await this.change(volumeId, (record) => {
      const owner = record?.instanceId ?? null;
      if (owner === null) return null;
      if (options.instanceId !== undefined && owner !== options.instanceId) {
        throw new VolumeInUseError(volumeId, owner, `asked to detach it from ${options.instanceId}; leaving it attached`);
      }
      if (!options.force) this.checkNotLocked(volumeId, owner);
      return { instanceId: null, generation: record!.generation, changedMs: this.clock.now(), ...(options.force ? { forced: true } : {}) };
    });
  }

  async waitAttached(volumeId: string, instanceId: string, options: WaitOptions): Promise<VolumeInfo> {
    let last: VolumeInfo | null = null;
    const r = await pollUntil<VolumeInfo>(async () => {
      last = await this.describe(volumeId);
      if (last.attachedTo === instanceId) return { done: true, value: last };
      if (last.attachedTo !== null) throw new VolumeInUseError(volumeId, last.attachedTo, `waiting for it to attach to ${instanceId}`);
      return { done: false };
    }, options.timeoutMs, { baseDelayMs: 20, delayMsMax: 500, clock: this.clock });
    if (r.done) return r.value;
    throw new VolumeTimeoutError(volumeId, `attached to ${instanceId}`, options.timeoutMs, last);
  }

  async waitDetached(volumeId: string, options: WaitOptions): Promise<VolumeInfo> {
    let last: VolumeInfo | null = null;
    const r = await pollUntil<VolumeInfo>(async () => {
      last = await this.describe(volumeId);
      return last.state === 'available' ? { done: true, value: last } : { done: false };
    }, options.timeoutMs, { baseDelayMs: 20, delayMsMax: 500, clock: this.clock });
    if (r.done) return r.value;
    throw new VolumeTimeoutError(volumeId, 'available', options.timeoutMs, last);
  }

  async devicePath(volumeId: string, instanceId: string): Promise<string> {
    checkId('instance id', instanceId);
    const info = await this.describe(volumeId);
    if (info.attachedTo !== instanceId) {
      if (info.attachedTo !== null) throw new VolumeInUseError(volumeId, info.attachedTo, `not attached to ${instanceId}`);
      throw new VolumeNotAttachedError(volumeId, instanceId, info.rawState);
    }
    return join(this.options.root, volumeId, this.walFileName);
  }

  async discover(options: DiscoverOptions): Promise<VolumeInfo[]> {
    let names: string[];
    try {
      names = (await readdir(this.options.root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new VolumeProviderError('VOLUME_IO', `cannot list local volumes in ${this.options.root}: ${(err as Error).message}`, { cause: err });
    }
    const want: Record<string, string> = {
      [FERRY_TAGS.local.cluster]: options.clusterName,
      [FERRY_TAGS.local.role]: options.role ?? 'wal',
      ...(options.tags ?? {}),
    };
    const out: VolumeInfo[] = [];
    for (const name of names.sort()) {
      if (!ID_PATTERN.test(name)) continue;
      const info = await this.describe(name);
      if (Object.entries(want).every(([k, v]) => info.tags[k] === v)) out.push(info);
    }
    return out;
  }

  async close(): Promise<void> {
    // Nothing of its own: the metadata store belongs to the caller.
  }

  private info(volumeId: string, descriptor: Descriptor, record: AttachmentRecord | null): VolumeInfo {
    const attachedTo = record?.instanceId ?? null;
    return {
      volumeId,
      state: attachedTo === null ? 'available' : 'attached',
      attachedTo,
      zone: descriptor.zone,
      tags: descriptor.tags,
      rawState: attachedTo === null ? 'detached' : `attached (generation ${record!.generation})`,
      brokerId: brokerIdOfTags('local', descriptor.tags),
    };
  }

  private async readDescriptor(volumeId: string): Promise<Descriptor> {
    const dir = join(this.options.root, volumeId);
    try {
      const s = await stat(dir);
      if (!s.isDirectory()) throw new VolumeNotFoundError(volumeId, `${dir} is not a directory`);
    } catch (err) {
      if (err instanceof VolumeProviderError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new VolumeNotFoundError(volumeId, `no directory ${dir}`);
      throw new VolumeProviderError('VOLUME_IO', `cannot stat ${dir}: ${(err as Error).message}`, { cause: err });
    }
    let text: string;
    try {
      text = await readFile(join(dir, DESCRIPTOR), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { zone: null, tags: {} };
      throw new VolumeProviderError('VOLUME_IO', `cannot read ${join(dir, DESCRIPTOR)}: ${(err as Error).message}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new VolumeProviderError('VOLUME_BAD_DESCRIPTOR', `${join(dir, DESCRIPTOR)} is not JSON: ${(err as Error).message}`);
    }
    const d = parsed as Partial<Descriptor>;
    const tagsOk = typeof d.tags === 'object' && d.tags !== null && Object.values(d.tags).every((v) => typeof v === 'string');
    if (!(d.zone === null || d.zone === undefined || typeof d.zone === 'string') || (d.tags !== undefined && !tagsOk)) {
      throw new VolumeProviderError('VOLUME_BAD_DESCRIPTOR', `${join(dir, DESCRIPTOR)}: expected {"zone": string|null, "tags": {string: string}}`);
    }
    return { zone: d.zone ?? null, tags: { ...(d.tags ?? {}) } };
  }

  private async readAttachment(volumeId: string): Promise<{ kv: KeyValue | null; record: AttachmentRecord | null }> {
    const kv = await this.options.store.get(this.options.keys.volumeAttachment(volumeId));
    if (!kv) return { kv: null, record: null };
    const record = decodeJson<AttachmentRecord>(kv.value, `attachment of volume ${volumeId}`);
    if (typeof record !== 'object' || record === null || !(record.instanceId === null || typeof record.instanceId === 'string') || !Number.isSafeInteger(record.generation)) {
      throw new VolumeProviderError('VOLUME_BAD_RECORD', `attachment record of volume ${volumeId} is malformed: ${kv.value.toString('utf8').slice(0, 200)}`);
    }
    return { kv, record };
  }

  /**
   * Read, decide, write under a compare on what was read; a lost race re-reads and decides again.
   * decide returns the new record, or null for "nothing to do"; it may throw.
   */
  private async change(volumeId: string, decide: (record: AttachmentRecord | null) => AttachmentRecord | null): Promise<void> {
    const key = this.options.keys.volumeAttachment(volumeId);
    for (let attempt = 0; attempt < TXN_ATTEMPTS_MAX; attempt++) {
      const { kv, record } = await this.readAttachment(volumeId);
      const next = decide(record);
      if (next === null) return;
      const guard: Compare = kv
        ? { key, target: 'modRevision', op: '==', value: kv.modRevision }
        : { key, target: 'createRevision', op: '==', value: 0 };
      const r = await this.options.store.txn([guard], [{ type: 'put', key, value: encodeJson(next) }]);
      if (r.succeeded) return;
    }
    throw new VolumeProviderError('VOLUME_CONFLICT', `volume ${volumeId}: attachment changed under ${TXN_ATTEMPTS_MAX} attempts in a row`, { retriable: true });
  }

  private checkNotLocked(volumeId: string, owner: string): void {
    const path = this.lockPath(volumeId, owner);
    try {
      lockFileExclusive(path).release();
    } catch (err) {
      if (err instanceof FileLockedError) throw new VolumeBusyError(volumeId, `${owner} holds ${path} (alive); detach with force only if it is dead`);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // volume directory gone: nothing holds it
      throw new VolumeProviderError('VOLUME_IO', `cannot check ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
}
