/**
 * The broker's view of its metadata store: the typed registries of src/cluster over one
 * MetadataStore (the embedded local backend for now), plus the few keys the broker owns:
 *
 *   volumes/<owner>              {"epoch"}    the WAL owner's epoch, bumped on every open
 *   log-starts/<topicId>/<p>     {"offset"}   log start offsets moved by DeleteRecords and retention
 *   producers/<topicId>/<p>      idempotent-producer snapshots (written by the uploader, see object-registry.ts)
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../ops/config.js';
import {
  LocalMetadataStore, MetadataKeys, ProducerIdAllocator, MetadataGroupOffsetStore,
  loadOrCreateClusterId, encodeJson, decodeJson, escapeSegment, type MetadataStore,
} from '../cluster/index.js';
import { TopicRegistry } from '../topics/topic-registry.js';

export interface ClusterMetadata {
  store: MetadataStore;
  keys: MetadataKeys;
  clusterId: string;
  topics: TopicRegistry;
  producerIds: ProducerIdAllocator;
  groupOffsets: MetadataGroupOffsetStore;
  /** Raise and return the epoch of the WAL volume owned by `owner` (never goes backwards). */
  claimVolumeEpoch(owner: string): Promise<number>;
  logStarts(topicId: string): Promise<Map<number, number>>;
  setLogStart(topicId: string, partition: number, offset: number): Promise<void>;
  /** Drop the broker-owned per-partition keys of a deleted topic (log starts, producer snapshots). */
  deletePartitionState(topicId: string): Promise<void>;
  close(): Promise<void>;
}

export async function openLocalMetadata(settings: { dataDir: string; clusterName: string; nodeId: number }, log: Logger): Promise<ClusterMetadata> {
  const store = await LocalMetadataStore.open(join(settings.dataDir, 'meta'));
  try {
    return await wrapStore(store, settings, log);
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
}

/** Cluster mode: the etcd backend (loaded only then: it pulls in gRPC). */
export async function openEtcdMetadata(settings: { clusterName: string; nodeId: number; config: BrokerConfig }, log: Logger): Promise<ClusterMetadata> {
  const { EtcdMetadataStore } = await import('../cluster/etcd-metadata-store.js');
  const c = settings.config;
  if (c.etcdEndpoints.length === 0) throw new Error('config etcd.endpoints: required when metadata.backend=etcd');
  const store = await EtcdMetadataStore.open({ endpoints: c.etcdEndpoints, username: c.etcdUsername, password: c.etcdPassword });
  try {
    return await wrapStore(store, settings, log);
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
}

export async function wrapStore(store: MetadataStore, settings: { clusterName: string; nodeId: number }, log: Logger): Promise<ClusterMetadata> {
  const keys = new MetadataKeys(settings.clusterName);
  const clusterId = await loadOrCreateClusterId(store, settings.clusterName);
  const volumeKey = (owner: string) => `${keys.root}volumes/${escapeSegment(owner)}`;
  const logStartPrefix = (topicId: string) => `${keys.root}log-starts/${topicId}/`;
  log.debug({ clusterId }, 'metadata store open');
  return {
    store, keys, clusterId,
    topics: new TopicRegistry(store, { clusterName: settings.clusterName, nodeId: settings.nodeId }),
    producerIds: new ProducerIdAllocator(store, { clusterName: settings.clusterName }),
    groupOffsets: new MetadataGroupOffsetStore(store, { clusterName: settings.clusterName }),
    async claimVolumeEpoch(owner) {
      const key = volumeKey(owner);
      for (;;) {
        const cur = await store.get(key);
        const epoch = cur ? decodeJson<{ epoch: number }>(cur.value, key).epoch + 1 : 1;
        const r = await store.txn(
          [{ key, target: 'modRevision', op: '==', value: cur ? cur.modRevision : 0 }],
          [{ type: 'put', key, value: encodeJson({ owner, epoch }) }],
        );
        if (r.succeeded) return epoch;
      }
    },
    async logStarts(topicId) {
      const out = new Map<number, number>();
      for (const kv of await store.list(logStartPrefix(topicId))) {
        const p = Number(kv.key.slice(logStartPrefix(topicId).length));
        out.set(p, decodeJson<{ offset: number }>(kv.value, kv.key).offset);
      }
      return out;
    },
    async setLogStart(topicId, partition, offset) {
      await store.put(`${logStartPrefix(topicId)}${partition}`, encodeJson({ offset }));
    },
    async deletePartitionState(topicId) {
      await store.txn([], [
        { type: 'deletePrefix', prefix: logStartPrefix(topicId) },
        { type: 'deletePrefix', prefix: `${keys.root}producers/${topicId}/` },
      ]);
    },
    close: () => store.close(),
  };
}
