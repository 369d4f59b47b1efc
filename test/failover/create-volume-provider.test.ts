// createVolumeProvider: each volume.provider from a loaded config, the local provider's root and
// WAL file checked against wal.path (the compose layout works unchanged), id checks for the clouds.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../src/ops/config.js';
import { AwsEbsVolumeProvider } from '../../src/failover/aws-ebs-volume-provider.js';
import { AzureZrsVolumeProvider } from '../../src/failover/azure-zrs-volume-provider.js';
import { createVolumeProvider } from '../../src/failover/create-volume-provider.js';
import { createLocalVolume, LocalVolumeProvider } from '../../src/failover/local-volume-provider.js';
import { VolumeProviderError } from '../../src/failover/volume-provider.js';
import { tempStore } from '../cluster/temp-store.js';
import { FakeArm, RG, SUB, diskId, fakeCredential } from './fake-arm.js';

const configOf = (env: Record<string, string>, cwd = '/') => loadConfig({ argv: [], env, cwd });
const isConfigError = (key: string) => (err: unknown) => err instanceof VolumeProviderError && err.code === 'VOLUME_CONFIG' && err.message.startsWith(`config ${key}:`);

describe('createVolumeProvider', () => {
  test('defaults: local, root <data.dir>/volumes, aws.region follows s3.region', () => {
    const c = configOf({}, '/srv');
    assert.equal(c.volumeProvider, 'local');
    assert.equal(c.volumeId, null);
    assert.equal(c.instanceId, null);
    assert.equal(c.volumeLocalRoot, '/srv/data/volumes');
    assert.equal(c.awsRegion, 'us-east-1');
    assert.equal(configOf({ FERRY_S3_REGION: 'eu-west-1' }).awsRegion, 'eu-west-1');
    assert.equal(configOf({ FERRY_S3_REGION: 'eu-west-1', FERRY_AWS_REGION: 'eu-central-1' }).awsRegion, 'eu-central-1');
    assert.equal(c.volumeAttachTimeoutMs, 120000);
  });

  test('local, the compose layout: root derived from wal.path and volume.id; a real attach/devicePath round trip', async (t) => {
    const { store } = await tempStore(t);
    const root = await mkdtemp(join(tmpdir(), 'ferry-volumes-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const c = configOf({ FERRY_VOLUME_PROVIDER: 'local', FERRY_VOLUME_ID: 'wal-broker-1', FERRY_INSTANCE_ID: 'broker-1', FERRY_WAL_PATH: `${root}/wal-broker-1/ferry.wal` });
    assert.equal(c.volumeLocalRoot, root);
    const provider = await createVolumeProvider(c, store);
    assert.ok(provider instanceof LocalVolumeProvider);
    await createLocalVolume(root, 'wal-broker-1');
    await provider.attach(c.volumeId!, c.instanceId!);
    assert.equal(await provider.devicePath(c.volumeId!, c.instanceId!), c.walPath);
  });

  test('local: a wal.path outside the volume is a config error', async (t) => {
    const { store } = await tempStore(t);
    const c = configOf({ FERRY_VOLUME_ID: 'wal-1', FERRY_VOLUME_LOCAL_ROOT: '/v', FERRY_WAL_PATH: '/elsewhere/ferry.wal' });
    await assert.rejects(createVolumeProvider(c, store), isConfigError('wal.path'));
  });

  test('aws-ebs: ids checked; the client is built for aws.region or injected', async (t) => {
    const { store } = await tempStore(t);
    await assert.rejects(createVolumeProvider(configOf({ FERRY_VOLUME_PROVIDER: 'aws-ebs', FERRY_VOLUME_ID: 'wal-1' }), store), isConfigError('volume.id'));
    await assert.rejects(createVolumeProvider(configOf({ FERRY_VOLUME_PROVIDER: 'aws-ebs', FERRY_INSTANCE_ID: 'broker-1' }), store), isConfigError('instance.id'));
    const built = await createVolumeProvider(configOf({ FERRY_VOLUME_PROVIDER: 'aws-ebs', FERRY_AWS_REGION: 'eu-west-3' }), store);
    assert.ok(built instanceof AwsEbsVolumeProvider);
    assert.equal(await (built as unknown as { client: EC2Client }).client.config.region(), 'eu-west-3');
    await built.close();

    const client = new EC2Client({ region: 'eu-west-1', maxAttempts: 1, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
    mockClient(client).on(DescribeVolumesCommand).resolves({ Volumes: [{ VolumeId: 'vol-0123456789abcdef0', State: 'available', AvailabilityZone: 'eu-west-1b' }] });
    const provider = await createVolumeProvider(configOf({ FERRY_VOLUME_PROVIDER: 'aws-ebs', FERRY_VOLUME_ID: 'vol-0123456789abcdef0', FERRY_INSTANCE_ID: 'i-0123456789abcdef0' }), store, { ec2Client: client });
    assert.equal((await provider.describe('vol-0123456789abcdef0')).zone, 'eu-west-1b');
    assert.equal(provider.crossZone, false);
  });

  test('azure-zrs: subscription and resource group from volume.id, or from their keys; neither is a config error', async (t) => {
    const { store } = await tempStore(t);
    await assert.rejects(createVolumeProvider(configOf({ FERRY_VOLUME_PROVIDER: 'azure-zrs', FERRY_VOLUME_ID: 'wal-1' }), store), isConfigError('azure.subscription.id'));
    const arm = new FakeArm();
    arm.addDisk({ name: 'wal-1', tags: {} });
    const provider = await createVolumeProvider(configOf({ FERRY_VOLUME_PROVIDER: 'azure-zrs', FERRY_VOLUME_ID: diskId('wal-1') }), store, { azure: { credential: fakeCredential, clientOptions: { httpClient: arm.httpClient } } });
    assert.ok(provider instanceof AzureZrsVolumeProvider);
    assert.equal(provider.crossZone, true);
    assert.equal((await provider.describe('wal-1')).state, 'available', 'a bare name uses the resource group taken from volume.id');
    const byKeys = await createVolumeProvider(configOf({ FERRY_VOLUME_PROVIDER: 'azure-zrs', FERRY_AZURE_SUBSCRIPTION_ID: SUB, FERRY_AZURE_RESOURCE_GROUP: RG }), store, { azure: { credential: fakeCredential, clientOptions: { httpClient: arm.httpClient } } });
    assert.equal((await byKeys.describe(diskId('wal-1'))).state, 'available');
  });
});
