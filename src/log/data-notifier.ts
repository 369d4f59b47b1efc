/**
 * Wakes parked fetches when a partition they wait on gets new durable data (or is deleted).
 * Keys are `topicId:partition`.
 */
export class DataNotifier {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Resolves when any of `keys` is notified, or after `timeoutMs`; `signal` cancels early. */
  wait(keys: string[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        for (const k of keys) {
          const set = this.waiters.get(k);
          if (set) { set.delete(finish); if (set.size === 0) this.waiters.delete(k); }
        }
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, timeoutMs));
      for (const k of keys) {
        let set = this.waiters.get(k);
        if (!set) { set = new Set(); this.waiters.set(k, set); }
        set.add(finish);
      }
      if (signal) {
        if (signal.aborted) finish(); else signal.addEventListener('abort', finish, { once: true });
      }
    });
  }

  notify(key: string): void {
    const set = this.waiters.get(key);
    if (!set) return;
    for (const fn of [...set]) fn();
  }

  notifyAll(): void {
    for (const key of [...this.waiters.keys()]) this.notify(key);
  }
}

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}
