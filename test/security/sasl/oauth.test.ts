/**
 * OAUTHBEARER validation.
 *  - Kafka's unsecured JWS validator, with the cases of Kafka's
 *    OAuthBearerUnsecuredValidatorCallbackHandlerTest (valid with and without iat, bad or missing
 *    principal, expired, required scope present or missing -> insufficient_scope "[scope1, scope2]").
 *  - Signed JWTs against a JWKS, keys made with node:crypto (RSA, RSA-PSS, P-256, P-384): a JWKS
 *    file, a file:// URL and an https endpoint (a self-signed certificate from openssl); expired,
 *    not yet valid, wrong issuer, wrong or unexpected audience, bad signature, unknown kid (a
 *    rotated key is fetched, at most once per 10 s; the set is read again every refresh.ms),
 *    alg none and HS256 refused.
 *  - The OAUTHBEARER mechanism: RFC 7628 initial response, the JSON error challenge and the
 *    client's \x01 reply, an authzid that is not the token's principal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, constants, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { validateUnsecuredJws, unsecuredOptionsOf, DEFAULT_UNSECURED_OPTIONS, type UnsecuredValidatorOptions } from '../../../src/security/sasl/oauth-unsecured.js';
import { OAuthValidationError, type OAuthBearerValidator } from '../../../src/security/sasl/oauth-token.js';
import { createOAuthBearerValidator, DEFAULT_OAUTH_SETTINGS, type OAuthBearerSettings } from '../../../src/security/sasl/oauth-validator.js';
import { OAuthBearerServer, oauthBearerInitialResponse, parseOAuthBearerInitialResponse } from '../../../src/security/sasl/oauthbearer-server.js';
import { SaslFailure } from '../../../src/security/sasl/sasl-failure.js';
import { parseSaslJaasConfig } from '../../../src/security/sasl/jaas.js';
import { requireTool } from '../../helpers/require-tool.js';
import { runChecked } from '../../helpers/run-process.js';

const NOW = 1_700_000_000_000;
const b64 = (o: object | string) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
const unsecured = (claims: object, header: object = { alg: 'none' }) => `${b64(header)}.${b64(claims)}.`;

// ---- Kafka's unsecured validator ---------------------------------------------------------------

const kafkaOptions = (opts: Record<string, string>): UnsecuredValidatorOptions =>
  unsecuredOptionsOf(parseSaslJaasConfig(`org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ${Object.entries(opts).map(([k, v]) => `${k}="${v}"`).join(' ')};`));
const NO_SCOPE_REQUIRED = kafkaOptions({ unsecuredValidatorPrincipalClaimName: 'principal', unsecuredValidatorAllowableClockSkewMs: '1' });
const REQUIRE_EXISTING_SCOPE = kafkaOptions({ unsecuredValidatorRequiredScope: 'scope1' });
const REQUIRE_ADDITIONAL_SCOPE = kafkaOptions({ unsecuredValidatorRequiredScope: 'scope1 scope2' });
const EXP = NOW / 1000 + 3600;

function failsWith(status: string, scope: string | null = null) {
  return (err: unknown) => {
    assert.ok(err instanceof OAuthValidationError, String(err));
    assert.equal(err.status, status);
    assert.equal(err.scope, scope);
    return true;
  };
}

test('Kafka unsecured validator: validToken (with and without iat)', () => {
  for (const iat of [true, false]) {
    const t = validateUnsecuredJws(unsecured({ principal: 'username', exp: EXP, ...(iat ? { iat: NOW / 1000 } : {}) }), NO_SCOPE_REQUIRED, NOW);
    assert.equal(t.principalName, 'username');
    assert.equal(t.lifetimeMs, EXP * 1000);
    assert.equal(t.startTimeMs, iat ? NOW : null);
  }
});

test('Kafka unsecured validator: badOrMissingPrincipal, tooEarlyExpirationTime', () => {
  assert.throws(() => validateUnsecuredJws(unsecured({ exp: EXP, principal: 1 }), NO_SCOPE_REQUIRED, NOW), failsWith('invalid_token'));
  assert.throws(() => validateUnsecuredJws(unsecured({ exp: EXP }), NO_SCOPE_REQUIRED, NOW), failsWith('invalid_token'));
  assert.throws(() => validateUnsecuredJws(unsecured({ principal: 'username', iat: NOW / 1000, exp: 0 + NOW / 1000 }), NO_SCOPE_REQUIRED, NOW), failsWith('invalid_token'));
});

test('Kafka unsecured validator: includesRequiredScope, missingRequiredScope', () => {
  assert.deepEqual([...validateUnsecuredJws(unsecured({ sub: 'username', exp: EXP, scope: 'scope1' }), REQUIRE_EXISTING_SCOPE, NOW).scope], ['scope1']);
  assert.throws(() => validateUnsecuredJws(unsecured({ sub: 'username', exp: EXP, scope: 'scope1' }), REQUIRE_ADDITIONAL_SCOPE, NOW), failsWith('insufficient_scope', '[scope1, scope2]'));
  assert.deepEqual([...validateUnsecuredJws(unsecured({ sub: 'u', exp: EXP, scope: ['scope1', ' scope2 ', ''] }), REQUIRE_ADDITIONAL_SCOPE, NOW).scope], ['scope1', 'scope2']);
});

test('Kafka unsecured validator: signature, algorithm, no exp, iat in the future, exp before iat, malformed', () => {
  const o = DEFAULT_UNSECURED_OPTIONS;
  const bad = failsWith('invalid_token');
  assert.throws(() => validateUnsecuredJws(`${b64({ alg: 'none' })}.${b64({ sub: 'a', exp: EXP })}.c2ln`, o, NOW), bad);
  assert.throws(() => validateUnsecuredJws(unsecured({ sub: 'a', exp: EXP }, { alg: 'RS256' }), o, NOW), bad);
  assert.throws(() => validateUnsecuredJws(unsecured({ sub: 'a' }), o, NOW), bad);
  assert.throws(() => validateUnsecuredJws(unsecured({ sub: 'a', exp: EXP, iat: NOW / 1000 + 60 }), o, NOW), bad);
  assert.throws(() => validateUnsecuredJws(unsecured({ sub: 'a', exp: NOW / 1000 + 10, iat: NOW / 1000 + 20 }), { ...o, allowableClockSkewMs: 60_000 }, NOW), bad);
  assert.throws(() => validateUnsecuredJws('a..b', o, NOW), bad);
  assert.throws(() => validateUnsecuredJws('abc', o, NOW), bad);
  assert.throws(() => validateUnsecuredJws(`${b64('not json')}.${b64({ sub: 'a', exp: EXP })}.`, o, NOW), bad);
  assert.throws(() => validateUnsecuredJws(unsecured({ sub: 'a', exp: 'soon' }), o, NOW), bad);
});

// ---- signed JWTs against a JWKS ----------------------------------------------------------------

interface TestKey { kid: string; alg: string; privateKey: KeyObject; jwk: object }

function makeKey(kid: string, alg: 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'RS512'): TestKey {
  const pair = alg.startsWith('ES')
    ? generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, alg, privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig' } };
}

function signJwt(k: TestKey, claims: object, header: object = {}): string {
  const data = `${b64({ alg: k.alg, kid: k.kid, typ: 'JWT', ...header })}.${b64(claims)}`;
  const hash = `sha${k.alg.slice(2)}`;
  const sig = k.alg.startsWith('ES') ? sign(hash, Buffer.from(data), { key: k.privateKey, dsaEncoding: 'ieee-p1363' })
    : k.alg.startsWith('PS') ? sign(hash, Buffer.from(data), { key: k.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
      : sign(hash, Buffer.from(data), k.privateKey);
  return `${data}.${sig.toString('base64url')}`;
}

const KEYS = { rs: makeKey('rs-1', 'RS256'), ps: makeKey('ps-1', 'PS256'), es: makeKey('es-1', 'ES256'), es384: makeKey('es-2', 'ES384'), rs512: makeKey('rs-2', 'RS512') };
const good = { sub: 'alice', iss: 'https://idp.example', aud: ['other', 'kafka'], iat: NOW / 1000 - 10, exp: NOW / 1000 + 600, scope: 'produce consume' };

function jwksDir(t: { after(fn: () => void): void }, keys: TestKey[]): { dir: string; file: string; write(keys: TestKey[]): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-jwks-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'jwks.json');
  const write = (ks: TestKey[]) => writeFileSync(file, JSON.stringify({ keys: ks.map((k) => k.jwk) }));
  write(keys);
  return { dir, file, write };
}

function validatorFor(t: { after(fn: () => void): void }, url: string, extra: Partial<OAuthBearerSettings> = {}, now = () => NOW): OAuthBearerValidator {
  const v = createOAuthBearerValidator({ ...DEFAULT_OAUTH_SETTINGS, jwksUrl: url, expectedAudience: ['kafka'], expectedIssuer: 'https://idp.example', ...extra }, now);
  t.after(() => v.close());
  return v;
}

test('JWKS file: RS256, PS256, ES256, ES384 and RS512 tokens are accepted; the principal is the sub claim; lifetime is exp', async (t) => {
  const j = jwksDir(t, Object.values(KEYS));
  const v = validatorFor(t, j.file);
  for (const k of Object.values(KEYS)) {
    const tok = await v.validate(signJwt(k, good));
    assert.equal(tok.principalName, 'alice', k.alg);
    assert.equal(tok.lifetimeMs, good.exp * 1000);
    assert.deepEqual([...tok.scope], ['produce consume']);
  }
  const byUrl = validatorFor(t, pathToFileURL(j.file).href, { subClaimName: 'client_id', expectedAudience: ['kafka', 'x'] });
  assert.equal((await byUrl.validate(signJwt(KEYS.es, { ...good, client_id: 'svc-1', aud: 'x' }))).principalName, 'svc-1', 'sasl.oauthbearer.sub.claim.name');
});

test('JWKS: expired, not yet valid, wrong issuer, wrong or unexpected audience, no iat, bad signature, alg none or HS256, a key of another type', async (t) => {
  const j = jwksDir(t, [KEYS.rs, KEYS.es]);
  const v = validatorFor(t, j.file);
  const refused = async (token: string, why: RegExp) => {
    await assert.rejects(v.validate(token), (err: unknown) => {
      assert.ok(err instanceof OAuthValidationError, String(err));
      assert.equal(err.status, 'invalid_token');
      assert.match(err.reason, why);
      return true;
    });
  };
  await refused(signJwt(KEYS.rs, { ...good, exp: NOW / 1000 - 31 }), /no longer valid/);
  assert.ok(await v.validate(signJwt(KEYS.rs, { ...good, exp: NOW / 1000 - 29 })), 'within the 30 s clock skew');
  await refused(signJwt(KEYS.rs, { ...good, nbf: NOW / 1000 + 60 }), /not yet valid/);
  await refused(signJwt(KEYS.rs, { ...good, iss: 'https://evil.example' }), /Issuer/);
  await refused(signJwt(KEYS.rs, { ...good, aud: 'someone-else' }), /Audience/);
  await refused(signJwt(KEYS.rs, { ...good, aud: undefined }), /Audience/);
  await refused(signJwt(KEYS.rs, { ...good, iat: undefined }), /Issued At/);
  await refused(signJwt(KEYS.rs, { ...good, sub: ' ' }), /sub value must be a non-empty string/);
  const token = signJwt(KEYS.rs, good);
  const forged = `${token.split('.').slice(0, 2).join('.')}.${signJwt(KEYS.rs, { ...good, sub: 'mallory' }).split('.')[2]}`;
  await refused(forged, /signature is invalid/);
  await refused(`${b64({ alg: 'RS256', kid: 'rs-1' })}.${b64({ ...good, sub: 'mallory' })}.${token.split('.')[2]}`, /signature is invalid/);
  await refused(unsecured(good), /'none' algorithm is not allowed/);
  await refused(`${b64({ alg: 'HS256', kid: 'rs-1' })}.${b64(good)}.c2ln`, /algorithm HS256 is not allowed/);
  await refused(signJwt({ ...KEYS.es, kid: 'rs-1' }, good), /no key in the JWKS/);
  await refused('a.b', /three sections/);
  const noAudExpected = validatorFor(t, j.file, { expectedAudience: [] });
  await assert.rejects(noAudExpected.validate(signJwt(KEYS.rs, good)), /no expected audience/, 'as jose4j: an aud claim needs an expected audience');
  assert.ok(await noAudExpected.validate(signJwt(KEYS.rs, { ...good, aud: undefined })));
});

test('JWKS rotation: a token with an unknown kid makes the set be read again, at most once per 10 s', async (t) => {
  const j = jwksDir(t, [KEYS.rs]);
  let now = NOW;
  const v = validatorFor(t, j.file, {}, () => now);
  assert.ok(await v.validate(signJwt(KEYS.rs, good)));
  j.write([KEYS.rs, KEYS.es]);
  assert.equal((await v.validate(signJwt(KEYS.es, good))).principalName, 'alice', 'the new key was fetched');
  j.write([KEYS.rs, KEYS.es, KEYS.ps]);
  now += 5_000;
  await assert.rejects(v.validate(signJwt(KEYS.ps, good)), /no key in the JWKS for kid ps-1/, 'within 10 s of the last refresh');
  now += 6_000;
  assert.ok(await v.validate(signJwt(KEYS.ps, good)), '10 s later it refreshes again');
});

test('JWKS refresh every sasl.oauthbearer.jwks.endpoint.refresh.ms: a key removed from the set stops being accepted', async (t) => {
  const j = jwksDir(t, [KEYS.rs, KEYS.es]);
  const v = validatorFor(t, j.file, { jwksRefreshMs: 1000 });
  assert.ok(await v.validate(signJwt(KEYS.rs, good)));
  j.write([KEYS.es]);
  assert.ok(await v.validate(signJwt(KEYS.rs, good)), 'still cached');
  await new Promise((r) => setTimeout(r, 1300));
  await assert.rejects(v.validate(signJwt(KEYS.rs, good)), /no key in the JWKS for kid rs-1/);
  assert.ok(await v.validate(signJwt(KEYS.es, good)));
});

test('JWKS over https (sasl.oauthbearer.jwks.endpoint.url), with a CA to trust; an unreachable endpoint refuses tokens', async (t) => {
  const openssl = requireTool('openssl', 'apt-get install -y openssl');
  const j = jwksDir(t, [KEYS.rs, KEYS.es]);
  await runChecked(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(j.dir, 'key.pem'), '-out', join(j.dir, 'cert.pem')], { timeoutMs: 20_000 });
  const cert = readFileSync(join(j.dir, 'cert.pem'), 'utf8');
  let fetches = 0;
  const server = createServer({ key: readFileSync(join(j.dir, 'key.pem')), cert }, (req, res) => {
    fetches++;
    res.writeHead(req.url === '/jwks' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(req.url === '/jwks' ? readFileSync(j.file) : '{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const errors: string[] = [];
  const v = validatorFor(t, `https://127.0.0.1:${port}/jwks`, { jwksCa: cert, onJwksError: (m) => errors.push(m) });
  assert.equal((await v.validate(signJwt(KEYS.es, good))).principalName, 'alice');
  assert.equal((await v.validate(signJwt(KEYS.rs, good))).principalName, 'alice');
  assert.equal(fetches, 1, 'fetched once, then cached');
  const untrusted = validatorFor(t, `https://127.0.0.1:${port}/jwks`, { onJwksError: (m) => errors.push(m) });
  await assert.rejects(untrusted.validate(signJwt(KEYS.rs, good)), /no JWKS to check the signature/);
  const missing = validatorFor(t, `https://127.0.0.1:${port}/nothing`, { jwksCa: cert, onJwksError: (m) => errors.push(m) });
  await assert.rejects(missing.validate(signJwt(KEYS.rs, good)), /no JWKS/);
  assert.ok(errors.some((e) => /HTTP 404/.test(e)), errors.join('\n'));
  assert.throws(() => createOAuthBearerValidator({ ...DEFAULT_OAUTH_SETTINGS, jwksUrl: 'http://idp/jwks' }, () => NOW), /https:\/\/ URL/);
});

// ---- the mechanism ------------------------------------------------------------------------------

test('OAUTHBEARER initial response: RFC 7628 format, extensions, authzid; malformed ones fail generically', () => {
  assert.deepEqual(parseOAuthBearerInitialResponse(oauthBearerInitialResponse('abc.def.')), { authorizationId: '', token: 'abc.def.', extensions: new Map() });
  const r = parseOAuthBearerInitialResponse(Buffer.from('n,a=alice,\x01auth=Bearer tok\x01traceId=42\x01\x01'));
  assert.equal(r.authorizationId, 'alice');
  assert.deepEqual([...r.extensions], [['traceId', '42']]);
  for (const bad of ['n,,\x01\x01', 'n,,\x01auth=Basic tok\x01\x01', 'n,,\x01auth=Bearer tok\x01', 'y,,\x01auth=Bearer tok\x01\x01', 'n,,\x01auth=Bearer  \x01\x01', 'n,,\x01=x\x01auth=Bearer t\x01\x01']) {
    assert.throws(() => parseOAuthBearerInitialResponse(Buffer.from(bad)), (e: unknown) => e instanceof SaslFailure && e.clientMessage === null, JSON.stringify(bad));
  }
});

test('OAUTHBEARER exchange: success sets the credential expiry; a bad token gets the JSON status, then fails on the client\'s \\x01', async () => {
  const validator = createOAuthBearerValidator(DEFAULT_OAUTH_SETTINGS, () => NOW);
  const ok = new OAuthBearerServer(validator);
  assert.equal((await ok.evaluate(oauthBearerInitialResponse(unsecured({ sub: 'alice', exp: EXP })))).length, 0);
  assert.equal(ok.complete, true);
  assert.equal(ok.authorizationId, 'alice');
  assert.equal(ok.credentialExpiresAtMs, EXP * 1000);

  const bad = new OAuthBearerServer(validator);
  const challenge = await bad.evaluate(oauthBearerInitialResponse(unsecured({ sub: 'alice', exp: NOW / 1000 - 1 })));
  assert.equal(challenge.toString(), '{"status":"invalid_token"}');
  assert.equal(bad.complete, false);
  await assert.rejects(bad.evaluate(Buffer.from([1])), (e: unknown) => e instanceof SaslFailure && e.clientMessage === '{"status":"invalid_token"}');

  const scoped = new OAuthBearerServer(createOAuthBearerValidator({ ...DEFAULT_OAUTH_SETTINGS, unsecured: REQUIRE_ADDITIONAL_SCOPE }, () => NOW));
  assert.equal((await scoped.evaluate(oauthBearerInitialResponse(unsecured({ sub: 'a', exp: EXP, scope: 'scope1' })))).toString(), '{"status":"insufficient_scope", "scope":"[scope1, scope2]"}');

  const other = new OAuthBearerServer(validator);
  await assert.rejects(other.evaluate(Buffer.from(`n,a=bob,\x01auth=Bearer ${unsecured({ sub: 'alice', exp: EXP })}\x01\x01`)),
    (e: unknown) => e instanceof SaslFailure && /authorization id \(bob\) that is different from the token's principal name \(alice\)/.test(e.clientMessage ?? ''));
});
