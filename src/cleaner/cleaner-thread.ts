/**
 * The main thread's side of the cleaner worker: one request at a time, answers in order. The
 * worker is started on first use and again after it dies (an error ends only the pass in progress).
 * From the sources (tests run TypeScript through tsx) the worker loads tsx first.
 */
import { Worker } from 'node:worker_threads';
import type { AbortedRange, CleanStats, PassParams } from './batch-cleaner.js';
import { transferable, type CleanerReply, type CleanerRequest } from './cleaner-protocol.js';

export class CleanerWorkerError extends Error {
  override name = 'CleanerWorkerError';
}

function spawn(): Worker {
  const entry = new URL(import.meta.url.endsWith('.ts') ? './cleaner-worker.ts' : './cleaner-worker.js', import.meta.url);
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`));
}

export class CleanerThread {
  private worker: Worker | null = null;
  private pending: { resolve: (r: CleanerReply) => void; reject: (e: Error) => void }[] = [];
  private closed = false;

  private ensure(): Worker {
    if (this.closed) throw new CleanerWorkerError('the cleaner is stopped');
    if (this.worker) return this.worker;
    const w = spawn();
    w.unref();
    w.on('message', (reply: CleanerReply) => {
      const p = this.pending.shift();
      if (!p) return;
      if (reply.op === 'error') p.reject(new CleanerWorkerError(`cleaner worker: ${reply.name}: ${reply.message}`));
      else p.resolve(reply);
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = null;
      for (const p of this.pending.splice(0)) p.reject(new CleanerWorkerError(`cleaner worker died: ${err.message}`));
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.worker = w;
    return w;
  }

  private call<T extends CleanerReply['op']>(req: CleanerRequest, transfer: ArrayBuffer[] = []): Promise<Extract<CleanerReply, { op: T }>> {
    const w = this.ensure();
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve: resolve as (r: CleanerReply) => void, reject });
      w.postMessage(req, transfer);
    });
  }

  async begin(mapBytes: number, aborted: AbortedRange[], batchBytesMax: number, indexEndOffset: number): Promise<void> {
    await this.call<'begin'>({ op: 'begin', mapBytes, aborted, batchBytesMax, indexEndOffset });
  }

  /**
   * Indexes the batches of `chunk` (whole blocks of object `source`; the chunk is handed over, not
   * to be used after); `stoppedAt` is the first batch not indexed (past the end, or no room), null: all indexed.
   */
  async index(chunk: Buffer, source: string): Promise<{ stoppedAt: number | null; keys: number }> {
    const data = transferable(chunk);
    return this.call<'index'>({ op: 'index', data, source }, [data]);
  }

  async startFilter(params: PassParams): Promise<void> {
    await this.call<'startFilter'>({ op: 'startFilter', params });
  }

  /** The batches of `chunk` (handed over, as for index) to keep, in order. */
  async filter(chunk: Buffer, source: string): Promise<Buffer[]> {
    const data = transferable(chunk);
    const r = await this.call<'filter'>({ op: 'filter', data, source }, [data]);
    const all = Buffer.from(r.data);
    const out: Buffer[] = [];
    let at = 0;
    for (const n of r.lengths) { out.push(all.subarray(at, at + n)); at += n; }
    return out;
  }

  /** Frees the pass's offset map; its statistics. */
  async end(): Promise<CleanStats | null> {
    if (!this.worker) return null;
    return (await this.call<'end'>({ op: 'end' })).stats;
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
