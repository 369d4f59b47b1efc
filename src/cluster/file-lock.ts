// An exclusive, non-blocking flock on a file, so two processes cannot own the same directory.
// flock locks belong to the open file description: a second open in the same process conflicts too.
// The lock is released when the descriptor closes (also when the process dies).
//
// API: lockFileExclusive(path): FileLock (throws FileLockedError if held elsewhere); FileLock.release()

import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';

// fs-ext ships no type declarations; describe the one call we use.
interface FsExt { flockSync(fd: number, flags: 'exnb' | 'un'): void }
const fsExt = createRequire(import.meta.url)('fs-ext') as FsExt;

export class FileLockedError extends Error {
  readonly code = 'FILE_LOCKED';
  constructor(readonly path: string) {
    super(`${path} is locked by another process`);
    this.name = 'FileLockedError';
  }
}

export interface FileLock {
  readonly path: string;
  release(): void;
}

export function lockFileExclusive(path: string): FileLock {
  const fd = openSync(path, 'a');
  try {
    fsExt.flockSync(fd, 'exnb');
  } catch (err) {
    closeSync(fd);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') throw new FileLockedError(path);
    throw err;
  }
  let held = true;
  return {
    path,
    release(): void {
      if (!held) return;
      held = false;
      closeSync(fd);
    },
  };
}
