/**
 * The answer to a request Ferry has a codec for but does not serve (API not registered, or a
 * version outside the registered range): a response of that API at the requested version that
 * carries UNSUPPORTED_VERSION where the client reads errors.
 *
 * - A response with a top-level error code at that version gets it there. Whether it has one is
 *   asked of the codec itself: the body {errorCode: 35} is encoded and compared with the default
 *   body (a field absent at a version is not written, so the bytes are equal), cached per version.
 * - A response without one (Produce, Fetch v0-6, describe-by-name APIs) answers every item the
 *   request named with the error, through a small table of request -> response item mappers:
 *   the item lists differ per API in name and shape, which no generic rule gets right.
 * - Anything else gets the default body (empty lists) with the error code where it fits: the
 *   client reads a well-formed answer, never a closed connection.
 */
import { ErrorCode } from '../protocol/errors.js';
import { Writer } from '../protocol/primitives.js';
import type { ApiInfo } from '../protocol/messages/index.js';

const UNSUPPORTED = ErrorCode.UNSUPPORTED_VERSION;

type ItemMapper = (request: any, errorCode: number) => object;

/** APIs whose response names its items with the error instead of a top-level code. */
const ITEM_MAPPERS: ReadonlyMap<number, ItemMapper> = new Map<number, ItemMapper>([
  [0, (req, errorCode) => ({
    responses: (req.topicData ?? []).map((t: any) => ({
      name: t.name,
      partitionResponses: (t.partitionData ?? []).map((p: any) => ({ index: p.index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n })),
    })),
  })],
  [1, (req, errorCode) => ({
    responses: (req.topics ?? []).map((t: any) => ({
      topic: t.topic,
      topicId: t.topicId,
      partitions: (t.partitions ?? []).map((p: any) => ({ partitionIndex: p.partition, errorCode, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: null })),
    })),
  })],
  [15, (req, errorCode) => ({ groups: (req.groups ?? []).map((groupId: string) => ({ groupId, errorCode })) })],
  [69, (req, errorCode) => ({ groups: (req.groupIds ?? []).map((groupId: string) => ({ groupId, errorCode })) })],
  [75, (req, errorCode) => ({ topics: (req.topics ?? []).map((t: any) => ({ name: t.name, errorCode })) })],
]);

const topLevelCache = new Map<string, boolean>();

/** Whether `api`'s response has a top-level errorCode at `version` (asked of its encoder). */
export function hasTopLevelErrorCode(api: ApiInfo, version: number): boolean {
  const key = `${api.apiKey}:${version}`;
  let has = topLevelCache.get(key);
  if (has === undefined) {
    const encoded = (body: object) => { const w = new Writer(64); api.encodeResponse(w, version, body); return w.toBuffer(); };
    has = !encoded({}).equals(encoded({ errorCode: UNSUPPORTED }));
    topLevelCache.set(key, has);
  }
  return has;
}

/**
 * The body answering `request` (decoded at `version`, or null when it could not be decoded) with
 * UNSUPPORTED_VERSION. The caller encodes it with `api` at `version`.
 */
export function unsupportedResponse(api: ApiInfo, version: number, request: object | null): object {
  // errorMessage is written only by the versions that have one (the encoders skip unknown fields).
  if (hasTopLevelErrorCode(api, version)) return { errorCode: UNSUPPORTED, errorMessage: `Ferry does not serve ${api.name} v${version}`, throttleTimeMs: 0 };
  const items = ITEM_MAPPERS.get(api.apiKey);
  if (items && request !== null) return { ...items(request, UNSUPPORTED), throttleTimeMs: 0 };
  return { throttleTimeMs: 0 };
}
