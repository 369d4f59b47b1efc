// Bad input at open(): clear, typed errors that name the path and the problem; nothing overwritten.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  WalConfigError, WalCorruptError, WalFormatError, WalIoError, openWal, type WalOptions,
} from '@ferry/wal';
import { tempDir } from './helpers.js';

const opts = (o: Partial<WalOptions> = {}): WalOptions => ({ nodeId: 'n', epoch: 1, capacityBytes: 1 << 20, recordBytesMax: 4096, ...o });

function rejectsWith(p: Promise<unknown>, type: new (...a: never[]) => Error, path: string, problem: RegExp) {
  return assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    assert.ok(e.message.startsWith(`WAL ${path}: `), e.message);
    assert.match(e.message, problem);
    return true;
  });
}

describe('paths that cannot be used', () => {
  test('a missing directory', async (t) => {
    const path = join(tempDir(t), 'no', 'such', 'dir', 'w.wal');
    await rejectsWith(openWal(path, opts()), WalIoError, path, /ENOENT/);
  });

  test('a file that is not writable', async (t) => {
    const path = join(tempDir(t), 'ro.wal');
    writeFileSync(path, '');
    chmodSync(path, 0o444);
    // root ignores file modes; the immutable attribute stops root too.
    const root = process.getuid?.() === 0;
    if (root) assert.equal(spawnSync('chattr', ['+i', path]).status, 0, 'chattr +i (needed to make a file unwritable for root)');
    try {
      await rejectsWith(openWal(path, opts()), WalIoError, path, /cannot open for reading and writing: (EACCES|EPERM)/);
    } finally {
      if (root) spawnSync('chattr', ['-i', path]);
    }
  });

  test('a directory', async (t) => {
    const path = join(tempDir(t), 'adir');
    mkdirSync(path);
    await rejectsWith(openWal(path, opts()), WalIoError, path, /not a regular file or block device/);
  });
});

describe('sizes and options', () => {
  test('a capacity smaller than one record fails before creating anything', async (t) => {
    const path = join(tempDir(t), 'tiny.wal');
    await rejectsWith(openWal(path, opts({ capacityBytes: 16 * 1024, recordBytesMax: 64 * 1024 })), WalConfigError, path,
      /capacity 16384 bytes is too small for one record of recordBytesMax 65536 bytes/);
    assert.equal(existsSync(path), false);
  });

  test('bad identities and limits', async (t) => {
    const path = join(tempDir(t), 'w.wal');
    await rejectsWith(openWal(path, opts({ nodeId: '' })), WalConfigError, path, /nodeId must be a non-empty string/);
    await rejectsWith(openWal(path, opts({ nodeId: 'é'.repeat(128) })), WalConfigError, path, /256 UTF-8 bytes; the header holds at most 255/);
    await rejectsWith(openWal(path, opts({ epoch: -1 })), WalConfigError, path, /epoch must be an integer/);
    await rejectsWith(openWal(path, opts({ epoch: 1.5 })), WalConfigError, path, /epoch must be an integer/);
    await rejectsWith(openWal(path, opts({ queueDepthMax: 0 })), WalConfigError, path, /queueDepthMax/);
    await rejectsWith(openWal(path, opts({ inFlightBytesMax: 10 })), WalConfigError, path, /inFlightBytesMax/);
  });
});

describe('files that are not (healthy) Ferry WALs', () => {
  test('a file of another format is refused and left untouched', async (t) => {
    const path = join(tempDir(t), 'other.db');
    const content = Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(64 * 1024, 7)]);
    writeFileSync(path, content);
    await rejectsWith(openWal(path, opts()), WalFormatError, path, /not a Ferry WAL .*refusing to overwrite it/);
    assert.ok(readFileSync(path).equals(content));
    const short = join(tempDir(t), 'short.txt');
    writeFileSync(short, 'hello');
    await rejectsWith(openWal(short, opts()), WalFormatError, short, /not a Ferry WAL/);
  });

  test('both header slots damaged', async (t) => {
    const path = join(tempDir(t), 'w.wal');
    const w = await openWal(path, opts());
    await w.recover();
    await w.trim(w.nextOffset); // writes the second slot too
    await w.close();
    const b = readFileSync(path);
    b[100] ^= 1;
    b[4096 + 100] ^= 1;
    writeFileSync(path, b);
    await rejectsWith(openWal(path, opts()), WalCorruptError, path, /both header slots are invalid \(slot 0: checksum mismatch; slot 1: checksum mismatch\)/);
  });

  test('a file shorter than the capacity in its header', async (t) => {
    const path = join(tempDir(t), 'w.wal');
    const w = await openWal(path, opts());
    await w.close();
    truncateSync(path, 512 * 1024);
    await rejectsWith(openWal(path, opts()), WalCorruptError, path, /header says capacity 1048576 bytes but the file has only 524288/);
  });
});
