/**
 * Deletes zone-local produce's leftover staging objects: a proxy deletes each of its objects once
 * every leader answered, but a proxy that died (or lost the DELETE) leaves them behind. Any broker
 * may run this; deleting is idempotent. An object is old enough once ferry.proxy.staging.retention.ms
 * has passed since it was written: by then its leaders appended it or its client gave up.
 */
import type { Logger } from 'pino';
import type { StagingStore } from './context.js';

export class StagingJanitor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly store: StagingStore,
    private readonly prefix: string,
    private readonly retentionMs: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    const every = Math.min(300_000, Math.max(10_000, Math.floor(this.retentionMs / 4)));
    this.timer = setInterval(() => { void this.runOnce(); }, every);
    this.timer.unref();
  }

  /** One sweep; returns how many objects it deleted. Never throws (logs and tries next time). */
  runOnce(): Promise<number> {
    this.running ??= this.sweep().catch((err) => {
      this.log.warn({ err }, 'staging janitor: sweep failed; retrying next interval');
      return 0;
    }).finally(() => { this.running = null; });
    return this.running;
  }

  private async sweep(): Promise<number> {
    const cutoff = this.now() - this.retentionMs;
    const old: string[] = [];
    for await (const o of this.store.list(this.prefix)) if (o.lastModifiedMs < cutoff) old.push(o.key);
    for (let i = 0; i < old.length; i += 1000) await this.store.delete(old.slice(i, i + 1000));
    if (old.length > 0) this.log.info({ objects: old.length, retentionMs: this.retentionMs }, 'staging janitor: deleted leftover staging objects');
    return old.length;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
