// A broker process with one listener per security protocol (and an mTLS one), certificates from
// the test PKI, for tests that drive real clients over TLS and SASL.
import { BrokerProcess } from './broker-process.js';
import { freePort } from './ports.js';
import { testPki, type TestPki } from './certs.js';

export type ListenerName = 'PLAINTEXT' | 'SSL' | 'MTLS' | 'SASL_PLAINTEXT' | 'SASL_SSL';

export interface SecureBroker {
  broker: BrokerProcess;
  pki: TestPki;
  address(listener: ListenerName): string;
  dispose(): Promise<void>;
}

export const ADMIN_USER = { name: 'admin', password: 'admin-secret' };
export const PLAIN_USER = { name: 'alice', password: 'alice-secret' };

/** The JAAS line of the PLAIN server: the admin (this broker's own credentials) and alice. */
export function plainServerJaas(): string {
  return `org.apache.kafka.common.security.plain.PlainLoginModule required username="${ADMIN_USER.name}" password="${ADMIN_USER.password}" user_${ADMIN_USER.name}="${ADMIN_USER.password}" user_${PLAIN_USER.name}="${PLAIN_USER.password}";`;
}

export async function startSecureBroker(opts: { sasl?: boolean; config?: Record<string, string>; verbose?: boolean } = {}): Promise<SecureBroker> {
  // Ports found free can be taken by another test before the broker binds them: try new ones.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePorts(opts);
    } catch (err) {
      if (attempt >= 3 || !/already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startOnFreePorts(opts: { sasl?: boolean; config?: Record<string, string>; verbose?: boolean }): Promise<SecureBroker> {
  const pki = testPki();
  const names: ListenerName[] = opts.sasl === false ? ['PLAINTEXT', 'SSL', 'MTLS'] : ['PLAINTEXT', 'SSL', 'MTLS', 'SASL_PLAINTEXT', 'SASL_SSL'];
  const ports = new Map<ListenerName, number>();
  for (const n of names) ports.set(n, await freePort());
  const config: Record<string, string> = {
    listeners: names.map((n) => `${n}://127.0.0.1:${ports.get(n)}`).join(','),
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    'ssl.keystore.location': pki.server.keystorePath,
    'ssl.truststore.location': pki.ca.certPath,
    'listener.name.mtls.ssl.client.auth': 'required',
    ...(opts.sasl === false ? {} : {
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
      'sasl.jaas.config': plainServerJaas(),
    }),
    ...(opts.config ?? {}),
  };
  const broker = new BrokerProcess({ port: ports.get('PLAINTEXT'), config, verbose: opts.verbose });
  try {
    await broker.start();
  } catch (err) {
    await broker.dispose();
    throw err;
  }
  return {
    broker, pki,
    address: (l) => `127.0.0.1:${ports.get(l)}`,
    dispose: () => broker.dispose(),
  };
}
