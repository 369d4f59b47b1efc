// `ferry cost` on issue #15's seed workload: the table's key numbers, the same workload spelled
// with flags, and the real entry point.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ferry, ferryProcess } from '../cli/run-cli.js';

/** The cells of a table row: `label  a  b  c` (columns are separated by two spaces or more). */
function rowOf(stdout: string, label: string): string[] {
  const line = stdout.split('\n').find((l) => l.startsWith(`${label}  `));
  assert.ok(line, `a row "${label}" in:\n${stdout}`);
  return line.slice(label.length).trim().split(/\s{2,}/);
}

describe('ferry cost --workload seed', () => {
  test('the side-by-side table: Kafka RF=3, block WAL, Ferry leader, Ferry zone-local (tail, uploaded-only)', async () => {
    const r = await ferry('cost', '--workload', 'seed');
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /^Workload: 1,000 MB\/s written, compressed 4x: 250 MB\/s on the wire and at rest; read 3x; retention 168 h \(151,200 GB stored once\); 3 AZs; fetch from follower on$/m);
    assert.match(out, /^Prices: AWS us-east-1 on-demand list prices, defaults set December 2026; a month is 730 h$/m);
    assert.deepEqual(rowOf(out, 'monthly'), ['Kafka RF=3', 'block WAL', 'Ferry leader', 'Ferry zone-local', 'Ferry zone-local']);
    assert.deepEqual(rowOf(out, 'consumer reads'), ['follower', 'rack-aware', 'tail', 'tail', 'uploaded-only']);
    assert.deepEqual(rowOf(out, 'brokers'), ['21', '18', '27', '30', '27']);
    assert.deepEqual(rowOf(out, 'cross-AZ transfer'), ['$35,040', '$8,760', '$26,329', '$17,588', '$17']);
    assert.deepEqual(rowOf(out, 'volumes'), ['$51,840', '$23', '$35', '$38', '$35']);
    assert.deepEqual(rowOf(out, 'S3 storage'), ['$0', '$3,478', '$3,478', '$3,478', '$3,478']);
    assert.deepEqual(rowOf(out, 'S3 PUTs'), ['$0', '$245', '$267', '$8,159', '$7,362']);
    assert.deepEqual(rowOf(out, 'S3 GETs'), ['$0', '$72', '$72', '$1,333', '$1,878']);
    assert.deepEqual(rowOf(out, 'total'), ['$89,823', '$15,100', '$33,964', '$34,801', '$16,553']);
    assert.deepEqual(rowOf(out, 'cross-AZ replication MB/s'), ['500', '0', '0', '0', '0']);
    assert.deepEqual(rowOf(out, 'cross-AZ replica tail MB/s'), ['0', '0', '334', '334', '0']);
    assert.deepEqual(rowOf(out, 'staging PUTs'), ['0', '0', '0', '600', '540']);
    assert.deepEqual(rowOf(out, 'staging GETs'), ['0', '0', '0', '1,200', '1,080']);
    assert.deepEqual(rowOf(out, 'read-replica GETs'), ['0', '0', '0', '0', '638']);
    assert.match(out, /Ferry zone-local \(tail\) vs leader-routed:\n {2}removes 167 MB\/s of cross-AZ produce: \$8,760\/month\n {2}adds 600 staging PUTs\/s, 1,200 GETs\/s, 0\.36 MB\/s of proxy requests across AZs: \$9,164\/month\n {2}total, instances included: \+\$837\/month\n {2}staging objects of 278 KB for 2 leaders, one pays for itself from 291 KB; break-even at 30 brokers: ferry\.proxy\.linger\.ms >= 53\n/);
    assert.match(out, /Ferry zone-local \(uploaded-only\) vs leader-routed:\n {2}removes 167 MB\/s of cross-AZ produce: \$8,760\/month\n {2}adds 540 staging PUTs\/s, 1,080 GETs\/s, 0\.324 MB\/s of proxy requests across AZs: \$8,248\/month\n {2}total, instances included: -\$80\/month\n {2}staging objects of 309 KB for 2 leaders, one pays for itself from 291 KB; break-even at 27 brokers: ferry\.proxy\.linger\.ms >= 48\n/);
  });

  test('the same workload spelled with flags gives the same numbers', async () => {
    const named = await ferry('cost', '--workload', 'seed', '--json');
    const flags = await ferry('cost', '--in', '1GB/s', '--out', '3GB/s', '--compression', '4', '--retention', '7d', '--fetch-from-follower',
      '--modes', 'kafka,block-wal,ferry-leader,ferry-zone-local,ferry-zone-local:uploaded-only', '--json');
    assert.equal(named.code, 0, named.stderr);
    assert.equal(flags.code, 0, flags.stderr);
    const a = JSON.parse(named.stdout);
    const b = JSON.parse(flags.stdout);
    assert.deepEqual(b.inputs, a.inputs);
    assert.deepEqual(b.scenarios.map((s: { monthly: unknown }) => s.monthly), a.scenarios.map((s: { monthly: unknown }) => s.monthly));
    assert.equal(a.inputs.fetchFromFollower, true);
    assert.equal(a.scenarios[0].crossAzGBMonth, 1_752_000);
    // Flags override the named workload.
    const tuned = JSON.parse((await ferry('cost', '--workload', 'seed', '--linger-ms', '100', '--brokers-per-zone', '2', '--json')).stdout);
    assert.equal(tuned.inputs.writeMBps, 1000);
    assert.equal(tuned.inputs.proxyLingerMs, 100);
    assert.ok(tuned.scenarios.every((s: { brokers: number }) => s.brokers === 6));
    assert.equal(tuned.scenarios[4].requests.stagingPuts, 60); // 6 brokers x 1000 / 100 ms
    assert.equal(tuned.scenarios[4].requests.stagingGets, 120); // x 2 paired leaders
    assert.equal(tuned.zoneLocal[1].leadersPerObject, 2);
  });

  test('through the real entry point (src/cli/main.ts)', async () => {
    const r = await ferryProcess(['cost', '--workload', 'seed', '--modes', 'kafka,block-wal']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(rowOf(r.stdout, 'cross-AZ transfer'), ['$35,040', '$8,760']);
  });
});
