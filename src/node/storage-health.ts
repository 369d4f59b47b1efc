/**
 * Whether this broker's storage can take writes: the WAL has room, and uploads are keeping up.
 * Each change is logged once (warn when it goes bad, naming the cause, e.g. "WAL full: uploads
 * failing: ENOSPC ..."), counted in the ferry_wal_full / ferry_uploads_failing gauges, and a full
 * WAL makes /readyz answer 503 until a trim frees space.
 */
import type { Logger } from 'pino';
import { describeError } from '../ops/describe-error.js';

export interface StorageHealthMetrics {
  walFullState(full: boolean): void;
  uploadsFailing(failing: boolean): void;
}

export class StorageHealth {
  private walFull = false;
  private uploadError: Error | null = null;

  constructor(private readonly log: Logger, private readonly metrics: StorageHealthMetrics) {}

  /** Produce is refused at once while false (the WAL rejects appends until space is freed). */
  get writable(): boolean { return !this.walFull; }

  setWalFull(full: boolean): void {
    if (full === this.walFull) return;
    this.walFull = full;
    this.metrics.walFullState(full);
    if (full) {
      const cause = this.uploadError ? `uploads failing: ${describeError(this.uploadError)}` : 'uploads lagging behind produce';
      this.log.warn({ cause }, `WAL full: ${cause}; produce is answered with a retriable error until uploads free space`);
    } else {
      this.log.warn('WAL has room again; produce accepted');
    }
  }

  setUploadError(err: Error | null): void {
    this.uploadError = err;
    this.metrics.uploadsFailing(err !== null);
  }
}
