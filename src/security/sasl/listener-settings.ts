/**
 * The SaslServerSettings of one SASL listener, from its configuration values (the caller reads
 * them, with Kafka's listener.name.<listener>.<mechanism>. prefixes resolved):
 *   - PLAIN's users are the user_<name> options of the mechanism's PlainLoginModule entry
 *     (other users are looked up in the SCRAM credentials);
 *   - OAUTHBEARER without a JWKS uses the unsecuredValidator* options of an
 *     OAuthBearerLoginModule entry, as Kafka's default validator does.
 * Errors name the setting, never a value from it.
 */
import { JaasConfigError, LOGIN_MODULES, parseSaslJaasConfig, plainUsersOf, type JaasEntry } from './jaas.js';
import { isSupportedMechanism } from './mechanism.js';
import { createOAuthBearerValidator, type OAuthBearerSettings } from './oauth-validator.js';
import { unsecuredOptionsOf } from './oauth-unsecured.js';
import type { SaslEvents, SaslServerSettings } from './authenticator.js';
import { VerifiedPasswordCache } from './verified-password-cache.js';
import type { ScramCredentialStore } from './scram-credential-store.js';

export class SaslConfigError extends Error {
  readonly code = 'SASL_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'SaslConfigError';
  }
}

export interface SaslListenerConfig {
  listenerName: string;
  /** sasl.enabled.mechanisms of the listener. */
  enabledMechanisms: readonly string[];
  /** The sasl.jaas.config that applies to a mechanism on this listener, or null. */
  jaasConfig(mechanism: string): string | null;
  /** The sasl.oauthbearer.* settings of the listener. */
  oauth: Omit<OAuthBearerSettings, 'unsecured' | 'onJwksError'>;
  /** connections.max.reauth.ms */
  reauthMs: number;
}

export interface SaslListenerDeps {
  scram: ScramCredentialStore;
  now(): number;
  /** JWKS fetch failures. */
  warn?(message: string): void;
  events?: SaslEvents;
}

/** The key a listener's per-mechanism JAAS setting is written under (for messages). */
export function jaasKey(listenerName: string, mechanism: string): string {
  return `listener.name.${listenerName.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
}

function jaasEntry(c: SaslListenerConfig, mechanism: string): JaasEntry | null {
  const text = c.jaasConfig(mechanism);
  if (text === null || text.trim() === '') return null;
  try {
    return parseSaslJaasConfig(text);
  } catch (err) {
    if (err instanceof JaasConfigError) throw new SaslConfigError(`${jaasKey(c.listenerName, mechanism)} (or sasl.jaas.config): ${err.message}`);
    throw err;
  }
}

/** Throws SaslConfigError for an unknown mechanism, a JAAS text that does not parse, or bad validator options. */
export function buildSaslServerSettings(c: SaslListenerConfig, deps: SaslListenerDeps): SaslServerSettings {
  const unsupported = c.enabledMechanisms.filter((m) => !isSupportedMechanism(m));
  if (unsupported.length > 0) throw new SaslConfigError(`listener ${c.listenerName}: sasl.enabled.mechanisms has ${unsupported.join(', ')}; Ferry offers PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER`);
  if (c.enabledMechanisms.length === 0) throw new SaslConfigError(`listener ${c.listenerName}: sasl.enabled.mechanisms is empty`);
  let plainUsers = new Map<string, string>();
  if (c.enabledMechanisms.includes('PLAIN')) {
    const e = jaasEntry(c, 'PLAIN');
    if (e && e.loginModule === LOGIN_MODULES.PLAIN) plainUsers = plainUsersOf(e);
  }
  let unsecured;
  if (c.enabledMechanisms.includes('OAUTHBEARER')) {
    const e = jaasEntry(c, 'OAUTHBEARER');
    try {
      unsecured = unsecuredOptionsOf(e && e.loginModule === LOGIN_MODULES.OAUTHBEARER ? e : null);
    } catch (err) {
      throw new SaslConfigError(`${jaasKey(c.listenerName, 'OAUTHBEARER')}: ${(err as Error).message}`);
    }
  }
  let oauth;
  try {
    // A listener without OAUTHBEARER never validates a token: no JWKS is fetched for it.
    const jwksUrl = c.enabledMechanisms.includes('OAUTHBEARER') ? c.oauth.jwksUrl : null;
    oauth = createOAuthBearerValidator({ ...c.oauth, jwksUrl, unsecured, onJwksError: deps.warn }, deps.now);
  } catch (err) {
    throw new SaslConfigError(`listener.name.${c.listenerName.toLowerCase()}.sasl.oauthbearer.jwks.endpoint.url: ${(err as Error).message}`);
  }
  return {
    enabledMechanisms: [...c.enabledMechanisms], plainUsers, scram: deps.scram, oauth, reauthMs: c.reauthMs, now: deps.now, events: deps.events,
    // PLAIN passwords of SCRAM users: PBKDF2 once per password, and one run at a time.
    plainMatches: new VerifiedPasswordCache().matches,
  };
}
