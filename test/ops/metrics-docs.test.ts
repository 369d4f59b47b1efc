// The metric names in docs/operations.md and deploy/grafana/ferry.json match BrokerMetrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BrokerMetrics } from '../../src/ops/metrics.js';

const ROOT = new URL('../..', import.meta.url);

async function exposedMetrics(): Promise<Map<string, string>> {
  const text = await new BrokerMetrics().scrape();
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

test('docs/operations.md documents every ferry_* metric with its type, and nothing else', async () => {
  const doc = readFileSync(new URL('docs/operations.md', ROOT), 'utf8');
  const metrics = await exposedMetrics();
  const rows = new Map([...doc.matchAll(/^\| `(ferry_[a-z0-9_]+)` \| (\w+) \|/gm)].map((m) => [m[1]!, m[2]!]));
  for (const [name, type] of metrics) {
    if (!name.startsWith('ferry_')) continue;
    assert.equal(rows.get(name), type, `${name} (${type}) documented`);
  }
  for (const name of rows.keys()) assert.ok(metrics.has(name), `documented ${name} exists`);
});

test('the Grafana dashboard parses and queries only metrics that exist, with balanced selectors', async () => {
  const dash = JSON.parse(readFileSync(new URL('deploy/grafana/ferry.json', ROOT), 'utf8'));
  const metrics = await exposedMetrics();
  const exprs: string[] = dash.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr));
  assert.ok(exprs.length >= 40, `${exprs.length} queries`);
  const used = new Set<string>();
  for (const e of exprs) {
    for (const [open, close] of [['(', ')'], ['{', '}'], ['[', ']']] as const) {
      assert.equal(e.split(open).length, e.split(close).length, `balanced ${open}${close} in ${e}`);
    }
    for (const m of e.matchAll(/\b((?:ferry|process|nodejs)_[a-z0-9_]+)/g)) {
      const base = m[1]!.replace(/_(bucket|sum|count)$/, '');
      assert.ok(metrics.has(base) || metrics.has(m[1]!), `${m[1]} in ${e} exists`);
      used.add(base);
    }
  }
  // Every metric family has a panel, except gauges that only duplicate a panel's rate().
  const notCharted = new Set(['ferry_cache_hit_ratio', 'ferry_cache_bytes', 'ferry_wal_header_write_duration_seconds', 'ferry_wal_recovered_records']);
  for (const name of metrics.keys()) if (name.startsWith('ferry_') && !notCharted.has(name)) assert.ok(used.has(name), `${name} on the dashboard`);
  const ids = dash.panels.map((p: any) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
});
