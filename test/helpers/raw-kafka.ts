/**
 * A minimal Kafka connection over node:net built on the project's own codecs: send any request at
 * any version (or raw bytes), read response frames, observe the connection closing. For bad-input
 * tests and for checks a real client cannot make (e.g. the stored batch attributes).
 */
import { connect, type Socket } from 'node:net';
import { FrameDecoder } from '../../src/protocol/frame.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { decodeResponseHeader, encodeRequestHeader } from '../../src/protocol/headers.js';
import { API_TABLE } from '../../src/protocol/messages/index.js';

export class RawKafkaConnection {
  private readonly decoder = new FrameDecoder({ frameBytesMax: 256 * 1024 * 1024 });
  private readonly frames: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private nextCorrelationId = 1;
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.decoder.push(chunk)) this.frames.push(Buffer.from(f));
      this.wake();
    });
    this.closedPromise = new Promise((resolve) => socket.on('close', () => { this.closed = true; this.wake(); resolve(); }));
    socket.on('error', () => { /* surfaces as close */ });
  }

  static connect(bootstrap: string, timeoutMs = 5_000): Promise<RawKafkaConnection> {
    const [host, port] = bootstrap.split(':');
    return new Promise((resolve, reject) => {
      const s = connect({ host: host!, port: Number(port) });
      const timer = setTimeout(() => { s.destroy(); reject(new Error(`connect to ${bootstrap} timed out`)); }, timeoutMs);
      s.once('connect', () => { clearTimeout(timer); s.setNoDelay(true); resolve(new RawKafkaConnection(s)); });
      s.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
  }

  private wake(): void { for (const w of this.waiters.splice(0)) w(); }

  /** Writes bytes as they are (no framing added). Resolves when flushed to the kernel. */
  writeRaw(bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(bytes, () => resolve());
    });
  }

  /** Encodes header + body with the generated codec, frames it, sends it; returns the correlation id. */
  async send(apiKey: number, version: number, body: object, clientId = 'ferry-raw-test'): Promise<number> {
    const frame = encodeRequestFrame(apiKey, version, body, this.nextCorrelationId, clientId);
    await this.writeRaw(frame);
    return this.nextCorrelationId++;
  }

  /** Next response frame (without size prefix), or null if the connection closed first. */
  async readFrame(timeoutMs = 10_000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.shift();
      if (f) return f;
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, left); this.waiters.push(() => { clearTimeout(t); resolve(); }); });
    }
  }

  /** Sends a request and decodes its response with the generated codec. Concurrent calls are run one at a time. */
  request<T = any>(apiKey: number, version: number, body: object, timeoutMs = 10_000, clientId?: string): Promise<T> {
    const run = async (): Promise<T> => {
      const correlationId = await this.send(apiKey, version, body, clientId);
      const frame = await this.readFrame(timeoutMs);
      if (frame === null) throw new Error(`connection closed instead of answering api ${apiKey} v${version}`);
      return decodeResponseFrame(apiKey, version, frame, correlationId) as T;
    };
    const result = this.queue.then(run, run);
    this.queue = result.then(() => undefined, () => undefined);
    return result;
  }
  private queue: Promise<void> = Promise.resolve();

  /** Resolves true if the broker closes the connection within timeoutMs (after draining any frames). */
  async waitClosed(timeoutMs = 5_000): Promise<boolean> {
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    return Promise.race([this.closedPromise.then(() => true), timeout]);
  }

  /** Frames received and not yet read. */
  get pendingFrames(): number { return this.frames.length; }

  close(): void { this.socket.destroy(); }
}

export function encodeRequestFrame(apiKey: number, version: number, body: object, correlationId: number, clientId: string | null = 'ferry-raw-test'): Buffer {
  const api = API_TABLE.get(apiKey);
  if (!api) throw new Error(`no codec for api key ${apiKey}`);
  const w = new Writer();
  const at = w.reserveInt32();
  encodeRequestHeader(w, api.requestHeaderVersion(version), { apiKey, apiVersion: version, correlationId, clientId });
  api.encodeRequest(w, version, body);
  w.patchInt32(at, w.length - 4);
  return Buffer.from(w.toBuffer());
}

export function decodeResponseFrame(apiKey: number, version: number, frame: Buffer, correlationId?: number): any {
  const api = API_TABLE.get(apiKey)!;
  const r = new Reader(frame);
  const h = decodeResponseHeader(r, api.responseHeaderVersion(version));
  if (correlationId !== undefined && h.correlationId !== correlationId) throw new Error(`correlation id ${h.correlationId}, expected ${correlationId}`);
  const body = api.decodeResponse(r, version);
  if (r.error) throw new Error(`cannot decode ${api.name} v${version} response: ${r.error}`);
  return body;
}

export interface StoredBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  /** 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
  compression: number;
  producerId: bigint;
  baseSequence: number;
  recordsCount: number;
  bytes: Buffer;
}

/** Reads every stored batch of one partition with sessionless Fetch v11 (topic names). */
export async function fetchAllBatches(conn: RawKafkaConnection, topic: string, partition: number, from = 0): Promise<{ highWatermark: bigint; logStartOffset: bigint; batches: StoredBatch[] }> {
  const batches: StoredBatch[] = [];
  let offset = BigInt(from);
  let highWatermark = -1n;
  let logStartOffset = -1n;
  for (let rounds = 0; rounds < 100_000; rounds++) {
    const res = await conn.request(1, 11, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 16 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1n, partitionMaxBytes: 8 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    if (res.errorCode !== 0) throw new Error(`Fetch error ${res.errorCode}`);
    const p = res.responses[0].partitions[0];
    if (p.errorCode !== 0) throw new Error(`Fetch ${topic}-${partition}@${offset}: error ${p.errorCode}`);
    highWatermark = p.highWatermark;
    logStartOffset = p.logStartOffset;
    const records: Buffer = p.records ?? Buffer.alloc(0);
    let pos = 0;
    let progressed = false;
    while (pos + 61 <= records.length) {
      const size = records.readInt32BE(pos + 8) + 12;
      if (pos + size > records.length) break; // a partial batch at the end of a fetch is normal
      const b = Buffer.from(records.subarray(pos, pos + size));
      const baseOffset = b.readBigInt64BE(0);
      const lastOffset = baseOffset + BigInt(b.readInt32BE(23));
      if (lastOffset >= offset) {
        batches.push({ baseOffset, lastOffset, compression: b.readInt16BE(21) & 7, producerId: b.readBigInt64BE(43), baseSequence: b.readInt32BE(53), recordsCount: b.readInt32BE(57), bytes: b });
        offset = lastOffset + 1n;
        progressed = true;
      }
      pos += size;
    }
    if (offset >= highWatermark) break;
    if (!progressed) throw new Error(`Fetch ${topic}-${partition}@${offset} returned no complete batch below the high watermark ${highWatermark}`);
  }
  return { highWatermark, logStartOffset, batches };
}
