/**
 * One client connection: frames in, requests dispatched concurrently, responses written strictly
 * in request order (Kafka clients match responses by order as well as correlation id).
 *
 * Anything the protocol cannot make sense of (oversized or malformed frame, unknown API,
 * unsupported version other than ApiVersions') closes this connection with a log line; other
 * connections and the broker are unaffected.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameDecoder, frameWriter } from '../protocol/frame.js';
import { Reader } from '../protocol/primitives.js';
import { decodeRequestHeader, encodeResponseHeader, type RequestHeader } from '../protocol/headers.js';
import { API_TABLE } from '../protocol/messages/index.js';
import { ErrorCode } from '../protocol/errors.js';
import type { HandlerRegistry, RequestContext } from './handler-registry.js';

const API_VERSIONS_KEY = 18;

export interface ConnectionOptions {
  maxFrameBytes: number;
  /** Told when connections open and close (metrics). */
  onConnectionCount?: (delta: 1 | -1) => void;
  /** Requests being processed at once on this connection before reading pauses. */
  inFlightMax: number;
}

interface Pending {
  header: RequestHeader;
  /** Encoded response frame as chunks (records are not copied), null for no response; undefined while still running. */
  frame?: Buffer[] | null;
}

export class Connection {
  private readonly decoder: FrameDecoder;
  private readonly queue: Pending[] = [];
  private readonly abort = new AbortController();
  private closed = false;
  private paused = false;
  readonly log: Logger;

  constructor(
    private readonly socket: Socket,
    readonly id: number,
    private readonly registry: HandlerRegistry,
    private readonly options: ConnectionOptions,
    parentLog: Logger,
    private readonly onClose: (c: Connection) => void,
  ) {
    this.log = parentLog.child({ conn: id, remote: `${socket.remoteAddress}:${socket.remotePort}` });
    this.decoder = new FrameDecoder({ maxFrameBytes: options.maxFrameBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => this.teardown());
    socket.on('drain', () => this.maybeResume());
    options.onConnectionCount?.(1);
  }

  get remoteAddress(): string { return this.socket.remoteAddress ?? ''; }

  close(reason: string, fields: Record<string, unknown> = {}): void {
    if (this.closed) return;
    this.log.warn({ ...fields, reason }, 'closing connection');
    this.socket.destroy();
    this.teardown();
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.onConnectionCount?.(-1);
    this.abort.abort();
    this.onClose(this);
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.close('bad frame', { err: (err as Error).message });
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      this.onFrame(frame);
    }
    this.maybePause();
  }

  private onFrame(frame: Buffer): void {
    const r = new Reader(frame);
    const header = decodeRequestHeader(r);
    if (r.error) {
      this.close('malformed request header', { err: r.error });
      return;
    }
    const api = API_TABLE.get(header.apiKey);
    const reg = this.registry.get(header.apiKey);
    if (!api || !reg) {
      this.close('unknown api key', { apiKey: header.apiKey, apiVersion: header.apiVersion });
      return;
    }
    const log = this.log.child({ api: api.name, v: header.apiVersion, corr: header.correlationId, client: header.clientId });
    if (header.apiVersion < reg.minVersion || header.apiVersion > reg.maxVersion) {
      if (header.apiKey === API_VERSIONS_KEY) {
        // KIP-511: answer with the supported ranges in a v0 body so the client can pick a version.
        const pending: Pending = { header };
        this.queue.push(pending);
        pending.frame = this.encode({ ...header, apiVersion: 0 }, {
          errorCode: ErrorCode.UNSUPPORTED_VERSION,
          apiKeys: this.registry.list().map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })),
        });
        this.flush();
        return;
      }
      this.close('unsupported api version', { api: api.name, apiVersion: header.apiVersion, supported: `${reg.minVersion}-${reg.maxVersion}` });
      return;
    }
    const request = api.decodeRequest(r, header.apiVersion);
    if (r.error) {
      this.close('malformed request body', { api: api.name, apiVersion: header.apiVersion, err: r.error });
      return;
    }
    const pending: Pending = { header };
    this.queue.push(pending);
    const ctx: RequestContext = { header, connectionId: this.id, remoteAddress: this.remoteAddress, log, signal: this.abort.signal };
    let result: Promise<object | null>;
    try {
      result = Promise.resolve(reg.handler(ctx, request));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (response) => {
        try {
          pending.frame = response === null ? null : this.encode(header, response);
        } catch (err) {
          // A response the codec cannot encode for this version is a broker bug: drop this client only.
          log.error({ err }, 'response encoding failed');
          this.close('response encoding failed', { api: api.name });
          return;
        }
        this.flush();
      },
      (err) => {
        if (this.closed) return;
        log.error({ err }, 'request handler failed');
        this.close('handler failed', { api: api.name });
      },
    );
  }

  private encode(header: RequestHeader, body: object): Buffer[] {
    const api = API_TABLE.get(header.apiKey)!;
    return frameWriter((w) => {
      encodeResponseHeader(w, api.responseHeaderVersion(header.apiVersion), header.correlationId);
      api.encodeResponse(w, header.apiVersion, body);
    }).toChunks();
  }

  private flush(): void {
    if (this.queue.length && this.queue[0].frame !== undefined) {
      this.socket.cork();
      while (this.queue.length && this.queue[0].frame !== undefined) {
        const p = this.queue.shift()!;
        if (p.frame && !this.closed) for (const chunk of p.frame) this.socket.write(chunk);
      }
      this.socket.uncork();
    }
    this.maybeResume();
  }

  private maybePause(): void {
    if (!this.paused && (this.queue.length >= this.options.inFlightMax || this.socket.writableNeedDrain)) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (this.paused && this.queue.length < this.options.inFlightMax && !this.socket.writableNeedDrain) {
      this.paused = false;
      this.socket.resume();
    }
  }
}
