/**
 * GetTelemetrySubscriptions (api key 71) and PushTelemetry (72), version 0: KIP-714 client
 * metrics. The subscription comes from the broker config (client.telemetry.*); accepted pushes
 * are decoded (OTLP MetricsData) and their values shown on /metrics as ferry_client_metric. The
 * rules are src/telemetry/client-telemetry.ts's. Registered only when the broker has a telemetry
 * service (BrokerContext.telemetry); without one the connection answers UNSUPPORTED_VERSION.
 */
import type { GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse } from '../protocol/messages/get-telemetry-subscriptions.js';
import type { PushTelemetryRequest, PushTelemetryResponse } from '../protocol/messages/push-telemetry.js';
import type { DeepPartial } from '../protocol/primitives.js';
import { errorName } from '../protocol/errors.js';
import type { Handler, RequestContext } from '../server/handler-registry.js';
import type { ClientTelemetry } from '../telemetry/client-telemetry.js';
import { ApiKey } from '../protocol/messages/index.js';

export const GET_TELEMETRY_SUBSCRIPTIONS_VERSIONS = { min: 0, max: 0 } as const;
export const PUSH_TELEMETRY_VERSIONS = { min: 0, max: 0 } as const;

export function makeGetTelemetrySubscriptionsHandler(telemetry: ClientTelemetry) {
  return (_ctx: RequestContext, req: GetTelemetrySubscriptionsRequest): DeepPartial<GetTelemetrySubscriptionsResponse> => ({
    throttleTimeMs: 0,
    ...telemetry.getSubscriptions(req.clientInstanceId),
  });
}

export function makePushTelemetryHandler(telemetry: ClientTelemetry) {
  return (ctx: RequestContext, req: PushTelemetryRequest): DeepPartial<PushTelemetryResponse> => {
    const { errorCode, reason } = telemetry.push(req, ctx.header.clientId ?? '');
    if (reason !== null) ctx.log.debug({ clientInstanceId: req.clientInstanceId, error: errorName(errorCode), reason }, 'telemetry push refused');
    return { throttleTimeMs: 0, errorCode };
  };
}

/** register-apis.ts's `add` (not imported from there: that would be an import cycle). */
type Add = (key: number, v: { min: number; max: number }, handler: Handler) => void;

export function registerTelemetryApis(telemetry: ClientTelemetry | undefined, add: Add): void {
  if (!telemetry) return;
  add(ApiKey.GetTelemetrySubscriptions, GET_TELEMETRY_SUBSCRIPTIONS_VERSIONS, makeGetTelemetrySubscriptionsHandler(telemetry));
  add(ApiKey.PushTelemetry, PUSH_TELEMETRY_VERSIONS, makePushTelemetryHandler(telemetry));
}
