// The memory budget counts every bound the broker keeps, including the zone-local ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryBudget, READ_REPLICA_TAIL_CACHE_BYTES } from '../../src/ops/memory-budget.js';
import { TAIL_CACHE_BYTES } from '../../src/broker/read-replica.js';
import { loadConfig } from '../../src/ops/config.js';

test('the read replica tail cache and the zone-local proxy buffers are in the budget', () => {
  assert.equal(READ_REPLICA_TAIL_CACHE_BYTES, TAIL_CACHE_BYTES, 'the budget uses the cache size the read replica keeps');
  const config = loadConfig({ argv: ['--ferry.proxy.buffer.bytes=16MiB'], env: {}, cwd: '/' });
  const parts = new Map(memoryBudget(config).parts.map((p) => [p.key, p.bytes]));
  assert.equal(parts.get('ferry.proxy.buffer.bytes'), 32 * 1024 * 1024, 'gathering plus in flight');
  assert.equal(parts.get('read-replica tail cache'), TAIL_CACHE_BYTES);
  const total = memoryBudget(config).totalBytes;
  assert.equal(total, [...parts.values()].reduce((a, b) => a + b, 0));
});
