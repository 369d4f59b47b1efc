// Each shared formula of the cost model against numbers worked by hand (docs/cost-model.md).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  breakEvenLingerMs, brokersByNetwork, leadersPerStagingObject, remoteReadingZones, requestsPerSec, stagingBreakEvenBytes,
  stagingGetsPerSec, stagingObjectBytes, stagingObjectUsd, stagingPutsPerSec, uploadPutsPerSec,
} from '../../src/cost/traffic.js';
import { zoneBrokerFor } from '../../src/broker/zones.js';
import type { BrokerEndpoint } from '../../src/broker/context.js';
import { parseDurationHours, parseRateMBps } from '../../src/cost/units.js';

const MiB = 1024 * 1024;
const AWS = { crossAzPerGB: 0.02, s3PutPer1000: 0.005, s3GetPer1000: 0.0004 };
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

describe('cost formulas', () => {
  test('fleet size: by network, at least the minimum, the same in every AZ', () => {
    assert.equal(brokersByNetwork(2000, 100, 3, 3), 21); // 20 by network -> 7 per AZ
    assert.equal(brokersByNetwork(178.75, 100, 3, 3), 3); // 2 by network, at least 3
    assert.equal(brokersByNetwork(2455.09, 100, 3, 3), 27); // 25 -> 9 per AZ
    assert.equal(brokersByNetwork(300, 100, 3, 3), 3); // exactly 3, no float round-up
    assert.equal(brokersByNetwork(0, 100, 1, 1), 1);
  });

  test('AZs other than the leader\'s that read a partition: (A-1)(1-(1-1/A)^F)', () => {
    close(remoteReadingZones(3, 3), 2 * (1 - 8 / 27), 'A=3 F=3'); // 38/27 = 1.4074
    close(remoteReadingZones(3, 1), 2 / 3, 'one group: its reader is elsewhere 2/3 of the time');
    close(remoteReadingZones(2, 2), 1 * (1 - 1 / 4), 'A=2 F=2');
    assert.ok(Math.abs(remoteReadingZones(3, 200) - 2) < 1e-9, 'many groups: every other AZ, once');
    assert.equal(remoteReadingZones(1, 5), 0);
    assert.equal(remoteReadingZones(3, 0), 0);
  });

  test('upload PUTs: one per broker per interval, or per upload.max.bytes when more arrives', () => {
    close(uploadPutsPerSec(27, 250, 5, 64 * MiB), 27 * 0.2, 'interval-bound: 250e6/27 B/s x 5 s < 64 MiB');
    close(uploadPutsPerSec(18, 250, 5, 64 * MiB), 250e6 / (64 * MiB), 'size-bound: 13.9 MB/s x 5 s > 64 MiB -> 3.7253/s');
    assert.equal(uploadPutsPerSec(3, 0, 5, 64 * MiB), 0);
  });

  test('requests that move a rate in fixed-size pieces', () => {
    close(requestsPerSec(250, 16 * MiB), 14.901161193847656, 'compaction parts');
    close(requestsPerSec(250, 4 * MiB), 59.604644775390625, 'compaction GETs');
    close(requestsPerSec(250 * (38 / 27) * 0.95, 512 * 1024), 250e6 * (38 / 27) * 0.95 / 524_288, 'read-replica blocks: 637.55/s');
  });

  test('staging PUTs: one per linger window per broker, more when the buffer fills first', () => {
    close(stagingPutsPerSec(27, 250 * 2 / 3, 50, 8 * MiB), 540, '27 brokers x 20 windows/s');
    close(stagingPutsPerSec(27, 250 * 2 / 3, 10, 8 * MiB), 2700, '27 brokers x 100 windows/s');
    close(stagingPutsPerSec(6, 250 * 2 / 3, 50, 8 * MiB), 120, '6 brokers x 20 windows/s');
    // 3 brokers staging 3000 MB/s with a 1 MiB buffer: 1e9 B/s each / 1 MiB = 953.67 > 20 windows/s.
    close(stagingPutsPerSec(3, 3000, 50, MiB), 3 * (1e9 / MiB), 'buffer-bound');
    assert.equal(stagingPutsPerSec(27, 0, 50, 8 * MiB), 0);
  });

  test('bytes per staging object: a proxy\'s share over one window, at most the buffer', () => {
    // 166.67 MB/s over 27 proxies = 6.17 MB/s each, x 50 ms = 308,642 B.
    close(stagingObjectBytes(27, 250 * 2 / 3, 50, 8 * MiB), (250e6 * 2 / 3 / 27) * 0.05, '27 brokers, 50 ms');
    assert.equal(Math.round(stagingObjectBytes(27, 250 * 2 / 3, 50, 8 * MiB)), 308_642);
    assert.equal(Math.round(stagingObjectBytes(6, 250 * 2 / 3, 50, 8 * MiB)), 1_388_889);
    assert.equal(Math.round(stagingObjectBytes(30, 250 * 2 / 3, 50, 8 * MiB)), 277_778);
    // 1e9 B/s a proxy x 50 ms = 50 MB: capped at 8 MiB.
    assert.equal(stagingObjectBytes(3, 3000, 50, 8 * MiB), 8 * MiB);
    assert.equal(stagingObjectBytes(27, 0, 50, 8 * MiB), 0);
    // The same as staged bytes / staging PUTs.
    close(stagingObjectBytes(3, 3000, 50, MiB), 3000e6 / stagingPutsPerSec(3, 3000, 50, MiB), 'buffer-bound, consistent with the PUTs');
  });

  test('leaders per staging object: the pairing, L_out / B_zone, at least 1', () => {
    assert.equal(leadersPerStagingObject(27, 3), 2); // 18 leaders outside a zone / 9 zone brokers
    assert.equal(leadersPerStagingObject(6, 3), 2);
    assert.equal(leadersPerStagingObject(300, 3), 2, 'independent of the fleet size');
    assert.equal(leadersPerStagingObject(10, 5), 4);
    assert.equal(leadersPerStagingObject(2, 2), 1);
    assert.equal(leadersPerStagingObject(3, 1), 0, 'one AZ: nothing staged');
    assert.equal(stagingGetsPerSec(540, 2), 1080);
  });

  test('leaders per staging object is what zoneBrokerFor does', () => {
    for (const [perZone, zones] of [[9, 3], [2, 3], [1, 3], [3, 2], [2, 5]] as const) {
      const racks = Array.from({ length: zones }, (_, z) => `az-${z}`);
      const brokers: BrokerEndpoint[] = [];
      for (let n = 0; n < perZone * zones; n++) brokers.push({ nodeId: n + 1, host: 'h', port: 9092, rack: racks[n % zones]! });
      // Many partitions, leaders round-robin: each proxy's set of leaders (one GET per object each).
      const leadersOf = new Map<number, Set<number>>();
      for (let p = 0; p < 50 * brokers.length; p++) {
        const leader = brokers[p % brokers.length]!;
        for (const zone of racks) {
          if (zone === leader.rack) continue;
          const proxy = zoneBrokerFor(brokers, zone, 'topic-id', p, leader.nodeId)!;
          assert.equal(proxy.rack, zone);
          if (!leadersOf.has(proxy.nodeId)) leadersOf.set(proxy.nodeId, new Set());
          leadersOf.get(proxy.nodeId)!.add(leader.nodeId);
        }
      }
      assert.equal(leadersOf.size, brokers.length, `${perZone} x ${zones}: every broker is a proxy`);
      for (const [proxy, leaders] of leadersOf) {
        assert.equal(leaders.size, leadersPerStagingObject(brokers.length, zones), `${perZone} x ${zones}: leaders of proxy ${proxy}`);
      }
    }
  });

  test('what one staging object costs and the size from which it pays for itself', () => {
    // PUT $0.005/1000 + 2 x (GET $0.0004/1000 + 300 B x $0.02/GB) = 5e-6 + 2 x 4.06e-7 = 5.812e-6.
    close(stagingObjectUsd(2, 300, AWS), 5e-6 + 2 * (4e-7 + 6e-9), 'two leaders');
    close(stagingBreakEvenBytes(2, 300, AWS), (5.812e-6 / 0.02) * 1e9, 'bytes');
    assert.equal(Math.round(stagingBreakEvenBytes(2, 300, AWS)), 290_600);
    assert.equal(Math.round(stagingBreakEvenBytes(4, 300, AWS)), 331_200); // five AZs
    assert.equal(Math.round(stagingBreakEvenBytes(18, 300, AWS)), 615_400); // every leader of the other AZs, before pairing
  });

  test('break-even linger: brokers x object cost / removed transfer', () => {
    // 27 brokers, 166.67 MB/s removed: 1000 x 27 x 5.812e-6 / (0.16667 x 0.02) = 47.08 ms.
    const removed = 250 * 2 / 3;
    close(breakEvenLingerMs(27, 3, removed, 8 * MiB, 300, AWS)!, (1000 * 27 * 5.812e-6) / ((removed / 1000) * 0.02), '27 brokers');
    assert.equal(Math.ceil(breakEvenLingerMs(27, 3, removed, 8 * MiB, 300, AWS)!), 48);
    assert.equal(Math.ceil(breakEvenLingerMs(30, 3, removed, 8 * MiB, 300, AWS)!), 53); // 52.31
    assert.equal(Math.ceil(breakEvenLingerMs(6, 3, removed, 8 * MiB, 300, AWS)!), 11); // 10.46
    // At the break-even linger a proxy's objects are exactly the break-even size.
    close(stagingObjectBytes(27, removed, breakEvenLingerMs(27, 3, removed, 8 * MiB, 300, AWS)!, 8 * MiB), stagingBreakEvenBytes(2, 300, AWS), 'size at break-even');
    // Objects of at most 200 kB cost more than the 200 kB they keep in the AZ, whatever the linger.
    assert.equal(breakEvenLingerMs(27, 3, removed, 200_000, 300, AWS), null);
    assert.equal(Math.ceil(breakEvenLingerMs(27, 3, removed, 400_000, 300, AWS)!), 48);
    assert.equal(breakEvenLingerMs(27, 3, 0, 8 * MiB, 300, AWS), null);
  });

  test('rates and durations as written on the command line', () => {
    assert.equal(parseRateMBps('1GB/s'), 1000);
    assert.equal(parseRateMBps('250MB/s'), 250);
    assert.equal(parseRateMBps('250'), 250);
    close(parseRateMBps('1GiB/s'), 1073.741824, 'GiB');
    close(parseRateMBps('1.5 gb/s'), 1500, 'case and spaces');
    assert.throws(() => parseRateMBps('fast'), /expected a rate/);
    assert.throws(() => parseRateMBps('1GB'), /expected a rate/);
    assert.equal(parseDurationHours('7d'), 168);
    assert.equal(parseDurationHours('36h'), 36);
    assert.equal(parseDurationHours('90m'), 1.5);
    assert.equal(parseDurationHours('2w'), 336);
    assert.equal(parseDurationHours('24'), 24);
    assert.throws(() => parseDurationHours('a week'), /expected a duration/);
  });
});
