// Text rendering of a cost result: a table of monthly dollars per line item and scenario.
import type { CostResult } from './model.js';
import { renderTable } from '../common/text-format.js';

const usd = (n: number) => `$${Math.round(n).toLocaleString('en-US')}`;
const num = (n: number) => Math.round(n).toLocaleString('en-US');
/** An input or rate as people write it: 12.35, 0.0123, 1,250 (measured rates are long floats). */
export function dec(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 100) return num(n);
  if (a >= 1 || a === 0) return n.toLocaleString('en-US', { maximumFractionDigits: 2 });
  return n.toLocaleString('en-US', { maximumSignificantDigits: 3 });
}

export function renderCost(r: CostResult, measured?: string): string {
  const i = r.inputs;
  let out = `Workload: ${dec(i.writeMBps)} MB/s written (${dec(r.compressedMBps)} MB/s compressed at ${dec(i.compressionRatio)}x), read ${dec(i.readFanout)}x, ` +
    `retention ${dec(i.retentionHours)} h (${num(r.retainedGB)} GB stored once), ${i.azCount} AZs\n`;
  if (measured) out += `Measured: ${measured}\n`;
  out += '\n';
  const s = r.scenarios;
  const row = (label: string, f: (x: (typeof s)[number]) => string) => [label, ...s.map(f)];
  out += renderTable(['monthly', ...s.map((x) => x.name)], [
    row('brokers', (x) => String(x.brokers)),
    row('instances', (x) => usd(x.monthly.instances)),
    row('cross-AZ transfer', (x) => usd(x.monthly.crossAz)),
    row('block storage', (x) => usd(x.monthly.blockStorage)),
    row('S3 storage', (x) => usd(x.monthly.s3Storage)),
    row('S3 requests', (x) => usd(x.monthly.s3Api)),
    row('total', (x) => usd(x.monthly.total)),
  ]);
  out += '\n';
  out += renderTable(['quantities', ...s.map((x) => x.name)], [
    row('cross-AZ GB/month', (x) => num(x.crossAzGBMonth)),
    row('block storage GB', (x) => num(x.blockStorageGB)),
    row('S3 GB stored', (x) => num(x.s3StoredGB)),
    row('S3 PUTs/month', (x) => num(x.s3PutsMonth)),
    row('S3 GETs/month', (x) => num(x.s3GetsMonth)),
    row('broker network MB/s', (x) => x.networkMBps.toFixed(1)),
  ]);
  const ferry = s[0]!;
  out += '\n' + s.slice(1).map((x) => `Ferry costs ${((ferry.monthly.total / x.monthly.total) * 100).toFixed(1)}% of ${x.name} (saves ${usd(x.monthly.total - ferry.monthly.total)}/month).`).join('\n') + '\n';
  return out;
}
