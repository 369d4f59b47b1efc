/**
 * DescribeUserScramCredentials / AlterUserScramCredentials on a real socket, with Kafka's
 * answers (ScramImage.describe, ScramControlManager.alterCredentials): listing, per-user
 * results, duplicates, unknown mechanisms, iteration bounds, deleting what is not there,
 * cluster authorization (DESCRIBE / ALTER on the cluster), and what is stored (no salted password).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaConnection } from '../../../src/admin/kafka-connection.js';
import { ApiKey } from '../../../src/protocol/messages/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { ScramClient } from '../../../src/security/sasl/scram-client.js';
import { ScramServer } from '../../../src/security/sasl/scram-server.js';
import { saltPassword, scramAlgorithm } from '../../../src/security/sasl/scram.js';
import type { Authorizer } from '../../../src/security/types.js';
import { startSaslTestBroker, type SaslTestBroker } from './sasl-test-broker.js';

const SHA256 = 1;
const SHA512 = 2;
const salt = Buffer.from('0123456789abcdef');

async function setup(t: { after(fn: () => Promise<void> | void): void }, authorizer?: Authorizer): Promise<{ b: SaslTestBroker; c: KafkaConnection }> {
  const b = await startSaslTestBroker({ authorizer });
  t.after(() => b.close());
  const c = await KafkaConnection.connect(b.address, { security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: 'admin', password: 'admin-secret' } } });
  t.after(() => c.close());
  return { b, c };
}

const upsert = async (name: string, mechanism: number, iterations: number, password = 'pw') => ({
  name, mechanism, iterations, salt, saltedPassword: await saltPassword(scramAlgorithm(mechanism === SHA512 ? 'SCRAM-SHA-512' : 'SCRAM-SHA-256'), password, salt, Math.max(iterations, 1)),
});
const alter = (c: KafkaConnection, upsertions: object[], deletions: object[] = []) => c.request(ApiKey.AlterUserScramCredentials, 0, { upsertions, deletions });
const describe = (c: KafkaConnection, users: string[] | null) => c.request(ApiKey.DescribeUserScramCredentials, 0, { users: users === null ? null : users.map((name) => ({ name })) });
const results = (r: any) => r.results.map((x: any) => [x.user, x.errorCode, x.errorMessage]);

test('alter then describe: all users, named users, unknown and duplicate names', async (t) => {
  const { b, c } = await setup(t);
  assert.deepEqual(results(await alter(c, [await upsert('alice', SHA256, 4096), await upsert('bob', SHA512, 8192)])), [['alice', 0, null], ['bob', 0, null]]);
  assert.deepEqual(results(await alter(c, [await upsert('alice', SHA512, 16384)])), [['alice', 0, null]]);

  for (const all of [null, []]) {
    const d = await describe(c, all);
    assert.equal(d.errorCode, 0);
    assert.deepEqual(d.results.map((r: any) => [r.user, r.credentialInfos.map((i: any) => [i.mechanism, i.iterations])]),
      [['alice', [[SHA256, 4096], [SHA512, 16384]]], ['bob', [[SHA512, 8192]]]]);
  }
  const d = await describe(c, ['bob', 'nobody', 'alice', 'alice']);
  assert.deepEqual(d.results.map((r: any) => [r.user, r.errorCode, r.errorMessage, r.credentialInfos.length]), [
    ['bob', 0, null, 1],
    ['nobody', ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to describe a user credential that does not exist: nobody', 0],
    ['alice', ErrorCode.DUPLICATE_RESOURCE, 'Cannot describe SCRAM credentials for the same user twice in a single request: alice', 0],
  ]);
  // What the store holds derives from the salted password; the salted password itself is not kept.
  const stored = (await b.scram.get('SCRAM-SHA-256', 'alice'))!;
  const salted = await saltPassword(scramAlgorithm('SCRAM-SHA-256'), 'pw', salt, 4096);
  assert.ok(!stored.storedKey.equals(salted) && !stored.serverKey.equals(salted));
  const server = new ScramServer(scramAlgorithm('SCRAM-SHA-256'), (u) => b.scram.get('SCRAM-SHA-256', u));
  const client = new ScramClient(scramAlgorithm('SCRAM-SHA-256'), 'alice', 'pw');
  client.verifyServerFinal(await server.evaluate(await client.finalMessage(await server.evaluate(client.firstMessage()))));
});

test('alter refusals: iterations out of range, unknown mechanism, empty name, a user twice (even for two mechanisms), deleting nothing', async (t) => {
  const { c } = await setup(t);
  const r = await alter(c, [
    await upsert('few', SHA256, 4095), await upsert('many', SHA256, 16385), await upsert('odd', 3, 4096), await upsert('', SHA256, 4096),
    await upsert('twice', SHA256, 4096), await upsert('twice', SHA512, 4096), await upsert('ok', SHA256, 4096),
  ], [{ name: 'ghost', mechanism: SHA256 }]);
  const byUser = new Map(results(r).map((x: any[]) => [x[0], [x[1], x[2]]]));
  assert.deepEqual(Object.fromEntries(byUser), {
    ok: [0, null],
    ghost: [ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist'],
    few: [ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too few iterations'],
    many: [ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too many iterations'],
    odd: [ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism'],
    '': [ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty'],
    twice: [ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request'],
  });
  assert.deepEqual((await describe(c, null)).results.map((x: any) => x.user), ['ok'], 'only the valid change was applied');
  assert.deepEqual(results(await alter(c, [], [{ name: 'ok', mechanism: SHA256 }])), [['ok', 0, null]]);
  assert.deepEqual((await describe(c, null)).results, []);
});

test('without DESCRIBE / ALTER on the cluster: CLUSTER_AUTHORIZATION_FAILED (top level for describe, per user for alter)', async (t) => {
  const checked: string[] = [];
  const denyAll: Authorizer = { enabled: true, authorize: (s, op, type, name) => { checked.push(`${s.principal.name} ${op} ${type} ${name}`); return false; } };
  const { b, c } = await setup(t, denyAll);
  const d = await describe(c, null);
  assert.equal(d.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  assert.equal(d.errorMessage, 'Cluster authorization failed.');
  const a = await alter(c, [await upsert('z', SHA256, 4096), await upsert('a', SHA256, 4096)], [{ name: 'z', mechanism: SHA512 }]);
  assert.deepEqual(results(a), [['a', ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.'], ['z', ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.']]);
  assert.deepEqual(checked, ['admin DESCRIBE CLUSTER kafka-cluster', 'admin ALTER CLUSTER kafka-cluster'], 'the authenticated principal is the one checked');
  assert.deepEqual(await b.scram.list(), []);
});
