// The local store's watches: the recent history of changes (per revision, bounded) and the
// watchers on prefixes. The store publishes each revision only once it is durable, so a watcher
// never sees a change that could be lost. Events reach a watcher asynchronously (one microtask per
// burst), in revision order; a watcher cancelled meanwhile gets nothing more. A watch from a
// revision older than the history fails with MetadataCompactedError, as on etcd.
//
// API: new WatchHub(historyRevisionsMax, onWatchError, history?)
//      watch(prefix, fromRevision, currentRevision, onEvent, onError?) -> cancel
//      publish(revision, events); close()

import { MetadataCompactedError, type WatchEvent } from './metadata-store.js';

export interface RevisionEvents { revision: number; events: WatchEvent[] }

interface Watcher {
  prefix: string;
  minRevision: number;
  onEvent: (e: WatchEvent) => void;
  pending: WatchEvent[];
  scheduled: boolean;
  cancelled: boolean;
}

export class WatchHub {
  private readonly history: RevisionEvents[] = [];
  private readonly watchers = new Set<Watcher>();

  /**
   * Keeps between historyRevisionsMax and twice that many revisions; `history` (replayed at open,
   * in revision order) starts it off with its last historyRevisionsMax. onWatchError gets what a
   * watch callback throws.
   */
  constructor(private readonly historyRevisionsMax: number, private readonly onWatchError: (err: unknown) => void, history: readonly RevisionEvents[] = []) {
    this.history.push(...history.slice(-historyRevisionsMax));
  }

  /** fromRevision 0 = after currentRevision (the store's durable revision). The caller checks fromRevision. */
  watch(prefix: string, fromRevision: number, currentRevision: number, onEvent: (e: WatchEvent) => void, onError?: (err: Error) => void): () => void {
    const start = fromRevision === 0 ? currentRevision + 1 : fromRevision;
    const oldest = this.history[0]?.revision ?? currentRevision + 1;
    if (start < oldest) {
      const err = new MetadataCompactedError(start, oldest);
      if (!onError) throw err;
      queueMicrotask(() => onError(err));
      return () => undefined;
    }
    const watcher: Watcher = { prefix, minRevision: start, onEvent, pending: [], scheduled: false, cancelled: false };
    for (const h of this.history) {
      if (h.revision >= start) this.enqueueEvents(watcher, h.events);
    }
    this.watchers.add(watcher);
    return () => {
      watcher.cancelled = true;
      this.watchers.delete(watcher);
    };
  }

  /** A durable revision: into the history and to every watcher it concerns. */
  publish(revision: number, events: WatchEvent[]): void {
    this.history.push({ revision, events });
    if (this.history.length > 2 * this.historyRevisionsMax) this.history.splice(0, this.history.length - this.historyRevisionsMax);
    for (const w of this.watchers) if (revision >= w.minRevision) this.enqueueEvents(w, events);
  }

  /** Ends every watch (no more events, also none already queued). */
  close(): void {
    for (const w of this.watchers) w.cancelled = true;
    this.watchers.clear();
  }

  private enqueueEvents(w: Watcher, events: WatchEvent[]): void {
    for (const e of events) if (e.kv.key.startsWith(w.prefix)) w.pending.push(e);
    if (w.pending.length === 0 || w.scheduled) return;
    w.scheduled = true;
    queueMicrotask(() => {
      w.scheduled = false;
      const batch = w.pending.splice(0, w.pending.length);
      for (const e of batch) {
        if (w.cancelled) return;
        try {
          w.onEvent(e);
        } catch (err) {
          this.onWatchError(err);
        }
      }
    });
  }
}
