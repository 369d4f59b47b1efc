/**
 * buildSaslServerSettings: a listener's SASL settings from its configuration values (PLAIN users
 * from the PlainLoginModule entry, unsecured validator options from an OAuthBearerLoginModule
 * entry, the JWKS only when OAUTHBEARER is enabled), and errors that name the setting, not its value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSaslServerSettings, SaslConfigError } from '../../../src/security/sasl/listener-settings.js';
import { DEFAULT_OAUTH_SETTINGS } from '../../../src/security/sasl/oauth-validator.js';
import type { ScramCredentialStore } from '../../../src/security/sasl/scram-credential-store.js';

const scram = { get: async () => null } as unknown as ScramCredentialStore;
const deps = { scram, now: () => 1_700_000_000_000 };
const PLAIN_JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="s3cret" user_admin="s3cret" user_alice="alice-pw";';
const OAUTH_JAAS = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorRequiredScope="kafka";';
const base = { listenerName: 'SASL_SSL', oauth: DEFAULT_OAUTH_SETTINGS, reauthMs: 0 };
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

test('PLAIN users from the mechanism\'s PlainLoginModule entry; unsecured options from the OAuthBearerLoginModule entry', async () => {
  const s = buildSaslServerSettings({ ...base, enabledMechanisms: ['PLAIN', 'OAUTHBEARER', 'SCRAM-SHA-256'], jaasConfig: (m) => (m === 'OAUTHBEARER' ? OAUTH_JAAS : PLAIN_JAAS) }, deps);
  assert.deepEqual([...s.plainUsers], [['admin', 's3cret'], ['alice', 'alice-pw']]);
  assert.deepEqual(s.enabledMechanisms, ['PLAIN', 'OAUTHBEARER', 'SCRAM-SHA-256']);
  const token = `${b64({ alg: 'none' })}.${b64({ sub: 'a', exp: 1_700_000_600, scope: 'other' })}.`;
  await assert.rejects(s.oauth.validate(token), /missing a required scope \(kafka\)/);
  s.oauth.close();
  // One broker-wide PlainLoginModule entry for every mechanism (sasl.jaas.config): OAUTHBEARER keeps Kafka's defaults.
  const one = buildSaslServerSettings({ ...base, enabledMechanisms: ['PLAIN', 'OAUTHBEARER'], jaasConfig: () => PLAIN_JAAS }, deps);
  assert.equal((await one.oauth.validate(token)).principalName, 'a');
  const none = buildSaslServerSettings({ ...base, enabledMechanisms: ['PLAIN'], jaasConfig: () => null }, deps);
  assert.equal(none.plainUsers.size, 0, 'PLAIN then checks SCRAM credentials only');
});

test('errors name the setting and never a value; no JWKS is loaded for a listener without OAUTHBEARER', () => {
  assert.throws(() => buildSaslServerSettings({ ...base, enabledMechanisms: ['GSSAPI', 'PLAIN'], jaasConfig: () => null }, deps), (e: unknown) => e instanceof SaslConfigError && /GSSAPI/.test(e.message));
  assert.throws(() => buildSaslServerSettings({ ...base, enabledMechanisms: [], jaasConfig: () => null }, deps), SaslConfigError);
  assert.throws(() => buildSaslServerSettings({ ...base, enabledMechanisms: ['PLAIN'], jaasConfig: () => 'org.x.PlainLoginModule required password="s3cret"' }, deps), (e: unknown) => {
    assert.ok(e instanceof SaslConfigError);
    assert.match(e.message, /^listener\.name\.sasl_ssl\.plain\.sasl\.jaas\.config \(or sasl\.jaas\.config\): .*semicolon/);
    assert.ok(!e.message.includes('s3cret'));
    return true;
  });
  assert.throws(() => buildSaslServerSettings({ ...base, enabledMechanisms: ['OAUTHBEARER'], jaasConfig: () => null, oauth: { ...DEFAULT_OAUTH_SETTINGS, jwksUrl: 'http://idp/jwks' } }, deps),
    (e: unknown) => e instanceof SaslConfigError && /jwks\.endpoint\.url/.test(e.message));
  const s = buildSaslServerSettings({ ...base, enabledMechanisms: ['PLAIN'], jaasConfig: () => null, oauth: { ...DEFAULT_OAUTH_SETTINGS, jwksUrl: 'http://idp/jwks' } }, deps);
  s.oauth.close();
});
