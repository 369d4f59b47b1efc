// LocalMetadataStore: what only the local backend has (files, crash recovery, locking, reopen),
// then the shared MetadataStore conformance suite (metadata-store-conformance.ts).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import fc from 'fast-check';
import { LocalMetadataStore, type LocalStoreIo } from '../../src/cluster/local-metadata-store.js';
import {
  MetadataCompactedError, MetadataStoreClosedError, MetadataStoreFailedError, MetadataStoreLockedError, compareKeys,
} from '../../src/cluster/metadata-store.js';
import { collect, runMetadataStoreConformance } from './metadata-store-conformance.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-meta-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The full state as comparable plain data. */
async function dump(store: LocalMetadataStore): Promise<{ revision: number; kvs: [string, string, number, number, number][] }> {
  const { kvs, revision } = await store.listWithRevision('');
  return { revision, kvs: kvs.map((kv) => [kv.key, kv.value.toString('hex'), kv.createRevision, kv.modRevision, kv.version]) };
}

describe('LocalMetadataStore key order', () => {
  test('compareKeys agrees with Buffer.compare of the UTF-8 encodings', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (x, y) => {
      assert.equal(Math.sign(compareKeys(x, y)), Math.sign(Buffer.compare(b(x), b(y))));
    }), { numRuns: 2000 });
  });
});

describe('LocalMetadataStore durability and recovery', () => {
  test('reopen restores state and revision', async (t) => {
    const dir = await tempDir(t);
    let store = await LocalMetadataStore.open(dir);
    for (let i = 0; i < 50; i++) await store.put(`/k/${i % 7}`, b(`v${i}`));
    await store.txn([], [{ type: 'deletePrefix', prefix: '/k/3' }]);
    const before = await dump(store);
    await store.close();
    await assert.rejects(store.get('/k/1'), MetadataStoreClosedError);
    store = await LocalMetadataStore.open(dir);
    t.after(() => store.close());
    assert.deepEqual(await dump(store), before);
    assert.equal(store.openStats.replayedRecords, 51);
    assert.equal(store.openStats.truncatedTailBytes, 0);
  });

  test('a journal cut at every byte of the last record recovers the previous state', async (t) => {
    const dir = await tempDir(t);
    let store = await LocalMetadataStore.open(dir);
    await store.put('/a', b('one'));
    await store.put('/b', b('two'));
    const previous = await dump(store);
    await store.close();
    const sizeBefore = (await stat(join(dir, 'journal'))).size;
    store = await LocalMetadataStore.open(dir);
    await store.txn([], [{ type: 'put', key: '/a', value: b('three'), }, { type: 'delete', key: '/b' }, { type: 'put', key: '/c', value: Buffer.alloc(300, 7) }]);
    const last = await dump(store);
    await store.close();
    const sizeAfter = (await stat(join(dir, 'journal'))).size;
    assert.ok(sizeAfter > sizeBefore + 300);

    const work = await tempDir(t);
    for (let cut = sizeBefore; cut <= sizeAfter; cut++) {
      await rm(work, { recursive: true, force: true });
      await cp(dir, work, { recursive: true });
      await truncate(join(work, 'journal'), cut);
      const s = await LocalMetadataStore.open(work);
      try {
        assert.deepEqual(await dump(s), cut === sizeAfter ? last : previous, `cut at ${cut}`);
        assert.equal(s.openStats.truncatedTailBytes, cut === sizeAfter ? 0 : cut - sizeBefore);
        // The store keeps working after the cut, and the new write survives a reopen.
        await s.put('/after', b(String(cut)));
      } finally {
        await s.close();
      }
      const s2 = await LocalMetadataStore.open(work);
      assert.equal((await s2.get('/after'))?.value.toString(), String(cut));
      await s2.close();
    }
  });

  test('a flipped bit in the last record drops only that record', async (t) => {
    const dir = await tempDir(t);
    let store = await LocalMetadataStore.open(dir);
    await store.put('/a', b('one'));
    const previous = await dump(store);
    await store.put('/a', b('two'));
    await store.close();
    const journal = await readFile(join(dir, 'journal'));
    journal[journal.length - 2]! ^= 0x10;
    await writeFile(join(dir, 'journal'), journal);
    store = await LocalMetadataStore.open(dir);
    t.after(() => store.close());
    assert.deepEqual(await dump(store), previous);
    assert.match(store.openStats.tailProblem ?? '', /CRC mismatch/);
  });

  test('a corrupt journal header or snapshot is a typed error naming the file', async (t) => {
    const dir = await tempDir(t);
    const store = await LocalMetadataStore.open(dir, { journalBytesMax: 100 });
    await store.put('/a', b('x'.repeat(200)));
    await store.put('/b', b('y'));
    await store.close();
    const snap = await readFile(join(dir, 'snapshot'));
    snap[snap.length - 5]! ^= 1;
    await writeFile(join(dir, 'snapshot'), snap);
    await assert.rejects(LocalMetadataStore.open(dir), (err: Error) => err.message.includes(join(dir, 'snapshot')) && (err as { code?: string }).code === 'METADATA_CORRUPT');
    await writeFile(join(dir, 'snapshot'), Buffer.from([]));
    await writeFile(join(dir, 'journal'), Buffer.from('not a journal at all'));
    await assert.rejects(LocalMetadataStore.open(dir), (err: Error) => err.message.includes(join(dir, 'journal')) || err.message.includes(join(dir, 'snapshot')));
  });

  test('compaction writes a snapshot and a fresh journal; a crash between the two is recovered', async (t) => {
    const dir = await tempDir(t);
    let store = await LocalMetadataStore.open(dir, { journalBytesMax: 1024 });
    for (let i = 0; i < 20; i++) await store.put(`/k/${i % 5}`, Buffer.alloc(100, i));
    const journalBefore = await readFile(join(dir, 'journal'));
    for (let i = 20; i < 40; i++) await store.put(`/k/${i % 5}`, Buffer.alloc(100, i));
    const state = await dump(store);
    await store.close();
    assert.ok((await stat(join(dir, 'snapshot'))).size > 0);
    assert.ok((await stat(join(dir, 'journal'))).size < 1024 + 200);
    store = await LocalMetadataStore.open(dir);
    assert.deepEqual(await dump(store), state);
    assert.notEqual(store.openStats.snapshotRevision, null);
    await store.close();

    // Crash after the snapshot rename but before the new journal: an older journal whose records
    // the snapshot already holds. Simulate with a journal from before the last compaction plus a
    // fresh snapshot at the current state.
    const s2 = await LocalMetadataStore.open(dir, { journalBytesMax: 1 });
    await s2.put('/k/0', b('final'));  // compacts: snapshot at the newest revision
    const finalState = await dump(s2);
    await s2.close();
    await writeFile(join(dir, 'journal'), journalBefore);
    await writeFile(join(dir, 'journal.tmp'), b('garbage from a crashed compaction'));
    const s3 = await LocalMetadataStore.open(dir);
    t.after(() => s3.close());
    assert.deepEqual(await dump(s3), finalState);
    await s3.put('/k/1', b('next'));
    assert.equal((await s3.get('/k/1'))?.modRevision, finalState.revision + 1);
  });

  test('group commit: concurrent writes share fsyncs and all are durable', async (t) => {
    const dir = await tempDir(t);
    let syncs = 0;
    const io: LocalStoreIo = {
      async write(fh, data, position) { await fh.write(data, 0, data.length, position); },
      async datasync(fh) { syncs++; await fh.datasync(); },
    };
    let store = await LocalMetadataStore.open(dir, { io });
    const n = 500;
    const revisions = await Promise.all(Array.from({ length: n }, (_, i) => store.put(`/c/${String(i).padStart(3, '0')}`, b(String(i)))));
    assert.deepEqual([...revisions].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i + 2), 'each put got its own revision');
    assert.ok(syncs < n / 5, `${syncs} fsyncs for ${n} concurrent puts`);
    await store.close();
    store = await LocalMetadataStore.open(dir);
    t.after(() => store.close());
    assert.equal((await store.list('/c/')).length, n);
  });

  test('writes are invisible to readers until their fsync completes', async (t) => {
    let release: (() => void) | null = null;
    let syncStarted: (() => void) | null = null;
    const started = new Promise<void>((r) => { syncStarted = r; });
    const io: LocalStoreIo = {
      async write(fh, data, position) { await fh.write(data, 0, data.length, position); },
      async datasync(fh) {
        if (release === null) { syncStarted?.(); await new Promise<void>((r) => { release = r; }); }
        await fh.datasync();
      },
    };
    const store = await LocalMetadataStore.open(await tempDir(t), { io });
    t.after(() => store.close());
    const pending = store.put('/v', b('new'));
    await started;
    assert.equal(await store.get('/v'), null);
    assert.deepEqual(await store.list('/'), []);
    assert.equal(await store.revision(), 1);
    release!();
    await pending;
    assert.equal((await store.get('/v'))?.value.toString(), 'new');
  });

  test('a failed fsync fails the store: the call and every later call reject', async (t) => {
    const dir = await tempDir(t);
    let failNext = false;
    const io: LocalStoreIo = {
      async write(fh, data, position) { await fh.write(data, 0, data.length, position); },
      async datasync(fh) { if (failNext) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }); await fh.datasync(); },
    };
    const store = await LocalMetadataStore.open(dir, { io });
    await store.put('/ok', b('1'));
    failNext = true;
    await assert.rejects(store.put('/bad', b('2')), MetadataStoreFailedError);
    await assert.rejects(store.get('/ok'), MetadataStoreFailedError);
    await assert.rejects(store.put('/later', b('3')), /must be reopened/);
    await store.close();
    const reopened = await LocalMetadataStore.open(dir);
    t.after(() => reopened.close());
    assert.equal((await reopened.get('/ok'))?.value.toString(), '1');
  });
});

describe('LocalMetadataStore locking', () => {
  test('a second open of the same directory fails with a typed error naming it', async (t) => {
    const dir = await tempDir(t);
    const store = await LocalMetadataStore.open(dir);
    await assert.rejects(LocalMetadataStore.open(dir), (err: Error) => err instanceof MetadataStoreLockedError && err.message.includes(dir));
    await store.close();
    const again = await LocalMetadataStore.open(dir);
    await again.close();
  });

  test('another process cannot open a directory this process holds', async (t) => {
    const dir = await tempDir(t);
    const store = await LocalMetadataStore.open(dir);
    t.after(() => store.close());
    const script = `import('${new URL('../../src/cluster/local-metadata-store.ts', import.meta.url).href}')
      .then((m) => m.LocalMetadataStore.open(${JSON.stringify(dir)}))
      .then(() => { console.log('opened'); process.exit(0); }, (e) => { console.log(e.code); process.exit(0); });`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      child.stdout.on('data', (d: Buffer) => { s += d.toString(); });
      child.on('error', reject);
      child.on('exit', () => resolve(s.trim()));
    });
    assert.equal(out, 'METADATA_STORE_LOCKED');
  });
});

describe('LocalMetadataStore watches', () => {
  test('watch from an older revision replays history, also after reopen; too old is an error', async (t) => {
    const dir = await tempDir(t);
    let store = await LocalMetadataStore.open(dir);
    for (let i = 0; i < 5; i++) await store.put(`/h/${i}`, b(String(i)));
    await store.close();
    store = await LocalMetadataStore.open(dir, { historyRevisionsMax: 3 });
    t.after(() => store.close());
    const w = collect();
    store.watch('/h/', 4, w.onEvent);
    await store.put('/h/9', b('9'));
    await w.until(4);
    assert.deepEqual(w.events.map((e) => e.kv.modRevision), [4, 5, 6, 7]);
    assert.throws(() => store.watch('/h/', 2, () => undefined), MetadataCompactedError);
    const viaCallback = await new Promise<Error>((resolve) => { store.watch('/h/', 2, () => undefined, resolve); });
    assert.ok(viaCallback instanceof MetadataCompactedError);
    assert.match(viaCallback.message, /watch from revision 2: history starts at revision 4/);
  });
});


describe('LocalMetadataStore leases', () => {
  test('keys bound to leases of an earlier process are deleted at open', async (t) => {
    const dir = await tempDir(t);
    let store = await LocalMetadataStore.open(dir);
    const lease = await store.grantLease(10_000);
    await store.put('/leased/1', b(''), lease.id);
    await store.put('/leased/2', b(''), lease.id);
    await store.put('/kept', b(''));
    await store.close();
    assert.equal(lease.isLost, true);
    store = await LocalMetadataStore.open(dir);
    t.after(() => store.close());
    assert.equal(store.openStats.deletedLeasedKeys, 2);
    assert.deepEqual((await store.list('/')).map((kv) => kv.key), ['/kept']);
  });
});

describe('LocalMetadataStore against a model', () => {
  type Cmd =
    | { t: 'put'; key: string; value: string }
    | { t: 'del'; key: string }
    | { t: 'delp'; prefix: string }
    | { t: 'cas'; key: string; expectVersion: number; value: string };
  const key = fc.constantFrom('/a', '/a/1', '/a/2', '/b', '/b/1', '/\u00e9', '/\u{1F600}');
  const cmd: fc.Arbitrary<Cmd> = fc.oneof(
    fc.record({ t: fc.constant('put' as const), key, value: fc.string({ maxLength: 8 }) }),
    fc.record({ t: fc.constant('del' as const), key }),
    fc.record({ t: fc.constant('delp' as const), prefix: fc.constantFrom('/a', '/a/', '/b', '/') }),
    fc.record({ t: fc.constant('cas' as const), key, expectVersion: fc.integer({ min: 0, max: 3 }), value: fc.string({ maxLength: 8 }) }),
  );

  test('random command sequences match a plain Map model, before and after reopen and compaction', async (t) => {
    const root = await tempDir(t);
    let run = 0;
    await fc.assert(fc.asyncProperty(fc.array(cmd, { maxLength: 40 }), fc.integer({ min: 200, max: 5000 }), async (cmds, journalBytesMax) => {
      const dir = join(root, String(run++));
      const store = await LocalMetadataStore.open(dir, { journalBytesMax });
      const model = new Map<string, { value: string; createRevision: number; modRevision: number; version: number }>();
      let revision = 1;
      const put = (k: string, v: string): void => {
        const prior = model.get(k);
        model.set(k, { value: v, createRevision: prior?.createRevision ?? revision, modRevision: revision, version: (prior?.version ?? 0) + 1 });
      };
      for (const c of cmds) {
        if (c.t === 'put') { revision++; put(c.key, c.value); await store.put(c.key, b(c.value)); }
        if (c.t === 'del') { if (model.delete(c.key)) revision++; await store.delete(c.key); }
        if (c.t === 'delp') {
          const gone = [...model.keys()].filter((k) => k.startsWith(c.prefix));
          if (gone.length) revision++;
          for (const k of gone) model.delete(k);
          await store.txn([], [{ type: 'deletePrefix', prefix: c.prefix }]);
        }
        if (c.t === 'cas') {
          const ok = (model.get(c.key)?.version ?? 0) === c.expectVersion;
          if (ok) { revision++; put(c.key, c.value); }
          const r = await store.txn([{ key: c.key, target: 'version', op: '==', value: c.expectVersion }], [{ type: 'put', key: c.key, value: b(c.value) }]);
          assert.equal(r.succeeded, ok);
        }
      }
      const expected = {
        revision,
        kvs: [...model.entries()].sort(([x], [y]) => compareKeys(x, y))
          .map(([k, v]): [string, string, number, number, number] => [k, b(v.value).toString('hex'), v.createRevision, v.modRevision, v.version]),
      };
      assert.deepEqual(await dump(store), expected);
      await store.close();
      const reopened = await LocalMetadataStore.open(dir);
      assert.deepEqual(await dump(reopened), expected);
      await reopened.close();
    }), { numRuns: 40 });
  });
});


// The backend-independent semantics (etcd's), shared with the etcd backend.
runMetadataStoreConformance(
  'LocalMetadataStore',
  async () => LocalMetadataStore.open(await mkdtemp(join(tmpdir(), 'ferry-meta-'))),
  async (store) => {
    await store.close();
    await rm((store as LocalMetadataStore).dir, { recursive: true, force: true });
  },
);
