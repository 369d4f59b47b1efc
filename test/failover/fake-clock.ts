// A clock for backoff and poll loops: sleeps return at once and advance time; randomness is fixed.
import type { Clock } from '../../src/failover/backoff.js';

export interface FakeClock extends Clock {
  /** Every sleep requested, in order. */
  readonly sleeps: number[];
}

export function fakeClock(random = 0.5, startMs = 1_000_000): FakeClock {
  let now = startMs;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    random: () => random,
    async sleep(ms: number) {
      sleeps.push(ms);
      now += ms;
      await Promise.resolve();
    },
  };
}
