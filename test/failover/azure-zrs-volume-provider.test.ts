// The azure-zrs provider through the real @azure/arm-compute SDK, whose HttpClient is a fake ARM
// answering like recorded ARM responses (fake-arm.ts): call sequences (GET disk, GET VM, PATCH
// dataDisks under If-Match, async-operation polling), the cross-zone move a ZRS disk allows, and
// every error path (404, 409 in use / conflict / being detached, 412 etag, 429, 5xx, 403, failed
// operations, zonal disks).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AzureZrsVolumeProvider, azureLunDevicePath, createAzureZrsVolumeProvider, parseAzureResourceId } from '../../src/failover/azure-zrs-volume-provider.js';
import {
  InstanceNotFoundError, VolumeInUseError, VolumeNotAttachedError, VolumeNotFoundError, VolumeProviderError, VolumeTimeoutError,
  VolumeZoneMismatchError,
} from '../../src/failover/volume-provider.js';
import { FakeArm, RG, SUB, diskId, fakeCredential, vmId } from './fake-arm.js';
import { fakeClock } from './fake-clock.js';

const WAL = diskId('ferry-broker-1-wal');
const B1 = vmId('ferry-broker-1');
const B2 = vmId('ferry-broker-2');
const TAGS = { 'ferry-cluster': 'prod', 'ferry-role': 'wal', 'ferry-broker-id': '1' };

async function setup(init: (arm: FakeArm) => void = () => {}) {
  const arm = new FakeArm();
  arm.addDisk({ name: 'ferry-broker-1-wal', tags: TAGS });
  arm.addVm({ name: 'ferry-broker-1', zones: ['1'] });
  arm.addVm({ name: 'ferry-broker-2', zones: ['2'] });
  init(arm);
  const clock = fakeClock();
  const logs: string[] = [];
  const provider = await createAzureZrsVolumeProvider({
    subscriptionId: SUB, resourceGroup: RG, credential: fakeCredential, lroIntervalMs: 1, clock,
    clientOptions: { httpClient: arm.httpClient },
    log: { info: (_o, msg) => logs.push(msg), warn: (_o, msg) => logs.push(msg) },
  });
  /** The request log with ids shortened: "GET disk/x", "PATCH vm/y", "GET operation". */
  const calls = () => arm.log.map((l) => l
    .replace(/ \/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/disks\/(.+)$/, ' disk/$1')
    .replace(/ \/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/virtualMachines\/(.+)$/, ' vm/$1')
    .replace(/ \/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/disks$/, ' disks')
    .replace(/ \/subscriptions\/.*\/operations\/.*$/, ' operation'));
  return { arm, provider, clock, logs, calls };
}

function armError(status: number, code: string, message: string, headers: Record<string, string> = {}) {
  return { status, body: { error: { code, message } }, headers };
}

describe('azure-zrs provider: ids, describe', () => {
  test('resource ids and bare names; wrong type, other subscription, bare name without a resource group', () => {
    const defaults = { subscriptionId: SUB, resourceGroup: RG };
    assert.deepEqual(parseAzureResourceId(WAL, 'disks', defaults), { subscriptionId: SUB, resourceGroup: RG, name: 'ferry-broker-1-wal', key: WAL.toLowerCase() });
    assert.equal(parseAzureResourceId('ferry-broker-1-wal', 'disks', defaults).key, WAL.toLowerCase());
    assert.equal(parseAzureResourceId(WAL.toUpperCase().replace('/SUBSCRIPTIONS/', '/subscriptions/'), 'disks', defaults).name, 'FERRY-BROKER-1-WAL');
    const bad = (f: () => unknown, re: RegExp) => assert.throws(f, (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_BAD_ID' && re.test(err.message));
    bad(() => parseAzureResourceId(B1, 'disks', defaults), /virtualMachines id, not disks/);
    bad(() => parseAzureResourceId(WAL.replace(SUB, 'other-sub'), 'disks', defaults), /subscription other-sub/);
    bad(() => parseAzureResourceId('wal', 'disks', { subscriptionId: SUB, resourceGroup: null }), /needs azure.resource.group/);
    bad(() => parseAzureResourceId('../x', 'disks', defaults), /not an Azure disks/);
    assert.equal(azureLunDevicePath(7), '/dev/disk/azure/scsi1/lun7');
  });

  test('describe: ZRS (no zone), attached, zonal LRS, exported (error), missing', async () => {
    const { provider } = await setup((arm) => {
      arm.addDisk({ name: 'attached', managedBy: B2, tags: {} });
      arm.addDisk({ name: 'zonal', sku: 'Premium_LRS', zones: ['3'], tags: {} });
      arm.addDisk({ name: 'exported', diskState: 'ActiveSAS', tags: {} });
    });
    assert.deepEqual(await provider.describe(WAL), {
      volumeId: WAL, state: 'available', attachedTo: null, zone: null, tags: TAGS, rawState: 'Unattached (Premium_ZRS)', brokerId: 1,
    });
    const attached = await provider.describe('attached');
    assert.deepEqual([attached.state, attached.attachedTo], ['attached', B2]);
    assert.equal((await provider.describe('zonal')).zone, '3');
    assert.equal((await provider.describe('exported')).state, 'error');
    await assert.rejects(provider.describe('missing'), VolumeNotFoundError);
  });
});

describe('azure-zrs provider: attach', () => {
  test('next free LUN, caching None, existing disks kept, If-Match, the operation polled; devicePath from the LUN', async () => {
    const { arm, provider, calls, logs } = await setup((a) => {
      a.addDisk({ name: 'other-data', tags: {}, managedBy: B2 });
      a.vms.get('ferry-broker-2')!.dataDisks = [{ lun: 0, name: 'other-data', createOption: 'Attach', caching: 'ReadOnly', managedDisk: { id: diskId('other-data') } }];
    });
    arm.asyncPolls = 2;
    await provider.attach(WAL, B2);
    assert.deepEqual(calls(), [
      'GET disk/ferry-broker-1-wal', 'GET vm/ferry-broker-2', 'PATCH vm/ferry-broker-2',
      'GET operation', 'GET operation', 'GET operation', 'GET vm/ferry-broker-2',
    ]);
    assert.equal(arm.patches.length, 1);
    assert.equal(arm.patches[0]!.ifMatch, '"1"');
    const sent = arm.patches[0]!.body.properties!.storageProfile!.dataDisks!;
    assert.deepEqual(sent.map((d) => [d.lun, d.managedDisk.id, d.createOption, d.caching]), [
      [0, diskId('other-data'), 'Attach', 'ReadOnly'],
      [1, WAL, 'Attach', 'None'],
    ]);
    assert.equal(await provider.devicePath(WAL, B2), '/dev/disk/azure/scsi1/lun1');
    assert.deepEqual(logs, ['Azure disk attached']);
  });

  test('already attached to the VM: one GET; attached elsewhere: VolumeInUseError without a PATCH', async () => {
    const a = await setup((arm) => { arm.disks.get('ferry-broker-1-wal')!.managedBy = B1.toUpperCase().replace('/SUBSCRIPTIONS/', '/subscriptions/'); });
    await a.provider.attach(WAL, B1);
    assert.deepEqual(a.calls(), ['GET disk/ferry-broker-1-wal']);
    await assert.rejects(a.provider.attach(WAL, B2), (err: unknown) => err instanceof VolumeInUseError && /force if that VM is dead/.test(err.message));
    assert.equal(a.arm.patches.length, 0);
  });

  test('the VM changed under us (412): read again and PATCH with the new etag', async () => {
    const { arm, provider } = await setup();
    arm.inject(/^PATCH /, armError(412, 'PreconditionFailed', 'The condition specified using HTTP conditional header(s) is not met.'));
    await provider.attach(WAL, B2);
    assert.equal(arm.patches.length, 1, 'the injected 412 is not recorded as a patch');
    assert.equal(arm.log.filter((l) => l.startsWith('PATCH')).length, 2);
    assert.equal((await provider.describe(WAL)).attachedTo, B2);
  });

  test('409 errors: already attached elsewhere (lost a race), another operation in progress, being detached (failed operation)', async () => {
    const a = await setup();
    a.arm.inject(/^PATCH /, armError(409, 'OperationNotAllowed', `Disk 'ferry-broker-1-wal' is already attached to VM '${B1}'.`));
    await assert.rejects(a.provider.attach(WAL, B2), (err: unknown) => err instanceof VolumeInUseError && !err.retriable);

    const b = await setup();
    b.arm.inject(/^PATCH /, armError(409, 'Conflict', "Operation 'Update' is not allowed since another operation is in progress on the VM."));
    await assert.rejects(b.provider.attach(WAL, B2), (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_CONFLICT' && err.retriable);

    const c = await setup();
    c.arm.failNextOperation = { code: 'AttachDiskWhileBeingDetached', message: "Cannot attach data disk 'ferry-broker-1-wal' since it is being detached." };
    await assert.rejects(c.provider.attach(WAL, B2), (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_INCORRECT_STATE' && err.retriable && /being detached/.test(err.message));
    assert.equal((await c.provider.describe(WAL)).state, 'available', 'a failed operation changed nothing');

    const d = await setup();
    d.arm.failNextOperation = { code: 'InternalExecutionError', message: 'An internal execution error occurred.' };
    await assert.rejects(d.provider.attach(WAL, B2), (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_ARM_ERROR' && err.retriable);
  });

  test('throttled (429 with Retry-After) and 5xx: retried, honouring Retry-After; persistent 5xx gives up retriable', async () => {
    const a = await setup();
    a.arm.inject(/^GET .*disks\//, armError(429, 'TooManyRequests', 'Too many requests', { 'retry-after': '3' }));
    a.arm.inject(/^GET .*virtualMachines\//, armError(503, 'ServiceUnavailable', 'Try again'));
    await a.provider.attach(WAL, B2);
    assert.deepEqual(a.clock.sleeps, [3000, 250], 'Retry-After 3 s, then jittered backoff (0.5 * 500 ms)');
    assert.equal((await a.provider.describe(WAL)).attachedTo, B2);

    const b = await setup();
    for (let i = 0; i < 6; i++) b.arm.inject(/^GET .*disks\//, armError(500, 'InternalServerError', 'boom'));
    await assert.rejects(b.provider.describe(WAL), (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_ARM_ERROR' && err.retriable);
    assert.equal(b.arm.log.length, 6);
  });

  test('zonal disks: refused for a VM in another zone, before any PATCH or from ARM\'s answer', async () => {
    const a = await setup((arm) => arm.addDisk({ name: 'zonal', sku: 'Premium_LRS', zones: ['1'], tags: {} }));
    await assert.rejects(a.provider.attach('zonal', B2), (err: unknown) => err instanceof VolumeZoneMismatchError && err.volumeZone === '1' && err.instanceZone === '2' && /use a ZRS disk/.test(err.message));
    await assert.rejects(a.provider.attach('zonal', B1, { zone: '3' }), VolumeZoneMismatchError);
    assert.equal(a.arm.patches.length, 0);
    await a.provider.attach('zonal', B1); // same zone: fine

    const b = await setup();
    b.arm.inject(/^PATCH /, armError(400, 'BadRequest', 'Disk ferry-broker-1-wal is in zone 1; cannot attach to a VM in zone 2.'));
    await assert.rejects(b.provider.attach(WAL, B2), VolumeZoneMismatchError);
  });

  test('missing VM, missing disk, not allowed (403)', async () => {
    const a = await setup();
    await assert.rejects(a.provider.attach(WAL, vmId('gone')), (err: unknown) => err instanceof InstanceNotFoundError && err.instanceId === 'gone');
    await assert.rejects(a.provider.attach(diskId('gone'), B1), VolumeNotFoundError);
    a.arm.inject(/^GET /, armError(403, 'AuthorizationFailed', 'The client does not have authorization to perform action Microsoft.Compute/disks/read'));
    await assert.rejects(a.provider.describe(WAL), (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_UNAUTHORIZED' && !err.retriable);
  });
});

describe('azure-zrs provider: detach, waits, discovery', () => {
  test('plain and forced detach PATCH the entry toBeDetached (ForceDetach when forced)', async () => {
    for (const force of [false, true]) {
      const { arm, provider, logs } = await setup();
      await provider.attach(WAL, B1);
      await provider.detach(WAL, { force, instanceId: B1 });
      const sent = arm.patches.at(-1)!.body.properties!.storageProfile!.dataDisks!;
      assert.deepEqual(sent.map((d) => [d.lun, d.toBeDetached, d.detachOption]), [[0, true, force ? 'ForceDetach' : undefined]]);
      assert.equal((await provider.describe(WAL)).state, 'available');
      assert.equal(logs.at(-1), force ? 'Azure disk force-detached (owner dead)' : 'Azure disk detached');
    }
  });

  test('detach: already detached is a no-op; attached to another VM than named is refused; a deleted VM is reported', async () => {
    const a = await setup();
    await a.provider.detach(WAL, { force: true });
    assert.deepEqual(a.calls(), ['GET disk/ferry-broker-1-wal']);
    await a.provider.attach(WAL, B1);
    await assert.rejects(a.provider.detach(WAL, { force: true, instanceId: B2 }), (err: unknown) => err instanceof VolumeInUseError && err.attachedTo === B1);

    const b = await setup((arm) => { arm.disks.get('ferry-broker-1-wal')!.managedBy = vmId('deleted'); });
    await assert.rejects(b.provider.detach(WAL, { force: true }), (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_ORPHANED' && err.retriable);
  });

  test('a zone loss: the ZRS disk moves from a VM in zone 1 to a VM in zone 2', async () => {
    const { provider, calls } = await setup();
    await provider.attach(WAL, B1);
    const before = calls().length;
    await provider.detach(WAL, { force: true, instanceId: B1 });
    await provider.waitDetached(WAL, { timeoutMs: 10_000 });
    await provider.attach(WAL, B2, { zone: '2' });
    const info = await provider.waitAttached(WAL, B2, { timeoutMs: 10_000 });
    assert.deepEqual([info.state, info.attachedTo, info.zone], ['attached', B2, null]);
    assert.equal(await provider.devicePath(WAL, B2), '/dev/disk/azure/scsi1/lun0');
    await assert.rejects(provider.devicePath(WAL, B1), VolumeInUseError);
    assert.deepEqual(calls().slice(before), [
      'GET disk/ferry-broker-1-wal', 'GET vm/ferry-broker-1', 'PATCH vm/ferry-broker-1', 'GET operation', 'GET operation', 'GET vm/ferry-broker-1',
      'GET disk/ferry-broker-1-wal',
      'GET disk/ferry-broker-1-wal', 'GET vm/ferry-broker-2', 'PATCH vm/ferry-broker-2', 'GET operation', 'GET operation', 'GET vm/ferry-broker-2',
      'GET disk/ferry-broker-1-wal', 'GET vm/ferry-broker-2',
      'GET vm/ferry-broker-2', // devicePath B2
      'GET vm/ferry-broker-1', 'GET disk/ferry-broker-1-wal', // devicePath B1: not there, then who has it
    ]);
  });

  test('waits time out with the last state; devicePath of an unattached disk is refused', async () => {
    const { provider } = await setup();
    await assert.rejects(provider.waitAttached(WAL, B1, { timeoutMs: 5000 }), (err: unknown) => err instanceof VolumeTimeoutError && err.last?.state === 'available');
    await assert.rejects(provider.devicePath(WAL, B1), VolumeNotAttachedError);
    await provider.attach(WAL, B1);
    await assert.rejects(provider.waitDetached(WAL, { timeoutMs: 5000 }), VolumeTimeoutError);
    await assert.rejects(provider.waitAttached(WAL, B2, { timeoutMs: 5000 }), VolumeInUseError);
  });

  test('discover: every page of the resource group, by ferry-cluster / ferry-role / extra tags', async () => {
    const { provider, calls } = await setup((arm) => {
      arm.addDisk({ name: 'ferry-broker-2-wal', tags: { ...TAGS, 'ferry-broker-id': '2' } });
      arm.addDisk({ name: 'other-cluster', tags: { ...TAGS, 'ferry-cluster': 'dev' } });
      arm.addDisk({ name: 'os', tags: { 'ferry-cluster': 'prod' } });
    });
    const all = await provider.discover({ clusterName: 'prod' });
    assert.deepEqual(all.map((v) => [v.volumeId, v.brokerId]), [[WAL, 1], [diskId('ferry-broker-2-wal'), 2]]);
    assert.deepEqual(calls(), ['GET disks', 'GET disks']);
    assert.deepEqual((await provider.discover({ clusterName: 'prod', tags: { 'ferry-broker-id': '2' } })).map((v) => v.brokerId), [2]);
  });

  test('the SDK is loaded lazily: the provider module imports only types from @azure', () => {
    const source = readFileSync(new URL('../../src/failover/azure-zrs-volume-provider.ts', import.meta.url), 'utf8');
    const staticImports = [...source.matchAll(/^import (?!type )[^;]*from '([^']+)'/gm)].map((m) => m[1]);
    assert.ok(staticImports.every((s) => !s!.startsWith('@azure/')), `static imports: ${staticImports.join(', ')}`);
    assert.match(source, /await import\('@azure\/arm-compute'\)/);
    assert.ok(AzureZrsVolumeProvider.name);
  });
});
