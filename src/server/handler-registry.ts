/**
 * Which APIs and versions this broker serves, and the handler for each. ApiVersions advertises
 * exactly this table.
 */
import type { Logger } from 'pino';
import type { RequestHeader } from '../protocol/headers.js';
import type { Session } from './session.js';

export interface RequestContext {
  header: RequestHeader;
  connectionId: number;
  remoteAddress: string;
  /**
   * The connection's listener and principal (ACL checks, per-listener addresses). Absent when a
   * handler is called outside a connection (tests): treated as internalSession().
   */
  session?: Session;
  log: Logger;
  /** Aborted when the connection closes, so parked requests (long-poll fetch, joins) can give up. */
  signal: AbortSignal;
  /**
   * The room this request's response may take in its connection's and the broker's send queue.
   * Handlers whose responses can be large (Fetch) claim bytes before reading data, so what waits to
   * be sent stays bounded. Absent when the handler is called outside a connection (tests).
   */
  responseBytes?: ResponseBytes;
}

export interface ResponseBytes {
  /** Claims up to `bytes` for the response being built; returns the bytes granted (0 when full). */
  claim(bytes: number): number;
  /**
   * Corrects this response's claim by `delta` bytes: negative to give back what a read did not use
   * (or a build that is thrown away), positive for data taken beyond the grant (KIP-74's first batch).
   */
  adjust(delta: number): void;
}

/** Returns the response body, or null to send nothing (Produce with acks=0). */
export type Handler = (ctx: RequestContext, request: any) => Promise<object | null> | object | null;

export interface ApiRegistration {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
  handler: Handler;
  /** Ferry's own inter-broker API (api key 30000+): served, never advertised in ApiVersions. */
  internal?: boolean;
}

export class HandlerRegistry {
  private readonly byKey = new Map<number, ApiRegistration>();

  register(apiKey: number, minVersion: number, maxVersion: number, handler: Handler, options: { internal?: boolean } = {}): void {
    if (this.byKey.has(apiKey)) throw new Error(`api ${apiKey} registered twice`);
    if (minVersion > maxVersion) throw new Error(`api ${apiKey}: minVersion ${minVersion} > maxVersion ${maxVersion}`);
    this.byKey.set(apiKey, { apiKey, minVersion, maxVersion, handler, ...(options.internal ? { internal: true } : {}) });
  }

  get(apiKey: number): ApiRegistration | undefined { return this.byKey.get(apiKey); }

  /** The APIs advertised to clients (ApiVersions): Ferry's internal ones are left out. */
  list(): ApiRegistration[] { return [...this.byKey.values()].filter((a) => !a.internal).sort((a, b) => a.apiKey - b.apiKey); }
}
