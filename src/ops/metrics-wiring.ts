/**
 * Glue between the broker and BrokerMetrics, so the broker's own files need one line per hook:
 *   instrumentHandler(metrics, handler)   wraps an API handler: request count, latency, outcome
 *   startMetricsListener(listener, ...)   the metrics.listener config value -> ops HTTP server
 */
import type { BrokerMetrics, RequestOutcome } from './metrics.js';
import { startOpsHttpServer, type OpsHttpServer } from './http-server.js';
import { parseHostPort } from './config.js';

/** The parts of a RequestContext a wrapped handler reads. */
interface HandlerContext { header: { apiKey: number; apiVersion: number } }
type AnyHandler<C extends HandlerContext> = (ctx: C, request: any) => Promise<object | null> | object | null;

/** A response's top-level error code (0 when it has none, or for acks=0's null). */
export function responseErrorCode(response: object | null): number {
  const code = (response as { errorCode?: unknown } | null)?.errorCode;
  return typeof code === 'number' ? code : 0;
}

/**
 * The same handler, timed: requestStarted when called, done when its response is ready (with the
 * response's top-level error code), or 'closed' when it throws (the connection closes then).
 */
export function instrumentHandler<C extends HandlerContext>(metrics: BrokerMetrics, handler: AnyHandler<C>): AnyHandler<C> {
  return (ctx, request) => {
    const done = metrics.requestStarted(ctx.header.apiKey, ctx.header.apiVersion);
    let result: Promise<object | null> | object | null;
    try {
      result = handler(ctx, request);
    } catch (err) {
      done('closed');
      throw err;
    }
    if (result instanceof Promise) {
      return result.then((res) => { done(responseErrorCode(res)); return res; }, (err) => { done('closed' as RequestOutcome); throw err; });
    }
    done(responseErrorCode(result));
    return result;
  };
}

/** Starts the ops HTTP server on `listener` (host:port, the metrics.listener key); null when unset. */
export async function startMetricsListener(listener: string | null, metrics: BrokerMetrics, readiness: () => boolean): Promise<OpsHttpServer | null> {
  if (listener === null || listener === '') return null;
  const { host, port } = parseHostPort(listener);
  return startOpsHttpServer({ host, port, metrics, readiness });
}
