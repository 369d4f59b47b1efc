/**
 * The log cleaner's worker thread: holds the offset map of the pass in progress and does the CPU
 * work (decompression, key hashing, record filtering, recompression) off the event loop that
 * serves produce and fetch. The main thread does all I/O and owns every decision about objects.
 */
import { parentPort } from 'node:worker_threads';
import { baseOffsetOf, splitBatches, verifyCrc } from '../protocol/record-batch.js';
import { loadCompressionCodecs } from '../protocol/compression.js';
import { AbortedIndex, BatchCleaner, indexBatch } from './batch-cleaner.js';
import { OffsetMap } from './offset-map.js';
import { packBuffers, type CleanerReply, type CleanerRequest } from './cleaner-protocol.js';

let map: OffsetMap | null = null;
let aborted = new AbortedIndex([]);
let batchBytesMax = 0;
let indexEnd = 0;
let cleaner: BatchCleaner | null = null;
/** Set once the map ran out of room: nothing after that batch may be indexed this pass. */
let stopped = false;

function handle(req: CleanerRequest): { reply: CleanerReply; transfer?: ArrayBuffer[] } {
  switch (req.op) {
    case 'begin':
      map = new OffsetMap(req.mapBytes);
      aborted = new AbortedIndex(req.aborted);
      batchBytesMax = req.batchBytesMax;
      indexEnd = req.indexEndOffset;
      cleaner = null;
      stopped = false;
      return { reply: { op: 'begin' } };
    case 'index': {
      const m = need(map);
      let stoppedAt: number | null = null;
      for (const batch of checkedBatches(req.data, req.source)) {
        const base = baseOffsetOf(batch);
        if (stopped || base >= indexEnd || !indexBatch(m, batch, aborted, batchBytesMax)) {
          stopped = true;
          stoppedAt = base;
          break;
        }
      }
      return { reply: { op: 'index', stoppedAt, keys: m.size } };
    }
    case 'startFilter':
      cleaner = new BatchCleaner(need(map), req.params);
      return { reply: { op: 'startFilter' } };
    case 'filter': {
      const c = need(cleaner);
      const kept: Buffer[] = [];
      for (const batch of checkedBatches(req.data, req.source)) {
        const out = c.clean(batch);
        if (out) kept.push(out);
      }
      const data = packBuffers(kept);
      return { reply: { op: 'filter', data, lengths: kept.map((b) => b.length) }, transfer: [data] };
    }
    case 'end': {
      const stats = cleaner?.stats ?? null;
      map = null;
      cleaner = null;
      return { reply: { op: 'end', stats } };
    }
  }
}

/** The batches of whole blocks, each CRC-checked. */
function checkedBatches(data: ArrayBuffer, source: string): Buffer[] {
  const batches = splitBatches(Buffer.from(data));
  for (const b of batches) if (!verifyCrc(b)) throw new Error(`CRC mismatch in batch at offset ${baseOffsetOf(b)} of object ${source}`);
  return batches;
}

function need<T>(v: T | null): T {
  if (v === null) throw new Error('cleaner worker: no pass in progress');
  return v;
}

const port = parentPort;
if (!port) throw new Error('cleaner-worker.ts runs as a worker thread');
const ready = loadCompressionCodecs();
port.on('message', (req: CleanerRequest) => {
  ready.then(() => {
    const { reply, transfer } = handle(req);
    port.postMessage(reply, transfer ?? []);
  }).catch((err: Error) => {
    port.postMessage({ op: 'error', message: err.message, name: err.name } satisfies CleanerReply);
  });
});
