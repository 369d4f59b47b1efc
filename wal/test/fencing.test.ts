// Fencing, three layers: flock, the header's owner + epoch at open, and fence() / takeover stopping
// an older writer's appends.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WalFencedError, WalLockedError, openWal, type WalOptions } from '@ferry/wal';
import { tempDir } from './helpers.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const NODE_ARGS = ['--conditions=ferry-source', '--import', 'tsx'];
const opts = (o: Partial<WalOptions> = {}): WalOptions => ({ nodeId: 'node-a', epoch: 1, capacityBytes: 1 << 20, recordBytesMax: 4096, ...o });

describe('layer 1: flock', () => {
  test('a second opener in the same process is refused while the first holds the WAL', async (t) => {
    const path = join(tempDir(t), 'w.wal');
    const a = await openWal(path, opts());
    const err = await openWal(path, opts()).catch((e: unknown) => e);
    assert.ok(err instanceof WalLockedError, String(err));
    assert.match(err.message, new RegExp(`WAL ${path}: locked by another process \\(flock on ${path}\\.lock, held by pid ${process.pid}\\)`));
    await a.close();
    const b = await openWal(path, opts());
    await b.close();
  });

  test('a second process is refused, and may open once the holder is gone', async (t) => {
    const path = join(tempDir(t), 'w.wal');
    const a = await openWal(path, opts());
    const r1 = spawnSync(process.execPath, [...NODE_ARGS, fixture('open-child.ts'), path], { encoding: 'utf8' });
    assert.match(r1.stdout, /^error WAL_LOCKED .*locked by another process/, r1.stderr);
    await a.close();
    const r2 = spawnSync(process.execPath, [...NODE_ARGS, fixture('open-child.ts'), path], { encoding: 'utf8' });
    assert.equal(r2.stdout.trim(), 'opened', r2.stderr);
  });
});

describe('layer 2: owner and epoch in the header', () => {
  test('open with a lower epoch, or another node at the same epoch, is refused; a higher epoch takes over durably', async (t) => {
    const path = join(tempDir(t), 'w.wal');
    const a = await openWal(path, opts({ epoch: 5 }));
    await a.close();
    await assert.rejects(openWal(path, opts({ epoch: 4 })), (e: unknown) => e instanceof WalFencedError
      && /epoch 4 is lower than the WAL's epoch 5 \(owner node-a\)/.test(e.message) && e.message.includes(path));
    await assert.rejects(openWal(path, opts({ epoch: 5, nodeId: 'node-b' })), (e: unknown) => e instanceof WalFencedError
      && /owned by node node-a at epoch 5/.test(e.message));
    const b = await openWal(path, opts({ epoch: 6, nodeId: 'node-b' }));
    assert.equal(b.epoch, 6);
    assert.equal(b.nodeId, 'node-b');
    await b.close();
    await assert.rejects(openWal(path, opts({ epoch: 5 })), WalFencedError);
    const again = await openWal(path, opts({ epoch: 6, nodeId: 'node-b' }));
    await again.close();
  });
});

describe('layer 3: fence() and takeover stop an older writer', () => {
  test('after a takeover (another "host": its own lock) the old handle can no longer append or trim', async (t) => {
    const path = join(tempDir(t), 'w.wal');
    const a = await openWal(path, opts());
    await a.recover();
    const acked = [await a.append(Buffer.from('a1')), await a.append(Buffer.from('a2'))];
    const b = await openWal(path, opts({ epoch: 2, nodeId: 'node-b', lockPath: `${path}.host-b.lock` }));
    const got = await b.recover();
    assert.deepEqual(got.map((r) => r.offset), acked);
    const err = await a.append(Buffer.from('late')).catch((e: unknown) => e);
    assert.ok(err instanceof WalFencedError, String(err));
    assert.match(err.message, /fenced: node node-b took over at epoch 2 \(this writer is node node-a at epoch 1\)/);
    await assert.rejects(a.append(Buffer.from('later')), WalFencedError);
    await assert.rejects(a.trim(acked[1]!), WalFencedError);
    const bOffset = await b.append(Buffer.from('b1'));
    const all = await b.read(acked[0]!, 1 << 20);
    assert.deepEqual(all.map((r) => [r.body.toString(), r.epoch]), [['a1', 1], ['a2', 1], ['b1', 2]]);
    assert.equal(all[2]!.offset, bOffset);
    await a.close();
    await b.close();
  });

  test('a writer in another process is fenced by a takeover', async (t) => {
    const path = join(tempDir(t), 'w.wal');
    const child = spawn(process.execPath, [...NODE_ARGS, fixture('fence-child.ts'), path], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    t.after(() => child.kill('SIGKILL'));
    while (!out.includes('\n')) {
      if (child.exitCode !== null) assert.fail(`child exited early: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const acked = out.trim().replace('acked ', '').split(',').map(BigInt);
    const b = await openWal(path, opts({ epoch: 2, nodeId: 'node-b', lockPath: `${path}.host-b.lock` }));
    const got = await b.recover();
    assert.deepEqual(got.map((r) => r.offset), acked, 'every record the old writer acknowledged is recovered');
    child.stdin.end('go\n');
    assert.equal(await exited, 0, err);
    assert.match(out, /\nerror WAL_FENCED\n$/);
    await b.close();
  });

  test('fence() raises the epoch durably; lowering it is refused', async (t) => {
    const path = join(tempDir(t), 'w.wal');
    const a = await openWal(path, opts());
    await a.recover();
    await a.append(Buffer.from('e1'));
    await a.fence(3);
    assert.equal(a.epoch, 3);
    await a.append(Buffer.from('e3'));
    await assert.rejects(a.fence(2), WalFencedError);
    await a.fence(3); // same epoch, same owner: no-op
    await a.close();
    await assert.rejects(openWal(path, opts({ epoch: 2 })), WalFencedError);
    const again = await openWal(path, opts({ epoch: 3 }));
    const got = await again.recover();
    assert.deepEqual(got.map((r) => [r.body.toString(), r.epoch]), [['e1', 1], ['e3', 3]]);
    await again.close();
  });
});
