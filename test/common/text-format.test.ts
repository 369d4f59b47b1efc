/** src/common/text-format.ts: the CLI's and reports' tables, JSON and byte sizes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, renderTable, toJson } from '../../src/common/text-format.js';

test('renderTable aligns columns: text left, numeric columns right, missing cells as "-"', () => {
  const out = renderTable(['TOPIC', 'PARTITIONS', 'NOTE'], [
    ['orders', 12, 'hot'],
    ['a', 3, null],
    ['payments-eu', 100n, undefined],
  ]);
  assert.equal(out, [
    'TOPIC        PARTITIONS  NOTE',
    'orders               12  hot',
    'a                     3  -',
    'payments-eu         100  -',
  ].join('\n') + '\n');
});

test('renderTable: a column mixing numbers and text is left-aligned; no rows gives the header only', () => {
  const out = renderTable(['K', 'V'], [['x', 5], ['y', 'n/a']]);
  assert.equal(out, 'K  V\nx  5\ny  n/a\n');
  assert.equal(renderTable(['ONE', 'TWO'], []), 'ONE  TWO\n');
  // A column of nulls only is not numeric (nothing to right-align).
  assert.equal(renderTable(['A', 'B'], [['long-value', null]]), 'A           B\nlong-value  -\n');
});

test('renderTable trims trailing spaces of each line', () => {
  const out = renderTable(['NAME', 'X'], [['n', '']]);
  for (const line of out.split('\n')) assert.equal(line, line.trimEnd());
});

test('toJson: bigints as numbers when safe, as strings beyond 2^53; pretty-printed with a newline', () => {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  const text = toJson({ offset: 42n, big: max + 1n, neg: -(max + 2n), edge: max, nested: [1n, { x: -max }], s: 'x', n: null });
  assert.ok(text.endsWith('}\n'));
  assert.ok(text.includes('\n  "offset": 42,'), 'two-space indent');
  assert.deepEqual(JSON.parse(text), {
    offset: 42, big: '9007199254740992', neg: '-9007199254740993', edge: Number.MAX_SAFE_INTEGER,
    nested: [1, { x: -Number.MAX_SAFE_INTEGER }], s: 'x', n: null,
  });
  assert.equal(toJson(7n), '7\n');
});

test('formatBytes: binary units, one decimal above bytes, sign kept, non-finite as is', () => {
  const cases: Array<[number, string]> = [
    [0, '0 B'], [1, '1 B'], [1023, '1023 B'], [1024, '1.0 KiB'], [1536, '1.5 KiB'],
    [1024 * 1024, '1.0 MiB'], [5.25 * 1024 ** 3, '5.3 GiB'], [3 * 1024 ** 4, '3.0 TiB'],
    [2048 * 1024 ** 4, '2048.0 TiB'], [-2048, '-2.0 KiB'],
    [Number.POSITIVE_INFINITY, 'Infinity'], [Number.NaN, 'NaN'],
  ];
  for (const [n, want] of cases) assert.equal(formatBytes(n), want, `formatBytes(${n})`);
});
