/**
 * The formulas the deployment modes share: how many zones read a partition remotely, how many
 * objects the uploader, the compactor and the zone-local proxy write, how many GETs follow, and
 * where zone-local produce breaks even. Pure arithmetic; docs/cost-model.md states each one with
 * its assumptions and test/cost/traffic.test.ts checks each against numbers worked by hand.
 *
 * Units: rates in MB/s (10^6 bytes), sizes in bytes, request rates per second, prices per 1,000.
 */

/** Fleets are sized by network, at least `minimum` brokers, rounded up to the same count in every AZ. */
export function brokersByNetwork(networkMBps: number, brokerMBps: number, minimum: number, azCount: number): number {
  const byNetwork = Math.ceil(networkMBps / brokerMBps - 1e-9);
  const n = Math.max(minimum, byNetwork, 1);
  return Math.ceil(n / azCount) * azCount;
}

/**
 * Expected number of AZs other than a partition's leader's in which at least one of `fanout`
 * consumer groups reads the partition: (A-1) * (1 - (1 - 1/A)^F). Each group's reader of the
 * partition sits in a uniformly random AZ (members spread evenly, assignment not rack-aware).
 * A read replica fetches a partition's bytes once per such AZ (its block cache, or the tail it
 * keeps, serves the other groups of that AZ).
 */
export function remoteReadingZones(azCount: number, fanout: number): number {
  if (azCount <= 1 || fanout <= 0) return 0;
  return (azCount - 1) * (1 - Math.pow(1 - 1 / azCount, fanout));
}

/**
 * Stream-set object PUTs per second: each broker uploads every `intervalSec`, or every
 * `maxBytes` when it receives more than that per interval.
 */
export function uploadPutsPerSec(brokers: number, storedMBps: number, intervalSec: number, maxBytes: number): number {
  if (storedMBps <= 0) return 0;
  const perBrokerBytes = (storedMBps * 1e6) / brokers;
  return brokers * Math.max(1 / intervalSec, perBrokerBytes / maxBytes);
}

/** Requests of `bytesPerRequest` that move `mbps`: compaction parts, ranged GETs, object blocks. */
export function requestsPerSec(mbps: number, bytesPerRequest: number): number {
  return (mbps * 1e6) / bytesPerRequest;
}

/**
 * Staging-object PUTs per second of the zone-local proxies: every broker is some partitions'
 * proxy for its AZ and PUTs one object per linger window (it always has data at these rates),
 * or more often when its share of the staged bytes fills ferry.proxy.buffer.bytes sooner.
 */
export function stagingPutsPerSec(brokers: number, stagedMBps: number, lingerMs: number, bufferBytes: number): number {
  if (stagedMBps <= 0) return 0;
  const perBrokerBytes = (stagedMBps * 1e6) / brokers;
  return brokers * Math.max(1000 / lingerMs, perBrokerBytes / bufferBytes);
}

/**
 * Bytes in one staging object: a proxy's share of the staged rate over one linger window, or
 * ferry.proxy.buffer.bytes when that fills first (the proxy then PUTs early).
 */
export function stagingObjectBytes(brokers: number, stagedMBps: number, lingerMs: number, bufferBytes: number): number {
  if (stagedMBps <= 0) return 0;
  return Math.min(((stagedMBps * 1e6) / brokers) * (lingerMs / 1000), bufferBytes);
}

/**
 * Leaders one staging object holds batches for. Each leader outside a zone is paired with one
 * broker of the zone (src/broker/zones.ts zoneBrokerFor: leader i with zone broker i mod B_zone)
 * and a proxy stages only for the leaders paired with it: L_out / B_zone of them, with L_out =
 * brokers x (A-1)/A outside the zone and B_zone = brokers / A in it. That is A-1 (2 for three
 * AZs) whatever the fleet size. At least 1: when a zone has more brokers than there are leaders
 * outside it, one leader's partitions are spread over its share of the zone's brokers. (Every
 * window carries data for each paired leader once its partitions with traffic outnumber its
 * share of the zone's brokers.)
 */
export function leadersPerStagingObject(brokers: number, azCount: number): number {
  const outside = (brokers * (azCount - 1)) / azCount;
  if (outside <= 0) return 0;
  return Math.max(1, outside / (brokers / azCount));
}

/** Each leader GETs its own range of each staging object: one GET per (object, leader). */
export function stagingGetsPerSec(stagingPuts: number, leadersPerObject: number): number {
  return stagingPuts * leadersPerObject;
}

export interface BreakEvenPrices { crossAzPerGB: number; s3PutPer1000: number; s3GetPer1000: number }

/**
 * Dollars one staging object costs: its PUT, one GET per leader, and one FerryProxyProduce round
 * trip per leader (leaders sit in other AZs, so those bytes cross).
 */
export function stagingObjectUsd(leadersPerObject: number, requestBytes: number, p: BreakEvenPrices): number {
  return p.s3PutPer1000 / 1000 + leadersPerObject * (p.s3GetPer1000 / 1000 + (requestBytes / 1e9) * p.crossAzPerGB);
}

/**
 * The size from which a staging object pays for itself: its bytes no longer cross an AZ
 * (bytes * crossAzPerGB / 10^9) and it costs stagingObjectUsd. Independent of the linger, the
 * rate and (with pairing) the fleet size; a proxy flushing smaller objects loses money on every one.
 */
export function stagingBreakEvenBytes(leadersPerObject: number, requestBytes: number, p: BreakEvenPrices): number {
  return (stagingObjectUsd(leadersPerObject, requestBytes, p) * 1e9) / p.crossAzPerGB;
}

/**
 * The ferry.proxy.linger.ms at which what zone-local produce adds (per broker and window: one
 * staging object, see stagingObjectUsd) costs what the cross-AZ produce bytes it removes cost:
 * L = 1000 * brokers * objectUsd / (removed GB/s * crossAzPerGB), in ms: the linger at which each
 * proxy's objects (its share of the removed bytes over one window) reach stagingBreakEvenBytes,
 * so it grows with the fleet (more proxies, each with a smaller share). Null when the buffer
 * bound alone (objects of ferry.proxy.buffer.bytes) already costs more. Counts requests and
 * transfer only, not the proxies' extra network.
 */
export function breakEvenLingerMs(brokers: number, azCount: number, removedMBps: number, bufferBytes: number, requestBytes: number, p: BreakEvenPrices): number | null {
  if (removedMBps <= 0) return null;
  const objectUsd = stagingObjectUsd(leadersPerStagingObject(brokers, azCount), requestBytes, p);
  const savedPerSec = (removedMBps / 1000) * p.crossAzPerGB;
  const bufferBoundObjects = (removedMBps * 1e6) / bufferBytes;
  if (bufferBoundObjects * objectUsd >= savedPerSec) return null;
  return (1000 * brokers * objectUsd) / savedPerSec;
}
