/**
 * Read replicas (KIP-392 across zones) at the handler level: three brokers in racks a, b, c in
 * one process (read-replica-harness.ts), broker 1 leading. The leader's redirect; a replica
 * serving uploaded data from objects and the tail from the leader, in order, each tail byte and
 * each block fetched once for two consumers; uploaded-only; read_committed; errors; KIP-74; long
 * polls (shared by consumers waiting on one partition); fetch sessions; FerryRemoteFetch itself
 * (CLUSTER_ACTION, epochs, refs instead of uploaded bytes, TailFrom); the tail cache's bounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { buildRecordBatch, setBaseOffset } from '../../src/protocol/record-batch.js';
import { newSession, parsePrincipal } from '../../src/server/session.js';
import { TailCache } from '../../src/broker/read-replica.js';
import { zoneBrokerFor } from '../../src/broker/zones.js';
import { TestAuthorizer } from '../helpers/test-authorizer.js';
import { ReplicaHarness, TOPIC_ID, fetch, offsetsOf, partitionOf, requestContext } from './read-replica-harness.js';

async function withHarness(fn: (h: ReplicaHarness) => Promise<void>, partitions = 2): Promise<void> {
  const h = new ReplicaHarness(partitions);
  try { await fn(h); } finally { await h.dispose(); }
}

/** Contiguous offsets from `from` to `to` (inclusive) over the batches. */
function assertContiguous(batches: [number, number][], from: number, to: number): void {
  assert.ok(batches.length > 0, 'some batches');
  assert.ok(batches[0][0] <= from && batches[0][1] >= from, `first batch ${batches[0]} holds ${from}`);
  for (let i = 1; i < batches.length; i++) assert.equal(batches[i][0], batches[i - 1][1] + 1, `batch ${i} follows the one before`);
  assert.equal(batches[batches.length - 1][1], to);
}

test('the leader sends a consumer of another zone to its zone\'s broker with the offsets and no records, unless it is in the leader\'s zone, asks Fetch < v11, reads a leader-mode topic or its zone has no live broker', () => withHarness(async (h) => {
  h.append(0, 10);
  h.append(0, 10);
  const leader = h.node(1);
  const redirected = partitionOf(await fetch(h, 1, { 0: 0 }, { rackId: 'b' }));
  assert.equal(redirected.errorCode, 0);
  assert.equal(redirected.preferredReadReplica, zoneBrokerFor(leader.ctx.leadership.brokers(), 'b', TOPIC_ID, 0, 1)!.nodeId);
  assert.equal(redirected.preferredReadReplica, 2);
  assert.equal(redirected.highWatermark, 20n);
  assert.equal(redirected.logStartOffset, 0n);
  assert.deepEqual(offsetsOf(redirected), []);
  assert.equal(leader.counted.redirects, 1);

  // The ferry_az token of the client id says the zone too.
  assert.equal(partitionOf(await fetch(h, 1, { 0: 0 }, { clientId: 'app;ferry_az=c' })).preferredReadReplica, 3);
  // Served here: its own zone, an old Fetch, a follower, a leader-mode topic.
  assert.deepEqual(offsetsOf(partitionOf(await fetch(h, 1, { 0: 0 }, { rackId: 'a' }))), [[0, 9], [10, 19]]);
  assert.deepEqual(offsetsOf(partitionOf(await fetch(h, 1, { 0: 0 }, { rackId: '', clientId: 'plain' }))), [[0, 9], [10, 19]]);
  assert.deepEqual(offsetsOf(partitionOf(await fetch(h, 1, { 0: 0 }, { version: 10, clientId: 'old;ferry_az=b' }))), [[0, 9], [10, 19]]);
  const follower = partitionOf(await fetch(h, 1, { 0: 0 }, { rackId: 'b', replicaId: 2 }));
  assert.equal(follower.preferredReadReplica, -1);
  h.topic.remoteReadMode = 'leader';
  assert.equal(partitionOf(await fetch(h, 1, { 0: 0 }, { rackId: 'b' })).preferredReadReplica, -1);
  h.topic.remoteReadMode = 'tail';
  // Broker 2 died: zone b has no live broker, the leader serves the consumer itself.
  h.live.delete(2);
  const served = partitionOf(await fetch(h, 1, { 0: 0 }, { rackId: 'b' }));
  assert.equal(served.preferredReadReplica, -1);
  assert.deepEqual(offsetsOf(served), [[0, 9], [10, 19]]);
  assert.equal(leader.counted.redirects, 2);
}));

test('a redirect is answered at once, without waiting for min bytes', () => withHarness(async (h) => {
  h.append(0, 1);
  const r = partitionOf(await fetch(h, 1, { 0: 1 }, { rackId: 'b', minBytes: 1, maxWaitMs: 60_000 }));
  assert.equal(r.preferredReadReplica, 2);
}));

test('a read replica serves uploaded data from the object store and the tail from the leader, in order; a second consumer costs no GET and no tail byte from the leader', () => withHarness(async (h) => {
  const sizes: number[] = [];
  for (let i = 0; i < 6; i++) sizes.push(h.append(0, 10).bytes);
  await h.upload(0, 2, 4); // offsets 0..39 in two blocks; 40..59 not uploaded
  const replica = h.node(2);
  const first = partitionOf(await fetch(h, 2, { 0: 0 }, { rackId: 'b' }));
  assert.equal(first.errorCode, 0);
  assert.equal(first.highWatermark, 60n);
  assert.equal(first.preferredReadReplica, -1);
  assertContiguous(offsetsOf(first), 0, 59);
  const uploadedBytes = sizes.slice(0, 4).reduce((a, b) => a + b, 0);
  const tailBytes = sizes.slice(4).reduce((a, b) => a + b, 0);
  assert.deepEqual(replica.counted.served, { object: uploadedBytes, tail: tailBytes });
  assert.equal(replica.receivedTailBytes, tailBytes, 'only the un-uploaded tail came as record bytes');
  assert.equal(h.node(1).counted.replicaBytes, tailBytes, 'the leader counted the tail it sent another rack');
  const gets = h.gets(2);
  assert.ok(gets >= 1);

  // Another consumer of the zone, from the start and from inside an uploaded batch.
  assertContiguous(offsetsOf(partitionOf(await fetch(h, 2, { 0: 0 }, { rackId: 'b' }))), 0, 59);
  assertContiguous(offsetsOf(partitionOf(await fetch(h, 2, { 0: 25 }, { rackId: 'b' }))), 25, 59);
  assertContiguous(offsetsOf(partitionOf(await fetch(h, 2, { 0: 45 }, { rackId: 'b' }))), 45, 59);
  assert.equal(h.gets(2), gets, 'blocks came from the block cache');
  assert.equal(replica.receivedTailBytes, tailBytes, 'the tail came from the tail cache');
  assert.deepEqual(replica.sent.slice(1).map((r) => r.topics[0].partitions[0].tailFrom), [60n, 60n, 60n], 'it said it holds the tail');

  // New data: only it crosses.
  const more = h.append(0, 5).bytes;
  assertContiguous(offsetsOf(partitionOf(await fetch(h, 2, { 0: 50 }, { rackId: 'b' }))), 50, 64);
  assert.equal(replica.receivedTailBytes, tailBytes + more);
  // Uploaded since: the tail cache drops what is below the uploaded end, the blocks serve it.
  await h.upload(0, 2);
  assertContiguous(offsetsOf(partitionOf(await fetch(h, 2, { 0: 0 }, { rackId: 'b' }))), 0, 64);
  assertContiguous(offsetsOf(partitionOf(await fetch(h, 2, { 0: 50 }, { rackId: 'b' }))), 50, 64);
  assert.equal(replica.receivedTailBytes, tailBytes + more);
}));

test('ferry.remote.read.mode=uploaded-only: only uploaded data, the uploaded end as high watermark, no tail byte crosses; an offset past it waits, it is not out of range', () => withHarness(async (h) => {
  h.topic.remoteReadMode = 'uploaded-only';
  for (let i = 0; i < 4; i++) h.append(0, 10);
  await h.upload(0, 1);
  for (let i = 0; i < 2; i++) h.append(0, 10);
  const r = partitionOf(await fetch(h, 2, { 0: 0 }, { rackId: 'b' }));
  assert.equal(r.errorCode, 0);
  assert.equal(r.highWatermark, 40n);
  assert.equal(r.lastStableOffset, 40n);
  assertContiguous(offsetsOf(r), 0, 39);
  const ahead = partitionOf(await fetch(h, 2, { 0: 50 }, { rackId: 'b' }));
  assert.equal(ahead.errorCode, 0);
  assert.deepEqual(offsetsOf(ahead), []);
  assert.equal(partitionOf(await fetch(h, 2, { 0: 61 }, { rackId: 'b' })).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  assert.equal(h.node(2).receivedTailBytes, 0);
  assert.equal(h.node(1).counted.replicaBytes, 0);
  assert.equal(h.node(2).counted.served.tail, 0);
  // The tail once uploaded.
  await h.upload(0, 1);
  assertContiguous(offsetsOf(partitionOf(await fetch(h, 2, { 0: 40 }, { rackId: 'b' }))), 40, 59);
}));

test('read_committed through a replica: nothing past the last stable offset, and the aborted transactions of what it served', () => withHarness(async (h) => {
  h.append(0, 5); // 0..4
  h.transaction(0, 7n, 2, false); // 5, 6 + abort marker 7
  h.transaction(0, 8n, 1, true); // 8 + commit marker 9
  await h.upload(0, 2);
  h.transaction(0, 9n, 2, false); // 10, 11 + abort 12: the tail
  h.append(0, 2); // 13..14
  h.transaction(0, 10n, 1, null); // 15: open, the LSO
  h.append(0, 1); // 16
  const r = partitionOf(await fetch(h, 2, { 0: 0 }, { rackId: 'b', isolationLevel: 1 }));
  assert.equal(r.errorCode, 0);
  assert.equal(r.highWatermark, 17n);
  assert.equal(r.lastStableOffset, 15n);
  assertContiguous(offsetsOf(r), 0, 14);
  assert.deepEqual(r.abortedTransactions.map((a: any) => [a.producerId, a.firstOffset]), [[7n, 5n], [9n, 10n]]);
  // From inside: only the transactions it overlaps.
  const later = partitionOf(await fetch(h, 2, { 0: 9 }, { rackId: 'b', isolationLevel: 1 }));
  assertContiguous(offsetsOf(later), 9, 14);
  assert.deepEqual(later.abortedTransactions.map((a: any) => [a.producerId, a.firstOffset]), [[9n, 10n]]);
  // read_uncommitted: to the high watermark, no aborted list.
  const all = partitionOf(await fetch(h, 2, { 0: 0 }, { rackId: 'b' }));
  assertContiguous(offsetsOf(all), 0, 16);
  assert.equal(all.abortedTransactions, null);
}));

test('the leader\'s errors reach the consumer as they are; an unreachable leader and a failed GET are retriable errors of that partition only', () => withHarness(async (h) => {
  h.append(0, 10);
  h.append(1, 10);
  await h.upload(0, 1);
  h.append(0, 10);
  assert.equal(partitionOf(await fetch(h, 2, { 0: 0 }, { currentLeaderEpoch: 1 })).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
  assert.equal(partitionOf(await fetch(h, 2, { 0: 0 }, { currentLeaderEpoch: 9 })).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
  const oor = partitionOf(await fetch(h, 2, { 0: 500 }));
  assert.equal(oor.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  assert.equal(oor.highWatermark, 20n);

  h.failGets = true;
  const failed = await fetch(h, 2, { 0: 0, 1: 0 });
  assert.equal(partitionOf(failed, 0).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
  assert.equal(partitionOf(failed, 1).errorCode, 0);
  assertContiguous(offsetsOf(partitionOf(failed, 1)), 0, 9);
  h.failGets = false;

  h.unreachable.add(1);
  const down = await fetch(h, 2, { 0: 0, 1: 0 });
  assert.equal(partitionOf(down, 0).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.equal(partitionOf(down, 1).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  h.unreachable.delete(1);
  // Leader-mode topics are not served here, unless zone-local (Metadata sends a zone's consumers to its broker).
  h.topic.remoteReadMode = 'leader';
  assert.equal(partitionOf(await fetch(h, 2, { 0: 0 })).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  h.topic.produceRouting = 'zone-local';
  assertContiguous(offsetsOf(partitionOf(await fetch(h, 2, { 0: 0 }))), 0, 19);
}));

test('KIP-74 on a replica: the first batch comes whole past partition max bytes (from objects and from the tail); max bytes bounds the rest', () => withHarness(async (h) => {
  const a = h.append(0, 10, 500); // ~5 KB batches
  h.append(0, 10, 500);
  await h.upload(0, 1);
  h.append(0, 10, 500);
  h.append(1, 10, 500);
  const small = partitionOf(await fetch(h, 2, { 0: 0 }, { partitionMaxBytes: 100 }));
  assert.deepEqual(offsetsOf(small), [[0, 9]]);
  const tailOnly = partitionOf(await fetch(h, 2, { 0: 20 }, { partitionMaxBytes: 100 }));
  assert.deepEqual(offsetsOf(tailOnly), [[20, 29]]);
  // Two partitions, room for about two batches: the first partition takes them, the second nothing.
  const both = await fetch(h, 2, { 0: 0, 1: 0 }, { maxBytes: a.bytes * 2 + 10 });
  assert.deepEqual(offsetsOf(partitionOf(both, 0)), [[0, 9], [10, 19]]);
  assert.deepEqual(offsetsOf(partitionOf(both, 1)), []);
}));

test('a long poll on a replica is woken by the leader\'s new data; consumers waiting on one partition share one poll, and the tail crosses once', () => withHarness(async (h) => {
  h.append(0, 10);
  const replica = h.node(2);
  // Both consumers at the head: they wait.
  const waits = [fetch(h, 2, { 0: 10 }, { minBytes: 1, maxWaitMs: 4000 }), fetch(h, 2, { 0: 10 }, { minBytes: 1, maxWaitMs: 4000 })];
  await new Promise((r) => setTimeout(r, 150));
  const polls = replica.sent.filter((r) => r.maxWaitMs > 0);
  assert.equal(polls.length, 1, 'one long poll for the two consumers');
  assert.equal(polls[0].minBytes, 1);
  assert.equal(polls[0].topics[0].partitions[0].fetchOffset, 10n);
  const b = h.append(0, 10);
  const [x, y] = await Promise.all(waits);
  assert.deepEqual(offsetsOf(partitionOf(x)), [[10, 19]]);
  assert.deepEqual(offsetsOf(partitionOf(y)), [[10, 19]]);
  assert.equal(replica.receivedTailBytes, b.bytes, 'the new batch crossed once');
}));

test('a replica waiting with nothing to read sends the leader one long poll, not a stream of fetches', () => withHarness(async (h) => {
  h.append(0, 10);
  const res = partitionOf(await fetch(h, 2, { 0: 10 }, { minBytes: 1, maxWaitMs: 700 }));
  assert.deepEqual(offsetsOf(res), []);
  assert.equal(res.errorCode, 0);
  const sent = h.node(2).sent;
  assert.equal(sent.length, 2, `a read and a long poll (${sent.map((r) => r.maxWaitMs).join(', ')})`);
  assert.equal(sent[1].maxWaitMs > 0, true);
}));

test('a replica stopped short of the end by its byte budget does not long-poll for data that is already there', () => withHarness(async (h) => {
  h.append(0, 10, 500);
  h.append(0, 10, 500);
  const res = partitionOf(await fetch(h, 2, { 0: 0 }, { partitionMaxBytes: 100, minBytes: 1 << 20, maxWaitMs: 300 }));
  assert.deepEqual(offsetsOf(res), [[0, 9]]);
  assert.deepEqual(h.node(2).sent.map((r) => r.maxWaitMs), [0], 'one read, no poll');
}));

test('a replica waiting on two partitions answers when either gets data', () => withHarness(async (h) => {
  h.append(0, 1);
  h.append(1, 1);
  const waiting = fetch(h, 2, { 0: 1, 1: 1 }, { minBytes: 1, maxWaitMs: 4000 });
  await new Promise((r) => setTimeout(r, 100));
  h.append(1, 3);
  const res = await waiting;
  assert.deepEqual(offsetsOf(partitionOf(res, 1)), [[1, 3]]);
  assert.deepEqual(offsetsOf(partitionOf(res, 0)), []);
}));

test('fetch sessions keep working for partitions a replica serves: an incremental fetch carries a partition only when it has news', () => withHarness(async (h) => {
  h.append(0, 10);
  h.append(1, 10);
  const full = await fetch(h, 2, { 0: 0, 1: 10 }, { sessionId: 0, sessionEpoch: 0 });
  assert.equal(full.errorCode, 0);
  assert.ok(full.sessionId > 0);
  assert.deepEqual(offsetsOf(partitionOf(full, 0)), [[0, 9]]);
  assert.ok(partitionOf(full, 1), 'a full response carries every partition');
  // Incremental, partition 0 moved on: nothing new anywhere.
  const quiet = await fetch(h, 2, { 0: 10 }, { sessionId: full.sessionId, sessionEpoch: 1 });
  assert.equal(quiet.errorCode, 0);
  assert.deepEqual(quiet.responses, []);
  h.append(1, 5);
  const news = await fetch(h, 2, {}, { sessionId: full.sessionId, sessionEpoch: 2 });
  assert.equal(partitionOf(news, 0), undefined);
  assert.deepEqual(offsetsOf(partitionOf(news, 1)), [[10, 14]]);
  assert.equal(partitionOf(news, 1).highWatermark, 15n);
}));

test('FerryRemoteFetch: CLUSTER_ACTION required; epochs checked; uploaded data as block references, never bytes; the tail from TailFrom; the leader counts what it sent another rack', () => withHarness(async (h) => {
  for (let i = 0; i < 4; i++) h.append(0, 10);
  const refs = await h.upload(0, 2);
  const tail = h.append(0, 10);
  h.append(0, 10);
  const leader = h.node(1);
  const ask = (p: Record<string, unknown>, session?: ReturnType<typeof newSession>) => leader.remoteFetch(requestContext(ApiKey.FerryRemoteFetch, 0, 'ferry-broker', session), {
    replicaId: 2, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0,
    topics: [{ topicId: TOPIC_ID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, partitionMaxBytes: 1 << 20, tailFrom: -1n, uploadedOnly: false, ...p }] }],
  });
  const r = (await ask({})).responses[0].partitions[0];
  assert.equal(r.errorCode, 0);
  assert.equal(r.leaderEpoch, 3);
  assert.equal(r.highWatermark, 60n);
  assert.equal(r.serveTo, 60n);
  assert.deepEqual(r.blocks.map((b: any) => [b.baseOffset, b.endOffset, b.objectKey]), refs.map((x) => [BigInt(x.baseOffset), BigInt(x.endOffset), x.objectKey]));
  assert.equal(r.records.length, 2, 'the two tail batches, by reference');
  assert.equal(r.records[0].readBigInt64BE(0), 40n);
  assert.equal(leader.counted.replicaBytes, tail.bytes * 2);
  // The replica holds the tail up to 50: only the batch from 50 comes, no blocks (it holds from the fetch offset).
  const held = (await ask({ fetchOffset: 40n, tailFrom: 50n })).responses[0].partitions[0];
  assert.equal(held.blocks.length, 0);
  assert.equal(held.records.length, 1);
  assert.equal(held.records[0].readBigInt64BE(0), 50n);
  // Uploaded-only asked by the replica: no bytes, the uploaded end as high watermark.
  const up = (await ask({ uploadedOnly: true })).responses[0].partitions[0];
  assert.equal(up.records, null);
  assert.equal(up.highWatermark, 40n);
  // Epochs.
  assert.equal((await ask({ currentLeaderEpoch: 2 })).responses[0].partitions[0].errorCode, ErrorCode.FENCED_LEADER_EPOCH);
  assert.equal((await ask({ currentLeaderEpoch: 4 })).responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
  assert.equal((await ask({ partition: 7 })).responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  // ACLs on: a principal without CLUSTER_ACTION is refused the whole request.
  const authz = new TestAuthorizer();
  h.authorizer = authz;
  const alice = newSession('PLAINTEXT', 'PLAINTEXT', '127.0.0.1', parsePrincipal('User:alice')!);
  const refused = await ask({}, alice);
  assert.equal(refused.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  assert.deepEqual(refused.responses, []);
  authz.grant('User:alice', 'CLUSTER_ACTION', 'CLUSTER', 'kafka-cluster');
  assert.equal((await ask({}, alice)).errorCode, 0);
}));

test('FerryRemoteFetch long poll: answers when data past what the replica holds arrives, or when the wait ends', () => withHarness(async (h) => {
  h.append(0, 10);
  const leader = h.node(1);
  const ask = (maxWaitMs: number, fetchOffset: bigint, tailFrom: bigint) => leader.remoteFetch(requestContext(ApiKey.FerryRemoteFetch, 0, 'ferry-broker'), {
    replicaId: 2, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0,
    topics: [{ topicId: TOPIC_ID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, partitionMaxBytes: 1 << 20, tailFrom, uploadedOnly: false }] }],
  });
  const idle = (await ask(200, 10n, -1n)).responses[0].partitions[0];
  assert.equal(idle.records, null);
  // Holds 0..9 already: waits for what follows.
  const waiting = ask(4000, 0n, 10n);
  await new Promise((r) => setTimeout(r, 50));
  h.append(0, 3);
  const woke = (await waiting).responses[0].partitions[0];
  assert.equal(woke.records.length, 1);
  assert.equal(woke.records[0].readBigInt64BE(0), 10n);
}));

test('the tail cache: contiguous runs from an offset, copies, skips what it holds, drops below the uploaded end, evicts the least recently used partition first', () => {
  const batch = (base: number, count: number, bytes = 100) => {
    const b = buildRecordBatch(Array.from({ length: count }, () => ({ value: Buffer.alloc(bytes) })));
    setBaseOffset(b, BigInt(base));
    return b;
  };
  const size = batch(0, 1).length;
  const c = new TailCache(size * 6);
  const b0 = batch(0, 1);
  c.add('p', [b0, batch(1, 1), batch(2, 1)]);
  b0.fill(0);
  assert.equal(c.runFrom('p', 0)[0].readBigInt64BE(0), 0n, 'a copy: the caller\'s buffer may change');
  assert.equal(c.runFrom('p', 1).length, 2);
  assert.deepEqual(c.runFrom('p', 3), []);
  // A hole: runs stop at it.
  c.add('p', [batch(5, 1)]);
  assert.equal(c.runFrom('p', 0).length, 3);
  assert.equal(c.runFrom('p', 5).length, 1);
  c.add('p', [batch(1, 1), batch(3, 1)]);
  assert.equal(c.bytes, size * 5, 'what it held already is skipped');
  assert.equal(c.runFrom('p', 0).length, 4);
  c.dropBelow('p', 2);
  assert.deepEqual(c.runFrom('p', 1), []);
  assert.equal(c.runFrom('p', 2).length, 2);
  assert.equal(c.bytes, size * 3);
  // Bounded: q is used last, so p loses its oldest first.
  c.add('q', [batch(0, 1), batch(1, 1), batch(2, 1), batch(3, 1)]);
  assert.ok(c.bytes <= size * 6);
  assert.equal(c.runFrom('q', 0).length, 4);
  assert.deepEqual(c.runFrom('p', 2), []);
  assert.equal(c.runFrom('p', 5).length, 1);
  // A batch larger than the cache is not kept.
  c.add('r', [batch(0, 1, size * 10)]);
  assert.deepEqual(c.runFrom('r', 0), []);
});
