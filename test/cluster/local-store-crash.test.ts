import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import fc from 'fast-check';
import { LocalMetadataStore, type LocalStoreIo } from '../../src/cluster/local-metadata-store.js';
import { MetadataStoreFailedError } from '../../src/cluster/metadata-store.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

class Crash extends Error {}

test('crash at the k-th journal write (torn write): recovery is a prefix that holds every acknowledged write', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ferry-meta-crash-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  let run = 0;
  await fc.assert(fc.asyncProperty(
    fc.array(fc.tuple(fc.constantFrom('/a', '/b', '/c/1', '/c/2'), fc.string({ maxLength: 40 }), fc.boolean()), { minLength: 1, maxLength: 30 }),
    fc.nat(), fc.double({ min: 0, max: 1, noNaN: true }),
    async (ops, crashSeed, tornFraction) => {
      const dir = join(root, String(run++));
      let writes = 0;
      const crashAt = crashSeed % (ops.length + 1);
      const io: LocalStoreIo = {
        async write(fh, data, position) {
          if (writes++ === crashAt) {
            // Only a prefix reaches the disk, then the process "dies".
            const n = Math.floor(data.length * tornFraction);
            await fh.write(data, 0, n, position);
            throw new Crash('crash');
          }
          await fh.write(data, 0, data.length, position);
        },
        datasync: (fh) => fh.datasync(),
      };
      const store = await LocalMetadataStore.open(dir, { io });
      // Model states after each op, in submission order (issued in groups, so group commit is exercised).
      const states: Map<string, string>[] = [new Map()];
      const acked: boolean[] = [];
      const pending: Promise<unknown>[] = [];
      for (const [i, [key, value, del]] of ops.entries()) {
        const next = new Map(states.at(-1)!);
        if (del) next.delete(key); else next.set(key, value);
        states.push(next);
        const p = (del ? store.delete(key) : store.put(key, b(value))).then(
          () => { acked[i] = true; },
          (err: unknown) => { assert.ok(err instanceof MetadataStoreFailedError, String(err)); acked[i] = false; },
        );
        pending.push(p);
        if (i % 3 === 2) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
      await store.close();

      const recovered = await LocalMetadataStore.open(dir);
      const got = new Map((await recovered.list('')).map((kv) => [kv.key, kv.value.toString()]));
      await recovered.close();
      const lastAcked = acked.lastIndexOf(true) + 1;
      const matches = states.map((s, j) => j >= lastAcked && s.size === got.size && [...s].every(([k, v]) => got.get(k) === v));
      assert.ok(matches.some(Boolean), `recovered ${JSON.stringify([...got])} is not a state at or after op ${lastAcked}`);
    },
  ), { numRuns: 60 });
});

test('kill -9 during writes: every acknowledged put is there after reopen', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-meta-kill-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const module = new URL('../../src/cluster/local-metadata-store.ts', import.meta.url).href;
  // The child writes with 32 puts in flight and prints each key once its put resolved.
  const script = `
    const { LocalMetadataStore } = await import(${JSON.stringify(module)});
    const store = await LocalMetadataStore.open(${JSON.stringify(dir)});
    let i = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      for (;;) { const k = '/k/' + String(i++).padStart(8, '0'); await store.put(k, Buffer.from(k)); process.stdout.write(k + '\\n'); }
    }));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.split('\n').length > 3000) { clearInterval(timer); child.kill('SIGKILL'); }
    }, 10);
    child.on('exit', () => { clearInterval(timer); resolve(); });
    child.on('error', reject);
  });
  const acknowledged = out.split('\n').filter((l) => l.startsWith('/k/'));
  assert.ok(acknowledged.length >= 3000, `child acknowledged only ${acknowledged.length}`);
  const store = await LocalMetadataStore.open(dir);
  t.after(() => store.close());
  const present = new Set((await store.list('/k/')).map((kv) => kv.key));
  const missing = acknowledged.filter((k) => !present.has(k));
  assert.deepEqual(missing, [], 'acknowledged puts lost');
  for (const kv of await store.list('/k/')) assert.equal(kv.value.toString(), kv.key);
});
