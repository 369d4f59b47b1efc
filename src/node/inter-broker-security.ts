/**
 * How this broker connects to the others (transaction markers): over inter.broker.listener.name,
 * with that listener's protocol, its truststore to check the other brokers' certificates, its
 * keystore as the client certificate (mTLS listeners), and sasl.mechanism.inter.broker.protocol
 * with the username/password of that listener's sasl.jaas.config, as Kafka's brokers do.
 */
import type { BrokerConfig } from '../ops/config.js';
import type { ClientSaslMechanism, ClientSecurity } from '../admin/client-security.js';
import type { PlannedListener } from './listener-plan.js';
import { usesSasl, usesTls } from '../server/session.js';
import { loadTlsMaterial } from '../security/tls/tls-material.js';
import { parseSaslJaasConfig, credentialsOf } from '../security/sasl/jaas.js';
import { tlsSettingsOf } from './security-wiring.js';

export class InterBrokerSecurityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InterBrokerSecurityError';
  }
}

export function interBrokerClientSecurity(config: BrokerConfig, listener: PlannedListener): ClientSecurity {
  const protocol = listener.protocol;
  const out: ClientSecurity = { protocol };
  if (usesTls(protocol)) {
    const settings = tlsSettingsOf(config, listener.name);
    const material = loadTlsMaterial(listener.name, settings);
    out.tls = {
      ...(material.caPem !== null ? { ca: material.caPem } : {}),
      ...(settings.clientAuth !== 'none' ? { cert: material.certChainPem, key: material.keyPem } : {}),
      verifyHostname: config.sslEndpointIdentificationAlgorithm === 'https',
    };
  }
  if (usesSasl(protocol)) {
    const mechanism = config.saslMechanismInterBrokerProtocol as ClientSaslMechanism;
    const jaas = config.forListener(listener.name, 'sasl.jaas.config', mechanism) as string | null;
    const where = `listener.name.${listener.name.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
    if (jaas === null) throw new InterBrokerSecurityError(`inter-broker listener ${listener.name} is ${protocol}: ${where} (or sasl.jaas.config) must give this broker's username and password`);
    if (mechanism === 'OAUTHBEARER') throw new InterBrokerSecurityError('sasl.mechanism.inter.broker.protocol=OAUTHBEARER is not supported; use PLAIN or SCRAM for brokers');
    const creds = credentialsOf(parseSaslJaasConfig(jaas));
    if (creds === null) throw new InterBrokerSecurityError(`${where}: needs username and password options (this broker's own credentials)`);
    out.sasl = { mechanism, username: creds.username, password: creds.password };
  }
  return out;
}
