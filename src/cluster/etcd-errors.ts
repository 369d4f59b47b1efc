// Maps what the etcd3 client throws to the MetadataStore's typed errors, so callers handle both
// backends alike. Messages carry etcd's reason and the endpoint list, never credentials.
//
// API: toMetadataError(err, context) -> MetadataStoreError

import {
  ClientClosedError, EtcdAuthenticationFailedError, EtcdInvalidAuthTokenError, EtcdLeaseInvalidError, EtcdPermissionDeniedError,
  GRPCCancelledError, GRPCDeadlineExceededError, GRPCInternalError, GRPCResourceExhastedError, GRPCUnauthenticatedError,
  GRPCUnavailableError,
} from 'etcd3';
import {
  MetadataLeaseNotFoundError, MetadataLimitError, MetadataStoreClosedError, MetadataStoreError, MetadataUnavailableError,
} from './metadata-store.js';

export interface ErrorContext {
  /** What was attempted, e.g. "put /ferry/c/topics/t". */
  what: string;
  /** The endpoints, for messages (never credentials). */
  where: string;
  /** A write whose effect is unknown if the call failed in flight. */
  write: boolean;
  /** The lease the request used, for MetadataLeaseNotFoundError. */
  leaseId?: string;
  /** The store is closing or closed: cancellations mean "closed". */
  closed: boolean;
}

// etcd server errors that mean "try again" (raft in flux, overloaded, timed out inside etcd).
const TRANSIENT_SERVER_MESSAGES = [
  'request timed out', 'leader changed', 'no leader', 'too many requests', 'not capable', 'timed out',
  'server stopped', 'unhealthy cluster', 'connection refused', 'connection reset', 'failed to connect',
  'no connection established', 'socket hang up', 'Broken circuit',
];

export function toMetadataError(err: unknown, ctx: ErrorContext): MetadataStoreError {
  if (err instanceof MetadataStoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ClientClosedError || (ctx.closed && err instanceof GRPCCancelledError)) {
    return new MetadataStoreClosedError(ctx.where);
  }
  if (err instanceof EtcdLeaseInvalidError || /requested lease not found/.test(message)) {
    return new MetadataLeaseNotFoundError(ctx.leaseId ?? 'unknown');
  }
  if (/request is too large|too many operations in txn request|duplicate key given in txn request|key is not provided/.test(message)) {
    return new MetadataLimitError(`etcd rejected ${ctx.what}: ${stripCode(message)}`);
  }
  if (err instanceof EtcdAuthenticationFailedError || err instanceof EtcdInvalidAuthTokenError || err instanceof GRPCUnauthenticatedError) {
    return new MetadataStoreError('METADATA_AUTH', `etcd at ${ctx.where} refused the credentials for ${ctx.what}: ${stripCode(message)}`);
  }
  if (err instanceof EtcdPermissionDeniedError) {
    return new MetadataStoreError('METADATA_PERMISSION', `etcd at ${ctx.where} denied ${ctx.what}: ${stripCode(message)}`);
  }
  const transient = err instanceof GRPCUnavailableError || err instanceof GRPCDeadlineExceededError || err instanceof GRPCCancelledError
    || err instanceof GRPCInternalError || (err instanceof GRPCResourceExhastedError && !/message larger than max/i.test(message))
    || TRANSIENT_SERVER_MESSAGES.some((m) => message.includes(m));
  if (transient) {
    const unknown = ctx.write ? ' (the write may or may not have been applied)' : '';
    return new MetadataUnavailableError(`etcd at ${ctx.where} unavailable for ${ctx.what}: ${stripCode(message)}${unknown}`, ctx.write);
  }
  return new MetadataStoreError('METADATA_ETCD', `etcd at ${ctx.where} failed ${ctx.what}: ${stripCode(message)}`);
}

/** "14 UNAVAILABLE: No connection established" -> "UNAVAILABLE: No connection established". */
function stripCode(message: string): string {
  return message.replace(/^\d+ /, '').slice(0, 500);
}
