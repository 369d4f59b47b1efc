// The two per-partition records of the control plane and their codecs, shared by the controller
// (writer) and every broker's LeadershipView (reader):
//
//   partitions/<topicId>/<p>        {"leader": nodeId, "leaderEpoch": n}     written by TopicRegistry (epoch 0) and the controller
//   partition-moves/<topicId>/<p>   {"from","to","epoch","state": "moving"|"released","requestedMs"}   a graceful move (DESIGN §6)
//
// Why the move marker is its own key and not a field of the partition record: the partition
// record's modRevision is the commit guard of every upload (object-registry.ts, uploader.ts
// caches it per partition). Writing "moving" into the record would change that revision and make
// the old leader's final upload -- the very thing the move waits for -- fail its guard. As its own
// key the record changes only when the leader or epoch changes, which is exactly when the old
// leader must be fenced.
//
// A move record is valid only while from == record.leader and epoch == record.leaderEpoch; any
// other move record is stale (the controller deletes it, readers ignore it).
//
// API: PartitionLeaderRecord, PartitionMoveRecord, MoveState
//      encodePartitionRecord / decodePartitionRecord, encodeMoveRecord / decodeMoveRecord
//      parsePartitionStateKey(keys, key) -> { kind: 'partition' | 'move', topicId, partition } | null
//      partitionKey(topicId, p) -> "topicId/p" (map key used in memory)

import { decodeJson, encodeJson, MetadataStoreError } from './metadata-store.js';
import type { MetadataKeys } from './metadata-keys.js';

export interface PartitionLeaderRecord {
  leader: number;
  leaderEpoch: number;
}

export type MoveState = 'moving' | 'released';

export interface PartitionMoveRecord {
  /** The leader the move takes the partition from (the record's leader when requested). */
  from: number;
  /** The broker that will lead once the move completes. */
  to: number;
  /** The record's leaderEpoch when requested; completion writes epoch + 1. */
  epoch: number;
  /** moving: the leader must stop writes, upload, commit, then release. released: done by the leader. */
  state: MoveState;
  /** Wall-clock ms when requested (or retargeted): a move stuck in "moving" too long is cancelled. */
  requestedMs?: number;
}

export function encodePartitionRecord(r: PartitionLeaderRecord): Buffer {
  return encodeJson({ leader: r.leader, leaderEpoch: r.leaderEpoch });
}

export function decodePartitionRecord(value: Buffer, what: string): PartitionLeaderRecord {
  const r = decodeJson<Partial<PartitionLeaderRecord>>(value, what);
  if (!isNodeId(r.leader) || !isEpoch(r.leaderEpoch)) throw new MetadataStoreError('METADATA_BAD_VALUE', `${what}: not a partition record: ${value.toString('utf8').slice(0, 200)}`);
  return { leader: r.leader, leaderEpoch: r.leaderEpoch };
}

export function encodeMoveRecord(m: PartitionMoveRecord): Buffer {
  return encodeJson({ from: m.from, to: m.to, epoch: m.epoch, state: m.state, ...(m.requestedMs !== undefined ? { requestedMs: m.requestedMs } : {}) });
}

export function decodeMoveRecord(value: Buffer, what: string): PartitionMoveRecord {
  const m = decodeJson<Partial<PartitionMoveRecord>>(value, what);
  if (!isNodeId(m.from) || !isNodeId(m.to) || !isEpoch(m.epoch) || (m.state !== 'moving' && m.state !== 'released')) {
    throw new MetadataStoreError('METADATA_BAD_VALUE', `${what}: not a move record: ${value.toString('utf8').slice(0, 200)}`);
  }
  return { from: m.from, to: m.to, epoch: m.epoch, state: m.state, ...(typeof m.requestedMs === 'number' ? { requestedMs: m.requestedMs } : {}) };
}

export function parsePartitionStateKey(keys: MetadataKeys, key: string): { kind: 'partition' | 'move'; topicId: string; partition: number } | null {
  let rest: string;
  let kind: 'partition' | 'move';
  if (key.startsWith(keys.allPartitionsPrefix())) {
    rest = key.slice(keys.allPartitionsPrefix().length);
    kind = 'partition';
  } else if (key.startsWith(keys.partitionMovesPrefix())) {
    rest = key.slice(keys.partitionMovesPrefix().length);
    kind = 'move';
  } else {
    return null;
  }
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const topicId = rest.slice(0, slash);
  const p = rest.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,8})$/.test(p)) return null;
  return { kind, topicId, partition: Number(p) };
}

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}/${partition}`;
}

function isNodeId(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isEpoch(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 && x <= 0x7fffffff;
}
