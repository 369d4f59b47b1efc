// The local store's files (formats in local-store-format.ts):
//
//   <dir>/snapshot   full state at some revision (written to snapshot.tmp, fsynced, renamed)
//   <dir>/journal    header + one CRC-protected record per revision after the snapshot
//
// Recovery (LocalJournal.recover): drop the .tmp leftovers of a compaction that crashed before its
// rename, load the snapshot, replay the journal's records in revision order (a gap or a journal
// that does not reach the snapshot is corruption: MetadataCorruptError), cut a torn tail (length /
// CRC check) and truncate the file there, so the next append starts on a valid record boundary.
// Appends: one write of the batch's records, then fdatasync; a failure is not retried (the store
// turns failed, and reopening recovers from disk). Compaction: a new snapshot, then a fresh journal
// starting at its revision, each written durably (temp file, fsync, rename, fsync of the directory).
//
// API: LocalJournal.recover(dir, io, historyRevisionsMax) -> { journal, state, history, stats }
//      journal.sizeBytes; append(records); compact(revision, entries); close()
//      LocalStoreIo (the two journal I/O calls, injectable for fault tests), realIo

import assert from 'node:assert/strict';
import { open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { KvState } from './kv-state.js';
import {
  JOURNAL_HEADER_BYTES, decodeJournalHeader, decodeJournalRecords, decodeSnapshot, encodeJournalHeader, encodeSnapshot,
} from './local-store-format.js';
import { MetadataCorruptError, MetadataStoreError, type KeyValue } from './metadata-store.js';
import type { RevisionEvents } from './watch-hub.js';

/** The two journal I/O calls, injectable so tests can fail them. */
export interface LocalStoreIo {
  write(fh: FileHandle, data: Buffer, position: number): Promise<void>;
  datasync(fh: FileHandle): Promise<void>;
}

export const realIo: LocalStoreIo = {
  async write(fh, data, position) {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
      assert.ok(bytesWritten > 0, 'journal write made no progress');
      done += bytesWritten;
    }
  },
  datasync: (fh) => fh.datasync(),
};

const FIRST_REVISION = 1; // etcd's empty store is at revision 1

/** What recovery found, for LocalStoreOpenStats. */
export interface JournalRecoveryStats {
  snapshotRevision: number | null;
  replayedRecords: number;
  /** Bytes cut from the journal's end (a torn write that was never acknowledged). */
  truncatedTailBytes: number;
  tailProblem?: string;
}

export interface RecoveredJournal {
  journal: LocalJournal;
  /** The state at the last valid record. */
  state: KvState;
  /** The replayed revisions' watch events (the last 2 x historyRevisionsMax at most). */
  history: RevisionEvents[];
  stats: JournalRecoveryStats;
}

export class LocalJournal {
  private constructor(readonly dir: string, private fh: FileHandle, private bytes: number, private readonly io: LocalStoreIo) {}

  private static journalPath(dir: string): string { return join(dir, 'journal'); }

  /** Bytes in the journal file (header included). */
  get sizeBytes(): number { return this.bytes; }

  static async recover(dir: string, io: LocalStoreIo, historyRevisionsMax: number): Promise<RecoveredJournal> {
    const snapshotPath = join(dir, 'snapshot');
    const journalPath = LocalJournal.journalPath(dir);
    // Leftovers of a compaction that crashed before its rename: never part of the state.
    await rm(join(dir, 'snapshot.tmp'), { force: true });
    await rm(join(dir, 'journal.tmp'), { force: true });

    let state = new KvState(FIRST_REVISION);
    let snapshotRevision: number | null = null;
    const snapshotBytes = await readIfExists(snapshotPath);
    if (snapshotBytes !== null) {
      const snap = decodeSnapshot(snapshotBytes);
      if (typeof snap === 'string') throw new MetadataCorruptError(snapshotPath, snap);
      state = new KvState(snap.revision, snap.kvs);
      snapshotRevision = snap.revision;
    }

    const stats: JournalRecoveryStats = { snapshotRevision, replayedRecords: 0, truncatedTailBytes: 0 };
    const history: RevisionEvents[] = [];
    const journalBytes = await readIfExists(journalPath);
    let journalEnd = JOURNAL_HEADER_BYTES;
    if (journalBytes === null) {
      await writeFileDurably(dir, 'journal', encodeJournalHeader(state.revision));
    } else {
      const base = decodeJournalHeader(journalBytes);
      if (typeof base === 'string') throw new MetadataCorruptError(journalPath, base);
      if (base > state.revision) {
        throw new MetadataCorruptError(journalPath, `journal starts at revision ${base} but the snapshot is at ${state.revision} (snapshot missing?)`);
      }
      let decoded;
      try {
        decoded = decodeJournalRecords(journalBytes);
      } catch (err) {
        throw new MetadataCorruptError(journalPath, (err as Error).message);
      }
      let expected = base + 1;
      for (const record of decoded.records) {
        if (record.revision !== expected) {
          throw new MetadataCorruptError(journalPath, `record with revision ${record.revision} where ${expected} was expected`);
        }
        expected++;
        if (record.revision <= state.revision) continue; // already in the snapshot
        const events = state.apply(record.revision, record.changes);
        history.push({ revision: record.revision, events });
        if (history.length > 2 * historyRevisionsMax) history.splice(0, history.length - historyRevisionsMax);
        stats.replayedRecords++;
      }
      if (state.revision < (snapshotRevision ?? FIRST_REVISION)) {
        throw new MetadataCorruptError(journalPath, `journal ends at revision ${state.revision}, before the snapshot's`);
      }
      journalEnd = decoded.validEnd;
      if (decoded.validEnd < journalBytes.length) {
        stats.truncatedTailBytes = journalBytes.length - decoded.validEnd;
        if (decoded.tailProblem !== undefined) stats.tailProblem = decoded.tailProblem;
        const fh = await open(journalPath, 'r+');
        try {
          await fh.truncate(decoded.validEnd);
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
    }

    const fh = await open(journalPath, 'r+');
    return { journal: new LocalJournal(dir, fh, journalEnd, io), state, history, stats };
  }

  /** Appends encoded records with one write, then fdatasync. Durable when resolved; on a rejection nothing counts as written. */
  async append(data: Buffer): Promise<void> {
    await this.io.write(this.fh, data, this.bytes);
    await this.io.datasync(this.fh);
    this.bytes += data.length;
  }

  /** A new snapshot of the state at `revision`, then a fresh journal starting there. */
  async compact(revision: number, entries: Iterable<KeyValue>): Promise<void> {
    await writeFileDurably(this.dir, 'snapshot', encodeSnapshot(revision, entries));
    await writeFileDurably(this.dir, 'journal', encodeJournalHeader(revision));
    const old = this.fh;
    this.fh = await open(LocalJournal.journalPath(this.dir), 'r+');
    this.bytes = JOURNAL_HEADER_BYTES;
    await old.close();
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new MetadataStoreError('METADATA_IO', `cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Writes <dir>/<name> atomically: temp file, fsync, rename, fsync of the directory. */
async function writeFileDurably(dir: string, name: string, data: Buffer): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await realIo.write(fh, data, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
