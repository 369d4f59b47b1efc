// One MetadataStore watch on etcd: a prefix followed from a revision over its own Watch stream,
// resumed after any stream failure (etcd restart, lost connection) from the revision after the last
// one delivered, so no event is lost or repeated. etcd sends all events of one revision in one
// response (we never ask for fragments), so "last delivered revision + 1" is an exact resume point.
// Progress notifications (sent only for watchers that are caught up) move the resume point forward
// on quiet prefixes, so a resume after a long quiet spell does not land on compacted history.
// Compaction ends the watch with MetadataCompactedError; so do auth errors (not retriable).
//
// API: new EtcdPrefixWatch(host, prefix, fromRevision, onEvent, onError).start() / .cancel()

import type { IDuplexStream, IKeyValue, IWatchRequest, IWatchResponse } from 'etcd3';
import {
  MetadataCompactedError, MetadataStoreError, isRetriableMetadataError, type KeyValue, type WatchEvent,
} from './metadata-store.js';

export interface EtcdWatchHost {
  openWatchStream(): Promise<IDuplexStream<IWatchRequest, IWatchResponse>>;
  mapError(err: unknown, what: string): MetadataStoreError;
  /** Where exceptions of onEvent (and errors of watches without onError) go. */
  onCallbackError(err: unknown): void;
  forget(watch: EtcdPrefixWatch): void;
  readonly watchRetryInitialMs: number;
  readonly watchRetryMaxMs: number;
}

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

export class EtcdPrefixWatch {
  /** The next revision to deliver; 0 until etcd tells us the revision "now" stands for. */
  private next: number;
  private stream: WatchStream | null = null;
  private cancelled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs: number;
  /** Reconnects so far (for tests and metrics). */
  reconnects = 0;

  constructor(
    private readonly host: EtcdWatchHost,
    private readonly prefix: string,
    fromRevision: number,
    private readonly onEvent: (e: WatchEvent) => void,
    private readonly onError: ((err: Error) => void) | undefined,
  ) {
    this.next = fromRevision;
    this.retryDelayMs = host.watchRetryInitialMs;
  }

  start(): void {
    void this.connect();
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const stream = this.stream;
    this.stream = null;
    // Half-close rather than cancel: the client treats a cancelled stream as a failed host and
    // reconnects everything.
    stream?.end();
    this.host.forget(this);
  }

  private async connect(): Promise<void> {
    if (this.cancelled) return;
    let stream: WatchStream;
    try {
      stream = await this.host.openWatchStream();
    } catch (err) {
      this.failed(err);
      return;
    }
    if (this.cancelled) { stream.end(); return; }
    this.stream = stream;
    stream.on('data', (res) => this.onResponse(stream, res));
    stream.on('error', (err) => { if (this.stream === stream) this.streamEnded(err); });
    stream.on('end', () => { if (this.stream === stream) this.streamEnded(new MetadataStoreError('METADATA_ETCD', 'etcd ended the watch stream')); });
    const { key, rangeEnd } = prefixRange(this.prefix);
    stream.write({ create_request: { key, range_end: rangeEnd, start_revision: this.next, progress_notify: true, prev_kv: false, fragment: false } });
  }

  private onResponse(stream: WatchStream, res: IWatchResponse): void {
    if (this.stream !== stream || this.cancelled) return;
    if (res.canceled) {
      this.stream = null;
      stream.end();
      const compacted = Number(res.compact_revision);
      if (compacted > 0) this.finish(new MetadataCompactedError(this.next, compacted));
      else this.failed(new Error(res.cancel_reason || 'etcd canceled the watch'));
      return;
    }
    if (res.created) {
      this.retryDelayMs = this.host.watchRetryInitialMs;
      // A watch from "now" starts right after the revision in this header.
      if (this.next === 0) this.next = Number(res.header.revision) + 1;
    }
    if (res.events.length === 0) {
      // A progress notification: everything up to header.revision was delivered.
      if (!res.created && this.next > 0) this.next = Math.max(this.next, Number(res.header.revision) + 1);
      return;
    }
    const from = this.next;
    let last = from - 1;
    for (const ev of res.events) {
      const revision = Number(ev.kv.mod_revision);
      if (revision < from) continue; // delivered before a reconnect
      last = Math.max(last, revision);
      if (this.cancelled) return;
      const event: WatchEvent = ev.type === 'Delete'
        ? { type: 'delete', kv: { key: ev.kv.key.toString('utf8'), value: Buffer.alloc(0), createRevision: 0, modRevision: revision, version: 0 } }
        : { type: 'put', kv: toKeyValue(ev.kv) };
      try {
        this.onEvent(event);
      } catch (err) {
        this.host.onCallbackError(err);
      }
    }
    this.next = Math.max(this.next, last + 1);
  }

  private streamEnded(err: unknown): void {
    this.stream = null;
    this.failed(err);
  }

  /** Retries transient failures with backoff; anything else ends the watch. */
  private failed(err: unknown): void {
    if (this.cancelled) return;
    const mapped = this.host.mapError(err, `watch ${this.prefix}`);
    const code = mapped.code;
    if (!isRetriableMetadataError(mapped) && code !== 'METADATA_ETCD') {
      this.finish(mapped);
      return;
    }
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.host.watchRetryMaxMs, this.retryDelayMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.reconnects++;
      void this.connect();
    }, delay * (0.75 + Math.random() * 0.5));
    this.retryTimer.unref();
  }

  private finish(err: Error): void {
    this.cancel();
    if (this.onError) this.onError(err);
    else this.host.onCallbackError(err);
  }
}

export function toKeyValue(kv: IKeyValue): KeyValue {
  const out: KeyValue = {
    key: kv.key.toString('utf8'),
    value: kv.value,
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
  };
  if (kv.lease && kv.lease !== '0') out.leaseId = kv.lease;
  return out;
}

/** The etcd key range [key, rangeEnd) of every key starting with prefix ('' = all keys). */
export function prefixRange(prefix: string): { key: Buffer; rangeEnd: Buffer } {
  const key = Buffer.from(prefix, 'utf8');
  if (key.length === 0) return { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) };
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return { key, rangeEnd: end.subarray(0, i + 1) };
    }
  }
  return { key, rangeEnd: Buffer.from([0]) };
}
