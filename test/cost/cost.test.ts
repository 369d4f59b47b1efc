import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { INPUT_SPECS } from '../../src/cost/inputs.js';
import { BrokerMetrics } from '../../src/ops/metrics.js';
import { startOpsHttpServer } from '../../src/ops/http-server.js';
import { ferry } from '../cli/run-cli.js';

const DOC = readFileSync(new URL('../../docs/cost-model.md', import.meta.url), 'utf8');

describe('ferry cost', () => {
  test('every ferry cost command of docs/cost-model.md prints exactly the block under it', async () => {
    const blocks = [...DOC.matchAll(/```console\n\$ ferry (cost [^\n]*)\n([\s\S]*?)```/g)];
    assert.ok(blocks.length >= 3, `the doc has the seed runs as console blocks (found ${blocks.length})`);
    for (const [, command, expected] of blocks) {
      const r = await ferry(...command!.split(' '));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, expected, `ferry ${command}`);
    }
  });

  test('every input is a flag, documented with its default in the doc table', () => {
    for (const s of INPUT_SPECS) {
      const row = new RegExp(`^\\| \`--${s.flag}\` \\| ${String(s.default).replace('.', '\\.')} \\|`, 'm');
      assert.match(DOC, row, `docs/cost-model.md documents --${s.flag} with default ${s.default}`);
    }
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
    r = await ferry('cost', '--in', 'fast');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--in: expected a rate such as 1GB\/s/);
    r = await ferry('cost', '--retention', 'forever');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--retention: expected a duration/);
    r = await ferry('cost', '--in', '1GB/s', '--write-mbps', '5');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--in or --write-mbps, not both/);
    r = await ferry('cost', '--remote-read-mode', 'sometimes');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--remote-read-mode must be one of tail, uploaded-only, leader/);
    r = await ferry('cost', '--modes', 'kafka,pulsar');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown mode pulsar/);
    r = await ferry('cost', '--workload', 'huge');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown workload huge \(workloads: seed\)/);
    r = await ferry('cost', '--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--cross-az-per-gb\s+0\.02/);
    assert.match(r.stdout, /--linger-ms\s+50 ms/);
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
      assert.match(workload, /^Workload: [\d,]+(\.\d{1,2})? MB\/s written, compressed 3x: [\d,]+(\.\d{1,2})? MB\/s on the wire and at rest; read 3\.33x;/);
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
