/**
 * This broker's copy of the registry's records: read whole at start, then followed by a watch on
 * the prefix (after a watch error, read whole again), so every broker of a cluster answers reads
 * and validates records from memory. `caughtUp(revision)` waits until the copy has applied a
 * store revision: a write answers only once its own broker can read it back.
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
  private raw = new Map<string, { value: Buffer; modRevision: number }>();
  private derived: RegistryRecords | null = null;
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

  records(): RegistryRecords {
    if (!this.derived) this.derived = this.derive();
    return this.derived;
  }

  private async sync(): Promise<void> {
    this.cancel?.();
    const { kvs, revision } = await this.store.listWithRevision(this.keys.prefix);
    this.raw = new Map(kvs.map((kv) => [kv.key, { value: kv.value, modRevision: kv.modRevision }]));
    this.derived = null;
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
    if (e.type === 'put') this.raw.set(e.kv.key, { value: e.kv.value, modRevision: e.kv.modRevision });
    else this.raw.delete(e.kv.key);
    this.derived = null;
    this.advance(e.kv.modRevision);
  }

  private advance(revision: number): void {
    if (revision > this.appliedRevision) this.appliedRevision = revision;
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.revision <= this.appliedRevision ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  private derive(): RegistryRecords {
    const r: RegistryRecords = {
      guard: { nextId: 1 }, guardRevision: 0, schemas: new Map(), fingerprints: new Map(), subjects: new Map(), configs: new Map(), modes: new Map(),
    };
    const sortedKeys = [...this.raw.keys()].sort();
    for (const key of sortedKeys) {
      const { value, modRevision } = this.raw.get(key)!;
      const k = this.keys.parse(key);
      if (!k) continue;
      try {
        switch (k.kind) {
          case 'guard': r.guard = decodeJson<Guard>(value, key); r.guardRevision = modRevision; break;
          case 'schema': r.schemas.set(k.id, decodeJson<StoredSchema>(value, key)); break;
          case 'fingerprint': r.fingerprints.set(k.fingerprint, decodeJson<{ id: number }>(value, key).id); break;
          case 'version': {
            let versions = r.subjects.get(k.subject);
            if (!versions) r.subjects.set(k.subject, (versions = new Map()));
            versions.set(k.version, decodeJson<StoredVersion>(value, key));
            break;
          }
          case 'config': r.configs.set(k.subject, decodeJson<{ compatibilityLevel: CompatibilityLevel }>(value, key).compatibilityLevel); break;
          case 'mode': r.modes.set(k.subject, decodeJson<{ mode: RegistryMode }>(value, key).mode); break;
        }
      } catch (err) {
        this.log.error({ err, key }, 'schema registry record unreadable; ignored');
      }
    }
    return r;
  }
}
