// The fs ObjectStore: the ObjectStore contract, then what is specific to files: keys that could
// escape the root, temp files never visible, durable layout on disk, directory cleanup.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsObjectStore, resolveRange } from '../../src/objects/fs-object-store.js';
import { ObjectNotFoundError, ObjectStoreError } from '../../src/objects/object-store.js';
import { collect, objectStoreContract } from './object-store-contract.js';

const roots: string[] = [];
after(async () => { for (const r of roots) await rm(r, { recursive: true, force: true }); });

async function freshRoot(): Promise<string> {
  const r = await mkdtemp(join(tmpdir(), 'ferry-fs-objects-'));
  roots.push(r);
  return r;
}

describe('fs object store: contract', () => {
  objectStoreContract(async () => new FsObjectStore({ root: await freshRoot() }), { listKeys: 1105, multipartBytes: 0 });
});

describe('fs object store', () => {
  test('keys that could escape the root or are malformed are refused before any I/O', async () => {
    const s = new FsObjectStore({ root: await freshRoot() });
    for (const key of ['', '../x', 'a/../../x', '/abs', 'a//b', 'a/./b', 'a/', '.tmp-x', 'a/.tmp-1', 'nul\0', 'x'.repeat(201), `${'a/'.repeat(600)}b`]) {
      await assert.rejects(s.put(key, Buffer.from('x')), (e: unknown) => e instanceof ObjectStoreError && !e.retriable, `put ${JSON.stringify(key)}`);
      await assert.rejects(s.get(key), (e: unknown) => e instanceof ObjectStoreError && !e.retriable, `get ${JSON.stringify(key)}`);
    }
  });

  test('objects are files under the root at their key path; temp files are never listed; empty dirs are removed on delete', async () => {
    const root = await freshRoot();
    const s = new FsObjectStore({ root });
    await s.put('ferry/o/3a/obj', Buffer.from('hello'));
    assert.equal((await stat(join(root, 'ferry', 'o', '3a', 'obj'))).size, 5);
    // A crash mid-put leaves a temp file: invisible to list and get.
    await writeFile(join(root, 'ferry', 'o', '3a', '.tmp-deadbeef'), 'partial');
    assert.deepEqual((await collect(s.list('ferry/'))).map((o) => o.key), ['ferry/o/3a/obj']);
    await s.put('ferry/o/3b/obj', Buffer.from('x'));
    await s.delete(['ferry/o/3b/obj']);
    assert.deepEqual(await readdir(join(root, 'ferry', 'o')), ['3a'], 'the emptied directory is gone');
    await s.delete(['ferry/o/3a/obj']);
    assert.deepEqual(await readdir(join(root, 'ferry', 'o', '3a')), ['.tmp-deadbeef'], 'a directory with a leftover temp file stays');
  });

  test('no temp file is left behind after successful, create-only and failed puts', async () => {
    const root = await freshRoot();
    const s = new FsObjectStore({ root });
    await s.put('k/a', Buffer.from('1'));
    await s.put('k/a', Buffer.from('2'), { ifNoneMatch: true }).catch(() => {});
    await s.put('k/b', [Buffer.from('3')], { ifNoneMatch: true });
    await mkdir(join(root, 'k', 'dir'));
    await assert.rejects(s.put('k/dir', Buffer.from('x')), (e: unknown) => e instanceof ObjectStoreError && !e.retriable, 'a key that is a directory');
    assert.deepEqual((await readdir(join(root, 'k'))).sort(), ['a', 'b', 'dir']);
  });

  test('a directory is not an object: get is not found, head is null', async () => {
    const root = await freshRoot();
    const s = new FsObjectStore({ root });
    await s.put('p/q/r', Buffer.from('x'));
    await assert.rejects(s.get('p/q'), ObjectNotFoundError);
    assert.equal(await s.head('p/q'), null);
  });

  test('concurrent puts and deletes in one directory never fail (delete removes empty dirs)', async () => {
    const s = new FsObjectStore({ root: await freshRoot() });
    for (let round = 0; round < 50; round++) {
      await Promise.all([
        s.put(`c/d/${round}`, Buffer.from('a')).then(() => s.delete([`c/d/${round}`])),
        s.put(`c/d/x${round}`, Buffer.from('b')).then(() => s.delete([`c/d/x${round}`])),
      ]);
    }
    assert.deepEqual(await collect(s.list('c/')), []);
  });

  test('a closed store refuses calls', async () => {
    const s = new FsObjectStore({ root: await freshRoot() });
    await s.close();
    await assert.rejects(s.put('a', Buffer.from('x')), ObjectStoreError);
  });

  test('resolveRange clamps like S3', () => {
    assert.deepEqual(resolveRange(undefined, 10), [0, 10]);
    assert.deepEqual(resolveRange({ suffix: 3 }, 10), [7, 10]);
    assert.deepEqual(resolveRange({ suffix: 30 }, 10), [0, 10]);
    assert.deepEqual(resolveRange({ start: 2, end: 30 }, 10), [2, 10]);
    assert.deepEqual(resolveRange({ start: 20, end: 20 }, 10), [20, 20]);
    assert.throws(() => resolveRange({ start: 10, end: 11 }, 10), ObjectStoreError);
    assert.throws(() => resolveRange({ start: -1, end: 1 }, 10), ObjectStoreError);
    assert.throws(() => resolveRange({ suffix: 1.5 }, 10), ObjectStoreError);
  });
});
