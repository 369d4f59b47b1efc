// The recovery table, one test per row: what the bytes at the next expected offset say -> what
// recovery does. Bytes are tampered with directly on the in-memory disk.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import { MemoryIo, WalCorruptError, type WalRecord } from '@ferry/wal';
import { HEADER_AREA_BYTES } from '../src/format.js';
import { bodyFor, openMemory } from './helpers.js';

interface Fixture { io: MemoryIo; offsets: bigint[]; bodies: Buffer[]; ringBytes: number }

/** r0..r4 each in its own group, then r5..r7 in one group. */
async function fixture(): Promise<Fixture> {
  const io = new MemoryIo();
  const wal = await openMemory(io);
  await wal.recover();
  const bodies = Array.from({ length: 8 }, (_, i) => bodyFor(i, 200 + i * 50));
  const offsets: bigint[] = [];
  for (let i = 0; i < 5; i++) offsets.push(await wal.append(bodies[i]!));
  offsets.push(...(await Promise.all(bodies.slice(5).map((b) => wal.append(b)))));
  const ringBytes = wal.ringBytes;
  await wal.close();
  return { io, offsets, bodies, ringBytes };
}

function tamper(f: Fixture, offset: bigint, edit: (b: Buffer, at: number) => void): void {
  const disk = f.io.disk('mem');
  const at = HEADER_AREA_BYTES + Number(offset % BigInt(f.ringBytes));
  edit(disk.durable, at);
  disk.durable.copy(disk.cache);
}

async function recoverAll(f: Fixture): Promise<WalRecord[]> {
  const wal = await openMemory(f.io);
  const got = await wal.recover();
  await wal.close();
  return got;
}

function rewriteHeader(b: Buffer, at: number, seed: number, change: (b: Buffer, at: number) => void): void {
  change(b, at);
  b.writeUInt32LE(crc32c(b.subarray(at, at + 28), seed), at + 28);
}

const formatIdOf = (f: Fixture) => f.io.disk('mem').durable.readUInt32LE(56 + 256);
const prefix = (f: Fixture, n: number) => f.bodies.slice(0, n).map((b) => b.toString('hex'));
const hex = (rs: WalRecord[]) => rs.map((r) => r.body.toString('hex'));

describe('recovery table', () => {
  test('untouched: every record, across group padding', async () => {
    const f = await fixture();
    assert.deepEqual(hex(await recoverAll(f)), prefix(f, 8));
  });

  test('header magic wrong -> end of log there', async () => {
    const f = await fixture();
    tamper(f, f.offsets[6]!, (b, at) => { b[at] ^= 0xff; });
    assert.deepEqual(hex(await recoverAll(f)), prefix(f, 6));
  });

  test('header CRC wrong -> end of log there', async () => {
    const f = await fixture();
    tamper(f, f.offsets[6]!, (b, at) => { b[at + 20] ^= 1; }); // the type field
    assert.deepEqual(hex(await recoverAll(f)), prefix(f, 6));
  });

  test('valid header with another logical offset (an earlier lap) -> end of log there', async () => {
    const f = await fixture();
    const seed = formatIdOf(f);
    tamper(f, f.offsets[6]!, (b, at) => rewriteHeader(b, at, seed, (x, a) => x.writeBigUInt64LE(f.offsets[6]! - BigInt(f.ringBytes), a + 8)));
    assert.deepEqual(hex(await recoverAll(f)), prefix(f, 6));
  });

  test('valid header from another format (reused device) -> end of log there', async () => {
    const f = await fixture();
    const seed = formatIdOf(f);
    tamper(f, f.offsets[3]!, (b, at) => rewriteHeader(b, at, seed ^ 1, () => {}));
    assert.deepEqual(hex(await recoverAll(f)), prefix(f, 3));
  });

  test('body length over the format cap -> end of log there, nothing allocated', async () => {
    const f = await fixture();
    const seed = formatIdOf(f);
    tamper(f, f.offsets[6]!, (b, at) => rewriteHeader(b, at, seed, (x, a) => x.writeUInt32LE(0xffffffff, a + 4)));
    assert.deepEqual(hex(await recoverAll(f)), prefix(f, 6));
  });

  test('body CRC wrong (torn or flipped body) -> end of log there', async () => {
    const f = await fixture();
    tamper(f, f.offsets[2]!, (b, at) => { b[at + 32 + 17] ^= 0x20; });
    assert.deepEqual(hex(await recoverAll(f)), prefix(f, 2));
  });

  test('skip record (restart two laps ahead) -> followed, across several reopens', async () => {
    const f = await fixture();
    const more: Buffer[] = [];
    for (let round = 0; round < 3; round++) {
      const wal = await openMemory(f.io);
      await wal.recover();
      const b = bodyFor(100 + round, 300);
      more.push(b);
      const off = await wal.append(b);
      assert.ok(off > f.offsets[7]! + 2n * BigInt(f.ringBytes) * BigInt(round + 1) - 8192n);
      await wal.close();
    }
    assert.deepEqual(hex(await recoverAll(f)), [...prefix(f, 8), ...more.map((b) => b.toString('hex'))]);
  });

  test('read() of durable data that fails validation is WalCorruptError, not silence', async () => {
    const f = await fixture();
    const wal = await openMemory(f.io);
    await wal.recover();
    tamper(f, f.offsets[4]!, (b, at) => { b[at + 40] ^= 1; });
    await assert.rejects(wal.read(f.offsets[0]!, 1 << 20), WalCorruptError);
    await wal.close();
  });

  test('property: a bit flip anywhere in a record cuts the log exactly before it, never returns bad bytes', async () => {
    const f0 = await fixture();
    const snapshot = f0.io.disk('mem').clone();
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 7 }), fc.nat(), async (idx, bitSeed) => {
      const disk = snapshot.clone();
      f0.io.disks.set('mem', disk);
      const span = 32 + f0.bodies[idx]!.length;
      const bit = bitSeed % (span * 8);
      tamper(f0, f0.offsets[idx]!, (b, at) => { b[at + (bit >> 3)] ^= 1 << (bit & 7); });
      const got = await recoverAll(f0);
      assert.deepEqual(hex(got), prefix(f0, idx));
    }), { numRuns: 200 });
  });
});

describe('header slots', () => {
  test('the newest valid slot wins; a torn newest slot falls back to the older one', async () => {
    const io = new MemoryIo();
    const wal = await openMemory(io);
    await wal.recover();
    const a = await wal.append(Buffer.from('a'));
    const b = await wal.append(Buffer.from('b'));
    await wal.trim(b); // generation 2 -> slot 0
    const gen2Slot = 0;
    await wal.close();
    let again = await openMemory(io);
    assert.equal(again.trimOffset, b);
    await again.close();
    // Tear the newest slot: the older one (trim point before a) is used, and a is still there.
    const disk = io.disk('mem');
    disk.durable.fill(0x5a, gen2Slot * 4096 + 2000, gen2Slot * 4096 + 2512);
    disk.durable.copy(disk.cache);
    again = await openMemory(io);
    assert.ok(again.trimOffset < a);
    assert.deepEqual((await again.recover()).map((r) => r.body.toString()), ['a', 'b']);
    await again.close();
  });
});
