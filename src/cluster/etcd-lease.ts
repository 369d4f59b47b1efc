// A MetadataStore Lease on an etcd lease, kept alive over a LeaseKeepAlive stream.
//
// Fencing: the lease counts as lost (isLost, onLost('expired')) as soon as etcd *could* have
// expired it, judged by our monotonic clock: every renewal that etcd confirms extends validity to
// (time the request was SENT) + TTL, which is never later than etcd's own deadline. So a paused
// process or an unreachable etcd turns the lease lost here no later than etcd drops its keys. On a
// local expiry the lease is also revoked at etcd (best effort) so its keys go at once wherever the
// lease survived.
//
// The lost-once bookkeeping, listeners and timers are LeaseBase's (lease-base.ts), shared with the
// local store's leases.
//
// API: EtcdLease.grant(host, ttlMs, autoKeepAlive) -> EtcdLease (implements Lease), plus
//      lease.remainingMs (ms until etcd could expire it; 0 once lost)

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse, LeaseClient } from 'etcd3';
import { LeaseBase } from './lease-base.js';
import { MetadataLeaseNotFoundError, MetadataUnavailableError, type LeaseLossReason, type MetadataStoreError } from './metadata-store.js';

export interface EtcdLeaseHost {
  readonly leaseClient: LeaseClient;
  readonly requestTimeoutMs: number;
  mapError(err: unknown, what: string, write: boolean, leaseId?: string): MetadataStoreError;
  /** The lease is lost: stop tracking it. */
  forget(lease: EtcdLease): void;
}

type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

export class EtcdLease extends LeaseBase {
  private stream: KeepAliveStream | null = null;
  private streamOpening = false;
  /** Send times (performance.now()) of keepalives awaiting their response on `stream`, in order. */
  private pendingSentAt: number[] = [];
  private revokeCall: Promise<void> | null = null;

  private constructor(
    id: string,
    ttlMs: number,
    /** performance.now() until which etcd cannot have expired the lease. */
    private validUntil: number,
    autoKeepAlive: boolean,
    private readonly host: EtcdLeaseHost,
  ) {
    super(id, ttlMs);
    this.armExpiry();
    // Like etcd's Go client: renew every TTL/3, so two renewals can be lost before expiry.
    if (autoKeepAlive) this.startRenewing(() => this.renew());
  }

  /** Grants a lease of ttlMs rounded up to whole seconds (etcd's unit; etcd may raise it to its minimum). */
  static async grant(host: EtcdLeaseHost, ttlMs: number, autoKeepAlive: boolean): Promise<EtcdLease> {
    const ttlSeconds = Math.ceil(ttlMs / 1000);
    const sentAt = performance.now();
    let res;
    try {
      res = await host.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 });
    } catch (err) {
      throw host.mapError(err, `grant a lease of ${ttlSeconds} s`, true);
    }
    if (res.error) throw host.mapError(new Error(res.error), `grant a lease of ${ttlSeconds} s`, true);
    const grantedMs = Number(res.TTL) * 1000;
    assert.ok(grantedMs > 0 && /^[1-9][0-9]*$/.test(res.ID), `etcd granted lease ${res.ID} with TTL ${res.TTL}`);
    return new EtcdLease(res.ID, grantedMs, sentAt + grantedMs, autoKeepAlive, host);
  }

  /** Milliseconds until etcd could expire the lease, by the last confirmed renewal; 0 once lost. */
  get remainingMs(): number {
    return this.isLost ? 0 : Math.max(0, this.validUntil - performance.now());
  }

  async keepAliveOnce(): Promise<void> {
    if (this.isLost) throw new MetadataLeaseNotFoundError(this.id);
    const what = `renew lease ${this.id}`;
    let stream: KeepAliveStream;
    try {
      stream = await this.host.leaseClient.leaseKeepAlive();
    } catch (err) {
      throw this.host.mapError(err, what, false, this.id);
    }
    const sentAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const res = await new Promise<ILeaseKeepAliveResponse>((resolve, reject) => {
        timer = setTimeout(() => reject(new MetadataUnavailableError(`etcd did not answer ${what} within ${this.host.requestTimeoutMs} ms`, false)), this.host.requestTimeoutMs);
        stream.on('data', resolve);
        stream.on('error', (err) => reject(this.host.mapError(err, what, false, this.id)));
        stream.on('end', () => reject(new MetadataUnavailableError(`etcd closed the keepalive stream during ${what}`, false)));
        stream.write({ ID: this.id });
      });
      this.applyKeepAlive(sentAt, res);
    } finally {
      clearTimeout(timer);
      stream.end();
    }
    if (this.isLost) throw new MetadataLeaseNotFoundError(this.id);
  }

  async revoke(): Promise<void> {
    if (!this.isLost) this.lose('revoked');
    this.revokeCall ??= this.revokeAtEtcd().catch((err) => {
      this.revokeCall = null; // a later revoke() tries again
      throw err;
    });
    await this.revokeCall;
  }

  // closeLocally() (LeaseBase): the store is closing: stop renewing; etcd deletes the keys when the TTL runs out.

  private async revokeAtEtcd(): Promise<void> {
    try {
      await this.host.leaseClient.leaseRevoke({ ID: this.id });
    } catch (err) {
      const mapped = this.host.mapError(err, `revoke lease ${this.id}`, true, this.id);
      if (mapped instanceof MetadataLeaseNotFoundError) return; // already expired at etcd: keys are gone
      throw mapped;
    }
  }

  private renew(): void {
    if (this.isLost) return;
    const now = performance.now();
    // A keepalive unanswered for a third of the TTL means a stuck stream (e.g. etcd paused or a
    // dead connection): start over on a fresh one.
    const stuckMs = Math.min(this.host.requestTimeoutMs, this.ttlMs / 3);
    if (this.stream && this.pendingSentAt.length > 0 && now - this.pendingSentAt[0]! > stuckMs) this.dropStream(false);
    if (this.stream) {
      this.pendingSentAt.push(now);
      this.stream.write({ ID: this.id });
      return;
    }
    if (this.streamOpening) return;
    this.streamOpening = true;
    this.host.leaseClient.leaseKeepAlive().then((stream) => {
      this.streamOpening = false;
      if (this.isLost) { stream.end(); return; }
      this.stream = stream;
      this.pendingSentAt = [];
      stream.on('data', (res) => {
        if (this.stream !== stream) return;
        const sentAt = this.pendingSentAt.shift();
        if (sentAt !== undefined) this.applyKeepAlive(sentAt, res);
      });
      const ended = (): void => { if (this.stream === stream) this.dropStream(false); };
      stream.on('error', ended);
      stream.on('end', ended);
      this.renew();
    }, () => {
      this.streamOpening = false; // the next interval tries again
    });
  }

  /** Graceful: half-close (a cancel makes the client reset its connections); else cancel a stuck stream. */
  private dropStream(graceful: boolean): void {
    const stream = this.stream;
    this.stream = null;
    this.pendingSentAt = [];
    if (graceful) stream?.end();
    else stream?.cancel();
  }

  private applyKeepAlive(sentAt: number, res: ILeaseKeepAliveResponse): void {
    if (this.isLost) return;
    const ttlSeconds = Number(res.TTL);
    if (!(ttlSeconds > 0)) {
      this.lose('expired'); // etcd no longer knows the lease
      return;
    }
    this.validUntil = Math.max(this.validUntil, sentAt + ttlSeconds * 1000);
    this.armExpiry();
  }

  private armExpiry(): void {
    this.armExpiryIn(Math.max(0, Math.ceil(this.validUntil - performance.now())), () => {
      if (this.isLost) return;
      if (performance.now() >= this.validUntil) this.lose('expired');
      else this.armExpiry();
    });
  }

  protected released(reason: LeaseLossReason): void {
    this.dropStream(true);
    this.host.forget(this);
    // Expired here but maybe not at etcd (we only lost contact): revoke so the keys go now.
    if (reason === 'expired') this.revokeCall = this.revokeAtEtcd().catch(() => undefined);
  }
}
