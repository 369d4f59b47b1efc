import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ManualClock, SystemClock } from '../../src/groups/clock.js';
import { parseSubscriptionTopics, SubscriptionParseError } from '../../src/groups/consumer-subscription.js';
import { encodeConsumerProtocolSubscription } from '../../src/protocol/messages/consumer-protocol-subscription.js';
import { Writer } from '../../src/protocol/primitives.js';

describe('ManualClock', () => {
  test('fires due timers in due order (ties in creation order), including timers set by callbacks', () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimer(20, () => fired.push('b@20'));
    clock.setTimer(10, () => {
      fired.push(`a@${clock.nowMs()}`);
      clock.setTimer(5, () => fired.push(`c@${clock.nowMs()}`));
    });
    clock.setTimer(20, () => fired.push('d@20'));
    const cancelled = clock.setTimer(12, () => fired.push('never'));
    clock.clearTimer(cancelled);
    clock.advance(19);
    assert.deepEqual(fired, ['a@10', 'c@15']);
    assert.equal(clock.nowMs(), 19);
    clock.advance(1);
    assert.deepEqual(fired, ['a@10', 'c@15', 'b@20', 'd@20']);
    assert.equal(clock.pendingTimers(), 0);
    assert.throws(() => clock.advance(-1), RangeError);
  });

  test('zero-delay timers fire on advance(0)', () => {
    const clock = new ManualClock(5);
    let n = 0;
    clock.setTimer(0, () => n++);
    assert.equal(n, 0);
    clock.advance(0);
    assert.equal(n, 1);
  });
});

describe('SystemClock', () => {
  test('fires and cancels real timers', async () => {
    const clock = new SystemClock();
    const t0 = clock.nowMs();
    assert.ok(Math.abs(t0 - Date.now()) < 1_000);
    let cancelledFired = false;
    const h = clock.setTimer(5, () => { cancelledFired = true; });
    clock.clearTimer(h);
    // SystemClock timers are unref'd; hold the event loop open while waiting for one.
    const keepAlive = setTimeout(() => {}, 5_000);
    await new Promise<void>((resolve) => clock.setTimer(10, resolve));
    clearTimeout(keepAlive);
    assert.equal(cancelledFired, false);
    assert.equal(clock.pendingTimers(), 0);
  });
});

describe('parseSubscriptionTopics', () => {
  function encode(version: number, topics: string[]): Buffer {
    const w = new Writer();
    w.int16(version);
    encodeConsumerProtocolSubscription(w, version, {
      topics, userData: Buffer.from('ud'), ownedPartitions: [{ topic: 'x', partitions: [1, 2] }], generationId: 4, rackId: 'r1',
    });
    return w.toBuffer();
  }

  test('reads the topics of every Subscription version written by the generated codec', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 3 }),
      fc.array(fc.stringMatching(/^[a-zA-Z0-9._-]{1,40}$/), { maxLength: 20 }),
      (version, topics) => {
        assert.deepEqual(parseSubscriptionTopics(encode(version, topics)), topics);
      },
    ));
  });

  test('rejects truncated and malformed input without allocating for absurd counts', () => {
    const good = encode(1, ['alpha', 'beta']);
    // Any prefix that cuts into the topics is an error (the rest of the struct is not read).
    const topicsEnd = 2 + 4 + 2 + 5 + 2 + 4;
    for (let n = 0; n < topicsEnd; n++) assert.throws(() => parseSubscriptionTopics(good.subarray(0, n)), SubscriptionParseError);
    assert.deepEqual(parseSubscriptionTopics(good.subarray(0, topicsEnd)), ['alpha', 'beta']);
    const huge = Buffer.from([0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 0x61]);
    assert.throws(() => parseSubscriptionTopics(huge), /topic count/);
    assert.throws(() => parseSubscriptionTopics(Buffer.from([0xff, 0xff, 0, 0, 0, 0])), /version/);
    assert.throws(() => parseSubscriptionTopics(Buffer.from([0, 0, 0, 0, 0, 1, 0xff, 0xff])), /length/);
    assert.throws(() => parseSubscriptionTopics(Buffer.from([0, 0, 0, 0, 0, 1, 0, 2, 0xc3, 0x28])), /UTF-8/);
  });

  test('random bytes: a topic list or a SubscriptionParseError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        const topics = parseSubscriptionTopics(Buffer.from(bytes));
        assert.ok(Array.isArray(topics));
      } catch (e) {
        assert.ok(e instanceof SubscriptionParseError, String(e));
      }
    }));
  });
});

describe('logging', () => {
  test('a pino logger plugs in as the coordinator logger and receives the group events', async () => {
    const { pino } = await import('pino');
    const { GroupCoordinator, MemoryGroupOffsetStore } = await import('../../src/groups/coordinator.js');
    const lines: Array<{ msg: string; groupId?: string }> = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s)); } });
    const c = await GroupCoordinator.open({ store: new MemoryGroupOffsetStore(), clock: new ManualClock(), logger, config: { initialRebalanceDelayMs: 0 } });
    const first = await c.joinGroup({ apiVersion: 4, groupId: 'g', memberId: '', groupInstanceId: null, clientId: 'c', clientHost: 'h', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] });
    await c.joinGroup({ apiVersion: 4, groupId: 'g', memberId: first.memberId, groupInstanceId: null, clientId: 'c', clientHost: 'h', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] });
    c.close();
    assert.ok(lines.some((l) => l.msg === 'group rebalanced' && l.groupId === 'g'), JSON.stringify(lines));
  });
});
