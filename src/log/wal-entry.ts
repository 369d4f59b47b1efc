/**
 * What the broker writes into the WAL: one entry per partition per produce, holding that
 * partition's record batches as raw bytes (already carrying their assigned offsets).
 *
 *   u8 formatVersion (1) | 16 B topic id | i32 partition | i32 leader epoch | batches...
 */
import { assert } from '../common/assert.js';
import { splitBatches } from '../protocol/record-batch.js';

export const WAL_TYPE_BATCHES = 1;
const FORMAT_VERSION = 1;
export const WAL_ENTRY_HEADER_BYTES = 1 + 16 + 4 + 4;

export interface WalBatchesEntry {
  topicId: string;
  partition: number;
  leaderEpoch: number;
  /** Each batch as a view into the entry body. */
  batches: Buffer[];
}

/** Lay out the entry and copy `batches` into it; returns the body and views of the copies. */
export function encodeBatchesEntry(topicId: string, partition: number, leaderEpoch: number, batches: Buffer[]):
  { body: Buffer; copies: Buffer[] } {
  let total = WAL_ENTRY_HEADER_BYTES;
  for (const b of batches) total += b.length;
  const body = Buffer.allocUnsafe(total);
  body.writeUInt8(FORMAT_VERSION, 0);
  assert(topicId.length === 32, `topic id must be 32 hex chars: ${topicId}`);
  body.write(topicId, 1, 16, 'hex');
  body.writeInt32BE(partition, 17);
  body.writeInt32BE(leaderEpoch, 21);
  const copies: Buffer[] = [];
  let pos = WAL_ENTRY_HEADER_BYTES;
  for (const b of batches) {
    b.copy(body, pos);
    copies.push(body.subarray(pos, pos + b.length));
    pos += b.length;
  }
  return { body, copies };
}

export class WalEntryError extends Error {
  override readonly name = 'WalEntryError';
}

export function decodeBatchesEntry(body: Buffer): WalBatchesEntry {
  if (body.length < WAL_ENTRY_HEADER_BYTES) throw new WalEntryError(`WAL entry too short: ${body.length} bytes`);
  const version = body.readUInt8(0);
  if (version !== FORMAT_VERSION) throw new WalEntryError(`unknown WAL entry format version ${version}`);
  const topicId = body.toString('hex', 1, 17);
  const partition = body.readInt32BE(17);
  const leaderEpoch = body.readInt32BE(21);
  let batches: Buffer[];
  try {
    batches = splitBatches(body.subarray(WAL_ENTRY_HEADER_BYTES));
  } catch (err) {
    throw new WalEntryError(`WAL entry of ${topicId}/${partition}: ${(err as Error).message}`, { cause: err });
  }
  return { topicId, partition, leaderEpoch, batches };
}
