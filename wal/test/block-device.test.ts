// The same code on a raw block device: a loop device over a sparse file (needs root and losetup,
// as on the machines the suite runs on; fails, never skips, when they are missing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { WalLockedError, openWal, probeSizeBytes } from '@ferry/wal';
import { tempDir } from './helpers.js';

const SIZE_BYTES = 32 * 1024 * 1024;

test('a WAL on a raw block device: size from sysfs, flock on the device node, append and recover', async (t) => {
  const image = join(tempDir(t), 'disk.img');
  fs.writeFileSync(image, '');
  fs.truncateSync(image, SIZE_BYTES);
  let device: string;
  try {
    device = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
  } catch (err) {
    assert.fail(`cannot attach a loop device (needs root and losetup): ${String(err)}`);
  }
  t.after(() => { execFileSync('losetup', ['--detach', device]); });
  assert.ok(fs.statSync(device).isBlockDevice());

  const fd = fs.openSync(device, 'r');
  try {
    assert.equal(fs.fstatSync(fd).size, 0, 'fstat reports 0 for a block device, hence sysfs');
    assert.equal(await probeSizeBytes(fd), SIZE_BYTES, 'the probing fallback agrees');
  } finally {
    fs.closeSync(fd);
  }

  const wal = await openWal(device, { nodeId: 'n1', epoch: 1, capacityBytes: 1 << 20 });
  assert.equal(wal.capacityBytes, SIZE_BYTES, 'an existing device keeps its size');
  await assert.rejects(openWal(device, { nodeId: 'n1', epoch: 1 }), WalLockedError);
  await wal.recover();
  const bodies = Array.from({ length: 100 }, (_, i) => Buffer.alloc(1000 + i, i));
  const offsets = await Promise.all(bodies.map((b) => wal.append(b)));
  await wal.close();
  assert.equal(fs.existsSync(`${device}.lock`), false, 'no lock file is created in /dev');

  const again = await openWal(device, { nodeId: 'n1', epoch: 1 });
  const got = await again.recover();
  assert.deepEqual(got.map((r) => r.offset), offsets);
  assert.ok(got.every((r, i) => r.body.equals(bodies[i]!)));
  await again.close();
});
