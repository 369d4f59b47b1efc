/**
 * SASL/PLAIN (RFC 4616: [authzid] NUL authcid NUL passwd), as Kafka's PlainSaslServer. The
 * password is checked against the broker's JAAS users (PlainLoginModule's user_<name> options)
 * and, for a user not listed there, against the user's SCRAM credentials (the password salted
 * with the stored salt and iterations must give the stored key): one user store for both
 * mechanisms. Failures carry Kafka's messages, which the client sees.
 */
import { createHash } from 'node:crypto';
import type { SaslServerMechanism } from './mechanism.js';
import { SaslFailure } from './sasl-failure.js';
import { constantTimeEqual, passwordMatches, scramAlgorithm, type ScramMechanism } from './scram.js';
import type { ScramCredentialStore } from './scram-credential-store.js';
import type { PasswordMatcher } from './verified-password-cache.js';

/** The SCRAM credentials tried for a PLAIN password, strongest first. */
const SCRAM_FALLBACK: readonly ScramMechanism[] = ['SCRAM-SHA-512', 'SCRAM-SHA-256'];

export interface PlainUserSource {
  /** user_<name> passwords from the JAAS config. */
  jaasUsers: ReadonlyMap<string, string>;
  /** Consulted for users the JAAS config does not list; null: JAAS users only. */
  scram: Pick<ScramCredentialStore, 'get'> | null;
  /** How a password is checked against a SCRAM credential (default: PBKDF2 each time). */
  matches?: PasswordMatcher;
}

/** Is `password` the user's? Compares in constant time (digests of both sides). */
export async function verifyPlainPassword(users: PlainUserSource, username: string, password: string): Promise<boolean> {
  const expected = users.jaasUsers.get(username);
  if (expected !== undefined) {
    const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
    return constantTimeEqual(digest(password), digest(expected));
  }
  if (!users.scram) return false;
  const matches = users.matches ?? passwordMatches;
  for (const m of SCRAM_FALLBACK) {
    const c = await users.scram.get(m, username);
    if (c && await matches(scramAlgorithm(m), password, c)) return true;
  }
  return false;
}

/** Kafka's PlainSaslServer.extractTokens: exactly three NUL-separated fields. */
export function parsePlainMessage(token: Buffer): { authorizationId: string; username: string; password: string } {
  const tokens = token.toString('utf8').split('\u0000');
  if (tokens.length !== 3) {
    const got = Math.min(tokens.length, 4); // Kafka stops counting at 4
    throw new SaslFailure(`PLAIN message has ${got} fields`, `Invalid SASL/PLAIN response: expected 3 tokens, got ${got}`);
  }
  return { authorizationId: tokens[0]!, username: tokens[1]!, password: tokens[2]! };
}

export class PlainServer implements SaslServerMechanism {
  readonly mechanism = 'PLAIN' as const;
  complete = false;
  authorizationId: string | null = null;
  attemptedUser: string | null = null;
  readonly credentialExpiresAtMs = null;

  constructor(private readonly users: PlainUserSource) {}

  async evaluate(token: Buffer): Promise<Buffer> {
    if (this.complete) throw new SaslFailure('PLAIN message after authentication completed');
    const m = parsePlainMessage(token);
    this.attemptedUser = m.username || null;
    if (m.username === '') throw new SaslFailure('no user name', 'Authentication failed: username not specified');
    if (m.password === '') throw new SaslFailure('no password', 'Authentication failed: password not specified');
    let ok: boolean;
    try {
      ok = await verifyPlainPassword(this.users, m.username, m.password);
    } catch (err) {
      throw new SaslFailure(`credentials could not be read: ${(err as Error).message}`, 'Authentication failed: credentials for user could not be verified');
    }
    if (!ok) throw new SaslFailure('unknown user or wrong password', 'Authentication failed: Invalid username or password');
    if (m.authorizationId !== '' && m.authorizationId !== m.username) {
      throw new SaslFailure('authorization id differs from the user name', 'Authentication failed: Client requested an authorization id that is different from username');
    }
    this.authorizationId = m.username;
    this.complete = true;
    return Buffer.alloc(0);
  }
}
