/**
 * Kafka's default OAUTHBEARER validator (OAuthBearerUnsecuredValidatorCallbackHandler with
 * OAuthBearerUnsecuredJws): unsigned JWS tokens, "alg":"none" and an empty signature, whose
 * claims are checked but whose origin is not. For development and tests only, as in Kafka; it
 * is what a broker uses when no JWKS endpoint is configured. Options are the
 * OAuthBearerLoginModule's unsecuredValidator* JAAS options.
 */
import { OAuthValidationError, decodeJsonPart, scopeOf, type OAuthBearerToken, type OAuthBearerValidator } from './oauth-token.js';
import type { JaasEntry } from './jaas.js';

export interface UnsecuredValidatorOptions {
  /** unsecuredValidatorPrincipalClaimName (default sub). */
  principalClaimName: string;
  /** unsecuredValidatorScopeClaimName (default scope). */
  scopeClaimName: string;
  /** unsecuredValidatorRequiredScope, space-separated in the JAAS option. */
  requiredScope: readonly string[];
  /** unsecuredValidatorAllowableClockSkewMs (default 0). */
  allowableClockSkewMs: number;
}

export const DEFAULT_UNSECURED_OPTIONS: UnsecuredValidatorOptions = Object.freeze({
  principalClaimName: 'sub', scopeClaimName: 'scope', requiredScope: [], allowableClockSkewMs: 0,
});

/** The unsecuredValidator* options of a broker's OAuthBearerLoginModule entry. Throws on a bad clock skew. */
export function unsecuredOptionsOf(entry: JaasEntry | null): UnsecuredValidatorOptions {
  const opt = (k: string) => { const v = entry?.options.get(k)?.trim(); return v === undefined || v === '' ? null : v; };
  const skew = opt('unsecuredValidatorAllowableClockSkewMs');
  if (skew !== null && !/^\d+$/.test(skew)) throw new RangeError('unsecuredValidatorAllowableClockSkewMs must be a non-negative integer');
  return {
    principalClaimName: opt('unsecuredValidatorPrincipalClaimName') ?? 'sub',
    scopeClaimName: opt('unsecuredValidatorScopeClaimName') ?? 'scope',
    requiredScope: (opt('unsecuredValidatorRequiredScope') ?? '').split(' ').filter((s) => s !== ''),
    allowableClockSkewMs: skew === null ? 0 : Number(skew),
  };
}

const invalid = (reason: string) => new OAuthValidationError('invalid_token', reason);

/** The JSON types OAuthBearerUnsecuredJws.convert keeps: numbers, lists of strings, everything else as text. */
function claimType(v: unknown): string {
  return typeof v === 'number' ? 'Number' : Array.isArray(v) ? 'List' : 'String';
}

function numberClaim(claims: Record<string, unknown>, name: string): number | null {
  const v = claims[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number') throw invalid(`The '${name}' claim was not of type Number: ${claimType(v)}`);
  return v;
}

/** Parses and checks one unsecured JWS at `nowMs`, as Kafka's handler does, in its order. */
export function validateUnsecuredJws(token: string, o: UnsecuredValidatorOptions, nowMs: number): OAuthBearerToken {
  if (token.includes('..')) throw invalid("Malformed compact serialization contains '..'");
  const splits = token.split('.');
  if (splits.length !== 3) throw invalid('Unsecured JWS compact serializations must have 3 dot-separated Base64URL-encoded values');
  const header = decodeJsonPart(splits[0]!);
  const claims = decodeJsonPart(splits[1]!);
  if (!header || !claims) throw invalid('malformed Base64 URL encoded value or JSON');
  if (header.alg !== 'none') throw invalid("Unsecured JWS must have 'none' for an algorithm");
  if (splits[2] !== '') throw invalid('Unsecured JWS must not contain a digital signature');
  const scope = scopeOf(claims[o.scopeClaimName], o.scopeClaimName);
  const exp = numberClaim(claims, 'exp');
  if (exp === null) throw invalid('No expiration time in JWT');
  const principal = claims[o.principalClaimName];
  if (principal !== undefined && typeof principal !== 'string') throw invalid(`The '${o.principalClaimName}' claim was not of type String: ${claimType(principal)}`);
  if (typeof principal !== 'string' || principal.trim() === '') throw invalid(`No principal name in JWT claim: ${o.principalClaimName}`);
  const iat = numberClaim(claims, 'iat');
  const skew = o.allowableClockSkewMs;
  if (iat !== null && 1000 * iat > nowMs + skew) {
    throw invalid(`The Issued At value (${iat} seconds) was after the indicated time (${nowMs} ms) plus allowable clock skew (${skew} ms)`);
  }
  if (nowMs - skew >= 1000 * exp) {
    throw invalid(`The indicated time (${nowMs} ms) minus allowable clock skew (${skew} ms) was on or after the Expiration Time value (${exp} seconds)`);
  }
  if (iat !== null && exp <= iat) throw invalid(`The Expiration Time time (${exp} seconds) was not after the Issued At time (${iat} seconds)`);
  for (const required of o.requiredScope) {
    if (!scope.has(required)) {
      throw new OAuthValidationError('insufficient_scope', `The provided scope ([${[...scope].join(', ')}]) was missing a required scope (${required}). All required scope elements: [${o.requiredScope.join(', ')}]`, `[${o.requiredScope.join(', ')}]`);
    }
  }
  return { principalName: principal, lifetimeMs: Math.round(exp * 1000), startTimeMs: iat === null ? null : Math.round(iat * 1000), scope };
}

export class UnsecuredJwsValidator implements OAuthBearerValidator {
  constructor(private readonly options: UnsecuredValidatorOptions, private readonly now: () => number) {}

  async validate(tokenValue: string): Promise<OAuthBearerToken> {
    return validateUnsecuredJws(tokenValue, this.options, this.now());
  }

  close(): void {}
}
