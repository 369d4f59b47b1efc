/**
 * The schema registry's records in the metadata store, under /ferry/<cluster>/schemas/:
 *
 *   schemas/guard                      {"nextId"}: the next schema id; every registry write compares
 *                                      this key's modRevision and rewrites it, so writes from all
 *                                      brokers are serialized and an id is never handed out twice
 *   schemas/ids/<id, 10 digits>        {"schemaType","schema","references"}: kept forever, ids are
 *                                      never reused (data written with a deleted schema stays readable)
 *   schemas/fingerprints/<sha256>      {"id"}: the id of a (type, canonical text, references)
 *   schemas/subjects/<subject>/<version, 10 digits>   {"id","deleted"}
 *   schemas/config/<subject>           {"compatibilityLevel"} (subject "" escaped as "%00" = global)
 *   schemas/mode/<subject>             {"mode"} (same escaping)
 *
 * Subjects are escaped with escapeSegment; the global entry uses a key no subject can have.
 */
import { createHash } from 'node:crypto';
import { escapeSegment, unescapeSegment } from '../cluster/metadata-keys.js';
import type { SchemaReference, SchemaType } from './schema-format.js';

export const COMPATIBILITY_LEVELS = ['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE'] as const;
export type CompatibilityLevel = typeof COMPATIBILITY_LEVELS[number];
export const MODES = ['READWRITE', 'READONLY', 'IMPORT'] as const;
export type RegistryMode = typeof MODES[number];

export interface StoredSchema {
  schemaType: SchemaType;
  schema: string;
  references: SchemaReference[];
}
export interface StoredVersion { id: number; deleted: boolean }
export interface Guard { nextId: number }

const GLOBAL = '%00';
const pad = (n: number): string => String(n).padStart(10, '0');

export class RegistryKeys {
  readonly prefix: string;
  constructor(root: string) { this.prefix = `${root}schemas/`; }

  guard(): string { return `${this.prefix}guard`; }
  schema(id: number): string { return `${this.prefix}ids/${pad(id)}`; }
  fingerprint(fp: string): string { return `${this.prefix}fingerprints/${fp}`; }
  version(subject: string, version: number): string { return `${this.subjectPrefix(subject)}${pad(version)}`; }
  subjectPrefix(subject: string): string { return `${this.prefix}subjects/${escapeSegment(subject)}/`; }
  config(subject: string | null): string { return `${this.prefix}config/${subject === null ? GLOBAL : escapeSegment(subject)}`; }
  mode(subject: string | null): string { return `${this.prefix}mode/${subject === null ? GLOBAL : escapeSegment(subject)}`; }

  /** What a key under the prefix is, for the view. */
  parse(key: string): ParsedKey | null {
    if (!key.startsWith(this.prefix)) return null;
    const rest = key.slice(this.prefix.length);
    if (rest === 'guard') return { kind: 'guard' };
    const parts = rest.split('/');
    if (parts[0] === 'ids' && parts.length === 2) return { kind: 'schema', id: Number(parts[1]) };
    if (parts[0] === 'fingerprints' && parts.length === 2) return { kind: 'fingerprint', fingerprint: parts[1]! };
    if (parts[0] === 'subjects' && parts.length === 3) return { kind: 'version', subject: unescapeSegment(parts[1]!), version: Number(parts[2]) };
    if ((parts[0] === 'config' || parts[0] === 'mode') && parts.length === 2) {
      const subject = parts[1] === GLOBAL ? null : unescapeSegment(parts[1]!);
      return { kind: parts[0], subject };
    }
    return null;
  }
}

export type ParsedKey =
  | { kind: 'guard' }
  | { kind: 'schema'; id: number }
  | { kind: 'fingerprint'; fingerprint: string }
  | { kind: 'version'; subject: string; version: number }
  | { kind: 'config' | 'mode'; subject: string | null };

/** Same schema (type, canonical text, references) -> same fingerprint -> same id. */
export function fingerprintOf(type: SchemaType, canonical: string, references: readonly SchemaReference[]): string {
  const refs = references.map((r) => [r.name, r.subject, r.version]);
  return createHash('sha256').update(JSON.stringify([type, canonical, refs])).digest('hex');
}
