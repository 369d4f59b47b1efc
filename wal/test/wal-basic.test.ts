import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MemoryIo, WalClosedError, WalConfigError, WalFatalError, WalFullError, WalOffsetError, WalRecordTooLargeError,
  WalStateError, type WalRecord,
} from '@ferry/wal';
import { bodyFor, openMemory } from './helpers.js';

const bodies = (rs: WalRecord[]) => rs.map((r) => r.body.toString('hex'));

describe('append, recover, read', () => {
  test('appends resolve in offset order and survive a reopen byte-exact', async () => {
    const io = new MemoryIo();
    const wal = await openMemory(io);
    assert.deepEqual(await wal.recover(), []);
    const sent = Array.from({ length: 50 }, (_, i) => bodyFor(i, 1 + ((i * 37) % 900)));
    const done: bigint[] = [];
    const offsets = await Promise.all(sent.map((b, i) => wal.append(b, i % 3).then((o) => { done.push(o); return o; })));
    assert.deepEqual(done, [...offsets].sort((a, b) => (a < b ? -1 : 1)), 'acknowledged in offset order');
    for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i]! > offsets[i - 1]!);
    await wal.close();

    const again = await openMemory(io);
    const got = await again.recover();
    assert.deepEqual(bodies(got), sent.map((b) => b.toString('hex')));
    assert.deepEqual(got.map((r) => r.offset), offsets);
    assert.deepEqual(got.map((r) => r.type), sent.map((_, i) => i % 3));
    assert.ok(got.every((r) => r.epoch === 1));
    await again.close();
  });

  test('concurrent appends are group-committed (far fewer fdatasyncs than records)', async () => {
    const io = new MemoryIo();
    const wal = await openMemory(io);
    await wal.recover();
    const disk = io.disk('mem');
    const before = disk.datasyncs;
    await Promise.all(Array.from({ length: 200 }, (_, i) => wal.append(bodyFor(i, 100))));
    const syncs = disk.datasyncs - before;
    assert.ok(syncs <= 10, `${syncs} fdatasyncs for 200 appends`);
    await wal.close();
  });

  test('read pages through the log from any record offset and stops at the end', async () => {
    const io = new MemoryIo();
    const wal = await openMemory(io);
    await wal.recover();
    const sent = Array.from({ length: 30 }, (_, i) => bodyFor(i, 500));
    const offsets: bigint[] = [];
    for (const b of sent) offsets.push(await wal.append(b));
    let from = offsets[4]!;
    const seen: string[] = [];
    for (;;) {
      const page = await wal.read(from, 1600);
      if (page.length === 0) break;
      assert.ok(page.length <= 4);
      seen.push(...bodies(page));
      from = page[page.length - 1]!.offset + 1n;
      const idx = offsets.indexOf(page[page.length - 1]!.offset);
      from = idx + 1 < offsets.length ? offsets[idx + 1]! : wal.nextOffset;
    }
    assert.deepEqual(seen, sent.slice(4).map((b) => b.toString('hex')));
    assert.equal((await wal.read(offsets[0]!, 0)).length, 1, 'at least one record even with maxBytes 0');
    await assert.rejects(wal.read(offsets[3]! + 8n, 100), WalOffsetError);
    await assert.rejects(wal.read(wal.nextOffset + 4096n, 100), WalOffsetError);
    await wal.close();
  });

  test('calls out of order and bad arguments fail with typed errors', async () => {
    const io = new MemoryIo();
    const wal = await openMemory(io);
    await assert.rejects(wal.append(Buffer.from('x')), WalStateError);
    await wal.recover();
    await assert.rejects(wal.recover(), WalStateError);
    await assert.rejects(wal.append(Buffer.alloc(16 * 1024 + 1)), WalRecordTooLargeError);
    await assert.rejects(wal.append(Buffer.from('x'), 0xff01), WalConfigError);
    await assert.rejects(wal.append(Buffer.from('x'), -1), WalConfigError);
    await wal.append(Buffer.alloc(16 * 1024));
    await wal.close();
    await assert.rejects(wal.append(Buffer.from('x')), WalClosedError);
    await assert.rejects(wal.trim(0n), WalClosedError);
  });

  test('a record larger than groupBytesMax is written as a group of its own and recovered byte-exact', async () => {
    const io = new MemoryIo();
    const wal = await openMemory(io, { recordBytesMax: 100 * 1024, groupBytesMax: 16 * 1024, capacityBytes: 512 * 1024 });
    await wal.recover();
    const bodies = [bodyFor(1, 300), bodyFor(2, 90 * 1024), bodyFor(3, 500), bodyFor(4, 70 * 1024)];
    const offsets = await Promise.all(bodies.map((b) => wal.append(b)));
    await wal.close();
    const again = await openMemory(io, { recordBytesMax: 100 * 1024, capacityBytes: 512 * 1024 });
    const got = await again.recover();
    assert.deepEqual(got.map((r) => r.offset), offsets);
    assert.deepEqual(got.map((r) => r.body.toString('hex')), bodies.map((b) => b.toString('hex')));
    await again.close();
  });

  test('queue depth and in-flight byte limits reject with a retriable WalFullError', async () => {
    const io = new MemoryIo();
    const wal = await openMemory(io, { queueDepthMax: 4, inFlightBytesMax: 20 * 1024 });
    await wal.recover();
    const ps = Array.from({ length: 4 }, (_, i) => wal.append(bodyFor(i, 10)));
    const err = await wal.append(Buffer.from('x')).catch((e: unknown) => e);
    assert.ok(err instanceof WalFullError && err.retriable && err.reason === 'queue-depth', String(err));
    await Promise.all(ps);
    const big = wal.append(Buffer.alloc(16 * 1024));
    const err2 = await wal.append(Buffer.alloc(8 * 1024)).catch((e: unknown) => e);
    assert.ok(err2 instanceof WalFullError && err2.reason === 'in-flight-bytes', String(err2));
    await big;
    await wal.append(Buffer.alloc(8 * 1024));
    await wal.close();
  });
});

describe('ring space, trim and wrap-around', () => {
  test('a full ring makes appends wait until trim frees space, then fail after the timeout', async () => {
    const io = new MemoryIo();
    const wal = await openMemory(io, { appendTimeoutMs: 200 });
    await wal.recover();
    const offsets: bigint[] = [];
    // Each 8 KiB record takes 12 KiB (own group); fill the ring without trimming.
    for (;;) {
      const p = wal.append(bodyFor(offsets.length, 8 * 1024));
      const r = await Promise.race([p, new Promise<'waiting'>((res) => setTimeout(() => res('waiting'), 30))]);
      if (r === 'waiting') {
        // Blocked on space: trimming the oldest record lets it through.
        await wal.trim(offsets[1]!);
        offsets.push(await p);
        break;
      }
      offsets.push(r);
    }
    const t0 = Date.now();
    const err = await wal.append(bodyFor(999, 8 * 1024)).catch((e: unknown) => e);
    assert.ok(err instanceof WalFullError && err.retriable && err.reason === 'ring', String(err));
    assert.ok(Date.now() - t0 >= 150, 'waited for the timeout first');
    assert.match(String(err), /WAL mem: WAL full: no ring space/);
    assert.equal(wal.isFull, true);
    // While full, appends fail at once (no second wait) and leave no trace.
    const t1 = Date.now();
    const fast = await wal.append(bodyFor(1000, 100)).catch((e: unknown) => e);
    assert.ok(fast instanceof WalFullError && fast.reason === 'ring', String(fast));
    assert.ok(Date.now() - t1 < 150, 'refused without waiting');
    await wal.close();

    const again = await openMemory(io);
    const got = await again.recover();
    assert.deepEqual(got.map((r) => r.offset), offsets.slice(1), 'nothing untrimmed was overwritten');
    await again.close();
  });

  test('when the oldest waiting append times out, every queued append is refused with it and none is admitted', async () => {
    const io = new MemoryIo();
    const changes: boolean[] = [];
    const wal = await openMemory(io, { appendTimeoutMs: 100, metrics: { onFullChange: (f) => changes.push(f) } });
    await wal.recover();
    const offsets: bigint[] = [];
    for (;;) {
      const p = wal.append(bodyFor(offsets.length, 8 * 1024));
      const r = await Promise.race([p, new Promise<'waiting'>((res) => setTimeout(() => res('waiting'), 30))]);
      if (r === 'waiting') { await assert.rejects(p, WalFullError); break; }
      offsets.push(r);
    }
    assert.equal(wal.isFull, true);
    // Queue several behind a full ring: they time out together, in order, and none is admitted.
    const admitted: number[] = [];
    await wal.trim(offsets[1]!); // frees space: no longer full
    assert.equal(wal.isFull, false);
    const first = wal.append(bodyFor(2000, 8 * 1024), 0, () => admitted.push(0));
    const stuck = [1, 2, 3].map((i) => wal.append(bodyFor(2000 + i, 8 * 1024), 0, () => admitted.push(i)));
    await first;
    const results = await Promise.allSettled(stuck);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
    assert.deepEqual(admitted, [0], 'only the append that was written was admitted');
    assert.deepEqual(changes, [true, false, true]);
    await wal.trim(wal.nextOffset);
    assert.equal(wal.isFull, false);
    let seen = false;
    await wal.append(bodyFor(3000, 100), 0, () => { seen = true; });
    assert.equal(seen, true);
    await wal.close();
  });

  test('many laps of append and trim keep every untrimmed record intact', async () => {
    const io = new MemoryIo();
    let wal = await openMemory(io, { capacityBytes: 64 * 1024, recordBytesMax: 6000 });
    await wal.recover();
    const live: { offset: bigint; body: Buffer }[] = [];
    let written = 0;
    let n = 0;
    while (written < 40 * wal.ringBytes) {
      const batch = Array.from({ length: 1 + (n % 5) }, (_, i) => bodyFor(n * 10 + i, 1 + ((n * 131 + i * 977) % 6000)));
      while (wal.usedBytes > wal.ringBytes / 2) {
        const cut = live.splice(0, Math.ceil(live.length / 2));
        await wal.trim(live[0]?.offset ?? wal.nextOffset);
        assert.ok(cut.length > 0);
      }
      const offs = await Promise.all(batch.map((b) => wal.append(b)));
      batch.forEach((b, i) => live.push({ offset: offs[i]!, body: b }));
      written += batch.reduce((s, b) => s + b.length, 0);
      if (++n % 25 === 0) {
        await wal.close();
        wal = await openMemory(io, { capacityBytes: 64 * 1024, recordBytesMax: 6000 });
        const got = await wal.recover();
        assert.deepEqual(got.map((r) => r.offset), live.map((r) => r.offset));
        assert.ok(got.every((r, i) => r.body.equals(live[i]!.body)));
      }
    }
    const rd = live.length ? await wal.read(live[0]!.offset, 1 << 20) : [];
    assert.equal(rd.length, live.length);
    await wal.close();
  });

  test('a ring that is full at recovery: the restart record waits for a trim like any write', async () => {
    const io = new MemoryIo();
    const wal = await openMemory(io, { appendTimeoutMs: 50 });
    await wal.recover();
    const offsets: bigint[] = [];
    for (;;) {
      try {
        offsets.push(await wal.append(bodyFor(offsets.length, 4000)));
      } catch (err) {
        assert.ok(err instanceof WalFullError);
        break;
      }
    }
    assert.ok(wal.usedBytes > wal.ringBytes - 8192);
    await wal.close();
    const again = await openMemory(io, { appendTimeoutMs: 5000 });
    const got = await again.recover();
    assert.deepEqual(got.map((r) => r.offset), offsets);
    const waiting = again.append(Buffer.from('after'));
    await new Promise((r) => setTimeout(r, 30));
    await again.trim(offsets[3]!);
    const after = await waiting;
    assert.ok(after > offsets.at(-1)! + BigInt(again.ringBytes));
    await again.close();
    const third = await openMemory(io);
    const all = await third.recover();
    assert.deepEqual(all.map((r) => r.offset), [...offsets.slice(3), after]);
    await third.close();
  });

  test('trim only accepts record offsets or the end, and is durable', async () => {
    const io = new MemoryIo();
    const wal = await openMemory(io);
    await wal.recover();
    const a = await wal.append(Buffer.alloc(100));
    const b = await wal.append(Buffer.alloc(100));
    await assert.rejects(wal.trim(b + 8n), WalOffsetError);
    await assert.rejects(wal.trim(wal.nextOffset + 4096n), WalOffsetError);
    await wal.trim(b);
    await wal.trim(a); // below the trim point: no-op
    assert.equal(wal.trimOffset, b);
    await assert.rejects(wal.read(a, 100), WalOffsetError);
    await wal.close();
    const again = await openMemory(io);
    assert.equal(again.trimOffset, b);
    const got = await again.recover();
    assert.deepEqual(got.map((r) => r.offset), [b]);
    await again.trim(again.nextOffset);
    assert.equal(again.usedBytes, 0);
    await again.close();
  });
});

describe('fsync and write failures are fatal', () => {
  test('an fdatasync error fails the pending appends and every later call with WalFatalError', async () => {
    const io = new MemoryIo();
    const wal = await openMemory(io);
    await wal.recover();
    const acked = await wal.append(Buffer.from('durable'));
    const disk = io.disk('mem');
    disk.faults.beforeDatasync = () => { throw Object.assign(new Error('I/O error'), { code: 'EIO' }); };
    const results = await Promise.allSettled([1, 2, 3].map((i) => wal.append(bodyFor(i, 10))));
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok((r as PromiseRejectedResult).reason instanceof WalFatalError);
    }
    assert.match(String((results[0] as PromiseRejectedResult).reason), /WAL mem: I\/O failed \(EIO/);
    disk.faults.beforeDatasync = undefined;
    await assert.rejects(wal.append(Buffer.from('later')), WalFatalError, 'not retried even once the disk recovers');
    await assert.rejects(wal.trim(acked), WalFatalError);
    await assert.rejects(wal.read(acked, 10), WalFatalError);
    await wal.close();
    // The process "crashes"; recovery from disk still has the acknowledged record.
    disk.crash(1);
    const again = await openMemory(io);
    const got = await again.recover();
    assert.equal(got[0]!.body.toString(), 'durable');
    await again.close();
  });

  test('a write error is fatal too', async () => {
    const io = new MemoryIo();
    const wal = await openMemory(io);
    await wal.recover();
    io.disk('mem').faults.beforeWrite = () => { throw Object.assign(new Error('no space'), { code: 'ENOSPC' }); };
    await assert.rejects(wal.append(Buffer.from('x')), WalFatalError);
    await assert.rejects(wal.append(Buffer.from('y')), WalFatalError);
    await wal.close();
  });
});

describe('metrics hooks', () => {
  test('report appends, fsync latency, trims and recovery', async () => {
    const io = new MemoryIo();
    const seen = { appendRecords: 0, appendBytes: 0, fsyncs: 0, trims: 0, recovers: 0, headers: 0 };
    const metrics = {
      onAppend: (r: number, b: number) => { seen.appendRecords += r; seen.appendBytes += b; },
      onFsync: (s: number) => { assert.ok(s >= 0); seen.fsyncs++; },
      onTrim: (_o: bigint, freed: number) => { assert.ok(freed > 0); seen.trims++; },
      onRecover: () => { seen.recovers++; },
      onHeaderWrite: () => { seen.headers++; },
    };
    const wal = await openMemory(io, { metrics });
    await wal.recover();
    await Promise.all([wal.append(Buffer.alloc(10)), wal.append(Buffer.alloc(20))]);
    await wal.trim(wal.nextOffset);
    assert.deepEqual(seen, { appendRecords: 2, appendBytes: 30, fsyncs: seen.fsyncs, trims: 1, recovers: 1, headers: 1 });
    assert.ok(seen.fsyncs >= 2);
    await wal.close();
  });
});
