// What every MetadataStore Lease keeps the same way, whatever backs it (local-lease.ts in memory,
// etcd-lease.ts on an etcd lease): lost exactly once, with a reason; listeners told once (late
// ones on the next microtask); the renewal timer (every TTL/3, like etcd's Go client, so two
// renewals can be missed before expiry) and the expiry timer, both stopped when the lease is lost.
// A backend says what "lost" does for it (released) and how renewal and revocation work.
//
// API: abstract class LeaseBase implements Lease { id, ttlMs, isLost, onLost(fn), closeLocally();
//      protected startRenewing(fn), armExpiryIn(ms, fn), lose(reason), abstract released(reason) }

import assert from 'node:assert/strict';
import type { Lease, LeaseLossReason } from './metadata-store.js';

export abstract class LeaseBase implements Lease {
  private lostReason: LeaseLossReason | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(reason: LeaseLossReason) => void>();

  constructor(readonly id: string, readonly ttlMs: number) {}

  get isLost(): boolean { return this.lostReason !== null; }

  abstract keepAliveOnce(): Promise<void>;
  abstract revoke(): Promise<void>;

  onLost(listener: (reason: LeaseLossReason) => void): () => void {
    if (this.lostReason !== null) {
      const reason = this.lostReason;
      queueMicrotask(() => listener(reason));
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** The store is closing: the lease ends here (what happens to its keys is the backend's: released('closed')). */
  closeLocally(): void {
    if (this.lostReason === null) this.lose('closed');
  }

  /** Calls renew every TTL/3 until the lease is lost. */
  protected startRenewing(renew: () => void): void {
    this.renewTimer = setInterval(renew, Math.max(1, Math.floor(this.ttlMs / 3)));
    this.renewTimer.unref();
  }

  /** (Re)arms the one expiry timer: onExpiry runs in delayMs unless re-armed or lost first. */
  protected armExpiryIn(delayMs: number, onExpiry: () => void): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(onExpiry, delayMs);
    this.expiryTimer.unref();
  }

  /** Marks the lease lost (once), stops its timers, lets the backend react, then tells the listeners. */
  protected lose(reason: LeaseLossReason): void {
    assert.equal(this.lostReason, null);
    this.lostReason = reason;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.released(reason);
    for (const l of this.listeners) l(reason);
    this.listeners.clear();
  }

  /** The backend's part of losing the lease, before listeners are told (stop streams, delete or revoke keys). */
  protected abstract released(reason: LeaseLossReason): void;
}
