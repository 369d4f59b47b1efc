/**
 * What the registry needs from one schema language (Avro, JSON Schema, Protobuf): parse a schema
 * text with its references, a canonical form (the same schema registered twice gets the same id),
 * the reader/writer compatibility check the compatibility levels are built from, and the check of
 * one payload against the schema (broker-side full validation).
 *
 * Parsing is the library's (avsc, ajv, protobufjs); only the compatibility rules on top of the
 * parsed form are Ferry's.
 */

export type SchemaType = 'AVRO' | 'JSON' | 'PROTOBUF';
export const SCHEMA_TYPES: readonly SchemaType[] = ['AVRO', 'JSON', 'PROTOBUF'];

/** A reference as the REST API carries it: `name` is how the schema refers to it (Avro: the full
 * type name; JSON Schema: the $ref URL; Protobuf: the import path). */
export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

/** A reference resolved to its schema text (and its own references, resolved, depth first). */
export interface ResolvedReference {
  name: string;
  schema: string;
  /** The referenced schema's own references, already resolved. */
  references: readonly ResolvedReference[];
}

/** A schema the library refused: the REST API answers 422 / 42201 with `message`. */
export class InvalidSchemaError extends Error {
  override readonly name = 'InvalidSchemaError';
}

/** A payload that does not match its schema: the broker refuses the record with INVALID_RECORD. */
export class PayloadMismatchError extends Error {
  override readonly name = 'PayloadMismatchError';
}

export interface ParsedSchema {
  readonly type: SchemaType;
  /** Canonical text: equal for schemas that differ only in whitespace, key order or docs where
   * the language says they are the same. Used to give a re-registered schema its existing id. */
  readonly canonical: string;
  /** The record name strategies' name: Avro full name of the top record, Protobuf full name of the
   * first message, JSON Schema `title` (null when it has none). */
  readonly recordName: string | null;
  /**
   * Why a consumer using this schema (the reader) cannot read every datum written with `writer`;
   * empty when it can. BACKWARD = new.readerIssues(old), FORWARD = old.readerIssues(new).
   * `writer` is always of the same type.
   */
  readerIssues(writer: ParsedSchema): string[];
  /**
   * Checks one record's key or value bytes after the 5-byte Confluent header (magic 0, schema id).
   * For Protobuf the bytes begin with the message indexes. Throws PayloadMismatchError.
   */
  validate(payload: Buffer): void;
  /** Protobuf: the schema as a base64 FileDescriptorProto (the REST API's format=serialized). */
  serialized?(): string;
}

export interface SchemaFormat {
  readonly type: SchemaType;
  /** Throws InvalidSchemaError when the text is not a valid schema (or a reference is missing). */
  parse(schema: string, references: readonly ResolvedReference[]): ParsedSchema;
}
