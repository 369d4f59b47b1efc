/**
 * JSON Schema as a registry schema language, on ajv: parsing (draft-07 by default, draft-04
 * (ajv-draft-04), draft-06 as draft-07, 2019-09 and 2020-12 by `$schema`; references added to the same ajv under their
 * names so `$ref: "<name>"` resolves), a canonical text, a conservative compatibility check and
 * the validation of one JSON payload.
 *
 * Compatibility (`reader.readerIssues(writer)`) must be sound: no issue means every document
 * valid under the writer is valid under the reader. It follows Confluent's JSON Schema rules
 * (open/closed content models, required, types, enums, bounds, items, nested objects) and
 * reports "cannot prove compatible" for what it cannot reason about (oneOf changes, tuples,
 * patternProperties, unresolvable $ref) unless both sides are the same.
 */
import AjvModule, { type ValidateFunction } from 'ajv';
import Ajv2019Module from 'ajv/dist/2019.js';
import Ajv2020Module from 'ajv/dist/2020.js';
import AjvDraft04Module from 'ajv-draft-04';
import {
  InvalidSchemaError, PayloadMismatchError,
  type ParsedSchema, type ResolvedReference, type SchemaFormat,
} from './schema-format.js';

// ajv is CommonJS: its class is the module's `default` property.
const Ajv = AjvModule.default;
const Ajv2019 = Ajv2019Module.default;
const Ajv2020 = Ajv2020Module.default;
const AjvDraft04 = AjvDraft04Module.default;

type Json = unknown;
type JsonObject = Record<string, unknown>;

/** JSON with object keys sorted at every level (array order kept): whitespace and key order do
 * not change it. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as JsonObject)[key]);
  return out;
}

export const jsonSchemaFormat: SchemaFormat = {
  type: 'JSON',
  parse(schema: string, references: readonly ResolvedReference[]): ParsedSchema {
    const root = parseSchemaJson(schema, 'schema');
    checkMetaSchema(root, '');
    const ajv = newAjv(dialectOf(root), false);
    const refs = new Map<string, Json>();
    for (const ref of references) addReference(ajv, ref, refs);
    let validator: ValidateFunction;
    try {
      validator = ajv.compile(forAjv(root) as object);
    } catch (err) {
      throw new InvalidSchemaError(`invalid JSON Schema: ${(err as Error).message}`);
    }
    return new JsonSchema(root, refs, validator);
  },
};

function parseSchemaJson(text: string, what: string): Json {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidSchemaError(`${what} is not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'boolean' && (json === null || typeof json !== 'object' || Array.isArray(json))) {
    throw new InvalidSchemaError(`${what} is not a JSON Schema (an object or a boolean)`);
  }
  return json;
}

type Dialect = '04' | '07' | '2019' | '2020';

function dialectOf(schema: Json): Dialect {
  const dialect = typeof schema === 'object' && schema !== null ? (schema as JsonObject)['$schema'] : undefined;
  if (typeof dialect !== 'string') return '07';
  if (dialect.includes('2020-12')) return '2020';
  if (dialect.includes('2019-09')) return '2019';
  if (dialect.includes('draft-04')) return '04';
  if (dialect.includes('draft-03')) {
    throw new InvalidSchemaError(`unsupported JSON Schema dialect ${dialect} (draft-04 and later are)`);
  }
  return '07';
}

function newAjv(dialect: Dialect, validateSchema: boolean) {
  const options = { strict: false, allErrors: false, logger: false as const, validateSchema };
  if (dialect === '2020') return new Ajv2020(options);
  if (dialect === '2019') return new Ajv2019(options);
  if (dialect === '04') return new AjvDraft04(options);
  return new Ajv(options);
}

/** One ajv per dialect checks schemas against the meta-schema: a new ajv that does so compiles
 * the meta-schema each time (about 7 ms), while the per-schema ajv (which holds the references
 * under their names) skips it (about 0.3 ms). */
const metaCheckers = new Map<Dialect, ReturnType<typeof newAjv>>();

function checkMetaSchema(schema: Json, what: string): void {
  if (typeof schema === 'boolean') return;
  const dialect = dialectOf(schema);
  let checker = metaCheckers.get(dialect);
  if (!checker) {
    checker = newAjv(dialect, true);
    metaCheckers.set(dialect, checker);
  }
  if (!checker.validateSchema(forAjv(schema) as object)) {
    throw new InvalidSchemaError(`invalid JSON Schema${what}: ${checker.errorsText(checker.errors, { dataVar: 'schema' })}`);
  }
}

/** Draft-06 is read as draft-07 (ajv 8 ships no draft-06 meta-schema by default; draft-07 only
 * added keywords). */
function forAjv(schema: Json): Json {
  if (typeof schema === 'object' && schema !== null && typeof (schema as JsonObject)['$schema'] === 'string'
    && ((schema as JsonObject)['$schema'] as string).includes('draft-06')) {
    const { $schema: _dropped, ...rest } = schema as JsonObject;
    return rest;
  }
  return schema;
}

/** Depth first, each name once; the schema is then reachable as `$ref: "<name>"`. */
function addReference(ajv: ReturnType<typeof newAjv>, ref: ResolvedReference, refs: Map<string, Json>): void {
  if (refs.has(ref.name)) return;
  const json = parseSchemaJson(ref.schema, `reference ${ref.name}`);
  checkMetaSchema(json, ` in reference ${ref.name}`);
  refs.set(ref.name, json);
  for (const inner of ref.references) addReference(ajv, inner, refs);
  try {
    ajv.addSchema(forAjv(json) as object, ref.name);
  } catch (err) {
    throw new InvalidSchemaError(`invalid JSON Schema in reference ${ref.name}: ${(err as Error).message}`);
  }
}

class JsonSchema implements ParsedSchema {
  readonly type = 'JSON' as const;
  readonly canonical: string;
  readonly recordName: string | null;

  constructor(readonly root: Json, readonly refs: ReadonlyMap<string, Json>, private readonly validator: ValidateFunction) {
    this.canonical = canonicalJson(root);
    const title = typeof root === 'object' && root !== null ? (root as JsonObject)['title'] : undefined;
    this.recordName = typeof title === 'string' ? title : null;
  }

  readerIssues(writer: ParsedSchema): string[] {
    if (!(writer instanceof JsonSchema)) return [`writer schema is ${writer.type}, not JSON`];
    if (this.canonical === writer.canonical && canonicalRefs(this.refs) === canonicalRefs(writer.refs)) return [];
    const check = new SubsetCheck();
    check.compare({ schema: this.root, root: this.root, side: this }, { schema: writer.root, root: writer.root, side: writer }, '#');
    return check.issues;
  }

  validate(payload: Buffer): void {
    let doc: unknown;
    try {
      doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
    } catch {
      throw new PayloadMismatchError('not JSON');
    }
    let valid: boolean;
    try {
      valid = this.validator(doc) as boolean;
    } catch (err) {
      // ajv recurses with the document: one nested deeper than the stack allows is refused, not a crash.
      if (err instanceof RangeError) throw new PayloadMismatchError('JSON nested too deeply to check');
      throw err;
    }
    if (!valid) {
      throw new PayloadMismatchError(`JSON does not match the schema: ${ajvErrorsText(this.validator)}`);
    }
  }
}

function canonicalRefs(refs: ReadonlyMap<string, Json>): string {
  return canonicalJson(Object.fromEntries(refs));
}

function ajvErrorsText(validator: ValidateFunction): string {
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join(', ');
}

// ---------------------------------------------------------------------------------------------
// Compatibility: is every document valid under the writer valid under the reader?

/** A subschema with the root its local `#/...` references resolve against. */
interface Loc {
  schema: Json;
  root: Json;
  side: JsonSchema;
}

/** Keywords that only describe; they never change which documents are valid. */
const ANNOTATIONS = new Set([
  '$schema', '$id', 'id', '$comment', 'title', 'description', 'default', 'examples', 'readOnly', 'writeOnly',
  'deprecated', 'definitions', '$defs', 'contentMediaType', 'contentEncoding', '$anchor',
]);
/** Keywords this check reasons about. */
const HANDLED = new Set([
  'type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'items',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
  'minLength', 'maxLength', 'pattern', 'format', 'minItems', 'maxItems', 'uniqueItems',
  'minProperties', 'maxProperties',
]);
/** Keywords that only add conditions: a writer may have them when the reader does not. */
const NARROWING_ONLY = new Set([
  'allOf', 'anyOf', 'oneOf', 'not', 'if', 'then', 'else', 'dependencies', 'dependentRequired',
  'dependentSchemas', 'propertyNames', 'contains', 'minContains', 'maxContains',
]);
const ALL_TYPES = ['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'];

class SubsetCheck {
  readonly issues: string[] = [];
  private readonly seen = new Set<string>();
  private readonly ids = new Map<object, number>();

  private issue(path: string, what: string): void {
    this.issues.push(`${path}: ${what}`);
  }

  compare(reader: Loc, writer: Loc, path: string): void {
    const r = this.deref(reader, path);
    const w = this.deref(writer, path);
    if (!r || !w) return;
    const rs = r.schema;
    const ws = w.schema;
    if (rs === true || isEmptySchema(rs) || ws === false) return;
    if (rs === false) return this.issue(path, 'the reader accepts nothing (false) where the writer accepts documents');
    if (typeof rs !== 'object' || rs === null || typeof ws !== 'object' || ws === null) {
      // ws === true (or {}): the writer accepts anything, the reader constrains.
      return this.issue(path, 'the reader constrains what the writer leaves unconstrained');
    }
    // Recursive schemas: a pair met again is assumed to hold (documents are finite).
    const key = `${this.idOf(rs)}:${this.idOf(ws)}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    // Equal text without $ref means equal constraints; with $ref the targets may still differ.
    if (!hasRef(rs) && canonicalJson(rs) === canonicalJson(ws)) return;
    this.compareObjects(r, w, rs as JsonObject, ws as JsonObject, path);
  }

  private compareObjects(r: Loc, w: Loc, rs: JsonObject, ws: JsonObject, path: string): void {
    for (const key of new Set([...Object.keys(rs), ...Object.keys(ws)])) {
      if (ANNOTATIONS.has(key) || HANDLED.has(key)) continue;
      const same = key in rs && key in ws && canonicalJson(rs[key]) === canonicalJson(ws[key]);
      if (same && !hasRef(rs[key])) continue;
      if (!(key in rs) && NARROWING_ONLY.has(key)) continue;
      return this.issue(path, `cannot prove compatible: ${path}/${key}`);
    }
    // Tuples (items as an array): only the same tuple is accepted.
    const tuple = Array.isArray(rs['items']) || Array.isArray(ws['items']);
    if (tuple && rs['items'] !== undefined && canonicalJson(rs['items']) !== canonicalJson(ws['items'])) {
      return this.issue(path, `cannot prove compatible: ${path}/items`);
    }

    const writerTypes = typesOf(ws);
    this.compareTypes(rs, ws, writerTypes, path);
    this.compareValues(rs, ws, path);
    const may = (...types: string[]) => types.some((t) => writerTypes.includes(t));
    if (may('number', 'integer')) this.compareNumberBounds(rs, ws, path);
    if (may('string')) {
      this.upper(rs, ws, 'maxLength', path);
      this.lower(rs, ws, 'minLength', path);
      this.sameOrAbsent(rs, ws, 'pattern', path);
      this.sameOrAbsent(rs, ws, 'format', path);
    }
    if (may('array')) {
      this.upper(rs, ws, 'maxItems', path);
      this.lower(rs, ws, 'minItems', path);
      if (rs['uniqueItems'] === true && ws['uniqueItems'] !== true) this.issue(path, 'the reader requires unique items, the writer does not');
      if (rs['items'] !== undefined && !tuple) {
        this.compare(this.at(r, rs['items']), this.at(w, ws['items'] ?? true), `${path}/items`);
      }
    }
    if (may('object')) {
      this.upper(rs, ws, 'maxProperties', path);
      this.lower(rs, ws, 'minProperties', path);
      this.compareObjectModel(r, w, rs, ws, path);
    }
  }

  private compareTypes(rs: JsonObject, ws: JsonObject, writerTypes: string[], path: string): void {
    if (rs['type'] === undefined) return;
    const readerTypes = typesOf(rs);
    const lost = writerTypes.filter((t) => !readerTypes.includes(t) && !(t === 'integer' && readerTypes.includes('number')));
    if (lost.length > 0) this.issue(path, `type changed from ${typeText(ws)} to ${typeText(rs)}`);
  }

  private compareValues(rs: JsonObject, ws: JsonObject, path: string): void {
    const writerValues = 'const' in ws ? [ws['const']] : Array.isArray(ws['enum']) ? ws['enum'] : null;
    if (Array.isArray(rs['enum'])) {
      const allowed = new Set(rs['enum'].map(canonicalJson));
      const missing = writerValues?.filter((v) => !allowed.has(canonicalJson(v)));
      if (!writerValues) this.issue(path, 'the reader adds an enum the writer does not have');
      else if (missing!.length > 0) this.issue(path, `enum narrowed: the reader lacks ${missing!.map((v) => JSON.stringify(v)).join(', ')}`);
    }
    if ('const' in rs) {
      const c = canonicalJson(rs['const']);
      if (!writerValues || writerValues.some((v) => canonicalJson(v) !== c)) this.issue(path, `the reader requires the constant ${JSON.stringify(rs['const'])}`);
    }
  }

  private compareNumberBounds(rs: JsonObject, ws: JsonObject, path: string): void {
    const { max: wMax, exMax: wExMax, min: wMin, exMin: wExMin } = numberBounds(ws);
    const { max: rMax, exMax: rExMax, min: rMin, exMin: rExMin } = numberBounds(rs);
    if (rMax !== undefined && !((wMax !== undefined && wMax <= rMax) || (wExMax !== undefined && wExMax <= rMax))) {
      this.issue(path, `maximum narrowed to ${rMax} (writer: ${wMax ?? (wExMax !== undefined ? `< ${wExMax}` : 'none')})`);
    }
    if (rExMax !== undefined && !((wMax !== undefined && wMax < rExMax) || (wExMax !== undefined && wExMax <= rExMax))) {
      this.issue(path, `exclusiveMaximum narrowed to ${rExMax} (writer: ${wExMax ?? (wMax !== undefined ? `<= ${wMax}` : 'none')})`);
    }
    if (rMin !== undefined && !((wMin !== undefined && wMin >= rMin) || (wExMin !== undefined && wExMin >= rMin))) {
      this.issue(path, `minimum raised to ${rMin} (writer: ${wMin ?? (wExMin !== undefined ? `> ${wExMin}` : 'none')})`);
    }
    if (rExMin !== undefined && !((wMin !== undefined && wMin > rExMin) || (wExMin !== undefined && wExMin >= rExMin))) {
      this.issue(path, `exclusiveMinimum raised to ${rExMin} (writer: ${wExMin ?? (wMin !== undefined ? `>= ${wMin}` : 'none')})`);
    }
    const rMul = bound(rs['multipleOf']);
    const wMul = bound(ws['multipleOf']);
    if (rMul !== undefined && !(wMul !== undefined && Number.isInteger(wMul / rMul))) {
      this.issue(path, `the reader requires multiples of ${rMul} (writer: ${wMul ?? 'any'})`);
    }
  }

  /** Confluent's content models: open (additionalProperties absent or true), closed (false),
   * partially open (a schema). */
  private compareObjectModel(r: Loc, w: Loc, rs: JsonObject, ws: JsonObject, path: string): void {
    const rProps = objectOf(rs['properties']);
    const wProps = objectOf(ws['properties']);
    const rExtra = rs['additionalProperties'] ?? true;
    const wExtra = ws['additionalProperties'] ?? true;
    const wRequired = new Set(Array.isArray(ws['required']) ? ws['required'] : []);
    for (const name of Array.isArray(rs['required']) ? rs['required'] : []) {
      if (!wRequired.has(name)) this.issue(`${path}/properties/${name}`, 'required by the reader but not by the writer');
    }
    for (const [name, rProp] of Object.entries(rProps)) {
      const propPath = `${path}/properties/${name}`;
      if (name in wProps) this.compare(this.at(r, rProp), this.at(w, wProps[name]), propPath);
      else if (wExtra === false) continue; // the writer never writes it
      else if (wExtra === true || isEmptySchema(wExtra)) {
        if (!isEmptySchema(rProp) && rProp !== true) this.issue(propPath, 'property added to an open content model (the writer may have written it with any value)');
      } else this.compare(this.at(r, rProp), this.at(w, wExtra), propPath);
    }
    for (const [name, wProp] of Object.entries(wProps)) {
      if (name in rProps) continue;
      const propPath = `${path}/properties/${name}`;
      if (rExtra === false) this.issue(propPath, 'property removed from a closed content model');
      else if (rExtra !== true) this.compare(this.at(r, rExtra), this.at(w, wProp), propPath);
    }
    // Names neither side declares: the writer's additionalProperties against the reader's.
    if (rExtra !== true && wExtra !== false) {
      if (rExtra === false) this.issue(`${path}/additionalProperties`, 'the reader closes the content model the writer leaves open');
      else this.compare(this.at(r, rExtra), this.at(w, wExtra), `${path}/additionalProperties`);
    }
  }

  private upper(rs: JsonObject, ws: JsonObject, key: string, path: string): void {
    const rv = bound(rs[key]);
    const wv = bound(ws[key]);
    if (rv !== undefined && !(wv !== undefined && wv <= rv)) this.issue(path, `${key} narrowed from ${wv ?? 'none'} to ${rv}`);
  }

  private lower(rs: JsonObject, ws: JsonObject, key: string, path: string): void {
    const rv = bound(rs[key]);
    const wv = bound(ws[key]);
    if (rv !== undefined && rv > 0 && !(wv !== undefined && wv >= rv)) this.issue(path, `${key} raised from ${wv ?? 'none'} to ${rv}`);
  }

  private sameOrAbsent(rs: JsonObject, ws: JsonObject, key: string, path: string): void {
    if (rs[key] !== undefined && canonicalJson(rs[key]) !== canonicalJson(ws[key])) {
      this.issue(path, `${key} changed from ${JSON.stringify(ws[key] ?? null)} to ${JSON.stringify(rs[key])}`);
    }
  }

  private at(loc: Loc, schema: Json): Loc {
    return { schema, root: loc.root, side: loc.side };
  }

  /** Follows a schema that is only a `$ref` (plus annotations) to its target; null (with an
   * issue) when the target cannot be found or the `$ref` has other keywords next to it. */
  private deref(loc: Loc, path: string): Loc | null {
    let current = loc;
    for (let hops = 0; hops < 64; hops++) {
      const s = current.schema;
      if (typeof s !== 'object' || s === null || typeof (s as JsonObject)['$ref'] !== 'string') return current;
      const ref = (s as JsonObject)['$ref'] as string;
      if (Object.keys(s).some((k) => k !== '$ref' && !ANNOTATIONS.has(k))) {
        this.issue(path, `cannot prove compatible: ${path} ($ref with other keywords)`);
        return null;
      }
      const target = resolveRef(current, ref);
      if (!target) {
        this.issue(path, `cannot prove compatible: ${path} ($ref ${ref} not resolved)`);
        return null;
      }
      current = target;
    }
    this.issue(path, `cannot prove compatible: ${path} ($ref chain too long)`);
    return null;
  }

  private idOf(obj: object): number {
    let id = this.ids.get(obj);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(obj, id);
    }
    return id;
  }
}

/** `#/pointer` in the current root, `<name>` or `<name>#/pointer` in a referenced schema. */
function resolveRef(loc: Loc, ref: string): Loc | null {
  const hash = ref.indexOf('#');
  const base = hash < 0 ? ref : ref.slice(0, hash);
  const fragment = hash < 0 ? '' : ref.slice(hash + 1);
  let root = loc.root;
  if (base !== '') {
    if (!loc.side.refs.has(base)) return null;
    root = loc.side.refs.get(base);
  }
  if (fragment === '') return { schema: root, root, side: loc.side };
  if (!fragment.startsWith('/')) return null; // anchors: not followed
  let node: unknown = root;
  for (const raw of fragment.slice(1).split('/')) {
    const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, token)) return null;
    node = (node as JsonObject)[token];
  }
  return { schema: node, root, side: loc.side };
}

function hasRef(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasRef);
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([k, v]) => k === '$ref' || hasRef(v));
}

function isEmptySchema(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && !Array.isArray(schema)
    && Object.keys(schema).every((k) => ANNOTATIONS.has(k));
}

function typesOf(schema: JsonObject): string[] {
  const t = schema['type'];
  if (typeof t === 'string') return t === 'number' ? ['number', 'integer'] : [t];
  if (Array.isArray(t)) return t.flatMap((x) => (x === 'number' ? ['number', 'integer'] : [String(x)]));
  return ALL_TYPES;
}

function typeText(schema: JsonObject): string {
  const t = schema['type'];
  return t === undefined ? 'any' : Array.isArray(t) ? JSON.stringify(t) : String(t);
}

function bound(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

/** Bounds as draft-06 and later have them: draft-04's `exclusiveMaximum: true` makes `maximum` exclusive. */
function numberBounds(s: JsonObject): { max?: number; exMax?: number; min?: number; exMin?: number } {
  const max = bound(s['maximum']);
  const min = bound(s['minimum']);
  return {
    max: s['exclusiveMaximum'] === true ? undefined : max,
    exMax: s['exclusiveMaximum'] === true ? max : bound(s['exclusiveMaximum']),
    min: s['exclusiveMinimum'] === true ? undefined : min,
    exMin: s['exclusiveMinimum'] === true ? min : bound(s['exclusiveMinimum']),
  };
}

function objectOf(value: unknown): JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}
