// QuotaStore on the real metadata stores: the key layout, alter semantics (set, remove, delete the
// record when empty, compare-and-put under concurrent alters), and following changes with a watch,
// on the local store and on a real etcd shared by two "brokers" (a change through one applies at
// the other within a second).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdMetadataStore } from '../../../src/cluster/etcd-metadata-store.js';
import { QuotaStore } from '../../../src/security/quota/quota-store.js';
import { canonicalIp, entityOfKey, quotaKeyOf, quotasPrefix } from '../../../src/security/quota/quota-entity.js';
import { startEtcd } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/wait.js';
import { ROOT, setQuota, tempQuotaStore } from './quota-fixture.js';

describe('quota keys', () => {
  test('Kafka\'s layout, names percent-encoded so no name is <default> or crosses a segment', () => {
    const cases: [Parameters<typeof quotaKeyOf>[1], string][] = [
      [{ user: 'alice' }, 'users/alice'],
      [{ user: null }, 'users/<default>'],
      [{ user: 'alice', clientId: 'app/1' }, 'users/alice/clients/app%2F1'],
      [{ user: null, clientId: null }, 'users/<default>/clients/<default>'],
      [{ clientId: '<default>' }, 'clients/%3Cdefault%3E'],
      [{ ip: '10.0.0.1' }, 'ips/10.0.0.1'],
      [{ ip: null }, 'ips/<default>'],
      [{ user: 'CN=a b,O=c' }, 'users/CN%3Da%20b%2CO%3Dc'],
    ];
    for (const [entity, path] of cases) {
      const key = quotaKeyOf(ROOT, entity);
      assert.equal(key, `${ROOT}quotas/${path}`);
      assert.deepEqual(entityOfKey(quotasPrefix(ROOT), key), entity);
    }
    assert.equal(entityOfKey(quotasPrefix(ROOT), `${ROOT}quotas/users/a/b`), null);
    assert.equal(entityOfKey(quotasPrefix(ROOT), `${ROOT}quotas/users/%E0%A4%A`), null);
  });

  test('addresses are compared in canonical form', () => {
    assert.equal(canonicalIp('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(canonicalIp('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(canonicalIp('2001:DB8::0:1'), '2001:db8::1');
    assert.equal(canonicalIp('10.1.2.3'), '10.1.2.3');
    assert.equal(canonicalIp('host.example'), null);
  });
});

describe('QuotaStore on the local metadata store', () => {
  test('set, remove and delete: the record goes when its last key does; read() and the followed view agree', async (t) => {
    const { meta, quotas } = await tempQuotaStore(t);
    await setQuota(quotas, { user: 'alice', clientId: 'app' }, 'producer_byte_rate', 1024);
    await setQuota(quotas, { user: 'alice', clientId: 'app' }, 'request_percentage', 12.5);
    const key = `${ROOT}quotas/users/alice/clients/app`;
    assert.deepEqual(JSON.parse((await meta.get(key))!.value.toString()), { producer_byte_rate: 1024, request_percentage: 12.5 });
    assert.deepEqual(await quotas.read(), [{ entity: { user: 'alice', clientId: 'app' }, values: { producer_byte_rate: 1024, request_percentage: 12.5 } }]);
    assert.deepEqual(quotas.snapshot(), await quotas.read());
    assert.equal(quotas.valueOf('request_percentage', 'alice', 'app'), 12.5);

    // Setting the same value again writes nothing.
    const before = await meta.revision();
    await quotas.alter({ user: 'alice', clientId: 'app' }, [{ key: 'producer_byte_rate', value: 1024 }]);
    assert.equal(await meta.revision(), before);

    await setQuota(quotas, { user: 'alice', clientId: 'app' }, 'producer_byte_rate', null);
    assert.equal(quotas.valueOf('producer_byte_rate', 'alice', 'app'), undefined);
    await setQuota(quotas, { user: 'alice', clientId: 'app' }, 'request_percentage', null);
    assert.equal(await meta.get(key), null);
    assert.deepEqual(quotas.snapshot(), []);
    assert.equal(quotas.hasClientQuotas, false);
    // Removing from a missing entity is a no-op.
    await quotas.alter({ clientId: 'nobody' }, [{ key: 'producer_byte_rate', value: null }]);
    assert.equal(await meta.get(`${ROOT}quotas/clients/nobody`), null);
  });

  test('concurrent alters of one entity through two stores both land (compare-and-put)', async (t) => {
    const { meta, quotas } = await tempQuotaStore(t);
    const other = await QuotaStore.open({ store: meta, root: ROOT });
    t.after(() => other.close());
    const keys = ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage', 'controller_mutation_rate'] as const;
    await Promise.all(keys.map((key, i) => (i % 2 ? other : quotas).alter({ user: null }, [{ key, value: i + 1 }])));
    const [rec] = await quotas.read();
    assert.deepEqual(rec!.values, { producer_byte_rate: 1, consumer_byte_rate: 2, request_percentage: 3, controller_mutation_rate: 4 });
  });

  test('ip quotas: own address first (in any notation), then the default ip entity', async (t) => {
    const { quotas } = await tempQuotaStore(t);
    assert.equal(quotas.connectionRateFor('10.0.0.1'), undefined);
    await setQuota(quotas, { ip: null }, 'connection_creation_rate', 50);
    await setQuota(quotas, { ip: '::ffff:10.0.0.1' }, 'connection_creation_rate', 5);
    assert.equal(quotas.connectionRateFor('10.0.0.1'), 5);
    assert.equal(quotas.connectionRateFor('10.0.0.2'), 50);
    assert.equal(quotas.hasClientQuotas, false);
  });

  test('a record that is not JSON is ignored, the rest still apply', async (t) => {
    const { meta, quotas } = await tempQuotaStore(t);
    await meta.put(`${ROOT}quotas/users/broken`, Buffer.from('{not json'));
    await meta.put(`${ROOT}quotas/something/else`, Buffer.from('{}'));
    await setQuota(quotas, { user: 'ok' }, 'producer_byte_rate', 7);
    assert.deepEqual(quotas.snapshot(), [{ entity: { user: 'ok' }, values: { producer_byte_rate: 7 } }]);
    const reopened = await QuotaStore.open({ store: meta, root: ROOT });
    t.after(() => reopened.close());
    assert.deepEqual(reopened.snapshot(), [{ entity: { user: 'ok' }, values: { producer_byte_rate: 7 } }]);
  });
});

describe('QuotaStore on etcd, two brokers', { timeout: 60_000 }, () => {
  test('a change through one broker applies at the other within a second; a restarted broker lists what is there', async (t) => {
    const etcd = await startEtcd(t);
    const open = async () => {
      const store = await EtcdMetadataStore.open({ endpoints: [etcd.endpoint] });
      const quotas = await QuotaStore.open({ store, root: ROOT });
      t.after(async () => { quotas.close(); await store.close(); });
      return quotas;
    };
    const a = await open();
    const b = await open();
    let changes = 0;
    b.onChange(() => { changes++; });

    const started = Date.now();
    await a.alter({ user: 'alice' }, [{ key: 'producer_byte_rate', value: 1_048_576 }]);
    await waitFor(() => b.valueOf('producer_byte_rate', 'alice', undefined) === 1_048_576, 1_000, 'broker B applies the quota set through A', 5);
    const setMs = Date.now() - started;

    const removed = Date.now();
    await a.alter({ user: 'alice' }, [{ key: 'producer_byte_rate', value: null }]);
    await waitFor(() => b.valueOf('producer_byte_rate', 'alice', undefined) === undefined, 1_000, 'broker B drops the removed quota', 5);
    const removeMs = Date.now() - removed;
    assert.ok(changes >= 2);
    t.diagnostic(`applied at the other broker after ${setMs} ms (set), ${removeMs} ms (remove)`);

    await b.alter({ clientId: null }, [{ key: 'consumer_byte_rate', value: 2048 }]);
    const c = await open();
    assert.equal(c.valueOf('consumer_byte_rate', undefined, null), 2048);
    assert.deepEqual(await c.read(), [{ entity: { clientId: null }, values: { consumer_byte_rate: 2048 } }]);
  });
});
