/**
 * Who is on the other end of one connection: the listener it came in on, its security protocol,
 * and the principal it authenticated as. One per connection, shared by all its requests; SASL
 * (src/security/sasl) fills in the principal, and re-authentication (KIP-368) replaces it.
 */

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

export const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

/** SSL and SASL_SSL run over TLS. */
export function usesTls(p: SecurityProtocol): boolean { return p === 'SSL' || p === 'SASL_SSL'; }

/** SASL_PLAINTEXT and SASL_SSL authenticate with SASL. */
export function usesSasl(p: SecurityProtocol): boolean { return p === 'SASL_PLAINTEXT' || p === 'SASL_SSL'; }

/** Kafka's KafkaPrincipal: a type (always "User" here) and a name; written "User:alice". */
export interface KafkaPrincipal {
  readonly type: string;
  readonly name: string;
}

export const ANONYMOUS: KafkaPrincipal = Object.freeze({ type: 'User', name: 'ANONYMOUS' });

export function formatPrincipal(p: KafkaPrincipal): string { return `${p.type}:${p.name}`; }

/** "User:alice" -> principal; null if there is no ':' or either side is empty. */
export function parsePrincipal(text: string): KafkaPrincipal | null {
  const at = text.indexOf(':');
  if (at <= 0 || at === text.length - 1) return null;
  return { type: text.slice(0, at), name: text.slice(at + 1) };
}

/** SASL state of a session (Kafka's SaslServerAuthenticator states, reduced to what gates requests). */
export type SaslState =
  /** Not a SASL listener: requests are served as they come. */
  | 'none'
  /** Waiting for SaslHandshake (ApiVersions allowed). */
  | 'handshake'
  /** Handshake done with v1+: waiting for SaslAuthenticate. */
  | 'authenticate'
  /** Handshake done with v0: the next frames are raw SASL tokens, not Kafka requests. */
  | 'raw-tokens'
  /** Authenticated: every API is served (subject to ACLs) until `expiresAtMs`. */
  | 'authenticated'
  /** Authentication failed: the connection is closed once the failure response is sent. */
  | 'failed';

export interface Session {
  readonly listenerName: string;
  readonly securityProtocol: SecurityProtocol;
  /** The client's address, normalized (IPv4-mapped IPv6 as IPv4). */
  readonly clientAddress: string;
  /** User:ANONYMOUS until authenticated; on SSL with client auth, from the certificate's subject. */
  principal: KafkaPrincipal;
  sasl: SaslState;
  /** The SASL mechanism chosen by SaslHandshake. */
  mechanism: string | null;
  /**
   * When the authenticated session ends (connections.max.reauth.ms, or a token's expiry): after it,
   * any request but SaslHandshake/SaslAuthenticate closes the connection. null: never.
   */
  expiresAtMs: number | null;
  /** Mechanism-specific state between SaslAuthenticate rounds (a SCRAM exchange in progress). */
  exchange: unknown;
  /**
   * Set by a v0 SaslHandshake: the connection passes each following frame here as a raw SASL token
   * and writes back the returned token (size-prefixed); null closes the connection.
   */
  rawToken: ((token: Buffer) => Promise<Buffer | null>) | null;
}

export function newSession(listenerName: string, securityProtocol: SecurityProtocol, clientAddress: string, principal: KafkaPrincipal = ANONYMOUS): Session {
  const sasl = usesSasl(securityProtocol);
  return {
    listenerName, securityProtocol, clientAddress, principal,
    sasl: sasl ? 'handshake' : 'none', mechanism: null, expiresAtMs: null, exchange: null, rawToken: null,
  };
}

/** A session handlers get when called outside a connection (tests, in-process calls). */
export function internalSession(): Session {
  return newSession('INTERNAL', 'PLAINTEXT', '127.0.0.1');
}
