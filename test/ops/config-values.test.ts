import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ConfigValueError, formatListener, parseBool, parseBytes, parseDurationMs, parseHostPort, parseInt32, parseList,
  parseListener, parseLong, parseProperties,
} from '../../src/ops/config-values.js';

describe('value parsers', () => {
  test('integers', () => {
    assert.equal(parseInt32(' 42 '), 42);
    assert.equal(parseInt32('-2147483648'), -2147483648);
    assert.throws(() => parseInt32('2147483648'), ConfigValueError);
    assert.throws(() => parseInt32('4.5'), ConfigValueError);
    assert.throws(() => parseInt32('0x10'), ConfigValueError);
    assert.throws(() => parseInt32(''), ConfigValueError);
    assert.equal(parseLong('9007199254740991'), Number.MAX_SAFE_INTEGER);
    assert.throws(() => parseLong('9007199254740992'), ConfigValueError);
    fc.assert(fc.property(fc.integer(), (n) => { assert.equal(parseInt32(String(n)), n); }));
  });

  test('booleans', () => {
    assert.equal(parseBool('TRUE'), true);
    assert.equal(parseBool(' false'), false);
    assert.throws(() => parseBool('yes'), /true or false/);
  });

  test('bytes with units', () => {
    assert.equal(parseBytes('1048576'), 1048576);
    assert.equal(parseBytes('64MiB'), 64 * 1024 * 1024);
    assert.equal(parseBytes('2 GiB'), 2 * 1024 ** 3);
    assert.equal(parseBytes('1.5KiB'), 1536);
    assert.equal(parseBytes('10MB'), 10_000_000);
    assert.equal(parseBytes('-1'), -1);
    assert.throws(() => parseBytes('1.3B'), /whole number/);
    assert.throws(() => parseBytes('5 parsecs'), /byte count/);
  });

  test('durations with units', () => {
    assert.equal(parseDurationMs('250'), 250);
    assert.equal(parseDurationMs('250ms'), 250);
    assert.equal(parseDurationMs('30s'), 30_000);
    assert.equal(parseDurationMs('5m'), 300_000);
    assert.equal(parseDurationMs('12h'), 43_200_000);
    assert.equal(parseDurationMs('7d'), 604_800_000);
    assert.equal(parseDurationMs('-1'), -1);
    assert.throws(() => parseDurationMs('1 fortnight'), /duration/);
  });

  test('lists', () => {
    assert.deepEqual(parseList('a, b,,c '), ['a', 'b', 'c']);
    assert.deepEqual(parseList(''), []);
    assert.deepEqual(parseList(['x', 2]), ['x', '2']);
    assert.throws(() => parseList([{}]), ConfigValueError);
  });

  test('listeners and host:port', () => {
    assert.deepEqual(parseListener('PLAINTEXT://localhost:9092'), { name: 'PLAINTEXT', host: 'localhost', port: 9092 });
    assert.deepEqual(parseListener('plaintext://:9092'), { name: 'PLAINTEXT', host: '0.0.0.0', port: 9092 });
    assert.deepEqual(parseListener('PLAINTEXT://[::1]:0'), { name: 'PLAINTEXT', host: '::1', port: 0 });
    assert.equal(formatListener({ name: 'PLAINTEXT', host: '::1', port: 1 }), 'PLAINTEXT://[::1]:1');
    for (const bad of ['localhost:9092', 'PLAINTEXT://localhost', 'PLAINTEXT://localhost:70000', 'PLAINTEXT://a b:1', '://h:1']) {
      assert.throws(() => parseListener(bad), ConfigValueError, bad);
    }
    assert.deepEqual(parseHostPort('localhost:9644'), { host: 'localhost', port: 9644 });
    assert.deepEqual(parseHostPort('[::]:9644'), { host: '::', port: 9644 });
    assert.throws(() => parseHostPort('9644'), ConfigValueError);
  });
});

describe('Java .properties', () => {
  test('separators, comments, continuations, escapes and line numbers', () => {
    const text = [
      '# comment',
      '! another comment',
      '   ',
      'a=1',
      'b = two words ',
      'c:3',
      'd 4',
      '  e\t=\t5',
      'f=x\\',
      '   y\\',
      '   z',
      'g=tab\\there\\u0041\\\\',
      'h\\=key=v',
      'empty=',
      'bare',
      'crlf=1\r',
      'last=ok',
    ].join('\n');
    assert.deepEqual(parseProperties(text), [
      { key: 'a', value: '1', line: 4 },
      { key: 'b', value: 'two words ', line: 5 },
      { key: 'c', value: '3', line: 6 },
      { key: 'd', value: '4', line: 7 },
      { key: 'e', value: '5', line: 8 },
      { key: 'f', value: 'xyz', line: 9 },
      { key: 'g', value: 'tab\there' + 'A\\', line: 12 },
      { key: 'h=key', value: 'v', line: 13 },
      { key: 'empty', value: '', line: 14 },
      { key: 'bare', value: '', line: 15 },
      { key: 'crlf', value: '1', line: 16 },
      { key: 'last', value: 'ok', line: 17 }, // '\r' + '\n' is one line break
    ]);
  });

  test('a bad unicode escape is an error', () => {
    assert.throws(() => parseProperties('a=\\u12'), /uXXXX escape on line 1/);
  });

  test('round trip of simple key=value lines', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9.]{0,20}$/);
    const value = fc.stringMatching(/^[A-Za-z0-9:/,._-]{0,30}$/);
    fc.assert(fc.property(fc.array(fc.tuple(key, value), { maxLength: 20 }), (entries) => {
      const text = entries.map(([k, v]) => `${k}=${v}`).join('\n');
      assert.deepEqual(parseProperties(text).map((e) => [e.key, e.value]), entries);
    }));
  });
});
