/**
 * The Confluent Schema Registry REST API (v1 content type) on its own listener
 * (schema.registry.listener), over SchemaRegistry. Errors are Confluent's JSON body
 * {"error_code", "message"} with its HTTP status. Requests bodies are bounded
 * (REQUEST_BYTES_MAX) before they are read whole.
 *
 * Security: with `tls` the listener is HTTPS. With `access` set, every request needs a principal
 * (HTTP Basic credentials checked like SASL/PLAIN, or the TLS client certificate), and the principal
 * must be allowed the subject operation (RegistryAccess.allowed).
 *
 * API: startRegistryHttpServer({ host, port, registry, log, tls?, access? }) -> { url, port, close() }
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { listenHttp, type ListeningHttp } from '../server/http-listen.js';
import type { Logger } from 'pino';
import { RegistryError, type RegisterRequest, type SchemaRegistry, type SubjectVersion } from './schema-registry.js';
import type { StoredSchema } from './registry-records.js';

export const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
/** A schema must fit one metadata-store value (1.5 MiB); the body may carry a bit more. */
export const REQUEST_BYTES_MAX = 2 * 1024 * 1024;
/** Open connections the listener keeps; more are dropped on accept (clients reuse keep-alive). */
export const CONNECTIONS_MAX = 1024;
/** A TLS handshake not done by then is dropped (Node's default is 120 s). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** What a request may do on a subject (or on the registry's global config/mode: subject null). */
export type RegistryOperation = 'READ' | 'WRITE' | 'DELETE' | 'DESCRIBE_CONFIGS' | 'ALTER_CONFIGS';

export interface RegistryAccess {
  /** How a request names its principal: HTTP Basic credentials, or its TLS client certificate. */
  readonly scheme: 'basic' | 'certificate';
  /** The request's principal name, or null when its credentials are missing or wrong. */
  identify(req: IncomingMessage): Promise<string | null>;
  /** May `principal` (from `host`) do `op` on the subject (null: global config and mode)? */
  allowed(principal: string, host: string, op: RegistryOperation, subject: string | null): boolean;
}

export interface RegistryHttpOptions {
  host: string;
  port: number;
  registry: SchemaRegistry;
  log: Logger;
  access?: RegistryAccess;
  /** HTTPS with these options, replaced on each reload of the certificate files. */
  tls?: RegistryTls;
  /** Called once per answered request (metrics). */
  onResponse?: (method: string, status: number) => void;
}

export interface RegistryTls {
  serverOptions(): TlsOptions;
  onReload(cb: (opts: SecureContextOptions) => void): void;
}

export type RegistryHttpServer = ListeningHttp;

interface Call {
  method: string;
  parts: string[];
  query: URLSearchParams;
  body: () => Promise<Record<string, unknown>>;
  /** Throws 403 unless the principal may do `op` on `subject`. */
  check: (op: RegistryOperation, subject: string | null) => void;
  /** Whether it may (for filtering lists). */
  may: (op: RegistryOperation, subject: string | null) => boolean;
}

const notFound = () => new RegistryError(404, 404, 'HTTP 404 Not Found');
const flag = (q: URLSearchParams, name: string): boolean => q.get(name) === 'true';

/** The wire form of a schema: schemaType and references only when not the defaults, as Confluent does. */
function schemaBody(s: StoredSchema): Record<string, unknown> {
  const out: Record<string, unknown> = { schema: s.schema };
  if (s.schemaType !== 'AVRO') out.schemaType = s.schemaType;
  if (s.references.length > 0) out.references = s.references;
  return out;
}
function versionBody(v: SubjectVersion): Record<string, unknown> {
  return { subject: v.subject, version: v.version, id: v.id, ...schemaBody(v) };
}
/** ?format=serialized: Protobuf as a base64 descriptor. */
function withFormat(r: SchemaRegistry, c: Call, id: number, body: Record<string, unknown>): Record<string, unknown> {
  const format = c.query.get('format');
  return format ? { ...body, schema: r.formatted(id, format) } : body;
}
function idParam(text: string): number {
  if (!/^\d{1,10}$/.test(text)) throw new RegistryError(404, 40403, 'Schema not found');
  return Number(text);
}
function registerRequest(b: Record<string, unknown>): RegisterRequest {
  return {
    schema: b.schema as string,
    schemaType: (b.schemaType ?? undefined) as RegisterRequest['schemaType'],
    references: (b.references ?? undefined) as RegisterRequest['references'],
    id: typeof b.id === 'number' ? b.id : undefined,
    version: typeof b.version === 'number' ? b.version : undefined,
  };
}

/** Routes: [method, path pattern with :params] -> handler. */
function routes(r: SchemaRegistry): Array<[string, string, (c: Call, p: string[]) => Promise<unknown> | unknown]> {
  return [
    ['GET', '', () => ({})],
    ['GET', 'schemas/types', () => r.schemaTypes()],
    // Schema contexts are not served: every subject is in the default context, which UIs list.
    ['GET', 'contexts', () => ['.']],
    ['GET', 'schemas/ids/:id', (c, [id]) => {
      const s = r.schemaById(idParam(id!));
      const subjects = r.subjectsOfId(idParam(id!), true);
      if (subjects.length > 0 && !subjects.some((sub) => c.may('READ', sub))) c.check('READ', subjects[0]!);
      return withFormat(r, c, idParam(id!), schemaBody(s));
    }],
    ['GET', 'schemas/ids/:id/schema', (c, [id]) => {
      const s = r.schemaById(idParam(id!));
      const subjects = r.subjectsOfId(idParam(id!), true);
      if (subjects.length > 0 && !subjects.some((sub) => c.may('READ', sub))) c.check('READ', subjects[0]!);
      return { raw: s.schema };
    }],
    ['GET', 'schemas', (c) => {
      const latestOnly = flag(c.query, 'latestOnly');
      const out: Record<string, unknown>[] = [];
      for (const subject of r.subjects(c.query.get('subjectPrefix') ?? '', flag(c.query, 'deleted'))) {
        if (!c.may('READ', subject)) continue;
        const versions = r.versions(subject, flag(c.query, 'deleted'));
        for (const v of latestOnly ? versions.slice(-1) : versions) out.push(versionBody(r.version(subject, v, true)));
      }
      return out;
    }],
    ['GET', 'schemas/ids/:id/subjects', (c, [id]) => r.subjectsOfId(idParam(id!), flag(c.query, 'deleted')).filter((s) => c.may('READ', s))],
    ['GET', 'schemas/ids/:id/versions', (c, [id]) => r.versionsOfId(idParam(id!), flag(c.query, 'deleted')).filter((v) => c.may('READ', v.subject))],
    ['GET', 'subjects', (c) => r.subjects(c.query.get('subjectPrefix') ?? '', flag(c.query, 'deleted')).filter((s) => c.may('READ', s))],
    ['POST', 'subjects/:subject', async (c, [subject]) => {
      c.check('READ', subject!);
      return versionBody(r.lookup(subject!, registerRequest(await c.body()), flag(c.query, 'deleted')));
    }],
    ['DELETE', 'subjects/:subject', (c, [subject]) => { c.check('DELETE', subject!); return r.deleteSubject(subject!, flag(c.query, 'permanent')); }],
    ['GET', 'subjects/:subject/versions', (c, [subject]) => { c.check('READ', subject!); return r.versions(subject!, flag(c.query, 'deleted')); }],
    ['POST', 'subjects/:subject/versions', async (c, [subject]) => {
      c.check('WRITE', subject!);
      const body = await c.body();
      const { id, version } = await r.register(subject!, registerRequest(body), flag(c.query, 'normalize'));
      const v = r.version(subject!, version);
      return { id, version, ...schemaBody(v) };
    }],
    ['GET', 'subjects/:subject/versions/:version', (c, [subject, version]) => {
      c.check('READ', subject!);
      const v = r.version(subject!, version!, flag(c.query, 'deleted'));
      return withFormat(r, c, v.id, versionBody(v));
    }],
    ['GET', 'subjects/:subject/versions/:version/schema', (c, [subject, version]) => {
      c.check('READ', subject!);
      return { raw: r.version(subject!, version!, flag(c.query, 'deleted')).schema };
    }],
    ['GET', 'subjects/:subject/versions/:version/referencedby', (c, [subject, version]) => { c.check('READ', subject!); return r.referencedBy(subject!, version!); }],
    ['DELETE', 'subjects/:subject/versions/:version', (c, [subject, version]) => {
      c.check('DELETE', subject!);
      return r.deleteVersion(subject!, version!, flag(c.query, 'permanent'));
    }],
    ['POST', 'compatibility/subjects/:subject/versions', async (c, [subject]) => {
      c.check('READ', subject!);
      return compatibilityBody(c, r.testCompatibility(subject!, null, registerRequest(await c.body())));
    }],
    ['POST', 'compatibility/subjects/:subject/versions/:version', async (c, [subject, version]) => {
      c.check('READ', subject!);
      return compatibilityBody(c, r.testCompatibility(subject!, version!, registerRequest(await c.body())));
    }],
    ['GET', 'config', (c) => { c.check('DESCRIBE_CONFIGS', null); return { compatibilityLevel: r.config(null) }; }],
    ['PUT', 'config', async (c) => { c.check('ALTER_CONFIGS', null); return { compatibility: await r.setConfig(null, (await c.body()).compatibility) }; }],
    ['DELETE', 'config', async (c) => { c.check('ALTER_CONFIGS', null); return { compatibilityLevel: await r.deleteConfig(null) }; }],
    ['GET', 'config/:subject', (c, [subject]) => {
      c.check('DESCRIBE_CONFIGS', subject!);
      return { compatibilityLevel: r.config(subject!, flag(c.query, 'defaultToGlobal')) };
    }],
    ['PUT', 'config/:subject', async (c, [subject]) => {
      c.check('ALTER_CONFIGS', subject!);
      return { compatibility: await r.setConfig(subject!, (await c.body()).compatibility) };
    }],
    ['DELETE', 'config/:subject', async (c, [subject]) => { c.check('ALTER_CONFIGS', subject!); return { compatibilityLevel: await r.deleteConfig(subject!) }; }],
    ['GET', 'mode', (c) => { c.check('DESCRIBE_CONFIGS', null); return { mode: r.mode(null) }; }],
    ['PUT', 'mode', async (c) => { c.check('ALTER_CONFIGS', null); return { mode: await r.setMode(null, (await c.body()).mode, flag(c.query, 'force')) }; }],
    ['GET', 'mode/:subject', (c, [subject]) => { c.check('DESCRIBE_CONFIGS', subject!); return { mode: r.mode(subject!, flag(c.query, 'defaultToGlobal')) }; }],
    ['PUT', 'mode/:subject', async (c, [subject]) => {
      c.check('ALTER_CONFIGS', subject!);
      return { mode: await r.setMode(subject!, (await c.body()).mode, flag(c.query, 'force')) };
    }],
    ['DELETE', 'mode/:subject', async (c, [subject]) => { c.check('ALTER_CONFIGS', subject!); return { mode: await r.deleteMode(subject!) }; }],
  ];
}

function compatibilityBody(c: Call, issues: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { is_compatible: issues.length === 0 };
  if (flag(c.query, 'verbose')) out.messages = issues;
  return out;
}

export async function startRegistryHttpServer(o: RegistryHttpOptions): Promise<RegistryHttpServer> {
  const table = routes(o.registry).map(([method, pattern, handler]) => ({ method, segs: pattern === '' ? [] : pattern.split('/'), handler }));
  const match = (method: string, parts: string[]): { handler: (c: Call, p: string[]) => unknown; params: string[] } | 'method' | null => {
    let pathMatched = false;
    for (const route of table) {
      if (route.segs.length !== parts.length) continue;
      const params: string[] = [];
      if (!route.segs.every((s, i) => (s.startsWith(':') ? (params.push(parts[i]!), true) : s === parts[i]))) continue;
      pathMatched = true;
      if (route.method === method) return { handler: route.handler, params };
    }
    return pathMatched ? 'method' : null;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://registry');
    let parts: string[];
    try {
      parts = url.pathname.split('/').filter((p) => p.length > 0).map((p) => decodeURIComponent(p));
    } catch {
      throw new RegistryError(400, 400, 'malformed path');
    }
    const principal = o.access ? await authenticate(o.access, req) : null;
    const host = req.socket.remoteAddress ?? '';
    const may = (op: RegistryOperation, subject: string | null): boolean => !o.access || o.access.allowed(principal!, host, op, subject);
    const call: Call = {
      method: req.method ?? 'GET',
      parts,
      query: url.searchParams,
      body: () => readBody(req),
      may,
      check: (op, subject) => {
        if (!may(op, subject)) {
          throw new RegistryError(403, 40301, `User ${principal} is not authorized to ${op} ${subject === null ? 'the global configuration' : `subject ${subject}`}`);
        }
      },
    };
    const m = match(call.method === 'HEAD' ? 'GET' : call.method, parts);
    if (m === null) throw notFound();
    if (m === 'method') throw new RegistryError(405, 405, 'HTTP 405 Method Not Allowed');
    const result = await m.handler(call, m.params);
    if (result && typeof result === 'object' && 'raw' in (result as object) && Object.keys(result as object).length === 1) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end((result as { raw: string }).raw);
      return;
    }
    send(res, 200, result);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (o.onResponse) res.once('finish', () => o.onResponse!(req.method ?? 'GET', res.statusCode));
    handle(req, res).catch((e: unknown) => {
      if (e instanceof RegistryError) {
        if (e.httpStatus >= 500) o.log.warn({ err: e, method: req.method, url: req.url }, 'schema registry request failed');
        send(res, e.httpStatus, { error_code: e.errorCode, message: e.message }, o.access?.scheme === 'basic');
        return;
      }
      o.log.error({ err: e, method: req.method, url: req.url }, 'schema registry request failed');
      send(res, 500, { error_code: 500, message: `Internal Server Error: ${(e as Error).message}` });
    });
  };
  const scheme = o.tls ? 'https' : 'http';
  let server: Server;
  if (o.tls) {
    const https = createHttpsServer({ ...o.tls.serverOptions(), handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS }, onRequest);
    o.tls.onReload((opts) => https.setSecureContext(opts));
    https.on('tlsClientError', (err) => o.log.debug({ err }, 'schema registry TLS handshake failed'));
    server = https;
  } else {
    server = createServer(onRequest);
  }
  server.keepAliveTimeout = 5_000;
  server.maxConnections = CONNECTIONS_MAX;
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  const listening = await listenHttp(server, o.host, o.port, scheme);
  o.log.info({ url: listening.url, auth: o.access?.scheme ?? 'none' }, 'schema registry listening');
  return listening;
}

function send(res: ServerResponse, status: number, body: unknown, basicChallenge = false): void {
  if (res.headersSent) { res.destroy(); return; }
  const text = JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': CONTENT_TYPE };
  if (status === 401 && basicChallenge) headers['www-authenticate'] = 'Basic realm="ferry-schema-registry"';
  res.writeHead(status, headers).end(text);
}

async function authenticate(access: RegistryAccess, req: IncomingMessage): Promise<string> {
  const principal = await access.identify(req);
  if (principal !== null) return principal;
  throw new RegistryError(401, 40101, access.scheme === 'basic'
    ? 'Unauthorized: HTTP Basic credentials of a broker user are required'
    : 'Unauthorized: a trusted TLS client certificate is required');
}

/** The user and password of an HTTP Basic Authorization header, or null. */
export function basicCredentials(req: IncomingMessage): { user: string; password: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) } : null;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > REQUEST_BYTES_MAX) throw new RegistryError(413, 413, `request body of ${declared} bytes is over ${REQUEST_BYTES_MAX}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > REQUEST_BYTES_MAX) throw new RegistryError(413, 413, `request body over ${REQUEST_BYTES_MAX} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new RegistryError(400, 400, `Unrecognized request body: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new RegistryError(422, 422, 'the request body must be a JSON object');
  return parsed as Record<string, unknown>;
}
