// How the s3 backend maps SDK outcomes, with the S3 client mocked (aws-sdk-client-mock): which
// errors are retriable, NoSuchKey -> not found, 412/409 -> exists, multipart abort, delete
// batching, list pagination, and that credentials never reach error messages.
import { describe, test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectsCommand, GetObjectCommand,
  HeadObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { S3ObjectStore, translateError } from '../../src/objects/s3-object-store.js';
import { ObjectExistsError, ObjectNotFoundError, ObjectStoreError } from '../../src/objects/object-store.js';
import { collect } from './object-store-contract.js';

const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-never-shown' }, maxAttempts: 1 });
const mock = mockClient(client);

function serviceError(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId: 'req-1' }, message: `${name} happened` });
}

function store(): S3ObjectStore {
  return new S3ObjectStore({ bucket: 'bkt', prefix: 'pre/', client, multipartThresholdBytes: 5 * 1024 * 1024, partSizeBytes: 5 * 1024 * 1024 });
}

const retriable = (e: unknown) => e instanceof ObjectStoreError && e.retriable && !(e instanceof ObjectNotFoundError);
const permanent = (e: unknown) => e instanceof ObjectStoreError && !e.retriable && !(e instanceof ObjectNotFoundError) && !(e instanceof ObjectExistsError);

describe('s3 error mapping (mocked client)', () => {
  beforeEach(() => mock.reset());

  test('throttling, 5xx, timeouts and network errors are retriable', async () => {
    for (const err of [
      serviceError('SlowDown', 503), serviceError('ServiceUnavailable', 503), serviceError('InternalError', 500), serviceError('Throttling', 400),
      serviceError('RequestTimeout', 400), serviceError('TooManyRequestsException', 429), serviceError('BadGateway', 502),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('timed out'), { name: 'TimeoutError' }), Object.assign(new Error('aborted'), { name: 'AbortError' }),
    ]) {
      mock.reset();
      mock.on(PutObjectCommand).rejects(err);
      await assert.rejects(store().put('k', Buffer.from('x')), retriable, `${err.name}`);
    }
  });

  test('access, bucket and request errors are not retriable', async () => {
    for (const err of [serviceError('AccessDenied', 403), serviceError('NoSuchBucket', 404), serviceError('InvalidAccessKeyId', 403),
      serviceError('SignatureDoesNotMatch', 403), serviceError('InvalidRange', 416), serviceError('EntityTooLarge', 400)]) {
      mock.reset();
      mock.on(GetObjectCommand).rejects(err);
      await assert.rejects(store().get('k', { start: 0, end: 10 }), permanent, err.name);
    }
    mock.on(PutObjectCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    await assert.rejects(store().put('k', Buffer.from('x')), permanent);
  });

  test('NoSuchKey is ObjectNotFoundError; a 404 HEAD is null', async () => {
    mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'gone', $metadata: { httpStatusCode: 404 } }));
    await assert.rejects(store().get('k'), (e: unknown) => e instanceof ObjectNotFoundError && e.key === 'k');
    mock.on(HeadObjectCommand).rejects(serviceError('NotFound', 404));
    assert.equal(await store().head('k'), null);
  });

  test('412 and 409 on a create-only put are ObjectExistsError; on a plain put they are errors', async () => {
    mock.on(PutObjectCommand).rejects(serviceError('PreconditionFailed', 412));
    await assert.rejects(store().put('k', Buffer.from('x'), { ifNoneMatch: true }), (e: unknown) => e instanceof ObjectExistsError && e.key === 'k');
    mock.on(PutObjectCommand).rejects(serviceError('ConditionalRequestConflict', 409));
    await assert.rejects(store().put('k', Buffer.from('x'), { ifNoneMatch: true }), ObjectExistsError);
    await assert.rejects(store().put('k', Buffer.from('x')), (e: unknown) => e instanceof ObjectStoreError && !(e instanceof ObjectExistsError));
  });

  test('put sends If-None-Match: * and the prefixed key; get sends the Range header', async () => {
    mock.on(PutObjectCommand).resolves({});
    await store().put('k', [Buffer.from('ab'), Buffer.from('c')], { ifNoneMatch: true });
    const input = mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    assert.equal(input.IfNoneMatch, '*');
    assert.equal(input.Key, 'pre/k');
    assert.equal(input.Bucket, 'bkt');
    assert.deepEqual(input.Body, Buffer.from('abc'));
    const body = (bytes: Buffer) => ({ transformToByteArray: async () => new Uint8Array(bytes) }) as any;
    mock.on(GetObjectCommand).resolves({ Body: body(Buffer.from('0123')), ContentRange: 'bytes 10-13/100', ContentLength: 4 });
    assert.equal((await store().get('k', { start: 10, end: 14 })).toString(), '0123');
    assert.equal(mock.commandCalls(GetObjectCommand)[0]!.args[0].input.Range, 'bytes=10-13');
    mock.on(GetObjectCommand).resolves({ Body: body(Buffer.from('89')), ContentRange: 'bytes 98-99/100', ContentLength: 2 });
    await store().get('k', { suffix: 2 });
    assert.equal(mock.commandCalls(GetObjectCommand)[1]!.args[0].input.Range, 'bytes=-2');
    // A body shorter than Content-Range promises is a retriable error.
    mock.on(GetObjectCommand).resolves({ Body: body(Buffer.from('01')), ContentRange: 'bytes 10-13/100', ContentLength: 4 });
    await assert.rejects(store().get('k', { start: 10, end: 14 }), retriable);
  });

  test('multipart: parts of the configured size, complete with If-None-Match; a failed part aborts the upload', async () => {
    const big = Buffer.alloc(12 * 1024 * 1024, 7);
    mock.on(HeadObjectCommand).rejects(serviceError('NotFound', 404));
    mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    mock.on(UploadPartCommand).resolves({ ETag: '"e"' });
    mock.on(CompleteMultipartUploadCommand).resolves({});
    await store().put('big', [big.subarray(0, 100), big.subarray(100)], { ifNoneMatch: true });
    const parts = mock.commandCalls(UploadPartCommand).map((c) => [c.args[0].input.PartNumber, (c.args[0].input.Body as Buffer).length]);
    assert.deepEqual(parts.sort((a, b) => Number(a[0]) - Number(b[0])), [[1, 5 * 1024 * 1024], [2, 5 * 1024 * 1024], [3, 2 * 1024 * 1024]]);
    const complete = mock.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input;
    assert.equal(complete.IfNoneMatch, '*');
    assert.deepEqual(complete.MultipartUpload?.Parts?.map((p) => p.PartNumber), [1, 2, 3]);

    mock.reset();
    mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u2' });
    mock.on(UploadPartCommand).rejects(serviceError('InternalError', 500));
    mock.on(AbortMultipartUploadCommand).resolves({});
    await assert.rejects(store().put('big', big), retriable);
    assert.equal(mock.commandCalls(AbortMultipartUploadCommand).length, 1);
    assert.equal(mock.commandCalls(AbortMultipartUploadCommand)[0]!.args[0].input.UploadId, 'u2');
    assert.equal(mock.commandCalls(CompleteMultipartUploadCommand).length, 0);
  });

  test('delete goes in batches of at most 1000 keys; per-key errors other than NoSuchKey fail it', async () => {
    mock.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'pre/k1', Code: 'NoSuchKey' }] });
    const keys = Array.from({ length: 2500 }, (_, i) => `k${i}`);
    await store().delete(keys);
    const calls = mock.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete!.Objects!);
    assert.deepEqual(calls.map((o) => o.length), [1000, 1000, 500]);
    assert.equal(calls[0]![0]!.Key, 'pre/k0');
    mock.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'pre/k1', Code: 'AccessDenied', Message: 'no' }] });
    await assert.rejects(store().delete(['k1']), (e: unknown) => permanent(e) && (e as ObjectStoreError).key === 'k1');
    mock.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'pre/k1', Code: 'InternalError' }] });
    await assert.rejects(store().delete(['k1']), retriable);
  });

  test('list follows continuation tokens and strips the prefix', async () => {
    mock.on(ListObjectsV2Command, { ContinuationToken: undefined }).resolves({ Contents: [{ Key: 'pre/a', Size: 1, LastModified: new Date(1000) }], IsTruncated: true, NextContinuationToken: 't1' });
    mock.on(ListObjectsV2Command, { ContinuationToken: 't1' }).resolves({ Contents: [{ Key: 'pre/b', Size: 2, LastModified: new Date(2000) }], IsTruncated: false });
    assert.deepEqual(await collect(store().list('')), [{ key: 'a', size: 1, lastModifiedMs: 1000 }, { key: 'b', size: 2, lastModifiedMs: 2000 }]);
    assert.equal(mock.commandCalls(ListObjectsV2Command)[0]!.args[0].input.Prefix, 'pre/');
  });

  test('errors name the op, key, code and status, and carry no credentials', () => {
    const e = translateError(Object.assign(serviceError('AccessDenied', 403), { $response: { headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/...' } } }), 'put', 'k');
    assert.match(e.message, /^s3 put k: AccessDenied \(HTTP 403\)/);
    assert.ok(!JSON.stringify({ m: e.message, c: e.cause }).includes('AKIDEXAMPLE'));
    assert.equal(store().description, 's3://bkt/pre/');
  });

  test('invalid options are refused up front', () => {
    assert.throws(() => new S3ObjectStore({ bucket: 'Bad_Bucket' }), ObjectStoreError);
    assert.throws(() => new S3ObjectStore({ bucket: 'ok-bucket', partSizeBytes: 1024 }), ObjectStoreError);
    assert.throws(() => new S3ObjectStore({ bucket: 'ok-bucket', endpoint: 'not a url' }), ObjectStoreError);
  });
});
