// Optional npm dependencies (the Azure SDK, Node >= 22): a missing one is a readable error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { importOptional, MissingDependencyError } from '../../src/common/optional-dependency.js';

test('a package that is not installed: MissingDependencyError naming it, the feature and the fix', async () => {
  const pkg = '@ferry-test/not-installed';
  await assert.rejects(importOptional(pkg, 'object.store=example', () => import(pkg)), (e: unknown) => {
    assert.ok(e instanceof MissingDependencyError);
    assert.equal(e.packageName, pkg);
    assert.match(e.message, /^object\.store=example needs the npm package @ferry-test\/not-installed, which is not installed/);
    assert.match(e.message, /Node >= 22 only \(this is Node \d+\.\d+\.\d+\)/);
    assert.match(e.message, /Run Ferry on Node 22 or later and run npm ci again/);
    return true;
  });
});

test('an installed package loads; other failures pass through unchanged', async () => {
  const m = await importOptional('pino', 'logging', () => import('pino'));
  assert.equal(typeof m.default, 'function');
  const boom = new Error('boom');
  await assert.rejects(importOptional('pino', 'logging', () => Promise.reject(boom)), (e) => e === boom);
});

test('package.json: the Azure SDK packages that declare Node >= 22 are optional; Node 20 stays supported', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8'));
  assert.equal(pkg.engines.node, '>=20.11');
  // Every installed package that npm would warn about on Node 20 (EBADENGINE) is optional in the lock.
  // devOptional: optional for Ferry, required only by a dev dependency (Confluent's schema registry
  // client, used by tests, pulls @azure/identity for its KMS rules); a production install
  // (--omit=dev) still treats it as optional.
  const needs22 = Object.entries(lock.packages as Record<string, { engines?: { node?: string }; optional?: boolean; devOptional?: boolean; dev?: boolean }>)
    .filter(([name, p]) => name !== '' && /^>=\s*2[2-9]/.test(p.engines?.node ?? ''));
  for (const [name, p] of needs22) assert.ok(p.optional === true || p.devOptional === true, `${name} needs Node ${p.engines!.node} but is not optional`);
  for (const name of ['@azure/storage-blob', '@azure/identity']) {
    assert.ok(pkg.optionalDependencies[name], `${name} in optionalDependencies`);
    assert.equal(pkg.dependencies[name], undefined);
  }
  // Install scripts: each one npm finds is decided in allowScripts (npm 11 warns otherwise).
  const withScripts = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
    .filter(([name, p]) => name.startsWith('node_modules/') && p.hasInstallScript)
    .map(([name]) => name.slice(name.lastIndexOf('node_modules/') + 'node_modules/'.length));
  for (const name of withScripts) assert.ok(name in pkg.allowScripts, `${name} has an install script: decide it in package.json allowScripts`);
});
