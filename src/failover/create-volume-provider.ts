// createVolumeProvider(config, store): the VolumeProvider that volume.provider names, checked
// against the broker's other settings. Cloud SDKs are imported only when their provider is chosen,
// so a local broker never loads them (and @azure/* never runs on a Node it does not support
// unless asked to).
//
// API: createVolumeProvider(config, store, options?) -> Promise<VolumeProvider>, VolumeProviderConfig

import { basename, join, resolve } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { TokenCredential } from '@azure/core-auth';
import { MetadataKeys } from '../cluster/metadata-keys.js';
import type { MetadataStore } from '../cluster/metadata-store.js';
import type { BrokerConfig } from '../ops/config.js';
import { LOCAL_WAL_FILE_NAME, LocalVolumeProvider } from './local-volume-provider.js';
import { VolumeProviderError, type VolumeLog, type VolumeProvider } from './volume-provider.js';

export type VolumeProviderConfig = Pick<BrokerConfig,
  'clusterName' | 'walPath' | 'volumeProvider' | 'volumeId' | 'instanceId' | 'volumeLocalRoot' | 'awsRegion' | 'azureSubscriptionId' | 'azureResourceGroup'>;

export interface CreateVolumeProviderOptions {
  log?: VolumeLog;
  /** aws-ebs: use this client (tests: a mocked one) instead of one for aws.region. */
  ec2Client?: EC2Client;
  /** azure-zrs: credential (default DefaultAzureCredential) and extra SDK client options. */
  azure?: { credential?: TokenCredential; clientOptions?: Record<string, unknown>; lroIntervalMs?: number };
}

function configError(key: string, message: string): VolumeProviderError {
  return new VolumeProviderError('VOLUME_CONFIG', `config ${key}: ${message}`);
}

export async function createVolumeProvider(config: VolumeProviderConfig, store: MetadataStore, options: CreateVolumeProviderOptions = {}): Promise<VolumeProvider> {
  switch (config.volumeProvider) {
    case 'local': {
      const walFileName = config.volumeId === null ? LOCAL_WAL_FILE_NAME : basename(config.walPath);
      if (config.volumeId !== null) {
        const expected = join(resolve(config.volumeLocalRoot), config.volumeId, walFileName);
        if (resolve(config.walPath) !== expected) {
          throw configError('wal.path', `${config.walPath} is not inside local volume ${config.volumeId} (expected ${expected}: <volume.local.root>/<volume.id>/<file>)`);
        }
      }
      return new LocalVolumeProvider({ root: config.volumeLocalRoot, store, keys: new MetadataKeys(config.clusterName), walFileName });
    }
    case 'aws-ebs': {
      if (config.volumeId !== null && !/^vol-[0-9a-f]{8,32}$/.test(config.volumeId)) throw configError('volume.id', `${config.volumeId} is not an EBS volume id (vol-...)`);
      if (config.instanceId !== null && !/^i-[0-9a-f]{8,32}$/.test(config.instanceId)) throw configError('instance.id', `${config.instanceId} is not an EC2 instance id (i-...)`);
      const { AwsEbsVolumeProvider, createEc2Client } = await import('./aws-ebs-volume-provider.js');
      return new AwsEbsVolumeProvider({ client: options.ec2Client ?? createEc2Client(config.awsRegion), log: options.log });
    }
    case 'azure-zrs': {
      const fromId = config.volumeId === null ? null : /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\//i.exec(config.volumeId);
      const subscriptionId = config.azureSubscriptionId ?? fromId?.[1] ?? null;
      const resourceGroup = config.azureResourceGroup ?? fromId?.[2] ?? null;
      if (subscriptionId === null) throw configError('azure.subscription.id', 'required for volume.provider=azure-zrs unless volume.id is a disk resource id');
      const { createAzureZrsVolumeProvider } = await import('./azure-zrs-volume-provider.js');
      return createAzureZrsVolumeProvider({
        subscriptionId, resourceGroup, log: options.log,
        credential: options.azure?.credential, clientOptions: options.azure?.clientOptions, lroIntervalMs: options.azure?.lroIntervalMs,
      });
    }
  }
}

