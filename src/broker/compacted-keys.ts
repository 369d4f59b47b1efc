/**
 * Compacted topics keep the latest record per key, so a record without a key is refused, as
 * Kafka's LogValidator does: INVALID_RECORD with one record error per keyless record. Only
 * compacted topics pay for reading records here (a compressed batch is decompressed, bounded).
 */
import { ErrorCode } from '../protocol/errors.js';
import type { BatchView } from '../protocol/record-batch.js';
import { keylessRecords } from '../protocol/records.js';

/** Decompressed bytes one produced batch may have for this check. */
export const KEY_CHECK_BYTES_MAX = 64 * 1024 * 1024;
/** Kafka lists at most this many record errors in the message. */
const ERRORS_IN_MESSAGE = 3;

export interface KeyCheckFailure {
  errorCode: number;
  errorMessage: string;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
}

export function checkRecordKeys(batches: readonly BatchView[], topic: string, partition: number): KeyCheckFailure | null {
  const recordErrors: KeyCheckFailure['recordErrors'] = [];
  const what = `Compacted topic cannot accept message without key in topic partition ${topic}-${partition}.`;
  let index = 0;
  for (const b of batches) {
    let keyless: number[];
    try {
      keyless = keylessRecords(b.bytes, { maxBytes: KEY_CHECK_BYTES_MAX });
    } catch (err) {
      const code = (err as { errorCode?: number }).errorCode ?? ErrorCode.CORRUPT_MESSAGE;
      return { errorCode: code, errorMessage: `records of topic partition ${topic}-${partition} cannot be read: ${(err as Error).message}`, recordErrors: [] };
    }
    for (const i of keyless) recordErrors.push({ batchIndex: index + i, batchIndexErrorMessage: what });
    index += b.recordsCount;
  }
  if (recordErrors.length === 0) return null;
  const shown = recordErrors.slice(0, ERRORS_IN_MESSAGE).map((e) => `RecordError(batchIndex=${e.batchIndex}, message='${what}')`).join(', ');
  return {
    errorCode: ErrorCode.INVALID_RECORD,
    errorMessage: `One or more records have been rejected due to ${recordErrors.length} record errors in total, and only showing the first three errors at most: [${shown}]`,
    recordErrors,
  };
}
