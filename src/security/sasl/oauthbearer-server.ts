/**
 * SASL/OAUTHBEARER (RFC 7628) as Kafka's OAuthBearerSaslServer. The client's one message is
 * `n,[a=<authzid>],\x01auth=Bearer <token>\x01[key=value\x01...]\x01`; a valid token
 * completes the exchange (empty answer), an invalid one is answered with the JSON error status
 * ({"status":"invalid_token"}) and the client must then send a lone \x01, which fails the
 * authentication with that JSON as the message. Extensions are accepted and ignored, as Kafka's
 * validators do. The session ends at the token's exp (KIP-368).
 */
import type { SaslServerMechanism } from './mechanism.js';
import { SaslFailure } from './sasl-failure.js';
import { OAuthValidationError, type OAuthBearerValidator } from './oauth-token.js';
import { fromSaslName } from './scram.js';

const SEP = '\u0001';
const KEY = /^[A-Za-z]+$/;
const VALUE = /^[\x21-\x7e \t\r\n]+$/;
const AUTH = /^([A-Za-z0-9_]+) +([-_~+/.a-zA-Z0-9]+=*)$/;

export interface OAuthBearerInitialResponse {
  authorizationId: string;
  token: string;
  extensions: Map<string, string>;
}

/** Kafka's OAuthBearerClientInitialResponse; throws SaslFailure (generic to the client). */
export function parseOAuthBearerInitialResponse(token: Buffer): OAuthBearerInitialResponse {
  const text = token.toString('utf8');
  const comma = text.indexOf(',', 2);
  if (!text.startsWith('n,') || comma < 0 || text[comma + 1] !== SEP || !text.endsWith(SEP + SEP)) {
    throw new SaslFailure('invalid OAUTHBEARER client first message');
  }
  const authz = text.slice(2, comma);
  let authorizationId = '';
  if (authz !== '') {
    const id = authz.startsWith('a=') ? fromSaslName(authz.slice(2)) : null;
    if (id === null) throw new SaslFailure('invalid authorization id in the OAUTHBEARER client first message');
    authorizationId = id;
  }
  const pairs = text.slice(comma + 2, -2); // between ",\x01" and the final "\x01\x01" is key=value(\x01key=value)*
  const props = new Map<string, string>();
  for (const kv of pairs === '' ? [] : pairs.split(SEP)) {
    const eq = kv.indexOf('=');
    const k = kv.slice(0, eq);
    const v = kv.slice(eq + 1);
    if (eq <= 0 || !KEY.test(k) || !VALUE.test(v)) throw new SaslFailure('invalid key/value pair in the OAUTHBEARER client first message');
    props.set(k, v);
  }
  const auth = props.get('auth');
  if (auth === undefined) throw new SaslFailure("invalid OAUTHBEARER client first message: 'auth' not specified");
  props.delete('auth');
  const m = AUTH.exec(auth);
  if (!m) throw new SaslFailure("invalid OAUTHBEARER client first message: invalid 'auth' format");
  if (m[1]!.toLowerCase() !== 'bearer') throw new SaslFailure('invalid scheme in the OAUTHBEARER client first message');
  return { authorizationId, token: m[2]!, extensions: props };
}

/** The client's initial response for a token (what Ferry's own clients send). */
export function oauthBearerInitialResponse(token: string): Buffer {
  return Buffer.from(`n,,${SEP}auth=Bearer ${token}${SEP}${SEP}`, 'utf8');
}

/** Kafka's jsonErrorResponse. */
function jsonError(e: OAuthValidationError): string {
  return e.scope === null ? `{"status":"${e.status}"}` : `{"status":"${e.status}", "scope":"${e.scope}"}`;
}

export class OAuthBearerServer implements SaslServerMechanism {
  readonly mechanism = 'OAUTHBEARER' as const;
  complete = false;
  authorizationId: string | null = null;
  attemptedUser: string | null = null;
  credentialExpiresAtMs: number | null = null;
  /** The JSON error sent, while waiting for the client's \x01. */
  private pendingError: { json: string; reason: string } | null = null;

  constructor(private readonly validator: OAuthBearerValidator) {}

  async evaluate(token: Buffer): Promise<Buffer> {
    if (this.complete) throw new SaslFailure('OAUTHBEARER message after authentication completed');
    if (token.length === 1 && token[0] === 0x01 && this.pendingError) {
      const e = this.pendingError;
      throw new SaslFailure(e.reason, e.json);
    }
    this.pendingError = null;
    const r = parseOAuthBearerInitialResponse(token);
    let t;
    try {
      t = await this.validator.validate(r.token);
    } catch (err) {
      if (!(err instanceof OAuthValidationError)) throw new SaslFailure(`token validation failed: ${(err as Error).message}`);
      this.pendingError = { json: jsonError(err), reason: `invalid token: ${err.reason}` };
      return Buffer.from(this.pendingError.json, 'utf8');
    }
    this.attemptedUser = t.principalName;
    if (r.authorizationId !== '' && r.authorizationId !== t.principalName) {
      throw new SaslFailure('authorization id differs from the token\'s principal',
        `Authentication failed: Client requested an authorization id (${r.authorizationId}) that is different from the token's principal name (${t.principalName})`);
    }
    this.authorizationId = t.principalName;
    this.credentialExpiresAtMs = t.lifetimeMs;
    this.complete = true;
    return Buffer.alloc(0);
  }
}
