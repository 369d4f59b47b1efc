// Which broker serves a zone's clients for a partition (the zone-local proxy and read replica).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientZone, liveZones, zoneBrokerFor } from '../../src/broker/zones.js';
import type { BrokerEndpoint } from '../../src/broker/context.js';

const broker = (nodeId: number, rack: string | null): BrokerEndpoint => ({ nodeId, host: 'h', port: nodeId, rack });
// Three zones, four brokers each: a = 1..4, b = 5..8, c = 9..12.
const cluster = Array.from({ length: 12 }, (_, i) => broker(i + 1, 'abc'[Math.floor(i / 4)]!));

test('client zone: Fetch rackId first, else ferry_az in the client id', () => {
  assert.equal(clientZone('svc;ferry_az=use1-az1', 'use1-az2'), 'use1-az2');
  assert.equal(clientZone('svc;ferry_az=use1-az1'), 'use1-az1');
  assert.equal(clientZone('svc, client.rack=b'), 'b');
  assert.equal(clientZone('svc'), null);
  assert.equal(clientZone(null, ''), null);
  assert.deepEqual(liveZones([...cluster, broker(99, null)]), ['a', 'b', 'c']);
});

test('each leader outside a zone is paired with one broker of the zone, and the pairs are balanced', () => {
  // Leaders in b and c (8) over zone a's four brokers: two leaders each, whatever the partition.
  const served = new Map<number, Set<number>>();
  for (let leader = 5; leader <= 12; leader++) {
    for (let p = 0; p < 50; p++) {
      const zb = zoneBrokerFor(cluster, 'a', 'topic-1', p, leader)!;
      assert.equal(zb.rack, 'a');
      if (!served.has(zb.nodeId)) served.set(zb.nodeId, new Set());
      served.get(zb.nodeId)!.add(leader);
    }
  }
  assert.deepEqual([...served.keys()].sort((x, y) => x - y), [1, 2, 3, 4]);
  for (const leaders of served.values()) assert.equal(leaders.size, 2, 'each proxy reads-for and writes-to two leaders: two GETs per staging object');
  // The same answer wherever the membership is listed from (order does not matter).
  assert.equal(zoneBrokerFor([...cluster].reverse(), 'a', 't', 3, 7)!.nodeId, zoneBrokerFor(cluster, 'a', 't', 3, 7)!.nodeId);
});

test('a zone with more brokers than leaders outside spreads one leader\'s partitions over its share', () => {
  const small = [broker(1, 'a'), broker(2, 'a'), broker(3, 'a'), broker(4, 'a'), broker(5, 'b')];
  const used = new Set<number>();
  for (let p = 0; p < 64; p++) used.add(zoneBrokerFor(small, 'a', 't', p, 5)!.nodeId);
  assert.deepEqual([...used].sort(), [1, 2, 3, 4]);
});

test('no broker in the zone: null; unknown leader: still a broker of the zone', () => {
  assert.equal(zoneBrokerFor(cluster, 'z', 't', 0, 5), null);
  const any = zoneBrokerFor(cluster, 'b', 't', 0);
  assert.equal(any!.rack, 'b');
  // A dead zone broker moves only its pairs.
  const without2 = cluster.filter((b) => b.nodeId !== 2);
  for (let leader = 5; leader <= 12; leader++) assert.notEqual(zoneBrokerFor(without2, 'a', 't', 0, leader)!.nodeId, 2);
});
