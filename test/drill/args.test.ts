// `ferry drill` argument errors exit 2 with the usage; good arguments parse to the documented defaults.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseDrillArgs, runDrillCommand, DRILL_USAGE } from '../../src/cli/drill-command.js';
import { runOpsCommand } from '../../src/cli/ops-commands.js';

function capture() {
  let out = '';
  let err = '';
  return { io: { out: (t: string) => { out += t; }, err: (t: string) => { err += t; } }, get out() { return out; }, get err() { return err; } };
}

const KILL = ['--kill-cmd', 'kill -{signal} $(cat /run/ferry-{id}.pid)'];

describe('ferry drill arguments', () => {
  const bad: Array<[string[], RegExp]> = [
    [[], /--bootstrap is required/],
    [['--bootstrap', 'h:1'], /--scenario is required/],
    [['--bootstrap', 'h:1', '--scenario', 'kill-everything', ...KILL], /--scenario expects one of kill-broker, kill-rack, pause-broker, etcd-leader-loss/],
    [['--bootstrap', 'nohostport', '--scenario', 'kill-broker', ...KILL], /--bootstrap expects HOST:PORT/],
    [['--bootstrap', 'h:1', '--scenario', 'kill-broker'], /kill-broker needs --kill-cmd/],
    [['--bootstrap', 'h:1', '--scenario', 'etcd-leader-loss', '--etcd-kill-cmd', 'x'], /needs --etcd-kill-cmd and --etcd-restart-cmd/],
    [['--bootstrap', 'h:1', '--scenario', 'kill-broker', '--kill-cmd', 'kill {pid}'], /--kill-cmd: unknown placeholder \{pid\}/],
    [['--bootstrap', 'h:1', '--scenario', 'kill-broker', ...KILL, '--restart-cmd', 'start {signal}'], /--restart-cmd: unknown placeholder \{signal\}/],
    [['--bootstrap', 'h:1', '--scenario', 'kill-broker', ...KILL, '--cycles', '0'], /--cycles expects an integer in 1\.\./],
    [['--bootstrap', 'h:1', '--scenario', 'kill-broker', ...KILL, '--rate', 'fast'], /--rate expects a number/],
    [['--bootstrap', 'h:1', '--scenario', 'kill-broker', ...KILL, '--etcd', 'http://e:2379'], /--etcd and --cluster go together/],
    [['--bootstrap', 'h:1', '--scenario', 'kill-broker', ...KILL, '--etcd', 'e/x', '--cluster', 'c'], /--etcd expects http:\/\/host:port/],
    [['--bootstrap', 'h:1', '--scenario', 'kill-rack', ...KILL, '--broker', '1'], /--broker applies to kill-broker and pause-broker/],
    [['--bootstrap', 'h:1', '--scenario', 'kill-broker', ...KILL, '--rack', 'a'], /--rack applies to kill-rack/],
    [['--bootstrap', 'h:1', '--scenario', 'kill-broker', ...KILL, '--message-bytes', '10'], /--message-bytes expects an integer in 64\.\./],
    [['--bootstrap', 'h:1', '--scenario', 'kill-broker', ...KILL, '--frobnicate'], /unknown option --frobnicate/],
    [['--bootstrap', 'h:1', '--scenario', 'kill-broker', ...KILL, 'extra'], /unexpected argument extra/],
  ];
  for (const [argv, re] of bad) {
    test(`exit 2: ${argv.slice(-2).join(' ') || '(no arguments)'}`, async () => {
      const c = capture();
      assert.equal(await runDrillCommand(argv, c.io), 2);
      assert.match(c.err, re);
      assert.ok(c.err.includes('usage: ferry drill'), 'the usage follows the error');
      assert.equal(c.out, '');
    });
  }

  test('--help prints the usage and exits 0; the ops dispatcher knows drill', async () => {
    const c = capture();
    assert.equal(await runOpsCommand('drill', ['--help'], c.io), 0);
    assert.equal(c.out, DRILL_USAGE);
  });

  test('an unreachable cluster exits 1 with the reason (not a usage error)', async () => {
    const { freePort } = await import('../helpers/ports.js');
    const port = await freePort();
    const c = capture();
    assert.equal(await runDrillCommand(['--bootstrap', `127.0.0.1:${port}`, '--scenario', 'kill-broker', ...KILL, '--quiet'], c.io), 1);
    assert.match(c.err, new RegExp(`ferry drill: .*127\\.0\\.0\\.1:${port}`));
    assert.ok(!c.err.includes('usage:'));
  });

  test('defaults and conversions', () => {
    const inv = parseDrillArgs(['-b', 'a:1,b:2', '--scenario', 'kill-rack', ...KILL, '--etcd', '127.0.0.1:2379,http://e2:2379', '--cluster', 'prod', '--json', 'r.json']);
    assert.notEqual(inv, 'help');
    if (inv === 'help') return;
    assert.deepEqual(inv.options.bootstrap, ['a:1', 'b:2']);
    assert.deepEqual(inv.options.etcd, { endpoints: ['http://127.0.0.1:2379', 'http://e2:2379'], cluster: 'prod' });
    assert.equal(inv.options.topic, 'ferry-drill');
    assert.equal(inv.options.partitions, 12);
    assert.equal(inv.options.ratePerSec, 200);
    assert.equal(inv.options.cycles, 1);
    assert.equal(inv.options.writableTimeoutMs, 30_000);
    assert.equal(inv.options.cycleTimeoutMs, 60_000);
    assert.equal(inv.options.restartBeforeWritable, false);
    assert.equal(inv.jsonFile, 'r.json');
    assert.equal(inv.svgFile, undefined);
    assert.equal(inv.templates.killCmd, KILL[1]);
  });
});
