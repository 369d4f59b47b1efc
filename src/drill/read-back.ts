// Reads every partition of the drill topic from its log start to its high watermark with sessionless
// Fetch requests on the repo's codecs (deterministic: no consumer group, no auto offset reset), and
// hands each record (partition, offset, value) to a callback in offset order. With a rack id (the
// drill's --client-zone) it reads as a consumer of that zone: the leader may answer with a
// preferredReadReplica (KIP-392) and the rest of the partition is fetched from that broker, so the
// check covers what the zone's consumers are served.
import { gunzipSync } from 'node:zlib';
import { ApiKey } from '../protocol/messages/index.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { BATCH_HEADER_BYTES, BatchView, Compression } from '../protocol/record-batch.js';
import { EARLIEST, LATEST } from '../admin/admin-client.js';
import { AdminError } from '../admin/errors.js';
import { walkBatches, type FetchedBatch } from '../perf/records.js';
import type { DrillCluster } from './cluster.js';

export interface ReadBackStats {
  partitions: number; records: number; bytes: number; logStart: Record<number, number>; highWatermark: Record<number, number>;
  /** Partitions read (at least in part) from a read replica, by broker. */
  readFrom: Record<number, number>;
  /** The leader of each partition when it was read. */
  leaders: Record<number, number>;
}

export interface ReadBackOptions {
  fetchBytes?: number;
  /** Fetch's rackId (v11+): the consumer's zone. Empty: read from the leader. */
  rackId?: string;
  /** How long a read replica may stay behind the leader's high watermark (ferry.remote.read.mode=uploaded-only serves only uploaded data). Default 60000. */
  replicaLagMs?: number;
}

const ATTEMPTS_MAX = 20;

function readVarint(b: Buffer, at: { pos: number }): number {
  let shift = 0;
  let result = 0;
  for (;;) {
    if (at.pos >= b.length || shift > 28) throw new RangeError('bad varint in a fetched record');
    const byte = b[at.pos++]!;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  return (result >>> 1) ^ -(result & 1);
}

function skipVarlong(b: Buffer, at: { pos: number }): void {
  for (let i = 0; i < 10; i++) if ((b[at.pos++]! & 0x80) === 0) return;
  throw new RangeError('bad varlong in a fetched record');
}

/** (offset, value) of each record of a batch, using each record's offset delta. */
export function* batchRecords(batch: FetchedBatch): Generator<{ offset: number; value: Buffer }> {
  if (new BatchView(batch.bytes).isControl) return;
  let body = batch.bytes.subarray(BATCH_HEADER_BYTES);
  if (batch.compression === Compression.Gzip) body = gunzipSync(body);
  else if (batch.compression !== Compression.None) throw new RangeError(`batch at ${batch.baseOffset}: compression ${batch.compression} not readable by the drill (the drill produces uncompressed)`);
  const base = Number(batch.baseOffset);
  const at = { pos: 0 };
  for (let i = 0; i < batch.recordsCount; i++) {
    const len = readVarint(body, at);
    if (len < 0 || at.pos + len > body.length) throw new RangeError(`batch at ${base}: record ${i} length ${len} past the batch`);
    const end = at.pos + len;
    at.pos++; // attributes
    skipVarlong(body, at); // timestamp delta
    const offsetDelta = readVarint(body, at);
    const keyLen = readVarint(body, at);
    if (keyLen > 0) at.pos += keyLen;
    const valueLen = readVarint(body, at);
    if (valueLen > end - at.pos) throw new RangeError(`batch at ${base}: record ${i} value past the record`);
    yield { offset: base + offsetDelta, value: valueLen < 0 ? Buffer.alloc(0) : body.subarray(at.pos, at.pos + valueLen) };
    at.pos = end;
  }
}

const RETRIABLE = new Set<number>([ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 74, 75, 7 /* REQUEST_TIMED_OUT */]);

/** Reads `topic` entirely; `onRecord` sees every record once, in offset order per partition. */
export async function readBack(cluster: DrillCluster, topic: string, onRecord: (partition: number, offset: number, value: Buffer) => void, opts: ReadBackOptions = {}): Promise<ReadBackStats> {
  const stats: ReadBackStats = { partitions: 0, records: 0, bytes: 0, logStart: {}, highWatermark: {}, readFrom: {}, leaders: {} };
  const rackId = opts.rackId ?? '';
  const replicaLagMs = opts.replicaLagMs ?? 60_000;
  const md = await cluster.metadata([topic]);
  const t = md.topics.find((x) => x.name === topic);
  if (!t || t.errorCode !== 0) throw new AdminError(t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `read back ${topic}`);
  stats.partitions = t.partitions.length;
  for (const p of t.partitions.map((x) => x.partition)) {
    let attempts = 0;
    let next = -1;
    let hw = -1;
    /** The read replica the leader named (-1: the leader), and since when it has been behind. */
    let replica = -1;
    let behindSince = -1;
    for (;;) {
      try {
        const info = (await cluster.metadata([topic])).topics.find((x) => x.name === topic)?.partitions.find((x) => x.partition === p);
        if (!info || info.leader < 0) throw new AdminError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic}-${p}`);
        stats.leaders[p] = info.leader;
        if (next < 0) {
          next = Number((await cluster.with((a) => a.listOffsets(topic, [info], EARLIEST))).get(p)!);
          stats.logStart[p] = next;
        }
        if (hw < 0) {
          hw = Number((await cluster.with((a) => a.listOffsets(topic, [info], LATEST))).get(p)!);
          stats.highWatermark[p] = hw;
        }
        if (next >= hw) break;
        const from = replica >= 0 ? replica : info.leader;
        const res: any = await cluster.with(async (a) => {
          const conn = await a.broker(from);
          return conn.requestAt(ApiKey.Fetch, conn.versionFor(ApiKey.Fetch, 12), {
            clusterId: null, replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 64 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
            topics: [{ topic, topicId: t.topicId, partitions: [{ partition: p, currentLeaderEpoch: -1, fetchOffset: BigInt(next), lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: opts.fetchBytes ?? 1 << 20 }] }],
            forgottenTopicsData: [], rackId,
          });
        });
        if (res.errorCode !== 0) throw new AdminError(res.errorCode, `fetch ${topic}-${p}`);
        const pr = res.responses[0]?.partitions?.[0];
        if (!pr) throw new Error(`fetch ${topic}-${p}: empty response`);
        if (pr.errorCode !== 0) {
          replica = -1; // a read replica that fails sends the consumer back to the leader (KIP-392)
          throw new AdminError(pr.errorCode, `fetch ${topic}-${p} at ${next}${from !== info.leader ? ` from read replica ${from}` : ''}`);
        }
        if (rackId && (pr.preferredReadReplica ?? -1) >= 0 && pr.preferredReadReplica !== from) {
          replica = pr.preferredReadReplica;
          stats.readFrom[p] = replica;
          continue;
        }
        let progressed = false;
        for (const b of walkBatches(pr.records)) {
          if (Number(b.lastOffset) < next) continue;
          for (const r of batchRecords(b)) {
            if (r.offset < next || r.offset >= hw) continue;
            onRecord(p, r.offset, r.value);
            stats.records++;
            stats.bytes += r.value.length;
          }
          next = Number(b.lastOffset) + 1;
          progressed = true;
        }
        if (!progressed && from !== info.leader && Number(pr.highWatermark) <= next) {
          // The replica serves up to what it may (uploaded-only: the uploaded end): wait for the upload.
          const now = Date.now();
          if (behindSince < 0) behindSince = now;
          if (now - behindSince > replicaLagMs) throw new Error(`read replica ${from} of ${topic}-${p} stayed at ${pr.highWatermark} (leader's high watermark ${hw}) for ${replicaLagMs} ms`);
          await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        if (!progressed) throw new Error(`fetch ${topic}-${p} at ${next} returned no batch below the high watermark ${hw}`);
        attempts = 0;
        behindSince = -1;
      } catch (err) {
        replica = -1;
        const code = err instanceof AdminError ? err.errorCode : -1;
        if (++attempts >= ATTEMPTS_MAX || (code >= 0 && !RETRIABLE.has(code))) {
          throw new Error(`read back ${topic}-${p} at offset ${next}: ${(err as Error).message}${code >= 0 ? ` (${errorName(code)})` : ''}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
  return stats;
}
