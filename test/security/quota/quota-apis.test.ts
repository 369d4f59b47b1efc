// DescribeClientQuotas and AlterClientQuotas handlers over the real QuotaStore, through the codecs
// at v0 and v1: filters (exact, default, specified, strict), set/remove/validateOnly, Kafka's
// validation errors, and the cluster ACLs.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../../src/protocol/messages/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { MATCH_DEFAULT, MATCH_EXACT, MATCH_SPECIFIED } from '../../../src/broker/quota-apis.js';
import { TestAuthorizer } from '../../helpers/test-authorizer.js';
import { waitFor } from '../../helpers/wait.js';
import { tempQuotaStore, userSession } from './quota-fixture.js';
import { quotaApis } from './quota-harness.js';

type Entity = { entityType: string; entityName: string | null }[];
const user = (name: string | null): Entity => [{ entityType: 'user', entityName: name }];
const userClient = (u: string | null, c: string | null): Entity => [{ entityType: 'user', entityName: u }, { entityType: 'client-id', entityName: c }];
const client = (name: string | null): Entity => [{ entityType: 'client-id', entityName: name }];
const ip = (name: string | null): Entity => [{ entityType: 'ip', entityName: name }];
const set = (key: string, value: number) => ({ key, value, remove: false });
const remove = (key: string) => ({ key, value: 0, remove: true });

async function harness(t: { after(fn: () => Promise<void>): void }) {
  const { quotas, meta } = await tempQuotaStore(t);
  const h = quotaApis(quotas);
  const alter = async (entries: { entity: Entity; ops: ReturnType<typeof set>[] }[], validateOnly = false, version = 1) =>
    (await h.call(ApiKey.AlterClientQuotas, version, { entries, validateOnly })).entries as { errorCode: number; errorMessage: string | null; entity: Entity }[];
  const describeQuotas = async (components: { entityType: string; matchType: number; match: string | null }[], strict = false, version = 1) =>
    h.call(ApiKey.DescribeClientQuotas, version, { components, strict });
  return { quotas, meta, h, alter, describeQuotas };
}

/** Entries as sorted "entity -> values" strings, for order-independent comparison. */
function flat(res: any): string[] {
  return (res.entries as any[]).map((e) => `${e.entity.map((c: any) => `${c.entityType}=${c.entityName ?? '<default>'}`).join(',')} -> ${e.values.map((v: any) => `${v.key}=${v.value}`).sort().join(',')}`).sort();
}

describe('AlterClientQuotas and DescribeClientQuotas', () => {
  for (const version of [0, 1]) {
    test(`v${version}: set, describe with each match type and strictness, remove`, async (t) => {
      const { alter, describeQuotas } = await harness(t);
      const results = await alter([
        { entity: user('alice'), ops: [set('producer_byte_rate', 1048576), set('request_percentage', 12.5)] },
        { entity: userClient('alice', 'app'), ops: [set('consumer_byte_rate', 2048)] },
        { entity: user(null), ops: [set('producer_byte_rate', 1000)] },
        { entity: client(null), ops: [set('consumer_byte_rate', 500)] },
        { entity: ip('10.0.0.1'), ops: [set('connection_creation_rate', 20)] },
      ], false, version);
      assert.deepEqual(results.map((r) => r.errorCode), [0, 0, 0, 0, 0]);
      assert.deepEqual(results[1]!.entity, userClient('alice', 'app'));

      const all = await describeQuotas([], false, version);
      assert.equal(all.errorCode, 0);
      assert.deepEqual(flat(all), [
        'client-id=<default> -> consumer_byte_rate=500',
        'ip=10.0.0.1 -> connection_creation_rate=20',
        'user=<default> -> producer_byte_rate=1000',
        'user=alice -> producer_byte_rate=1048576,request_percentage=12.5',
        'user=alice,client-id=app -> consumer_byte_rate=2048',
      ]);
      // EXACT user alice: not strict includes alice's user+client entity; strict only alice.
      const exact = [{ entityType: 'user', matchType: MATCH_EXACT, match: 'alice' }];
      assert.deepEqual(flat(await describeQuotas(exact, false, version)), ['user=alice -> producer_byte_rate=1048576,request_percentage=12.5', 'user=alice,client-id=app -> consumer_byte_rate=2048']);
      assert.deepEqual(flat(await describeQuotas(exact, true, version)), ['user=alice -> producer_byte_rate=1048576,request_percentage=12.5']);
      // DEFAULT user, SPECIFIED user (any name, strict: users alone), user + SPECIFIED client-id.
      assert.deepEqual(flat(await describeQuotas([{ entityType: 'user', matchType: MATCH_DEFAULT, match: null }], true, version)), ['user=<default> -> producer_byte_rate=1000']);
      assert.deepEqual(flat(await describeQuotas([{ entityType: 'user', matchType: MATCH_SPECIFIED, match: null }], true, version)), [
        'user=<default> -> producer_byte_rate=1000', 'user=alice -> producer_byte_rate=1048576,request_percentage=12.5',
      ]);
      assert.deepEqual(flat(await describeQuotas([exact[0]!, { entityType: 'client-id', matchType: MATCH_SPECIFIED, match: null }], true, version)), ['user=alice,client-id=app -> consumer_byte_rate=2048']);
      assert.deepEqual(flat(await describeQuotas([{ entityType: 'ip', matchType: MATCH_SPECIFIED, match: null }], false, version)), ['ip=10.0.0.1 -> connection_creation_rate=20']);
      assert.deepEqual(flat(await describeQuotas([{ entityType: 'client-id', matchType: MATCH_EXACT, match: 'nobody' }], false, version)), []);

      // remove=true deletes a key; the entity goes with its last key; removing an unset key is a no-op.
      assert.deepEqual((await alter([{ entity: user('alice'), ops: [remove('request_percentage'), remove('consumer_byte_rate'), remove('no_such_key')] }], false, version)).map((r) => r.errorCode), [0]);
      assert.deepEqual(flat(await describeQuotas(exact, true, version)), ['user=alice -> producer_byte_rate=1048576']);
      await alter([{ entity: user('alice'), ops: [remove('producer_byte_rate')] }], false, version);
      assert.deepEqual(flat(await describeQuotas(exact, true, version)), []);
    });
  }

  test('validateOnly checks and writes nothing; the followed view applies real changes', async (t) => {
    const { alter, describeQuotas, quotas, meta } = await harness(t);
    const before = await meta.revision();
    assert.deepEqual((await alter([{ entity: user('bob'), ops: [set('producer_byte_rate', 10)] }], true)).map((r) => r.errorCode), [0]);
    assert.deepEqual((await alter([{ entity: user('bob'), ops: [set('producer_byte_rate', -1)] }], true)).map((r) => r.errorCode), [ErrorCode.INVALID_REQUEST]);
    assert.equal(await meta.revision(), before);
    assert.deepEqual(flat(await describeQuotas([])), []);
    await alter([{ entity: user('bob'), ops: [set('producer_byte_rate', 10)] }]);
    await waitFor(() => quotas.valueOf('producer_byte_rate', 'bob', undefined) === 10, 2_000, 'the store follows the alter', 5);
  });

  test('Kafka\'s validation: keys by entity kind, values > 0 and integral where long/int, entity shape', async (t) => {
    const { alter, describeQuotas } = await harness(t);
    const cases: [string, { entity: Entity; ops: ReturnType<typeof set>[] }, RegExp][] = [
      ['unknown key', { entity: user('a'), ops: [set('producer_rate', 1)] }, /Invalid configuration key producer_rate/],
      ['ip key on a user', { entity: user('a'), ops: [set('connection_creation_rate', 1)] }, /Invalid configuration key connection_creation_rate/],
      ['user key on an ip', { entity: ip('10.0.0.1'), ops: [set('producer_byte_rate', 1)] }, /Invalid configuration key producer_byte_rate/],
      ['negative', { entity: user('a'), ops: [set('producer_byte_rate', -5)] }, /must be greater than 0/],
      ['zero', { entity: client('c'), ops: [set('request_percentage', 0)] }, /must be greater than 0/],
      ['fractional long', { entity: user('a'), ops: [set('consumer_byte_rate', 10.5)] }, /cannot be a fractional value/],
      ['fractional int', { entity: ip(null), ops: [set('connection_creation_rate', 1.5)] }, /cannot be a fractional value/],
      ['int too large', { entity: ip(null), ops: [set('connection_creation_rate', 2 ** 31)] }, /too large for an INT/],
      ['not finite', { entity: user('a'), ops: [set('request_percentage', Infinity)] }, /finite/],
      ['duplicate key', { entity: user('a'), ops: [set('producer_byte_rate', 1), set('producer_byte_rate', 2)] }, /Duplicate quota key producer_byte_rate/],
      ['empty entity', { entity: [], ops: [set('producer_byte_rate', 1)] }, /Invalid empty client quota entity/],
      ['unknown entity type', { entity: [{ entityType: 'group', entityName: 'g' }], ops: [set('producer_byte_rate', 1)] }, /Unhandled client quota entity type: group/],
      ['entity type twice', { entity: [...user('a'), ...user('b')], ops: [set('producer_byte_rate', 1)] }, /duplicate entity entry user/],
      ['empty name', { entity: user(''), ops: [set('producer_byte_rate', 1)] }, /Empty user not supported/],
      ['ip with a user', { entity: [...ip('10.0.0.1'), ...user('a')], ops: [set('connection_creation_rate', 1)] }, /IP entity should not be combined/],
      ['not an address', { entity: ip('not-an-ip'), ops: [set('connection_creation_rate', 1)] }, /not-an-ip is not a valid IP/],
    ];
    for (const [what, entry, message] of cases) {
      const [r] = await alter([entry]);
      assert.equal(r!.errorCode, ErrorCode.INVALID_REQUEST, what);
      assert.match(r!.errorMessage ?? '', message, what);
    }
    // Fractional doubles are fine; one bad entity does not stop the others; an entity twice is refused.
    const mixed = await alter([
      { entity: user('ok'), ops: [set('request_percentage', 33.3)] },
      { entity: user('bad'), ops: [set('producer_byte_rate', 0)] },
      { entity: client('twice'), ops: [set('producer_byte_rate', 1)] },
      { entity: client('twice'), ops: [set('consumer_byte_rate', 1)] },
      { entity: ip('::1'), ops: [set('connection_creation_rate', 3)] },
    ]);
    assert.deepEqual(mixed.map((r) => r.errorCode), [0, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, 0]);
    assert.match(mixed[2]!.errorMessage!, /Ignoring duplicate entity/);
    assert.deepEqual(flat(await describeQuotas([])), ['ip=::1 -> connection_creation_rate=3', 'user=ok -> request_percentage=33.3']);
  });

  test('describe filter errors answer the whole request (INVALID_REQUEST, UNSUPPORTED_VERSION for an unknown type)', async (t) => {
    const { describeQuotas } = await harness(t);
    const cases: [string, { entityType: string; matchType: number; match: string | null }[], number, RegExp][] = [
      ['exact without a name', [{ entityType: 'user', matchType: MATCH_EXACT, match: null }], ErrorCode.INVALID_REQUEST, /MATCH_TYPE_EXACT, but set match string to null/],
      ['default with a name', [{ entityType: 'user', matchType: MATCH_DEFAULT, match: 'x' }], ErrorCode.INVALID_REQUEST, /MATCH_TYPE_DEFAULT, but also specified a match string/],
      ['specified with a name', [{ entityType: 'client-id', matchType: MATCH_SPECIFIED, match: 'x' }], ErrorCode.INVALID_REQUEST, /MATCH_TYPE_SPECIFIED, but also specified a match string/],
      ['unknown match type', [{ entityType: 'user', matchType: 7, match: null }], ErrorCode.INVALID_REQUEST, /Unknown match type 7/],
      ['unknown entity type', [{ entityType: 'topic', matchType: MATCH_SPECIFIED, match: null }], ErrorCode.UNSUPPORTED_VERSION, /Unsupported entity type topic/],
      ['empty entity type', [{ entityType: '', matchType: MATCH_SPECIFIED, match: null }], ErrorCode.INVALID_REQUEST, /Invalid empty entity type/],
      ['type twice', [{ entityType: 'user', matchType: MATCH_SPECIFIED, match: null }, { entityType: 'user', matchType: MATCH_DEFAULT, match: null }], ErrorCode.INVALID_REQUEST, /cannot appear more than once/],
      ['ip with user', [{ entityType: 'ip', matchType: MATCH_SPECIFIED, match: null }, { entityType: 'user', matchType: MATCH_SPECIFIED, match: null }], ErrorCode.INVALID_REQUEST, /IP filter component should not be used/],
    ];
    for (const [what, components, code, message] of cases) {
      for (const version of [0, 1]) {
        const res = await describeQuotas(components, false, version);
        assert.equal(res.errorCode, code, `${what} v${version}`);
        assert.match(res.errorMessage ?? '', message, what);
        assert.equal(res.entries, null, what);
      }
    }
  });

  test('DESCRIBE_CONFIGS / ALTER_CONFIGS on the cluster, else CLUSTER_AUTHORIZATION_FAILED', async (t) => {
    const { quotas } = await tempQuotaStore(t);
    const authorizer = new TestAuthorizer();
    const h = quotaApis(quotas, authorizer);
    const alice = userSession('alice');
    const alterBody = { entries: [{ entity: user('x'), ops: [set('producer_byte_rate', 1)] }, { entity: client('y'), ops: [set('producer_byte_rate', 1)] }], validateOnly: false };
    const describeBody = { components: [], strict: false };

    let res = await h.call(ApiKey.AlterClientQuotas, 1, alterBody, alice);
    assert.deepEqual(res.entries.map((e: any) => [e.errorCode, e.errorMessage, e.entity]), [
      [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.', user('x')],
      [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.', client('y')],
    ]);
    res = await h.call(ApiKey.DescribeClientQuotas, 1, describeBody, alice);
    assert.equal(res.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assert.equal(res.entries, null);
    assert.deepEqual(await quotas.read(), []);

    authorizer.grant('User:alice', 'DESCRIBE_CONFIGS', 'CLUSTER', 'kafka-cluster');
    res = await h.call(ApiKey.DescribeClientQuotas, 1, describeBody, alice);
    assert.equal(res.errorCode, 0);
    res = await h.call(ApiKey.AlterClientQuotas, 1, alterBody, alice);
    assert.equal(res.entries[0].errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);

    authorizer.grant('User:alice', 'ALTER_CONFIGS', 'CLUSTER', 'kafka-cluster');
    res = await h.call(ApiKey.AlterClientQuotas, 1, alterBody, alice);
    assert.deepEqual(res.entries.map((e: any) => e.errorCode), [0, 0]);
    authorizer.revoke('User:alice', 'DESCRIBE_CONFIGS', 'CLUSTER', 'kafka-cluster');
    // ALTER_CONFIGS implies DESCRIBE_CONFIGS, as in Kafka.
    res = await h.call(ApiKey.DescribeClientQuotas, 1, describeBody, alice);
    assert.equal(res.entries.length, 2);
  });

  test('names with slashes, percent signs and the literal "<default>" stay distinct from defaults', async (t) => {
    const { alter, describeQuotas } = await harness(t);
    await alter([
      { entity: client('<default>'), ops: [set('producer_byte_rate', 1)] },
      { entity: client(null), ops: [set('producer_byte_rate', 2)] },
      { entity: userClient('CN=a/b,O=%20', 'x/y'), ops: [set('producer_byte_rate', 3)] },
    ]);
    const res = await describeQuotas([{ entityType: 'client-id', matchType: MATCH_EXACT, match: '<default>' }], true);
    assert.deepEqual(res.entries, [{ entity: [{ entityType: 'client-id', entityName: '<default>' }], values: [{ key: 'producer_byte_rate', value: 1 }] }]);
    const odd = await describeQuotas([{ entityType: 'user', matchType: MATCH_EXACT, match: 'CN=a/b,O=%20' }], false);
    assert.deepEqual(flat(odd), ['user=CN=a/b,O=%20,client-id=x/y -> producer_byte_rate=3']);
  });
});
