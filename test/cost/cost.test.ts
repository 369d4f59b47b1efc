import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { computeCosts } from '../../src/cost/model.js';
import { INPUT_SPECS, defaultInputs } from '../../src/cost/inputs.js';
import { BrokerMetrics } from '../../src/ops/metrics.js';
import { startOpsHttpServer } from '../../src/ops/http-server.js';
import { ferry } from '../cli/run-cli.js';

const DOC = readFileSync(new URL('../../docs/cost-model.md', import.meta.url), 'utf8');

describe('ferry cost', () => {
  test('reproduces the worked example of docs/cost-model.md exactly', async () => {
    const block = /```console\n\$ ferry (cost [^\n]*)\n([\s\S]*?)```/.exec(DOC);
    assert.ok(block, 'the doc has a console block with a ferry cost command');
    const argv = block[1]!.split(' ');
    const r = await ferry(...argv);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, block[2]);
  });

  test('the hand arithmetic of the worked example', () => {
    const r = computeCosts({ ...defaultInputs(), writeMBps: 100, compressionRatio: 4, readFanout: 3, retentionHours: 168, azCount: 3 });
    const [ferryS, kafka, tiered] = r.scenarios;
    assert.equal(r.compressedMBps, 25);
    assert.equal(r.retainedGB, 15_120);
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-6 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
    close(kafka!.crossAzGBMonth, 306_600, 'Kafka cross-AZ GB');
    close(kafka!.monthly.crossAz, 6_132, 'Kafka cross-AZ $');
    close(ferryS!.crossAzGBMonth, 175_200, 'Ferry cross-AZ GB');
    close(kafka!.blockStorageGB, 64_800, 'Kafka disks');
    close(kafka!.monthly.blockStorage, 5_184, 'Kafka disks $');
    close(ferryS!.blockStorageGB, 48, 'Ferry WAL volumes');
    close(ferryS!.monthly.s3Storage, 347.76, 'S3 storage $');
    close(tiered!.s3PutsMonth, (25e6 * 2_628_000 / 2 ** 30) * 4, 'tiered PUTs');
    close(ferryS!.s3PutsMonth, 1_576_800 + 25e6 * 2_628_000 / 2 ** 24, 'Ferry PUTs');
    assert.equal(ferryS!.brokers, 3);
    assert.equal(kafka!.brokers, 3);
    close(kafka!.monthly.instances, 3 * 0.192 * 730, 'instances $');
    assert.ok(ferryS!.monthly.total < tiered!.monthly.total && tiered!.monthly.total < kafka!.monthly.total);
  });

  test('every input is a flag, documented with its default in the doc table', () => {
    for (const s of INPUT_SPECS) {
      const row = new RegExp(`^\\| \`--${s.flag}\` \\| ${String(s.default).replace('.', '\\.')} \\|`, 'm');
      assert.match(DOC, row, `docs/cost-model.md documents --${s.flag} with default ${s.default}`);
    }
  });

  test('the model scales: more write, more brokers and cost; one AZ has no cross-AZ bill', () => {
    const big = computeCosts({ ...defaultInputs(), writeMBps: 2000 });
    assert.ok(big.scenarios.every((s) => s.brokers % 3 === 0 && s.brokers > 3));
    const oneAz = computeCosts({ ...defaultInputs(), azCount: 1 });
    assert.ok(oneAz.scenarios.every((s) => s.monthly.crossAz === 0));
    const ff = computeCosts({ ...defaultInputs(), kafkaFollowerFetching: true });
    assert.equal(ff.scenarios[1]!.crossAzMBps, 25 * (2 / 3) + 25 * 2);
  });

  test('bad inputs are usage errors naming the input', async () => {
    let r = await ferry('cost', '--az-count', '0');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /azCount/);
    r = await ferry('cost', '--write-mbps', 'lots');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--write-mbps expects a number/);
    r = await ferry('cost', '--kafka-local-retention-hours', '500');
    assert.equal(r.code, 2);
    r = await ferry('cost', '--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--cross-az-per-gb\s+0\.02/);
  });

  test('--from-metrics uses the measured write rate and fan-out', async () => {
    const m = new BrokerMetrics({ processMetrics: false });
    const srv = await startOpsHttpServer({ host: '127.0.0.1', port: 0, metrics: m, readiness: () => true });
    try {
      const run = ferry('cost', '--from-metrics', srv.url, '--sample-seconds', '1', '--compression-ratio', '2', '--json');
      // Between the two scrapes: 5 MB produced, 10 MB fetched (fan-out 2).
      await new Promise((r) => setTimeout(r, 300));
      m.producedBytes('t', 5_000_000, 1000);
      m.fetchedBytes('t', 10_000_000);
      const r = await run;
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.ok(doc.measured.seconds >= 0.99 && doc.measured.seconds < 2, `measured over ${doc.measured.seconds} s`);
      assert.ok(Math.abs(doc.measured.readFanout - 2) < 1e-9);
      assert.ok(Math.abs(doc.inputs.writeMBps - (5 / doc.measured.seconds) * 2) < 1e-9);
      assert.ok(doc.scenarios[0].monthly.total > 0);
    } finally {
      await srv.close();
    }
    // The text report rounds the measured rates (no 3.3333333333333335 MB/s).
    const m3 = new BrokerMetrics({ processMetrics: false });
    const srv3 = await startOpsHttpServer({ host: '127.0.0.1', port: 0, metrics: m3, readiness: () => true });
    try {
      const run = ferry('cost', '--from-metrics', srv3.url, '--sample-seconds', '0.3', '--compression-ratio', '3');
      await new Promise((r) => setTimeout(r, 100));
      m3.producedBytes('t', 1_000_001, 1000);
      m3.fetchedBytes('t', 3_333_337);
      const r = await run;
      assert.equal(r.code, 0, r.stderr);
      const workload = r.stdout.split('\n').find((l) => l.startsWith('Workload:'))!;
      const measuredLine = r.stdout.split('\n').find((l) => l.startsWith('Measured:'))!;
      assert.match(workload, /^Workload: [\d,]+(\.\d{1,2})? MB\/s written \([\d,]+(\.\d{1,2})? MB\/s compressed at 3x\), read 3\.33x,/);
      assert.match(measuredLine, /^Measured: [\d,]+(\.\d{1,2})? MB\/s compressed written, read fan-out 3\.33 over \d+\.\d s$/);
      assert.doesNotMatch(r.stdout, /\d\.\d{4,}/, 'no long floats anywhere');
    } finally {
      await srv3.close();
    }
    const idle = new BrokerMetrics({ processMetrics: false });
    const srv2 = await startOpsHttpServer({ host: '127.0.0.1', port: 0, metrics: idle, readiness: () => true });
    try {
      const r = await ferry('cost', '--from-metrics', srv2.url, '--sample-seconds', '0.2');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /no bytes produced/);
    } finally {
      await srv2.close();
    }
  });
});
