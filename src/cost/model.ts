/**
 * The monthly cost model: the deployment modes of modes.ts priced side by side. Pure
 * arithmetic over CostInputs; docs/cost-model.md explains each formula and works the examples
 * that test/cost/*.test.ts reproduce.
 *
 * Conventions: 1 MB = 10^6 bytes, 1 GB = 10^9 bytes, a month is `hoursPerMonth` hours (730 by
 * default, AWS's convention). Network bytes are the client batches as sent (compressed unless
 * compressedOnWire is false); disks and objects hold compressed batches.
 */
import { REMOTE_READ_MODES, type CostInputs } from './inputs.js';
import { DEFAULT_MODES, parseModes, trafficOf, workloadOf, type ModeSpec, type Traffic } from './modes.js';
import { breakEvenLingerMs, leadersPerStagingObject, stagingBreakEvenBytes, stagingObjectBytes } from './traffic.js';

/** AWS's hours in a month, the default of hoursPerMonth. */
export const HOURS_PER_MONTH = 730;

export interface CostBreakdown {
  instances: number;
  crossAz: number;
  blockStorage: number;
  s3Storage: number;
  s3Puts: number;
  s3Gets: number;
  /** s3Puts + s3Gets. */
  s3Api: number;
  total: number;
}

export interface Scenario extends Traffic {
  crossAzMBps: number;
  crossAzGBMonth: number;
  s3PutsPerSec: number;
  s3GetsPerSec: number;
  s3PutsMonth: number;
  s3GetsMonth: number;
  monthly: CostBreakdown;
}

/** What zone-local produce changes against leader routing with the same reads. */
export interface ZoneLocalTrade {
  /** Index in CostResult.scenarios of the zone-local scenario. */
  scenario: number;
  leaderRouted: Scenario;
  removedCrossAzMBps: number;
  removedMonthly: number;
  addedPutsPerSec: number;
  addedGetsPerSec: number;
  /** FerryProxyProduce bytes crossing AZs. */
  addedCrossAzMBps: number;
  /** The added requests and cross-AZ bytes, per month. */
  addedMonthly: number;
  /** zone-local total minus leader-routed total (instances included). */
  netMonthly: number;
  /** ferry.proxy.linger.ms where the added requests cost what the removed transfer cost, at this fleet (null: none does). */
  breakEvenLingerMs: number | null;
  /** Leaders each staging object serves (one GET and one FerryProxyProduce each): the pairing's L_out / B_zone. */
  leadersPerObject: number;
  /** Bytes a proxy stages per window at this linger (at most ferry.proxy.buffer.bytes), and the size from which an object pays for itself. */
  stagingObjectBytes: number;
  breakEvenObjectBytes: number;
}

export interface CostResult {
  inputs: CostInputs;
  /** Stored (compressed) MB/s. */
  compressedMBps: number;
  /** MB/s on the network. */
  wireMBps: number;
  retainedGB: number;
  scenarios: Scenario[];
  zoneLocal: ZoneLocalTrade[];
}

function price(t: Traffic, i: CostInputs): Scenario {
  const seconds = i.hoursPerMonth * 3600;
  const c = t.crossAz;
  const crossAzMBps = c.produceMBps + c.replicationMBps + c.consumeMBps + c.replicaTailMBps + c.proxyRequestMBps;
  const crossAzGBMonth = (crossAzMBps * seconds) / 1000;
  const r = t.requests;
  const s3PutsPerSec = r.uploadPuts + r.compactionPuts + r.tieredPuts + r.stagingPuts;
  const s3GetsPerSec = r.compactionGets + r.laggingGets + r.replicaGets + r.stagingGets;
  const s3PutsMonth = s3PutsPerSec * seconds;
  const s3GetsMonth = s3GetsPerSec * seconds;
  const instances = t.brokers * i.instanceHourly * i.hoursPerMonth;
  const crossAz = crossAzGBMonth * i.crossAzPerGB;
  const blockStorage = t.blockStorageGB * i.ebsPerGBMonth;
  const s3Storage = t.s3StoredGB * i.s3PerGBMonth;
  const s3Puts = (s3PutsMonth / 1000) * i.s3PutPer1000;
  const s3Gets = (s3GetsMonth / 1000) * i.s3GetPer1000;
  return {
    ...t, crossAzMBps, crossAzGBMonth, s3PutsPerSec, s3GetsPerSec, s3PutsMonth, s3GetsMonth,
    monthly: { instances, crossAz, blockStorage, s3Storage, s3Puts, s3Gets, s3Api: s3Puts + s3Gets, total: instances + crossAz + blockStorage + s3Storage + s3Puts + s3Gets },
  };
}

export function validateInputs(i: CostInputs): void {
  const positive: Array<keyof CostInputs> = [
    'writeMBps', 'compressionRatio', 'brokerMBps', 'diskFillMax', 'kafkaSegmentBytes', 'uploadIntervalSec', 'uploadMaxBytes', 's3PartBytes', 's3GetBytes',
    'hoursPerMonth', 'proxyLingerMs', 'proxyBufferBytes', 'blockBytes',
  ];
  for (const k of positive) if (!((i[k] as number) > 0)) throw new RangeError(`${k} must be > 0, got ${i[k]}`);
  for (const [k, v] of Object.entries(i)) if (typeof v === 'number' && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`${k} must be a non-negative number, got ${v}`);
  if (!Number.isInteger(i.azCount) || i.azCount < 1) throw new RangeError(`azCount must be an integer >= 1, got ${i.azCount}`);
  if (!Number.isInteger(i.replicationFactor) || i.replicationFactor < 1) throw new RangeError(`replicationFactor must be an integer >= 1, got ${i.replicationFactor}`);
  if (!Number.isInteger(i.brokersPerZone)) throw new RangeError(`brokersPerZone must be an integer >= 0, got ${i.brokersPerZone}`);
  if (i.laggingReadFraction > 1 || i.diskFillMax > 1) throw new RangeError('laggingReadFraction and diskFillMax must be <= 1');
  if (i.kafkaLocalRetentionHours > i.retentionHours) throw new RangeError('kafkaLocalRetentionHours must be <= retentionHours');
  if (!REMOTE_READ_MODES.includes(i.remoteReadMode)) throw new RangeError(`remoteReadMode must be one of ${REMOTE_READ_MODES.join(', ')}, got ${i.remoteReadMode}`);
}

export function computeCosts(inputs: CostInputs, modes: ModeSpec[] = parseModes(DEFAULT_MODES)): CostResult {
  validateInputs(inputs);
  const wl = workloadOf(inputs);
  const scenarios = modes.map((m) => price(trafficOf(m, inputs, wl), inputs));
  const zoneLocal: ZoneLocalTrade[] = [];
  scenarios.forEach((z, index) => {
    if (z.mode !== 'ferry-zone-local') return;
    const readMode = modes[index]!.readMode;
    const leader = price(trafficOf({ id: 'ferry-leader', ...(readMode ? { readMode } : {}) }, inputs, wl), inputs);
    const removedCrossAzMBps = leader.crossAz.produceMBps - z.crossAz.produceMBps;
    const addedPutsPerSec = z.requests.stagingPuts;
    const addedGetsPerSec = z.requests.stagingGets;
    const addedCrossAzMBps = z.crossAz.proxyRequestMBps;
    const seconds = inputs.hoursPerMonth * 3600;
    const leadersPerObject = leadersPerStagingObject(z.brokers, inputs.azCount);
    zoneLocal.push({
      scenario: index,
      leaderRouted: leader,
      removedCrossAzMBps,
      removedMonthly: ((removedCrossAzMBps * seconds) / 1000) * inputs.crossAzPerGB,
      addedPutsPerSec,
      addedGetsPerSec,
      addedCrossAzMBps,
      addedMonthly: ((addedPutsPerSec * seconds) / 1000) * inputs.s3PutPer1000 + ((addedGetsPerSec * seconds) / 1000) * inputs.s3GetPer1000
        + ((addedCrossAzMBps * seconds) / 1000) * inputs.crossAzPerGB,
      netMonthly: z.monthly.total - leader.monthly.total,
      breakEvenLingerMs: breakEvenLingerMs(z.brokers, inputs.azCount, removedCrossAzMBps, inputs.proxyBufferBytes, inputs.proxyRequestBytes, inputs),
      leadersPerObject,
      stagingObjectBytes: stagingObjectBytes(z.brokers, removedCrossAzMBps, inputs.proxyLingerMs, inputs.proxyBufferBytes),
      breakEvenObjectBytes: stagingBreakEvenBytes(leadersPerObject, inputs.proxyRequestBytes, inputs),
    });
  });
  return { inputs, compressedMBps: wl.stored, wireMBps: wl.wire, retainedGB: wl.retainedGB, scenarios, zoneLocal };
}
