// Request and response headers (Kafka RequestHeader v0–v2, ResponseHeader v0–v1).
// Request header v2 is flexible but keeps ClientId as a classic (int16-length) nullable string,
// followed by a tagged-field section. The header version follows from the api key and version
// (API_TABLE); an unknown api key is read as header v1 so the broker can still log and close.
import { Reader, Writer } from './primitives.js';
import { API_TABLE } from './messages/index.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Header version for a request; unknown api keys get v1. */
export function requestHeaderVersionFor(apiKey: number, apiVersion: number): number {
  const api = API_TABLE.get(apiKey);
  return api === undefined ? 1 : api.requestHeaderVersion(apiVersion);
}

export function decodeRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const headerVersion = requestHeaderVersionFor(apiKey, apiVersion);
  const clientId = headerVersion >= 1 ? r.nullableString() : null;
  if (headerVersion >= 2) r.skipTaggedFields();
  return { apiKey, apiVersion, correlationId, clientId };
}

export function encodeRequestHeader(w: Writer, headerVersion: number, h: RequestHeader): void {
  if (headerVersion < 0 || headerVersion > 2) throw new RangeError(`request header version ${headerVersion}`);
  w.int16(h.apiKey);
  w.int16(h.apiVersion);
  w.int32(h.correlationId);
  if (headerVersion >= 1) w.nullableString(h.clientId);
  if (headerVersion >= 2) w.emptyTaggedFields();
}

export function encodeResponseHeader(w: Writer, headerVersion: number, correlationId: number): void {
  if (headerVersion < 0 || headerVersion > 1) throw new RangeError(`response header version ${headerVersion}`);
  w.int32(correlationId);
  if (headerVersion >= 1) w.emptyTaggedFields();
}

export interface ResponseHeader {
  correlationId: number;
}

export function decodeResponseHeader(r: Reader, headerVersion: number): ResponseHeader {
  const correlationId = r.int32();
  if (headerVersion >= 1) r.skipTaggedFields();
  return { correlationId };
}
