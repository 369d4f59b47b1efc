import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandObjectStoreFlag } from '../../src/cli/broker-command.js';
import { loadConfig, ConfigError } from '../../src/ops/config.js';

test('--object-store s3://... expands into the s3 keys', () => {
  const argv = expandObjectStoreFlag(['--node.id=2', '--object-store', 's3://bkt/prod?endpoint=http://127.0.0.1:7480&region=eu-west-1&path-style=true']);
  assert.deepEqual(argv, ['--node.id=2', '--object.store=s3', '--s3.bucket=bkt', '--s3.prefix=prod/', '--s3.endpoint=http://127.0.0.1:7480', '--s3.region=eu-west-1', '--s3.force.path.style=true']);
  const config = loadConfig({ argv, env: {}, cwd: '/tmp' });
  assert.equal(config.objectStore, 's3');
  assert.equal(config.s3Bucket, 'bkt');
  assert.equal(config.s3ForcePathStyle, true);
});

test('--object-store fs and fs:///path; bad URLs name the key', () => {
  assert.deepEqual(expandObjectStoreFlag(['--object-store=fs']), ['--object.store=fs']);
  assert.deepEqual(expandObjectStoreFlag(['--object-store=fs:///var/objects']), ['--object.store=fs', '--object.store.path=/var/objects']);
  assert.throws(() => expandObjectStoreFlag(['--object-store=gcs://x']), (e: unknown) => e instanceof ConfigError && e.key === 'object.store');
  assert.throws(() => expandObjectStoreFlag(['--object-store=s3://b?colour=blue']), ConfigError);
});
