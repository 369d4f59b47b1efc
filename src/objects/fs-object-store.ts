/**
 * The `fs` ObjectStore, the embedded default: one file per object under a root directory
 * (`<data.dir>/objects`); the key's `/`-separated segments are directories, so
 * `ferry/o/3a/0193...` is `<root>/ferry/o/3a/0193...`.
 *
 *   const store = new FsObjectStore({ root: './data/objects' });
 *
 * Keeps the S3 semantics of ObjectStore (see object-store.ts):
 *  - put writes a hidden temp file in the target directory, fsyncs it, then renames it over the
 *    key (or, create-only, hard-links it: link() fails with EEXIST, so exactly one racing writer
 *    wins), then fsyncs the directory (and any directory it created): after put resolves the
 *    object survives a crash, and a reader never sees a partial object;
 *  - get reads with positional reads; ranges clamp at the end as S3 does;
 *  - list walks the directories in key (byte) order, skipping temp files;
 *  - delete unlinks (a missing key is fine) and removes directories left empty.
 * Keys: segments must be non-empty, not "." or "..", not start with ".tmp-", no NUL, at most 200
 * bytes each, 1024 bytes in all: nothing can escape the root. Unlike S3, a key cannot also be a
 * "directory" of another key (`a` and `a/b`): such a put fails (non-retriable). Ferry's object
 * keys all have the same depth.
 * Errors: ENOENT on a read is ObjectNotFoundError; a full disk (ENOSPC, EDQUOT) or too many open
 * files are retriable ObjectStoreErrors (space can come back after GC), other I/O errors are not.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { constants as bufferConstants } from 'node:buffer';
import {
  ObjectExistsError, ObjectNotFoundError, ObjectStoreError,
  type ByteRange, type ObjectInfo, type ObjectStore, type PutOptions,
} from './object-store.js';

export interface FsObjectStoreOptions {
  /** Root directory; created on first put. */
  root: string;
  /** fsync files and directories (default true; tests on tmpfs may turn it off for speed). */
  fsync?: boolean;
}

const TEMP_PREFIX = '.tmp-';
const KEY_BYTES_MAX = 1024;
const SEGMENT_BYTES_MAX = 200;
const RETRIABLE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR']);

export class FsObjectStore implements ObjectStore {
  readonly description: string;
  private readonly root: string;
  private readonly fsync: boolean;
  private closed = false;

  constructor(options: FsObjectStoreOptions) {
    this.root = resolve(options.root);
    this.fsync = options.fsync ?? true;
    this.description = `fs://${this.root}`;
  }

  /** The file of a key; throws a non-retriable ObjectStoreError for keys that could escape the root. */
  pathOf(key: string): string {
    checkKey(key);
    const p = join(this.root, ...key.split('/'));
    if (!p.startsWith(this.root + sep)) throw new ObjectStoreError(`fs: key ${JSON.stringify(key)} escapes the root`, false, key);
    return p;
  }

  async put(key: string, body: Buffer | readonly Buffer[], options: PutOptions = {}): Promise<void> {
    this.checkOpen();
    const path = this.pathOf(key);
    const dir = dirname(path);
    const parts = Buffer.isBuffer(body) ? [body] : body;
    let tmp: string | null = null;
    try {
      let fh: FileHandle | null = null;
      // The directories can vanish between mkdir, their fsync and the open (a concurrent delete
      // removes empty dirs): make them again.
      for (let attempt = 0; fh === null; attempt++) {
        try {
          await this.makeDirs(dir);
          tmp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
          fh = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
        } catch (err) {
          tmp = null;
          if (code(err) !== 'ENOENT' || attempt >= 5) throw err;
        }
      }
      try {
        await writeAll(fh, parts);
        if (this.fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      if (options.ifNoneMatch) {
        try {
          await link(tmp!, path);
        } catch (err) {
          if (code(err) === 'EEXIST') throw new ObjectExistsError(key);
          throw err;
        }
        await unlink(tmp!);
      } else {
        await rename(tmp!, path);
      }
      tmp = null;
      if (this.fsync) await syncDir(dir);
    } catch (err) {
      if (tmp !== null) await unlink(tmp).catch(() => {});
      throw translate(err, key, 'put');
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    this.checkOpen();
    const path = this.pathOf(key);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      throw translate(err, key, 'get');
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new ObjectNotFoundError(key);
      const size = st.size;
      const [start, end] = resolveRange(range, size, key);
      const length = end - start;
      if (length > bufferConstants.MAX_LENGTH) throw new ObjectStoreError(`fs: range of ${length} bytes is too large for one buffer`, false, key);
      const out = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(out, done, length - done, start + done);
        if (bytesRead === 0) throw new ObjectStoreError(`fs: ${key} shrank while being read`, true, key);
        done += bytesRead;
      }
      return out;
    } catch (err) {
      throw translate(err, key, 'get');
    } finally {
      await fh.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    this.checkOpen();
    try {
      const st = await stat(this.pathOf(key));
      if (!st.isFile()) return null;
      return { key, size: st.size, lastModifiedMs: Math.floor(st.mtimeMs) };
    } catch (err) {
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return null;
      throw translate(err, key, 'head');
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.checkOpen();
    // Start at the deepest directory the prefix fully names; filter the rest by prefix.
    const segments = prefix.split('/');
    const partial = segments.pop()!;
    if (segments.some((s) => !validSegment(s)) || prefix.includes('\0')) return;
    const base = segments.length ? segments.join('/') + '/' : '';
    yield* this.walk(join(this.root, ...segments), base, prefix, partial);
  }

  private async *walk(dir: string, keyPrefix: string, prefix: string, partial: string): AsyncIterable<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return;
      throw translate(err, keyPrefix, 'list');
    }
    // Sort as S3 does, by the bytes of the whole key: a directory sorts as "name/".
    const items = entries
      .filter((e) => (e.isFile() || e.isDirectory()) && !e.name.startsWith(TEMP_PREFIX) && e.name.startsWith(partial))
      .map((e) => ({ name: e.name, dir: e.isDirectory(), sortKey: Buffer.from(e.isDirectory() ? `${e.name}/` : e.name) }))
      .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
    for (const item of items) {
      const key = keyPrefix + item.name;
      if (item.dir) {
        yield* this.walk(join(dir, item.name), `${key}/`, prefix, '');
      } else if (key.startsWith(prefix)) {
        try {
          const st = await stat(join(dir, item.name));
          yield { key, size: st.size, lastModifiedMs: Math.floor(st.mtimeMs) };
        } catch (err) {
          if (code(err) !== 'ENOENT') throw translate(err, key, 'list'); // deleted meanwhile
        }
      }
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    this.checkOpen();
    const paths = keys.map((k) => this.pathOf(k));
    const dirs = new Set<string>();
    for (let i = 0; i < paths.length; i++) {
      try {
        await unlink(paths[i]!);
        dirs.add(dirname(paths[i]!));
      } catch (err) {
        if (code(err) !== 'ENOENT' && code(err) !== 'ENOTDIR') throw translate(err, keys[i], 'delete');
      }
    }
    for (const d of dirs) await this.removeEmptyDirs(d);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new ObjectStoreError('fs: object store is closed', false);
  }

  /** mkdir -p, then fsync the parent of every directory created so the new entries are durable. */
  private async makeDirs(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined || !this.fsync) return;
    const created: string[] = [];
    for (let d = dir; ; d = dirname(d)) {
      created.push(d);
      if (d === first || d === dirname(d)) break;
    }
    for (const d of created.reverse()) await syncDir(dirname(d));
  }

  private async removeEmptyDirs(dir: string): Promise<void> {
    for (let d = dir; d.startsWith(this.root + sep); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
    }
  }
}

function validSegment(s: string): boolean {
  return s.length > 0 && s !== '.' && s !== '..' && !s.startsWith(TEMP_PREFIX) && !s.includes('\0') && Buffer.byteLength(s) <= SEGMENT_BYTES_MAX;
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > KEY_BYTES_MAX || !key.split('/').every(validSegment)) {
    throw new ObjectStoreError(`fs: invalid object key ${JSON.stringify(key)}`, false, key);
  }
}

/** [start, end) of `range` in an object of `size` bytes, clamped as S3 clamps. */
export function resolveRange(range: ByteRange | undefined, size: number, key?: string): [number, number] {
  if (range === undefined) return [0, size];
  if ('suffix' in range) {
    if (!Number.isSafeInteger(range.suffix) || range.suffix < 0) throw new ObjectStoreError(`bad suffix range ${range.suffix}`, false, key);
    return [Math.max(0, size - range.suffix), size];
  }
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new ObjectStoreError(`bad range [${start}, ${end})`, false, key);
  }
  if (start === end) return [start, start];
  if (start >= size) throw new ObjectStoreError(`range [${start}, ${end}) not satisfiable: object has ${size} bytes`, false, key);
  return [start, Math.min(end, size)];
}

async function writeAll(fh: FileHandle, parts: readonly Buffer[]): Promise<void> {
  let pending = parts.filter((p) => p.length > 0);
  while (pending.length > 0) {
    // writev may write less than asked; continue from where it stopped.
    let { bytesWritten } = await fh.writev(pending.slice(0, 1024));
    const rest: Buffer[] = [];
    for (const p of pending) {
      if (bytesWritten >= p.length) { bytesWritten -= p.length; continue; }
      rest.push(bytesWritten > 0 ? p.subarray(bytesWritten) : p);
      bytesWritten = 0;
    }
    pending = rest;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function translate(err: unknown, key: string | undefined, op: string): Error {
  if (err instanceof ObjectStoreError) return err;
  const c = code(err);
  if ((c === 'ENOENT' || c === 'ENOTDIR') && op === 'get' && key !== undefined) return new ObjectNotFoundError(key);
  if (c === 'EISDIR' || c === 'ENOTDIR' || c === 'EEXIST') {
    return new ObjectStoreError(`fs ${op} ${key}: the key conflicts with another key used as a directory (${c})`, false, key, { cause: err });
  }
  return new ObjectStoreError(`fs ${op} ${key ?? ''}: ${(err as Error)?.message ?? String(err)}`, c !== undefined && RETRIABLE_CODES.has(c), key, { cause: err });
}
