// Quota precedence, buckets and throttling as Kafka's ClientQuotaManagerTest has them, on the real
// QuotaStore over a LocalMetadataStore; then the request-time quota, the fetch side, exemptions
// and the memory bounds.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { RequestQuotaManager, type QuotaType } from '../../../src/security/quota/quota-manager.js';
import { resolveQuota } from '../../../src/security/quota/quota-resolver.js';
import type { QuotaEntity } from '../../../src/security/quota/quota-entity.js';
import { ANONYMOUS, newSession } from '../../../src/server/session.js';
import { setQuota, tempQuotaStore, userSession } from './quota-fixture.js';

const SETTINGS = { windowNum: 11, windowSizeSeconds: 1 };
const NOW = 1_700_000_000_000;
const PRODUCE = 0;
const FETCH = 1;

function produce(m: RequestQuotaManager, user: string, clientId: string | null, bytes: number, nowMs = NOW): number {
  return m.record({ session: userSession(user), clientId, apiKey: PRODUCE, requestBytes: bytes, responseBytes: 0, handlerTimeMs: 0, nowMs });
}

describe('client quota precedence (ClientQuotaManagerTest.testQuotaConfigPrecedence)', () => {
  test('the most specific entity wins, and the bucket is shared as Kafka shares its sensors', async (t) => {
    const { quotas } = await tempQuotaStore(t);
    const m = new RequestQuotaManager(quotas, SETTINGS);
    const set = (e: QuotaEntity, v: number | null) => setQuota(quotas, e, 'producer_byte_rate', v);
    /** Kafka's checkQuota: the bound, then value × samples recorded at one instant (10 padded windows). */
    const check = (user: string, clientId: string, bound: number | undefined, value: number, throttled: boolean) => {
      assert.equal(m.quotaFor('producer_byte_rate', user, clientId), bound, `quota of ${user}/${clientId}`);
      const ms = produce(m, user, clientId, value * SETTINGS.windowNum);
      if (throttled) assert.ok(ms > 0, `${user}/${clientId} recording ${value} should be throttled`);
      else assert.equal(ms, 0, `${user}/${clientId} recording ${value} should not be throttled`);
    };

    await set({ user: null }, 1000);
    await set({ clientId: null }, 2000);
    await set({ user: null, clientId: null }, 3000);
    await set({ user: 'userA' }, 4000);
    await set({ user: 'userA', clientId: 'client1' }, 5000);
    await set({ user: 'userB' }, 6000);
    await set({ user: 'userB', clientId: 'client1' }, 7000);
    await set({ user: 'userB', clientId: null }, 8000);
    await set({ user: 'userC' }, 10000);
    await set({ clientId: 'client1' }, 9000);

    check('userA', 'client1', 5000, 4500, false); // <user, client> quota takes precedence over <user>
    check('userA', 'client2', 4000, 4500, true); // <user> quota takes precedence over <client> and defaults
    check('userA', 'client3', 4000, 0, true); // <user> quota is shared across clients of user
    check('userA', 'client1', 5000, 0, false); // <user, client> is exclusive use, unaffected by other clients

    check('userB', 'client1', 7000, 8000, true);
    check('userB', 'client2', 8000, 7000, false); // default per-client quota for exclusive use of <user, client>
    check('userB', 'client3', 8000, 7000, false);

    check('userD', 'client1', 3000, 3500, true); // default <user, client> quota
    check('userD', 'client2', 3000, 2500, false);
    check('userE', 'client1', 3000, 2500, false);

    // Remove default <user, client> quota config, revert to <user> default.
    await set({ user: null, clientId: null }, null);
    check('userD', 'client1', 1000, 0, false); // bucket changed, counting restarts
    check('userE', 'client4', 1000, 1500, true);
    check('userF', 'client4', 1000, 800, false); // default <user> quota shared across clients of user
    check('userF', 'client5', 1000, 800, true);

    // Remove default <user> quota config, revert to <client-id> default.
    await set({ user: null }, null);
    check('userF', 'client4', 2000, 0, false); // default <client-id> quota shared across client-id of all users
    check('userF', 'client5', 2000, 0, false);
    check('userF', 'client5', 2000, 2500, true);
    check('userG', 'client5', 2000, 0, true);

    // Update quotas.
    await set({ user: 'userA' }, 8000);
    await set({ user: 'userA', clientId: 'client1' }, 10000);
    check('userA', 'client2', 8000, 0, false);
    check('userA', 'client2', 8000, 4500, true); // throttled due to sum of new and earlier values
    check('userA', 'client1', 10000, 0, false);
    check('userA', 'client1', 10000, 6000, true);
    await set({ user: 'userA', clientId: 'client1' }, null);
    check('userA', 'client6', 8000, 0, true); // throttled due to shared user quota
    await set({ user: 'userA', clientId: 'client6' }, 11000);
    check('userA', 'client6', 11000, 8500, false);
    await set({ user: 'userA', clientId: null }, 12000);
    await set({ user: 'userA', clientId: 'client6' }, null);
    check('userA', 'client6', 12000, 4000, true); // throttled due to sum of new and earlier values
  });

  test('each of the eight levels, highest first, and the bucket each one counts in', async (t) => {
    const { quotas } = await tempQuotaStore(t);
    const levels: [QuotaEntity, number, [string, string]][] = [
      [{ user: 'alice', clientId: 'app' }, 1, ['alice', 'app']],
      [{ user: 'alice', clientId: null }, 2, ['alice', 'app']],
      [{ user: 'alice' }, 3, ['alice', '']],
      [{ user: null, clientId: 'app' }, 4, ['alice', 'app']],
      [{ user: null, clientId: null }, 5, ['alice', 'app']],
      [{ user: null }, 6, ['alice', '']],
      [{ clientId: 'app' }, 7, ['', 'app']],
      [{ clientId: null }, 8, ['', 'app']],
    ];
    for (const [e, v] of levels) await setQuota(quotas, e, 'producer_byte_rate', v);
    for (const [e, v, [userTag, clientIdTag]] of levels) {
      assert.deepEqual(resolveQuota(quotas, 'producer_byte_rate', 'alice', 'app'), { limit: v, userTag, clientIdTag }, `level ${v}`);
      await setQuota(quotas, e, 'producer_byte_rate', null);
    }
    assert.equal(resolveQuota(quotas, 'producer_byte_rate', 'alice', 'app'), null);
  });

  test('quotas are per key: an entity without producer_byte_rate does not shadow a lower level that has it', async (t) => {
    const { quotas } = await tempQuotaStore(t);
    await setQuota(quotas, { user: 'alice' }, 'consumer_byte_rate', 100);
    await setQuota(quotas, { clientId: 'app' }, 'producer_byte_rate', 200);
    assert.deepEqual(resolveQuota(quotas, 'producer_byte_rate', 'alice', 'app'), { limit: 200, userTag: '', clientIdTag: 'app' });
    assert.deepEqual(resolveQuota(quotas, 'consumer_byte_rate', 'alice', 'app'), { limit: 100, userTag: 'alice', clientIdTag: '' });
  });

  test('unauthenticated clients are user ANONYMOUS: <default> and ANONYMOUS user quotas apply to them', async (t) => {
    const { quotas } = await tempQuotaStore(t);
    const m = new RequestQuotaManager(quotas, SETTINGS);
    const anonymous = newSession('PLAINTEXT', 'PLAINTEXT', '127.0.0.1');
    assert.equal(anonymous.principal, ANONYMOUS);
    await setQuota(quotas, { user: null }, 'producer_byte_rate', 1000);
    assert.equal(m.quotaFor('producer_byte_rate', 'ANONYMOUS', 'any'), 1000);
    await setQuota(quotas, { user: 'ANONYMOUS' }, 'producer_byte_rate', 500);
    assert.equal(m.quotaFor('producer_byte_rate', 'ANONYMOUS', 'any'), 500);
    assert.ok(m.record({ session: anonymous, clientId: 'any', apiKey: PRODUCE, requestBytes: 100_000, responseBytes: 0, handlerTimeMs: 0, nowMs: NOW }) > 0);
  });

  test('an empty or missing client id matches only user levels (Kafka\'s quotaLimit on empty tags)', async (t) => {
    const { quotas } = await tempQuotaStore(t);
    const m = new RequestQuotaManager(quotas, SETTINGS);
    await setQuota(quotas, { user: null, clientId: null }, 'producer_byte_rate', 4000);
    await setQuota(quotas, { clientId: null }, 'producer_byte_rate', 3000);
    assert.equal(m.quotaFor('producer_byte_rate', 'User1', ''), undefined);
    assert.equal(m.quotaFor('producer_byte_rate', 'User1', null), undefined);
    await setQuota(quotas, { user: 'User1' }, 'producer_byte_rate', 2500);
    assert.equal(m.quotaFor('producer_byte_rate', 'User1', ''), 2500);
    assert.equal(m.quotaFor('producer_byte_rate', 'User1', null), 2500);
    assert.equal(m.quotaFor('producer_byte_rate', 'User1', 'p1'), 2500);
    assert.equal(m.quotaFor('producer_byte_rate', 'User2', 'p1'), 4000);
  });
});

describe('RequestQuotaManager', () => {
  async function manager(t: { after(fn: () => Promise<void>): void }, settings: Partial<typeof SETTINGS> & { maxBuckets?: number; bucketIdleMs?: number } = {}) {
    const { quotas } = await tempQuotaStore(t);
    const throttled: [QuotaType, number][] = [];
    const m = new RequestQuotaManager(quotas, { ...SETTINGS, ...settings }, { throttled: (type, ms) => throttled.push([type, ms]) });
    return { quotas, m, throttled };
  }

  test('Produce counts request bytes, Fetch counts response bytes (not a follower\'s), each against its own quota', async (t) => {
    const { quotas, m, throttled } = await manager(t);
    await setQuota(quotas, { clientId: 'c' }, 'producer_byte_rate', 1000);
    await setQuota(quotas, { clientId: 'c' }, 'consumer_byte_rate', 2000);
    const s = userSession('ANONYMOUS');
    // 20,000 bytes over 10 padded windows: 2000/s, twice the produce quota -> (2000-1000)/1000 × 10 s.
    assert.equal(m.record({ session: s, clientId: 'c', apiKey: PRODUCE, requestBytes: 20_000, responseBytes: 50_000, handlerTimeMs: 0, nowMs: NOW }), 10_000);
    // The response bytes of a produce do not count against the fetch quota.
    assert.equal(m.record({ session: s, clientId: 'c', apiKey: FETCH, requestBytes: 1_000_000, responseBytes: 10_000, handlerTimeMs: 0, nowMs: NOW }), 0);
    assert.equal(m.record({ session: s, clientId: 'c', apiKey: FETCH, requestBytes: 0, responseBytes: 30_000, handlerTimeMs: 0, nowMs: NOW }), 10_000);
    assert.equal(m.record({ session: s, clientId: 'c', apiKey: FETCH, requestBytes: 0, responseBytes: 1_000_000, handlerTimeMs: 0, nowMs: NOW, fromFollower: true }), 0);
    assert.deepEqual(throttled, [['produce', 10_000], ['fetch', 10_000]]);
  });

  test('request_percentage counts handler time as percent of one thread, capped at one window; SASL and inter-broker APIs are exempt', async (t) => {
    const { quotas, m, throttled } = await manager(t);
    await setQuota(quotas, { user: 'alice' }, 'request_percentage', 10);
    const s = userSession('alice');
    // 500 ms of handler time is 50 percent-seconds; over 10 padded windows 5 %: within 10 %.
    assert.equal(m.record({ session: s, clientId: 'x', apiKey: 3, requestBytes: 10, responseBytes: 10, handlerTimeMs: 500, nowMs: NOW }), 0);
    // Another 1000 ms: 15 %, so (15 - 10) / 10 × 10 s = 5 s, capped at the 1 s window.
    assert.equal(m.record({ session: s, clientId: 'x', apiKey: 3, requestBytes: 10, responseBytes: 10, handlerTimeMs: 1000, nowMs: NOW }), 1000);
    for (const apiKey of [17, 36, 27]) {
      assert.equal(m.record({ session: s, clientId: 'x', apiKey, requestBytes: 10, responseBytes: 10, handlerTimeMs: 10_000, nowMs: NOW }), 0, `api ${apiKey} exempt`);
    }
    // ApiVersions counts once authenticated (Kafka's KafkaApis throttles it), not during a SASL handshake.
    const handshaking = newSession('SASL', 'SASL_PLAINTEXT', '127.0.0.1', { type: 'User', name: 'alice' });
    assert.equal(m.record({ session: handshaking, clientId: 'x', apiKey: 18, requestBytes: 10, responseBytes: 10, handlerTimeMs: 10_000, nowMs: NOW }), 0);
    assert.equal(m.record({ session: s, clientId: 'x', apiKey: 18, requestBytes: 10, responseBytes: 10, handlerTimeMs: 1, nowMs: NOW }), 1000);
    assert.deepEqual(throttled.map(([type]) => type), ['request', 'request']);
  });

  test('the longest throttle applies: bytes and request time of one Produce', async (t) => {
    const { quotas, m, throttled } = await manager(t);
    await setQuota(quotas, { user: 'bob' }, 'producer_byte_rate', 1000);
    await setQuota(quotas, { user: 'bob' }, 'request_percentage', 1);
    const ms = m.record({ session: userSession('bob'), clientId: 'p', apiKey: PRODUCE, requestBytes: 40_000, responseBytes: 10, handlerTimeMs: 200, nowMs: NOW });
    // Bytes: 4000/s vs 1000/s -> 30 s. Request time: 2 % vs 1 % -> 10 s, capped at 1 s.
    assert.equal(ms, 30_000);
    assert.deepEqual(throttled, [['produce', 30_000]]);
  });

  test('recordRequest counts a Produce\'s bytes at dispatch, recordResponse the rest; a pipelined burst is held from the first request over quota', async (t) => {
    const { quotas, m, throttled } = await manager(t);
    await setQuota(quotas, { clientId: 'pipe' }, 'producer_byte_rate', 1_000_000);
    await setQuota(quotas, { clientId: 'pipe' }, 'request_percentage', 50);
    const s = userSession('ANONYMOUS');
    // Ten 1 MB requests fit the 10 padded windows; the 11th is over: a connection stops dispatching there.
    const atDispatch: number[] = [];
    for (let i = 0; i < 12; i++) atDispatch.push(m.recordRequest({ session: s, clientId: 'pipe', apiKey: PRODUCE, requestBytes: 1_000_000, nowMs: NOW }));
    assert.deepEqual(atDispatch.map((ms) => ms > 0), [false, false, false, false, false, false, false, false, false, false, true, true]);
    assert.equal(atDispatch[10], 1000); // (11 MB / 10 s - 1 MB/s) / 1 MB/s × 10 s
    // Once handled, the bytes are not counted again; handler time is.
    assert.equal(m.recordResponse({ session: s, clientId: 'pipe', apiKey: PRODUCE, responseBytes: 100, handlerTimeMs: 10, nowMs: NOW }), 0);
    assert.equal(m.recordResponse({ session: s, clientId: 'pipe', apiKey: PRODUCE, responseBytes: 100, handlerTimeMs: 6000, nowMs: NOW }), 1000);
    assert.deepEqual(throttled.map(([type]) => type), ['produce', 'produce', 'request']);
    assert.equal(m.recordRequest({ session: s, clientId: 'pipe', apiKey: FETCH, requestBytes: 1e9, nowMs: NOW }), 0);
  });

  test('without any user or client-id quota nothing is counted', async (t) => {
    const { quotas, m } = await manager(t);
    await setQuota(quotas, { ip: null }, 'connection_creation_rate', 5);
    assert.equal(quotas.hasClientQuotas, false);
    assert.equal(produce(m, 'u', 'c', 1e12), 0);
    assert.deepEqual(m.bucketCounts(), { produce: 0, fetch: 0, request: 0 });
  });

  test('buckets are bounded: at most maxBuckets per type, idle ones dropped', async (t) => {
    const { quotas, m } = await manager(t, { maxBuckets: 3, bucketIdleMs: 120_000 });
    await setQuota(quotas, { clientId: null }, 'producer_byte_rate', 1e9);
    for (let i = 0; i < 10; i++) produce(m, 'u', `client-${i}`, 1, NOW + i);
    assert.equal(m.bucketCounts().produce, 3);
    // Ten minutes later the three are idle: the next request sweeps them.
    produce(m, 'u', 'late', 1, NOW + 600_000);
    assert.equal(m.bucketCounts().produce, 1);
  });

  test('a quota raised at runtime applies to an existing bucket without losing what it counted', async (t) => {
    const { quotas, m } = await manager(t);
    await setQuota(quotas, { clientId: 'p1' }, 'producer_byte_rate', 2000);
    assert.ok(produce(m, 'ANONYMOUS', 'p1', 2500 * 11) > 0);
    await setQuota(quotas, { clientId: 'p1' }, 'producer_byte_rate', 3000);
    assert.equal(produce(m, 'ANONYMOUS', 'p1', 0), 0);
    await setQuota(quotas, { clientId: 'p1' }, 'producer_byte_rate', 500);
    assert.ok(produce(m, 'ANONYMOUS', 'p1', 0) > 0);
  });
});

