// Text rendering of a cost result: monthly dollars per line item and mode, the traffic and
// request rates behind them, and what zone-local produce trades.
import { PRICES_AS_OF } from './inputs.js';
import type { CostResult, Scenario } from './model.js';
import type { RequestRates } from './modes.js';
import { renderTable } from '../common/text-format.js';

const usd = (n: number) => `$${Math.round(n).toLocaleString('en-US')}`;
const num = (n: number) => Math.round(n).toLocaleString('en-US');
const kb = (bytes: number) => `${num(bytes / 1000)} KB`;
/** An input or rate as people write it: 12.35, 0.012, 1,250 (measured rates are long floats). */
export function dec(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 100) return num(n);
  return n.toLocaleString('en-US', { maximumFractionDigits: a >= 1 || a === 0 ? 2 : 3 });
}

const REQUEST_ROWS: Array<[keyof RequestRates, string]> = [
  ['uploadPuts', 'upload PUTs'],
  ['compactionPuts', 'compaction PUTs'],
  ['tieredPuts', 'tiered segment PUTs'],
  ['stagingPuts', 'staging PUTs'],
  ['compactionGets', 'compaction GETs'],
  ['laggingGets', 'lagging-read GETs'],
  ['replicaGets', 'read-replica GETs'],
  ['stagingGets', 'staging GETs'],
];

export function renderCost(r: CostResult, measured?: string): string {
  const i = r.inputs;
  const compression = i.compressedOnWire
    ? `compressed ${dec(i.compressionRatio)}x: ${dec(r.compressedMBps)} MB/s on the wire and at rest`
    : `compressed ${dec(i.compressionRatio)}x at rest only: ${dec(r.wireMBps)} MB/s on the wire, ${dec(r.compressedMBps)} MB/s at rest`;
  let out = `Workload: ${dec(i.writeMBps)} MB/s written, ${compression}; read ${dec(i.readFanout)}x; ` +
    `retention ${dec(i.retentionHours)} h (${num(r.retainedGB)} GB stored once); ${i.azCount} AZs; fetch from follower ${i.fetchFromFollower ? 'on' : 'off'}\n`;
  out += `Prices: ${PRICES_AS_OF}; a month is ${dec(i.hoursPerMonth)} h\n`;
  if (measured) out += `Measured: ${measured}\n`;
  out += '\n';
  const s = r.scenarios;
  const row = (label: string, f: (x: Scenario) => string) => [label, ...s.map(f)];
  const headers = (title: string) => [title, ...s.map((x) => x.name)];
  out += renderTable(headers('monthly'), [
    row('consumer reads', (x) => x.reads),
    row('brokers', (x) => String(x.brokers)),
    row('instances', (x) => usd(x.monthly.instances)),
    row('cross-AZ transfer', (x) => usd(x.monthly.crossAz)),
    row('volumes', (x) => usd(x.monthly.blockStorage)),
    row('S3 storage', (x) => usd(x.monthly.s3Storage)),
    row('S3 PUTs', (x) => usd(x.monthly.s3Puts)),
    row('S3 GETs', (x) => usd(x.monthly.s3Gets)),
    row('total', (x) => usd(x.monthly.total)),
  ]);
  out += '\n';
  out += renderTable(headers('traffic'), [
    row('cross-AZ produce MB/s', (x) => dec(x.crossAz.produceMBps)),
    row('cross-AZ replication MB/s', (x) => dec(x.crossAz.replicationMBps)),
    row('cross-AZ consume MB/s', (x) => dec(x.crossAz.consumeMBps)),
    row('cross-AZ replica tail MB/s', (x) => dec(x.crossAz.replicaTailMBps)),
    row('cross-AZ proxy requests MB/s', (x) => dec(x.crossAz.proxyRequestMBps)),
    row('cross-AZ GB/month', (x) => num(x.crossAzGBMonth)),
    row('volume GB', (x) => num(x.blockStorageGB)),
    row('S3 GB stored', (x) => num(x.s3StoredGB)),
    row('broker network MB/s', (x) => dec(x.networkMBps)),
  ]);
  out += '\n';
  // Request causes no mode has are left out.
  const requestRows = REQUEST_ROWS.filter(([k]) => s.some((x) => x.requests[k] > 0)).map(([k, label]) => row(label, (x) => dec(x.requests[k])));
  out += renderTable(headers('S3 requests/s'), [
    ...requestRows,
    row('PUTs/s', (x) => dec(x.s3PutsPerSec)),
    row('GETs/s', (x) => dec(x.s3GetsPerSec)),
    row('PUTs/month', (x) => num(x.s3PutsMonth)),
    row('GETs/month', (x) => num(x.s3GetsMonth)),
  ]);
  for (const z of r.zoneLocal) {
    const x = s[z.scenario]!;
    const sign = z.netMonthly >= 0 ? '+' : '-';
    out += `\n${x.name} (${x.reads}) vs leader-routed:\n`;
    out += `  removes ${dec(z.removedCrossAzMBps)} MB/s of cross-AZ produce: ${usd(z.removedMonthly)}/month\n`;
    out += `  adds ${dec(z.addedPutsPerSec)} staging PUTs/s, ${dec(z.addedGetsPerSec)} GETs/s, ${dec(z.addedCrossAzMBps)} MB/s of proxy requests across AZs: ${usd(z.addedMonthly)}/month\n`;
    out += `  total, instances included: ${sign}${usd(Math.abs(z.netMonthly))}/month\n`;
    out += `  staging objects of ${kb(z.stagingObjectBytes)} for ${dec(z.leadersPerObject)} leader${z.leadersPerObject === 1 ? '' : 's'}, one pays for itself from ${kb(z.breakEvenObjectBytes)}; `;
    out += z.breakEvenLingerMs === null
      ? 'no linger breaks even at this fleet (the buffer bound alone costs more)\n'
      : `break-even at ${x.brokers} brokers: ferry.proxy.linger.ms >= ${Math.ceil(z.breakEvenLingerMs)}\n`;
  }
  const kafka = s.find((x) => x.mode === 'kafka');
  const others = s.filter((x) => x !== kafka);
  if (kafka && others.length > 0) {
    out += `\nPer month vs ${kafka.name} (${usd(kafka.monthly.total)}): ` +
      others.map((x) => `${x.name}${x.mode.startsWith('ferry-') ? ` (${x.reads})` : ''} ${((x.monthly.total / kafka.monthly.total) * 100).toFixed(1)}%`).join(', ') + '.\n';
  }
  return out;
}
