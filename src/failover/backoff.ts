// Retry and poll loops with capped exponential backoff and full jitter, shared by the cloud
// providers. Cloud control planes throttle bursts (EC2 RequestLimitExceeded, ARM 429); full
// jitter spreads the retries of many callers. Time and randomness are injectable for tests.
//
// API: BackoffOptions, Clock, realClock, retryWithBackoff(fn, isRetriable, options), pollUntil(...)

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

export interface BackoffOptions {
  /** First delay cap. */
  baseDelayMs: number;
  /** Largest delay cap. */
  delayMsMax: number;
  /** Calls in all (1 = no retry). */
  attemptsMax: number;
  clock?: Clock;
}

/** Full jitter: a uniform delay in [0, min(max, base * 2^attempt)]. */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number): number {
  const cap = Math.min(options.delayMsMax, options.baseDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

/**
 * Calls fn until it succeeds, throws a non-retriable error, or attemptsMax calls failed (last error
 * thrown). delayMsMin(err) lets a server's Retry-After raise the wait (capped at delayMsMax).
 */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  isRetriable: (err: unknown) => boolean,
  options: BackoffOptions & { delayMsMin?: (err: unknown) => number | undefined },
): Promise<T> {
  if (!(options.attemptsMax >= 1)) throw new RangeError(`attemptsMax ${options.attemptsMax} < 1`);
  const clock = options.clock ?? realClock;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt + 1 >= options.attemptsMax || !isRetriable(err)) throw err;
      const hint = Math.min(options.delayMsMin?.(err) ?? 0, options.delayMsMax);
      await clock.sleep(Math.max(hint, backoffDelayMs(attempt, options, clock.random)));
    }
  }
}

/**
 * Calls probe until it returns a value (not undefined) or timeoutMs passes; then returns
 * { done: false, last } with the last value seen by `observe`. Delays grow from baseDelayMs to
 * delayMsMax (half fixed, half jitter, so a poll never spins).
 */
export async function pollUntil<T>(
  probe: () => Promise<{ done: true; value: T } | { done: false }>,
  timeoutMs: number,
  options: { baseDelayMs: number; delayMsMax: number; clock?: Clock },
): Promise<{ done: true; value: T } | { done: false }> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const r = await probe();
    if (r.done) return r;
    const left = deadline - clock.now();
    if (left <= 0) return r;
    const cap = Math.min(options.delayMsMax, options.baseDelayMs * 2 ** Math.min(attempt, 30));
    await clock.sleep(Math.min(left, Math.ceil(cap / 2 + clock.random() * (cap / 2))));
  }
}
