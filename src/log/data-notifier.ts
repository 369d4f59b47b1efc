/**
 * Wakes parked fetches when a partition they wait on gets new durable data (or is deleted).
 * Keys are `topicId:partition`.
 *
 * A fetch watches its partitions for its whole life (not only while parked), so a commit that
 * lands while it is reading is not lost, and it learns which partitions to read again.
 */
export class DataNotifier {
  private readonly listeners = new Map<string, Set<(key: string) => void>>();

  /** Starts collecting notifications of `keys`; close() the watch when done. */
  watch(keys: readonly string[]): DataWatch {
    const woken = new Set<string>();
    let wake: (() => void) | null = null;
    const listener = (key: string) => {
      woken.add(key);
      wake?.();
    };
    const unique = [...new Set(keys)];
    for (const k of unique) {
      let set = this.listeners.get(k);
      if (!set) { set = new Set(); this.listeners.set(k, set); }
      set.add(listener);
    }
    let closed = false;
    return {
      take: () => {
        const out = new Set(woken);
        woken.clear();
        return out;
      },
      wait: (timeoutMs, signal) => new Promise<void>((resolve) => {
        if (woken.size > 0 || closed || signal?.aborted) { resolve(); return; }
        const finish = () => {
          wake = null;
          clearTimeout(timer);
          signal?.removeEventListener('abort', finish);
          resolve();
        };
        const timer = setTimeout(finish, Math.max(0, timeoutMs));
        signal?.addEventListener('abort', finish, { once: true });
        wake = finish;
      }),
      close: () => {
        if (closed) return;
        closed = true;
        wake?.();
        for (const k of unique) {
          const set = this.listeners.get(k);
          if (set) { set.delete(listener); if (set.size === 0) this.listeners.delete(k); }
        }
      },
    };
  }

  notify(key: string): void {
    const set = this.listeners.get(key);
    if (!set) return;
    for (const fn of [...set]) fn(key);
  }

  notifyAll(): void {
    for (const key of [...this.listeners.keys()]) this.notify(key);
  }
}

/** A standing subscription to some partitions (DataNotifier.watch). */
export interface DataWatch {
  /** The keys notified since the last take (and forgets them). */
  take(): Set<string>;
  /** Resolves once a key has been notified since the last take (at once if one has), after `timeoutMs`, or on abort. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** Stops collecting; a pending wait resolves. */
  close(): void;
}

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}
