// The s3 ObjectStore against a real S3 implementation, Ceph's radosgw (started once for this
// file, ~15 s): the ObjectStore contract through the AWS SDK, objects in the Ferry format read
// back through the block reader, S3-specific behaviour (prefixes, credentials, bucket errors),
// faults through a fault-injecting proxy, and a throughput measurement for 8 MiB objects.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../src/objects/s3-object-store.js';
import { ObjectNotFoundError, ObjectStoreError } from '../../src/objects/object-store.js';
import { encodeObject, readObjectIndex, objectKey, newObjectId } from '../../src/objects/object-format.js';
import { splitBatches } from '../../src/protocol/record-batch.js';
import { BlockCache, ObjectReader } from '../../src/objects/block-cache.js';
import { startRadosgw, type Radosgw } from '../helpers/radosgw.js';
import { startS3FaultProxy, type S3FaultProxy } from '../helpers/s3-fault-proxy.js';
import { collect, objectStoreContract } from './object-store-contract.js';
import { makeBatch } from './batches.js';

const MiB = 1024 * 1024;
const BUCKET = 'ferry-test';
let rgw: Radosgw;
let proxy: S3FaultProxy;
let prefixes = 0;
const stores: S3ObjectStore[] = [];

function store(overrides: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  const s = new S3ObjectStore({
    bucket: BUCKET, prefix: `t${prefixes++}-${randomBytes(3).toString('hex')}/`, region: rgw.region, endpoint: rgw.endpoint, forcePathStyle: true,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    listPageSize: 100, multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB, maxAttempts: 3,
    ...overrides,
  });
  stores.push(s);
  return s;
}

before(async () => {
  rgw = await startRadosgw(undefined, { timeoutMs: 120_000 });
  await rgw.createBucket(BUCKET);
  proxy = await startS3FaultProxy({ target: rgw.endpoint, seed: 11 });
});

after(async () => {
  for (const s of stores) await s.close();
  await proxy?.close();
  await rgw?.stop();
});

describe('s3 object store on radosgw: contract', () => {
  objectStoreContract(async () => store(), { listKeys: 1105, multipartBytes: 12 * MiB });
});

describe('s3 object store on radosgw', () => {
  test('a prefix isolates stores sharing a bucket; listed keys come back without it', async () => {
    const a = store();
    const b = store();
    await a.put('x/1', Buffer.from('a'));
    await b.put('x/1', Buffer.from('b'));
    assert.equal((await a.get('x/1')).toString(), 'a');
    assert.deepEqual((await collect(a.list('x/'))).map((o) => o.key), ['x/1']);
    assert.match(a.description, /^s3:\/\/ferry-test\/t\d+-[0-9a-f]+\/ at http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('Ferry objects: encode, PUT (single and multipart), read the index with one suffix GET, read blocks back byte-exact', async () => {
    const s = store();
    const topicId = randomBytes(16).toString('hex');
    for (const batchCount of [50, 1200]) {
      const batches = Array.from({ length: batchCount }, (_, i) => makeBatch(i * 10, 10, 4000 + (i % 7) * 1000));
      const encoded = encodeObject([{ topicId, partition: 3, batches }]);
      const key = objectKey('test', newObjectId());
      await s.put(key, encoded.chunks, { ifNoneMatch: true });
      const { size, entries } = await readObjectIndex(s, key);
      assert.equal(size, encoded.size);
      assert.deepEqual(entries, encoded.index);
      const reader = new ObjectReader(s, new BlockCache({ maxBytes: 64 * MiB }));
      const { blocks } = await reader.readPartition(entries.map((e) => ({ ...e, objectKey: key })), 0, Number.MAX_SAFE_INTEGER);
      const back = blocks.flatMap((b) => splitBatches(b));
      assert.equal(back.length, batchCount);
      back.forEach((b, i) => assert.ok(b.equals(batches[i]!.bytes), `batch ${i}`));
    }
  });

  test('wrong credentials: a non-retriable error that never contains the secret', async () => {
    const secret = 'SuperSecretValue' + randomBytes(8).toString('hex');
    const s = store({ credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: secret } });
    const err = await s.put('k', Buffer.from('x')).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ObjectStoreError, String(err));
    assert.equal(err.retriable, false, err.message);
    assert.ok(!err.message.includes(secret) && !JSON.stringify(err.cause).includes(secret), err.message);
  });

  test('a missing bucket is a non-retriable error, not "not found"', async () => {
    const s = store({ bucket: 'no-such-bucket-here' });
    const err = await s.get('k').then(() => null, (e: unknown) => e);
    assert.ok(err instanceof ObjectStoreError && !(err instanceof ObjectNotFoundError) && !err.retriable, String(err));
  });

  test('an unreachable endpoint is a retriable error', async () => {
    const s = store({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1, connectTimeoutMs: 500 });
    await assert.rejects(s.get('k'), (e: unknown) => e instanceof ObjectStoreError && e.retriable);
  });

  describe('through the fault proxy', () => {
    const viaProxy = (o: Partial<S3ObjectStoreOptions> = {}) => store({ endpoint: proxy.endpoint, ...o });

    test('503 SlowDown and 500 are retried by the SDK; a put and a get succeed', async () => {
      proxy.clearRules();
      const s = viaProxy();
      proxy.addRule({ op: 'put', action: { kind: 'status', status: 503, code: 'SlowDown' }, times: 2 });
      proxy.addRule({ op: 'get', action: { kind: 'status', status: 500, code: 'InternalError' }, times: 1 });
      const body = randomBytes(10_000);
      await s.put('k', body);
      assert.ok((await s.get('k')).equals(body));
      assert.equal(proxy.stats.injected['put:status'], 2);
      assert.equal(proxy.stats.injected['get:status'], 1);
    });

    test('errors that outlast the SDK retries surface as retriable ObjectStoreErrors', async () => {
      proxy.clearRules();
      const s = viaProxy({ maxAttempts: 2 });
      await s.put('k', Buffer.from('x'));
      proxy.addRule({ op: 'get', action: { kind: 'status', status: 503, code: 'SlowDown' } });
      await assert.rejects(s.get('k'), (e: unknown) => e instanceof ObjectStoreError && e.retriable && /SlowDown/.test(e.message));
      proxy.clearRules();
      proxy.addRule({ op: 'get', action: { kind: 'reset' } });
      await assert.rejects(s.get('k'), (e: unknown) => e instanceof ObjectStoreError && e.retriable);
      proxy.clearRules();
      proxy.addRule({ op: 'get', action: { kind: 'reset-mid-body' } });
      await s.put('big', randomBytes(2 * MiB));
      await assert.rejects(s.get('big'), (e: unknown) => e instanceof ObjectStoreError && e.retriable);
      proxy.clearRules();
      proxy.addRule({ op: 'head', action: { kind: 'hang' } });
      const quick = viaProxy({ maxAttempts: 1, requestTimeoutMs: 300 });
      await assert.rejects(quick.head('k'), (e: unknown) => e instanceof ObjectStoreError && e.retriable);
      proxy.outage(true);
      await assert.rejects(s.put('k2', Buffer.from('x')), (e: unknown) => e instanceof ObjectStoreError && e.retriable);
      proxy.outage(false);
      proxy.clearRules();
      await s.put('k2', Buffer.from('x'));
    });

    test('a multipart upload whose part keeps failing is aborted: no upload is left behind', async () => {
      proxy.clearRules();
      const s = viaProxy({ maxAttempts: 1 });
      proxy.addRule({ op: 'upload-part', action: { kind: 'status', status: 500 }, times: 1 });
      await assert.rejects(s.put('mp', randomBytes(11 * MiB)), (e: unknown) => e instanceof ObjectStoreError && e.retriable);
      proxy.clearRules();
      const client = rgw.client();
      try {
        const res = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
        assert.deepEqual((res.Uploads ?? []).filter((u) => u.Key?.endsWith('/mp')), []);
      } finally {
        client.destroy();
      }
      assert.equal(await s.head('mp'), null);
      assert.equal(proxy.stats.injected['upload-part:status'], 1);
    });
  });

  test('measure: PUT and GET of 8 MiB objects (sequential and 4 in parallel)', async () => {
    const s = store();
    const body = randomBytes(8 * MiB);
    const n = 12;
    const lat = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return `p50 ${v[Math.floor(v.length / 2)]!.toFixed(0)} ms, max ${v[v.length - 1]!.toFixed(0)} ms`; };
    const putMs: number[] = [];
    let t0 = performance.now();
    for (let i = 0; i < n; i++) { const t = performance.now(); await s.put(`m/${i}`, body); putMs.push(performance.now() - t); }
    const putMBps = (n * 8) / ((performance.now() - t0) / 1000);
    const getMs: number[] = [];
    t0 = performance.now();
    for (let i = 0; i < n; i++) { const t = performance.now(); const b = await s.get(`m/${i}`); getMs.push(performance.now() - t); assert.equal(b.length, body.length); }
    const getMBps = (n * 8) / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    for (let i = 0; i < n; i += 4) await Promise.all([0, 1, 2, 3].map((j) => s.put(`p/${i + j}`, body)));
    const putParMBps = (n * 8) / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    for (let i = 0; i < n; i += 4) await Promise.all([0, 1, 2, 3].map((j) => s.get(`p/${i + j}`)));
    const getParMBps = (n * 8) / ((performance.now() - t0) / 1000);
    const rangeMs: number[] = [];
    for (let i = 0; i < 50; i++) { const t = performance.now(); await s.get('m/0', { start: i * 65536, end: i * 65536 + 512 * 1024 }); rangeMs.push(performance.now() - t); }
    console.log(`radosgw 8 MiB objects: PUT ${putMBps.toFixed(0)} MB/s (${lat(putMs)}), GET ${getMBps.toFixed(0)} MB/s (${lat(getMs)}); ` +
      `4 parallel: PUT ${putParMBps.toFixed(0)} MB/s, GET ${getParMBps.toFixed(0)} MB/s; 512 KiB ranged GET ${lat(rangeMs)}`);
    assert.ok(putMBps > 1 && getMBps > 1, 'radosgw moves at least 1 MB/s');
  });
});
