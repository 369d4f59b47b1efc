/**
 * The broker's security parts, built from its configuration: TLS certificates per listener, SASL
 * settings per listener, the ACL authorizer, client quotas and connection-rate limits, and the
 * APIs that manage them. broker.ts hands these to the listeners, the connections and the handlers.
 */
import type { Logger } from 'pino';
import type { BrokerConfig } from '../ops/config.js';
import type { ClusterMetadata } from './cluster-metadata.js';
import type { PlannedListener } from './listener-plan.js';
import type { ListenerTls } from '../server/server.js';
import type { RequestQuotas } from '../server/connection.js';
import type { Handler } from '../server/handler-registry.js';
import type { BrokerContext } from '../broker/context.js';
import { ALLOW_ALL, type Authorizer } from '../security/types.js';
import { usesSasl, usesTls } from '../server/session.js';
import { openAcls, type OpenedAcls } from '../security/acl/open-acls.js';
import { registerAclApis } from '../broker/acl-apis.js';
import type { BrokerMetrics } from '../ops/metrics.js';
import { MetadataScramCredentialStore } from '../security/sasl/scram-credential-store.js';
import { buildSaslServerSettings } from '../security/sasl/listener-settings.js';
import type { SaslServerSettings } from '../security/sasl/authenticator.js';
import { registerSaslApis } from '../broker/sasl-apis.js';
import { registerScramApis } from '../broker/scram-apis.js';
import { openClientQuotas, type ClientQuotas, type ConnectionRateLimiter } from '../security/quota/index.js';
import { registerQuotaApis } from '../broker/quota-apis.js';
import { interBrokerListener } from './listener-plan.js';
import { TlsContextProvider, type TlsListenerSettings, type SslClientAuth } from '../security/tls/tls-context.js';

export type AddApi = (key: number, v: { min: number; max: number }, handler: Handler) => void;

export interface BrokerSecurity {
  authorizer: Authorizer;
  quotas: RequestQuotas | undefined;
  tlsFor(listener: PlannedListener): ListenerTls | undefined;
  admitFor(listener: PlannedListener): ((ip: string, nowMs: number) => boolean) | undefined;
  /** Registers SaslHandshake/SaslAuthenticate, the SCRAM, ACL and quota APIs. */
  registerApis(b: BrokerContext, add: AddApi): void;
  close(): Promise<void>;
}

/** A listener's ssl.* settings (listener.name.<l>.ssl.* first). */
export function tlsSettingsOf(config: BrokerConfig, listenerName: string): TlsListenerSettings {
  const get = (key: string) => config.forListener(listenerName, key);
  return {
    keystoreType: 'PEM',
    keystoreLocation: get('ssl.keystore.location') as string | null,
    keystoreCertificateChain: get('ssl.keystore.certificate.chain') as string | null,
    keystoreKey: get('ssl.keystore.key') as string | null,
    keyPassword: get('ssl.key.password') as string | null,
    truststoreLocation: get('ssl.truststore.location') as string | null,
    truststoreCertificates: get('ssl.truststore.certificates') as string | null,
    clientAuth: get('ssl.client.auth') as SslClientAuth,
    enabledProtocols: [...(get('ssl.enabled.protocols') as string[])],
    cipherSuites: [...(get('ssl.cipher.suites') as string[])],
    principalMappingRules: get('ssl.principal.mapping.rules') as string,
  };
}

export async function openSecurity(config: BrokerConfig, meta: ClusterMetadata, listeners: readonly PlannedListener[], log: Logger, metrics: BrokerMetrics): Promise<BrokerSecurity> {
  const tls = new Map<string, TlsContextProvider>();
  let acls: OpenedAcls | null = null;
  const sasl = new Map<string, SaslServerSettings>();
  const scram = new MetadataScramCredentialStore(meta.store, meta.keys.root);
  let quotas: ClientQuotas | null = null;
  let admission: ConnectionRateLimiter | null = null;
  const closeAll = () => {
    quotas?.close();
    for (const p of tls.values()) p.close();
    for (const s of sasl.values()) s.oauth.close();
    acls?.close();
  };
  try {
    // The authorizer is loaded before the listeners open: until then only super users would pass.
    if (config.authorizerClassName !== null) {
      acls = await openAcls({
        store: meta.store, root: meta.keys.root, superUsers: config.superUsers, allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound,
        log: log.child({ component: 'acls' }),
        onDenied: (_principal, op, type) => metrics.authorizationDenied(op, type),
      });
    }
    for (const l of listeners) if (usesTls(l.protocol)) tls.set(l.name, TlsContextProvider.open(l.name, tlsSettingsOf(config, l.name), log.child({ listener: l.name })));
    // Client quotas are always followed (they are set at run time with AlterClientQuotas).
    quotas = await openClientQuotas({
      store: meta.store, root: meta.keys.root, windowNum: config.quotaWindowNum, windowSizeSeconds: config.quotaWindowSizeSeconds,
      log: log.child({ component: 'quotas' }),
      events: {
        throttled: (type, ms) => metrics.throttled(type, ms),
      },
    });
    admission = quotas.connections({
      brokerMaxRate: config.maxConnectionCreationRate,
      listeners: listeners.map((l) => ({ name: l.name, maxRate: config.forListener(l.name, 'max.connection.creation.rate') as number })),
      interBrokerListener: interBrokerListener(listeners, config.interBrokerListenerName).name,
    });
    for (const l of listeners) if (usesSasl(l.protocol)) sasl.set(l.name, saslSettingsOf(config, l, scram, log, metrics));
  } catch (err) {
    closeAll();
    throw err;
  }
  return {
    authorizer: acls?.authorizer ?? ALLOW_ALL,
    quotas: quotas.requests,
    tlsFor: (l) => tls.get(l.name),
    admitFor: (l) => admission!.admitter(l.name),
    registerApis: (b, add) => {
      registerSaslApis(add, (name) => sasl.get(name) ?? null);
      registerScramApis(b, add, scram);
      registerAclApis(b, add, acls?.acls ?? null);
      registerQuotaApis(b, add, quotas!.store);
    },
    close: async () => closeAll(),
  };
}

/** A SASL listener's mechanisms, JAAS users, OAUTHBEARER validation and session lifetime. */
function saslSettingsOf(config: BrokerConfig, l: PlannedListener, scram: MetadataScramCredentialStore, log: Logger, metrics: BrokerMetrics): SaslServerSettings {
  const get = (key: string) => config.forListener(l.name, key);
  const saslLog = log.child({ component: 'sasl', listener: l.name });
  const enabledMechanisms = get('sasl.enabled.mechanisms') as string[];
  if (enabledMechanisms.includes('OAUTHBEARER') && get('sasl.oauthbearer.jwks.endpoint.url') === null) {
    saslLog.warn('OAUTHBEARER accepts unsecured tokens on this listener (no sasl.oauthbearer.jwks.endpoint.url): anyone can claim any principal; for tests only');
  }
  return buildSaslServerSettings({
    listenerName: l.name,
    enabledMechanisms,
    jaasConfig: (mechanism) => config.forListener(l.name, 'sasl.jaas.config', mechanism) as string | null,
    oauth: {
      jwksUrl: get('sasl.oauthbearer.jwks.endpoint.url') as string | null,
      expectedAudience: get('sasl.oauthbearer.expected.audience') as string[],
      expectedIssuer: get('sasl.oauthbearer.expected.issuer') as string | null,
      subClaimName: get('sasl.oauthbearer.sub.claim.name') as string,
      scopeClaimName: get('sasl.oauthbearer.scope.claim.name') as string,
      clockSkewSeconds: get('sasl.oauthbearer.clock.skew.seconds') as number,
      jwksRefreshMs: get('sasl.oauthbearer.jwks.endpoint.refresh.ms') as number,
    },
    reauthMs: get('connections.max.reauth.ms') as number,
  }, {
    scram, now: () => Date.now(), warn: (m) => saslLog.warn(m),
    events: {
      authenticated: (mechanism) => metrics.authenticated(l.name, mechanism, true),
      failed: (mechanism) => metrics.authenticated(l.name, mechanism, false),
    },
  });
}
