/**
 * An ObjectStore that reports every call (count, latency, bytes, errors) to the metrics, whatever
 * the backend behind it (s3, fs, azure-blob).
 */
import type { ByteRange, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';

export type ObjectStoreOperation = 'put' | 'get' | 'head' | 'delete' | 'list';

export interface ObjectStoreMetricsSink {
  s3Request(operation: ObjectStoreOperation, seconds: number, bytes?: number): void;
  s3Error(operation: ObjectStoreOperation, code: string): void;
}

export class InstrumentedObjectStore implements ObjectStore {
  constructor(private readonly inner: ObjectStore, private readonly sink: ObjectStoreMetricsSink) {}

  get description(): string { return this.inner.description; }

  private async timed<T>(op: ObjectStoreOperation, fn: () => Promise<T>, bytesOf: (r: T) => number): Promise<T> {
    const t0 = performance.now();
    try {
      const r = await fn();
      this.sink.s3Request(op, (performance.now() - t0) / 1000, bytesOf(r));
      return r;
    } catch (err) {
      this.sink.s3Request(op, (performance.now() - t0) / 1000);
      this.sink.s3Error(op, (err as Error).name ?? 'Error');
      throw err;
    }
  }

  put(key: string, body: Buffer | readonly Buffer[], options?: PutOptions): Promise<void> {
    const bytes = Buffer.isBuffer(body) ? body.length : (body as readonly Buffer[]).reduce((a, b) => a + b.length, 0);
    return this.timed('put', () => this.inner.put(key, body, options), () => bytes);
  }
  get(key: string, range?: ByteRange): Promise<Buffer> { return this.timed('get', () => this.inner.get(key, range), (b) => b.length); }
  head(key: string): Promise<ObjectInfo | null> { return this.timed('head', () => this.inner.head(key), () => 0); }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    this.sink.s3Request('list', 0);
    return this.inner.list(prefix);
  }
  delete(keys: readonly string[]): Promise<void> { return this.timed('delete', () => this.inner.delete(keys), () => 0); }
  close(): Promise<void> { return this.inner.close(); }
}
