/**
 * Deletes objects nobody may read any more, after `object.gc.grace.ms` so readers that
 * started before the object was dropped can finish:
 *  - dead objects (removed from metadata by compaction or retention), then their markers;
 *  - orphans: objects in the store that metadata never referenced (an upload that failed to
 *    commit, or a crash between PUT and commit), found by listing the cluster's object prefix.
 */
import type { Logger } from 'pino';
import type { ObjectStore } from '../objects/object-store.js';
import type { ObjectRegistry } from '../cluster/object-registry.js';
import type { ObjectIndex } from './object-index.js';

export class ObjectGc {
  deleted = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ObjectRegistry,
    private readonly index: ObjectIndex,
    private readonly objectsPrefix: string,
    private readonly idOfKey: (key: string) => string | null,
    private readonly graceMs: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async runOnce(): Promise<number> {
    const cutoff = this.now() - this.graceMs;
    const dead = await this.registry.listDead();
    const expired = dead.filter((d) => d.deadSinceMs <= cutoff);
    if (expired.length) {
      await this.store.delete(expired.map((d) => d.key));
      await this.registry.forgetDead(expired.map((d) => d.id));
    }
    const deadIds = new Set(dead.map((d) => d.id));
    // Metadata, not this broker's index: other brokers' objects are referenced there too.
    const referenced = new Set((await this.registry.list()).map((o) => o.id));
    const orphans: string[] = [];
    for await (const info of this.store.list(this.objectsPrefix)) {
      const id = this.idOfKey(info.key);
      if (id === null || referenced.has(id) || this.index.has(id) || deadIds.has(id)) continue;
      if (info.lastModifiedMs <= cutoff) orphans.push(info.key);
    }
    // The index may have gained objects committed while we listed: re-check before deleting.
    const stillOrphans = orphans.filter((k) => { const id = this.idOfKey(k); return id !== null && !this.index.has(id); });
    if (stillOrphans.length) await this.store.delete(stillOrphans);
    const n = expired.length + stillOrphans.length;
    if (n) this.log.info({ dead: expired.length, orphans: stillOrphans.length }, 'deleted unreferenced objects');
    this.deleted += n;
    return n;
  }
}
