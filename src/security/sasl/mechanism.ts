/**
 * The server side of one SASL mechanism for one authentication: a small state machine fed the
 * client's tokens one at a time, whether they arrive in SaslAuthenticate requests or as raw
 * frames after a v0 SaslHandshake.
 */

/** The mechanisms Ferry's brokers implement. */
export const SUPPORTED_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
export type SaslMechanismName = (typeof SUPPORTED_MECHANISMS)[number];

export function isSupportedMechanism(name: string): name is SaslMechanismName {
  return (SUPPORTED_MECHANISMS as readonly string[]).includes(name);
}

export interface SaslServerMechanism {
  readonly mechanism: SaslMechanismName;
  /** Evaluates one client token and returns the server's answer; throws SaslFailure to refuse. */
  evaluate(token: Buffer): Promise<Buffer>;
  /** True once the exchange succeeded. */
  readonly complete: boolean;
  /** Once complete: the authenticated user, the principal's name. */
  readonly authorizationId: string | null;
  /** The user the client claims to be, once it said (for logs); null before. */
  readonly attemptedUser: string | null;
  /** Once complete: when the credential expires (an OAUTHBEARER token's exp), ms since epoch; null: never. */
  readonly credentialExpiresAtMs: number | null;
}
