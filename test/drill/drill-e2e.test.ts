// `ferry drill` end to end against a real broker process (one broker, no etcd):
//  1. the CLI path: kill-broker x2 with shell templates (kill by pid file, restart by a start script);
//     the broker is the only one, so the drill restarts it before waiting for writability. Every
//     acknowledged message is read back, the JSON and SVG files are written, exit code 0.
//  2. the library path with an injected executor (BrokerProcess: SIGSTOP/SIGCONT, restart):
//     pause-broker passes; then one ledger entry is tampered with and the same read-back check
//     reports it lost, so the checker is not vacuous.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { requireTool } from '../helpers/require-tool.js';
import { runDrillCommand } from '../../src/cli/drill-command.js';
import { runDrill, type FaultExecutor, type DrillReport } from '../../src/drill/index.js';
import { DrillCluster } from '../../src/drill/cluster.js';
import { readBack } from '../../src/drill/read-back.js';
import { Verifier } from '../../src/drill/verify.js';
import { SendState } from '../../src/drill/ledger.js';

const ROOT = new URL('../..', import.meta.url).pathname;

function capture() {
  let out = '';
  let err = '';
  return { io: { out: (t: string) => { out += t; }, err: (t: string) => { err += t; } }, get out() { return out; }, get err() { return err; } };
}

describe('ferry drill against a real broker', { timeout: 240_000 }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => { for (const c of cleanups.reverse()) await c(); });

  test('kill-broker x2 through the CLI and shell templates: nothing acknowledged lost, reports written, exit 0', { timeout: 120_000 }, async () => {
    requireTool('sh');
    const work = mkdtempSync(join(tmpdir(), 'ferry-drill-e2e-'));
    const pidFile = join(work, 'broker.pid');
    const logFile = join(work, 'broker.log');
    const port = await freePort();
    const startScript = join(work, 'start-broker.sh');
    // A restart command as an operator would write one: start in the background, record the pid.
    writeFileSync(startScript, [
      '#!/bin/sh',
      `cd '${ROOT}'`,
      `'${process.execPath}' --conditions=ferry-source --import tsx src/cli/main.ts broker --node.id=1 --listeners=PLAINTEXT://127.0.0.1:${port} --data.dir='${join(work, 'data')}' --wal.capacity.bytes=268435456 >> '${logFile}' 2>&1 < /dev/null &`,
      `echo $! > '${pidFile}'`,
      '',
    ].join('\n'));
    chmodSync(startScript, 0o755);
    cleanups.push(() => {
      try { process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL'); } catch { /* already gone */ }
      rmSync(work, { recursive: true, force: true });
    });
    const readyCount = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('"msg":"broker ready"').length - 1 : 0);
    const { execFileSync } = await import('node:child_process');
    execFileSync('/bin/sh', [startScript]);
    await waitFor(() => readyCount() === 1, 30_000, () => `broker ready; log: ${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '(none)'}`);

    const jsonFile = join(work, 'report.json');
    const svgFile = join(work, 'report.svg');
    const c = capture();
    const code = await runDrillCommand([
      '--bootstrap', `127.0.0.1:${port}`, '--scenario', 'kill-broker', '--cycles', '2', '--partitions', '4', '--rate', '100',
      '--kill-cmd', `kill -{signal} $(cat '${pidFile}')`, '--restart-cmd', `'${startScript}' # broker {id} at {host}:{port}`,
      '--warmup-ms', '1500', '--settle-ms', '1000', '--json', jsonFile, '--svg', svgFile,
    ], c.io);
    const report = JSON.parse(readFileSync(jsonFile, 'utf8')) as DrillReport;
    assert.equal(code, 0, `exit code; stdout:\n${c.out}\nstderr:\n${c.err.slice(-3000)}`);
    assert.equal(report.passed, true);
    assert.equal(report.cycles.length, 2);
    assert.equal(report.totals.ackedLost, 0);
    assert.equal(report.totals.duplicates, 0);
    assert.ok(report.totals.acked > 100, `acknowledged messages: ${report.totals.acked}`);
    assert.ok(report.verify.recordsRead >= report.totals.acked, 'every acked record was read back');
    assert.equal(readyCount(), 3, 'the broker was restarted once per cycle');
    for (const cy of report.cycles) {
      assert.deepEqual(cy.victims.map((v) => v.nodeId), [1]);
      assert.equal(cy.restartedBeforeWritable, true, 'a single broker is restarted before waiting');
      assert.equal(cy.partitions.length, 4);
      for (const p of cy.partitions) {
        assert.equal(p.affected, true);
        assert.ok(p.writableMs !== null && p.writableMs > 0, `cycle ${cy.cycle} partition ${p.partition} writable again`);
      }
      assert.deepEqual(cy.commands.map((r) => [r.what, r.exitCode]), [['signal KILL broker 1', 0], ['restart broker 1', 0]]);
      assert.match(cy.commands[1]!.command, /# broker 1 at 127\.0\.0\.1:\d+$/);
      assert.equal(cy.failovers, null);
      assert.match(cy.failoverNote!, /no --etcd/);
      assert.ok(cy.backInMetadataMs !== null);
    }
    assert.match(c.out, /acked lost \(must be 0\)\s+0/);
    assert.match(c.out, /PASS\n$/);
    const svg = readFileSync(svgFile, 'utf8');
    assert.match(svg, /^<\?xml[^>]*\?>\n<svg [^>]*>[\s\S]*<\/svg>\n$/);
    assert.equal((svg.match(/stroke="#d62728" stroke-width="1.5"/g) ?? []).length, 2, 'a fault marker per cycle');
  });

  test('pause-broker with an injected executor passes; a tampered ledger entry is reported lost', { timeout: 120_000 }, async () => {
    const broker = new BrokerProcess({ config: { 'node.id': '1' } });
    cleanups.push(() => broker.dispose());
    await broker.start();
    const actions: string[] = [];
    const executor: FaultExecutor = {
      async signalBroker(b, signal) {
        actions.push(`${signal} ${b.nodeId}`);
        process.kill(broker.pid!, signal === 'STOP' ? 'SIGSTOP' : signal === 'CONT' ? 'SIGCONT' : 'SIGKILL');
      },
      async restartBroker(b) { actions.push(`restart ${b.nodeId}`); await broker.kill(); await broker.start(); },
      async killEtcdLeader() { throw new Error('not in this test'); },
      async restartEtcd() { throw new Error('not in this test'); },
    };
    const { report, ledger } = await runDrill({
      bootstrap: [broker.bootstrap], scenario: 'pause-broker', cycles: 1, topic: 'drill-pause', partitions: 3, ratePerSec: 90, messageBytes: 120,
      pauseMs: 1500, cycleTimeoutMs: 30_000, writableTimeoutMs: 30_000, failoverTimeoutMs: 10_000, warmupMs: 1000, settleMs: 500,
      restartBeforeWritable: false, requestTimeoutMs: 3000, sendRetries: 60, executor,
    });
    assert.deepEqual(actions, ['STOP 1', 'CONT 1'], 'the paused broker came back by itself after SIGCONT');
    assert.equal(report.passed, true, report.failures.join('; '));
    assert.equal(report.totals.ackedLost, 0);
    const cy = report.cycles[0]!;
    assert.deepEqual(cy.partitions.map((p) => p.affected), [true, true, true]);
    // Sends during the pause wait for SIGCONT: writable only after it.
    for (const p of cy.partitions) assert.ok(p.writableMs !== null && cy.recoveredAtMs !== null && cy.t0AtMs + p.writableMs >= cy.recoveredAtMs - 5, `partition ${p.partition} writable after the resume`);

    // The same read-back check, with one acknowledged entry changed: it must fail.
    let acked = -1;
    for (let i = 0; i < ledger.size && acked < 0; i++) if (ledger.state(i) === SendState.Acked) acked = i;
    assert.ok(acked >= 0);
    ledger.tamper(acked, { hash: (ledger.hash(acked) + 1) % 2 ** 48 });
    const cluster = new DrillCluster({ bootstrap: [broker.bootstrap], clientId: 'drill-test', requestTimeoutMs: 5000 });
    try {
      const v = new Verifier(ledger);
      await readBack(cluster, 'drill-pause', (p, o, val) => v.record(p, o, val));
      const r = v.finish();
      assert.equal(r.ackedLost, 1);
      assert.equal(r.lostSamples[0]!.partition, ledger.partition(acked));
      assert.equal(r.lostSamples[0]!.offset, ledger.offset(acked));
    } finally {
      cluster.close();
    }
  });
});
