// ClientSecurity (a --command-config file) as kafkajs's `ssl` and `sasl` options, so the drill's
// workload connects to the same secured listener as its admin client and probe.
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { usesSasl, usesTls, type ClientSecurity, type ClientTls } from '../admin/client-security.js';

/** Node's tls.connect options for ClientTls (unset ca: Node's default roots). */
export function nodeTlsOptions(tls: ClientTls): TlsConnectionOptions {
  const out: TlsConnectionOptions = {};
  if (tls.ca !== undefined) out.ca = tls.ca;
  if (tls.cert !== undefined) out.cert = tls.cert;
  if (tls.key !== undefined) out.key = tls.key;
  if (tls.keyPassword !== undefined) out.passphrase = tls.keyPassword;
  // ssl.endpoint.identification.algorithm= (empty): the chain is still checked, the name is not.
  if (!tls.verifyHostname) out.checkServerIdentity = () => undefined;
  return out;
}

export function kafkajsSecurity(security: ClientSecurity | undefined): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  if (!security || security.protocol === 'PLAINTEXT') return {};
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (usesTls(security.protocol)) out.ssl = nodeTlsOptions(security.tls ?? { verifyHostname: true });
  if (usesSasl(security.protocol)) {
    const s = security.sasl;
    if (!s) throw new RangeError(`security.protocol ${security.protocol} without SASL settings`);
    let sasl: SASLOptions;
    if (s.mechanism === 'OAUTHBEARER') {
      const token = s.token;
      if (token === undefined) throw new RangeError('OAUTHBEARER without a token');
      sasl = { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: typeof token === 'string' ? token : await token() }) };
    } else {
      const mechanism = s.mechanism === 'PLAIN' ? 'plain' : s.mechanism === 'SCRAM-SHA-256' ? 'scram-sha-256' : 'scram-sha-512';
      sasl = { mechanism, username: s.username ?? '', password: s.password ?? '' };
    }
    out.sasl = sasl;
  }
  return out;
}
