/**
 * This broker's copy of the registry's records: read whole at start, then followed by a watch on
 * the prefix (after a watch error, read whole again), so every broker of a cluster answers reads
 * and validates records from memory. `caughtUp(revision)` waits until the copy has applied a
 * store revision: a write answers only once its own broker can read it back.
 *
 * Records are updated in place per watch event (a registration costs O(1), not a re-read).
 *
 * API: new RegistryView(store, keys, log); start(); close(); revision; records(); caughtUp(rev)
 */
import type { Logger } from 'pino';
import { decodeJson, type MetadataStore, type WatchEvent } from '../cluster/metadata-store.js';
import type { Guard, RegistryKeys, StoredSchema, StoredVersion, CompatibilityLevel, RegistryMode } from './registry-records.js';

export interface RegistryRecords {
  guard: Guard;
  /** modRevision of the guard key (0: never written): the compare of the next write. */
  guardRevision: number;
  schemas: Map<number, StoredSchema>;
  fingerprints: Map<string, number>;
  /** subject -> version -> record, versions ascending. */
  subjects: Map<string, Map<number, StoredVersion>>;
  /** subject (null = global) -> level */
  configs: Map<string | null, CompatibilityLevel>;
  modes: Map<string | null, RegistryMode>;
}

const RESYNC_DELAY_MS = 200;

export class RegistryView {
  private r: RegistryRecords = emptyRecords();
  private appliedRevision = 0;
  private cancel: (() => void) | null = null;
  private closed = false;
  private waiters: Array<{ revision: number; resolve: () => void }> = [];
  private resyncTimer: NodeJS.Timeout | null = null;

  constructor(private readonly store: MetadataStore, private readonly keys: RegistryKeys, private readonly log: Logger) {}

  get revision(): number { return this.appliedRevision; }

  async start(): Promise<void> { await this.sync(); }

  close(): void {
    this.closed = true;
    this.cancel?.();
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** Resolves once the copy has applied `revision` (or the view closed). */
  caughtUp(revision: number): Promise<void> {
    if (this.appliedRevision >= revision || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ revision, resolve }));
  }

  /** Waits until everything the store holds now is applied here. */
  async caughtUpWithStore(): Promise<void> { await this.caughtUp(await this.store.revision()); }

  records(): RegistryRecords { return this.r; }

  private async sync(): Promise<void> {
    this.cancel?.();
    const { kvs, revision } = await this.store.listWithRevision(this.keys.prefix);
    const r = emptyRecords();
    for (const kv of kvs) this.applyTo(r, kv.key, kv.value, kv.modRevision);
    sortVersions(r);
    this.r = r;
    this.advance(revision);
    this.cancel = this.store.watch(this.keys.prefix, revision + 1, (e) => this.apply(e), (err) => this.resync(err));
  }

  private resync(err: Error): void {
    if (this.closed) return;
    this.log.warn({ err }, 'schema registry watch failed; reading the registry again');
    this.resyncTimer = setTimeout(() => {
      this.sync().catch((e) => this.resync(e as Error));
    }, RESYNC_DELAY_MS);
  }

  private apply(e: WatchEvent): void {
    this.applyTo(this.r, e.kv.key, e.type === 'put' ? e.kv.value : null, e.kv.modRevision);
    this.advance(e.kv.modRevision);
  }

  private advance(revision: number): void {
    if (revision > this.appliedRevision) this.appliedRevision = revision;
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.revision <= this.appliedRevision ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  /** One key's put (value) or delete (null), applied to the records in place. */
  private applyTo(r: RegistryRecords, key: string, value: Buffer | null, modRevision: number): void {
    const k = this.keys.parse(key);
    if (!k) return;
    try {
      switch (k.kind) {
        case 'guard':
          r.guard = value ? decodeJson<Guard>(value, key) : { nextId: 1 };
          r.guardRevision = value ? modRevision : 0;
          break;
        case 'schema':
          if (value) r.schemas.set(k.id, decodeJson<StoredSchema>(value, key)); else r.schemas.delete(k.id);
          break;
        case 'fingerprint':
          if (value) r.fingerprints.set(k.fingerprint, decodeJson<{ id: number }>(value, key).id); else r.fingerprints.delete(k.fingerprint);
          break;
        case 'version': {
          let versions = r.subjects.get(k.subject);
          if (value) {
            if (!versions) r.subjects.set(k.subject, (versions = new Map()));
            const isNew = !versions.has(k.version);
            versions.set(k.version, decodeJson<StoredVersion>(value, key));
            // Versions are kept ascending: a new one out of order (an import) re-sorts the subject.
            if (isNew && [...versions.keys()].some((v) => v > k.version)) r.subjects.set(k.subject, new Map([...versions].sort(([a], [b]) => a - b)));
          } else if (versions) {
            versions.delete(k.version);
            if (versions.size === 0) r.subjects.delete(k.subject);
          }
          break;
        }
        case 'config':
          if (value) r.configs.set(k.subject, decodeJson<{ compatibilityLevel: CompatibilityLevel }>(value, key).compatibilityLevel); else r.configs.delete(k.subject);
          break;
        case 'mode':
          if (value) r.modes.set(k.subject, decodeJson<{ mode: RegistryMode }>(value, key).mode); else r.modes.delete(k.subject);
          break;
      }
    } catch (err) {
      this.log.error({ err, key }, 'schema registry record unreadable; ignored');
    }
  }
}

function emptyRecords(): RegistryRecords {
  return { guard: { nextId: 1 }, guardRevision: 0, schemas: new Map(), fingerprints: new Map(), subjects: new Map(), configs: new Map(), modes: new Map() };
}

/** The store lists keys in byte order, and versions are zero-padded: this only guards the invariant. */
function sortVersions(r: RegistryRecords): void {
  for (const [subject, versions] of r.subjects) r.subjects.set(subject, new Map([...versions].sort(([a], [b]) => a - b)));
}
