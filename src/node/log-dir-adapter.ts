/** DescribeLogDirs's log dir: the directory of the WAL and its volume's statfs figures. */
import { statfs } from 'node:fs/promises';
import type { LogDirInfo } from '../broker/context.js';

export function walLogDir(path: string): LogDirInfo {
  return {
    path,
    async usage() {
      try {
        const s = await statfs(path, { bigint: true });
        return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
      } catch {
        return null;
      }
    },
  };
}
