// The local store's leases: in memory only. With autoKeepAlive (the default) a lease expires only
// if this process stops renewing it (an event-loop stall longer than the TTL); its keys are deleted
// durably (through the store's write queue) when it expires or is revoked. Closing the store ends
// its leases without deleting their keys: the next open deletes them (their holder is gone).
//
// API: new LocalLeases(deleteKeys) { has(id), grant(ttlMs, autoKeepAlive) -> LocalLease, closeAll() }

import { randomBytes } from 'node:crypto';
import { LeaseBase } from './lease-base.js';
import { MetadataLeaseNotFoundError, type LeaseLossReason } from './metadata-store.js';

export class LocalLeases {
  private readonly leases = new Map<string, LocalLease>();

  /** deleteKeys(leaseId) durably deletes the keys bound to a lease; it may reject (the store failed). */
  constructor(private readonly deleteKeys: (leaseId: string) => Promise<unknown>) {}

  /** True while the lease is granted and not lost. */
  has(leaseId: string): boolean {
    return this.leases.has(leaseId);
  }

  grant(ttlMs: number, autoKeepAlive: boolean): LocalLease {
    let id: string;
    do id = randomBytes(8).toString('hex'); while (this.leases.has(id));
    const lease = new LocalLease(id, ttlMs, autoKeepAlive, {
      lost: (l) => { this.leases.delete(l.id); },
      deleteKeys: this.deleteKeys,
    });
    this.leases.set(id, lease);
    return lease;
  }

  /** The store is closing: every lease ends here; their keys go at the next open. */
  closeAll(): void {
    for (const lease of [...this.leases.values()]) lease.closeLocally();
  }
}

interface LocalLeaseHost {
  lost(lease: LocalLease): void;
  deleteKeys(leaseId: string): Promise<unknown>;
}

export class LocalLease extends LeaseBase {
  private deletion: Promise<unknown> | null = null;

  constructor(id: string, ttlMs: number, autoKeepAlive: boolean, private readonly host: LocalLeaseHost) {
    super(id, ttlMs);
    this.armExpiry();
    // Renewals are due well before the expiry, so even after an event-loop stall the renewal fires first.
    if (autoKeepAlive) this.startRenewing(() => this.armExpiry());
  }

  async keepAliveOnce(): Promise<void> {
    if (this.isLost) throw new MetadataLeaseNotFoundError(this.id);
    this.armExpiry();
  }

  async revoke(): Promise<void> {
    if (!this.isLost) this.lose('revoked');
    await this.deletion?.catch(() => undefined);
  }

  private armExpiry(): void {
    this.armExpiryIn(this.ttlMs, () => this.lose('expired'));
  }

  protected released(reason: LeaseLossReason): void {
    this.host.lost(this);
    if (reason !== 'closed') {
      // If the store failed meanwhile, the keys are deleted at the next open instead.
      this.deletion = this.host.deleteKeys(this.id).catch(() => undefined);
    }
  }
}
