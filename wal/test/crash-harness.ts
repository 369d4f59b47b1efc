// Drives real-process crash cycles: spawn a child that appends, SIGKILL it at a random moment,
// reopen the WAL in this process and check that every acknowledged record is back byte-exact and
// in order. Used by crash.test.ts and by bench/wal-soak.ts.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openWal } from '@ferry/wal';
import { bodyFor } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));

export interface CycleResult {
  acked: number;
  recovered: number;
  checked: number;
  trimOffset: bigint;
}

interface Ack { offset: bigint; id: number; length: number }

/** Acknowledged records not yet trimmed, carried from cycle to cycle (offset-ordered). */
export class CrashModel {
  live: Ack[] = [];
  firstId = 1;
}

export async function crashCycle(path: string, model: CrashModel, capacityBytes: number, killAfterMs: number, seed: number): Promise<CycleResult> {
  const child = spawn(process.execPath, ['--conditions=ferry-source', '--import', 'tsx', CHILD, path,
    String(model.firstId), String(seed), String(capacityBytes)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let ready: () => void = () => {};
  const readyP = new Promise<void>((r) => (ready = r));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (stdout.includes('ready ')) ready();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 30_000)));
  const early = await Promise.race([readyP.then(() => null), exited, timeout]);
  clearTimeout(timer);
  if (early === 'timeout') child.kill('SIGKILL');
  if (early) throw new Error(`crash child not ready (${JSON.stringify(early)}): ${stderr}`);
  await new Promise((r) => setTimeout(r, killAfterMs));
  child.kill('SIGKILL');
  const exit = await exited;
  if (exit.signal !== 'SIGKILL') throw new Error(`crash child ended by itself (${JSON.stringify(exit)}): ${stderr}`);

  let acked = 0;
  let reportedTrim = -1n;
  for (const line of stdout.split('\n').slice(0, -1)) { // the last piece may be cut by the kill
    const [kind, a, b, c] = line.split(' ');
    if (kind === 'ack') {
      model.live.push({ offset: BigInt(a!), id: Number(b), length: Number(c) });
      model.firstId = Math.max(model.firstId, Number(b) + 1);
      acked++;
    } else if (kind === 'trim') {
      reportedTrim = BigInt(a!);
    }
  }
  model.live.sort((x, y) => (x.offset < y.offset ? -1 : x.offset > y.offset ? 1 : 0));
  model.firstId += 1000; // ids the child used but never reported stay unique

  const wal = await openWal(path, { nodeId: 'crash-child', epoch: 1, recordBytesMax: 64 * 1024 });
  try {
    if (wal.trimOffset < reportedTrim) throw new Error(`trim ${reportedTrim} was acknowledged but the header says ${wal.trimOffset}`);
    const got = await wal.recover();
    const byOffset = new Map(got.map((r) => [r.offset, r]));
    model.live = model.live.filter((a) => a.offset >= wal.trimOffset);
    let checked = 0;
    for (const a of model.live) {
      const r = byOffset.get(a.offset);
      if (!r) throw new Error(`acknowledged record at ${a.offset} (id ${a.id}) is missing after the crash; trim ${wal.trimOffset}`);
      if (!r.body.equals(bodyFor(a.id, a.length))) throw new Error(`record at ${a.offset} (id ${a.id}) differs after the crash`);
      checked++;
    }
    for (let i = 1; i < got.length; i++) {
      if (got[i]!.offset <= got[i - 1]!.offset) throw new Error('recovered records out of order');
    }
    // Unacknowledged records that survived must still be intact records of ours.
    for (const r of got) {
      const id = r.body.readUInt32LE(0);
      if (!r.body.equals(bodyFor(id, r.body.length))) throw new Error(`recovered record at ${r.offset} is not one we wrote`);
    }
    // Everything recovered is now part of the log the next child continues.
    model.live = got.map((r) => ({ offset: r.offset, id: r.body.readUInt32LE(0), length: r.body.length }));
    return { acked, recovered: got.length, checked, trimOffset: wal.trimOffset };
  } finally {
    await wal.close();
  }
}
