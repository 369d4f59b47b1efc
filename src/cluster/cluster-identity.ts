// The cluster id Kafka clients see (Metadata, DescribeCluster): 16 random bytes as 22 characters
// of unpadded base64url, as Kafka formats its UUIDs. Created once, by whichever broker gets there
// first (create-if-absent), and read from the store afterwards.
//
// API: loadOrCreateClusterId(store, clusterName): Promise<string>; newClusterId(): string

import { randomBytes } from 'node:crypto';
import { decodeJson, encodeJson, type MetadataStore } from './metadata-store.js';
import { MetadataKeys } from './metadata-keys.js';

export function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

export async function loadOrCreateClusterId(store: MetadataStore, clusterName: string): Promise<string> {
  const key = new MetadataKeys(clusterName).clusterId();
  const existing = await store.get(key);
  if (existing) return readId(existing.value, key);
  const id = newClusterId();
  const r = await store.txn(
    [{ key, target: 'createRevision', op: '==', value: 0 }],
    [{ type: 'put', key, value: encodeJson({ id }) }],
  );
  if (r.succeeded) return id;
  const winner = await store.get(key);
  if (!winner) throw new Error(`${key} vanished right after a concurrent creation`);
  return readId(winner.value, key);
}

function readId(value: Buffer, key: string): string {
  const { id } = decodeJson<{ id: string }>(value, key);
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(id)) throw new Error(`${key} holds a malformed cluster id ${JSON.stringify(id)}`);
  return id;
}
