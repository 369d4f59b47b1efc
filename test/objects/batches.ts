// Record batches for object-format tests: a magic-2 header with the fields the object layer
// reads (baseOffset, batchLength, lastOffsetDelta, maxTimestamp, recordsCount) and random records.
import { randomBytes } from 'node:crypto';
import type { BatchInput } from '../../src/objects/object-format.js';

export function makeBatch(baseOffset: number, recordCount: number, sizeBytes: number, maxTimestamp = 1_700_000_000_000 + baseOffset): BatchInput {
  if (sizeBytes < 61) throw new RangeError('a batch has at least the 61-byte header');
  const bytes = randomBytes(sizeBytes);
  bytes.writeBigInt64BE(BigInt(baseOffset), 0);
  bytes.writeInt32BE(sizeBytes - 12, 8);
  bytes.writeInt8(2, 16);
  bytes.writeInt32BE(recordCount - 1, 23);
  bytes.writeBigInt64BE(BigInt(maxTimestamp - 5), 27);
  bytes.writeBigInt64BE(BigInt(maxTimestamp), 35);
  bytes.writeInt32BE(recordCount, 57);
  return { baseOffset, lastOffset: baseOffset + recordCount - 1, recordCount, bytes };
}
