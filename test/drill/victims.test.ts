// Victim choice: explicit broker/rack, rotation over leaders of drill partitions, rotation over racks.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { affectedPartitions, pickBroker, pickRack, rotateAfter, VictimError } from '../../src/drill/victims.js';
import type { BrokerInfo, PartitionInfo } from '../../src/admin/admin-client.js';

const broker = (nodeId: number, rack: string | null): BrokerInfo => ({ nodeId, host: `b${nodeId}`, port: 9092, rack });
const part = (partition: number, leader: number): PartitionInfo => ({ partition, leader, leaderEpoch: 1, replicas: [leader], isr: [leader], errorCode: 0 });
const brokers = [broker(1, 'a'), broker(2, 'b'), broker(3, 'c'), broker(4, 'a')];

describe('drill victims', () => {
  test('rotateAfter wraps around and starts at the first', () => {
    assert.equal(rotateAfter([1, 2, 3], null), 1);
    assert.equal(rotateAfter([1, 2, 3], 1), 2);
    assert.equal(rotateAfter([1, 2, 3], 3), 1);
    assert.equal(rotateAfter([1, 3, 5], 4), 5, 'the last victim may have left the list');
    assert.throws(() => rotateAfter([], null), VictimError);
  });

  test('brokers rotate over those leading drill partitions', () => {
    const parts = [part(0, 2), part(1, 3), part(2, 2), part(3, 3)];
    const seq: number[] = [];
    let last: number | null = null;
    for (let i = 0; i < 5; i++) { last = pickBroker(brokers, parts, last).nodeId; seq.push(last); }
    assert.deepEqual(seq, [2, 3, 2, 3, 2], 'brokers 1 and 4 lead nothing');
    // Nothing led by anyone (e.g. leaders unknown): every broker is a candidate.
    assert.equal(pickBroker(brokers, [part(0, -1)], 4).nodeId, 1);
  });

  test('an explicit broker must be listed', () => {
    assert.equal(pickBroker(brokers, [], null, 4).nodeId, 4);
    assert.throws(() => pickBroker(brokers, [], null, 9), /broker 9 is not in the cluster metadata/);
    assert.throws(() => pickBroker([], [], null), VictimError);
  });

  test('racks rotate; every broker of the rack is a victim', () => {
    const first = pickRack(brokers, null);
    assert.equal(first.rack, 'a');
    assert.deepEqual(first.brokers.map((b) => b.nodeId), [1, 4]);
    assert.equal(pickRack(brokers, 'a').rack, 'b');
    assert.equal(pickRack(brokers, 'c').rack, 'a');
    assert.deepEqual(pickRack(brokers, null, 'c').brokers.map((b) => b.nodeId), [3]);
    assert.throws(() => pickRack(brokers, null, 'z'), /rack z has no broker/);
    assert.throws(() => pickRack([broker(1, null)], null), /no broker .* has a rack/);
  });

  test('affected partitions are those led by a victim', () => {
    assert.deepEqual(affectedPartitions([part(0, 1), part(1, 2), part(2, 4), part(3, 3)], [1, 4]), [0, 2]);
  });
});
