/**
 * The SASL state machine of one session, as Kafka's SaslServerAuthenticator (with KafkaApis'
 * answers for a listener without SASL and KafkaChannel's re-authentication rules):
 *
 *   handshake --SaslHandshake v1--> authenticate --SaslAuthenticate...--> authenticated
 *             --SaslHandshake v0--> raw-tokens   --raw token frames...--> authenticated
 *   any refusal --> failed (the connection answers, then closes)
 *
 * - A mechanism that is not enabled: UNSUPPORTED_SASL_MECHANISM with the enabled list.
 * - SaslAuthenticate before a handshake, or a second handshake mid-exchange: ILLEGAL_SASL_STATE.
 * - A failed exchange: SASL_AUTHENTICATION_FAILED with the mechanism's message for the client, or
 *   Kafka's generic one when the reason must stay hidden (unknown user, wrong SCRAM proof).
 * - Success: the principal is User:<name>; the session lasts min(connections.max.reauth.ms, the
 *   token's remaining lifetime) when either is set, and SaslAuthenticate v1+ says so.
 * - KIP-368: a SaslHandshake on an authenticated session that has an expiry (and not within a
 *   second of the last one) starts re-authentication: the same mechanism, and the same principal,
 *   or the session fails. Otherwise it is answered ILLEGAL_SASL_STATE and the session goes on.
 *
 * Successful and failed authentications are logged (info/warn) with the principal or the user
 * name tried and the client's address; never a password or a token.
 */
import type { KafkaPrincipal, Session } from '../../server/session.js';
import { formatPrincipal } from '../../server/session.js';
import { ErrorCode } from '../../protocol/errors.js';
import { isSupportedMechanism, type SaslMechanismName, type SaslServerMechanism } from './mechanism.js';
import { SaslFailure, genericFailureMessage } from './sasl-failure.js';
import { PlainServer } from './plain-server.js';
import { ScramServer } from './scram-server.js';
import { OAuthBearerServer } from './oauthbearer-server.js';
import { scramAlgorithm, isScramMechanism } from './scram.js';
import type { ScramCredentialStore } from './scram-credential-store.js';
import type { PasswordMatcher } from './verified-password-cache.js';
import type { OAuthBearerValidator } from './oauth-token.js';

/** Kafka's sasl.server.max.receive.size default: the largest token accepted before authentication. */
export const SASL_TOKEN_BYTES_MAX = 524_288;
/** KafkaChannel.MIN_REAUTH_INTERVAL_ONE_SECOND_NANOS. */
const MIN_REAUTH_INTERVAL_MS = 1000;

export interface SaslEvents {
  authenticated?(mechanism: string, principal: KafkaPrincipal, listenerName: string): void;
  failed?(mechanism: string, reason: string, listenerName: string, clientAddress: string): void;
}

/** What one SASL listener accepts (the lead builds one per listener from the configuration). */
export interface SaslServerSettings {
  /** sasl.enabled.mechanisms of the listener. */
  enabledMechanisms: readonly string[];
  /** PlainLoginModule's user_<name> passwords (jaas.ts plainUsersOf); SCRAM credentials are tried next. */
  plainUsers: ReadonlyMap<string, string>;
  scram: ScramCredentialStore;
  /** How PLAIN checks a password against SCRAM credentials (default: PBKDF2 each time). */
  plainMatches?: PasswordMatcher;
  oauth: OAuthBearerValidator;
  /** connections.max.reauth.ms; 0: sessions without a token expiry never expire. */
  reauthMs: number;
  now(): number;
  events?: SaslEvents;
}

export interface SaslLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** This module's state of one session, kept in session.exchange. */
interface AuthState {
  server: SaslServerMechanism | null;
  /** Set while re-authenticating: who the session was. */
  reauth: { mechanism: string; principal: KafkaPrincipal } | null;
  /** A re-authentication asked for another mechanism: the next token fails with this. */
  badMechanismMessage: string | null;
  lastReauthStartMs: number | null;
}

function stateOf(session: Session): AuthState {
  const s = session.exchange as AuthState | null;
  if (s && typeof s === 'object' && 'lastReauthStartMs' in s) return s;
  const fresh: AuthState = { server: null, reauth: null, badMechanismMessage: null, lastReauthStartMs: null };
  session.exchange = fresh;
  return fresh;
}

/** The mechanisms a listener offers: its enabled ones that Ferry implements. */
function offered(settings: SaslServerSettings): string[] {
  return settings.enabledMechanisms.filter((m) => isSupportedMechanism(m));
}

function newServer(mechanism: SaslMechanismName, s: SaslServerSettings): SaslServerMechanism {
  if (mechanism === 'PLAIN') return new PlainServer({ jaasUsers: s.plainUsers, scram: s.scram, matches: s.plainMatches });
  if (mechanism === 'OAUTHBEARER') return new OAuthBearerServer(s.oauth);
  if (isScramMechanism(mechanism)) return new ScramServer(scramAlgorithm(mechanism), (user) => s.scram.get(mechanism, user));
  throw new Error(`no server for mechanism ${mechanism as string}`);
}

export interface HandshakeAnswer { errorCode: number; mechanisms: string[] }

export interface AuthenticateAnswer {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
  /** 0 until complete, and when the session does not expire. */
  sessionLifetimeMs: bigint;
}

const EMPTY = Buffer.alloc(0);

/** SaslHandshake (v0 or v1) on a session; `settings` null: the listener is not a SASL listener. */
export function handleSaslHandshake(session: Session, settings: SaslServerSettings | null, mechanism: string, version: number, log: SaslLog): HandshakeAnswer {
  if (settings === null || session.sasl === 'none') return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
  const st = stateOf(session);
  const mechanisms = offered(settings);
  switch (session.sasl) {
    case 'handshake':
      break;
    case 'authenticated': {
      // KafkaChannel.maybeBeginServerReauthentication: only a session with an expiry, at most once a second.
      const now = settings.now();
      const tooSoon = st.lastReauthStartMs !== null && now - st.lastReauthStartMs < MIN_REAUTH_INTERVAL_MS;
      if (version < 1 || session.expiresAtMs === null || tooSoon) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
      st.lastReauthStartMs = now;
      st.reauth = { mechanism: session.mechanism ?? '', principal: session.principal };
      break;
    }
    default:
      // A second handshake in the middle of an exchange (Kafka: IllegalSaslStateException).
      fail(session, settings, session.mechanism ?? mechanism, `SaslHandshake in SASL state ${session.sasl}`, log);
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
  }
  if (!mechanisms.includes(mechanism) || !isSupportedMechanism(mechanism)) {
    fail(session, settings, mechanism, `mechanism ${JSON.stringify(mechanism.slice(0, 64))} is not enabled`, log);
    return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
  }
  if (st.reauth && st.reauth.mechanism !== mechanism) {
    // Kafka answers the handshake and fails the first token (REAUTH_BAD_MECHANISM).
    st.badMechanismMessage = `SASL mechanism '${mechanism}' requested by client is not supported for re-authentication of mechanism '${st.reauth.mechanism}'`;
    st.server = null;
    session.sasl = 'authenticate';
    return { errorCode: ErrorCode.NONE, mechanisms };
  }
  st.server = newServer(mechanism, settings);
  st.badMechanismMessage = null;
  session.mechanism = mechanism;
  if (version === 0) {
    session.sasl = 'raw-tokens';
    session.rawToken = (token) => handleRawSaslToken(session, settings, token, log);
  } else {
    session.sasl = 'authenticate';
  }
  return { errorCode: ErrorCode.NONE, mechanisms };
}

/** SaslAuthenticate (v0–2) on a session. */
export async function handleSaslAuthenticate(session: Session, settings: SaslServerSettings | null, authBytes: Buffer, version: number, log: SaslLog): Promise<AuthenticateAnswer> {
  const refuse = (errorCode: number, errorMessage: string): AuthenticateAnswer => ({ errorCode, errorMessage, authBytes: EMPTY, sessionLifetimeMs: 0n });
  if (settings === null || session.sasl === 'none' || session.sasl === 'authenticated') {
    // KafkaApis' answer: no SASL here, or authenticated already (no re-authentication handshake first).
    return refuse(ErrorCode.ILLEGAL_SASL_STATE, 'SaslAuthenticate request received after successful authentication');
  }
  const st = stateOf(session);
  const mechanism = session.mechanism ?? '';
  if (session.sasl !== 'authenticate' || (st.server === null && st.badMechanismMessage === null)) {
    const was = session.sasl;
    if (was !== 'failed') fail(session, settings, mechanism, `SaslAuthenticate in SASL state ${was}`, log);
    return refuse(ErrorCode.ILLEGAL_SASL_STATE, `Unexpected SaslAuthenticate request in SASL state ${was}`);
  }
  const outcome = await step(session, settings, st, authBytes, log);
  if (outcome.kind === 'failed') return refuse(ErrorCode.SASL_AUTHENTICATION_FAILED, outcome.clientMessage);
  return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: outcome.answer, sessionLifetimeMs: BigInt(outcome.kind === 'complete' ? outcome.lifetimeMs : 0) };
}

/** One raw token after a v0 handshake: the answer token, or null to close the connection. */
export async function handleRawSaslToken(session: Session, settings: SaslServerSettings, token: Buffer, log: SaslLog): Promise<Buffer | null> {
  const st = stateOf(session);
  if (session.sasl !== 'raw-tokens' || st.server === null) return null;
  const outcome = await step(session, settings, st, token, log);
  if (outcome.kind !== 'continue') session.rawToken = null;
  return outcome.kind === 'failed' ? null : outcome.answer;
}

type Outcome =
  | { kind: 'continue'; answer: Buffer }
  | { kind: 'complete'; answer: Buffer; lifetimeMs: number }
  | { kind: 'failed'; clientMessage: string };

async function step(session: Session, settings: SaslServerSettings, st: AuthState, token: Buffer, log: SaslLog): Promise<Outcome> {
  const mechanism = session.mechanism ?? '';
  const reauthenticating = st.reauth !== null;
  const failed = (reason: string, clientMessage: string | null, user: string | null): Outcome => {
    fail(session, settings, mechanism, reason, log, user);
    return { kind: 'failed', clientMessage: clientMessage ?? genericFailureMessage(mechanism, reauthenticating) };
  };
  if (st.badMechanismMessage !== null) return failed(st.badMechanismMessage, st.badMechanismMessage, null);
  const server = st.server!;
  if (token.length > SASL_TOKEN_BYTES_MAX) return failed(`token of ${token.length} bytes`, 'Failing SASL authentication due to invalid receive size', server.attemptedUser);
  let answer: Buffer;
  try {
    answer = await server.evaluate(token);
  } catch (err) {
    const f = err instanceof SaslFailure ? err : new SaslFailure(`mechanism error: ${(err as Error).message}`);
    return failed(f.reason, f.clientMessage, server.attemptedUser);
  }
  if (!server.complete) return { kind: 'continue', answer };
  const principal: KafkaPrincipal = { type: 'User', name: server.authorizationId! };
  if (st.reauth && (st.reauth.principal.type !== principal.type || st.reauth.principal.name !== principal.name)) {
    const p = st.reauth.principal;
    const message = `Cannot change principals during re-authentication from ${p.type}.${p.name}: ${principal.type}.${principal.name}`;
    return failed(message, message, principal.name);
  }
  const now = settings.now();
  const lifetimeMs = sessionLifetimeMs(server.credentialExpiresAtMs, settings.reauthMs, now);
  session.principal = principal;
  session.sasl = 'authenticated';
  session.expiresAtMs = lifetimeMs === null ? null : now + lifetimeMs;
  st.server = null;
  st.reauth = null;
  log.info({ mechanism, principal: formatPrincipal(principal), client: session.clientAddress, listener: session.listenerName, sessionLifetimeMs: lifetimeMs ?? 0 },
    reauthenticating ? 'SASL re-authentication succeeded' : 'SASL authentication succeeded');
  settings.events?.authenticated?.(mechanism, principal, session.listenerName);
  return { kind: 'complete', answer, lifetimeMs: lifetimeMs ?? 0 };
}

/**
 * Kafka's ReauthInfo.calcCompletionTimesAndReturnSessionLifetimeMs: the session lasts until the
 * credential expires and at most connections.max.reauth.ms; null when neither applies.
 */
export function sessionLifetimeMs(credentialExpiresAtMs: number | null, reauthMs: number, nowMs: number): number | null {
  const maxReauthSet = reauthMs > 0;
  if (credentialExpiresAtMs === null && !maxReauthSet) return null;
  if (credentialExpiresAtMs === null) return reauthMs;
  const remaining = Math.max(0, credentialExpiresAtMs - nowMs);
  return maxReauthSet ? Math.min(remaining, reauthMs) : remaining;
}

function fail(session: Session, settings: SaslServerSettings, mechanism: string, reason: string, log: SaslLog, user: string | null = null): void {
  const st = stateOf(session);
  const reauthenticating = st.reauth !== null;
  session.sasl = 'failed';
  session.rawToken = null;
  st.server = null;
  log.warn({ mechanism, user, client: session.clientAddress, listener: session.listenerName, reason },
    reauthenticating ? 'SASL re-authentication failed' : 'SASL authentication failed');
  settings.events?.failed?.(mechanism, reason, session.listenerName, session.clientAddress);
}
