// The file/device layer. The WAL only talks to these interfaces, so tests can substitute a disk
// that loses, tears or fails unflushed writes (see memory-io.ts). The real one is NodeIo.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export type WalPathKind = 'file' | 'block-device' | 'missing' | 'other';

export interface WalFile {
  readonly kind: 'file' | 'block-device';
  /** Size in bytes: file length, or the device size. */
  sizeBytes(): Promise<number>;
  /** Reads up to buffer.length bytes at position; returns the count read (short only at the end). */
  read(buffer: Buffer, position: number): Promise<number>;
  /**
   * Optional synchronous read, used only for the small header re-read before each group commit:
   * from the page cache it costs microseconds instead of a thread-pool round trip.
   */
  readSync?(buffer: Buffer, position: number): number;
  /** Writes all of buffer at position, or throws. */
  write(buffer: Buffer, position: number): Promise<void>;
  datasync(): Promise<void>;
  /** Grows a new regular file to sizeBytes with real (zeroed) blocks, then makes size and entry durable. */
  preallocate(sizeBytes: number): Promise<void>;
  close(): Promise<void>;
}

export interface WalLock {
  release(): Promise<void>;
}

export interface WalIo {
  kindOf(path: string): Promise<WalPathKind>;
  /** Opens for read+write; with create, creates a missing regular file. */
  open(path: string, create: boolean): Promise<WalFile>;
  /**
   * Takes an exclusive, non-blocking lock on lockPath (created when create is set).
   * Throws an error with code 'EWOULDBLOCK' or 'EAGAIN' when someone else holds it.
   */
  lock(lockPath: string, create: boolean): Promise<WalLock>;
}

interface FsExt {
  flockSync(fd: number, flags: 'exnb' | 'un'): void;
}
const fsExt = createRequire(import.meta.url)('fs-ext') as FsExt;

const PREALLOCATE_CHUNK_BYTES = 1024 * 1024;

class NodeFile implements WalFile {
  constructor(readonly kind: 'file' | 'block-device', private readonly fd: number, private readonly path: string) {}

  async sizeBytes(): Promise<number> {
    const st = await fstat(this.fd);
    if (this.kind === 'file') return st.size;
    return blockDeviceSizeBytes(this.fd, st.rdev);
  }

  read(buffer: Buffer, position: number): Promise<number> {
    return readFully(this.fd, buffer, position);
  }

  readSync(buffer: Buffer, position: number): number {
    let done = 0;
    while (done < buffer.length) {
      const n = fs.readSync(this.fd, buffer, done, buffer.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  async write(buffer: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < buffer.length) {
      const n = await new Promise<number>((resolve, reject) => {
        fs.write(this.fd, buffer, done, buffer.length - done, position + done, (err, written) => (err ? reject(err) : resolve(written)));
      });
      if (n <= 0) throw new Error(`short write at ${position + done}`);
      done += n;
    }
  }

  datasync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
  }

  async preallocate(sizeBytes: number): Promise<void> {
    // Node has no fallocate; writing zeros gives real blocks, so later fdatasyncs flush data only,
    // not block allocation metadata.
    const zeros = Buffer.alloc(Math.min(PREALLOCATE_CHUNK_BYTES, sizeBytes));
    for (let pos = 0; pos < sizeBytes; pos += zeros.length) {
      await this.write(zeros.subarray(0, Math.min(zeros.length, sizeBytes - pos)), pos);
    }
    await new Promise<void>((resolve, reject) => fs.fsync(this.fd, (err) => (err ? reject(err) : resolve())));
    await fsyncDirectory(dirname(this.path));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => fs.close(this.fd, (err) => (err ? reject(err) : resolve())));
  }
}

function fstat(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) => fs.fstat(fd, (err, st) => (err ? reject(err) : resolve(st))));
}

async function readFully(fd: number, buffer: Buffer, position: number): Promise<number> {
  let done = 0;
  while (done < buffer.length) {
    const n = await new Promise<number>((resolve, reject) => {
      fs.read(fd, buffer, done, buffer.length - done, position + done, (err, got) => (err ? reject(err) : resolve(got)));
    });
    if (n === 0) break;
    done += n;
  }
  return done;
}

async function fsyncDirectory(dir: string): Promise<void> {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * fstat reports size 0 for block devices and Node has no BLKGETSIZE64 ioctl. Linux exposes every
 * block device's size in 512-byte sectors at /sys/dev/block/<major>:<minor>/size (always 512-byte
 * units, whatever the logical block size). Without sysfs, probe: a pread past the end returns 0 bytes.
 */
export async function blockDeviceSizeBytes(fd: number, rdev: number): Promise<number> {
  const major = Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn);
  const minor = Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & ~0xffn);
  try {
    const sectors = fs.readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8').trim();
    if (/^\d+$/.test(sectors)) return Number(sectors) * 512;
  } catch {
    // fall through to probing
  }
  return probeSizeBytes(fd);
}

/** Largest N (multiple of 512) such that the byte at N-1 is readable: exponential then binary search. */
export async function probeSizeBytes(fd: number): Promise<number> {
  const one = Buffer.alloc(1);
  const readable = async (sectors: number): Promise<boolean> => (await readFully(fd, one, sectors * 512 - 1)) === 1;
  if (!(await readable(1))) return 0;
  let lo = 1;
  let hi = 2;
  while (await readable(hi)) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await readable(mid)) lo = mid;
    else hi = mid;
  }
  return lo * 512;
}

export class NodeIo implements WalIo {
  async kindOf(path: string): Promise<WalPathKind> {
    try {
      const st = await fs.promises.stat(path);
      if (st.isFile()) return 'file';
      if (st.isBlockDevice()) return 'block-device';
      return 'other';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw err;
    }
  }

  async open(path: string, create: boolean): Promise<WalFile> {
    let fd: number;
    let created = false;
    try {
      fd = fs.openSync(path, fs.constants.O_RDWR);
    } catch (err) {
      if (!create || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
      created = true;
    }
    const st = fs.fstatSync(fd);
    if (st.isBlockDevice()) return new NodeFile('block-device', fd, path);
    if (st.isFile()) return new NodeFile('file', fd, path);
    fs.closeSync(fd);
    if (created) fs.rmSync(path, { force: true });
    throw Object.assign(new Error('not a regular file or block device'), { code: 'EINVAL' });
  }

  async lock(lockPath: string, create: boolean): Promise<WalLock> {
    const flags = create ? fs.constants.O_RDWR | fs.constants.O_CREAT : fs.constants.O_RDONLY;
    const fd = fs.openSync(lockPath, flags, 0o644);
    try {
      fsExt.flockSync(fd, 'exnb');
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    if (create) {
      // Diagnostics only: who holds it. The lock itself is the flock, released by the kernel on exit.
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, `${process.pid}\n`, 0);
    }
    let released = false;
    return {
      async release() {
        if (released) return;
        released = true;
        fs.closeSync(fd);
      },
    };
  }
}
