/**
 * The Confluent Schema Registry's model: subjects with numbered versions, each pointing at a
 * schema by a global id; compatibility levels and modes globally and per subject; soft deletes
 * before hard ones; references between schemas. Reads come from this broker's RegistryView;
 * every write is one metadata-store transaction that compares and rewrites the guard key, so the
 * brokers of a cluster share one registry and a schema id is handed out once.
 *
 * Errors are RegistryError with Confluent's HTTP status and error_code (the REST layer sends them).
 *
 * API: new SchemaRegistry({ store, root, log, defaultCompatibility }); start(); close();
 *      register, lookup, schemaById, subjectsOfId, versionsOfId, subjects, versions, version,
 *      deleteSubject, deleteVersion, referencedBy, testCompatibility, config/setConfig/deleteConfig,
 *      mode/setMode/deleteMode, parsedById (validation), schemaTypes
 */
import type { Logger } from 'pino';
import { encodeJson, type MetadataStore, type Op } from '../cluster/metadata-store.js';
import { RegistryView, type RegistryRecords } from './registry-view.js';
import {
  COMPATIBILITY_LEVELS, MODES, RegistryKeys, fingerprintOf,
  type CompatibilityLevel, type RegistryMode, type StoredSchema, type StoredVersion,
} from './registry-records.js';
import { FORMATS } from './formats.js';
import { ParsedSchemaCache } from './parsed-schema-cache.js';
import { InvalidSchemaError, SCHEMA_TYPES, type ParsedSchema, type ResolvedReference, type SchemaReference, type SchemaType } from './schema-format.js';

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(readonly httpStatus: number, readonly errorCode: number, message: string) { super(message); }
}

const err = {
  subjectNotFound: (s: string) => new RegistryError(404, 40401, `Subject '${s}' not found.`),
  versionNotFound: (s: string, v: unknown) => new RegistryError(404, 40402, `Version ${String(v)} not found.`),
  schemaNotFound: (what = 'Schema not found') => new RegistryError(404, 40403, what),
  subjectSoftDeleted: (s: string) => new RegistryError(404, 40404, `Subject '${s}' was soft deleted.Set permanent=true to delete permanently`),
  subjectNotSoftDeleted: (s: string) => new RegistryError(404, 40405, `Subject '${s}' was not deleted first before being permanently deleted`),
  versionSoftDeleted: (s: string, v: number) => new RegistryError(404, 40406, `Subject '${s}' Version ${v} was soft deleted.Set permanent=true to delete permanently`),
  versionNotSoftDeleted: (s: string, v: number) => new RegistryError(404, 40407, `Subject '${s}' Version ${v} was not deleted first before being permanently deleted`),
  configNotFound: (s: string) => new RegistryError(404, 40408, `Subject '${s}' does not have subject-level compatibility configured`),
  modeNotFound: (s: string) => new RegistryError(404, 40409, `Subject '${s}' does not have subject-level mode configured`),
  incompatible: (messages: string[]) => new RegistryError(409, 409, `Schema being registered is incompatible with an earlier schema for subject; details: ${JSON.stringify(messages)}`),
  invalidSchema: (m: string) => new RegistryError(422, 42201, `Invalid schema: ${m}`),
  invalidVersion: (v: unknown) => new RegistryError(422, 42202, `The specified version '${String(v)}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`),
  invalidLevel: (l: unknown) => new RegistryError(422, 42203, `Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive (got ${String(l)})`),
  invalidMode: (m: unknown) => new RegistryError(422, 42204, `Invalid mode. Valid values are READWRITE, READONLY, IMPORT (got ${String(m)})`),
  notPermitted: (m: string) => new RegistryError(422, 42205, m),
  referenceExists: (m: string) => new RegistryError(422, 42206, m),
  store: (m: string) => new RegistryError(500, 50001, `Error in the backend data store - ${m}`),
};

export interface RegisterRequest {
  schema: string;
  schemaType?: SchemaType;
  references?: SchemaReference[];
  /** IMPORT mode only: the id and version to register under. */
  id?: number;
  version?: number;
}

export interface SubjectVersion {
  subject: string;
  version: number;
  id: number;
  schemaType: SchemaType;
  schema: string;
  references: SchemaReference[];
}

export interface SchemaRegistryOptions {
  store: MetadataStore;
  /** MetadataKeys.root of the cluster. */
  root: string;
  log: Logger;
  defaultCompatibility?: CompatibilityLevel;
}

const TXN_ATTEMPTS_MAX = 30;
const VERSION_MAX = 2 ** 31 - 1;

export class SchemaRegistry {
  private readonly keys: RegistryKeys;
  private readonly view: RegistryView;
  private readonly parsed = new ParsedSchemaCache();
  private readonly defaultCompatibility: CompatibilityLevel;

  constructor(private readonly o: SchemaRegistryOptions) {
    this.keys = new RegistryKeys(o.root);
    this.view = new RegistryView(o.store, this.keys, o.log);
    this.defaultCompatibility = o.defaultCompatibility ?? 'BACKWARD';
  }

  async start(): Promise<void> { await this.view.start(); }
  close(): void { this.view.close(); }

  schemaTypes(): SchemaType[] { return [...SCHEMA_TYPES]; }

  /** Schemas (ids) and subjects with a live version (metrics). */
  size(): { schemas: number; subjects: number } {
    const r = this.view.records();
    let subjects = 0;
    for (const versions of r.subjects.values()) if ([...versions.values()].some((v) => !v.deleted)) subjects++;
    return { schemas: r.schemas.size, subjects };
  }

  // ---- reads ------------------------------------------------------------------------------

  schemaById(id: number): StoredSchema {
    const s = this.view.records().schemas.get(id);
    if (!s) throw err.schemaNotFound();
    return s;
  }

  subjectsOfId(id: number, deleted = false): string[] {
    this.schemaById(id);
    return this.usesOf(id, deleted).map((u) => u.subject).filter((s, i, a) => a.indexOf(s) === i).sort();
  }

  versionsOfId(id: number, deleted = false): Array<{ subject: string; version: number }> {
    this.schemaById(id);
    return this.usesOf(id, deleted);
  }

  subjects(prefix = '', deleted = false): string[] {
    const out: string[] = [];
    for (const [subject, versions] of this.view.records().subjects) {
      if (!subject.startsWith(prefix)) continue;
      if ([...versions.values()].some((v) => deleted || !v.deleted)) out.push(subject);
    }
    return out.sort();
  }

  versions(subject: string, deleted = false): number[] {
    const vs = this.liveVersions(subject, deleted);
    return vs.map(([v]) => v);
  }

  /** A version by number, "latest" or -1. */
  version(subject: string, spec: string | number, deleted = false): SubjectVersion {
    const [version, rec] = this.resolveVersion(subject, spec, deleted);
    return this.subjectVersion(subject, version, rec);
  }

  /** POST /subjects/{subject}: the version of `subject` that has this schema. */
  lookup(subject: string, req: RegisterRequest, deleted = false): SubjectVersion {
    const versions = this.view.records().subjects.get(subject);
    if (!versions || ![...versions.values()].some((v) => deleted || !v.deleted)) throw err.subjectNotFound(subject);
    const { fingerprint } = this.prepare(req);
    const id = this.view.records().fingerprints.get(fingerprint);
    for (const [version, rec] of [...versions].reverse()) {
      if (rec.id === id && (deleted || !rec.deleted)) return this.subjectVersion(subject, version, rec);
    }
    throw err.schemaNotFound();
  }

  referencedBy(subject: string, spec: string | number): number[] {
    const [version] = this.resolveVersion(subject, spec, false);
    const r = this.view.records();
    const ids: number[] = [];
    for (const [id, s] of r.schemas) {
      if (s.references.some((ref) => ref.subject === subject && ref.version === version) && this.usesOf(id, false).length > 0) ids.push(id);
    }
    return ids.sort((a, b) => a - b);
  }

  config(subject: string | null, defaultToGlobal = false): CompatibilityLevel {
    const configs = this.view.records().configs;
    if (subject !== null) {
      const level = configs.get(subject);
      if (level) return level;
      if (!defaultToGlobal) throw err.configNotFound(subject);
    }
    return configs.get(null) ?? this.defaultCompatibility;
  }

  mode(subject: string | null, defaultToGlobal = false): RegistryMode {
    const modes = this.view.records().modes;
    if (subject !== null) {
      const m = modes.get(subject);
      if (m) return m;
      if (!defaultToGlobal) throw err.modeNotFound(subject);
    }
    return modes.get(null) ?? 'READWRITE';
  }

  /**
   * The parsed schema of an id, for broker-side validation; undefined when this broker does not
   * know the id. `refresh` first catches up with the store (an id registered elsewhere a moment ago).
   */
  parsedById(id: number): ParsedSchema | undefined {
    const s = this.view.records().schemas.get(id);
    if (!s) return undefined;
    try {
      return this.parse(s, id);
    } catch {
      return undefined;
    }
  }

  /** The schema text in a requested format: `serialized` turns Protobuf text into a base64
   * FileDescriptorProto (what Confluent's JavaScript ProtobufDeserializer asks for). */
  formatted(id: number, format: string | null): string {
    const s = this.schemaById(id);
    if (format !== 'serialized' || s.schemaType !== 'PROTOBUF') return s.schema;
    return this.parse(s, id).serialized?.() ?? s.schema;
  }

  async refresh(): Promise<void> { await this.view.caughtUpWithStore(); }

  /** Whether `subject` has a live version with this id (the subject name strategies' check). */
  subjectHasId(subject: string, id: number): boolean {
    const versions = this.view.records().subjects.get(subject);
    if (!versions) return false;
    for (const v of versions.values()) if (v.id === id && !v.deleted) return true;
    return false;
  }

  /** POST /compatibility/subjects/{subject}/versions[/{version}]: the issues, empty = compatible. */
  testCompatibility(subject: string, spec: string | number | null, req: RegisterRequest): string[] {
    const { parsed } = this.prepare(req);
    const level = this.config(subject, true);
    if (spec !== null) {
      const versions = this.view.records().subjects.get(subject);
      if (!versions) throw err.subjectNotFound(subject);
      const [, rec] = this.resolveVersion(subject, spec, false);
      return this.issuesAgainst(parsed, [rec.id], level.replace('_TRANSITIVE', '') as CompatibilityLevel);
    }
    return this.issuesFor(subject, parsed, level);
  }

  // ---- writes -----------------------------------------------------------------------------

  /** POST /subjects/{subject}/versions. Returns the schema's id (and the version it has). */
  async register(subject: string, req: RegisterRequest, normalize = false): Promise<{ id: number; version: number }> {
    checkSubject(subject);
    void normalize; // canonical forms are always compared; normalize changes nothing more here
    return this.write((r) => {
      const mode = this.mode(subject, true);
      if (mode === 'READONLY') throw err.notPermitted(`Subject ${subject} is in read-only mode`);
      const importing = mode === 'IMPORT';
      if (!importing && (req.id !== undefined && req.id >= 0)) throw err.notPermitted('Overriding the schema id is only permitted in IMPORT mode');
      const { parsed, fingerprint, stored } = this.prepare(req);
      const versions = r.subjects.get(subject) ?? new Map<number, StoredVersion>();
      let id = r.fingerprints.get(fingerprint);
      // Already a live version of this subject: its id, nothing written.
      for (const [version, rec] of versions) if (!rec.deleted && rec.id === id) return { result: { id: rec.id, version }, ops: [] };
      if (!importing) {
        const issues = this.issuesFor(subject, parsed, this.config(subject, true));
        if (issues.length > 0) throw err.incompatible(issues);
      }
      const ops: Op[] = [];
      let nextId = r.guard.nextId;
      if (importing && req.id !== undefined && req.id >= 0) {
        const existing = r.schemas.get(req.id);
        if (existing && fingerprintOf(existing.schemaType, this.parse(existing, req.id).canonical, existing.references) !== fingerprint) {
          throw err.notPermitted(`Overwrite new schema with id ${req.id} is not permitted.`);
        }
        id = req.id;
        nextId = Math.max(nextId, id + 1);
      }
      if (id === undefined) id = nextId++;
      if (!r.schemas.has(id)) {
        ops.push({ type: 'put', key: this.keys.schema(id), value: encodeJson(stored) });
        ops.push({ type: 'put', key: this.keys.fingerprint(fingerprint), value: encodeJson({ id }) });
      }
      const latest = Math.max(0, ...versions.keys());
      let version = latest + 1;
      if (importing && req.version !== undefined && req.version > 0) {
        if (versions.has(req.version)) throw err.notPermitted(`Version ${req.version} of subject ${subject} already exists`);
        version = req.version;
      }
      if (version > VERSION_MAX) throw err.invalidVersion(version);
      ops.push({ type: 'put', key: this.keys.version(subject, version), value: encodeJson({ id, deleted: false } satisfies StoredVersion) });
      return { result: { id, version }, ops, nextId };
    });
  }

  async deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return this.write((r) => {
      this.checkWritable(subject);
      const versions = r.subjects.get(subject);
      if (!versions || versions.size === 0) throw err.subjectNotFound(subject);
      const all = [...versions];
      const live = all.filter(([, v]) => !v.deleted);
      if (permanent) {
        if (live.length > 0) throw err.subjectNotSoftDeleted(subject);
        for (const [v] of all) this.checkNotReferenced(r, subject, v);
        const ops: Op[] = all.map(([v]) => ({ type: 'delete', key: this.keys.version(subject, v) }));
        ops.push({ type: 'delete', key: this.keys.config(subject) }, { type: 'delete', key: this.keys.mode(subject) });
        return { result: all.map(([v]) => v), ops };
      }
      if (live.length === 0) throw err.subjectSoftDeleted(subject);
      for (const [v] of live) this.checkNotReferenced(r, subject, v);
      const ops: Op[] = live.map(([v, rec]) => ({ type: 'put', key: this.keys.version(subject, v), value: encodeJson({ ...rec, deleted: true }) }));
      return { result: live.map(([v]) => v), ops };
    });
  }

  async deleteVersion(subject: string, spec: string | number, permanent: boolean): Promise<number> {
    return this.write((r) => {
      this.checkWritable(subject);
      // A numbered version is found even when soft-deleted (to say so); "latest" is the latest live one.
      const latest = spec === 'latest' || spec === -1 || spec === '-1';
      const [version, rec] = this.resolveVersion(subject, spec, latest ? permanent : true);
      if (permanent && !rec.deleted) throw err.versionNotSoftDeleted(subject, version);
      if (!permanent && rec.deleted) throw err.versionSoftDeleted(subject, version);
      this.checkNotReferenced(r, subject, version);
      const op: Op = permanent
        ? { type: 'delete', key: this.keys.version(subject, version) }
        : { type: 'put', key: this.keys.version(subject, version), value: encodeJson({ ...rec, deleted: true }) };
      return { result: version, ops: [op] };
    });
  }

  async setConfig(subject: string | null, level: unknown): Promise<CompatibilityLevel> {
    const upper = typeof level === 'string' ? level.toUpperCase() : level;
    if (!COMPATIBILITY_LEVELS.includes(upper as CompatibilityLevel)) throw err.invalidLevel(level);
    if (subject !== null) checkSubject(subject);
    return this.write(() => ({
      result: upper as CompatibilityLevel,
      ops: [{ type: 'put', key: this.keys.config(subject), value: encodeJson({ compatibilityLevel: upper }) }],
    }));
  }

  async deleteConfig(subject: string | null): Promise<CompatibilityLevel> {
    const before = subject === null ? this.config(null) : this.config(subject);
    return this.write(() => ({ result: before, ops: [{ type: 'delete', key: this.keys.config(subject) }] }));
  }

  async setMode(subject: string | null, mode: unknown, force = false): Promise<RegistryMode> {
    const upper = typeof mode === 'string' ? mode.toUpperCase() : mode;
    if (!MODES.includes(upper as RegistryMode)) throw err.invalidMode(mode);
    if (subject !== null) checkSubject(subject);
    return this.write((r) => {
      if (upper === 'IMPORT' && !force) {
        const nonEmpty = subject === null ? r.subjects.size > 0 : (r.subjects.get(subject)?.size ?? 0) > 0;
        if (nonEmpty) throw err.notPermitted('Cannot import since found existing subjects');
      }
      return { result: upper as RegistryMode, ops: [{ type: 'put', key: this.keys.mode(subject), value: encodeJson({ mode: upper }) }] };
    });
  }

  async deleteMode(subject: string): Promise<RegistryMode> {
    const before = this.mode(subject);
    return this.write(() => ({ result: before, ops: [{ type: 'delete', key: this.keys.mode(subject) }] }));
  }

  // ---- internals --------------------------------------------------------------------------

  /**
   * One registry write: `plan` decides from the records this broker has applied; the transaction
   * lands only if nobody wrote since (the guard's modRevision), else we catch up and plan again.
   */
  private async write<T>(plan: (r: RegistryRecords) => { result: T; ops: Op[]; nextId?: number }): Promise<T> {
    for (let attempt = 0; attempt < TXN_ATTEMPTS_MAX; attempt++) {
      const r = this.view.records();
      // The view changes in place as watch events come: the plan runs synchronously on one state,
      // and the guard revision it is compared with is read in the same turn.
      const guardRevision = r.guardRevision;
      const { result, ops, nextId } = plan(r);
      if (ops.length === 0) return result;
      ops.push({ type: 'put', key: this.keys.guard(), value: encodeJson({ nextId: nextId ?? r.guard.nextId }) });
      let res;
      try {
        res = await this.o.store.txn([{ key: this.keys.guard(), target: 'modRevision', op: '==', value: guardRevision }], ops);
      } catch (e) {
        throw err.store((e as Error).message);
      }
      if (res.succeeded) {
        await this.view.caughtUp(res.revision);
        return result;
      }
      await this.view.caughtUpWithStore();
    }
    throw err.store('too many concurrent registry writes');
  }

  private checkWritable(subject: string): void {
    if (this.mode(subject, true) === 'READONLY') throw err.notPermitted(`Subject ${subject} is in read-only mode`);
  }

  /** A version that a live version of another schema references cannot go (Confluent's 42206). */
  private checkNotReferenced(r: RegistryRecords, subject: string, version: number): void {
    for (const [id, s] of r.schemas) {
      if (!s.references.some((ref) => ref.subject === subject && ref.version === version)) continue;
      if (this.usesOf(id, false).length > 0) {
        throw err.referenceExists(`One or more references exist to the schema {subject=${subject},version=${version}}`);
      }
    }
  }

  /** Validates and parses a request's schema (references resolved); the fingerprint names it. */
  private prepare(req: RegisterRequest): { parsed: ParsedSchema; fingerprint: string; stored: StoredSchema } {
    if (typeof req.schema !== 'string' || req.schema.length === 0) throw err.invalidSchema('no schema given');
    const schemaType = (req.schemaType ?? 'AVRO') as SchemaType;
    if (!SCHEMA_TYPES.includes(schemaType)) throw new RegistryError(422, 42201, `Invalid schema type ${String(req.schemaType)}`);
    if (req.references !== undefined && req.references !== null && !Array.isArray(req.references)) throw err.invalidSchema('references must be a list');
    const references = (req.references ?? []).map((ref) => {
      if (!ref || typeof ref.name !== 'string' || typeof ref.subject !== 'string' || !Number.isInteger(ref.version)) {
        throw err.invalidSchema('a reference needs name, subject and version');
      }
      return { name: ref.name, subject: ref.subject, version: ref.version };
    });
    const stored: StoredSchema = { schemaType, schema: req.schema, references };
    const parsed = this.parse(stored);
    return { parsed, fingerprint: fingerprintOf(schemaType, parsed.canonical, references), stored };
  }

  private parse(s: StoredSchema, id?: number): ParsedSchema {
    if (id !== undefined) {
      const hit = this.parsed.get(id);
      if (hit) return hit;
    }
    let parsed: ParsedSchema;
    try {
      parsed = FORMATS[s.schemaType].parse(s.schema, this.resolveReferences(s.references, 0));
    } catch (e) {
      if (e instanceof RegistryError) throw e;
      if (e instanceof InvalidSchemaError) throw err.invalidSchema(e.message);
      throw err.invalidSchema((e as Error).message);
    }
    if (id !== undefined) this.parsed.set(id, parsed, s.schema.length);
    return parsed;
  }

  private resolveReferences(refs: readonly SchemaReference[], depth: number): ResolvedReference[] {
    if (depth > 32) throw err.invalidSchema('references nested more than 32 deep (a cycle?)');
    return refs.map((ref) => {
      let v;
      try {
        [, v] = this.resolveVersion(ref.subject, ref.version, false);
      } catch {
        throw err.invalidSchema(`reference ${ref.name} to subject ${ref.subject} version ${ref.version} not found`);
      }
      const s = this.view.records().schemas.get(v.id)!;
      return { name: ref.name, schema: s.schema, references: this.resolveReferences(s.references, depth + 1) };
    });
  }

  /** The issues of `parsed` against the subject's live versions, by the subject's level. */
  private issuesFor(subject: string, parsed: ParsedSchema, level: CompatibilityLevel): string[] {
    if (level === 'NONE') return [];
    const versions = this.view.records().subjects.get(subject);
    const live = versions ? [...versions].filter(([, v]) => !v.deleted) : [];
    if (live.length === 0) return [];
    const against = level.endsWith('_TRANSITIVE') ? live.map(([, v]) => v.id) : [live[live.length - 1]![1].id];
    return this.issuesAgainst(parsed, against, level.replace('_TRANSITIVE', '') as CompatibilityLevel);
  }

  private issuesAgainst(parsed: ParsedSchema, ids: number[], level: CompatibilityLevel): string[] {
    if (level === 'NONE') return [];
    const issues: string[] = [];
    for (const id of ids) {
      const old = this.parse(this.view.records().schemas.get(id)!, id);
      if (old.type !== parsed.type) { issues.push(`schema type ${parsed.type} differs from ${old.type} of schema id ${id}`); continue; }
      if (level === 'BACKWARD' || level === 'FULL') for (const i of parsed.readerIssues(old)) issues.push(`BACKWARD (new reads schema id ${id}): ${i}`);
      if (level === 'FORWARD' || level === 'FULL') for (const i of old.readerIssues(parsed)) issues.push(`FORWARD (schema id ${id} reads new): ${i}`);
    }
    return issues;
  }

  private liveVersions(subject: string, deleted: boolean): Array<[number, StoredVersion]> {
    const versions = this.view.records().subjects.get(subject);
    const out = versions ? [...versions].filter(([, v]) => deleted || !v.deleted) : [];
    if (out.length === 0) throw err.subjectNotFound(subject);
    return out;
  }

  private resolveVersion(subject: string, spec: string | number, deleted: boolean): [number, StoredVersion] {
    const live = this.liveVersions(subject, deleted);
    if (spec === 'latest' || spec === -1 || spec === '-1') return live[live.length - 1]!;
    const n = typeof spec === 'number' ? spec : /^\d+$/.test(spec) ? Number(spec) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > VERSION_MAX) throw err.invalidVersion(spec);
    const found = live.find(([version]) => version === n);
    if (!found) throw err.versionNotFound(subject, spec);
    return found;
  }

  private subjectVersion(subject: string, version: number, rec: StoredVersion): SubjectVersion {
    const s = this.view.records().schemas.get(rec.id)!;
    return { subject, version, id: rec.id, schemaType: s.schemaType, schema: s.schema, references: s.references };
  }

  private usesOf(id: number, deleted: boolean): Array<{ subject: string; version: number }> {
    const out: Array<{ subject: string; version: number }> = [];
    for (const [subject, versions] of this.view.records().subjects) {
      for (const [version, v] of versions) if (v.id === id && (deleted || !v.deleted)) out.push({ subject, version });
    }
    return out;
  }
}

function checkSubject(subject: string): void {
  if (subject.length === 0 || subject.length > 1024 || /[\u0000-\u001f]/.test(subject)) {
    throw new RegistryError(422, 42208, 'Invalid subject name: 1-1024 characters, no control characters');
  }
}
