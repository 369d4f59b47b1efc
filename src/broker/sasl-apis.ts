/**
 * SaslHandshake (17, v0–1) and SaslAuthenticate (36, v0–2): the Kafka side of the session's SASL
 * state machine (src/security/sasl/authenticator.ts). The connection gates everything else on
 * the session's state; these handlers only move it. `settingsFor(listener)` is null for a
 * listener without SASL, where both APIs answer ILLEGAL_SASL_STATE as Kafka's do.
 */
import { ApiKey } from '../protocol/messages/index.js';
import type { SaslHandshakeRequest, SaslHandshakeResponse } from '../protocol/messages/sasl-handshake.js';
import type { SaslAuthenticateRequest, SaslAuthenticateResponse } from '../protocol/messages/sasl-authenticate.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { Handler, RequestContext } from '../server/handler-registry.js';
import { internalSession } from '../server/session.js';
import { handleSaslAuthenticate, handleSaslHandshake, type SaslServerSettings } from '../security/sasl/authenticator.js';

type Add = (key: number, v: { min: number; max: number }, handler: Handler) => void;

export const SASL_HANDSHAKE_VERSIONS = { min: 0, max: 1 };
export const SASL_AUTHENTICATE_VERSIONS = { min: 0, max: 2 };

export function registerSaslApis(add: Add, settingsFor: (listenerName: string) => SaslServerSettings | null): void {
  add(ApiKey.SaslHandshake, SASL_HANDSHAKE_VERSIONS, (ctx: RequestContext, req: SaslHandshakeRequest): DeepPartial<SaslHandshakeResponse> => {
    const session = ctx.session ?? internalSession();
    return handleSaslHandshake(session, settingsFor(session.listenerName), req.mechanism, ctx.header.apiVersion, ctx.log);
  });

  add(ApiKey.SaslAuthenticate, SASL_AUTHENTICATE_VERSIONS, async (ctx: RequestContext, req: SaslAuthenticateRequest): Promise<DeepPartial<SaslAuthenticateResponse>> => {
    const session = ctx.session ?? internalSession();
    return handleSaslAuthenticate(session, settingsFor(session.listenerName), req.authBytes, ctx.header.apiVersion, ctx.log);
  });
}
