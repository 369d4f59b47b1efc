import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigReference } from '../../src/ops/config.js';
import { CONFIG_SCHEMA, envNameOf } from '../../src/ops/config-schema.js';

const docPath = new URL('../../docs/configuration.md', import.meta.url);

test('docs/configuration.md is the rendered schema (UPDATE_CONFIG_DOC=1 rewrites it)', () => {
  const rendered = renderConfigReference();
  if (process.env.UPDATE_CONFIG_DOC === '1') writeFileSync(docPath, rendered);
  const committed = readFileSync(docPath, 'utf8');
  assert.equal(committed, rendered, 'docs/configuration.md differs from the schema; regenerate it with UPDATE_CONFIG_DOC=1 node scripts/run-tests.mjs test/ops/config-doc');
});

test('the reference lists every key with its environment variable', () => {
  const rendered = renderConfigReference();
  for (const spec of CONFIG_SCHEMA) {
    assert.ok(rendered.includes(`| \`${spec.key}\` |`), spec.key);
    assert.ok(rendered.includes(`\`${envNameOf(spec.key)}\``), envNameOf(spec.key));
    assert.ok(spec.doc.length > 10, `${spec.key} has a description`);
  }
});
