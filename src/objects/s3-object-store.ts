/**
 * The `s3` ObjectStore on the AWS SDK v3 (`@aws-sdk/client-s3`): AWS S3 or any S3-compatible
 * server (Ceph radosgw, MinIO: set `endpoint` and `forcePathStyle`).
 *
 *   const store = new S3ObjectStore({ bucket: 'b', prefix: 'prod/', region: 'us-east-1',
 *                                     endpoint: 'http://127.0.0.1:7480', forcePathStyle: true });
 *
 * Keeps the semantics of ObjectStore (object-store.ts):
 *  - put: one PutObject up to `multipartThresholdBytes` (default 16 MiB), else a multipart
 *    upload in parts of `partSizeBytes` (default 8 MiB, at least 5 MiB, S3's minimum), uploaded
 *    `multipartConcurrency` at a time; any failure aborts the upload (best effort; a bucket
 *    lifecycle rule for incomplete uploads is the backstop). `ifNoneMatch` sends
 *    `If-None-Match: *` (on CompleteMultipartUpload for multipart); 412 and 409 become
 *    ObjectExistsError. Servers that ignore the header on CompleteMultipartUpload (radosgw 16)
 *    honour it for single PUTs only; a multipart create-only put then HEADs first, which
 *    refuses an existing key but cannot decide a race (Ferry's keys are unique ids);
 *  - get: GetObject with `Range: bytes=s-(e-1)` or `bytes=-n`; the length received is checked
 *    against Content-Range. Empty ranges (and suffix 0) HEAD instead (HTTP has no empty range);
 *  - head: HeadObject, null on 404; list: ListObjectsV2 paginated; delete: DeleteObjects in
 *    calls of at most 1000 keys (quiet mode; per-key errors other than NoSuchKey fail the call).
 * Credentials: `credentials` if given, else the SDK's standard provider chain (environment,
 * shared config, SSO, web identity, ECS/EC2 instance roles). Nothing here logs or puts
 * credentials into errors: error messages carry op, key, S3 error code, HTTP status, request id.
 * Retries: the SDK retries throttling, 5xx and network errors `maxAttempts` times with jittered
 * backoff (`retryMode` standard or adaptive); what still fails surfaces as ObjectStoreError with
 * `retriable` true for throttling, 5xx, timeouts and network errors (callers retry later), false
 * for 4xx such as AccessDenied or NoSuchBucket. NoSuchKey is ObjectNotFoundError.
 * Timeouts: `connectTimeoutMs` (default 5 s), `requestTimeoutMs` (socket idle, default 30 s)
 * and `operationTimeoutMs` (a whole call incl. SDK retries, default 120 s).
 * `stats` counts requests and bytes per operation (for metrics).
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectsCommand,
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand,
  type S3ClientConfig, type CreateMultipartUploadCommandOutput, type UploadPartCommandOutput,
  type GetObjectCommandOutput, type HeadObjectCommandOutput, type ListObjectsV2CommandOutput, type DeleteObjectsCommandOutput,
} from '@aws-sdk/client-s3';
import {
  ObjectExistsError, ObjectNotFoundError, ObjectStoreError,
  type ByteRange, type ObjectInfo, type ObjectStore, type PutOptions,
} from './object-store.js';

const MiB = 1024 * 1024;
/** S3's smallest part (except the last). */
export const S3_MIN_PART_BYTES = 5 * MiB;
const S3_MAX_PARTS = 10_000;
const S3_DELETE_BATCH_MAX = 1000;

/** The part of a pino logger this module uses. */
export interface S3Log {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Prepended to every key and stripped from listings, e.g. "prod/". */
  prefix?: string;
  /** Default: AWS_REGION from the environment, else us-east-1. */
  region?: string;
  /** For S3-compatible servers, e.g. http://127.0.0.1:7480. */
  endpoint?: string;
  /** Bucket in the path instead of the host name (most S3-compatible servers need it). */
  forcePathStyle?: boolean;
  /** Static credentials; unset = the SDK's default provider chain. Never logged. */
  credentials?: S3ClientConfig['credentials'];
  multipartThresholdBytes?: number;
  partSizeBytes?: number;
  multipartConcurrency?: number;
  /** SDK attempts per request, first included. Default 3. */
  maxAttempts?: number;
  retryMode?: 'standard' | 'adaptive';
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  operationTimeoutMs?: number;
  /** Sockets per host. Default 64. */
  maxSockets?: number;
  /** Keys per ListObjectsV2 page (max 1000). */
  listPageSize?: number;
  /** SDK checksum behaviour: 'when_supported' (SDK default) or 'when_required' for old servers. */
  checksums?: 'when_supported' | 'when_required';
  log?: S3Log;
  /** A ready client (tests); the options above that configure a client are then ignored. */
  client?: S3Client;
}

export interface S3OpStats {
  requests: number;
  errors: number;
  bytes: number;
}

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  readonly client: S3Client;
  readonly stats: Record<'put' | 'get' | 'head' | 'list' | 'delete', S3OpStats>;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly thresholdBytes: number;
  private readonly partSizeBytes: number;
  private readonly concurrency: number;
  private readonly operationTimeoutMs: number;
  private readonly listPageSize: number;
  private readonly log?: S3Log;
  private readonly ownsClient: boolean;
  private closed = false;

  constructor(options: S3ObjectStoreOptions) {
    validate(options);
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.thresholdBytes = options.multipartThresholdBytes ?? 16 * MiB;
    this.partSizeBytes = options.partSizeBytes ?? 8 * MiB;
    this.concurrency = options.multipartConcurrency ?? 4;
    this.operationTimeoutMs = options.operationTimeoutMs ?? 120_000;
    this.listPageSize = Math.min(options.listPageSize ?? 1000, 1000);
    this.log = options.log;
    this.description = `s3://${this.bucket}/${this.prefix}${options.endpoint ? ` at ${redactUrl(options.endpoint)}` : ''}`;
    this.stats = { put: zero(), get: zero(), head: zero(), list: zero(), delete: zero() };
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new S3Client({
      region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? false,
      credentials: options.credentials,
      maxAttempts: options.maxAttempts ?? 3,
      retryMode: options.retryMode ?? 'standard',
      requestChecksumCalculation: options.checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      responseChecksumValidation: options.checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? 5000,
        requestTimeout: options.requestTimeoutMs ?? 30_000,
        // Without this the SDK only warns when a response stalls past requestTimeout.
        throwOnRequestTimeout: true,
        httpAgent: { keepAlive: true, maxSockets: options.maxSockets ?? 64 },
        httpsAgent: { keepAlive: true, maxSockets: options.maxSockets ?? 64 },
      },
    });
  }

  async put(key: string, body: Buffer | readonly Buffer[], options: PutOptions = {}): Promise<void> {
    this.checkOpen();
    checkKey(key);
    const parts = Buffer.isBuffer(body) ? [body] : body;
    let size = 0;
    for (const p of parts) size += p.length;
    this.stats.put.requests++;
    try {
      if (size <= this.thresholdBytes) {
        await this.send('put', key, new PutObjectCommand({
          Bucket: this.bucket, Key: this.prefix + key, ContentLength: size,
          Body: parts.length === 1 ? parts[0] : Buffer.concat(parts, size),
          IfNoneMatch: options.ifNoneMatch ? '*' : undefined,
        }), options.ifNoneMatch);
      } else {
        await this.putMultipart(key, parts, size, options.ifNoneMatch === true);
      }
      this.stats.put.bytes += size;
    } catch (err) {
      this.stats.put.errors++;
      throw err;
    }
  }

  private async putMultipart(key: string, chunks: readonly Buffer[], size: number, ifNoneMatch: boolean): Promise<void> {
    // Grow the part size if the object would need more than S3's 10000 parts.
    const partSize = Math.max(this.partSizeBytes, Math.ceil(size / S3_MAX_PARTS));
    const partCount = Math.ceil(size / partSize);
    // If-None-Match on CompleteMultipartUpload makes this atomic on AWS S3; some S3-compatible
    // servers (radosgw 16, Debian 12) ignore it there, so at least refuse a key that exists now.
    if (ifNoneMatch && (await this.head(key)) !== null) throw new ObjectExistsError(key);
    const created = await this.send<CreateMultipartUploadCommandOutput>('put', key, new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.prefix + key }));
    const uploadId = created.UploadId;
    if (!uploadId) throw new ObjectStoreError(`s3 put ${key}: CreateMultipartUpload returned no upload id`, true, key);
    try {
      const etags: string[] = new Array(partCount);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < partCount) {
          const n = next++;
          const body = slice(chunks, n * partSize, Math.min(size, (n + 1) * partSize));
          const res = await this.send<UploadPartCommandOutput>('put', key, new UploadPartCommand({
            Bucket: this.bucket, Key: this.prefix + key, UploadId: uploadId, PartNumber: n + 1, Body: body, ContentLength: body.length,
          }));
          etags[n] = res.ETag ?? '';
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.concurrency, partCount) }, worker));
      await this.send('put', key, new CompleteMultipartUploadCommand({
        Bucket: this.bucket, Key: this.prefix + key, UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        IfNoneMatch: ifNoneMatch ? '*' : undefined,
      }), ifNoneMatch);
    } catch (err) {
      try {
        await this.send('put', key, new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.prefix + key, UploadId: uploadId }));
      } catch (abortErr) {
        this.log?.warn({ key, err: (abortErr as Error).message }, 's3: aborting a failed multipart upload failed; a lifecycle rule must clean it');
      }
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    this.checkOpen();
    checkKey(key);
    const header = rangeHeader(range, key);
    if (header === null) {
      // An empty range: HTTP cannot ask for it; S3 would still say whether the key exists.
      if ((await this.head(key)) === null) throw new ObjectNotFoundError(key);
      return Buffer.alloc(0);
    }
    this.stats.get.requests++;
    try {
      const res = await this.send<GetObjectCommandOutput>('get', key, new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Range: header }));
      if (!res.Body) throw new ObjectStoreError(`s3 get ${key}: response without a body`, true, key);
      let bytes: Uint8Array;
      try {
        bytes = await res.Body.transformToByteArray();
      } catch (err) {
        throw translateError(err, 'get', key);
      }
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const expected = expectedLength(range, res.ContentRange, res.ContentLength);
      if (expected !== undefined && buf.length !== expected) {
        throw new ObjectStoreError(`s3 get ${key}: received ${buf.length} bytes, expected ${expected} (${res.ContentRange ?? 'no Content-Range'})`, true, key);
      }
      this.stats.get.bytes += buf.length;
      return buf;
    } catch (err) {
      this.stats.get.errors++;
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    this.checkOpen();
    checkKey(key);
    this.stats.head.requests++;
    try {
      const res = await this.send<HeadObjectCommandOutput>('head', key, new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return { key, size: res.ContentLength ?? 0, lastModifiedMs: res.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return null;
      this.stats.head.errors++;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.checkOpen();
    let token: string | undefined;
    do {
      this.stats.list.requests++;
      let res;
      try {
        res = await this.send<ListObjectsV2CommandOutput>('list', prefix, new ListObjectsV2Command({
          Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token, MaxKeys: this.listPageSize,
        }));
      } catch (err) {
        this.stats.list.errors++;
        throw err;
      }
      for (const o of res.Contents ?? []) {
        if (o.Key === undefined || !o.Key.startsWith(this.prefix)) continue;
        yield { key: o.Key.slice(this.prefix.length), size: o.Size ?? 0, lastModifiedMs: o.LastModified?.getTime() ?? 0 };
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
      if (res.IsTruncated && !token) throw new ObjectStoreError(`s3 list ${prefix}: truncated listing without a continuation token`, true);
    } while (token);
  }

  async delete(keys: readonly string[]): Promise<void> {
    this.checkOpen();
    for (const k of keys) checkKey(k);
    for (let i = 0; i < keys.length; i += S3_DELETE_BATCH_MAX) {
      const batch = keys.slice(i, i + S3_DELETE_BATCH_MAX);
      this.stats.delete.requests++;
      try {
        const res = await this.send<DeleteObjectsCommandOutput>('delete', batch[0], new DeleteObjectsCommand({
          Bucket: this.bucket, Delete: { Quiet: true, Objects: batch.map((k) => ({ Key: this.prefix + k })) },
        }));
        const errors = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (errors.length) {
          const first = errors[0]!;
          const retriable = errors.every((e) => RETRIABLE_CODES.has(e.Code ?? '') || e.Code === undefined);
          throw new ObjectStoreError(
            `s3 delete: ${errors.length} of ${batch.length} keys failed, first ${first.Key?.slice(this.prefix.length)}: ${first.Code} ${first.Message ?? ''}`.trim(),
            retriable, first.Key?.slice(this.prefix.length));
        }
        this.stats.delete.bytes += batch.length;
      } catch (err) {
        this.stats.delete.errors++;
        throw err;
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsClient) this.client.destroy();
  }

  private checkOpen(): void {
    if (this.closed) throw new ObjectStoreError('s3: object store is closed', false);
  }

  /** Sends a command under the operation timeout and maps any failure to an ObjectStoreError. */
  private async send<T = unknown>(op: string, key: string | undefined, command: object, conditional = false): Promise<T> {
    try {
      return (await this.client.send(command as any, { abortSignal: AbortSignal.timeout(this.operationTimeoutMs) as any })) as T;
    } catch (err) {
      const mapped = translateError(err, op, key, conditional);
      this.log?.debug({ op, key, retriable: mapped.retriable, err: mapped.message }, 's3 request failed');
      throw mapped;
    }
  }
}

function zero(): S3OpStats {
  return { requests: 0, errors: 0, bytes: 0 };
}

function validate(o: S3ObjectStoreOptions): void {
  // Bucket names: 3-63 of lower-case letters, digits, dots and hyphens.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(o.bucket)) throw new ObjectStoreError(`s3: invalid bucket name ${JSON.stringify(o.bucket)}`, false);
  if (o.prefix !== undefined && o.prefix.startsWith('/')) throw new ObjectStoreError('s3: prefix must not start with "/"', false);
  if (o.partSizeBytes !== undefined && (!Number.isSafeInteger(o.partSizeBytes) || o.partSizeBytes < S3_MIN_PART_BYTES)) {
    throw new ObjectStoreError(`s3: partSizeBytes must be at least ${S3_MIN_PART_BYTES}`, false);
  }
  for (const [name, v] of [
    ['multipartThresholdBytes', o.multipartThresholdBytes], ['multipartConcurrency', o.multipartConcurrency],
    ['maxAttempts', o.maxAttempts], ['connectTimeoutMs', o.connectTimeoutMs], ['requestTimeoutMs', o.requestTimeoutMs],
    ['operationTimeoutMs', o.operationTimeoutMs], ['maxSockets', o.maxSockets], ['listPageSize', o.listPageSize],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new ObjectStoreError(`s3: ${name} must be a positive integer, got ${v}`, false);
  }
  if (o.endpoint !== undefined) {
    try { new URL(o.endpoint); } catch { throw new ObjectStoreError('s3: endpoint is not a URL', false); }
  }
}

/** An endpoint for logs: user info (if any) removed. */
function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    url.username = '';
    url.password = '';
    return url.origin + (url.pathname === '/' ? '' : url.pathname);
  } catch {
    return '(invalid endpoint)';
  }
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > 1024) {
    throw new ObjectStoreError(`s3: invalid object key ${JSON.stringify(key)}`, false, key);
  }
}

/** The HTTP Range header for `range`, null for an empty range, undefined for the whole object. */
function rangeHeader(range: ByteRange | undefined, key: string): string | undefined | null {
  if (range === undefined) return undefined;
  if ('suffix' in range) {
    if (!Number.isSafeInteger(range.suffix) || range.suffix < 0) throw new ObjectStoreError(`bad suffix range ${range.suffix}`, false, key);
    return range.suffix === 0 ? null : `bytes=-${range.suffix}`;
  }
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new ObjectStoreError(`bad range [${start}, ${end})`, false, key);
  }
  return start === end ? null : `bytes=${start}-${end - 1}`;
}

/** The body length a correct answer has, from the range asked and the Content-Range received. */
function expectedLength(range: ByteRange | undefined, contentRange: string | undefined, contentLength: number | undefined): number | undefined {
  const m = contentRange ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange) : null;
  if (range === undefined) return contentLength;
  if (!m) return contentLength;
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (total === undefined) return Number(m[2]) - Number(m[1]) + 1;
  if ('suffix' in range) return Math.min(range.suffix, total);
  return Math.min(range.end, total) - range.start;
}

/** Bytes [from, to) of the concatenation of `chunks`, copied into one buffer. */
function slice(chunks: readonly Buffer[], from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from);
  let pos = 0;
  let written = 0;
  for (const c of chunks) {
    const cEnd = pos + c.length;
    if (cEnd > from && pos < to) {
      const s = Math.max(from, pos) - pos;
      const e = Math.min(to, cEnd) - pos;
      written += c.copy(out, written, s, e);
    }
    pos = cEnd;
    if (pos >= to) break;
  }
  if (written !== out.length) throw new Error(`slice: copied ${written} of ${out.length} bytes`);
  return out;
}

const RETRIABLE_CODES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottled', 'RequestThrottledException',
  'TooManyRequestsException', 'ProvisionedThroughputExceededException', 'TransactionInProgressException',
  'RequestLimitExceeded', 'BandwidthLimitExceeded', 'LimitExceededException', 'PriorRequestNotComplete', 'EC2ThrottledException',
  'InternalError', 'ServiceUnavailable', 'RequestTimeout', 'RequestTimeoutException', 'ExpiredToken', 'ExpiredTokenException',
  'TimeoutError', 'AbortError', 'RequestAbortedError',
]);
const RETRIABLE_NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENETDOWN', 'EADDRNOTAVAIL', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number; requestId?: string; extendedRequestId?: string };
}

/**
 * Maps an SDK or network error to an ObjectStoreError. The cause kept is a plain summary (error
 * name, HTTP status, request id): SDK errors can reference request objects, which must not
 * reach logs.
 */
export function translateError(err: unknown, op: string, key?: string, conditional = false): ObjectStoreError {
  if (err instanceof ObjectStoreError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const name = e.Code ?? e.name ?? e.code ?? 'Error';
  const netCode = e.code;
  const summary = { name, httpStatusCode: status, requestId: e.$metadata?.requestId, code: netCode };
  const what = `s3 ${op}${key !== undefined ? ` ${key}` : ''}: ${name}${status !== undefined ? ` (HTTP ${status})` : ''}` +
    `${e.message && e.message !== name ? `: ${e.message.slice(0, 300)}` : ''}`;
  if (conditional && (status === 412 || status === 409 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict')) {
    // 409 ConditionalRequestConflict: another conditional write to the key is in flight; one of them wins.
    return key !== undefined ? new ObjectExistsError(key) : new ObjectStoreError(what, false, key, { cause: summary });
  }
  if ((name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && (op === 'get' || op === 'head'))) && key !== undefined && name !== 'NoSuchBucket') {
    return new ObjectNotFoundError(key);
  }
  const retriable =
    (status !== undefined && (status >= 500 || status === 429 || status === 408)) ||
    RETRIABLE_CODES.has(name) ||
    e.$retryable !== undefined ||
    (netCode !== undefined && RETRIABLE_NETWORK_CODES.has(netCode)) ||
    (status === undefined && e.$fault !== 'client' && !/Credential|InvalidParameter|ValidationError|TypeError|RangeError|SyntaxError/i.test(name));
  return new ObjectStoreError(what, retriable, key, { cause: summary });
}
