// The azure-zrs volume provider: moves a broker's WAL (a zone-redundant managed disk) between
// VMs, in any zone. A ZRS disk is replicated synchronously across three zones and has no zone of
// its own, so after a zone loss the remount controller attaches it to a broker in a surviving
// zone and replays the WAL: nothing acknowledged is unavailable. A zonal (LRS) disk is refused
// for a VM in another zone with VolumeZoneMismatchError.
//
// Through the official SDK (@azure/arm-compute, loaded with a dynamic import so the broker starts
// without it; DefaultAzureCredential from @azure/identity unless a credential is given):
//   describe     Disks.get                          (diskState, managedBy, zones, sku, tags)
//   discover     Disks.listByResourceGroup, filtered by tags ferry-cluster / ferry-role / ...
//   attach       Disks.get, VirtualMachines.get, VirtualMachines.update (PATCH storageProfile.dataDisks
//                + {lun: first free, createOption: Attach, caching: None}, If-Match: the VM's etag),
//                polled to completion (long-running operation)
//   detach       Disks.get, VirtualMachines.get, VirtualMachines.update with the disk's entry
//                toBeDetached (+ detachOption ForceDetach when force), If-Match, polled
//   devicePath   VirtualMachines.get: /dev/disk/azure/scsi1/lun<N> (the udev link the Azure Linux
//                agent / azure-vm-utils creates from the LUN)
// The terraform role (terraform/azure/disks.tf) grants disks read/write and virtualMachines
// read/write, which is what PATCHing dataDisks needs (the attachDetachDataDisks action is not granted).
// Errors: 404 -> VolumeNotFoundError / InstanceNotFoundError; 409 "already attached" ->
// VolumeInUseError; 409 AttachDiskWhileBeingDetached -> retriable VOLUME_INCORRECT_STATE; other 409
// (another operation in progress on the VM) -> retriable VOLUME_CONFLICT; 412 (etag changed:
// someone else updated the VM) -> read-modify-write again; 429 / 5xx / network -> retried with jitter.
//
// Ids: volume.id is the disk's resource id, instance.id the VM's resource id
// (/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/disks|virtualMachines/<name>);
// bare names use the provider's resource group. Ids compare case-insensitively, as ARM's do.
//
// API: AzureZrsVolumeProvider(options), createAzureZrsVolumeProvider(options) (loads the SDK),
//      parseAzureResourceId(id, type), azureLunDevicePath(lun)

import type { ComputeManagementClient, DataDisk, Disk, VirtualMachine } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/core-auth';
import { pollUntil, realClock, retryWithBackoff, type BackoffOptions, type Clock } from './backoff.js';
import { importOptional } from '../common/optional-dependency.js';
import {
  FERRY_TAGS, InstanceNotFoundError, VolumeInUseError, VolumeNotAttachedError, VolumeNotFoundError, VolumeProviderError,
  VolumeTimeoutError, VolumeZoneMismatchError, brokerIdOfTags, silentVolumeLog,
  type AttachOptions, type DetachOptions, type DiscoverOptions, type VolumeInfo, type VolumeLog, type VolumeProvider,
  type VolumeState, type WaitOptions,
} from './volume-provider.js';

const LUN_MAX = 63;
/** Read-modify-write rounds when the VM's etag keeps changing under us. */
const RMW_ATTEMPTS_MAX = 5;

export interface AzureResourceRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** Normalised full id (lower-case), for comparisons. */
  key: string;
}

/** Parses a disk or VM resource id; a bare name takes the given defaults. */
export function parseAzureResourceId(id: string, type: 'disks' | 'virtualMachines', defaults: { subscriptionId: string; resourceGroup: string | null }): AzureResourceRef {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/([^/]+)\/([^/]+)$/i.exec(id);
  let ref: Omit<AzureResourceRef, 'key'>;
  if (m) {
    if (m[3]!.toLowerCase() !== type.toLowerCase()) throw new VolumeProviderError('VOLUME_BAD_ID', `${id} is a ${m[3]} id, not ${type}`);
    ref = { subscriptionId: m[1]!, resourceGroup: m[2]!, name: m[4]! };
  } else if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(id)) {
    if (!defaults.resourceGroup) throw new VolumeProviderError('VOLUME_BAD_ID', `${id}: a bare ${type} name needs azure.resource.group (or pass the full resource id)`);
    ref = { subscriptionId: defaults.subscriptionId, resourceGroup: defaults.resourceGroup, name: id };
  } else {
    throw new VolumeProviderError('VOLUME_BAD_ID', `${JSON.stringify(id)} is not an Azure ${type} resource id or name`);
  }
  if (ref.subscriptionId.toLowerCase() !== defaults.subscriptionId.toLowerCase()) {
    throw new VolumeProviderError('VOLUME_BAD_ID', `${id} is in subscription ${ref.subscriptionId}, the provider in ${defaults.subscriptionId}`);
  }
  return { ...ref, key: resourceKey(ref.subscriptionId, ref.resourceGroup, type, ref.name) };
}

function resourceKey(subscriptionId: string, resourceGroup: string, type: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/${type}/${name}`.toLowerCase();
}

export function azureLunDevicePath(lun: number): string {
  if (!Number.isInteger(lun) || lun < 0 || lun > LUN_MAX) throw new RangeError(`LUN ${lun} out of 0..${LUN_MAX}`);
  return `/dev/disk/azure/scsi1/lun${lun}`;
}

export interface AzureZrsVolumeProviderOptions {
  client: ComputeManagementClient;
  subscriptionId: string;
  /** For bare names and discovery. */
  resourceGroup: string | null;
  /** Poll interval of the SDK's long-running-operation poller. Default 1000 ms. */
  lroIntervalMs?: number;
  retry?: Partial<BackoffOptions>;
  poll?: { baseDelayMs: number; delayMsMax: number };
  clock?: Clock;
  log?: VolumeLog;
}

export interface CreateAzureZrsVolumeProviderOptions extends Omit<AzureZrsVolumeProviderOptions, 'client'> {
  /** Default: DefaultAzureCredential (managed identity via AZURE_CLIENT_ID on the VMs). */
  credential?: TokenCredential;
  /** Extra client options (tests pass an httpClient that answers like ARM). */
  clientOptions?: Record<string, unknown>;
}

/** @azure/identity: an optional dependency (Node >= 22; src/common/optional-dependency.ts). */
function loadIdentity() {
  // @ts-ignore -- absent where npm skipped it (Node < 22): compiles either way, typed where installed
  return importOptional('@azure/identity', 'volume.provider=azure-zrs without a credential (DefaultAzureCredential)', () => import('@azure/identity'));
}

/** Loads @azure/arm-compute (and @azure/identity when no credential is given) only now. */
export async function createAzureZrsVolumeProvider(options: CreateAzureZrsVolumeProviderOptions): Promise<AzureZrsVolumeProvider> {
  const { ComputeManagementClient } = await import('@azure/arm-compute');
  const credential = options.credential ?? new (await loadIdentity()).DefaultAzureCredential();
  // Retries are ours (one policy for throttling and 5xx, with jitter); the pipeline's are off.
  const client = new ComputeManagementClient(credential, options.subscriptionId, { retryOptions: { maxRetries: 0 }, ...options.clientOptions });
  return new AzureZrsVolumeProvider({ ...options, client });
}

interface ArmError { statusCode?: number; code?: string; message?: string; operationFailed: boolean }

/** RestError fields, or the code and message core-lro folds into a failed operation's message. */
function armError(err: unknown): ArmError {
  const e = err as { statusCode?: number; code?: string; message?: string; details?: { error?: { code?: string; message?: string } } };
  const lro = /^The long-running operation has failed\. ([^.\s]+)\. ([\s\S]*)$/.exec(e?.message ?? '');
  if (lro && e?.statusCode === undefined) return { code: lro[1], message: lro[2], operationFailed: true };
  return { statusCode: e?.statusCode, code: e?.details?.error?.code ?? e?.code, message: e?.details?.error?.message ?? e?.message, operationFailed: false };
}

export function isRetriableArmError(err: unknown): boolean {
  if (err instanceof VolumeProviderError) return err.retriable;
  const { statusCode, code } = armError(err);
  if (statusCode === 429 || (statusCode !== undefined && statusCode >= 500)) return true;
  return statusCode === undefined && (code === 'REQUEST_SEND_ERROR' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'ECONNREFUSED');
}

export class AzureZrsVolumeProvider implements VolumeProvider {
  readonly kind = 'azure-zrs' as const;
  readonly crossZone = true;
  private readonly client: ComputeManagementClient;
  private readonly retry: BackoffOptions;
  private readonly poll: { baseDelayMs: number; delayMsMax: number };
  private readonly clock: Clock;
  private readonly log: VolumeLog;

  constructor(private readonly options: AzureZrsVolumeProviderOptions) {
    this.client = options.client;
    this.clock = options.clock ?? realClock;
    this.retry = { baseDelayMs: 500, delayMsMax: 10_000, attemptsMax: 6, ...options.retry, clock: this.clock };
    this.poll = options.poll ?? { baseDelayMs: 500, delayMsMax: 3000 };
    this.log = options.log ?? silentVolumeLog;
  }

  async describe(volumeId: string): Promise<VolumeInfo> {
    const disk = await this.getDisk(this.diskRef(volumeId));
    return this.toInfo(volumeId, disk);
  }

  async attach(volumeId: string, instanceId: string, options: AttachOptions = {}): Promise<void> {
    const diskRef = this.diskRef(volumeId);
    const vmRef = this.vmRef(instanceId);
    for (let round = 0; round < RMW_ATTEMPTS_MAX; round++) {
      const disk = await this.getDisk(diskRef);
      const info = this.toInfo(volumeId, disk);
      if (info.attachedTo !== null && normal(info.attachedTo) === vmRef.key) return;
      if (info.attachedTo !== null) throw new VolumeInUseError(volumeId, info.attachedTo, `detach it from ${info.attachedTo} first (force if that VM is dead)`);
      if (info.state === 'error') throw new VolumeProviderError('VOLUME_ERROR_STATE', `disk ${volumeId} is ${info.rawState}; cannot attach it`);
      if (options.zone !== undefined && info.zone !== null && options.zone !== info.zone) {
        throw new VolumeZoneMismatchError(volumeId, info.zone, options.zone, 'a zonal (LRS) disk attaches only in its zone; use a ZRS disk for the WAL');
      }

      const vm = await this.getVm(vmRef);
      const disks = vm.storageProfile?.dataDisks ?? [];
      const vmZone = vm.zones?.[0] ?? null;
      if (info.zone !== null && vmZone !== null && vmZone !== info.zone) {
        throw new VolumeZoneMismatchError(volumeId, info.zone, vmZone, 'a zonal (LRS) disk attaches only in its zone; use a ZRS disk for the WAL');
      }
      if (disks.some((d) => sameDisk(d, diskRef) && !d.toBeDetached)) return; // the VM has it; the disk's managedBy lags
      const used = new Set(disks.map((d) => d.lun));
      let lun = 0;
      while (used.has(lun)) lun++;
      if (lun > LUN_MAX) throw new VolumeProviderError('VOLUME_NO_DEVICE', `VM ${vmRef.name} has no free LUN (0..${LUN_MAX} in use)`);
      const dataDisks: DataDisk[] = [...disks, { lun, createOption: 'Attach', caching: 'None', managedDisk: { id: disk.id ?? diskRef.key } }];
      if (await this.updateDataDisks(vmRef, vm, dataDisks, volumeId)) {
        this.log.info({ volumeId, instanceId, lun }, 'Azure disk attached');
        return;
      }
    }
    throw new VolumeProviderError('VOLUME_CONFLICT', `VM ${vmRef.name} kept changing during ${RMW_ATTEMPTS_MAX} attempts to attach ${volumeId}`, { retriable: true });
  }

  async detach(volumeId: string, options: DetachOptions): Promise<void> {
    const diskRef = this.diskRef(volumeId);
    const expected = options.instanceId === undefined ? null : this.vmRef(options.instanceId);
    for (let round = 0; round < RMW_ATTEMPTS_MAX; round++) {
      const info = this.toInfo(volumeId, await this.getDisk(diskRef));
      if (info.attachedTo === null) return;
      if (expected && normal(info.attachedTo) !== expected.key) {
        throw new VolumeInUseError(volumeId, info.attachedTo, `asked to detach it from ${options.instanceId}; leaving it attached`);
      }
      const vmRef = this.vmRef(info.attachedTo);
      let vm: VirtualMachine;
      try {
        vm = await this.getVm(vmRef);
      } catch (err) {
        if (err instanceof InstanceNotFoundError) {
          throw new VolumeProviderError('VOLUME_ORPHANED', `disk ${volumeId} is attached to ${info.attachedTo}, which no longer exists; Azure releases it once the VM is fully deleted`, { retriable: true, cause: err });
        }
        throw err;
      }
      const disks = vm.storageProfile?.dataDisks ?? [];
      const entry = disks.find((d) => sameDisk(d, diskRef));
      if (!entry) return; // the VM no longer has it; the disk's managedBy lags
      if (entry.toBeDetached && !options.force) return; // a detach is already under way
      const dataDisks: DataDisk[] = disks.map((d) => (d === entry ? { ...d, toBeDetached: true, ...(options.force ? { detachOption: 'ForceDetach' } : {}) } : d));
      if (await this.updateDataDisks(vmRef, vm, dataDisks, volumeId)) {
        this.log.info({ volumeId, instanceId: info.attachedTo, force: options.force }, options.force ? 'Azure disk force-detached (owner dead)' : 'Azure disk detached');
        return;
      }
    }
    throw new VolumeProviderError('VOLUME_CONFLICT', `VM kept changing during ${RMW_ATTEMPTS_MAX} attempts to detach ${volumeId}`, { retriable: true });
  }

  async waitAttached(volumeId: string, instanceId: string, options: WaitOptions): Promise<VolumeInfo> {
    const vmRef = this.vmRef(instanceId);
    let last: VolumeInfo | null = null;
    const r = await pollUntil<VolumeInfo>(async () => {
      last = await this.describe(volumeId);
      if (last.attachedTo !== null && normal(last.attachedTo) !== vmRef.key) throw new VolumeInUseError(volumeId, last.attachedTo, `waiting for it to attach to ${instanceId}`);
      if (last.state === 'error') throw new VolumeProviderError('VOLUME_ERROR_STATE', `disk ${volumeId} is ${last.rawState} while waiting for it to attach`);
      if (last.state === 'attached' && (await this.lunOn(volumeId, vmRef)) !== null) return { done: true, value: last };
      return { done: false };
    }, options.timeoutMs, { ...this.poll, clock: this.clock });
    if (r.done) return r.value;
    throw new VolumeTimeoutError(volumeId, `attached to ${instanceId}`, options.timeoutMs, last);
  }

  async waitDetached(volumeId: string, options: WaitOptions): Promise<VolumeInfo> {
    let last: VolumeInfo | null = null;
    const r = await pollUntil<VolumeInfo>(async () => {
      last = await this.describe(volumeId);
      return last.state === 'available' ? { done: true, value: last } : { done: false };
    }, options.timeoutMs, { ...this.poll, clock: this.clock });
    if (r.done) return r.value;
    throw new VolumeTimeoutError(volumeId, 'available', options.timeoutMs, last);
  }

  async devicePath(volumeId: string, instanceId: string): Promise<string> {
    const vmRef = this.vmRef(instanceId);
    const lun = await this.lunOn(volumeId, vmRef);
    if (lun === null) {
      const info = await this.describe(volumeId);
      if (info.attachedTo !== null && normal(info.attachedTo) !== vmRef.key) throw new VolumeInUseError(volumeId, info.attachedTo, `not attached to ${instanceId}`);
      throw new VolumeNotAttachedError(volumeId, instanceId, info.rawState);
    }
    return azureLunDevicePath(lun);
  }

  async discover(options: DiscoverOptions): Promise<VolumeInfo[]> {
    const rg = this.options.resourceGroup;
    if (!rg) throw new VolumeProviderError('VOLUME_CONFIG', 'discovery needs azure.resource.group (or a volume.id resource id to take it from)');
    const want: Record<string, string> = {
      [FERRY_TAGS['azure-zrs'].cluster]: options.clusterName,
      [FERRY_TAGS['azure-zrs'].role]: options.role ?? 'wal',
      ...(options.tags ?? {}),
    };
    const out: VolumeInfo[] = [];
    await this.call('Disks.listByResourceGroup', { resourceGroup: rg }, async () => {
      out.length = 0;
      for await (const disk of this.client.disks.listByResourceGroup(rg)) {
        const tags = disk.tags ?? {};
        if (Object.entries(want).every(([k, v]) => tags[k] === v)) out.push(this.toInfo(disk.id ?? disk.name ?? '?', disk));
      }
    });
    return out.sort((a, b) => (a.volumeId < b.volumeId ? -1 : a.volumeId > b.volumeId ? 1 : 0));
  }

  async close(): Promise<void> {
    // The SDK client holds no connections of its own beyond the shared HTTP agent.
  }

  private diskRef(volumeId: string): AzureResourceRef {
    return parseAzureResourceId(volumeId, 'disks', this.options);
  }

  private vmRef(instanceId: string): AzureResourceRef {
    return parseAzureResourceId(instanceId, 'virtualMachines', this.options);
  }

  private async lunOn(volumeId: string, vmRef: AzureResourceRef): Promise<number | null> {
    const diskRef = this.diskRef(volumeId);
    const vm = await this.getVm(vmRef);
    const entry = (vm.storageProfile?.dataDisks ?? []).find((d) => sameDisk(d, diskRef) && !d.toBeDetached);
    return entry?.lun ?? null;
  }

  private toInfo(volumeId: string, disk: Disk): VolumeInfo {
    const tags = { ...(disk.tags ?? {}) };
    const diskState = disk.diskState ?? 'Unknown';
    const managedBy = disk.managedBy || null;
    let state: VolumeState;
    if (diskState === 'Unattached') state = 'available';
    else if (diskState === 'Attached' || diskState === 'Reserved') state = managedBy ? 'attached' : 'detaching';
    else state = 'error'; // ActiveSAS, ReadyToUpload, ActiveUpload, Frozen, ...: exported or uploading
    const zrs = /_ZRS$/i.test(disk.sku?.name ?? '');
    return {
      volumeId,
      state,
      attachedTo: state === 'available' || state === 'error' ? null : managedBy,
      zone: zrs ? null : disk.zones?.[0] ?? null,
      tags,
      rawState: `${diskState}${disk.sku?.name ? ` (${disk.sku.name})` : ''}`,
      brokerId: brokerIdOfTags('azure-zrs', tags),
    };
  }

  private async getDisk(ref: AzureResourceRef): Promise<Disk> {
    return this.call('Disks.get', { disk: ref.name }, () => this.client.disks.get(ref.resourceGroup, ref.name), { notFound: () => new VolumeNotFoundError(ref.name, `no disk ${ref.name} in resource group ${ref.resourceGroup}`) });
  }

  private async getVm(ref: AzureResourceRef): Promise<VirtualMachine> {
    return this.call('VirtualMachines.get', { vm: ref.name }, () => this.client.virtualMachines.get(ref.resourceGroup, ref.name), { notFound: () => new InstanceNotFoundError(ref.name, `no VM ${ref.name} in resource group ${ref.resourceGroup}`) });
  }

  /** PATCHes the VM's data disks under its etag and waits for the operation. false: the etag moved (read again). */
  private async updateDataDisks(ref: AzureResourceRef, vm: VirtualMachine, dataDisks: DataDisk[], volumeId: string): Promise<boolean> {
    try {
      await this.call('VirtualMachines.update', { vm: ref.name, volumeId }, () => this.client.virtualMachines.update(
        ref.resourceGroup, ref.name, { storageProfile: { dataDisks } },
        { ...(vm.etag ? { ifMatch: vm.etag } : {}), updateIntervalInMs: this.options.lroIntervalMs ?? 1000 },
      ), { notFound: () => new InstanceNotFoundError(ref.name), volumeId });
      return true;
    } catch (err) {
      if (err instanceof VolumeProviderError && err.code === 'VOLUME_PRECONDITION') return false;
      throw err;
    }
  }

  /** One ARM call: retried while throttled/5xx/unreachable, then mapped to a VolumeProviderError. */
  private async call<T>(name: string, context: object, fn: () => Promise<T>, map: { notFound?: () => Error; volumeId?: string } = {}): Promise<T> {
    try {
      return await retryWithBackoff(fn, (err) => {
        const retriable = isRetriableArmError(err);
        if (retriable) this.log.warn({ call: name, ...context, status: armError(err).statusCode, code: armError(err).code }, 'ARM call failed, retrying');
        return retriable;
      }, { ...this.retry, delayMsMin: retryAfterMs });
    } catch (err) {
      throw mapArmError(err, name, map);
    }
  }
}

/** Retry-After (seconds) of a throttled ARM response. */
function retryAfterMs(err: unknown): number | undefined {
  const raw = (err as { response?: { headers?: { get(name: string): string | undefined } } })?.response?.headers?.get('retry-after');
  const seconds = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function normal(id: string): string {
  return id.toLowerCase();
}

function sameDisk(d: DataDisk, ref: AzureResourceRef): boolean {
  const id = d.managedDisk?.id;
  return id !== undefined ? normal(id) === ref.key : (d.name ?? '').toLowerCase() === ref.name.toLowerCase();
}

function mapArmError(err: unknown, call: string, map: { notFound?: () => Error; volumeId?: string }): Error {
  if (err instanceof VolumeProviderError) return err;
  const { statusCode, code, message, operationFailed } = armError(err);
  const what = operationFailed ? `${call}: operation failed: ${code}: ${message}` : `${call}: ${statusCode ?? '-'} ${code ?? ''}: ${message ?? String(err)}`;
  const volumeId = map.volumeId ?? '?';
  if (statusCode === 404 && map.notFound) return map.notFound();
  if (statusCode === 412) return new VolumeProviderError('VOLUME_PRECONDITION', `${what} (the VM changed since it was read)`, { retriable: true, cause: err });
  if (statusCode === 409 || operationFailed) {
    if (code === 'AttachDiskWhileBeingDetached') return new VolumeProviderError('VOLUME_INCORRECT_STATE', `disk ${volumeId} is still being detached: ${what}`, { retriable: true, cause: err });
    if (/already attached|attached to (vm|virtual machine)/i.test(message ?? '')) return new VolumeInUseError(volumeId, null, what, err);
    if (statusCode === 409 || /Conflict|Preempted|InProgress/i.test(code ?? '')) return new VolumeProviderError('VOLUME_CONFLICT', `another operation conflicts: ${what}`, { retriable: true, cause: err });
    if (/zone/i.test(message ?? '')) return new VolumeZoneMismatchError(volumeId, null, null, what, err);
    return new VolumeProviderError('VOLUME_ARM_ERROR', what, { retriable: /Internal|Timeout|Unavailable/i.test(code ?? ''), cause: err });
  }
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500 && /zone/i.test(message ?? '') && /attach/i.test(`${call} ${message}`)) {
    return new VolumeZoneMismatchError(volumeId, null, null, what, err);
  }
  if (statusCode === 401 || statusCode === 403) {
    return new VolumeProviderError('VOLUME_UNAUTHORIZED', `${what} (the broker identity needs the WAL disk mover role on the disk and the VM)`, { cause: err });
  }
  return new VolumeProviderError('VOLUME_ARM_ERROR', what, { retriable: isRetriableArmError(err), cause: err });
}
