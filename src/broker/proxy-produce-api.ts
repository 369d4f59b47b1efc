/**
 * FerryProxyProduce (api key 30000, Ferry's own; never advertised): the leader's side of
 * zone-local produce (produce-proxy.ts). A proxy broker staged a client's batches in the object
 * store; this reads this request's byte range in one ranged GET, checks each partition's CRC-32C
 * against the proxy's, and appends through Produce's own path (validation, idempotence,
 * transaction checks, fencing, fsync) with the proxy's ACL verdict. Answers positionally: entry i
 * of topic j answers the request's entry (j, i).
 *
 * Only brokers send it: it needs CLUSTER_ACTION on the cluster (the inter-broker principal).
 */
import { crc32c } from '@node-rs/crc32';
import { ErrorCode } from '../protocol/errors.js';
import type { FerryProxyProduceRequest, FerryProxyProduceResponse } from '../protocol/messages/ferry-proxy-produce.js';
import type { ProduceRequest } from '../protocol/messages/produce.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import { ALLOW_EVERYTHING, requestAcl } from './authorize.js';
import { produceRecords } from './produce.js';

export const FERRY_PROXY_PRODUCE_VERSIONS = { min: 0, max: 0 } as const;
/** A staging object is at most twice ferry.proxy.buffer.bytes; anything larger is not ours. */
const RANGE_BYTES_MAX = 1 << 30;

export function makeProxyProduceHandler(b: BrokerContext) {
  /**
   * Per proxy: settles once the previous request's appends are issued. The GETs run in parallel,
   * the appends in arrival order: a proxy that gave up waiting (a slow object store) sends the
   * next flush while the previous one is still being read here, and a later GET finishing first
   * must not put a producer's later batch before its earlier one (out-of-order sequence).
   */
  const issuedInOrder = new Map<number, Promise<void>>();
  return async (ctx: RequestContext, req: FerryProxyProduceRequest): Promise<DeepPartial<FerryProxyProduceResponse>> => {
    const prev = issuedInOrder.get(req.proxyId) ?? Promise.resolve();
    let issued!: () => void;
    const mine = new Promise<void>((resolve) => { issued = resolve; });
    issuedInOrder.set(req.proxyId, mine);
    void mine.then(() => { if (issuedInOrder.get(req.proxyId) === mine) issuedInOrder.delete(req.proxyId); });
    try {
      return await handle(ctx, req, async () => { await prev; }, issued);
    } finally {
      // Refused before appending: still in turn, after the previous request's appends.
      void prev.then(issued);
    }
  };

  async function handle(ctx: RequestContext, req: FerryProxyProduceRequest, turn: () => Promise<void>, issued: () => void): Promise<DeepPartial<FerryProxyProduceResponse>> {
    const refuse = (code: number, message: string): DeepPartial<FerryProxyProduceResponse> => ({ errorCode: code, errorMessage: message, responses: [] });
    if (!requestAcl(b, ctx).allowedOnCluster('CLUSTER_ACTION')) return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'FerryProxyProduce needs CLUSTER_ACTION (brokers only)');
    // Only staging objects: never another object of the bucket (a topic's data, or not Ferry's).
    if (!req.objectKey.startsWith(b.zones.stagingPrefix) || req.objectKey.includes('..')) return refuse(ErrorCode.INVALID_REQUEST, 'not a staging object key');
    let start = Infinity, end = 0;
    for (const t of req.topics) {
      for (const p of t.partitions) {
        const pos = Number(p.position);
        if (!Number.isSafeInteger(pos) || pos < 0 || p.length <= 0) return refuse(ErrorCode.INVALID_REQUEST, `bad range ${p.position}+${p.length}`);
        start = Math.min(start, pos);
        end = Math.max(end, pos + p.length);
      }
    }
    if (end === 0) return { errorCode: ErrorCode.NONE, errorMessage: null, responses: [] };
    if (end - start > RANGE_BYTES_MAX) return refuse(ErrorCode.INVALID_REQUEST, `range of ${end - start} bytes`);
    let bytes: Buffer;
    try {
      bytes = await b.zones.store.get(req.objectKey, { start, end });
    } catch (err) {
      ctx.log.warn({ err, key: req.objectKey, proxy: req.proxyId }, 'zone-local produce: reading the staging object failed');
      return refuse(ErrorCode.KAFKA_STORAGE_ERROR, `reading the staging object failed: ${(err as Error).message}`);
    }
    if (bytes.length !== end - start) return refuse(ErrorCode.KAFKA_STORAGE_ERROR, `the staging object is ${bytes.length} bytes short of the range`);
    const produce: ProduceRequest = {
      transactionalId: req.transactionalId, acks: req.acks === 0 ? 1 : req.acks, timeoutMs: req.timeoutMs,
      topicData: req.topics.map((t) => ({
        name: t.name,
        partitionData: t.partitions.map((p) => {
          const slice = bytes.subarray(Number(p.position) - start, Number(p.position) - start + p.length);
          return { index: p.index, records: (crc32c(slice) | 0) === p.crc ? slice : null };
        }),
      })),
    };
    const corrupt = produce.topicData.some((t) => t.partitionData.some((p) => p.records === null));
    if (corrupt) return refuse(ErrorCode.CORRUPT_MESSAGE, 'a staged range does not match its CRC-32C');
    // The client's own Produce version (which codes it knows) and id (logs); the proxy authorized it.
    const sub: RequestContext = { ...ctx, header: { ...ctx.header, apiVersion: req.produceVersion, clientId: req.clientId } };
    await turn();
    // produceRecords issues every append before its first await: the next request may go on then.
    const pending = produceRecords(b, sub, produce, { acl: ALLOW_EVERYTHING, proxied: true });
    issued();
    const res = await pending;
    return {
      errorCode: ErrorCode.NONE, errorMessage: null,
      responses: (res?.responses ?? []).map((t) => ({
        name: t.name,
        partitions: (t.partitionResponses ?? []).map((p) => ({
          index: p.index, errorCode: p.errorCode, errorMessage: p.errorMessage ?? null, baseOffset: p.baseOffset,
          logAppendTimeMs: p.logAppendTimeMs, logStartOffset: p.logStartOffset,
          recordErrors: (p.recordErrors ?? []).map((r) => ({ batchIndex: r!.batchIndex, batchIndexErrorMessage: r!.batchIndexErrorMessage ?? null })),
        })),
      })),
    };
  }
}
