/**
 * How a SASL mechanism refuses a client. Kafka distinguishes two cases (SaslServerAuthenticator):
 * a SaslAuthenticationException, whose message the client is shown ("Authentication failed:
 * Invalid username or password"), and any other SaslException, for which the client only gets
 * the generic "Authentication failed during authentication due to invalid credentials with SASL
 * mechanism X" so nothing (e.g. whether a user exists) leaks. `clientMessage` null is the latter.
 */
export class SaslFailure extends Error {
  constructor(
    /** Why, for the broker's log. Never a password, token or key. */
    readonly reason: string,
    /** What the client is told; null: Kafka's generic message. */
    readonly clientMessage: string | null = null,
  ) {
    super(reason);
    this.name = 'SaslFailure';
  }
}

/** Kafka's message for failures that must not say why. */
export function genericFailureMessage(mechanism: string, reauthenticating: boolean): string {
  return `Authentication failed during ${reauthenticating ? 're-authentication' : 'authentication'} due to invalid credentials with SASL mechanism ${mechanism}`;
}
