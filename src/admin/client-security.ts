/**
 * How a Ferry tool (the CLI, `ferry perf`, `ferry drill`, inter-broker connections) connects to
 * a secured listener: TLS settings and SASL credentials, as Kafka tools read them from a
 * `--command-config` properties file (parseClientProperties, added beside this type).
 */
import type { SecurityProtocol } from '../server/session.js';

export type ClientSaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';

export interface ClientTls {
  /** PEM CA certificates to trust (unset: Node's default roots). */
  ca?: string;
  /** PEM client certificate chain and key, for listeners with ssl.client.auth. */
  cert?: string;
  key?: string;
  keyPassword?: string;
  /** false when ssl.endpoint.identification.algorithm is empty: the chain is checked, the host name is not. */
  verifyHostname: boolean;
}

export interface ClientSasl {
  mechanism: ClientSaslMechanism;
  username?: string;
  password?: string;
  /** OAUTHBEARER: the token, or a function fetching a fresh one on each (re-)authentication. */
  token?: string | (() => Promise<string>);
}

export interface ClientSecurity {
  protocol: SecurityProtocol;
  tls?: ClientTls;
  sasl?: ClientSasl;
}

export const PLAINTEXT_CLIENT: ClientSecurity = Object.freeze({ protocol: 'PLAINTEXT' });
