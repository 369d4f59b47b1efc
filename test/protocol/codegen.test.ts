// The committed generated files must be exactly what the generator makes from the specs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, stripJsonComments } from '../../scripts/gen-protocol.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');
const specDir = resolve(repoRoot, process.env.FERRY_KAFKA_SPEC_DIR ?? '../shared/kafka-protocol');

test('generated protocol files match the specs', (t) => {
  if (!existsSync(join(specDir, 'messages'))) {
    assert.notEqual(process.env.CI, 'true', `spec dir ${specDir} is missing (required under CI=true)`);
    t.diagnostic(`spec dir ${specDir} not present: regeneration check not possible here`);
    return;
  }
  const files = generate(specDir);
  assert.ok(files.size >= 33);
  const stale: string[] = [];
  for (const [rel, text] of files) {
    const p = join(repoRoot, rel);
    const committed = existsSync(p) ? readFileSync(p, 'utf8') : null;
    if (committed !== text) stale.push(rel);
  }
  assert.deepEqual(stale, [], 'run: node --import tsx scripts/gen-protocol.ts');
});

test('generation is deterministic', (t) => {
  if (!existsSync(join(specDir, 'messages'))) {
    assert.notEqual(process.env.CI, 'true', `spec dir ${specDir} is missing (required under CI=true)`);
    t.diagnostic('spec dir not present');
    return;
  }
  assert.deepEqual([...generate(specDir)], [...generate(specDir)]);
});

test('comment stripping leaves // inside strings alone', () => {
  const text = '{ // lead\n  "a": "http://x//y", // trailing\n  "b": "q\\"//z" }';
  assert.deepEqual(JSON.parse(stripJsonComments(text)), { a: 'http://x//y', b: 'q"//z' });
});
