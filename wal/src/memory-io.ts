// An in-memory disk with a page cache, for tests: writes are visible to reads at once but only
// become durable at datasync. crash() keeps, drops or tears each unflushed 512-byte sector at
// random, like power loss; hooks inject write and fdatasync failures.
import type { WalFile, WalIo, WalLock, WalPathKind } from './io.js';

export const SECTOR_BYTES = 512;

export interface MemoryDiskFaults {
  /** Called before each datasync; throw to make it fail. */
  beforeDatasync?: (disk: MemoryDisk) => void;
  /** Called before each write; throw to make it fail. */
  beforeWrite?: (position: number, length: number, disk: MemoryDisk) => void;
}

interface PendingWrite {
  position: number;
  data: Buffer;
}

/** Deterministic PRNG (mulberry32) so a crash is reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class MemoryDisk {
  /** What survives a crash. */
  durable: Buffer;
  /** What reads see (durable + unflushed writes). */
  cache: Buffer;
  private pending: PendingWrite[] = [];
  /** Bumped by crash(): handles opened before it fail every call, like a dead process's fds. */
  incarnation = 0;
  locked = false;
  faults: MemoryDiskFaults = {};
  writes = 0;
  datasyncs = 0;

  constructor(readonly kind: 'file' | 'block-device', sizeBytes: number) {
    this.durable = Buffer.alloc(sizeBytes);
    this.cache = Buffer.alloc(sizeBytes);
  }

  get size(): number {
    return this.cache.length;
  }

  get pendingWrites(): number {
    return this.pending.length;
  }

  write(position: number, data: Buffer): void {
    if (position < 0 || position + data.length > this.cache.length) {
      throw Object.assign(new Error(`write past the end: ${position}+${data.length}`), { code: 'ENOSPC' });
    }
    this.writes++;
    data.copy(this.cache, position);
    this.pending.push({ position, data: Buffer.from(data) });
  }

  datasync(): void {
    this.datasyncs++;
    for (const w of this.pending) w.data.copy(this.durable, w.position);
    this.pending = [];
  }

  /** An independent copy, unflushed writes included (to replay one crash many ways). */
  clone(): MemoryDisk {
    const d = new MemoryDisk(this.kind, 0);
    d.durable = Buffer.from(this.durable);
    d.cache = Buffer.from(this.cache);
    d.pending = this.pending.map((w) => ({ position: w.position, data: Buffer.from(w.data) }));
    return d;
  }

  /** Bytes of unflushed writes. */
  get pendingBytes(): number {
    return this.pending.reduce((n, w) => n + w.data.length, 0);
  }

  /** Grows a file-kind disk (new file preallocation). */
  grow(sizeBytes: number): void {
    if (sizeBytes <= this.cache.length) return;
    const d = Buffer.alloc(sizeBytes);
    this.durable.copy(d);
    const c = Buffer.alloc(sizeBytes);
    this.cache.copy(c);
    this.durable = d;
    this.cache = c;
  }

  /**
   * Power loss: every unflushed sector independently lands, is lost, or (with tearProbability)
   * lands half old / half new bytes. Open handles die; the lock is released.
   */
  crash(seed: number, options: { keepProbability?: number; tearProbability?: number } = {}): void {
    const rand = seededRandom(seed);
    const keep = options.keepProbability ?? 0.5;
    const tear = options.tearProbability ?? 0.1;
    for (const w of this.pending) {
      for (let s = 0; s < w.data.length; s += SECTOR_BYTES) {
        const piece = w.data.subarray(s, Math.min(s + SECTOR_BYTES, w.data.length));
        const r = rand();
        if (r < tear) {
          piece.subarray(0, Math.floor(piece.length / 2)).copy(this.durable, w.position + s);
        } else if (r < tear + keep * (1 - tear)) {
          piece.copy(this.durable, w.position + s);
        }
      }
    }
    this.pending = [];
    this.durable.copy(this.cache);
    this.incarnation++;
    this.locked = false;
  }

  /** Power loss that keeps exactly the first `bytes` bytes of unflushed writes, in write order. */
  crashKeepingPrefix(bytes: number): void {
    let left = bytes;
    for (const w of this.pending) {
      if (left <= 0) break;
      const n = Math.min(left, w.data.length);
      w.data.copy(this.durable, w.position, 0, n);
      left -= n;
    }
    this.pending = [];
    this.durable.copy(this.cache);
    this.incarnation++;
    this.locked = false;
  }
}

class MemoryFile implements WalFile {
  private readonly incarnation: number;
  private closed = false;
  constructor(private readonly disk: MemoryDisk) {
    this.incarnation = disk.incarnation;
  }

  get kind(): 'file' | 'block-device' {
    return this.disk.kind;
  }

  private live(): void {
    if (this.closed) throw Object.assign(new Error('file closed'), { code: 'EBADF' });
    if (this.disk.incarnation !== this.incarnation) throw Object.assign(new Error('disk crashed'), { code: 'EIO' });
  }

  async sizeBytes(): Promise<number> {
    this.live();
    return this.disk.size;
  }

  async read(buffer: Buffer, position: number): Promise<number> {
    this.live();
    const n = Math.max(0, Math.min(buffer.length, this.disk.size - position));
    this.disk.cache.copy(buffer, 0, position, position + n);
    return n;
  }

  async write(buffer: Buffer, position: number): Promise<void> {
    await Promise.resolve();
    this.live();
    this.disk.faults.beforeWrite?.(position, buffer.length, this.disk);
    this.disk.write(position, buffer);
  }

  async datasync(): Promise<void> {
    await Promise.resolve();
    this.live();
    this.disk.faults.beforeDatasync?.(this.disk);
    this.disk.datasync();
  }

  async preallocate(sizeBytes: number): Promise<void> {
    this.live();
    this.disk.grow(sizeBytes);
    this.disk.datasync();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A WalIo over named MemoryDisks. Missing paths are created as empty file-kind disks. */
export class MemoryIo implements WalIo {
  readonly disks = new Map<string, MemoryDisk>();

  disk(path: string): MemoryDisk {
    const d = this.disks.get(path);
    if (!d) throw new Error(`no memory disk at ${path}`);
    return d;
  }

  async kindOf(path: string): Promise<WalPathKind> {
    return this.disks.get(path)?.kind ?? 'missing';
  }

  async open(path: string, create: boolean): Promise<WalFile> {
    let d = this.disks.get(path);
    if (!d) {
      if (!create) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      d = new MemoryDisk('file', 0);
      this.disks.set(path, d);
    }
    return new MemoryFile(d);
  }

  async lock(lockPath: string): Promise<WalLock> {
    // Locks live on the disk named by the WAL path (lockPath minus a ".lock" suffix, if any).
    const walPath = this.disks.has(lockPath) ? lockPath : lockPath.replace(/\.lock$/, '');
    let d = this.disks.get(walPath);
    if (!d) {
      d = new MemoryDisk('file', 0);
      this.disks.set(walPath, d);
    }
    if (d.locked) throw Object.assign(new Error('locked'), { code: 'EWOULDBLOCK' });
    d.locked = true;
    const incarnation = d.incarnation;
    return {
      async release() {
        if (d.incarnation === incarnation) d.locked = false;
      },
    };
  }
}
