/**
 * Broker-side schema validation (Confluent Server's confluent.{key,value}.schema.validation): each
 * record's key or value must start with the registry's wire header (magic byte 0, a big-endian
 * 4-byte schema id) of a schema registered under the subject the topic's subject name strategy
 * gives; with ferry.{key,value}.schema.validation=full the bytes must also decode with that schema.
 * Refusals are INVALID_RECORD with one record error per bad record, as Kafka's LogValidator does.
 * Only validated topics pay for reading records here; null keys and values (tombstones) pass.
 */
import { ErrorCode } from '../protocol/errors.js';
import type { BatchView } from '../protocol/record-batch.js';
import { readRecords } from '../protocol/records.js';
import type { SchemaValidation } from '../topics/topic-config.js';
import { PayloadMismatchError, type ParsedSchema } from '../schema/schema-format.js';
import { KEY_CHECK_BYTES_MAX, type KeyCheckFailure } from './compacted-keys.js';

/** What the validator needs of the schema registry (SchemaRegistry implements it). */
export interface SchemaLookup {
  /** undefined: this broker does not know the id (yet). */
  parsedById(id: number): ParsedSchema | undefined;
  subjectHasId(subject: string, id: number): boolean;
  /** Catches up with registrations made on other brokers. */
  refresh(): Promise<void>;
}

export interface ValidatedTopic {
  keySchemaValidation: SchemaValidation | null;
  valueSchemaValidation: SchemaValidation | null;
}

export interface SchemaCheckFailure extends KeyCheckFailure {
  /** Some schema id was unknown here: worth one refresh from the store and a second check. */
  unknownId: boolean;
}

/** Why a record was refused (ferry_schema_validation_batchRecordstotal's result label). */
export type SchemaRefusal = 'no_header' | 'unknown_id' | 'wrong_subject' | 'mismatch';

export interface SchemaCheck {
  /** Records checked (a batch that cannot be read counts none). */
  records: number;
  refused: Map<SchemaRefusal, number>;
  failure: SchemaCheckFailure | null;
}

const ERRORS_IN_MESSAGE = 3;
const MAGIC = 0;
const HEADER_BYTES = 5;

export function checkRecordSchemas(
  lookup: SchemaLookup, batches: readonly BatchView[], topic: ValidatedTopic, topicName: string, partition: number,
): SchemaCheck {
  const recordErrors: KeyCheckFailure['recordErrors'] = [];
  const refused = new Map<SchemaRefusal, number>();
  let unknownId = false;
  let index = 0;
  let records = 0;
  // Records of a batch mostly share one id: its schema is looked up and its subject checked once
  // per side and produce, not per record.
  const checked = { key: new Map<number, ParsedSchema>(), value: new Map<number, ParsedSchema>() };
  const refuse = (why: SchemaRefusal, message: string): string => {
    refused.set(why, (refused.get(why) ?? 0) + 1);
    return message;
  };
  const check = (bytes: Buffer | null, side: 'key' | 'value', v: SchemaValidation): string | null => {
    if (bytes === null) return null;
    if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC) return refuse('no_header', `${side} has no schema registry header (magic byte 0 and a 4-byte schema id)`);
    const id = bytes.readInt32BE(1);
    let schema = checked[side].get(id);
    if (!schema) {
      schema = lookup.parsedById(id);
      if (!schema) { unknownId = true; return refuse('unknown_id', `${side} schema id ${id} is not registered`); }
      const subject = subjectOf(v.strategy, topicName, side, schema);
      if (subject === null) return refuse('wrong_subject', `${side} schema id ${id} has no record name for ${v.strategy}`);
      if (!lookup.subjectHasId(subject, id)) return refuse('wrong_subject', `${side} schema id ${id} is not registered under subject ${subject}`);
      checked[side].set(id, schema);
    }
    if (v.mode === 'full') {
      try {
        schema.validate(bytes.subarray(HEADER_BYTES));
      } catch (err) {
        // Anything a library throws on hostile bytes refuses the record; it must not fail the request.
        const why = err instanceof PayloadMismatchError ? err.message : `cannot be checked (${(err as Error).name}: ${(err as Error).message})`;
        return refuse('mismatch', `${side} does not match schema id ${id}: ${why}`);
      }
    }
    return null;
  };
  for (const b of batches) {
    let batchRecords;
    try {
      batchRecords = readRecords(b.bytes, { maxBytes: KEY_CHECK_BYTES_MAX });
    } catch (err) {
      const code = (err as { errorCode?: number }).errorCode ?? ErrorCode.CORRUPT_MESSAGE;
      const failure = { errorCode: code, errorMessage: `records of topic partition ${topicName}-${partition} cannot be read: ${(err as Error).message}`, recordErrors: [], unknownId: false };
      return { records, refused, failure };
    }
    records += batchRecords.length;
    for (let i = 0; i < batchRecords.length; i++) {
      const r = batchRecords[i]!;
      const problem = (topic.keySchemaValidation && check(r.key, 'key', topic.keySchemaValidation))
        || (topic.valueSchemaValidation && check(r.value, 'value', topic.valueSchemaValidation));
      if (problem) recordErrors.push({ batchIndex: index + i, batchIndexErrorMessage: problem });
    }
    index += b.recordsCount;
  }
  if (recordErrors.length === 0) return { records, refused, failure: null };
  const shown = recordErrors.slice(0, ERRORS_IN_MESSAGE).map((e) => `RecordError(batchIndex=${e.batchIndex}, message='${e.batchIndexErrorMessage}')`).join(', ');
  const failure = {
    errorCode: ErrorCode.INVALID_RECORD,
    errorMessage: `Schema validation of topic partition ${topicName}-${partition} rejected ${recordErrors.length} record(s), showing at most three: [${shown}]`,
    recordErrors,
    unknownId,
  };
  return { records, refused, failure };
}

function subjectOf(strategy: SchemaValidation['strategy'], topic: string, side: 'key' | 'value', schema: ParsedSchema): string | null {
  switch (strategy) {
    case 'TopicNameStrategy': return `${topic}-${side}`;
    case 'RecordNameStrategy': return schema.recordName;
    case 'TopicRecordNameStrategy': return schema.recordName === null ? null : `${topic}-${schema.recordName}`;
  }
}
