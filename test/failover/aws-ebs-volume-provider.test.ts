// The aws-ebs provider against a mocked EC2 client (aws-sdk-client-mock): the exact call sequence
// of each operation, state mapping, throttling retries with jitter, and every error path.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttachVolumeCommand, DescribeVolumesCommand, DetachVolumeCommand, EC2Client, EC2ServiceException, type Volume,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsEbsVolumeProvider, AWS_ZONE_LOSS_NOTE, nitroDevicePath } from '../../src/failover/aws-ebs-volume-provider.js';
import {
  InstanceNotFoundError, VolumeInUseError, VolumeNotAttachedError, VolumeNotFoundError, VolumeProviderError,
  VolumeTimeoutError, VolumeZoneMismatchError,
} from '../../src/failover/volume-provider.js';
import { fakeClock } from './fake-clock.js';

const VOL = 'vol-0123456789abcdef0';
const OTHER_VOL = 'vol-0fedcba9876543210';
const DEAD = 'i-0aaaaaaaaaaaaaaa1';
const TARGET = 'i-0bbbbbbbbbbbbbbb2';
const TAGS = [{ Key: 'ferry:cluster', Value: 'prod' }, { Key: 'ferry:role', Value: 'wal' }, { Key: 'ferry:broker-id', Value: '3' }];

function volume(state: Volume['State'], attachment?: { instance: string; state: string; device?: string }, id = VOL): Volume {
  return {
    VolumeId: id, State: state, AvailabilityZone: 'eu-west-1a', Tags: TAGS,
    Attachments: attachment ? [{ InstanceId: attachment.instance, State: attachment.state as 'attached', Device: attachment.device ?? '/dev/sdf', VolumeId: id }] : [],
  };
}

function ec2Error(name: string, message: string, status = 400): EC2ServiceException {
  return new EC2ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });
}

function setup(options: { deviceNaming?: 'nitro' | 'xen' } = {}) {
  const client = new EC2Client({ region: 'eu-west-1', maxAttempts: 1, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
  const ec2 = mockClient(client);
  const clock = fakeClock();
  const logs: Array<{ level: string; obj: object; msg: string }> = [];
  const provider = new AwsEbsVolumeProvider({
    client, clock, ...options,
    log: { info: (obj, msg) => logs.push({ level: 'info', obj, msg }), warn: (obj, msg) => logs.push({ level: 'warn', obj, msg }) },
  });
  /** [command name, input] of every call so far. */
  const calls = () => ec2.calls().map((c) => {
    const cmd = c.args[0] as unknown as { constructor: { name: string }; input: Record<string, unknown> };
    return [cmd.constructor.name.replace(/Command$/, ''), cmd.input] as const;
  });
  return { ec2, provider, clock, logs, calls };
}

const byId = { VolumeIds: [VOL] };
const devicesOf = (instance: string) => ({ Filters: [{ Name: 'attachment.instance-id', Values: [instance] }], MaxResults: 500, NextToken: undefined });

describe('aws-ebs provider: describe', () => {
  test('maps EC2 volume and attachment states', async () => {
    const cases: Array<[Volume, string, string | null, string]> = [
      [volume('available'), 'available', null, 'available'],
      [volume('available', { instance: DEAD, state: 'detached' }), 'available', null, 'available'],
      [volume('in-use', { instance: TARGET, state: 'attaching' }), 'attaching', TARGET, 'in-use/attaching'],
      [volume('in-use', { instance: TARGET, state: 'attached' }), 'attached', TARGET, 'in-use/attached'],
      [volume('in-use', { instance: DEAD, state: 'detaching' }), 'detaching', DEAD, 'in-use/detaching'],
      [volume('in-use', { instance: DEAD, state: 'busy' }), 'detaching', DEAD, 'in-use/busy'],
      [volume('creating'), 'error', null, 'creating'],
      [volume('error'), 'error', null, 'error'],
    ];
    for (const [v, state, attachedTo, rawState] of cases) {
      const { ec2, provider } = setup();
      ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [v] });
      const info = await provider.describe(VOL);
      assert.deepEqual([info.state, info.attachedTo, info.rawState], [state, attachedTo, rawState], rawState);
      assert.equal(info.zone, 'eu-west-1a');
      assert.equal(info.brokerId, 3);
      assert.deepEqual(info.tags, { 'ferry:cluster': 'prod', 'ferry:role': 'wal', 'ferry:broker-id': '3' });
    }
  });

  test('not found (empty answer or InvalidVolume.NotFound); malformed ids never reach EC2', async () => {
    const { ec2, provider, calls } = setup();
    ec2.on(DescribeVolumesCommand).resolvesOnce({ Volumes: [] }).rejectsOnce(ec2Error('InvalidVolume.NotFound', `The volume '${VOL}' does not exist.`));
    await assert.rejects(provider.describe(VOL), VolumeNotFoundError);
    await assert.rejects(provider.describe(VOL), (err: unknown) => err instanceof VolumeNotFoundError && /does not exist/.test(err.message));
    for (const bad of ['vol-XYZ', 'disk-1', '']) await assert.rejects(provider.describe(bad), (err: unknown) => (err as VolumeProviderError).code === 'VOLUME_BAD_ID');
    await assert.rejects(provider.attach(VOL, 'broker-1'), (err: unknown) => (err as VolumeProviderError).code === 'VOLUME_BAD_ID');
    assert.equal(calls().length, 2);
  });
});

describe('aws-ebs provider: attach', () => {
  test('picks the first device name not used by the instance\'s volumes', async () => {
    const { ec2, provider, calls, logs } = setup();
    ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('available')] });
    ec2.on(DescribeVolumesCommand, devicesOf(TARGET)).resolves({ Volumes: [volume('in-use', { instance: TARGET, state: 'attached', device: '/dev/sdf' }, OTHER_VOL)] });
    ec2.on(AttachVolumeCommand).resolves({ State: 'attaching' });
    await provider.attach(VOL, TARGET);
    assert.deepEqual(calls(), [
      ['DescribeVolumes', byId],
      ['DescribeVolumes', devicesOf(TARGET)],
      ['AttachVolume', { VolumeId: VOL, InstanceId: TARGET, Device: '/dev/sdg' }],
    ]);
    assert.deepEqual(logs.map((l) => l.msg), ['EBS volume attaching']);
  });

  test('a device name EC2 reports taken: the next one', async () => {
    const { ec2, provider, calls } = setup();
    ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('available')] });
    ec2.on(DescribeVolumesCommand, devicesOf(TARGET)).resolves({ Volumes: [] });
    ec2.on(AttachVolumeCommand)
      .rejectsOnce(ec2Error('InvalidParameterValue', "Invalid value '/dev/sdf' for unixDevice. Attachment point /dev/sdf is already in use"))
      .resolves({ State: 'attaching' });
    await provider.attach(VOL, TARGET);
    assert.deepEqual(calls().filter(([n]) => n === 'AttachVolume').map(([, i]) => i.Device), ['/dev/sdf', '/dev/sdg']);
  });

  test('already attached or attaching to the instance: no AttachVolume', async () => {
    for (const state of ['attached', 'attaching']) {
      const { ec2, provider, calls } = setup();
      ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('in-use', { instance: TARGET, state })] });
      await provider.attach(VOL, TARGET);
      assert.deepEqual(calls().map(([n]) => n), ['DescribeVolumes']);
    }
  });

  test('attached or still detaching elsewhere: VolumeInUseError, no AttachVolume', async () => {
    for (const [state, detail] of [['attached', /detach it from/], ['detaching', /still detaching/], ['busy', /still detaching/]] as const) {
      const { ec2, provider, calls } = setup();
      ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('in-use', { instance: DEAD, state })] });
      await assert.rejects(provider.attach(VOL, TARGET), (err: unknown) => err instanceof VolumeInUseError && err.attachedTo === DEAD && detail.test(err.message));
      assert.deepEqual(calls().map(([n]) => n), ['DescribeVolumes']);
    }
  });

  test('an instance in another zone: refused before AttachVolume, saying what an AZ loss means on AWS', async () => {
    const { ec2, provider, calls, logs } = setup();
    ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('available')] });
    await assert.rejects(provider.attach(VOL, TARGET, { zone: 'eu-west-1b' }), (err: unknown) => {
      assert.ok(err instanceof VolumeZoneMismatchError);
      assert.equal(err.volumeZone, 'eu-west-1a');
      assert.equal(err.instanceZone, 'eu-west-1b');
      assert.match(err.message, /zonal/);
      assert.match(err.message, /stays unavailable \(not lost\) until the zone returns/);
      return true;
    });
    assert.deepEqual(calls().map(([n]) => n), ['DescribeVolumes']);
    assert.equal(logs[0]?.level, 'warn');
    assert.ok(logs[0]!.msg.includes(AWS_ZONE_LOSS_NOTE));
  });

  test('EC2 answers InvalidVolume.ZoneMismatch (zone unknown to the caller): VolumeZoneMismatchError', async () => {
    const { ec2, provider } = setup();
    ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('available')] });
    ec2.on(DescribeVolumesCommand, devicesOf(TARGET)).resolves({ Volumes: [] });
    ec2.on(AttachVolumeCommand).rejects(ec2Error('InvalidVolume.ZoneMismatch', 'The volume is not in the same availability zone as instance'));
    await assert.rejects(provider.attach(VOL, TARGET), (err: unknown) => err instanceof VolumeZoneMismatchError && err.volumeZone === 'eu-west-1a' && err.message.includes(AWS_ZONE_LOSS_NOTE));
  });

  test('AttachVolume errors: VolumeInUse (lost a race), IncorrectState (retriable), unknown instance, stopped instance, not allowed', async () => {
    const cases: Array<[EC2ServiceException, (err: unknown) => boolean]> = [
      [ec2Error('VolumeInUse', `${VOL} is already attached to an instance`), (e) => e instanceof VolumeInUseError && !e.retriable],
      [ec2Error('IncorrectState', `vol ${VOL} is in 'detaching' state`), (e) => e instanceof VolumeProviderError && e.code === 'VOLUME_INCORRECT_STATE' && e.retriable],
      [ec2Error('InvalidInstanceID.NotFound', `The instance ID '${TARGET}' does not exist`), (e) => e instanceof InstanceNotFoundError && e.instanceId === TARGET],
      [ec2Error('IncorrectInstanceState', 'The instance is not in a valid state'), (e) => e instanceof VolumeProviderError && e.code === 'INSTANCE_INCORRECT_STATE'],
      [ec2Error('UnauthorizedOperation', 'You are not authorized', 403), (e) => e instanceof VolumeProviderError && e.code === 'VOLUME_UNAUTHORIZED' && /ferry:cluster/.test(e.message)],
      [ec2Error('SomethingNew', 'surprise'), (e) => e instanceof VolumeProviderError && e.code === 'VOLUME_EC2_ERROR' && !e.retriable && /SomethingNew: surprise/.test(e.message)],
    ];
    for (const [error, check] of cases) {
      const { ec2, provider, calls } = setup();
      ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('available')] });
      ec2.on(DescribeVolumesCommand, devicesOf(TARGET)).resolves({ Volumes: [] });
      ec2.on(AttachVolumeCommand).rejects(error);
      await assert.rejects(provider.attach(VOL, TARGET), (err: unknown) => check(err), error.name);
      assert.equal(calls().filter(([n]) => n === 'AttachVolume').length, 1, `${error.name}: not retried`);
    }
  });

  test('a volume in the error state is not attached', async () => {
    const { ec2, provider } = setup();
    ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('error')] });
    await assert.rejects(provider.attach(VOL, TARGET), (err: unknown) => (err as VolumeProviderError).code === 'VOLUME_ERROR_STATE');
  });

  test('no free device name', async () => {
    const { ec2, provider } = setup();
    ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('available')] });
    ec2.on(DescribeVolumesCommand, devicesOf(TARGET)).resolves({
      Volumes: Array.from('fghijklmnop', (c, i) => volume('in-use', { instance: TARGET, state: 'attached', device: `/dev/sd${c}` }, `vol-0${String(i).padStart(16, '0')}`)),
    });
    await assert.rejects(provider.attach(VOL, TARGET), (err: unknown) => (err as VolumeProviderError).code === 'VOLUME_NO_DEVICE');
  });
});

describe('aws-ebs provider: throttling and transient errors', () => {
  test('RequestLimitExceeded and 5xx are retried with jittered, growing, capped delays', async () => {
    const { ec2, provider, clock, logs } = setup();
    ec2.on(DescribeVolumesCommand, byId)
      .rejectsOnce(ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503))
      .rejectsOnce(ec2Error('InternalError', 'An internal error has occurred', 500))
      .rejectsOnce(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
      .resolves({ Volumes: [volume('available')] });
    assert.equal((await provider.describe(VOL)).state, 'available');
    // random() = 0.5: half of min(5000, 200 * 2^attempt)
    assert.deepEqual(clock.sleeps, [100, 200, 400]);
    assert.equal(logs.filter((l) => l.msg === 'EC2 call failed, retrying').length, 3);
  });

  test('still throttled after every attempt: a retriable VolumeProviderError', async () => {
    const { ec2, provider, clock, calls } = setup();
    ec2.on(DescribeVolumesCommand).rejects(ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503));
    await assert.rejects(provider.describe(VOL), (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_EC2_ERROR' && err.retriable && /RequestLimitExceeded/.test(err.message));
    assert.equal(calls().length, 8);
    assert.ok(clock.sleeps.every((ms) => ms <= 2500), 'capped at delayMsMax * random');
  });

  test('throttling inside attach retries the same AttachVolume (same device)', async () => {
    const { ec2, provider, calls } = setup();
    ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('available')] });
    ec2.on(DescribeVolumesCommand, devicesOf(TARGET)).resolves({ Volumes: [] });
    ec2.on(AttachVolumeCommand).rejectsOnce(ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503)).resolves({ State: 'attaching' });
    await provider.attach(VOL, TARGET);
    assert.deepEqual(calls().filter(([n]) => n === 'AttachVolume').map(([, i]) => i.Device), ['/dev/sdf', '/dev/sdf']);
  });
});

describe('aws-ebs provider: detach', () => {
  test('plain and forced detach name the current instance', async () => {
    for (const force of [false, true]) {
      const { ec2, provider, calls, logs } = setup();
      ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('in-use', { instance: DEAD, state: 'attached' })] });
      ec2.on(DetachVolumeCommand).resolves({ State: 'detaching' });
      await provider.detach(VOL, { force, instanceId: DEAD });
      assert.deepEqual(calls(), [['DescribeVolumes', byId], ['DetachVolume', { VolumeId: VOL, InstanceId: DEAD, Force: force }]]);
      assert.equal(logs[0]!.msg, force ? 'EBS volume force-detaching (owner dead)' : 'EBS volume detaching');
    }
  });

  test('already available: nothing to do; attached to another instance than named: refused', async () => {
    const a = setup();
    a.ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('available', { instance: DEAD, state: 'detached' })] });
    await a.provider.detach(VOL, { force: true, instanceId: DEAD });
    assert.deepEqual(a.calls().map(([n]) => n), ['DescribeVolumes']);

    const b = setup();
    b.ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('in-use', { instance: TARGET, state: 'attached' })] });
    await assert.rejects(b.provider.detach(VOL, { force: true, instanceId: DEAD }), (err: unknown) => err instanceof VolumeInUseError && err.attachedTo === TARGET);
    assert.deepEqual(b.calls().map(([n]) => n), ['DescribeVolumes']);
  });

  test('stuck detaching: a plain detach waits, a forced one calls DetachVolume with Force', async () => {
    const a = setup();
    a.ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('in-use', { instance: DEAD, state: 'busy' })] });
    await a.provider.detach(VOL, { force: false });
    assert.deepEqual(a.calls().map(([n]) => n), ['DescribeVolumes']);
    a.ec2.on(DetachVolumeCommand).resolves({});
    await a.provider.detach(VOL, { force: true });
    assert.deepEqual(a.calls().at(-1), ['DetachVolume', { VolumeId: VOL, InstanceId: DEAD, Force: true }]);
  });

  test('detached meanwhile (IncorrectState "available", InvalidAttachment.NotFound): done; other errors surface', async () => {
    const ok = [
      ec2Error('IncorrectState', `Volume '${VOL}' is in the 'available' state.`),
      ec2Error('InvalidAttachment.NotFound', `Volume '${VOL}' is not attached to '${DEAD}'.`),
    ];
    for (const error of ok) {
      const { ec2, provider } = setup();
      ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('in-use', { instance: DEAD, state: 'attached' })] });
      ec2.on(DetachVolumeCommand).rejects(error);
      await provider.detach(VOL, { force: true });
    }
    const { ec2, provider } = setup();
    ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('in-use', { instance: DEAD, state: 'attached' })] });
    ec2.on(DetachVolumeCommand).rejects(ec2Error('IncorrectState', `Volume '${VOL}' is in the 'attaching' state.`));
    await assert.rejects(provider.detach(VOL, { force: true }), (err: unknown) => (err as VolumeProviderError).code === 'VOLUME_INCORRECT_STATE' && (err as VolumeProviderError).retriable);
  });
});

describe('aws-ebs provider: waits, device path, discovery', () => {
  test('waitAttached polls through eventual consistency (available, attaching) to attached', async () => {
    const { ec2, provider, clock, calls } = setup();
    ec2.on(DescribeVolumesCommand, byId)
      .resolvesOnce({ Volumes: [volume('available')] })
      .resolvesOnce({ Volumes: [volume('in-use', { instance: TARGET, state: 'attaching' })] })
      .resolves({ Volumes: [volume('in-use', { instance: TARGET, state: 'attached' })] });
    const info = await provider.waitAttached(VOL, TARGET, { timeoutMs: 30_000 });
    assert.equal(info.state, 'attached');
    assert.equal(calls().length, 3);
    // poll: half fixed, half jitter (random 0.5) of min(2000, 250 * 2^n)
    assert.deepEqual(clock.sleeps, [188, 375]);
  });

  test('waitAttached: attached elsewhere fails at once, error state fails, no progress times out', async () => {
    const a = setup();
    a.ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('in-use', { instance: DEAD, state: 'attached' })] });
    await assert.rejects(a.provider.waitAttached(VOL, TARGET, { timeoutMs: 30_000 }), VolumeInUseError);

    const b = setup();
    b.ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('error')] });
    await assert.rejects(b.provider.waitAttached(VOL, TARGET, { timeoutMs: 30_000 }), (err: unknown) => (err as VolumeProviderError).code === 'VOLUME_ERROR_STATE');

    const c = setup();
    c.ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('in-use', { instance: TARGET, state: 'attaching' })] });
    await assert.rejects(c.provider.waitAttached(VOL, TARGET, { timeoutMs: 10_000 }), (err: unknown) => {
      assert.ok(err instanceof VolumeTimeoutError);
      assert.equal(err.last?.rawState, 'in-use/attaching');
      assert.match(err.message, /not attached to i-0bbbbbbbbbbbbbbb2 after 10000 ms/);
      return true;
    });
    assert.ok(c.clock.now() - 1_000_000 <= 10_000, 'never sleeps past the deadline');
  });

  test('waitDetached: detaching, then available', async () => {
    const { ec2, provider } = setup();
    ec2.on(DescribeVolumesCommand, byId)
      .resolvesOnce({ Volumes: [volume('in-use', { instance: DEAD, state: 'detaching' })] })
      .resolves({ Volumes: [volume('available')] });
    assert.equal((await provider.waitDetached(VOL, { timeoutMs: 5000 })).state, 'available');
  });

  test('devicePath: the Nitro NVMe by-id name; /dev/xvdX on Xen; not attached here: refused', async () => {
    assert.equal(nitroDevicePath(VOL), '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0');
    const nitro = setup();
    nitro.ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('in-use', { instance: TARGET, state: 'attached', device: '/dev/sdg' })] });
    assert.equal(await nitro.provider.devicePath(VOL, TARGET), '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0');
    await assert.rejects(nitro.provider.devicePath(VOL, DEAD), VolumeInUseError);

    const xen = setup({ deviceNaming: 'xen' });
    xen.ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('in-use', { instance: TARGET, state: 'attached', device: '/dev/sdg' })] });
    assert.equal(await xen.provider.devicePath(VOL, TARGET), '/dev/xvdg');

    const attaching = setup();
    attaching.ec2.on(DescribeVolumesCommand, byId).resolves({ Volumes: [volume('in-use', { instance: TARGET, state: 'attaching' })] });
    await assert.rejects(attaching.provider.devicePath(VOL, TARGET), VolumeNotAttachedError);
  });

  test('discover: tag filters (cluster, role, extra), every page, sorted by id', async () => {
    const { ec2, provider, calls } = setup();
    ec2.on(DescribeVolumesCommand)
      .resolvesOnce({ Volumes: [volume('available', undefined, OTHER_VOL)], NextToken: 'page2' })
      .resolvesOnce({ Volumes: [volume('in-use', { instance: DEAD, state: 'attached' })], NextToken: '' });
    const found = await provider.discover({ clusterName: 'prod', tags: { 'ferry:az': 'eu-west-1a' } });
    assert.deepEqual(found.map((v) => [v.volumeId, v.state, v.brokerId]), [[VOL, 'attached', 3], [OTHER_VOL, 'available', 3]]);
    const filters = [
      { Name: 'tag:ferry:cluster', Values: ['prod'] }, { Name: 'tag:ferry:role', Values: ['wal'] }, { Name: 'tag:ferry:az', Values: ['eu-west-1a'] },
    ];
    assert.deepEqual(calls(), [
      ['DescribeVolumes', { Filters: filters, MaxResults: 500, NextToken: undefined }],
      ['DescribeVolumes', { Filters: filters, MaxResults: 500, NextToken: 'page2' }],
    ]);
  });

  test('a whole node failover in the same zone: force detach, wait, attach, wait, device path', async () => {
    const { ec2, provider, calls } = setup();
    ec2.on(DescribeVolumesCommand, byId)
      .resolvesOnce({ Volumes: [volume('in-use', { instance: DEAD, state: 'attached' })] }) // detach
      .resolvesOnce({ Volumes: [volume('in-use', { instance: DEAD, state: 'detaching' })] }) // waitDetached
      .resolvesOnce({ Volumes: [volume('available', { instance: DEAD, state: 'detached' })] })
      .resolvesOnce({ Volumes: [volume('available')] }) // attach
      .resolvesOnce({ Volumes: [volume('in-use', { instance: TARGET, state: 'attaching' })] }) // waitAttached
      .resolves({ Volumes: [volume('in-use', { instance: TARGET, state: 'attached', device: '/dev/sdf' })] });
    ec2.on(DescribeVolumesCommand, devicesOf(TARGET)).resolves({ Volumes: [] });
    ec2.on(DetachVolumeCommand).resolves({ State: 'detaching' });
    ec2.on(AttachVolumeCommand).resolves({ State: 'attaching' });

    await provider.detach(VOL, { force: true, instanceId: DEAD });
    await provider.waitDetached(VOL, { timeoutMs: 60_000 });
    await provider.attach(VOL, TARGET, { zone: 'eu-west-1a' });
    await provider.waitAttached(VOL, TARGET, { timeoutMs: 60_000 });
    assert.equal(await provider.devicePath(VOL, TARGET), nitroDevicePath(VOL));
    assert.deepEqual(calls().map(([n, i]) => `${n}${i.Force !== undefined ? ` force=${i.Force}` : ''}${i.Device ? ` ${i.Device}` : ''}`), [
      'DescribeVolumes', 'DetachVolume force=true',
      'DescribeVolumes', 'DescribeVolumes',
      'DescribeVolumes', 'DescribeVolumes', 'AttachVolume /dev/sdf',
      'DescribeVolumes', 'DescribeVolumes',
      'DescribeVolumes',
    ]);
  });
});
