// Measures the local metadata store on this machine (not part of the test suite):
//   node --import tsx test/cluster/local-store-bench.ts [dir]
// sequential put latency (one fdatasync each), concurrent put throughput (group commit),
// reopen time with many keys, compaction time.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMetadataStore } from '../../src/cluster/local-metadata-store.js';

const base = process.argv[2] ?? tmpdir();
const dir = await mkdtemp(join(base, 'ferry-meta-bench-'));
const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
try {
  let store = await LocalMetadataStore.open(dir);
  const value = Buffer.alloc(100, 1);
  const lat: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = process.hrtime.bigint();
    await store.put(`/ferry/b/seq/${i}`, value);
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  lat.sort((a, b) => a - b);
  console.log(`sequential put (100 B): p50 ${pct(lat, 0.5).toFixed(3)} ms, p99 ${pct(lat, 0.99).toFixed(3)} ms`);

  for (const concurrency of [16, 256]) {
    const n = 50_000;
    const t0 = Date.now();
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < n) { const i = next++; await store.put(`/ferry/b/con/${i % 20000}`, value); }
    }));
    const s = (Date.now() - t0) / 1000;
    console.log(`concurrent put x${concurrency}: ${Math.round(n / s)} puts/s`);
  }
  const keys = (await store.list('')).length;
  await store.close();
  let t0 = Date.now();
  store = await LocalMetadataStore.open(dir);
  console.log(`reopen with ${keys} keys, ${store.openStats.replayedRecords} journal records: ${Date.now() - t0} ms`);
  await store.close();
  store = await LocalMetadataStore.open(dir, { journalBytesMax: 1 });
  t0 = Date.now();
  await store.put('/ferry/b/compact', value);
  console.log(`put that compacts ${keys} keys into a snapshot: ${Date.now() - t0} ms`);
  await store.close();
  t0 = Date.now();
  store = await LocalMetadataStore.open(dir);
  console.log(`reopen from snapshot: ${Date.now() - t0} ms`);
  await store.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
