// Shared test helpers: temp dirs, in-memory WALs, deterministic bodies.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryIo, openWal, type Wal, type WalOptions } from '@ferry/wal';

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-wal-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const SMALL: Partial<WalOptions> = { capacityBytes: 256 * 1024, recordBytesMax: 16 * 1024 };

export async function openMemory(io: MemoryIo, options: Partial<WalOptions> = {}, path = 'mem'): Promise<Wal> {
  return openWal(path, { nodeId: 'node-1', epoch: 1, ...SMALL, ...options, io });
}

/** A body whose content identifies it: index in the first 4 bytes, then a pattern. */
export function bodyFor(index: number, length: number): Buffer {
  const b = Buffer.alloc(Math.max(4, length));
  b.writeUInt32LE(index, 0);
  for (let i = 4; i < b.length; i++) b[i] = (index * 31 + i * 7) & 0xff;
  return b.subarray(0, length >= 4 ? length : 4);
}
