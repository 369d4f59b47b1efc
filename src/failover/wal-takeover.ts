// The takeover on the target broker (DESIGN §6): a dead broker's volume is attached here; make
// every record in its WAL durable in S3 through the normal commit protocol, then let it go.
//
//   1. claim the volume's owner record (epoch + 1), compared against the revision the controller
//      saw when it declared the broker dead: a broker that came back and re-claimed wins;
//   2. open the WAL at that epoch (the header's owner and epoch change durably: the old writer, if
//      it is a paused zombie, can acknowledge nothing more) and recover its records;
//   3. rebuild, for every partition the dead broker still leads, the part of the log not yet in
//      S3 (object metadata first, so batches uploaded before the crash are skipped) with its
//      producer state;
//   4. upload and commit it, each commit guarded by the partition records (still the dead broker
//      at its epoch: the controller moves them only after this) and by our owner claim; trim;
//   5. close the WAL. The caller reports the phase and the controller detaches the volume.
//
// Records of partitions the dead broker no longer leads must already be in S3 (a graceful move
// uploads before it releases); any that are not are reported, never committed by us.
//
// API: takeOverWal(options) -> FailoverReplayStats

import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { openWal, type Wal } from '@ferry/wal';
import type { FailoverReplayStats } from '../cluster/failover-records.js';
import { decodeJson, type MetadataStore } from '../cluster/metadata-store.js';
import type { MetadataKeys } from '../cluster/metadata-keys.js';
import { decodePartitionRecord } from '../cluster/partition-records.js';
import type { ObjectRegistry, PartitionGuard } from '../cluster/object-registry.js';
import { LogManager } from '../log/log-manager.js';
import { decodeBatchesEntry, WAL_TYPE_BATCHES } from '../log/wal-entry.js';
import type { ProducerSnapshot } from '../log/producer-state.js';
import type { ObjectStore } from '../objects/object-store.js';
import { ObjectIndex, partitionBlocks } from '../uploader/object-index.js';
import { Uploader } from '../uploader/uploader.js';
import { claimVolume, ownerCompare } from './volume-owner.js';

export interface TakeOverWalOptions {
  store: MetadataStore;
  keys: MetadataKeys;
  objectStore: ObjectStore;
  registry: ObjectRegistry;
  clusterName: string;
  volumeId: string;
  /** The broker whose volume it is (the dead one) and the owner revision seen when it was declared dead. */
  deadBrokerId: number;
  ownerRevision: number;
  self: { brokerId: number; instanceId: string };
  walPath: string;
  lockPath: string | undefined;
  streamSplitBytes: number;
  log: Logger;
  /** After the WAL is fenced (for the failover record's times). */
  onFenced?: () => void;
}

/** The replay never appends: this satisfies the LogManager's constructor and fails loudly if used. */
const NO_APPENDS = { append: () => Promise.reject(new Error('a WAL takeover does not append')), limits: { recordBytesMax: 0 } };

export async function takeOverWal(o: TakeOverWalOptions): Promise<FailoverReplayStats> {
  const owner = await claimVolume(o.store, o.keys, {
    volumeId: o.volumeId, brokerId: o.self.brokerId, instanceId: o.self.instanceId, rack: null,
    homeBrokerId: o.deadBrokerId,
  }, { expectRevision: o.ownerRevision });
  let wal: Wal | null = null;
  if (!existsSync(o.walPath)) {
    // The broker died before it ever wrote a WAL: nothing to replay (and never create one here).
    o.log.warn({ volumeId: o.volumeId, walPath: o.walPath }, 'the volume holds no WAL; nothing to replay');
    return { records: 0, batches: 0, bytes: 0, partitions: 0, skippedBatches: 0 };
  }
  try {
    wal = await openWal(o.walPath, { nodeId: `${o.clusterName}/broker-${o.self.brokerId}/takeover`, epoch: owner.owner.epoch, lockPath: o.lockPath });
    o.onFenced?.();
    const records = await wal.recover();
    const logs = new LogManager(NO_APPENDS);
    const index = new ObjectIndex(logs);

    // Which partitions the WAL holds, and whether the dead broker still leads them.
    const entries = new Map<string, { topicId: string; partition: number; walBatches: number }>();
    for (const rec of records) {
      if (rec.type !== WAL_TYPE_BATCHES) continue;
      const e = decodeBatchesEntry(rec.body);
      const key = `${e.topicId}:${e.partition}`;
      const entry = entries.get(key) ?? { topicId: e.topicId, partition: e.partition, walBatches: 0 };
      entry.walBatches += e.batches.length;
      entries.set(key, entry);
    }
    const objects = await o.registry.list();
    index.load(objects);
    const guards = new Map<string, PartitionGuard>();
    const snapshotsByTopic = new Map<string, Map<number, Buffer>>();
    const notLed: string[] = [];
    // Batches in S3 already (uploaded before the crash, the WAL not trimmed yet).
    let skippedBatches = 0;
    for (const { topicId, partition, walBatches } of entries.values()) {
      if (!(await o.store.get(o.keys.topicId(topicId)))) continue; // topic deleted: nothing to keep
      const kv = await o.store.get(o.keys.partition(topicId, partition));
      const rec = kv ? decodePartitionRecord(kv.value, kv.key) : null;
      const st = logs.ensure(topicId, partition, rec?.leaderEpoch ?? 0);
      const blocks = partitionBlocks(objects, topicId, partition);
      if (blocks.length) st.log.addObjectBlocks(blocks);
      let snaps = snapshotsByTopic.get(topicId);
      if (!snaps) snapshotsByTopic.set(topicId, (snaps = await o.registry.producerSnapshots(topicId)));
      const snap = snaps.get(partition);
      if (snap) st.producers.restore(decodeJson<ProducerSnapshot>(snap, `producers of ${topicId}/${partition}`));
      logs.recover(records, () => true, { topicId, partition });
      skippedBatches += walBatches - st.log.pendingUpload().length;
      if (kv && rec && rec.leader === o.deadBrokerId) {
        guards.set(`${topicId}:${partition}`, { topicId, partition, modRevision: kv.modRevision });
      } else if (st.log.pendingUpload().length > 0) {
        notLed.push(`${topicId}/${partition} (leader ${rec?.leader ?? 'none'}, ${st.log.pendingUpload().length} batches not in S3)`);
        logs.removePartition(topicId, partition);
      } else {
        logs.removePartition(topicId, partition);
      }
    }
    if (notLed.length > 0) {
      // Cannot happen through Ferry's own moves (they upload before releasing); never overwrite a new leader's offsets.
      o.log.error({ volumeId: o.volumeId, partitions: notLed.slice(0, 20) }, 'WAL holds data of partitions the dead broker no longer leads that is not in S3; not replaying it');
    }
    let batches = 0, bytes = 0, partitions = 0;
    for (const st of logs.all()) {
      const pending = st.log.pendingUpload();
      if (pending.length === 0) continue;
      partitions++;
      batches += pending.length;
      for (const b of pending) bytes += b.bytes.length;
    }
    const uploader = new Uploader(logs, wal, o.objectStore, o.registry, index, {
      intervalMs: 3_600_000, pendingBytesMax: Number.MAX_SAFE_INTEGER, streamSplitBytes: o.streamSplitBytes,
      cacheMaxBytes: Number.MAX_SAFE_INTEGER, clusterName: o.clusterName,
    }, o.log.child({ component: 'takeover-uploader' }));
    uploader.useGuards((t, p) => guards.get(`${t}:${p}`) ?? null);
    uploader.useCommitCompares(() => [ownerCompare(owner)]);
    // Commits, then trims the WAL to its end: a broker that opens the volume later starts empty.
    await uploader.flush(`takeover of volume ${o.volumeId}`);
    const stats: FailoverReplayStats = { records: records.length, batches, bytes, partitions, skippedBatches };
    o.log.info({ volumeId: o.volumeId, deadBrokerId: o.deadBrokerId, epoch: owner.owner.epoch, ...stats }, 'WAL replayed into the object store');
    return stats;
  } finally {
    await wal?.close().catch((err) => o.log.warn({ err }, 'closing the taken-over WAL failed'));
  }
}
