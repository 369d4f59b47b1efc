/**
 * The S3 tier's numbers, measured in one run on this machine (not a test):
 *  - fetch MB/s from the log cache and from S3 (cold: broker restarted, empty caches), with
 *    `ferry perf consume`;
 *  - PUTs per minute and S3 bytes written per byte produced (write amplification, including
 *    compaction) while producing a steady rate (default 10 MB/s) for a while;
 *  - the disk's own limit (fdatasync p50, sequential MB/s) for the ratios.
 * S3 is Ceph's radosgw started here on loopback (Debian packages; see test/helpers/radosgw.ts).
 *
 *   node --conditions=ferry-source --import tsx bench/tier-bench.ts [--seconds 60] [--mbps 10]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startRadosgw } from '../test/helpers/radosgw.js';
import { BrokerProcess } from '../test/helpers/broker-process.js';
import { freePort } from '../test/helpers/ports.js';

const ROOT = new URL('..', import.meta.url).pathname;
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const seconds = arg('seconds', 60);
const mbps = arg('mbps', 10);
const recordSize = 1024;

function ferry(args: string[]): any {
  const r = spawnSync(process.execPath, ['--conditions=ferry-source', '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args, '--json', '--progress-interval-ms', '0'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`ferry ${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function scrape(url: string): Promise<(name: string, labels?: Record<string, string>) => number> {
  const text = await (await fetch(url)).text();
  return (name, labels = {}) => {
    let total = 0;
    for (const line of text.split('\n')) {
      const m = /^([a-z0-9_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      if (Object.entries(labels).some(([k, v]) => !(m[2] ?? '').includes(`${k}="${v}"`))) continue;
      total += Number(m[3]);
    }
    return total;
  };
}

const rgw = await startRadosgw();
const metricsPort = await freePort();
let broker: BrokerProcess | undefined;
try {
  await rgw.createBucket('bench');
  broker = new BrokerProcess({
    config: {
      'object.store': 's3', 's3.bucket': 'bench', 's3.endpoint': rgw.endpoint, 's3.region': rgw.region, 's3.force.path.style': 'true',
      's3.access.key.id': rgw.accessKeyId, 's3.secret.access.key': rgw.secretAccessKey,
      'metrics.listener': `127.0.0.1:${metricsPort}`, 'compaction.interval.ms': '10000', 'wal.capacity.bytes': String(1 << 30),
    },
  });
  await broker.start();
  const disk = ferry(['perf', 'disk', broker.dataDir]);
  const throughput = Math.round((mbps * 1_000_000) / recordSize);
  const produce = ferry(['perf', 'produce', '--bootstrap-server', broker.bootstrap, '--topic', 'bench', '--record-size', String(recordSize), '--throughput', String(throughput), '--duration-sec', String(seconds), '--acks', 'all', '--partitions', '4']);
  // Let the last upload and a compaction pass happen, then read the S3 counters.
  await new Promise((r) => setTimeout(r, 15_000));
  const m = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
  const produced = m('ferry_produced_bytes_total');
  const puts = m('ferry_s3_requests_total', { operation: 'put' });
  const putBytes = m('ferry_s3_bytes_total', { operation: 'put' });
  const records = produce.records ?? produce.count ?? 0;
  const hot = ferry(['perf', 'consume', '--bootstrap-server', broker.bootstrap, '--topic', 'bench', '--num-records', String(records), '--from', 'earliest']);
  await broker.stop();
  await broker.start();
  const cold = ferry(['perf', 'consume', '--bootstrap-server', broker.bootstrap, '--topic', 'bench', '--num-records', String(records), '--from', 'earliest']);
  const report = {
    disk, produce, produced_bytes: produced, s3_puts: puts, s3_put_bytes: putBytes,
    puts_per_minute: puts / (seconds / 60), write_amplification: putBytes / produced,
    fetch_from_cache: hot, fetch_from_s3_cold: cold,
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  await broker?.dispose();
  await rgw.stop();
}
