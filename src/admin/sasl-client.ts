/**
 * The client side of SASL for Ferry's own connections (the CLI, perf/drill, broker to broker):
 * SaslHandshake v1, then SaslAuthenticate rounds for PLAIN, SCRAM-SHA-256/512 (the server's
 * signature is checked) or OAUTHBEARER (a token, or a function giving a fresh one per
 * authentication). Every refusal is an AdminError carrying Kafka's error code and message.
 */
import { ApiKey } from '../protocol/messages/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { AdminError } from './errors.js';
import type { ClientSasl } from './client-security.js';
import { ScramClient, ScramClientError } from '../security/sasl/scram-client.js';
import { scramAlgorithm } from '../security/sasl/scram.js';
import { oauthBearerInitialResponse } from '../security/sasl/oauthbearer-server.js';

/** Sends one request at exactly `version` and resolves with the decoded response body. */
export type SaslSend = (apiKey: number, version: number, body: object) => Promise<any>;

export interface SaslClientOptions {
  /** SaslAuthenticate version to use (0–2; the highest both sides speak). Default 2. */
  authenticateVersion?: number;
  /** Names the broker in errors. */
  address?: string;
}

export interface SaslOutcome {
  /** From SaslAuthenticate v1+: re-authenticate before this many ms (0: the session does not expire). */
  sessionLifetimeMs: number;
}

export async function authenticateSasl(send: SaslSend, sasl: ClientSasl, opts: SaslClientOptions = {}): Promise<SaslOutcome> {
  const mechanism = sasl.mechanism;
  const what = `SASL/${mechanism} authentication${opts.address ? ` to ${opts.address}` : ''}`;
  const version = opts.authenticateVersion ?? 2;
  const hs = await send(ApiKey.SaslHandshake, 1, { mechanism });
  if (hs.errorCode !== ErrorCode.NONE) {
    const detail = hs.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM ? `the broker enables ${(hs.mechanisms as string[]).join(', ') || 'no mechanism'}`
      : hs.errorCode === ErrorCode.ILLEGAL_SASL_STATE ? 'the listener does not take SASL here (check security.protocol)' : undefined;
    throw new AdminError(hs.errorCode, what, detail);
  }
  let lifetime = 0n;
  const round = async (bytes: Buffer): Promise<Buffer> => {
    const r = await send(ApiKey.SaslAuthenticate, version, { authBytes: bytes });
    if (r.errorCode !== ErrorCode.NONE) throw new AdminError(r.errorCode, what, r.errorMessage ?? undefined);
    lifetime = typeof r.sessionLifetimeMs === 'bigint' ? r.sessionLifetimeMs : 0n;
    return r.authBytes as Buffer;
  };
  const refuse = (detail: string) => new AdminError(ErrorCode.SASL_AUTHENTICATION_FAILED, what, detail);

  switch (mechanism) {
    case 'PLAIN': {
      if (sasl.username === undefined || sasl.password === undefined) throw refuse('PLAIN needs a username and a password');
      await round(Buffer.from(`\u0000${sasl.username}\u0000${sasl.password}`, 'utf8'));
      break;
    }
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-512': {
      if (sasl.username === undefined || sasl.password === undefined) throw refuse(`${mechanism} needs a username and a password`);
      const client = new ScramClient(scramAlgorithm(mechanism), sasl.username, sasl.password);
      try {
        const serverFirst = await round(client.firstMessage());
        const serverFinal = await round(await client.finalMessage(serverFirst));
        client.verifyServerFinal(serverFinal);
      } catch (err) {
        if (err instanceof ScramClientError) throw refuse(err.message);
        throw err;
      }
      break;
    }
    case 'OAUTHBEARER': {
      const token = typeof sasl.token === 'function' ? await sasl.token() : sasl.token;
      if (!token) throw refuse('OAUTHBEARER needs a token');
      const answer = await round(oauthBearerInitialResponse(token));
      if (answer.length > 0) {
        // The broker's JSON error status: acknowledge it (RFC 7628), which fails with that message.
        await round(Buffer.from([0x01]));
        throw refuse(answer.toString('utf8'));
      }
      break;
    }
    default:
      throw refuse(`mechanism ${mechanism as string} is not supported`);
  }
  return { sessionLifetimeMs: Number(lifetime) };
}
