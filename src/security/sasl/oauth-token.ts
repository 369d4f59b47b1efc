/**
 * What an OAUTHBEARER validator produces and how it refuses: Kafka's OAuthBearerToken and the
 * RFC 7628 error status its validator callbacks set (invalid_token, insufficient_scope).
 */

export interface OAuthBearerToken {
  /** The principal's name (the sub claim, or the configured claim). */
  principalName: string;
  /** When the token expires, ms since epoch (its exp claim). */
  lifetimeMs: number;
  /** Its iat claim in ms, when it has one. */
  startTimeMs: number | null;
  scope: ReadonlySet<string>;
}

export type OAuthErrorStatus = 'invalid_token' | 'insufficient_scope';

/** The token is not acceptable: the client gets {"status": ...} (and the scope it lacked). */
export class OAuthValidationError extends Error {
  constructor(
    readonly status: OAuthErrorStatus,
    /** Why, for the broker's log (claims and times, never the token). */
    readonly reason: string,
    readonly scope: string | null = null,
  ) {
    super(reason);
    this.name = 'OAuthValidationError';
  }
}

export interface OAuthBearerValidator {
  /** The token's principal and lifetime; throws OAuthValidationError when it is not acceptable. */
  validate(tokenValue: string): Promise<OAuthBearerToken>;
  /** Stops background refreshes (a JWKS endpoint). */
  close(): void;
}

/** A base64url (or base64) JSON object of a JWS; null when it is not one. */
export function decodeJsonPart(part: string): Record<string, unknown> | null {
  if (!/^[A-Za-z0-9_\-+/]*={0,2}$/.test(part)) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Kafka's scope claim: a string is one scope, an array is a list of them; blanks dropped, values trimmed. */
export function scopeOf(value: unknown, claimName: string): Set<string> {
  if (value === undefined || value === null) return new Set();
  if (typeof value === 'string') return value.trim() === '' ? new Set() : new Set([value.trim()]);
  if (Array.isArray(value)) return new Set(value.map((s) => String(s).trim()).filter((s) => s !== ''));
  throw new OAuthValidationError('invalid_token', `the '${claimName}' claim is neither a string nor a list`);
}
