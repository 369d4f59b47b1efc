// Kafka's sampled Rate and the throttle time of its quota checks, with hand-computed values and
// the throttle times of Kafka's ClientQuotaManagerTest.testQuotaViolation.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SampledRate, recordAndThrottle, throttleTimeMs } from '../../../src/security/quota/rate.js';

const KAFKA_DEFAULT = { samples: 11, windowMs: 1000 };

describe('SampledRate (Kafka Rate over a WindowedSum)', () => {
  test('a first burst is measured over samples - 1 windows, not over the few ms it took', () => {
    const r = new SampledRate(KAFKA_DEFAULT);
    r.record(1000, 5_000);
    assert.equal(r.windowSizeMs(5_000), 10_000);
    assert.equal(r.measure(5_000), 100);
    r.record(500, 5_250);
    // 250 ms elapsed in the first window, padded with 10 empty windows.
    assert.equal(r.windowSizeMs(5_250), 10_250);
    assert.equal(r.measure(5_250), 1500 / 10.25);
  });

  test('ten windows of 400 then 2300 half a window later: 6300 over 10.5 s', () => {
    const r = new SampledRate(KAFKA_DEFAULT);
    let t = 1_000_000;
    for (let i = 0; i < 10; i++) { r.record(400, t); t += 1000; }
    t += 500;
    r.record(2300, t);
    assert.equal(r.windowSizeMs(t), 10_500);
    assert.equal(r.measure(t), 600);
  });

  test('samples + 1 windows are kept, and a window with no event for samples × window is purged', () => {
    const r = new SampledRate(KAFKA_DEFAULT);
    for (let t = 0; t <= 19_000; t += 1000) r.record(100, t);
    // The window of t=8000 had its last event 11 s ago: purged. Left: 9000..19000, 11 × 100 over 10 s.
    assert.equal(r.measure(19_000), 110);
    // Everything idle for 11 s: nothing left, and the rate restarts from zero.
    assert.equal(r.measure(30_000), 0);
    r.record(100, 30_000);
    assert.equal(r.measure(30_000), 10);
  });

  test('negative records (un-recording) take the value back', () => {
    const r = new SampledRate(KAFKA_DEFAULT);
    r.record(1, 0);
    r.record(1, 10);
    r.record(-1, 10);
    assert.equal(r.measure(10), 1 / 10.01);
  });

  test('bad configuration is refused', () => {
    assert.throws(() => new SampledRate({ samples: 0, windowMs: 1000 }), RangeError);
    assert.throws(() => new SampledRate({ samples: 11, windowMs: 0 }), RangeError);
  });
});

describe('throttle time (QuotaUtils.throttleTime)', () => {
  test('(rate - quota) / quota × window, rounded; 0 within quota', () => {
    assert.equal(throttleTimeMs(600, 500, 10_500), 2100);
    assert.equal(throttleTimeMs(500, 500, 10_000), 0);
    assert.equal(throttleTimeMs(499, 500, 10_000), 0);
    assert.equal(throttleTimeMs(1000.1, 1000, 10_000), 1);
    assert.equal(throttleTimeMs(1000.01, 1000, 10_000), 0);
  });

  test('ClientQuotaManagerTest.testQuotaViolation: no throttle under quota, 2100 ms on the spike, none once it rolled over', () => {
    const r = new SampledRate(KAFKA_DEFAULT);
    const quota = 500;
    let t = 1_700_000_000_000;
    for (let i = 0; i < 10; i++) {
      assert.equal(recordAndThrottle(r, 400, quota, t), 0);
      t += 1000;
    }
    t += 500;
    const throttle = recordAndThrottle(r, 2300, quota, t);
    assert.equal(throttle, 2100);
    t += throttle;
    // Could continue to see delays until the bursty sample disappears.
    for (let i = 0; i < 10; i++) { recordAndThrottle(r, 400, quota, t); t += 1000; }
    assert.equal(recordAndThrottle(r, 0, quota, t), 0);
  });

  test('a bound caps the throttle time (request quotas: one window)', () => {
    const r = new SampledRate(KAFKA_DEFAULT);
    assert.equal(recordAndThrottle(r, 100, 1, 0, 1000), 1000);
    const uncapped = new SampledRate(KAFKA_DEFAULT);
    assert.equal(recordAndThrottle(uncapped, 100, 1, 0), 90_000);
  });
});

describe('throttled client over time (Kafka\'s algorithm, a client that waits out each throttle)', () => {
  /** Bytes delivered per [from, to) ms by a client sending `size` whenever not throttled. */
  function run(samples: number, size: number, quota: number, totalMs: number): (from: number, to: number) => number {
    const r = new SampledRate({ samples, windowMs: 1000 });
    const sent: [number, number][] = [];
    for (let t = 0; t < totalMs;) {
      const ms = recordAndThrottle(r, size, quota, t);
      sent.push([t, size]);
      t += Math.max(ms, 2);
    }
    return (from, to) => sent.filter(([at]) => at >= from && at < to).reduce((sum, [, n]) => sum + n, 0) / ((to - from) / 1000);
  }

  test('the long-run rate is the quota, after the initial burst Kafka allows ((samples - 1) windows of quota)', () => {
    const quota = 1_048_576;
    const rate = run(11, 65_536, quota, 120_000);
    assert.ok(rate(0, 1000) > 5 * quota, 'the first second takes most of the 10 s burst allowance');
    const longRun = rate(0, 120_000) / quota;
    assert.ok(longRun > 0.97 && longRun < 1.03, `long-run ${longRun}`);
  });

  test('over 30 s, fewer samples keep the rate within 10 % of the quota (the e2e test\'s quota.window.num=3)', () => {
    const quota = 1_048_576;
    const rate = run(3, 991_248, quota, 90_000);
    for (let from = 0; from <= 60_000; from += 5000) {
      const ratio = rate(from, from + 30_000) / quota;
      assert.ok(ratio > 0.9 && ratio < 1.1, `[${from}, ${from + 30_000}) ms: ${ratio}`);
    }
  });
});
