// Connection creation rates (KIP-612): the broker-wide and per-listener max.connection.creation.rate
// and per-address connection_creation_rate quotas (from the real QuotaStore), on Kafka's sampled
// rate with explicit times.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionRateLimiter, UNLIMITED_CONNECTION_RATE, type ConnectionRefusal } from '../../../src/security/quota/connection-rate.js';
import { setQuota, tempQuotaStore } from './quota-fixture.js';

const T0 = 1_700_000_000_000;
const WINDOW = { windowNum: 11, windowSizeSeconds: 1 };

function admitMany(admit: (ip: string, nowMs: number) => boolean, n: number, ip: string, nowMs: number): number {
  let admitted = 0;
  for (let i = 0; i < n; i++) if (admit(ip, nowMs)) admitted++;
  return admitted;
}

describe('ConnectionRateLimiter', () => {
  test('broker-wide rate: a burst of (samples - 1) × rate, then refusals, which are not counted', () => {
    const refused: ConnectionRefusal[] = [];
    const l = new ConnectionRateLimiter({ ...WINDOW, brokerMaxRate: 10, listeners: [{ name: 'PLAINTEXT', maxRate: UNLIMITED_CONNECTION_RATE }] }, null, { refused: (r) => refused.push(r) });
    const admit = l.admitter('PLAINTEXT');
    // 100 at one instant are 10/s over the 10 padded windows; the 101st would be 10.1/s.
    assert.equal(admitMany(admit, 150, '10.0.0.1', T0), 100);
    assert.equal(refused.length, 50);
    assert.deepEqual(new Set(refused), new Set(['broker']));
    // The window stays 10 s until 10 full windows have passed; refused attempts did not add up.
    assert.equal(admit('10.0.0.1', T0 + 5_000), false);
    assert.equal(admit('10.0.0.1', T0 + 10_000), false);
    assert.equal(admit('10.0.0.1', T0 + 10_100), true); // 101 over 10.1 s
  });

  test('per-listener rates are separate; the inter-broker listener is not in the broker-wide rate but keeps its own', () => {
    const l = new ConnectionRateLimiter({
      ...WINDOW, brokerMaxRate: 2, interBrokerListener: 'INTERNAL',
      listeners: [{ name: 'EXTERNAL', maxRate: 1 }, { name: 'CLIENTS', maxRate: UNLIMITED_CONNECTION_RATE }, { name: 'INTERNAL', maxRate: 3 }],
    }, null);
    assert.equal(admitMany(l.admitter('EXTERNAL'), 20, '10.0.0.1', T0), 10);
    // CLIENTS has no own limit but shares the broker-wide 2/s with EXTERNAL: 10 more.
    assert.equal(admitMany(l.admitter('CLIENTS'), 20, '10.0.0.2', T0), 10);
    assert.equal(admitMany(l.admitter('INTERNAL'), 50, '10.0.0.3', T0), 30);
  });

  test('with a single listener, the inter-broker listener is not protected', () => {
    const l = new ConnectionRateLimiter({ ...WINDOW, brokerMaxRate: 1, interBrokerListener: 'PLAINTEXT', listeners: [{ name: 'PLAINTEXT', maxRate: UNLIMITED_CONNECTION_RATE }] }, null);
    assert.equal(admitMany(l.admitter('PLAINTEXT'), 20, '10.0.0.1', T0), 10);
  });

  test('per-address quotas from the quota store: its own, else the default ip entity; refusals do not use up the listener', async (t) => {
    const { quotas } = await tempQuotaStore(t);
    const refused: [ConnectionRefusal, string][] = [];
    const l = new ConnectionRateLimiter({ ...WINDOW, brokerMaxRate: UNLIMITED_CONNECTION_RATE, listeners: [{ name: 'PLAINTEXT', maxRate: 5 }] }, quotas, { refused: (r, name) => refused.push([r, name]) });
    const admit = l.admitter('PLAINTEXT');
    assert.equal(admitMany(admit, 30, '192.0.2.1', T0), 30); // no ip quota yet
    await setQuota(quotas, { ip: null }, 'connection_creation_rate', 2);
    await setQuota(quotas, { ip: '192.0.2.9' }, 'connection_creation_rate', 1);
    const t1 = T0 + 60_000;
    assert.equal(admitMany(admit, 100, '192.0.2.9', t1), 10);
    assert.equal(admitMany(admit, 100, '::ffff:192.0.2.9', t1), 0); // the same address
    assert.equal(admitMany(admit, 100, '192.0.2.10', t1), 20);
    // The 180 refused connections were taken back from the listener's 5/s (50 at one instant):
    // 20 are left, which the next address may use up to its own 20.
    assert.equal(admitMany(admit, 100, '192.0.2.11', t1), 20);
    assert.equal(admitMany(admit, 100, '192.0.2.12', t1), 0);
    assert.deepEqual(new Set(refused.map(([r]) => r)), new Set(['ip', 'listener']));
    assert.ok(refused.every(([, name]) => name === 'PLAINTEXT'));
  });

  test('addresses followed are bounded and idle ones dropped', async (t) => {
    const { quotas } = await tempQuotaStore(t);
    await setQuota(quotas, { ip: null }, 'connection_creation_rate', 100);
    const l = new ConnectionRateLimiter({ ...WINDOW, brokerMaxRate: UNLIMITED_CONNECTION_RATE, listeners: [], maxTrackedAddresses: 50, addressIdleMs: 120_000 }, quotas);
    const admit = l.admitter('PLAINTEXT');
    for (let i = 0; i < 200; i++) assert.equal(admit(`10.1.${i >> 8}.${i & 255}`, T0 + i), true);
    assert.equal(l.trackedAddresses, 50);
    admit('10.2.0.1', T0 + 600_000);
    assert.equal(l.trackedAddresses, 1);
  });
});
