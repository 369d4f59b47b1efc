/**
 * Time for the group coordinator: the current time and one-shot timers. Injected so tests run on a
 * manual clock and never sleep for real session or rebalance timeouts.
 */

export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  nowMs(): number;
  /** Calls `fn` once, `delayMs` from now (0 allowed). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  /** Cancels a timer; a no-op when it already fired or was cancelled. */
  clearTimer(handle: TimerHandle): void;
}

/** Wall clock and Node timers. Timers are unref'd: a pending session timeout never keeps the process alive. */
export class SystemClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  nowMs(): number {
    return Date.now();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, Math.max(0, delayMs));
    t.unref();
    this.timers.set(id, t);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const t = this.timers.get(handle.id);
    if (t !== undefined) {
      clearTimeout(t);
      this.timers.delete(handle.id);
    }
  }

  /** Number of timers not yet fired or cancelled (for leak checks). */
  pendingTimers(): number {
    return this.timers.size;
  }
}

interface ManualTimer {
  id: number;
  dueMs: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. `advance(ms)` fires every timer due within the window in
 * due-time order (ties in creation order), including timers created by the callbacks themselves.
 */
export class ManualClock implements Clock {
  private now: number;
  private nextId = 1;
  private readonly timers = new Map<number, ManualTimer>();

  constructor(startMs = 1_700_000_000_000) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, dueMs: this.now + Math.max(0, delayMs), fn });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  /** Moves time forward by `ms`, firing due timers on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance(${ms}): must be >= 0`);
    const target = this.now + ms;
    for (;;) {
      const next = this.earliestDue(target);
      if (next === undefined) break;
      this.timers.delete(next.id);
      this.now = Math.max(this.now, next.dueMs);
      next.fn();
    }
    this.now = target;
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  private earliestDue(limitMs: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers.values()) {
      if (t.dueMs > limitMs) continue;
      if (best === undefined || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.id < best.id)) best = t;
    }
    return best;
  }
}
