/**
 * Which OAUTHBEARER validator a listener uses, from Kafka's settings: with
 * sasl.oauthbearer.jwks.endpoint.url, signed JWTs checked against that key set (Kafka's
 * OAuthBearerValidatorCallbackHandler); without it, Kafka's default, unsecured JWS tokens.
 */
import type { OAuthBearerValidator } from './oauth-token.js';
import { JwtValidator } from './oauth-jwt.js';
import { RefreshingJwks } from './jwks.js';
import { DEFAULT_UNSECURED_OPTIONS, UnsecuredJwsValidator, type UnsecuredValidatorOptions } from './oauth-unsecured.js';

export interface OAuthBearerSettings {
  /** sasl.oauthbearer.jwks.endpoint.url: https:// URL, file:// URL or a path; null: unsecured tokens. */
  jwksUrl: string | null;
  /** sasl.oauthbearer.expected.audience */
  expectedAudience: readonly string[];
  /** sasl.oauthbearer.expected.issuer */
  expectedIssuer: string | null;
  /** sasl.oauthbearer.sub.claim.name (default sub) */
  subClaimName: string;
  /** sasl.oauthbearer.scope.claim.name (default scope) */
  scopeClaimName: string;
  /** sasl.oauthbearer.clock.skew.seconds (default 30) */
  clockSkewSeconds: number;
  /** sasl.oauthbearer.jwks.endpoint.refresh.ms (default 3600000) */
  jwksRefreshMs: number;
  /** PEM CAs trusted for an https JWKS endpoint; unset: Node's default roots. */
  jwksCa?: string;
  /** Without a JWKS: the OAuthBearerLoginModule's unsecuredValidator* options (unsecuredOptionsOf). */
  unsecured?: UnsecuredValidatorOptions;
  /** A JWKS fetch failed (message without secrets), for the broker's log. */
  onJwksError?: (message: string) => void;
}

export const DEFAULT_OAUTH_SETTINGS: OAuthBearerSettings = Object.freeze({
  jwksUrl: null, expectedAudience: [], expectedIssuer: null, subClaimName: 'sub', scopeClaimName: 'scope',
  clockSkewSeconds: 30, jwksRefreshMs: 3_600_000,
});

/** Throws RangeError for a JWKS URL that is not https://, file:// or a path. */
export function createOAuthBearerValidator(s: OAuthBearerSettings, now: () => number): OAuthBearerValidator {
  if (s.jwksUrl === null) return new UnsecuredJwsValidator(s.unsecured ?? DEFAULT_UNSECURED_OPTIONS, now);
  const jwks = new RefreshingJwks(s.jwksUrl, { refreshMs: s.jwksRefreshMs, now, ca: s.jwksCa, onError: s.onJwksError });
  return new JwtValidator(jwks, s, now);
}
