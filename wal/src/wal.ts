// The WAL: header slots, group-commit writer, recovery, trim, fencing and reads over one ring.
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { crc32c } from '@node-rs/crc32';
import {
  WalClosedError, WalConfigError, WalCorruptError, WalError, WalFatalError, WalFencedError, WalFormatError,
  WalFullError, WalIoError, WalLockedError, WalOffsetError, WalRecordTooLargeError, WalStateError, describeErrno,
} from './errors.js';
import {
  BLOCK_BYTES, FLAG_GROUP_END, HEADER_AREA_BYTES, RECORD_BODY_BYTES_LIMIT, RECORD_HEADER_BYTES, SKIP_BODY_BYTES,
  SLOT_BYTES, TYPE_INTERNAL_MIN, TYPE_SKIP, alignUp, alignUpBig, assert, checkRecordHeader, decodeSlot, encodeSlot,
  recordSpanBytes, writeRecordHeader, type HeaderState, type SlotDecode,
} from './format.js';
import { NodeIo, type WalFile, type WalIo, type WalLock } from './io.js';
import {
  SKIP_RESERVE_BYTES, capacityForNew, checkIdentity, resolveLimits, type WalLimits, type WalMetrics, type WalOptions,
} from './options.js';
import { RingScanner, readRing, writeRing } from './ring.js';

export interface WalRecord {
  offset: bigint;
  epoch: number;
  type: number;
  body: Buffer;
}

export interface Wal {
  /** Valid records from the trim point, in order. Call once, before the first append. */
  recover(): Promise<WalRecord[]>;
  /**
   * Logical offset of the record; resolves only after the bytes are durable (fdatasync).
   * `onAdmit` runs synchronously when the record is taken into a group write, just before its body
   * is copied (it may still rewrite `body` in place). From that point the append either becomes
   * durable or the WAL fails for good; before it, a refused or timed-out append leaves no trace.
   * Records are admitted in call order.
   */
  append(body: Buffer, type?: number, onAdmit?: () => void): Promise<bigint>;
  /** Records with offset < `offset` may be overwritten. `offset` is a record offset or nextOffset. Durable on return. */
  trim(offset: bigint): Promise<void>;
  /** Raises the epoch (and optionally the owner) durably; older writers can no longer append. */
  fence(epoch: number, nodeId?: string): Promise<void>;
  /** Records from `fromOffset` (a record offset) up to about maxBytes of bodies (at least one record). */
  read(fromOffset: bigint, maxBytes: number): Promise<WalRecord[]>;
  close(): Promise<void>;
  readonly trimOffset: bigint;
  /** End of the durable log: where the next record goes when nothing is in flight. */
  readonly nextOffset: bigint;
  readonly epoch: number;
  readonly nodeId: string;
  readonly path: string;
  readonly capacityBytes: number;
  readonly ringBytes: number;
  /** Ring bytes holding untrimmed data (records, padding, skip blocks). */
  readonly usedBytes: number;
  readonly limits: WalLimits;
  /** Why the last recovery stopped where it did (torn tail, end of data, ...). */
  readonly recoveryStop: { offset: bigint; reason: string } | null;
  /** The ring ran out of space (an append timed out waiting); appends fail at once until a trim frees space. */
  readonly isFull: boolean;
}

interface PendingAppend {
  body: Buffer;
  type: number;
  spanBytes: number;
  queuedAtMs: number;
  onAdmit: (() => void) | undefined;
  resolve(offset: bigint): void;
  reject(err: Error): void;
}

interface LiveSkip {
  offset: bigint;
  target: bigint;
  physicalBytes: number;
}

type State = 'open' | 'fenced' | 'failed' | 'closed';

export async function openWal(path: string, options: WalOptions): Promise<Wal> {
  checkIdentity(path, options.nodeId, options.epoch);
  const io = options.io ?? new NodeIo();
  let kind;
  try {
    kind = await io.kindOf(path);
  } catch (err) {
    throw new WalIoError(path, `cannot stat: ${describeErrno(err)}`, { cause: err });
  }
  if (kind === 'other') throw new WalIoError(path, 'not a regular file or block device');
  const newCapacity = kind === 'missing' ? capacityForNew(path, options) : 0;
  if (kind === 'missing') resolveLimits(path, options, newCapacity); // fail before creating anything

  const lockPath = options.lockPath ?? (kind === 'block-device' ? path : `${path}.lock`);
  let lock: WalLock;
  try {
    lock = await io.lock(lockPath, kind !== 'block-device');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EWOULDBLOCK' || code === 'EAGAIN') {
      throw new WalLockedError(path, `locked by another process (flock on ${lockPath}${lockHolder(lockPath)}); `
        + 'only one process may open a WAL', { cause: err });
    }
    throw new WalIoError(path, `cannot create or lock ${lockPath}: ${describeErrno(err)}`, { cause: err });
  }
  let file: WalFile | undefined;
  try {
    try {
      file = await io.open(path, kind !== 'block-device');
    } catch (err) {
      throw new WalIoError(path, `cannot open for reading and writing: ${describeErrno(err)}`, { cause: err });
    }
    const header = await loadOrFormat(path, file, options, newCapacity);
    const limits = resolveLimits(path, options, header.capacityBytes);
    return new WalImpl(path, file, lock, header, limits, options.metrics ?? {});
  } catch (err) {
    await file?.close().catch(() => {});
    await lock.release().catch(() => {});
    throw err;
  }
}

/** ", held by pid N" from a lock file's first bytes; nothing for devices or unreadable files. */
function lockHolder(lockPath: string): string {
  let fd: number | undefined;
  try {
    if (!fs.statSync(lockPath).isFile()) return '';
    fd = fs.openSync(lockPath, 'r');
    const buf = Buffer.alloc(32);
    const text = buf.toString('utf8', 0, fs.readSync(fd, buf, 0, buf.length, 0)).trim();
    return /^\d+$/.test(text) ? `, held by pid ${text}` : '';
  } catch {
    return '';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

async function readSlots(file: WalFile, sizeBytes: number): Promise<[SlotDecode, SlotDecode]> {
  const buf = Buffer.alloc(HEADER_AREA_BYTES);
  const got = file.readSync ? file.readSync(buf, 0) : await file.read(buf, 0);
  if (sizeBytes < HEADER_AREA_BYTES || got < HEADER_AREA_BYTES) {
    // Too short to be ours: empty is new, anything else is foreign.
    const zero = buf.subarray(0, got).every((b) => b === 0);
    return zero ? [{ kind: 'zero' }, { kind: 'zero' }] : [{ kind: 'foreign' }, { kind: 'foreign' }];
  }
  return [decodeSlot(buf.subarray(0, SLOT_BYTES)), decodeSlot(buf.subarray(SLOT_BYTES))];
}

/** The newest valid slot wins; null when neither is valid. */
function newestSlot(slots: [SlotDecode, SlotDecode]): { header: HeaderState; slot: number } | null {
  let best: { header: HeaderState; slot: number } | null = null;
  slots.forEach((s, slot) => {
    if (s.kind === 'valid' && (!best || s.header.generation > best.header.generation)) best = { header: s.header, slot };
  });
  return best;
}

async function writeSlot(file: WalFile, header: HeaderState): Promise<void> {
  const slot = Number(header.generation % 2n);
  await file.write(encodeSlot(header), slot * SLOT_BYTES);
  await file.datasync();
}

async function loadOrFormat(path: string, file: WalFile, options: WalOptions, newCapacity: number): Promise<HeaderState> {
  let size = await file.sizeBytes();
  const slots = await readSlots(file, size);
  const newest = newestSlot(slots);
  if (!newest) {
    if (slots.some((s) => s.kind === 'corrupt')) {
      const why = slots.map((s, i) => `slot ${i}: ${s.kind === 'corrupt' ? s.reason : s.kind}`).join('; ');
      throw new WalCorruptError(path, `both header slots are invalid (${why}); refusing to guess the trim point`);
    }
    if (slots.some((s) => s.kind === 'foreign')) {
      throw new WalFormatError(path, `not a Ferry WAL (no FERRYWAL magic in either 4 KiB header slot); refusing to `
        + `overwrite it. To reuse this ${file.kind === 'file' ? 'file' : 'device'}, delete it or zero its first 8 KiB`);
    }
    // Both slots all zero: a new file, or a zeroed device. Format it.
    let capacityBytes: number;
    if (file.kind === 'file' && size === 0) {
      capacityBytes = newCapacity || capacityForNew(path, options);
      resolveLimits(path, options, capacityBytes);
      await file.preallocate(capacityBytes);
      size = capacityBytes;
    } else {
      capacityBytes = Math.floor(size / BLOCK_BYTES) * BLOCK_BYTES; // an existing file or device keeps its size
    }
    resolveLimits(path, options, capacityBytes);
    const header: HeaderState = {
      generation: 1n,
      capacityBytes,
      ringBytes: capacityBytes - HEADER_AREA_BYTES,
      trimOffset: 0n,
      epoch: options.epoch,
      nodeId: options.nodeId,
      formatId: randomInt(1, 0xffffffff),
    };
    await writeSlot(file, header);
    return header;
  }
  const h = newest.header;
  if (h.capacityBytes > size) {
    throw new WalCorruptError(path, `header says capacity ${h.capacityBytes} bytes but the ${file.kind} has only ${size}`);
  }
  if (options.epoch < h.epoch) {
    throw new WalFencedError(path, `epoch ${options.epoch} is lower than the WAL's epoch ${h.epoch} (owner ${h.nodeId}); `
      + 'a newer owner has taken over');
  }
  if (options.epoch === h.epoch && options.nodeId !== h.nodeId) {
    throw new WalFencedError(path, `owned by node ${h.nodeId} at epoch ${h.epoch}; node ${options.nodeId} must open `
      + 'with a higher epoch to take over');
  }
  if (options.epoch > h.epoch || options.nodeId !== h.nodeId) {
    // Takeover: the new owner and epoch are durable before anything else happens.
    const next: HeaderState = { ...h, generation: h.generation + 1n, epoch: options.epoch, nodeId: options.nodeId };
    await writeSlot(file, next);
    return next;
  }
  return h;
}

class WalImpl implements Wal {
  private state: State = 'open';
  private failure: WalError | null = null;
  private header: HeaderState;
  private recoverCalled = false;
  private recovered = false;
  private trim_: bigint;
  private durableEnd: bigint;
  /** Offset the next group will start at (== durableEnd when idle). */
  private writeOffset: bigint;
  private skips: LiveSkip[] = [];
  private pendingSkipAt: bigint | null = null;
  private queue: PendingAppend[] = [];
  private queuedBytes = 0;
  private inFlightCount = 0;
  private inFlightBytes = 0;
  private writerRunning: Promise<void> | null = null;
  private headerChain: Promise<unknown> = Promise.resolve();
  private spaceWaiter: { wake(): void } | null = null;
  private groupBuffer: Buffer;
  private recoveryStop_: { offset: bigint; reason: string } | null = null;
  private full = false;

  constructor(
    readonly path: string,
    private readonly file: WalFile,
    private readonly lock: WalLock,
    header: HeaderState,
    readonly limits: WalLimits,
    private readonly metrics: WalMetrics,
  ) {
    this.header = header;
    this.trim_ = header.trimOffset;
    this.durableEnd = header.trimOffset;
    this.writeOffset = header.trimOffset;
    this.groupBuffer = Buffer.alloc(limits.groupBytesMax);
  }

  get trimOffset(): bigint { return this.trim_; }
  get nextOffset(): bigint { return this.durableEnd; }
  get epoch(): number { return this.header.epoch; }
  get nodeId(): string { return this.header.nodeId; }
  get capacityBytes(): number { return this.header.capacityBytes; }
  get ringBytes(): number { return this.header.ringBytes; }
  get usedBytes(): number { return this.usedAt(this.writeOffset); }
  get recoveryStop(): { offset: bigint; reason: string } | null { return this.recoveryStop_; }
  get isFull(): boolean { return this.full; }

  private usedAt(end: bigint): number {
    let used = end - this.trim_;
    for (const s of this.skips) used -= s.target - s.offset - BigInt(s.physicalBytes);
    const n = Number(used);
    assert(n >= 0 && n <= this.header.ringBytes, `used ${n} of ring ${this.header.ringBytes}`);
    return n;
  }

  private freeBytes(): number {
    return this.header.ringBytes - this.usedAt(this.writeOffset);
  }

  private ensureUsable(): void {
    if (this.state === 'closed') throw new WalClosedError(this.path);
    if (this.failure) throw this.failure;
  }

  // ---- recovery ---------------------------------------------------------------------------------

  async recover(): Promise<WalRecord[]> {
    this.ensureUsable();
    if (this.recoverCalled) throw new WalStateError(this.path, 'recover() was already called on this handle');
    this.recoverCalled = true;
    const started = performance.now();
    const scanner = new RingScanner(this.file, this.geometry(), this.trim_, this.header.ringBytes);
    const records: WalRecord[] = [];
    let bytes = 0;
    for (let item = await scanner.next(); item; item = await scanner.next()) {
      if (item.kind === 'skip') {
        this.skips.push({ offset: item.offset, target: item.target, physicalBytes: item.physicalBytes });
      } else if (item.type < TYPE_INTERNAL_MIN) {
        records.push({ offset: item.offset, epoch: item.epoch, type: item.type, body: item.body });
        bytes += item.body.length;
      }
    }
    const stop = scanner.stop;
    assert(stop, 'scan ended without a stop');
    this.recoveryStop_ = { offset: stop.offset, reason: stop.reason };
    this.durableEnd = stop.offset;
    this.writeOffset = stop.offset;
    assert(this.usedAt(stop.offset) === stop.physicalBytes, 'scan and space accounting disagree');
    // The tail may hold torn bytes of a group that was never acknowledged. The log continues two laps
    // ahead (via a skip record), so no such byte can ever match an offset the log expects again.
    this.pendingSkipAt = stop.offset;
    this.recovered = true;
    if (this.freeBytes() >= SKIP_RESERVE_BYTES && !(await this.failOnIoError(() => this.writeSkip()))) {
      throw this.failure!;
    }
    this.metrics.onRecover?.(records.length, bytes, (performance.now() - started) / 1000);
    return records;
  }

  private geometry() {
    return { ringBytes: this.header.ringBytes, formatId: this.header.formatId, bodyBytesMax: RECORD_BODY_BYTES_LIMIT };
  }

  private async writeSkip(): Promise<void> {
    const at = this.pendingSkipAt;
    assert(at !== null && at === this.writeOffset, 'skip must go at the write offset');
    const span = recordSpanBytes(SKIP_BODY_BYTES);
    const blockStart = at - (at % BigInt(BLOCK_BYTES));
    const blockEnd = alignUpBig(at + BigInt(span), BLOCK_BYTES);
    const target = blockEnd + 2n * BigInt(this.header.ringBytes);
    const prefix = Number(at - blockStart);
    const buf = Buffer.alloc(Number(blockEnd - blockStart));
    // Rewrite the bytes before `at` in its block unchanged, so a torn write cannot alter them.
    if (prefix > 0) (await readRing(this.file, this.header.ringBytes, blockStart, prefix)).copy(buf, 0);
    const body = buf.subarray(prefix + RECORD_HEADER_BYTES, prefix + RECORD_HEADER_BYTES + SKIP_BODY_BYTES);
    body.writeBigUInt64LE(target, 0);
    writeRecordHeader(buf, prefix, {
      bodyLength: SKIP_BODY_BYTES, offset: at, epoch: this.header.epoch, type: TYPE_SKIP, flags: 0, bodyCrc: crc32c(body),
    }, this.header.formatId);
    assert(this.freeBytes() >= Number(blockEnd - at), 'skip record needs free ring space');
    await writeRing(this.file, this.header.ringBytes, blockStart, buf);
    await this.timedDatasync();
    this.skips.push({ offset: at, target, physicalBytes: Number(blockEnd - at) });
    this.pendingSkipAt = null;
    this.writeOffset = target;
    this.durableEnd = target;
  }

  // ---- append and the writer loop ----------------------------------------------------------------

  append(body: Buffer, type = 0, onAdmit?: () => void): Promise<bigint> {
    try {
      this.ensureUsable();
      if (!this.recovered) throw new WalStateError(this.path, 'call recover() before the first append()');
      if (!Number.isInteger(type) || type < 0 || type >= TYPE_INTERNAL_MIN) {
        throw new WalConfigError(this.path, `record type must be an integer in [0, ${TYPE_INTERNAL_MIN - 1}], got ${type}`);
      }
      if (!(body instanceof Uint8Array)) throw new WalConfigError(this.path, 'record body must be a Buffer');
      if (body.length > this.limits.recordBytesMax) {
        throw new WalRecordTooLargeError(this.path, `record of ${body.length} bytes is over recordBytesMax `
          + `${this.limits.recordBytesMax}`);
      }
      if (this.full) {
        this.metrics.onFull?.('ring');
        throw this.ringFullError();
      }
      if (this.queue.length + this.inFlightCount >= this.limits.queueDepthMax) {
        this.metrics.onFull?.('queue-depth');
        throw new WalFullError(this.path, 'queue-depth', `${this.limits.queueDepthMax} appends already pending `
          + '(queueDepthMax); retry after some complete');
      }
      if (this.queuedBytes + this.inFlightBytes + body.length > this.limits.inFlightBytesMax) {
        this.metrics.onFull?.('in-flight-bytes');
        throw new WalFullError(this.path, 'in-flight-bytes', `${this.queuedBytes + this.inFlightBytes} bytes already `
          + `pending; ${body.length} more would pass inFlightBytesMax ${this.limits.inFlightBytesMax}`);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<bigint>((resolve, reject) => {
      const u8: Uint8Array = body;
      const buf = Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.length);
      this.queue.push({
        body: buf, type, spanBytes: recordSpanBytes(buf.length), queuedAtMs: performance.now(), onAdmit, resolve, reject,
      });
      this.queuedBytes += buf.length;
      this.kickWriter();
    });
  }

  private kickWriter(): void {
    if (this.writerRunning) return;
    this.writerRunning = this.runWriter().finally(() => {
      this.writerRunning = null;
      if (this.queue.length > 0 && this.state === 'open' && !this.failure) this.kickWriter();
    });
  }

  private async runWriter(): Promise<void> {
    // Set right after a post-fdatasync header check; the next group written without any wait in
    // between can rely on it instead of checking again.
    let headerJustChecked = false;
    while (this.queue.length > 0 && this.state === 'open' && !this.failure) {
      if (this.pendingSkipAt !== null) {
        if (this.freeBytes() < SKIP_RESERVE_BYTES) {
          await this.waitForSpace();
          headerJustChecked = false;
          continue;
        }
        if (!(await this.failOnIoError(() => this.checkNotFenced()))) return;
        if (!(await this.failOnIoError(() => this.writeSkip()))) return;
        continue;
      }
      const count = this.groupSize();
      if (count === 0) {
        await this.waitForSpace();
        headerJustChecked = false;
        continue;
      }
      const group = this.queue.splice(0, count);
      let groupBytes = 0;
      for (const p of group) groupBytes += p.body.length;
      this.queuedBytes -= groupBytes;
      this.inFlightCount += group.length;
      this.inFlightBytes += groupBytes;
      headerJustChecked = await this.commitGroup(group, groupBytes, headerJustChecked);
    }
  }

  /** How many queued appends (from the head, in order) fit in one group and in the free ring space. */
  private groupSize(): number {
    const free = this.freeBytes();
    const room = Math.min(this.limits.groupBytesMax, free);
    let span = 0;
    let count = 0;
    for (const p of this.queue) {
      if (alignUp(span + p.spanBytes, BLOCK_BYTES) > room) break;
      span += p.spanBytes;
      count++;
    }
    // A record larger than a group goes alone, once the ring has room for it.
    const head = this.queue[0];
    if (count === 0 && head && alignUp(head.spanBytes, BLOCK_BYTES) > this.limits.groupBytesMax
      && alignUp(head.spanBytes, BLOCK_BYTES) <= free) return 1;
    return count;
  }

  /** Writes one group, makes it durable, and acknowledges it. Returns whether the header was just checked. */
  private async commitGroup(group: PendingAppend[], groupBytes: number, headerJustChecked: boolean): Promise<boolean> {
    const start = this.writeOffset;
    const epoch = this.header.epoch;
    let spans = 0;
    for (const p of group) spans += p.spanBytes;
    const oversize = alignUp(spans, BLOCK_BYTES) > this.groupBuffer.length;
    assert(!oversize || group.length === 1, 'only a lone record may exceed groupBytesMax');
    const buf = oversize ? Buffer.allocUnsafe(alignUp(spans, BLOCK_BYTES)) : this.groupBuffer;
    const offsets: bigint[] = [];
    let total = 0;
    const ok = await this.failOnIoError(async () => {
      assert(start % BigInt(BLOCK_BYTES) === 0n, `group start ${start} not block aligned`);
      let at = 0;
      for (let i = 0; i < group.length; i++) {
        const p = group[i]!;
        const offset = start + BigInt(at);
        offsets.push(offset);
        const bodyAt = at + RECORD_HEADER_BYTES;
        p.onAdmit?.();
        p.body.copy(buf, bodyAt);
        const bodyEnd = bodyAt + p.body.length;
        buf.fill(0, bodyEnd, at + p.spanBytes);
        writeRecordHeader(buf, at, {
          bodyLength: p.body.length, offset, epoch, type: p.type,
          flags: i === group.length - 1 ? FLAG_GROUP_END : 0, bodyCrc: crc32c(buf.subarray(bodyAt, bodyEnd)),
        }, this.header.formatId);
        at += p.spanBytes;
      }
      total = alignUp(at, BLOCK_BYTES);
      buf.fill(0, at, total);
      assert((total <= this.limits.groupBytesMax || oversize) && total <= this.freeBytes(), 'group exceeds its room');
      if (!headerJustChecked) await this.checkNotFenced();
      await writeRing(this.file, this.header.ringBytes, start, buf.subarray(0, total));
      await this.timedDatasync();
      // A takeover that became visible before this point may already have scanned past us: do not
      // acknowledge. One that comes later sees these records in its scan.
      await this.checkNotFenced();
    });
    // Limits are released before callers run, so an acknowledged caller can append again at once.
    this.inFlightCount -= group.length;
    this.inFlightBytes -= groupBytes;
    if (!ok) {
      const err = this.failure!;
      for (const p of group) p.reject(err);
      return false;
    }
    this.writeOffset = start + BigInt(total);
    this.durableEnd = this.writeOffset;
    this.metrics.onAppend?.(group.length, groupBytes);
    for (let i = 0; i < group.length; i++) group[i]!.resolve(offsets[i]!);
    return true;
  }

  private async timedDatasync(): Promise<void> {
    const t0 = performance.now();
    await this.file.datasync();
    this.metrics.onFsync?.((performance.now() - t0) / 1000);
  }

  /** Re-reads the header slots; throws WalFencedError when a newer owner wrote them. */
  private async checkNotFenced(): Promise<void> {
    const slots = await readSlots(this.file, this.header.capacityBytes);
    const newest = newestSlot(slots);
    if (!newest) throw new WalFencedError(this.path, 'both header slots became unreadable; assuming a new owner');
    const h = newest.header;
    if (h.epoch > this.header.epoch || (h.epoch === this.header.epoch && h.nodeId !== this.header.nodeId)) {
      throw new WalFencedError(this.path, `fenced: node ${h.nodeId} took over at epoch ${h.epoch} `
        + `(this writer is node ${this.header.nodeId} at epoch ${this.header.epoch})`);
    }
  }

  /**
   * Runs an I/O step. Any failure is final: fencing moves to 'fenced', anything else (write or
   * fdatasync error) to 'failed' (WalFatalError). Everything queued is rejected. Returns success.
   */
  private async failOnIoError(step: () => Promise<void>): Promise<boolean> {
    try {
      await step();
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  private fail(err: unknown): void {
    if (!this.failure) {
      if (err instanceof WalFencedError) {
        this.failure = err;
        this.state = 'fenced';
      } else {
        this.failure = err instanceof WalFatalError ? err : new WalFatalError(this.path,
          `I/O failed (${describeErrno(err)}); not retried: treat this as a crash, reopen and recover`, { cause: err });
        this.state = 'failed';
      }
    }
    const queued = this.queue.splice(0);
    this.queuedBytes = 0;
    for (const p of queued) p.reject(this.failure);
    this.spaceWaiter?.wake();
  }

  /** Waits until trim() frees space or the oldest waiting append times out (then rejects the expired ones). */
  private waitForSpace(): Promise<void> {
    this.metrics.onBackpressure?.(this.queue.length);
    return new Promise<void>((resolve) => {
      const oldest = this.queue[0];
      const waitMs = oldest ? Math.max(0, oldest.queuedAtMs + this.limits.appendTimeoutMs - performance.now()) : 0;
      const timer = setTimeout(() => {
        this.spaceWaiter = null;
        this.expireWaiting();
        resolve();
      }, Math.ceil(waitMs));
      this.spaceWaiter = {
        wake: () => {
          clearTimeout(timer);
          this.spaceWaiter = null;
          resolve();
        },
      };
    });
  }

  /**
   * The oldest waiting append found no space in time: the ring is full. Everything queued is
   * refused with it (a later append would otherwise be written after an earlier one failed,
   * reordering a caller's records), and new appends fail at once until a trim frees space.
   */
  private expireWaiting(): void {
    const now = performance.now();
    if (this.queue.length === 0 || this.queue[0]!.queuedAtMs + this.limits.appendTimeoutMs > now) return;
    this.setFull(true);
    const err = this.ringFullError();
    const refused = this.queue.splice(0);
    this.queuedBytes = 0;
    for (const p of refused) {
      this.metrics.onFull?.('ring');
      p.reject(err);
    }
  }

  private ringFullError(): WalFullError {
    return new WalFullError(this.path, 'ring', `WAL full: no ring space for ${this.limits.appendTimeoutMs} ms `
      + `(used ${this.usedBytes} of ${this.header.ringBytes} bytes; trim point ${this.trim_}); uploads are lagging`);
  }

  private setFull(full: boolean): void {
    if (this.full === full) return;
    this.full = full;
    this.metrics.onFullChange?.(full);
  }

  // ---- header operations: trim and fence ---------------------------------------------------------

  private serializeHeader<T>(op: () => Promise<T>): Promise<T> {
    const run = this.headerChain.then(op, op);
    this.headerChain = run.catch(() => {});
    return run;
  }

  private async writeHeader(next: HeaderState): Promise<void> {
    const t0 = performance.now();
    try {
      await writeSlot(this.file, next);
    } catch (err) {
      this.fail(err);
      throw this.failure;
    }
    this.header = next;
    this.metrics.onHeaderWrite?.((performance.now() - t0) / 1000);
  }

  trim(offset: bigint): Promise<void> {
    return this.serializeHeader(async () => {
      this.ensureUsable();
      if (!this.recovered) throw new WalStateError(this.path, 'call recover() before trim()');
      if (typeof offset !== 'bigint') throw new WalConfigError(this.path, 'trim offset must be a bigint');
      if (offset <= this.trim_) return;
      if (offset > this.durableEnd) {
        throw new WalOffsetError(this.path, `cannot trim to ${offset}: past the end of the durable log ${this.durableEnd}`);
      }
      let target = offset;
      for (const s of this.skips) if (target > s.offset && target < s.target) target = s.target;
      if (target !== this.durableEnd && !(await this.isRecordAt(target))) {
        throw new WalOffsetError(this.path, `cannot trim to ${offset}: not the offset of a record in the log`);
      }
      await this.checkNotFencedOrFail();
      const usedBefore = this.usedBytes;
      await this.writeHeader({ ...this.header, generation: this.header.generation + 1n, trimOffset: target });
      // Only now, with the new trim point durable, may the freed space be overwritten.
      this.trim_ = target;
      this.skips = this.skips.filter((s) => s.offset >= target);
      const used = this.usedBytes;
      this.metrics.onTrim?.(target, usedBefore - used, used);
      if (usedBefore > used) this.setFull(false);
      this.spaceWaiter?.wake();
    });
  }

  private async checkNotFencedOrFail(): Promise<void> {
    try {
      await this.checkNotFenced();
    } catch (err) {
      this.fail(err);
      throw this.failure;
    }
  }

  private async isRecordAt(offset: bigint): Promise<boolean> {
    const hb = await readRing(this.file, this.header.ringBytes, offset, RECORD_HEADER_BYTES);
    return checkRecordHeader(hb, 0, offset, RECORD_BODY_BYTES_LIMIT, this.header.formatId).ok;
  }

  fence(epoch: number, nodeId: string = this.header.nodeId): Promise<void> {
    return this.serializeHeader(async () => {
      this.ensureUsable();
      checkIdentity(this.path, nodeId, epoch);
      if (epoch < this.header.epoch) {
        throw new WalFencedError(this.path, `cannot lower the epoch from ${this.header.epoch} to ${epoch}`);
      }
      if (epoch === this.header.epoch) {
        if (nodeId === this.header.nodeId) return;
        throw new WalFencedError(this.path, `changing the owner to ${nodeId} needs a higher epoch than ${epoch}`);
      }
      await this.checkNotFencedOrFail();
      await this.writeHeader({ ...this.header, generation: this.header.generation + 1n, epoch, nodeId });
    });
  }

  // ---- reads -------------------------------------------------------------------------------------

  async read(fromOffset: bigint, maxBytes: number): Promise<WalRecord[]> {
    this.ensureUsableForRead();
    if (!this.recovered) throw new WalStateError(this.path, 'call recover() before read()');
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new WalConfigError(this.path, `bad maxBytes ${maxBytes}`);
    if (fromOffset < this.trim_) {
      throw new WalOffsetError(this.path, `offset ${fromOffset} is below the trim point ${this.trim_}`);
    }
    const end = this.durableEnd;
    if (fromOffset > end) throw new WalOffsetError(this.path, `offset ${fromOffset} is past the end of the log ${end}`);
    let start = fromOffset;
    for (const s of this.skips) if (start > s.offset && start < s.target) start = s.target;
    const windowBytes = Math.min(1024 * 1024, Math.max(64 * 1024, alignUp(maxBytes + RECORD_HEADER_BYTES, BLOCK_BYTES)));
    const scanner = new RingScanner(this.file, this.geometry(), start, this.header.ringBytes, end, windowBytes);
    const out: WalRecord[] = [];
    let bytes = 0;
    for (let item = await scanner.next(); item; item = await scanner.next()) {
      if (item.kind !== 'record' || item.type >= TYPE_INTERNAL_MIN) continue;
      if (out.length > 0 && bytes + item.body.length > maxBytes) break;
      out.push({ offset: item.offset, epoch: item.epoch, type: item.type, body: Buffer.from(item.body) });
      bytes += item.body.length;
      if (bytes >= maxBytes) break;
    }
    const stop = scanner.stop;
    if (stop && stop.reason !== 'end offset') {
      if (out.length === 0 && stop.offset === start) {
        throw new WalOffsetError(this.path, `offset ${fromOffset} is not the offset of a record (${stop.reason})`);
      }
      if (stop.offset < this.trim_) return out; // trimmed and overwritten while we read
      throw new WalCorruptError(this.path, `durable record at ${stop.offset} failed validation: ${stop.reason}`);
    }
    return out;
  }

  private ensureUsableForRead(): void {
    if (this.state === 'closed') throw new WalClosedError(this.path);
    if (this.state === 'failed') throw this.failure!;
  }

  // ---- close -------------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasFailed = this.failure;
    this.state = 'closed';
    const queued = this.queue.splice(0);
    this.queuedBytes = 0;
    const closedErr = wasFailed ?? new WalClosedError(this.path);
    for (const p of queued) p.reject(closedErr);
    this.spaceWaiter?.wake();
    await this.writerRunning?.catch(() => {});
    await this.headerChain.catch(() => {});
    await this.file.close().catch(() => {});
    await this.lock.release();
  }
}
