/**
 * A cluster for failover tests: real etcd, broker processes with local WAL volumes (one
 * directory per volume under a shared root, attachments in etcd), one rack per simulated AZ, and
 * an object store shared by all (radosgw or a directory).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { waitFor } from '../helpers/wait.js';
import type { EtcdServer } from '../helpers/etcd.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { MetadataKeys, listFailovers, type FailoverRecord } from '../../src/cluster/index.js';

export interface VolumeClusterOptions {
  name: string;
  racks: string[];
  etcd: EtcdServer;
  /** Object store config (object.store=s3 with radosgw, or object.store.path). */
  objectStore: Record<string, string>;
  /** Extra config for every broker. */
  config?: Record<string, string>;
  env?: Record<string, string>;
}

export class VolumeCluster {
  readonly root = mkdtempSync(join(tmpdir(), 'ferry-volumes-'));
  readonly brokers: BrokerProcess[] = [];
  private meta: EtcdMetadataStore | null = null;

  constructor(readonly o: VolumeClusterOptions) {
    for (const [i, rack] of o.racks.entries()) {
      const id = i + 1;
      this.brokers.push(new BrokerProcess({
        config: {
          'metadata.backend': 'etcd', 'etcd.endpoints': o.etcd.endpoint, 'cluster.name': o.name, 'node.id': String(id), rack,
          'volume.provider': 'local', 'volume.local.root': this.root, 'volume.id': `vol-${id}`, 'instance.id': `inst-${id}`,
          'wal.path': join(this.root, `vol-${id}`, 'ferry.wal'),
          'broker.session.timeout.ms': '3000',
          // Long: at a kill the WAL holds seconds of acknowledged data that only the replay saves.
          'upload.interval.ms': '20000',
          ...o.objectStore, ...(o.config ?? {}),
        },
        env: o.env,
      }));
    }
  }

  broker(id: number): BrokerProcess { return this.brokers[id - 1]!; }

  async start(): Promise<void> {
    await Promise.all(this.brokers.map((b) => b.start(60_000)));
    await waitFor(async () => (await this.metadata('x', this.brokers[0]!)).brokers.length === this.brokers.length, 20_000, 'every broker registered');
  }

  /** Metadata from the first running broker (or `via`). */
  async metadata(topic: string, via?: BrokerProcess): Promise<any> {
    const b = via ?? this.brokers.find((x) => x.running)!;
    const c = await RawKafkaConnection.connect(b.bootstrap);
    try {
      return await c.request(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    } finally { c.close(); }
  }

  async leaders(topic: string): Promise<number[]> {
    return (await this.metadata(topic)).topics[0].partitions.sort((a: any, b: any) => a.partitionIndex - b.partitionIndex).map((p: any) => p.leaderId as number);
  }

  async store(): Promise<EtcdMetadataStore> {
    this.meta ??= await EtcdMetadataStore.open({ endpoints: [this.o.etcd.endpoint] });
    return this.meta;
  }

  async failovers(): Promise<FailoverRecord[]> {
    return listFailovers(await this.store(), new MetadataKeys(this.o.name));
  }

  async dispose(): Promise<void> {
    for (const b of this.brokers) {
      if (b.pid) try { process.kill(b.pid, 'SIGCONT'); } catch { /* gone */ }
      await b.dispose();
    }
    await this.meta?.close().catch(() => {});
    rmSync(this.root, { recursive: true, force: true });
  }
}
