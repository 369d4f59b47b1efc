// The aws-ebs volume provider: moves a broker's WAL (an EBS volume) between EC2 instances.
//
// EBS volumes are ZONAL. A volume attaches only to instances in its own availability zone, so this
// provider moves a volume after a node failure, within the zone. When a whole zone is lost, its
// WAL volumes cannot be moved out: the un-uploaded tail (at most about upload.interval.ms of
// acknowledged writes) stays unavailable until the zone returns; it is not lost. Partitions get
// new leaders elsewhere and continue from what S3 holds. docs/deploy-aws.md says the same.
//
// Calls (all allowed by terraform/aws/iam.tf: DescribeVolumes, and AttachVolume/DetachVolume on
// resources tagged ferry:cluster; no DescribeInstances):
//   describe     DescribeVolumes(VolumeIds)
//   discover     DescribeVolumes(Filters tag:ferry:cluster, tag:ferry:role, ...), paginated
//   attach       DescribeVolumes (state), DescribeVolumes(attachment.instance-id) for the device
//                names in use, AttachVolume with the first free of /dev/sdf../dev/sdp (the next one
//                if EC2 says the name is taken)
//   detach       DescribeVolumes, DetachVolume(InstanceId, Force when the owner is dead)
//   waitAttached / waitDetached   DescribeVolumes polls with backoff (the SDK's volume waiters
//                start at 15 s between polls, too slow for a failover measured in seconds)
// Throttling (RequestLimitExceeded) and 5xx/network errors are retried with full jitter; the SDK's
// own retries are off for clients this module builds, so one policy applies.
// Error codes: VolumeInUse -> VolumeInUseError; IncorrectState -> retriable VOLUME_INCORRECT_STATE;
// InvalidVolume.ZoneMismatch -> VolumeZoneMismatchError; InvalidVolume.NotFound ->
// VolumeNotFoundError; InvalidInstanceID.NotFound -> InstanceNotFoundError; detach of a volume
// already detached (IncorrectState "available", InvalidAttachment.NotFound) -> done.
//
// Device path: Nitro instances (the terraform module requires them) expose EBS volumes as NVMe
// devices; udev names them /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol<id without the
// dash>, whatever device name AttachVolume was given. Xen instances: /dev/sdX appears as /dev/xvdX.
//
// API: AwsEbsVolumeProvider(options), nitroDevicePath(volumeId), createEc2Client(region)

import {
  AttachVolumeCommand, DescribeVolumesCommand, DetachVolumeCommand, EC2Client,
  type DescribeVolumesCommandOutput, type Filter, type Volume,
} from '@aws-sdk/client-ec2';
import { pollUntil, realClock, retryWithBackoff, type BackoffOptions, type Clock } from './backoff.js';
import {
  FERRY_TAGS, InstanceNotFoundError, VolumeInUseError, VolumeNotAttachedError, VolumeNotFoundError, VolumeProviderError,
  VolumeTimeoutError, VolumeZoneMismatchError, brokerIdOfTags, silentVolumeLog,
  type AttachOptions, type DetachOptions, type DiscoverOptions, type VolumeInfo, type VolumeLog, type VolumeProvider,
  type VolumeState, type WaitOptions,
} from './volume-provider.js';

/** What an AZ loss means here; in errors and logs. */
export const AWS_ZONE_LOSS_NOTE =
  'EBS volumes are zonal: a volume moves only to an instance in its own availability zone. If that zone is down, '
  + 'the un-uploaded WAL tail on it stays unavailable (not lost) until the zone returns; its partitions get leaders '
  + 'in other zones and continue from the data already in S3.';

const VOLUME_ID = /^vol-[0-9a-f]{8,32}$/;
const INSTANCE_ID = /^i-[0-9a-f]{8,32}$/;
/** Device names EC2 recommends for EBS data volumes on Linux. */
const DEVICE_NAMES = Array.from('fghijklmnop', (c) => `/dev/sd${c}`);
const THROTTLE_CODES = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'TooManyRequestsException']);
const TRANSIENT_CODES = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable', 'RequestTimeout', 'RequestTimeoutException', 'TimeoutError']);

export interface AwsEbsVolumeProviderOptions {
  /** A client with its own retries off (createEc2Client), or a mocked one in tests. */
  client: EC2Client;
  /** nitro (default; NVMe by-id path) or xen (/dev/xvdX). */
  deviceNaming?: 'nitro' | 'xen';
  retry?: Partial<BackoffOptions>;
  /** Poll delays of waitAttached / waitDetached. */
  poll?: { baseDelayMs: number; delayMsMax: number };
  clock?: Clock;
  log?: VolumeLog;
}

export function createEc2Client(region: string): EC2Client {
  return new EC2Client({ region, maxAttempts: 1 });
}

/** The NVMe by-id path of an EBS volume on a Nitro instance. */
export function nitroDevicePath(volumeId: string): string {
  checkVolumeId(volumeId);
  return `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volumeId.replace('-', '')}`;
}

function checkVolumeId(volumeId: string): void {
  if (!VOLUME_ID.test(volumeId)) throw new VolumeProviderError('VOLUME_BAD_ID', `${JSON.stringify(volumeId)} is not an EBS volume id (vol-0123...)`);
}

function checkInstanceId(instanceId: string): void {
  if (!INSTANCE_ID.test(instanceId)) throw new VolumeProviderError('VOLUME_BAD_ID', `${JSON.stringify(instanceId)} is not an EC2 instance id (i-0123...)`);
}

function errorCode(err: unknown): string {
  const e = err as { name?: string; Code?: string; code?: string };
  return e?.Code ?? e?.name ?? e?.code ?? '';
}

function errorStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** Throttling, 5xx and network failures: the same request may simply be sent again. */
export function isRetriableEc2Error(err: unknown): boolean {
  if (err instanceof VolumeProviderError) return err.retriable;
  const code = errorCode(err);
  if (THROTTLE_CODES.has(code) || TRANSIENT_CODES.has(code)) return true;
  const status = errorStatus(err);
  if (status !== undefined && status >= 500) return true;
  const sys = (err as NodeJS.ErrnoException)?.code;
  return sys === 'ECONNRESET' || sys === 'ECONNREFUSED' || sys === 'ETIMEDOUT' || sys === 'EPIPE' || sys === 'ENOTFOUND' || sys === 'EAI_AGAIN';
}

export class AwsEbsVolumeProvider implements VolumeProvider {
  readonly kind = 'aws-ebs' as const;
  readonly crossZone = false;
  private readonly client: EC2Client;
  private readonly retry: BackoffOptions;
  private readonly poll: { baseDelayMs: number; delayMsMax: number };
  private readonly clock: Clock;
  private readonly log: VolumeLog;

  constructor(private readonly options: AwsEbsVolumeProviderOptions) {
    this.client = options.client;
    this.clock = options.clock ?? realClock;
    this.retry = { baseDelayMs: 200, delayMsMax: 5000, attemptsMax: 8, ...options.retry, clock: this.clock };
    this.poll = options.poll ?? { baseDelayMs: 250, delayMsMax: 2000 };
    this.log = options.log ?? silentVolumeLog;
  }

  async describe(volumeId: string): Promise<VolumeInfo> {
    checkVolumeId(volumeId);
    const out = await this.send<DescribeVolumesCommandOutput>(new DescribeVolumesCommand({ VolumeIds: [volumeId] }), { volumeId });
    const volume = out.Volumes?.find((v) => v.VolumeId === volumeId);
    if (!volume) throw new VolumeNotFoundError(volumeId, 'DescribeVolumes returned no such volume');
    return toInfo(volume);
  }

  async attach(volumeId: string, instanceId: string, options: AttachOptions = {}): Promise<void> {
    checkInstanceId(instanceId);
    const info = await this.describe(volumeId);
    if (options.zone !== undefined && info.zone !== null && options.zone !== info.zone) {
      this.log.warn({ volumeId, instanceId, volumeZone: info.zone, instanceZone: options.zone }, `cannot move an EBS volume across zones. ${AWS_ZONE_LOSS_NOTE}`);
      throw new VolumeZoneMismatchError(volumeId, info.zone, options.zone, AWS_ZONE_LOSS_NOTE);
    }
    if (info.attachedTo === instanceId && (info.state === 'attached' || info.state === 'attaching')) return;
    if (info.attachedTo !== null) {
      throw new VolumeInUseError(volumeId, info.attachedTo, info.state === 'detaching' ? 'still detaching; wait for it (waitDetached)' : `detach it from ${info.attachedTo} first (force if that instance is dead)`);
    }
    if (info.state === 'error') throw new VolumeProviderError('VOLUME_ERROR_STATE', `volume ${volumeId} is ${info.rawState}; cannot attach it`);

    const used = await this.devicesInUse(instanceId);
    for (const device of DEVICE_NAMES) {
      if (used.has(device)) continue;
      try {
        await this.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: device }), { volumeId, instanceId, zone: info.zone });
        this.log.info({ volumeId, instanceId, device, zone: info.zone }, 'EBS volume attaching');
        return;
      } catch (err) {
        if (isDeviceNameTaken(err)) continue; // a device EC2 knows but DescribeVolumes did not show (e.g. launch-time mapping)
        throw err;
      }
    }
    throw new VolumeProviderError('VOLUME_NO_DEVICE', `no free device name for volume ${volumeId} on ${instanceId} (tried ${DEVICE_NAMES.join(', ')})`);
  }

  async detach(volumeId: string, options: DetachOptions): Promise<void> {
    if (options.instanceId !== undefined) checkInstanceId(options.instanceId);
    const info = await this.describe(volumeId);
    if (info.attachedTo === null) return;
    if (options.instanceId !== undefined && info.attachedTo !== options.instanceId) {
      throw new VolumeInUseError(volumeId, info.attachedTo, `asked to detach it from ${options.instanceId}; leaving it attached`);
    }
    // Already detaching: a plain detach has nothing to add; a forced one unsticks a detach the
    // dead instance's OS will never acknowledge.
    if (info.state === 'detaching' && !options.force) return;
    try {
      await this.send(new DetachVolumeCommand({ VolumeId: volumeId, InstanceId: info.attachedTo, Force: options.force }), { volumeId, instanceId: info.attachedTo });
    } catch (err) {
      if (err instanceof VolumeProviderError && err.code === 'VOLUME_INCORRECT_STATE' && /available/.test(err.message)) return; // detached meanwhile
      if (err instanceof VolumeProviderError && err.code === 'VOLUME_NOT_ATTACHED') return;
      throw err;
    }
    this.log.info({ volumeId, instanceId: info.attachedTo, force: options.force }, options.force ? 'EBS volume force-detaching (owner dead)' : 'EBS volume detaching');
  }

  async waitAttached(volumeId: string, instanceId: string, options: WaitOptions): Promise<VolumeInfo> {
    checkInstanceId(instanceId);
    let last: VolumeInfo | null = null;
    const r = await pollUntil<VolumeInfo>(async () => {
      last = await this.describe(volumeId);
      if (last.attachedTo === instanceId && last.state === 'attached') return { done: true, value: last };
      if (last.attachedTo !== null && last.attachedTo !== instanceId && last.state !== 'detaching') {
        throw new VolumeInUseError(volumeId, last.attachedTo, `waiting for it to attach to ${instanceId}`);
      }
      if (last.state === 'error') throw new VolumeProviderError('VOLUME_ERROR_STATE', `volume ${volumeId} is ${last.rawState} while waiting for it to attach to ${instanceId}`);
      // 'available' right after AttachVolume is DescribeVolumes' eventual consistency: keep polling.
      return { done: false };
    }, options.timeoutMs, { ...this.poll, clock: this.clock });
    if (r.done) return r.value;
    throw new VolumeTimeoutError(volumeId, `attached to ${instanceId}`, options.timeoutMs, last);
  }

  async waitDetached(volumeId: string, options: WaitOptions): Promise<VolumeInfo> {
    let last: VolumeInfo | null = null;
    const r = await pollUntil<VolumeInfo>(async () => {
      last = await this.describe(volumeId);
      if (last.state === 'available') return { done: true, value: last };
      if (last.state === 'error') throw new VolumeProviderError('VOLUME_ERROR_STATE', `volume ${volumeId} is ${last.rawState} while waiting for it to detach`);
      return { done: false };
    }, options.timeoutMs, { ...this.poll, clock: this.clock });
    if (r.done) return r.value;
    throw new VolumeTimeoutError(volumeId, 'available', options.timeoutMs, last);
  }

  async devicePath(volumeId: string, instanceId: string): Promise<string> {
    checkInstanceId(instanceId);
    const volume = await this.describeRaw(volumeId);
    const info = toInfo(volume);
    if (info.attachedTo !== instanceId || info.state !== 'attached') {
      if (info.attachedTo !== null && info.attachedTo !== instanceId) throw new VolumeInUseError(volumeId, info.attachedTo, `not attached to ${instanceId}`);
      throw new VolumeNotAttachedError(volumeId, instanceId, info.rawState);
    }
    if ((this.options.deviceNaming ?? 'nitro') === 'nitro') return nitroDevicePath(volumeId);
    const device = liveAttachment(volume)?.Device ?? '';
    return device.replace(/^\/dev\/sd/, '/dev/xvd');
  }

  async discover(options: DiscoverOptions): Promise<VolumeInfo[]> {
    const tags: Record<string, string> = {
      [FERRY_TAGS['aws-ebs'].cluster]: options.clusterName,
      [FERRY_TAGS['aws-ebs'].role]: options.role ?? 'wal',
      ...(options.tags ?? {}),
    };
    const filters: Filter[] = Object.entries(tags).map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] }));
    const out: VolumeInfo[] = [];
    let nextToken: string | undefined;
    for (let page = 0; ; page++) {
      if (page >= 1000) throw new VolumeProviderError('VOLUME_PAGINATION', 'DescribeVolumes kept returning NextToken after 1000 pages');
      const res = await this.send<DescribeVolumesCommandOutput>(new DescribeVolumesCommand({ Filters: filters, MaxResults: 500, NextToken: nextToken }), {});
      for (const v of res.Volumes ?? []) out.push(toInfo(v));
      nextToken = res.NextToken || undefined;
      if (!nextToken) break;
    }
    return out.sort((a, b) => (a.volumeId < b.volumeId ? -1 : a.volumeId > b.volumeId ? 1 : 0));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async describeRaw(volumeId: string): Promise<Volume> {
    checkVolumeId(volumeId);
    const out = await this.send<DescribeVolumesCommandOutput>(new DescribeVolumesCommand({ VolumeIds: [volumeId] }), { volumeId });
    const volume = out.Volumes?.find((v) => v.VolumeId === volumeId);
    if (!volume) throw new VolumeNotFoundError(volumeId, 'DescribeVolumes returned no such volume');
    return volume;
  }

  /** Device names of EBS volumes attached (or attaching) to the instance. */
  private async devicesInUse(instanceId: string): Promise<Set<string>> {
    const used = new Set<string>();
    let nextToken: string | undefined;
    do {
      const res = await this.send<DescribeVolumesCommandOutput>(new DescribeVolumesCommand({
        Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }], MaxResults: 500, NextToken: nextToken,
      }), { instanceId });
      for (const v of res.Volumes ?? []) {
        for (const a of v.Attachments ?? []) if (a.InstanceId === instanceId && a.State !== 'detached' && a.Device) used.add(a.Device);
      }
      nextToken = res.NextToken || undefined;
    } while (nextToken);
    return used;
  }

  /** One EC2 call: retried while throttled or transient, then mapped to a VolumeProviderError. */
  private async send<T>(command: unknown, context: { volumeId?: string; instanceId?: string | null; zone?: string | null }): Promise<T> {
    const name = (command as { constructor: { name: string } }).constructor.name.replace(/Command$/, '');
    try {
      return await retryWithBackoff(
        () => this.client.send(command as Parameters<EC2Client['send']>[0]) as Promise<T>,
        (err) => {
          const retriable = isRetriableEc2Error(err);
          if (retriable) this.log.warn({ call: name, code: errorCode(err), ...context }, 'EC2 call failed, retrying');
          return retriable;
        },
        this.retry,
      );
    } catch (err) {
      throw mapEc2Error(err, name, context);
    }
  }
}

function liveAttachment(v: Volume) {
  return (v.Attachments ?? []).find((a) => a.State !== 'detached');
}

function toInfo(v: Volume): VolumeInfo {
  const att = liveAttachment(v);
  const tags: Record<string, string> = {};
  for (const t of v.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
  let state: VolumeState;
  if (v.State === 'available') state = 'available';
  else if (v.State === 'in-use') {
    switch (att?.State) {
      case 'attaching': state = 'attaching'; break;
      case 'attached': state = 'attached'; break;
      default: state = 'detaching'; // detaching, busy (a plain detach the OS has not released), or no live attachment yet
    }
  } else state = 'error'; // creating, deleting, deleted, error: nothing to attach
  return {
    volumeId: v.VolumeId ?? '',
    state,
    attachedTo: state === 'available' || state === 'error' ? null : att?.InstanceId ?? null,
    zone: v.AvailabilityZone ?? null,
    tags,
    rawState: `${v.State ?? '?'}${att ? `/${att.State ?? '?'}` : ''}`,
    brokerId: brokerIdOfTags('aws-ebs', tags),
  };
}

function isDeviceNameTaken(err: unknown): boolean {
  if (!(err instanceof VolumeProviderError) || err.code !== 'VOLUME_EC2_ERROR') return false;
  return /InvalidParameterValue|InvalidDevice/.test(err.message) && /already in use|in use|unixDevice|device/i.test(err.message);
}

function mapEc2Error(err: unknown, call: string, context: { volumeId?: string; instanceId?: string | null; zone?: string | null }): Error {
  if (err instanceof VolumeProviderError) return err;
  const code = errorCode(err);
  const message = (err as Error)?.message ?? String(err);
  const volumeId = context.volumeId ?? '?';
  const instanceId = context.instanceId ?? '?';
  switch (code) {
    case 'InvalidVolume.NotFound':
      return new VolumeNotFoundError(volumeId, `${call}: ${message}`, err);
    case 'InvalidInstanceID.NotFound':
    case 'InvalidInstanceID.Malformed':
      return new InstanceNotFoundError(instanceId, `${call}: ${message}`, err);
    case 'VolumeInUse':
      return new VolumeInUseError(volumeId, null, `${call}: ${message}`, err);
    case 'InvalidVolume.ZoneMismatch':
      return new VolumeZoneMismatchError(volumeId, context.zone ?? null, null, `${call}: ${message}. ${AWS_ZONE_LOSS_NOTE}`, err);
    case 'IncorrectState':
      return new VolumeProviderError('VOLUME_INCORRECT_STATE', `volume ${volumeId}: ${call} refused in its current state (retry once it settles): ${message}`, { retriable: true, cause: err });
    case 'InvalidAttachment.NotFound':
      return new VolumeProviderError('VOLUME_NOT_ATTACHED', `volume ${volumeId}: ${call}: ${message}`, { cause: err });
    case 'IncorrectInstanceState':
      return new VolumeProviderError('INSTANCE_INCORRECT_STATE', `instance ${instanceId}: ${call} refused in its current state: ${message}`, { cause: err });
    case 'UnauthorizedOperation':
    case 'AuthFailure':
      return new VolumeProviderError('VOLUME_UNAUTHORIZED', `${call} on ${volumeId} not allowed (the broker role may attach/detach only volumes and instances tagged ferry:cluster): ${message}`, { cause: err });
    default:
      return new VolumeProviderError('VOLUME_EC2_ERROR', `${call} failed for volume ${volumeId}: ${code || 'error'}: ${message}`, { retriable: isRetriableEc2Error(err), cause: err });
  }
}
