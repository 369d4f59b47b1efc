/**
 * sasl.jaas.config parsing (Kafka's JaasConfig grammar; errors never quote a value) and
 * SASL/PLAIN: RFC 4616 message parsing with Kafka's messages, passwords from the JAAS users and,
 * for users not listed there, from SCRAM credentials in a real local metadata store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JaasConfigError, LOGIN_MODULES, credentialsOf, parseJaasConfig, parseSaslJaasConfig, plainUsersOf } from '../../../src/security/sasl/jaas.js';
import { PlainServer, parsePlainMessage } from '../../../src/security/sasl/plain-server.js';
import { SaslFailure } from '../../../src/security/sasl/sasl-failure.js';
import { unsecuredOptionsOf } from '../../../src/security/sasl/oauth-unsecured.js';
import { LocalMetadataStore } from '../../../src/cluster/local-metadata-store.js';
import { MetadataScramCredentialStore } from '../../../src/security/sasl/scram-credential-store.js';
import { credentialFromPassword, scramAlgorithm } from '../../../src/security/sasl/scram.js';

test('a broker\'s PlainLoginModule config: own credentials and user_<name> entries', () => {
  const e = parseSaslJaasConfig('org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice secret; with \\"quotes\\"";');
  assert.equal(e.loginModule, LOGIN_MODULES.PLAIN);
  assert.equal(e.controlFlag, 'required');
  assert.deepEqual(credentialsOf(e), { username: 'admin', password: 'admin-secret' });
  assert.deepEqual([...plainUsersOf(e)], [['admin', 'admin-secret'], ['alice', 'alice secret; with "quotes"']]);
});

test('ScramLoginModule and OAuthBearerLoginModule entries; comments, single quotes, bare values, other flags', () => {
  const s = parseSaslJaasConfig(`// broker to broker
    org.apache.kafka.common.security.scram.ScramLoginModule /* flag next */ REQUIRED username='broker' password=bare-value_1.x;`);
  assert.equal(s.loginModule, LOGIN_MODULES.SCRAM);
  assert.deepEqual(credentialsOf(s), { username: 'broker', password: 'bare-value_1.x' });
  const o = parseSaslJaasConfig('org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule optional unsecuredLoginStringClaim_sub="alice" unsecuredValidatorRequiredScope="read write" unsecuredValidatorAllowableClockSkewMs="2000";');
  assert.equal(o.controlFlag, 'optional');
  assert.equal(o.options.get('unsecuredLoginStringClaim_sub'), 'alice');
  assert.deepEqual(unsecuredOptionsOf(o), { principalClaimName: 'sub', scopeClaimName: 'scope', requiredScope: ['read', 'write'], allowableClockSkewMs: 2000 });
  assert.equal(credentialsOf(o), null);
  assert.equal(parseJaasConfig('a.B required; c.D sufficient x="1";').length, 2);
});

test('bad JAAS texts fail with Kafka\'s reasons and never echo a value', () => {
  const secret = 's3cr3t-value';
  const cases: Array<[string, RegExp]> = [
    ['', /login module not specified/],
    ['a.B', /control flag not specified/],
    [`a.B required password="${secret}"`, /not terminated by a semicolon/],
    [`a.B bogus password="${secret}";`, /invalid login module control flag/],
    ['a.B required password;', /value not specified for option password/],
    [`a.B required password="${secret}`, /unterminated quoted value/],
    ['a.B required x=1; c.D required y=2;', /contains 2 login modules, should be 1/],
    [`a.B required password=${secret} ! ;`, /unexpected character/],
  ];
  for (const [text, why] of cases) {
    assert.throws(() => parseSaslJaasConfig(text), (err: unknown) => {
      assert.ok(err instanceof JaasConfigError, text);
      assert.match(err.message, why);
      assert.ok(!err.message.includes(secret), `${err.message} leaks the value`);
      return true;
    });
  }
});

test('PLAIN messages: three NUL-separated fields, as Kafka counts them', () => {
  assert.deepEqual(parsePlainMessage(Buffer.from('\0alice\0pw')), { authorizationId: '', username: 'alice', password: 'pw' });
  assert.deepEqual(parsePlainMessage(Buffer.from('alice\0alice\0p\u00e4ss')), { authorizationId: 'alice', username: 'alice', password: 'p\u00e4ss' });
  assert.throws(() => parsePlainMessage(Buffer.from('alice\0pw')), (e: unknown) => e instanceof SaslFailure && e.clientMessage === 'Invalid SASL/PLAIN response: expected 3 tokens, got 2');
  assert.throws(() => parsePlainMessage(Buffer.from('a\0b\0c\0d\0e')), (e: unknown) => e instanceof SaslFailure && e.clientMessage === 'Invalid SASL/PLAIN response: expected 3 tokens, got 4');
});

test('PLAIN against JAAS users, then SCRAM credentials of users not in the JAAS config', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-plain-'));
  const store = await LocalMetadataStore.open(dir);
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  const scram = new MetadataScramCredentialStore(store, '/ferry/test/');
  await scram.put('SCRAM-SHA-256', 'carol', await credentialFromPassword(scramAlgorithm('SCRAM-SHA-256'), 'carol-pw', 4096));
  await scram.put('SCRAM-SHA-512', 'dave', await credentialFromPassword(scramAlgorithm('SCRAM-SHA-512'), 'dave-512', 4096));
  await scram.put('SCRAM-SHA-256', 'dave', await credentialFromPassword(scramAlgorithm('SCRAM-SHA-256'), 'dave-256', 4096));
  // The JAAS entry wins over a SCRAM credential of the same name.
  await scram.put('SCRAM-SHA-256', 'alice', await credentialFromPassword(scramAlgorithm('SCRAM-SHA-256'), 'scram-alice', 4096));
  const users = { jaasUsers: new Map([['alice', 'alice-pw']]), scram };
  const plain = async (msg: string) => {
    const s = new PlainServer(users);
    const out = await s.evaluate(Buffer.from(msg, 'utf8'));
    assert.equal(out.length, 0, 'PLAIN answers an empty token');
    return s;
  };
  const refusedWith = (message: string) => (e: unknown) => e instanceof SaslFailure && e.clientMessage === message;
  assert.equal((await plain('\0alice\0alice-pw')).authorizationId, 'alice');
  assert.equal((await plain('alice\0alice\0alice-pw')).authorizationId, 'alice');
  await assert.rejects(plain('\0alice\0scram-alice'), refusedWith('Authentication failed: Invalid username or password'));
  assert.equal((await plain('\0carol\0carol-pw')).authorizationId, 'carol');
  assert.equal((await plain('\0dave\0dave-512')).authorizationId, 'dave');
  assert.equal((await plain('\0dave\0dave-256')).authorizationId, 'dave', 'either mechanism\'s credential');
  await assert.rejects(plain('\0carol\0wrong'), refusedWith('Authentication failed: Invalid username or password'));
  await assert.rejects(plain('\0nobody\0x'), refusedWith('Authentication failed: Invalid username or password'));
  await assert.rejects(plain('\0\0x'), refusedWith('Authentication failed: username not specified'));
  await assert.rejects(plain('\0alice\0'), refusedWith('Authentication failed: password not specified'));
  await assert.rejects(plain('bob\0alice\0alice-pw'), refusedWith('Authentication failed: Client requested an authorization id that is different from username'));
  const noScram = new PlainServer({ jaasUsers: new Map(), scram: null });
  await assert.rejects(noScram.evaluate(Buffer.from('\0carol\0carol-pw')), refusedWith('Authentication failed: Invalid username or password'));
});
