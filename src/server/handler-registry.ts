/**
 * Which APIs and versions this broker serves, and the handler for each. ApiVersions advertises
 * exactly this table.
 */
import type { Logger } from 'pino';
import type { RequestHeader } from '../protocol/headers.js';

export interface RequestContext {
  header: RequestHeader;
  connectionId: number;
  remoteAddress: string;
  log: Logger;
  /** Aborted when the connection closes, so parked requests (long-poll fetch, joins) can give up. */
  signal: AbortSignal;
}

/** Returns the response body, or null to send nothing (Produce with acks=0). */
export type Handler = (ctx: RequestContext, request: any) => Promise<object | null> | object | null;

export interface ApiRegistration {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
  handler: Handler;
}

export class HandlerRegistry {
  private readonly byKey = new Map<number, ApiRegistration>();

  register(apiKey: number, minVersion: number, maxVersion: number, handler: Handler): void {
    if (this.byKey.has(apiKey)) throw new Error(`api ${apiKey} registered twice`);
    if (minVersion > maxVersion) throw new Error(`api ${apiKey}: minVersion ${minVersion} > maxVersion ${maxVersion}`);
    this.byKey.set(apiKey, { apiKey, minVersion, maxVersion, handler });
  }

  get(apiKey: number): ApiRegistration | undefined { return this.byKey.get(apiKey); }

  list(): ApiRegistration[] { return [...this.byKey.values()].sort((a, b) => a.apiKey - b.apiKey); }
}
