/**
 * A fault-injecting HTTP proxy in front of an S3 server (radosgw) for tests. Point the client's
 * endpoint at the proxy; requests pass through unchanged (the Host header too, so SigV4
 * signatures stay valid) unless a rule matches:
 *
 *   const proxy = await startS3FaultProxy({ target: rgw.endpoint, seed: 7 });
 *   proxy.endpoint                                   // http://127.0.0.1:<port>
 *   proxy.addRule({ op: 'put', action: { kind: 'status', status: 503, code: 'SlowDown' }, times: 2 });
 *   proxy.addRule({ op: 'get', probability: 0.1, action: { kind: 'reset' } });
 *   proxy.addRule({ action: { kind: 'delay', ms: 200 } });      // every request, then passed on
 *   proxy.outage(true);                              // every request answers 503 until outage(false)
 *   proxy.clearRules(); proxy.stats; await proxy.close();
 *
 * Ops (from method and query): put, upload-part, create-multipart, complete-multipart,
 * abort-multipart, get, head, list, delete (DeleteObjects or DELETE), other.
 * Actions: `status` (an S3 XML error with that status and code, request body discarded),
 * `reset` (socket destroyed before any answer), `reset-mid-body` (the real response's headers and
 * part of its body, then the socket is destroyed), `delay` (then the request passes through),
 * `hang` (no answer until the client gives up). Rules are checked in order; the first that
 * matches (op, probability, remaining `times`) applies; a delay rule lets later rules apply too.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type S3Op = 'put' | 'upload-part' | 'create-multipart' | 'complete-multipart' | 'abort-multipart' | 'get' | 'head' | 'list' | 'delete' | 'other';

export type FaultAction =
  | { kind: 'status'; status: number; code?: string }
  | { kind: 'reset' }
  | { kind: 'reset-mid-body' }
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' };

export interface FaultRule {
  op?: S3Op | readonly S3Op[];
  /** Default 1. */
  probability?: number;
  /** Apply at most this many times (default unlimited). */
  times?: number;
  action: FaultAction;
}

export interface S3FaultProxy {
  readonly endpoint: string;
  readonly stats: { requests: number; byOp: Partial<Record<S3Op, number>>; injected: Record<string, number> };
  addRule(rule: FaultRule): void;
  clearRules(): void;
  outage(on: boolean): void;
  close(): Promise<void>;
}

export function classifyS3Request(method: string, url: string): S3Op {
  const q = new URL(url, 'http://x').searchParams;
  const path = new URL(url, 'http://x').pathname;
  const isBucket = path.split('/').filter(Boolean).length <= 1; // path-style: /bucket
  switch (method) {
    case 'PUT': return q.has('partNumber') ? 'upload-part' : 'put';
    case 'POST':
      if (q.has('delete')) return 'delete';
      if (q.has('uploads')) return 'create-multipart';
      if (q.has('uploadId')) return 'complete-multipart';
      return 'other';
    case 'DELETE': return q.has('uploadId') ? 'abort-multipart' : 'delete';
    case 'HEAD': return 'head';
    case 'GET': return isBucket ? 'list' : 'get';
    default: return 'other';
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startS3FaultProxy(options: { target: string; seed?: number; port?: number }): Promise<S3FaultProxy> {
  const target = new URL(options.target);
  const random = mulberry32(options.seed ?? 1);
  const rules: { rule: FaultRule; left: number }[] = [];
  let outage = false;
  const stats: S3FaultProxy['stats'] = { requests: 0, byOp: {}, injected: {} };
  const sockets = new Set<Socket>();

  const count = (kind: string): void => { stats.injected[kind] = (stats.injected[kind] ?? 0) + 1; };

  function pick(op: S3Op, skipDelays: boolean): FaultAction | null {
    for (const r of rules) {
      if (r.left <= 0) continue;
      if (skipDelays && r.rule.action.kind === 'delay') continue;
      const ops = r.rule.op === undefined ? null : Array.isArray(r.rule.op) ? r.rule.op : [r.rule.op];
      if (ops && !ops.includes(op)) continue;
      if (random() >= (r.rule.probability ?? 1)) continue;
      r.left--;
      return r.rule.action;
    }
    return null;
  }

  function sendError(req: IncomingMessage, res: ServerResponse, status: number, code: string): void {
    req.resume();
    const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by s3-fault-proxy</Message><RequestId>fault</RequestId></Error>`;
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': 'fault' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  function forward(req: IncomingMessage, res: ServerResponse, midBodyReset: boolean): void {
    const upstream = httpRequest({
      host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers,
    }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (!midBodyReset) { up.pipe(res); return; }
      const length = Number(up.headers['content-length'] ?? 0);
      let sent = 0;
      up.on('data', (chunk: Buffer) => {
        const room = Math.max(1, Math.floor(length / 2)) - sent;
        if (room <= 0) return;
        res.write(chunk.subarray(0, room));
        sent += Math.min(room, chunk.length);
        if (sent >= length / 2) { up.destroy(); res.socket?.destroy(); }
      });
      up.on('end', () => res.socket?.destroy());
    });
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  }

  const server: Server = createServer((req, res) => {
    stats.requests++;
    const op = classifyS3Request(req.method ?? 'GET', req.url ?? '/');
    stats.byOp[op] = (stats.byOp[op] ?? 0) + 1;
    if (outage) { count('outage'); sendError(req, res, 503, 'ServiceUnavailable'); return; }
    const handle = (action: FaultAction | null): void => {
      if (action === null) { forward(req, res, false); return; }
      count(`${op}:${action.kind}`);
      switch (action.kind) {
        case 'status': sendError(req, res, action.status, action.code ?? (action.status === 503 ? 'SlowDown' : 'InternalError')); return;
        case 'reset': req.socket.destroy(); return;
        case 'reset-mid-body': forward(req, res, true); return;
        case 'hang': req.resume(); return;
        case 'delay': setTimeout(() => handle(pick(op, true)), action.ms); return;
      }
    };
    handle(pick(op, false));
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    addRule(rule) { rules.push({ rule, left: rule.times ?? Infinity }); },
    clearRules() { rules.length = 0; },
    outage(on) { outage = on; },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
