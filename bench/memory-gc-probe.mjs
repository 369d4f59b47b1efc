// Loaded into the broker only by `bench/memory-bench.ts --gc-probe` (node --expose-gc --import
// this file): on SIGUSR2 the broker runs a full GC and prints its memory before and after, so the
// bench can tell garbage not yet collected from memory still referenced. Not part of the broker.
process.on('SIGUSR2', () => {
  const before = process.memoryUsage();
  const t0 = performance.now();
  globalThis.gc?.();
  const after = process.memoryUsage();
  process.stderr.write(`FERRY_GC_PROBE ${JSON.stringify({ before, after, gcMs: performance.now() - t0 })}\n`);
});
