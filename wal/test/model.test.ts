// Model-based tests: random sequences of append / trim / read / crash / reopen against a plain
// array, on the in-memory disk whose crashes keep, drop or tear each unflushed sector.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryIo, WalFullError, type Wal } from '@ferry/wal';
import { bodyFor, openMemory } from './helpers.js';

/** More runs for a soak: FERRY_WAL_MODEL_RUNS=5000 node scripts/run-tests.mjs wal/test/model */
const RUNS = Number(process.env.FERRY_WAL_MODEL_RUNS ?? 300);
const OPTIONS = { capacityBytes: 64 * 1024, recordBytesMax: 3000, appendTimeoutMs: 0 };

type Cmd =
  | { kind: 'append'; sizes: number[] }
  | { kind: 'settle' }
  | { kind: 'trim'; at: number }
  | { kind: 'read'; at: number; maxBytes: number }
  | { kind: 'crash'; seed: number; ticks: number; keep: number; trimAt: number | null }
  | { kind: 'reopen' };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), sizes: fc.array(fc.integer({ min: 4, max: 3000 }), { minLength: 1, maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'settle' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('trim' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), maxBytes: fc.integer({ min: 0, max: 20000 }) }) },
  { weight: 1, arbitrary: fc.record({
    kind: fc.constant('crash' as const), seed: fc.integer(), ticks: fc.integer({ min: 0, max: 40 }),
    keep: fc.double({ min: 0, max: 1, noNaN: true }), trimAt: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
  }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

interface Live { offset: bigint; body: Buffer }
interface Issued { id: number; body: Buffer; promise: Promise<bigint> }

const stats = { runs: 0, crashes: 0, recoveredChecked: 0, extras: 0, ackedBytes: 0 };

class Harness {
  io = new MemoryIo();
  wal!: Wal;
  live: Live[] = [];
  issued: Issued[] = [];
  nextId = 0;

  async start(): Promise<void> {
    this.wal = await openMemory(this.io, OPTIONS);
    assert.deepEqual(await this.wal.recover(), []);
  }

  append(sizes: number[]): void {
    for (const size of sizes) {
      const id = this.nextId++;
      const body = bodyFor(id, size);
      const promise = this.wal.append(body);
      promise.catch(() => {});
      this.issued.push({ id, body, promise });
    }
  }

  /** Waits for every issued append; acknowledged ones join the model in order. */
  async settle(): Promise<void> {
    for (const it of this.issued.splice(0)) {
      try {
        this.live.push({ offset: await it.promise, body: it.body });
        stats.ackedBytes += it.body.length;
      } catch (err) {
        assert.ok(err instanceof WalFullError, `unexpected ${String(err)}`);
      }
    }
    for (let i = 1; i < this.live.length; i++) assert.ok(this.live[i]!.offset > this.live[i - 1]!.offset);
  }

  async trim(at: number): Promise<void> {
    await this.settle();
    const idx = Math.floor(at * (this.live.length + 1));
    const offset = idx < this.live.length ? this.live[idx]!.offset : this.wal.nextOffset;
    await this.wal.trim(offset);
    this.live.splice(0, idx);
    assert.equal(this.wal.trimOffset >= offset, true);
  }

  async read(at: number, maxBytes: number): Promise<void> {
    await this.settle();
    if (this.live.length === 0) return;
    const idx = Math.min(this.live.length - 1, Math.floor(at * this.live.length));
    const got = await this.wal.read(this.live[idx]!.offset, maxBytes);
    assert.ok(got.length >= 1);
    const want = this.live.slice(idx, idx + got.length);
    assert.deepEqual(got.map((r) => r.offset), want.map((r) => r.offset));
    assert.ok(got.every((r, i) => r.body.equals(want[i]!.body)));
    const bytes = got.reduce((s, r) => s + r.body.length, 0);
    assert.ok(got.length === 1 || bytes <= maxBytes);
    if (bytes < maxBytes && idx + got.length < this.live.length) {
      assert.ok(bytes + this.live[idx + got.length]!.body.length > maxBytes, 'read stopped early');
    }
  }

  /** Power loss after `ticks` microtasks; with trimAt, a trim is also in progress when it hits. */
  async crash(seed: number, ticks: number, keep: number, trimAt: number | null = null): Promise<void> {
    const trimsTo = new Set([this.wal.trimOffset]);
    if (trimAt !== null && this.live.length > 0) {
      // trimAt may be exactly 1: the last live record at most.
      const to = this.live[Math.min(this.live.length - 1, Math.floor(trimAt * this.live.length))]!.offset;
      trimsTo.add(to);
      this.wal.trim(to).catch(() => {});
    }
    for (let i = 0; i < ticks; i++) await Promise.resolve();
    this.io.disk('mem').crash(seed, { keepProbability: keep });
    const pending = this.issued.splice(0);
    const unacked: Issued[] = [];
    for (const it of pending) {
      try {
        this.live.push({ offset: await it.promise, body: it.body });
      } catch (err) {
        if (!(err instanceof WalFullError)) unacked.push(it);
      }
    }
    await this.wal.close();
    await this.recoverAndCheck(unacked, trimsTo);
  }

  async reopen(): Promise<void> {
    await this.settle();
    await this.wal.close();
    await this.recoverAndCheck([]);
  }

  /** Every acknowledged, untrimmed record comes back byte-exact; beyond them only a prefix of the unacknowledged ones. */
  private async recoverAndCheck(unacked: Issued[], trimsTo?: Set<bigint>): Promise<void> {
    this.wal = await openMemory(this.io, OPTIONS);
    if (trimsTo) {
      assert.ok(trimsTo.has(this.wal.trimOffset), `trim point ${this.wal.trimOffset} is neither the old nor the new one`);
      this.live = this.live.filter((l) => l.offset >= this.wal.trimOffset);
    }
    const got = await this.wal.recover();
    assert.ok(got.length >= this.live.length, `recovered ${got.length} < ${this.live.length} acknowledged`);
    this.live.forEach((l, i) => {
      assert.equal(got[i]!.offset, l.offset, `record ${i} offset`);
      assert.ok(got[i]!.body.equals(l.body), `record ${i} body`);
    });
    const extra = got.slice(this.live.length);
    stats.crashes++;
    stats.recoveredChecked += this.live.length;
    stats.extras += extra.length;
    assert.ok(extra.length <= unacked.length, 'records appeared that were never appended');
    extra.forEach((r, i) => assert.ok(r.body.equals(unacked[i]!.body), `unacknowledged extra ${i} is out of order`));
    this.live = got.map((r) => ({ offset: r.offset, body: r.body }));
    assert.ok(this.wal.nextOffset > (this.live.at(-1)?.offset ?? -1n));
  }
}

describe('model-based: append / trim / read / crash / recover vs an array', () => {
  test('random command sequences', async (t) => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 100 }), async (cmds) => {
        const h = new Harness();
        await h.start();
        for (const c of cmds) {
          // Keep uploads "caught up" now and then so the small ring does not just stay full.
          if (h.wal.usedBytes > h.wal.ringBytes * 0.75) await h.trim(0.9);
          switch (c.kind) {
            case 'append': h.append(c.sizes); break;
            case 'settle': await h.settle(); break;
            case 'trim': await h.trim(c.at); break;
            case 'read': await h.read(c.at, c.maxBytes); break;
            case 'crash': await h.crash(c.seed, c.ticks, c.keep, c.trimAt); break;
            case 'reopen': await h.reopen(); break;
          }
        }
        await h.crash(1, 3, 0.5);
        stats.runs++;
        await h.wal.close();
      }),
      { numRuns: RUNS },
    );
    t.diagnostic(`runs ${stats.runs}, recoveries ${stats.crashes}, acknowledged records checked ${stats.recoveredChecked}, `
      + `unacknowledged extras ${stats.extras}, acknowledged bytes ${stats.ackedBytes} (ring ${64 * 1024})`);
    assert.ok(stats.crashes >= RUNS && stats.recoveredChecked > 1000);
  });
});

describe('truncation of the last group', () => {
  test('recovery is exact for a crash after every byte of the last group', async () => {
    const io = new MemoryIo();
    const wal = await openMemory(io, OPTIONS);
    await wal.recover();
    const acked: Live[] = [];
    for (let i = 0; i < 12; i++) {
      const body = bodyFor(i, 700 + i * 13);
      acked.push({ offset: await wal.append(body), body });
    }
    await wal.trim(acked[2]!.offset);
    acked.splice(0, 2);
    // Stop the next group right before its fdatasync and keep the disk as it was then.
    const disk = io.disk('mem');
    let frozen: ReturnType<typeof disk.clone> | undefined;
    disk.faults.beforeDatasync = (d) => {
      frozen = d.clone();
      throw new Error('stop here');
    };
    const group = Array.from({ length: 5 }, (_, i) => bodyFor(100 + i, 300 + i * 97));
    const results = await Promise.allSettled(group.map((b) => wal.append(b)));
    assert.ok(results.every((r) => r.status === 'rejected'));
    await wal.close();
    assert.ok(frozen && frozen.pendingBytes >= 4096);
    let seenPartial = 0;
    for (let keep = 0; keep <= frozen.pendingBytes; keep++) {
      const d = frozen.clone();
      d.faults = {};
      d.crashKeepingPrefix(keep);
      io.disks.set('mem', d);
      const again = await openMemory(io, OPTIONS);
      const got = await again.recover();
      assert.deepEqual(got.slice(0, acked.length).map((r) => r.offset), acked.map((a) => a.offset), `keep ${keep}`);
      assert.ok(got.slice(0, acked.length).every((r, i) => r.body.equals(acked[i]!.body)));
      const extra = got.slice(acked.length);
      assert.ok(extra.length <= group.length);
      extra.forEach((r, i) => assert.ok(r.body.equals(group[i]!), `keep ${keep}: extra ${i}`));
      if (extra.length > 0 && extra.length < group.length) seenPartial++;
      // The next append lands two laps ahead of the torn tail.
      const next = await again.append(Buffer.from('after'));
      assert.ok(next >= (got.at(-1)!.offset) + 2n * BigInt(again.ringBytes));
      await again.close();
    }
    assert.ok(seenPartial > 0, 'some truncations kept part of the group');
  });
});
