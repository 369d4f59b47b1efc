// Fault command templates: placeholders are shell-quoted (no injection), unknown ones refused, and
// the shell executor runs what it expanded, reports failures and kills commands that hang.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { checkTemplate, expandTemplate, shellQuote, TemplateError } from '../../src/drill/template.js';
import { FaultCommandError, ShellFaultExecutor, runShell, type CommandRun } from '../../src/drill/commands.js';
import { UsageError } from '../../src/admin/errors.js';

const clock = () => performance.timeOrigin + performance.now();

describe('drill templates', () => {
  test('placeholders expand; safe values stay bare', () => {
    assert.equal(expandTemplate('kill -{signal} $(cat /run/b{id}.pid)', { signal: 'KILL', id: 3 }), 'kill -KILL $(cat /run/b3.pid)');
    assert.equal(expandTemplate('ssh {host} -p {port} restart --rack={rack}', { host: 'b1.example.com', port: 22, rack: 'eu-west-1a' }), 'ssh b1.example.com -p 22 restart --rack=eu-west-1a');
  });

  test('unsafe values are single-quoted so the shell sees exactly one word with the same bytes', () => {
    const evil = `a b'; touch /tmp/pwned-$$; echo '`;
    const cmd = expandTemplate('printf %s {rack}', { rack: evil });
    assert.equal(cmd, `printf %s ${shellQuote(evil)}`);
    const res = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
    assert.equal(res.status, 0);
    assert.equal(res.stdout, evil, 'the value arrives unchanged, nothing executed');
    assert.equal(shellQuote(''), `''`);
    assert.equal(expandTemplate('echo [{rack}]', { rack: null }), `echo ['']`);
  });

  test('unknown placeholders and empty templates are usage errors', () => {
    assert.throws(() => checkTemplate('kill {pid}', '--kill-cmd'), (e: Error) => e instanceof TemplateError && e instanceof UsageError && /\{pid\}/.test(e.message));
    assert.throws(() => checkTemplate('  ', '--kill-cmd'), TemplateError);
    assert.throws(() => checkTemplate('restart {signal}', '--restart-cmd', ['id', 'host']), /unknown placeholder \{signal\}/);
    assert.deepEqual(checkTemplate('x {id} {id} {host}', '--kill-cmd').sort(), ['host', 'id']);
    // Shell syntax that is not a placeholder is left alone.
    assert.equal(expandTemplate('echo ${HOME:-x} {id}', { id: 1 }), 'echo ${HOME:-x} 1');
  });
});

describe('shell fault executor', () => {
  test('runs the expanded templates with /bin/sh and records every run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drill-tpl-'));
    try {
      const file = join(dir, 'log');
      const runs: CommandRun[] = [];
      const ex = new ShellFaultExecutor({
        templates: { killCmd: `echo kill {id} {signal} {host}:{port} {rack} >> ${file}`, restartCmd: `echo restart {id} >> ${file}`, etcdKillCmd: `echo etcd-kill >> ${file}`, etcdRestartCmd: `echo etcd-restart >> ${file}` },
        commandTimeoutMs: 10_000, clock, onRun: (r) => runs.push(r),
      });
      const b = { nodeId: 2, host: '127.0.0.1', port: 9093, rack: 'rack b' };
      await ex.signalBroker(b, 'STOP');
      await ex.signalBroker(b, 'CONT');
      await ex.restartBroker(b);
      await ex.killEtcdLeader();
      await ex.restartEtcd();
      assert.equal(readFileSync(file, 'utf8'), 'kill 2 STOP 127.0.0.1:9093 rack b\nkill 2 CONT 127.0.0.1:9093 rack b\nrestart 2\netcd-kill\netcd-restart\n');
      assert.deepEqual(runs.map((r) => [r.what, r.exitCode]), [['signal STOP broker 2', 0], ['signal CONT broker 2', 0], ['restart broker 2', 0], ['kill etcd leader', 0], ['restart etcd', 0]]);
      assert.ok(runs.every((r) => r.endMs >= r.startMs));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a failing command rejects with its exit code and output', async () => {
    const ex = new ShellFaultExecutor({ templates: { killCmd: 'echo nope {id} >&2; exit 3' }, commandTimeoutMs: 10_000, clock });
    await assert.rejects(ex.signalBroker({ nodeId: 7, host: 'h', port: 1, rack: null }, 'KILL'), (e: Error) => e instanceof FaultCommandError && e.run.exitCode === 3 && /nope 7/.test(e.message));
  });

  test('a hanging command is killed at the timeout and counts as failed', async () => {
    const run = await runShell('hang', 'sleep 30', { timeoutMs: 300, clock });
    assert.equal(run.exitCode, null);
    assert.ok(run.endMs - run.startMs < 10_000);
  });

  test('without --restart-cmd a restart is left to a supervisor (no command run)', async () => {
    const runs: CommandRun[] = [];
    const ex = new ShellFaultExecutor({ templates: { killCmd: 'true' }, commandTimeoutMs: 1000, clock, onRun: (r) => runs.push(r) });
    await ex.restartBroker({ nodeId: 1, host: 'h', port: 1, rack: null });
    assert.equal(runs.length, 0);
    await assert.rejects(ex.killEtcdLeader(), /--etcd-kill-cmd is needed/);
  });
});
