// Errors of the admin client: a Kafka error code from a broker (named as Kafka names it), a
// connection problem, or a bad request from the command line.
import { errorName, isRetriable } from '../protocol/errors.js';

/** A Kafka error code answered by a broker, e.g. `TOPIC_ALREADY_EXISTS (36): create topic t`. */
export class AdminError extends Error {
  readonly code = 'KAFKA_ERROR';
  readonly errorName: string;
  constructor(readonly errorCode: number, readonly what: string, detail?: string) {
    const name = errorName(errorCode);
    super(`${what}: ${name}${detail ? ` (${detail})` : ''}`);
    this.name = 'AdminError';
    this.errorName = name;
  }
  get retriable(): boolean { return isRetriable(this.errorCode); }
}

export class ConnectionError extends Error {
  readonly code = 'CONNECTION_FAILED';
  constructor(readonly address: string, detail: string) {
    super(`${address}: ${detail}`);
    this.name = 'ConnectionError';
  }
}

/** Bad command-line usage: exits with status 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
