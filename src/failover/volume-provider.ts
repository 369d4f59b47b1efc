// VolumeProvider: moves a broker's WAL volume between instances (DESIGN §6). The remount
// controller detaches a dead broker's volume, attaches it to a live broker, and that broker opens
// the WAL at devicePath(). Three backends: local (one machine, drills), aws-ebs, azure-zrs.
//
// Contract every backend keeps:
//   - attach(v, i) is idempotent (attached or attaching to i already: no-op) and refuses, with
//     VolumeInUseError, a volume attached to another instance: detach first (force when the owner
//     is dead). Two concurrent attachers of one volume never both succeed.
//   - detach(v, { force, instanceId }) is idempotent (already detached: no-op); with instanceId it
//     only detaches from that instance (a stale controller cannot detach the new owner).
//   - waitAttached / waitDetached poll until the state is reached or fail with VolumeTimeoutError.
//   - devicePath(v, i) is where instance i sees the attached volume (block device or WAL file).
//   - errors are VolumeProviderError subclasses with `code` and `retriable`.
//
// API: interface VolumeProvider, VolumeInfo, VolumeState, DiscoverOptions, DetachOptions,
//      AttachOptions, WaitOptions; errors VolumeProviderError, VolumeNotFoundError, VolumeInUseError,
//      VolumeNotAttachedError, VolumeZoneMismatchError, VolumeBusyError, VolumeTimeoutError,
//      InstanceNotFoundError; isRetriableVolumeError(err)

export type VolumeState = 'available' | 'attaching' | 'attached' | 'detaching' | 'error';

export type VolumeProviderKind = 'local' | 'aws-ebs' | 'azure-zrs';

export interface VolumeInfo {
  volumeId: string;
  state: VolumeState;
  /** The instance the volume is attached (or attaching, or detaching) to; null when available. */
  attachedTo: string | null;
  /** Availability zone of a zonal volume; null for a zone-redundant one (attaches in any zone). */
  zone: string | null;
  tags: Record<string, string>;
  /** The backend's own state words, for logs (e.g. "in-use/attached", "Attached"). */
  rawState: string;
  /** The broker the volume belongs to (its ferry broker-id tag), if tagged. */
  brokerId: number | null;
}

export interface DiscoverOptions {
  clusterName: string;
  /** Role tag; default "wal". */
  role?: string;
  /** Extra tags that must match, by the backend's own tag names. */
  tags?: Record<string, string>;
}

export interface AttachOptions {
  /** Zone of the target instance when the caller knows it: a zonal volume elsewhere fails early. */
  zone?: string;
}

export interface DetachOptions {
  /** Detach even if the instance still uses the volume. Only when the owner is known dead. */
  force: boolean;
  /** Only detach from this instance; attached elsewhere: VolumeInUseError. */
  instanceId?: string;
}

export interface WaitOptions {
  timeoutMs: number;
}

export interface VolumeProvider {
  readonly kind: VolumeProviderKind;
  /** True when a volume can be attached to an instance in another zone (local, Azure ZRS). */
  readonly crossZone: boolean;
  describe(volumeId: string): Promise<VolumeInfo>;
  attach(volumeId: string, instanceId: string, options?: AttachOptions): Promise<void>;
  detach(volumeId: string, options: DetachOptions): Promise<void>;
  waitAttached(volumeId: string, instanceId: string, options: WaitOptions): Promise<VolumeInfo>;
  waitDetached(volumeId: string, options: WaitOptions): Promise<VolumeInfo>;
  /** Where instanceId sees the volume (it must be attached there): device node or WAL file. */
  devicePath(volumeId: string, instanceId: string): Promise<string>;
  /** The cluster's volumes with the role tag (default wal), sorted by volume id. */
  discover(options: DiscoverOptions): Promise<VolumeInfo[]>;
  close(): Promise<void>;
}

export class VolumeProviderError extends Error {
  readonly retriable: boolean;
  constructor(readonly code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

export class VolumeNotFoundError extends VolumeProviderError {
  constructor(readonly volumeId: string, detail = '', cause?: unknown) {
    super('VOLUME_NOT_FOUND', `volume ${volumeId} not found${detail ? `: ${detail}` : ''}`, { cause });
  }
}

export class InstanceNotFoundError extends VolumeProviderError {
  constructor(readonly instanceId: string, detail = '', cause?: unknown) {
    super('INSTANCE_NOT_FOUND', `instance ${instanceId} not found${detail ? `: ${detail}` : ''}`, { cause });
  }
}

/** The volume is attached to another instance than the one asked for. Detach it first. */
export class VolumeInUseError extends VolumeProviderError {
  constructor(readonly volumeId: string, readonly attachedTo: string | null, detail: string, cause?: unknown) {
    super('VOLUME_IN_USE', `volume ${volumeId} is in use${attachedTo ? ` by ${attachedTo}` : ''}: ${detail}`, { cause });
  }
}

/** devicePath or waitAttached on a volume not attached to the instance. */
export class VolumeNotAttachedError extends VolumeProviderError {
  constructor(readonly volumeId: string, readonly instanceId: string, state: string) {
    super('VOLUME_NOT_ATTACHED', `volume ${volumeId} is not attached to ${instanceId} (state ${state})`);
  }
}

/** A zonal volume cannot reach an instance in another zone. */
export class VolumeZoneMismatchError extends VolumeProviderError {
  constructor(readonly volumeId: string, readonly volumeZone: string | null, readonly instanceZone: string | null, detail: string, cause?: unknown) {
    super('VOLUME_ZONE_MISMATCH', `volume ${volumeId} (zone ${volumeZone ?? '?'}) cannot be attached to an instance in zone ${instanceZone ?? '?'}: ${detail}`, { cause });
  }
}

/** A plain detach while the owner still uses the volume; retry, or force when the owner is dead. */
export class VolumeBusyError extends VolumeProviderError {
  constructor(readonly volumeId: string, detail: string) {
    super('VOLUME_BUSY', `volume ${volumeId} is busy: ${detail}`, { retriable: true });
  }
}

export class VolumeTimeoutError extends VolumeProviderError {
  constructor(readonly volumeId: string, waitingFor: string, timeoutMs: number, readonly last: VolumeInfo | null) {
    super('VOLUME_TIMEOUT', `volume ${volumeId}: not ${waitingFor} after ${timeoutMs} ms (last state ${last ? `${last.state} (${last.rawState}) attached to ${last.attachedTo ?? 'nothing'}` : 'unknown'})`, { retriable: true });
  }
}

export function isRetriableVolumeError(err: unknown): boolean {
  return err instanceof VolumeProviderError && err.retriable;
}

/** Tag names differ per cloud (Azure tag names avoid ':'); these are what terraform/ writes. */
export const FERRY_TAGS = {
  'aws-ebs': { cluster: 'ferry:cluster', role: 'ferry:role', brokerId: 'ferry:broker-id' },
  local: { cluster: 'ferry:cluster', role: 'ferry:role', brokerId: 'ferry:broker-id' },
  'azure-zrs': { cluster: 'ferry-cluster', role: 'ferry-role', brokerId: 'ferry-broker-id' },
} as const satisfies Record<VolumeProviderKind, { cluster: string; role: string; brokerId: string }>;

export function brokerIdOfTags(kind: VolumeProviderKind, tags: Record<string, string>): number | null {
  const raw = tags[FERRY_TAGS[kind].brokerId];
  if (raw === undefined || !/^\d{1,9}$/.test(raw)) return null;
  return Number(raw);
}

/** The two log calls providers make (a pino Logger fits). */
export interface VolumeLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const silentVolumeLog: VolumeLog = { info() {}, warn() {} };
