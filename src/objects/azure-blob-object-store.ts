/**
 * The `azure-blob` ObjectStore: objects as block blobs in one Azure Storage container
 * (DESIGN §4 on Azure). Keeps the S3 semantics of the ObjectStore interface:
 *  - put is one Put Blob (atomic), or for large bodies staged blocks made visible by one atomic
 *    Put Block List; `ifNoneMatch` sends `If-None-Match: *`, so exactly one racing writer wins;
 *  - get with a range is one ranged download; a suffix range (Azure has none) reads the size
 *    first and downloads the tail under `If-Match` of that ETag; ranges past the end clamp as
 *    S3 does, a range starting at or past the end fails like S3's 416;
 *  - list is by prefix in key order (Azure lists blobs in lexicographic order), paged;
 *  - delete ignores missing blobs.
 * Credentials: a connection string (Azurite, shared-key accounts) or, without one, Azure AD via
 * DefaultAzureCredential (managed identity on a VM; `managedIdentityClientId` picks a
 * user-assigned one, as does the standard AZURE_CLIENT_ID variable).
 *
 * The Azure SDK is loaded only by `createAzureBlobObjectStore` (dynamic import), so brokers that
 * use another backend never load it. @azure/storage-blob and @azure/identity are optional
 * dependencies (they need Node >= 22): without them this backend fails with a MissingDependencyError.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
// @ts-ignore -- an optional dependency (Node >= 22; src/common/optional-dependency.ts): compiles where absent, typed where installed
import type { BlobClient, BlockBlobClient, ContainerClient, StoragePipelineOptions } from '@azure/storage-blob';
import { importOptional } from '../common/optional-dependency.js';
import {
  ObjectExistsError, ObjectNotFoundError, ObjectStoreError,
  type ByteRange, type ObjectInfo, type ObjectStore, type PutOptions,
} from './object-store.js';

export interface AzureBlobObjectStoreOptions {
  /** Container holding the objects; must exist unless `createContainer` is set. */
  container: string;
  /** Storage account name; with no connection string the endpoint is https://<account>.blob.core.windows.net. */
  account?: string;
  /** Blob service URL, e.g. Azurite's http://127.0.0.1:10000/devstoreaccount1; overrides `account`. */
  endpoint?: string;
  /** Shared-key connection string; when unset, DefaultAzureCredential is used. Never logged. */
  connectionString?: string;
  /** Client id of a user-assigned managed identity (else AZURE_CLIENT_ID or the system identity). */
  managedIdentityClientId?: string;
  /** Key prefix inside the container, e.g. "prod/" (prepended to every key, stripped from listings). */
  prefix?: string;
  /** Create the container if missing (tests, local clusters); deployments create it in Terraform. */
  createContainer?: boolean;
  /** Bodies up to this size go in one Put Blob; larger ones are staged in blocks. Default 256 MiB. */
  singlePutMaxBytes?: number;
  /** Size of a staged block for large bodies. Default 64 MiB. */
  blockSizeBytes?: number;
  /** SDK attempts per request (first try included). Default 4. */
  maxTries?: number;
  /** Timeout of one attempt. Default 60 s. */
  tryTimeoutMs?: number;
  /** Blobs per List Blobs page. Default 1000 (Azure's maximum is 5000). */
  listPageSize?: number;
  /** Blobs deleted at once by delete(). Default 16. */
  deleteConcurrency?: number;
}

const MiB = 1024 * 1024;
const DEFAULT_SINGLE_PUT_MAX_BYTES = 256 * MiB;
const DEFAULT_BLOCK_SIZE_BYTES = 64 * MiB;
/** Azure's limit on blocks in one blob. */
const MAX_BLOCKS = 50_000;
const LIST_PAGE_SIZE = 1000;

/** Loads the Azure SDK and returns a store (creating the container first if asked). */
export async function createAzureBlobObjectStore(options: AzureBlobObjectStoreOptions): Promise<AzureBlobObjectStore> {
  validateOptions(options);
  // @ts-ignore -- as above
  const blob = await importOptional('@azure/storage-blob', 'object.store=azure-blob', () => import('@azure/storage-blob'));
  const pipeline: StoragePipelineOptions = {
    retryOptions: { maxTries: options.maxTries ?? 4, tryTimeoutInMs: options.tryTimeoutMs ?? 60_000 },
  };
  let container: ContainerClient;
  let where: string;
  if (options.connectionString !== undefined) {
    const service = blob.BlobServiceClient.fromConnectionString(options.connectionString, pipeline);
    container = service.getContainerClient(options.container);
    where = service.accountName;
  } else {
    // @ts-ignore -- as above
    const identity = await importOptional('@azure/identity', 'object.store=azure-blob without a connection string (DefaultAzureCredential)', () => import('@azure/identity'));
    const url = options.endpoint ?? `https://${options.account!}.blob.core.windows.net`;
    const credential = new identity.DefaultAzureCredential(
      options.managedIdentityClientId !== undefined ? { managedIdentityClientId: options.managedIdentityClientId } : {},
    );
    const service = new blob.BlobServiceClient(url, credential, pipeline);
    container = service.getContainerClient(options.container);
    where = service.accountName;
  }
  if (options.createContainer) {
    try {
      await container.createIfNotExists();
    } catch (err) {
      throw translateError(err, undefined, 'create container');
    }
  }
  return new AzureBlobObjectStore(container, options, `azure-blob://${where}/${options.container}/${options.prefix ?? ''}`);
}

function validateOptions(o: AzureBlobObjectStoreOptions): void {
  // Azure container names: 3-63 of lower-case letters, digits and single hyphens.
  if (!/^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(o.container)) {
    throw new ObjectStoreError(`azure-blob: invalid container name ${JSON.stringify(o.container)}`, false);
  }
  if (o.connectionString === undefined && o.account === undefined && o.endpoint === undefined) {
    throw new ObjectStoreError('azure-blob: set an account, an endpoint or a connection string', false);
  }
  if (o.account !== undefined && !/^[a-z0-9]{3,24}$/.test(o.account)) {
    throw new ObjectStoreError(`azure-blob: invalid storage account name ${JSON.stringify(o.account)}`, false);
  }
  for (const [name, v, min] of [
    ['singlePutMaxBytes', o.singlePutMaxBytes, 1], ['blockSizeBytes', o.blockSizeBytes, 1],
    ['maxTries', o.maxTries, 1], ['tryTimeoutMs', o.tryTimeoutMs, 1], ['deleteConcurrency', o.deleteConcurrency, 1],
    ['listPageSize', o.listPageSize, 1],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < min)) {
      throw new ObjectStoreError(`azure-blob: ${name} must be an integer >= ${min}, got ${v}`, false);
    }
  }
}

export class AzureBlobObjectStore implements ObjectStore {
  private readonly prefix: string;
  private readonly singlePutMaxBytes: number;
  private readonly blockSizeBytes: number;
  private readonly deleteConcurrency: number;
  private readonly listPageSize: number;
  private closed = false;

  /** Use createAzureBlobObjectStore; this takes an already built container client. */
  constructor(private readonly container: ContainerClient, options: AzureBlobObjectStoreOptions, readonly description: string) {
    this.prefix = options.prefix ?? '';
    this.singlePutMaxBytes = options.singlePutMaxBytes ?? DEFAULT_SINGLE_PUT_MAX_BYTES;
    this.blockSizeBytes = options.blockSizeBytes ?? DEFAULT_BLOCK_SIZE_BYTES;
    this.deleteConcurrency = options.deleteConcurrency ?? 16;
    this.listPageSize = Math.min(options.listPageSize ?? LIST_PAGE_SIZE, 5000);
  }

  async put(key: string, body: Buffer | readonly Buffer[], options: PutOptions = {}): Promise<void> {
    this.checkOpen();
    checkKey(key);
    const parts = Buffer.isBuffer(body) ? [body] : body;
    let size = 0;
    for (const p of parts) size += p.length;
    const conditions = options.ifNoneMatch ? { ifNoneMatch: '*' } : undefined;
    const client = this.container.getBlockBlobClient(this.prefix + key);
    try {
      if (size <= this.singlePutMaxBytes) {
        // A factory, not a stream: the SDK calls it again on a retry.
        const payload = parts.length === 1 ? parts[0]! : () => Readable.from(parts);
        await client.upload(payload, size, { conditions });
      } else {
        await this.putStaged(client, parts, size, conditions);
      }
    } catch (err) {
      throw translateError(err, key, 'put', options.ifNoneMatch === true);
    }
  }

  /** Large bodies: stage blocks under ids unique to this call, then commit them atomically. */
  private async putStaged(client: BlockBlobClient, parts: readonly Buffer[], size: number, conditions: { ifNoneMatch: string } | undefined): Promise<void> {
    const blockCount = Math.ceil(size / this.blockSizeBytes);
    if (blockCount > MAX_BLOCKS) throw new ObjectStoreError(`azure-blob: ${size} bytes need ${blockCount} blocks (max ${MAX_BLOCKS})`, false);
    // Racing writers of one key share its uncommitted block list: distinct ids keep their blocks apart.
    const tag = randomUUID();
    const ids: string[] = [];
    const whole = parts.length === 1 ? parts[0]! : Buffer.concat(parts as Buffer[], size);
    for (let i = 0; i < blockCount; i++) {
      const id = Buffer.from(`${tag}-${String(i).padStart(6, '0')}`).toString('base64');
      const chunk = whole.subarray(i * this.blockSizeBytes, Math.min(size, (i + 1) * this.blockSizeBytes));
      await client.stageBlock(id, chunk, chunk.length);
      ids.push(id);
    }
    await client.commitBlockList(ids, { conditions });
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    this.checkOpen();
    checkKey(key);
    if (range !== undefined) checkRange(range);
    const client = this.container.getBlobClient(this.prefix + key);
    try {
      if (range === undefined) return await readAll(client, 0, undefined);
      if ('suffix' in range) {
        // Azure has no suffix ranges: read the size, then the tail of exactly that version.
        const props = await client.getProperties();
        const size = props.contentLength ?? 0;
        const count = Math.min(range.suffix, size);
        if (count === 0) return Buffer.alloc(0);
        return await readAll(client, size - count, count, props.etag);
      }
      if (range.end === range.start) {
        await client.getProperties(); // a missing key is still an error
        return Buffer.alloc(0);
      }
      // One ranged GET; Azure, like S3, clamps an end past the blob and answers 416 for a start
      // past it. Azurite answers a start exactly at the end with 206 and no bytes: same error.
      const bytes = await readAll(client, range.start, range.end - range.start);
      if (bytes.length === 0) throw rangeError(key, range.start);
      return bytes;
    } catch (err) {
      if (err instanceof ObjectStoreError) throw err;
      if (statusOf(err) === 416) throw rangeError(key, (range as { start: number }).start, err);
      throw translateError(err, key, 'get');
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    this.checkOpen();
    checkKey(key);
    try {
      const props = await this.container.getBlobClient(this.prefix + key).getProperties();
      return { key, size: props.contentLength ?? 0, lastModifiedMs: props.lastModified?.getTime() ?? 0 };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw translateError(err, key, 'head');
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.checkOpen();
    try {
      const pages = this.container.listBlobsFlat({ prefix: this.prefix + prefix }).byPage({ maxPageSize: this.listPageSize });
      for await (const page of pages) {
        for (const item of page.segment.blobItems) {
          yield {
            key: item.name.slice(this.prefix.length),
            size: item.properties.contentLength ?? 0,
            lastModifiedMs: item.properties.lastModified.getTime(),
          };
        }
      }
    } catch (err) {
      throw translateError(err, undefined, `list ${prefix}`);
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    this.checkOpen();
    for (const k of keys) checkKey(k);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next++]!;
        try {
          await this.container.getBlobClient(this.prefix + key).deleteIfExists();
        } catch (err) {
          throw translateError(err, key, 'delete');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.deleteConcurrency, keys.length) }, worker));
  }

  async close(): Promise<void> {
    // The SDK holds keep-alive sockets only; nothing to flush.
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new ObjectStoreError('azure-blob object store is closed', false);
  }
}

/** One download request, body collected into a buffer (the SDK resumes a broken body stream itself). */
async function readAll(client: BlobClient, offset: number, count: number | undefined, etag?: string): Promise<Buffer> {
  const res = await client.download(offset, count, etag !== undefined ? { conditions: { ifMatch: etag } } : {});
  const stream = res.readableStreamBody;
  if (!stream) throw new ObjectStoreError('azure-blob: download returned no body stream', true);
  const expected = res.contentLength;
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as unknown as Uint8Array);
    got += b.length;
    chunks.push(b);
  }
  if (expected !== undefined && got !== expected) {
    throw new ObjectStoreError(`azure-blob: download returned ${got} bytes, expected ${expected}`, true);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, got);
}

function rangeError(key: string, start: number, cause?: unknown): ObjectStoreError {
  return new ObjectStoreError(`object ${key}: range starting at ${start} is at or past its end`, false, key, { cause });
}

function checkKey(key: string): void {
  // Azure blob names: 1 to 1024 characters.
  if (key.length === 0 || key.length > 1024) throw new ObjectStoreError(`invalid object key (length ${key.length})`, false, key);
}

function checkRange(r: ByteRange): void {
  if ('suffix' in r) {
    if (!Number.isSafeInteger(r.suffix) || r.suffix < 0) throw new ObjectStoreError(`invalid suffix range ${r.suffix}`, false);
  } else if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0 || r.end < r.start) {
    throw new ObjectStoreError(`invalid range [${r.start}, ${r.end})`, false);
  }
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** Maps SDK errors (RestError: statusCode, code) to the ObjectStore error types. */
function translateError(err: unknown, key: string | undefined, op: string, createOnly = false): ObjectStoreError {
  if (err instanceof ObjectStoreError) return err;
  const status = statusOf(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (status === 404 && key !== undefined && code !== 'ContainerNotFound') return new ObjectNotFoundError(key);
  // If-None-Match: * on an existing blob: 409 BlobAlreadyExists (Put Blob) or 412 (Put Block List).
  if (createOnly && key !== undefined && (status === 409 || status === 412)) return new ObjectExistsError(key);
  // No status: the request never got an answer (connection refused, reset, timeout): retriable.
  const retriable = status === undefined || status === 408 || status === 429 || status >= 500 || (status === 412 && op === 'get');
  const detail = `${status ?? 'no response'}${typeof code === 'string' ? ` ${code}` : ''}`;
  return new ObjectStoreError(`azure-blob ${op}${key !== undefined ? ` ${key}` : ''} failed: ${detail}: ${(err as Error)?.message?.split('\n')[0] ?? String(err)}`, retriable, key, { cause: err });
}
