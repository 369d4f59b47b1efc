/**
 * The built-in schema registry of a broker: the registry itself (followed on every broker, so
 * broker-side validation works everywhere) and, with schema.registry.listener, its REST API.
 *
 * schema.registry.protocol=https serves it over TLS with the broker's ssl.* settings
 * (listener.name.schema_registry.ssl.* first), reloaded as the Kafka listeners' are.
 * schema.registry.authentication=basic checks HTTP Basic credentials as SASL/PLAIN does (the PLAIN
 * users of the SASL listeners' JAAS configs, then SCRAM credentials); =ssl takes the principal of
 * the TLS client certificate (ssl.principal.mapping.rules). With an authorizer, subjects
 * are authorized with topic ACLs, as Confluent's TopicAclAuthorizer does: subject <topic>-key or
 * <topic>-value is topic <topic> (any other subject: the topic named like it); reading a subject
 * needs READ, registering WRITE, deleting DELETE, its config DESCRIBE_CONFIGS / ALTER_CONFIGS;
 * the global config and mode need those on the cluster.
 */
import type { Logger } from 'pino';
import type { BrokerConfig } from '../ops/config.js';
import type { ClusterMetadata } from './cluster-metadata.js';
import type { PlannedListener } from './listener-plan.js';
import type { BrokerMetrics } from '../ops/metrics.js';
import { SchemaRegistry } from '../schema/schema-registry.js';
import { basicCredentials, startRegistryHttpServer, type RegistryAccess, type RegistryHttpServer, type RegistryOperation } from '../schema/registry-http.js';
import { usesSasl, newSession } from '../server/session.js';
import { CLUSTER_RESOURCE_NAME, type Authorizer } from '../security/types.js';
import { parseSaslJaasConfig, plainUsersOf } from '../security/sasl/jaas.js';
import { verifyPlainPassword } from '../security/sasl/plain-server.js';
import { MetadataScramCredentialStore } from '../security/sasl/scram-credential-store.js';
import { VerifiedPasswordCache } from '../security/sasl/verified-password-cache.js';
import { ListenError } from './early-listeners.js';
import { parseHostPort, SCHEMA_REGISTRY_TLS_NAME } from '../ops/config.js';
import { TlsContextProvider } from '../security/tls/tls-context.js';
import { TlsPeerError } from '../security/tls/tls-errors.js';
import { tlsSettingsOf } from './security-wiring.js';
import type { TLSSocket } from 'node:tls';

export interface BrokerSchemaRegistry {
  registry: SchemaRegistry;
  http: RegistryHttpServer | null;
  close(): Promise<void>;
}

export async function openSchemaRegistry(
  config: BrokerConfig, meta: ClusterMetadata, listeners: readonly PlannedListener[], authorizer: Authorizer, log: Logger, metrics: BrokerMetrics,
): Promise<BrokerSchemaRegistry> {
  const registry = new SchemaRegistry({
    store: meta.store, root: meta.keys.root, log, defaultCompatibility: config.schemaRegistryCompatibilityLevel,
  });
  await registry.start();
  metrics.observeSchemaRegistry(() => registry.size());
  let http: RegistryHttpServer | null = null;
  let tls: TlsContextProvider | null = null;
  try {
    if (config.schemaRegistryListener !== null) {
      const { host, port } = parseHostPort(config.schemaRegistryListener);
      if (config.schemaRegistryProtocol === 'https') {
        tls = TlsContextProvider.open('SCHEMA_REGISTRY', tlsSettingsOf(config, SCHEMA_REGISTRY_TLS_NAME), log.child({ component: 'schema-registry' }));
      }
      const access = config.schemaRegistryAuthentication === 'basic' ? basicAccess(config, meta, listeners, authorizer)
        : config.schemaRegistryAuthentication === 'ssl' ? certificateAccess(tls!, authorizer, log)
          : undefined;
      try {
        http = await startRegistryHttpServer({
          host, port, registry, log, access, tls: tls ?? undefined, onResponse: (method, status) => metrics.schemaRegistryRequest(method, status),
        });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw e.code ? new ListenError('schema.registry.listener', config.schemaRegistryListener, e) : err;
      }
    }
  } catch (err) {
    tls?.close();
    registry.close();
    throw err;
  }
  return {
    registry,
    http,
    close: async () => {
      await http?.close();
      tls?.close();
      registry.close();
    },
  };
}

function basicAccess(config: BrokerConfig, meta: ClusterMetadata, listeners: readonly PlannedListener[], authorizer: Authorizer): RegistryAccess {
  const jaasUsers = new Map<string, string>();
  for (const l of listeners) {
    if (!usesSasl(l.protocol)) continue;
    const text = config.forListener(l.name, 'sasl.jaas.config', 'PLAIN') as string | null;
    if (text) for (const [u, p] of plainUsersOf(parseSaslJaasConfig(text))) if (!jaasUsers.has(u)) jaasUsers.set(u, p);
  }
  const scram = new MetadataScramCredentialStore(meta.store, meta.keys.root);
  // Every request carries the password: PBKDF2 once per SCRAM user and password, not per request.
  const { matches } = new VerifiedPasswordCache();
  return {
    scheme: 'basic',
    identify: async (req) => {
      const c = basicCredentials(req);
      return c !== null && (await verifyPlainPassword({ jaasUsers, scram, matches }, c.user, c.password)) ? c.user : null;
    },
    allowed: subjectAcls(authorizer, 'SASL_PLAINTEXT'),
  };
}

/** The mapped principal of the connection's client certificate; an untrusted one is refused. */
function certificateAccess(tls: TlsContextProvider, authorizer: Authorizer, log: Logger): RegistryAccess {
  return {
    scheme: 'certificate',
    identify: async (req) => {
      try {
        const p = tls.principalOf(req.socket as TLSSocket);
        return p.name === 'ANONYMOUS' ? null : p.name;
      } catch (err) {
        if (!(err instanceof TlsPeerError)) throw err;
        log.info({ client: req.socket.remoteAddress, reason: err.message }, 'schema registry client certificate refused');
        return null;
      }
    },
    allowed: subjectAcls(authorizer, 'SSL'),
  };
}

/** Subjects as topics (TopicAclAuthorizer); the global config and mode as the cluster. */
function subjectAcls(authorizer: Authorizer, protocol: 'SSL' | 'SASL_PLAINTEXT'): RegistryAccess['allowed'] {
  return (principal: string, host: string, op: RegistryOperation, subject: string | null) => {
    if (!authorizer.enabled) return true;
    const session = newSession('SCHEMA_REGISTRY', protocol, host, { type: 'User', name: principal });
    if (subject === null) return authorizer.authorize(session, op === 'ALTER_CONFIGS' ? 'ALTER_CONFIGS' : 'DESCRIBE_CONFIGS', 'CLUSTER', CLUSTER_RESOURCE_NAME);
    return authorizer.authorize(session, op, 'TOPIC', topicOfSubject(subject));
  };
}

/** TopicNameStrategy's subjects name their topic; any other subject is checked as a topic of its own name. */
export function topicOfSubject(subject: string): string {
  const m = /^(.+)-(key|value)$/.exec(subject);
  return m ? m[1]! : subject;
}
