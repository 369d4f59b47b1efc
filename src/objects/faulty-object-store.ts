/**
 * An ObjectStore wrapper for tests that injects faults, seeded so a failing run can be replayed.
 *
 *   const store = new FaultyObjectStore(new FsObjectStore({ root }), {
 *     seed: 42,
 *     faults: { put: { fail: 0.2, lostAck: 0.1, latencyMs: [1, 20] }, get: { fail: 0.1, corrupt: 0.01 } },
 *   });
 *   store.outage(true);             // every call fails (retriable) until outage(false)
 *   store.failNext('put', 2);       // the next two puts fail
 *   store.pause('get');             // gets wait until resume('get') (a "slow S3")
 *   store.calls.put, store.injected // counters
 *
 * Per operation (`put`, `get`, `head`, `list`, `delete`), with probabilities in [0, 1]:
 *  - `fail`: the call fails before reaching the inner store; `retriableShare` (default 1) of those
 *    failures are retriable ObjectStoreErrors, the rest are not;
 *  - `lostAck` (put): the object IS written, then the caller gets a retriable error, as when a
 *    response is lost; a retry with ifNoneMatch then sees ObjectExistsError;
 *  - `corrupt` (get): one byte of the answer is flipped;
 *  - `partial` (list: fails after yielding part of the listing; delete: deletes only a prefix of
 *    the keys, then fails; put: a torn write is never visible in S3, so it is a plain failure);
 *  - `latencyMs`: a fixed delay or a [min, max] range, before the call.
 * Injected errors are InjectedFault (an ObjectStoreError with `injected = true`).
 */
import { ObjectStoreError, type ByteRange, type ObjectInfo, type ObjectStore, type PutOptions } from './object-store.js';

export type FaultOp = 'put' | 'get' | 'head' | 'list' | 'delete';

export interface OpFaults {
  fail?: number;
  retriableShare?: number;
  lostAck?: number;
  corrupt?: number;
  partial?: number;
  latencyMs?: number | readonly [number, number];
}

export interface FaultyObjectStoreOptions {
  seed?: number;
  faults?: Partial<Record<FaultOp, OpFaults>>;
}

export class InjectedFault extends ObjectStoreError {
  override name = 'InjectedFault';
  readonly injected = true;
}

const OPS: readonly FaultOp[] = ['put', 'get', 'head', 'list', 'delete'];

/** mulberry32: small, fast, good enough for fault schedules. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultyObjectStore implements ObjectStore {
  readonly seed: number;
  readonly calls: Record<FaultOp, number> = { put: 0, get: 0, head: 0, list: 0, delete: 0 };
  /** Injected faults by kind, e.g. "put:fail", "put:lostAck", "get:corrupt", "outage". */
  readonly injected: Record<string, number> = {};
  private readonly random: () => number;
  private faults: Partial<Record<FaultOp, OpFaults>>;
  private outageRetriable: boolean | null = null;
  private readonly failNextCount: Record<FaultOp, { n: number; retriable: boolean }> = Object.fromEntries(OPS.map((o) => [o, { n: 0, retriable: true }])) as any;
  private readonly paused = new Map<FaultOp, { promise: Promise<void>; release: () => void }>();

  constructor(readonly inner: ObjectStore, options: FaultyObjectStoreOptions = {}) {
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.random = prng(this.seed);
    this.faults = { ...(options.faults ?? {}) };
  }

  get description(): string { return `faulty(${this.inner.description}, seed ${this.seed})`; }

  setFaults(op: FaultOp, faults: OpFaults | undefined): void {
    this.faults[op] = faults;
  }

  /** While on, every call fails before reaching the inner store. */
  outage(on: boolean, retriable = true): void {
    this.outageRetriable = on ? retriable : null;
  }

  failNext(op: FaultOp, n = 1, retriable = true): void {
    this.failNextCount[op] = { n, retriable };
  }

  /** Calls of `op` wait (after counting) until resume(op). */
  pause(op: FaultOp): void {
    if (this.paused.has(op)) return;
    let release!: () => void;
    const promise = new Promise<void>((r) => { release = r; });
    this.paused.set(op, { promise, release });
  }

  resume(op: FaultOp): void {
    this.paused.get(op)?.release();
    this.paused.delete(op);
  }

  async put(key: string, body: Buffer | readonly Buffer[], options?: PutOptions): Promise<void> {
    const f = await this.before('put', key);
    if (this.chance(f.partial)) this.inject('put', 'partial', key, true);
    await this.inner.put(key, body, options);
    if (this.chance(f.lostAck)) this.inject('put', 'lostAck', key, true);
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const f = await this.before('get', key);
    const buf = await this.inner.get(key, range);
    if (buf.length > 0 && this.chance(f.corrupt)) {
      this.count('get:corrupt');
      const copy = Buffer.from(buf);
      const at = Math.floor(this.random() * copy.length);
      copy[at] = copy[at]! ^ (1 + Math.floor(this.random() * 255));
      return copy;
    }
    return buf;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    await this.before('head', key);
    return this.inner.head(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const f = await this.before('list', prefix);
    const cut = this.chance(f.partial) ? Math.floor(this.random() * 8) : -1;
    let n = 0;
    for await (const info of this.inner.list(prefix)) {
      if (n++ === cut) this.inject('list', 'partial', prefix, true);
      yield info;
    }
    if (cut >= n) this.inject('list', 'partial', prefix, true);
  }

  async delete(keys: readonly string[]): Promise<void> {
    const f = await this.before('delete', keys[0]);
    if (keys.length > 0 && this.chance(f.partial)) {
      await this.inner.delete(keys.slice(0, Math.floor(this.random() * keys.length)));
      this.inject('delete', 'partial', keys[0], true);
    }
    await this.inner.delete(keys);
  }

  close(): Promise<void> {
    for (const op of OPS) this.resume(op);
    return this.inner.close();
  }

  private async before(op: FaultOp, key: string | undefined): Promise<OpFaults> {
    this.calls[op]++;
    const f = this.faults[op] ?? {};
    const paused = this.paused.get(op);
    if (paused) await paused.promise;
    if (f.latencyMs !== undefined) {
      const [min, max] = typeof f.latencyMs === 'number' ? [f.latencyMs, f.latencyMs] : f.latencyMs;
      const ms = min + this.random() * (max - min);
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    }
    if (this.outageRetriable !== null) this.inject(op, 'outage', key, this.outageRetriable);
    const next = this.failNextCount[op];
    if (next.n > 0) {
      next.n--;
      this.inject(op, 'failNext', key, next.retriable);
    }
    if (this.chance(f.fail)) this.inject(op, 'fail', key, this.random() < (f.retriableShare ?? 1));
    return f;
  }

  private chance(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.random() < p;
  }

  private count(kind: string): void {
    this.injected[kind] = (this.injected[kind] ?? 0) + 1;
  }

  private inject(op: FaultOp, kind: string, key: string | undefined, retriable: boolean): never {
    this.count(kind === 'outage' ? 'outage' : `${op}:${kind}`);
    throw new InjectedFault(`injected ${kind} on ${op}${key !== undefined ? ` ${key}` : ''} (seed ${this.seed})`, retriable, key);
  }
}
