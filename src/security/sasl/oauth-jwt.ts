/**
 * Kafka's secured OAUTHBEARER validator (OAuthBearerValidatorCallbackHandler with
 * ValidatorAccessTokenValidator, on jose4j): a JWS signed with RS256/384/512, PS256/384/512 or
 * ES256/384/512 by a key of the JWKS, never "alg":"none", then the claims: exp and iat required,
 * exp and nbf within the clock skew, iss equal to the expected issuer (when set), aud naming one
 * of the expected audiences (and, as jose4j does, no aud at all when none is expected), the
 * subject claim a non-blank string (the principal), the scope claim a string or a list.
 */
import { constants, verify, type KeyObject } from 'node:crypto';
import { OAuthValidationError, decodeJsonPart, scopeOf, type OAuthBearerToken, type OAuthBearerValidator } from './oauth-token.js';
import type { Jwk, JwksSource } from './jwks.js';

export interface JwtValidatorOptions {
  expectedAudience: readonly string[];
  expectedIssuer: string | null;
  subClaimName: string;
  scopeClaimName: string;
  clockSkewSeconds: number;
}

interface JwsAlgorithm { hash: string; kind: 'RSA' | 'PSS' | 'EC'; crv?: string; signatureBytes?: number }

const ALGORITHMS: Record<string, JwsAlgorithm> = {
  RS256: { hash: 'sha256', kind: 'RSA' }, RS384: { hash: 'sha384', kind: 'RSA' }, RS512: { hash: 'sha512', kind: 'RSA' },
  PS256: { hash: 'sha256', kind: 'PSS' }, PS384: { hash: 'sha384', kind: 'PSS' }, PS512: { hash: 'sha512', kind: 'PSS' },
  ES256: { hash: 'sha256', kind: 'EC', crv: 'P-256', signatureBytes: 64 },
  ES384: { hash: 'sha384', kind: 'EC', crv: 'P-384', signatureBytes: 96 },
  ES512: { hash: 'sha512', kind: 'EC', crv: 'P-521', signatureBytes: 132 },
};

const invalid = (reason: string) => new OAuthValidationError('invalid_token', reason);

/** Keys that may check a signature of `alg` (and, when the token names one, have its kid). */
function candidates(keys: readonly Jwk[], alg: string, a: JwsAlgorithm, kid: string | null): Jwk[] {
  return keys.filter((k) => (kid === null || k.kid === kid) && (k.alg === null || k.alg === alg)
    && (a.kind === 'EC' ? k.kty === 'EC' && k.crv === a.crv : k.kty === 'RSA'));
}

function signatureValid(a: JwsAlgorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    if (a.kind === 'EC') return signature.length === a.signatureBytes && verify(a.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    if (a.kind === 'PSS') return verify(a.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
    return verify(a.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
}

function numericDate(claims: Record<string, unknown>, name: string, required: boolean): number | null {
  const v = claims[name];
  if (v === undefined || v === null) {
    if (required) throw invalid(`No ${name === 'exp' ? 'Expiration Time (exp)' : name === 'iat' ? 'Issued At (iat)' : name} claim is present.`);
    return null;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`The value of the '${name}' claim is not a NumericDate`);
  return v;
}

export class JwtValidator implements OAuthBearerValidator {
  constructor(private readonly jwks: JwksSource, private readonly options: JwtValidatorOptions, private readonly now: () => number) {}

  async validate(tokenValue: string): Promise<OAuthBearerToken> {
    const parts = tokenValue.split('.');
    if (parts.length !== 3) throw invalid('Malformed JWT provided; expected three sections (header, payload, and signature)');
    const header = decodeJsonPart(parts[0]!);
    const claims = decodeJsonPart(parts[1]!);
    if (!header || !claims) throw invalid('Malformed JWT: a section is not base64url JSON');
    const alg = header.alg;
    if (alg === 'none') throw invalid("'none' algorithm is not allowed (the broker has a JWKS: tokens must be signed)");
    const a = typeof alg === 'string' ? ALGORITHMS[alg] : undefined;
    if (!a) throw invalid(`JWS algorithm ${String(alg)} is not allowed`);
    if (header.crit !== undefined) throw invalid('JWS crit header parameters are not supported');
    if (!/^[A-Za-z0-9_-]+$/.test(parts[2]!)) throw invalid('Malformed JWT: bad signature encoding');
    const kid = typeof header.kid === 'string' ? header.kid : null;
    const data = Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii');
    const signature = Buffer.from(parts[2]!, 'base64url');

    let keys = candidates(await this.keysOrFail(), alg as string, a, kid);
    if (keys.length === 0 && kid !== null && await this.jwks.refreshForUnknownKid()) keys = candidates(await this.keysOrFail(), alg as string, a, kid);
    if (keys.length === 0) throw invalid(`no key in the JWKS for kid ${kid ?? '(none)'} and alg ${alg as string}`);
    if (!keys.some((k) => signatureValid(a, k.key, data, signature))) throw invalid('JWS signature is invalid');
    return this.checkClaims(claims);
  }

  close(): void { this.jwks.close(); }

  private async keysOrFail(): Promise<readonly Jwk[]> {
    try { return await this.jwks.keys(); } catch (err) { throw invalid(`no JWKS to check the signature: ${(err as Error).message}`); }
  }

  private checkClaims(claims: Record<string, unknown>): OAuthBearerToken {
    const o = this.options;
    const nowS = this.now() / 1000;
    const skew = o.clockSkewSeconds;
    const exp = numericDate(claims, 'exp', true)!;
    const iat = numericDate(claims, 'iat', true)!;
    const nbf = numericDate(claims, 'nbf', false);
    if (nowS >= exp + skew) throw invalid(`The JWT is no longer valid - the evaluation time ${nowS} is on or after the Expiration Time ${exp} (allowed clock skew ${skew} s)`);
    if (nbf !== null && nowS + skew < nbf) throw invalid(`The JWT is not yet valid: the evaluation time ${nowS} is before the Not Before ${nbf} (allowed clock skew ${skew} s)`);
    if (o.expectedIssuer !== null && claims.iss !== o.expectedIssuer) throw invalid(`Issuer (iss) claim value (${String(claims.iss)}) doesn't match the expected value`);
    const aud = claims.aud;
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((x): x is string => typeof x === 'string') : [];
    if (aud !== undefined && audiences.length === 0) throw invalid('The Audience (aud) claim is not a string or an array of strings');
    if (o.expectedAudience.length === 0) {
      if (aud !== undefined) throw invalid('Audience (aud) claim present in the JWT but no expected audience value(s) were provided (sasl.oauthbearer.expected.audience)');
    } else if (!audiences.some((x) => o.expectedAudience.includes(x))) {
      throw invalid(`Audience (aud) claim ${JSON.stringify(audiences)} doesn't contain an acceptable identifier`);
    }
    const sub = claims[o.subClaimName];
    if (typeof sub !== 'string' || sub.trim() === '') throw invalid(`${o.subClaimName} value must be a non-empty string`);
    const scope = scopeOf(claims[o.scopeClaimName], o.scopeClaimName);
    return { principalName: sub.trim(), lifetimeMs: Math.round(exp * 1000), startTimeMs: Math.round(iat * 1000), scope };
  }
}
