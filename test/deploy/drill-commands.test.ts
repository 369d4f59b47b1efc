// The `ferry drill` command lines the deployment hands out are real ones: the Terraform
// drill_command outputs (evaluated with sample values), the compose file's drill comment and every
// `ferry drill` line in the deployment docs parse with the drill's own parseDrillArgs, use only the
// placeholders it knows, and their kill/restart templates, expanded for a victim, are valid
// /bin/sh that calls the cloud CLIs with the intended arguments (run against fake aws/az/ssh/docker
// executables that record their arguments).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDrillArgs, type DrillInvocation } from '../../src/cli/drill-command.js';
import { expandTemplate } from '../../src/drill/template.js';
import { requireNodeModule } from '../helpers/require-tool.js';
import { shellWords } from './shell-words.js';
import { evalOutput, type EvalScope } from './terraform-eval.js';
import { loadModule, repoRoot } from './terraform-model.js';

const read = (p: string) => readFileSync(join(repoRoot, p), 'utf8');
const YAML = () => requireNodeModule<typeof import('yaml')>('yaml');

/** `ferry drill ...` as the user would paste it: parsed by the drill's own argument parser. */
function parseCommandLine(line: string): DrillInvocation {
  const words = shellWords(line);
  assert.deepEqual(words.slice(0, 2), ['ferry', 'drill'], line);
  const inv = parseDrillArgs(words.slice(2));
  assert.notEqual(inv, 'help');
  return inv as DrillInvocation;
}

/** Runs a shell command with fake CLIs first on PATH; returns what each was called with. */
function runWithFakes(command: string): { status: number | null; stderr: string; calls: string[][] } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-drill-fakes-'));
  try {
    const log = join(dir, 'calls.log');
    const record = `printf '%s\\n' "$(basename "$0")" "$@" >> '${log}'; printf '%s\\n' '--end--' >> '${log}'`;
    // aws describe-instances answers an instance id only for the exact query and filters the
    // drill_command uses (so a quoting slip that mangles them shows up as an empty lookup).
    writeFileSync(join(dir, 'aws'), `#!/bin/sh
${record}
case " $* " in *" describe-instances "*)
  ok=1
  case " $* " in *" --query Reservations[].Instances[].InstanceId "*) ;; *) ok=0 ;; esac
  case " $* " in *" Name=tag:ferry:broker-id,Values=2 "*) ;; *) ok=0 ;; esac
  case " $* " in *" Name=tag:ferry:cluster,Values=prod "*) ;; *) ok=0 ;; esac
  case " $* " in *" Name=tag:ferry:role,Values=broker "*) ;; *) ok=0 ;; esac
  if [ $ok = 1 ]; then echo i-0123456789abcdef0; fi ;;
esac
exit 0
`);
    for (const name of ['az', 'ssh', 'docker']) writeFileSync(join(dir, name), `#!/bin/sh\n${record}\nexit 0\n`);
    for (const name of ['aws', 'az', 'ssh', 'docker']) chmodSync(join(dir, name), 0o755);
    const res = spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    let text = '';
    try { text = readFileSync(log, 'utf8'); } catch { /* nothing called */ }
    const calls = text.split('--end--\n').filter((c) => c !== '').map((c) => c.replace(/\n$/, '').split('\n'));
    return { status: res.status, stderr: res.stderr, calls };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A victim as the drill would fill the placeholders in from Metadata. */
const VICTIM = { id: 2, host: '10.42.16.11', port: 9092, rack: 'us-east-1b' };
const expand = (template: string, signal?: string) => expandTemplate(template, { ...VICTIM, signal: signal ?? null });

function shellSyntaxOk(command: string): void {
  const res = spawnSync('/bin/sh', ['-n', '-c', command], { encoding: 'utf8' });
  assert.equal(res.status, 0, `sh -n: ${res.stderr} in ${command}`);
}

// Sample values a `terraform apply` of the examples would produce.
const AWS_BOOTSTRAP = ['10.42.0.11', '10.42.16.11', '10.42.32.11', '10.42.0.12', '10.42.16.12', '10.42.32.12'].map((ip) => `${ip}:9092`);
const AWS_ETCD = ['http://10.42.0.10:2379', 'http://10.42.16.10:2379', 'http://10.42.32.10:2379'];
const AZ_BOOTSTRAP = ['10.43.0.13:9092', '10.43.0.14:9092', '10.43.0.15:9092'];
const AZ_ETCD = ['http://10.43.0.10:2379', 'http://10.43.0.11:2379', 'http://10.43.0.12:2379'];
const AZ_RG_ID = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-ferry';

/** local.drill_security: '' with the PLAINTEXT listener (the default), the admin client config without it. */
const DRILL_SECURITY = { plaintext: '', saslSsl: ' --command-config admin.properties' };

async function awsScope(brokerCount: number, drillSecurity = DRILL_SECURITY.plaintext): Promise<EvalScope> {
  return {
    module: await loadModule('terraform/aws'),
    vars: { cluster_name: 'prod', broker_count: brokerCount },
    refs: { 'local.region': 'us-east-1', 'local.bootstrap_servers': AWS_BOOTSTRAP.slice(0, brokerCount).join(','), 'local.etcd_endpoints': AWS_ETCD.join(','), 'local.drill_security': drillSecurity },
  };
}

async function azureScope(drillSecurity = DRILL_SECURITY.plaintext): Promise<EvalScope> {
  return {
    module: await loadModule('terraform/azure'),
    vars: { cluster_name: 'prod', broker_count: 3, admin_username: 'ferryadmin' },
    refs: { 'azurerm_resource_group.this.id': AZ_RG_ID, 'local.bootstrap_servers': AZ_BOOTSTRAP.join(','), 'local.etcd_endpoints': AZ_ETCD.join(','), 'local.drill_security': drillSecurity },
  };
}

/** What every drill command line of the modules must say. */
function assertCommonDrill(inv: DrillInvocation, bootstrap: string[], etcd: string[]): void {
  assert.equal(inv.options.scenario, 'kill-broker');
  assert.equal(inv.options.cycles, 3);
  assert.deepEqual(inv.options.bootstrap, bootstrap);
  assert.deepEqual(inv.options.etcd, { endpoints: etcd, cluster: 'prod' }, '--etcd and --cluster: the report gets the failover phases');
  assert.ok(inv.templates.killCmd && inv.templates.restartCmd);
  assert.equal(inv.jsonFile, 'drill.json');
  assert.equal(inv.svgFile, 'drill.svg');
}

/** The process-kill drill over SSH: systemctl kill with the drill's signal, systemctl start. */
function assertProcessKill(inv: DrillInvocation, user: string): void {
  const kill = runWithFakes(expand(inv.templates.killCmd!, 'KILL'));
  assert.equal(kill.status, 0, kill.stderr);
  assert.deepEqual(kill.calls, [['ssh', `${user}@${VICTIM.host}`, 'sudo', 'systemctl', 'kill', '--signal=SIGKILL', 'ferry']]);
  const stop = runWithFakes(expand(inv.templates.killCmd!, 'STOP'));
  assert.deepEqual(stop.calls[0]!.slice(-2), ['--signal=SIGSTOP', 'ferry'], 'pause-broker works with the same template');
  const restart = runWithFakes(expand(inv.templates.restartCmd!));
  assert.deepEqual(restart.calls, [['ssh', `${user}@${VICTIM.host}`, 'sudo', 'systemctl', 'start', 'ferry']]);
}

describe('terraform/aws: drill_command', () => {
  test('6 brokers (two per zone): a real ferry drill that force-stops the victim\'s instance and starts it again', async () => {
    const inv = parseCommandLine(evalOutput('drill_command', await awsScope(6)));
    assertCommonDrill(inv, AWS_BOOTSTRAP, AWS_ETCD);
    assert.equal(inv.options.brokerId, undefined, 'every zone has a second broker: rotate over all');
    assert.ok(inv.options.writableTimeoutMs >= 60_000 && inv.options.cycleTimeoutMs >= 300_000 && inv.commandTimeoutMs >= 300_000, 'cloud timings');
    for (const t of [inv.templates.killCmd!, inv.templates.restartCmd!]) shellSyntaxOk(expand(t, 'KILL'));

    const lookup = ['aws', '--region', 'us-east-1', 'ec2', 'describe-instances', '--filters', 'Name=tag:ferry:cluster,Values=prod', 'Name=tag:ferry:role,Values=broker',
      'Name=tag:ferry:broker-id,Values=2', '--query', 'Reservations[].Instances[].InstanceId', '--output', 'text'];
    const kill = runWithFakes(expand(inv.templates.killCmd!, 'KILL'));
    assert.equal(kill.status, 0, kill.stderr);
    assert.deepEqual(kill.calls, [lookup, ['aws', '--region', 'us-east-1', 'ec2', 'stop-instances', '--force', '--instance-ids', 'i-0123456789abcdef0']]);
    const restart = runWithFakes(expand(inv.templates.restartCmd!));
    assert.equal(restart.status, 0, restart.stderr);
    assert.deepEqual(restart.calls, [
      lookup,
      ['aws', '--region', 'us-east-1', 'ec2', 'wait', 'instance-stopped', '--instance-ids', 'i-0123456789abcdef0'],
      ['aws', '--region', 'us-east-1', 'ec2', 'start-instances', '--instance-ids', 'i-0123456789abcdef0'],
    ]);
  });

  test('4 or 5 brokers: always broker 1 (zone a also holds broker 4); 3 or fewer: the process-kill drill', async () => {
    for (const n of [4, 5]) {
      const inv = parseCommandLine(evalOutput('drill_command', await awsScope(n)));
      assert.equal(inv.options.brokerId, 1, `${n} brokers`);
      assert.match(inv.templates.killCmd!, /stop-instances --force/);
    }
    for (const n of [1, 3]) {
      const inv = parseCommandLine(evalOutput('drill_command', await awsScope(n)));
      assertCommonDrill(inv, AWS_BOOTSTRAP.slice(0, n), AWS_ETCD);
      assertProcessKill(inv, 'ubuntu');
    }
  });

  test('drill_command_process_kill: systemctl kill/start over SSH', async () => {
    const inv = parseCommandLine(evalOutput('drill_command_process_kill', await awsScope(6)));
    assertCommonDrill(inv, AWS_BOOTSTRAP, AWS_ETCD);
    assertProcessKill(inv, 'ubuntu');
  });

  test('an instance lookup that finds nothing fails the command before any stop or start', async () => {
    const inv = parseCommandLine(evalOutput('drill_command', await awsScope(6)));
    for (const t of [inv.templates.killCmd!, inv.templates.restartCmd!]) {
      const res = runWithFakes(expandTemplate(t, { ...VICTIM, id: 7, signal: 'KILL' }));
      assert.notEqual(res.status, 0);
      assert.deepEqual(res.calls.map((c) => c[4]), ['describe-instances'], 'only the lookup ran');
    }
  });
});

describe('terraform/azure: drill_command', () => {
  test('powers the victim\'s VM (named <cluster>-broker-<id>) off at once and starts it once stopped', async () => {
    const scope = await azureScope();
    const m = scope.module;
    assert.equal((m.resources.get('azurerm_linux_virtual_machine.broker')!.name as string), '${var.cluster_name}-${local.brokers[count.index].name}');
    assert.equal(m.locals.get('brokers') !== undefined && /name\s*=\s*"broker-\$\{i \+ 1\}"/.test(read('terraform/azure/main.tf')), true, 'broker i is named broker-<i>, its node id is i');
    const inv = parseCommandLine(evalOutput('drill_command', scope));
    assertCommonDrill(inv, AZ_BOOTSTRAP, AZ_ETCD);
    assert.equal(inv.options.brokerId, undefined, 'ZRS disks move to any zone: rotate over all brokers');
    for (const t of [inv.templates.killCmd!, inv.templates.restartCmd!]) shellSyntaxOk(expand(t, 'KILL'));
    const vm = ['--ids', `${AZ_RG_ID}/providers/Microsoft.Compute/virtualMachines/prod-broker-2`];
    const kill = runWithFakes(expand(inv.templates.killCmd!, 'KILL'));
    assert.equal(kill.status, 0, kill.stderr);
    assert.deepEqual(kill.calls, [['az', 'vm', 'stop', ...vm, '--skip-shutdown', '--no-wait']]);
    const restart = runWithFakes(expand(inv.templates.restartCmd!));
    assert.equal(restart.status, 0, restart.stderr);
    assert.deepEqual(restart.calls, [
      ['az', 'vm', 'wait', ...vm, '--custom', "instanceView.statuses[?code=='PowerState/stopped']"],
      ['az', 'vm', 'start', ...vm],
    ]);
  });

  test('drill_command_process_kill: systemctl kill/start over SSH as the admin user', async () => {
    const inv = parseCommandLine(evalOutput('drill_command_process_kill', await azureScope()));
    assertCommonDrill(inv, AZ_BOOTSTRAP, AZ_ETCD);
    assertProcessKill(inv, 'ferryadmin');
  });
});

/** `ferry drill` command lines in a Markdown or YAML-comment text (continuation lines joined). */
function drillLines(text: string, prefix = ''): string[] {
  const lines = text.split('\n').map((l) => (prefix && l.startsWith(prefix) ? l.slice(prefix.length) : l));
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*((?:node dist\/src\/cli\/main\.js|npx ferry|ferry) drill .*)$/.exec(lines[i]!);
    if (!m) continue;
    let cmd = m[1]!;
    while (cmd.endsWith('\\') && i + 1 < lines.length) cmd = `${cmd.slice(0, -1).trimEnd()} ${lines[++i]!.trim()}`;
    out.push(cmd.replace(/^(?:node dist\/src\/cli\/main\.js|npx ferry) /, 'ferry '));
  }
  return out;
}

describe('deploy/compose/compose.yaml: the drill comment', () => {
  test('parses, names the real containers, etcd and cluster; docker kill/start the victim', () => {
    const text = read('deploy/compose/compose.yaml');
    const doc = YAML().parse(text, { merge: true }) as Record<string, any>;
    const lines = drillLines(text, '#');
    assert.equal(lines.length, 1, 'one drill command in the header');
    const inv = parseCommandLine(lines[0]!);
    const brokers = ['broker-1', 'broker-2', 'broker-3'].map((b) => doc.services[b]);
    assert.deepEqual(inv.options.bootstrap, brokers.map((s: any) => String(s.environment.FERRY_ADVERTISED_LISTENERS).replace('PLAINTEXT://', '')));
    assert.equal(inv.options.etcd?.cluster, brokers[0].environment.FERRY_CLUSTER_NAME);
    const etcdPort = new URL(inv.options.etcd!.endpoints[0]!).port;
    assert.ok((doc.services.etcd.ports as string[]).some((p) => p.endsWith(`:${etcdPort}:2379`)), 'etcd published for the drill');
    const kill = runWithFakes(expand(inv.templates.killCmd!, 'KILL'));
    assert.deepEqual(kill.calls, [['docker', 'kill', '--signal=KILL', 'ferry-broker-2']]);
    const restart = runWithFakes(expand(inv.templates.restartCmd!));
    assert.deepEqual(restart.calls, [['docker', 'start', 'ferry-broker-2']]);
    for (const [i, s] of brokers.entries()) {
      assert.equal(s.container_name, `ferry-broker-${s.environment.FERRY_NODE_ID}`, 'the container name the templates build from {id}');
      assert.equal(s.environment.FERRY_RACK, ['a', 'b', 'c'][i]);
      assert.equal(s.environment.FERRY_VOLUME_PROVIDER, 'local');
      assert.equal(s.environment.FERRY_VOLUME_ID, `wal-broker-${i + 1}`);
      assert.equal(s.environment.FERRY_INSTANCE_ID, `broker-${i + 1}`);
      assert.equal(s.environment.FERRY_VOLUME_LOCAL_ROOT, '/var/lib/ferry-volumes');
      assert.ok(s.volumes.includes('volumes:/var/lib/ferry-volumes'), 'one named volume, same path in every broker');
      assert.equal(s.environment.FERRY_BROKER_SESSION_TIMEOUT_MS, '3000');
    }
  });
});

describe('docs: every ferry drill command line parses', () => {
  const files = ['docs/deploy-aws.md', 'docs/deploy-azure.md', 'terraform/aws/README.md', 'terraform/azure/README.md', 'deploy/kubernetes/README.md'];
  for (const file of files) {
    test(file, () => {
      const lines = drillLines(read(file));
      // The module READMEs describe the drill and point at the guides; the guides show it.
      if (!file.startsWith('terraform/')) assert.ok(lines.length >= 1, `${file} shows a drill command`);
      for (const l of lines) {
        const inv = parseCommandLine(l);
        for (const t of [inv.templates.killCmd, inv.templates.restartCmd]) if (t) shellSyntaxOk(expand(t, 'KILL'));
      }
    });
  }

  test('the guides show exactly what drill_command prints for their sample values', async () => {
    const aws = read('docs/deploy-aws.md');
    const azure = read('docs/deploy-azure.md');
    for (const [md, out, name] of [
      [aws, evalOutput('drill_command', await awsScope(6)), 'aws drill_command'],
      [aws, evalOutput('drill_command_process_kill', await awsScope(6)), 'aws drill_command_process_kill'],
      [azure, evalOutput('drill_command', await azureScope()), 'azure drill_command'],
      [azure, evalOutput('drill_command_process_kill', await azureScope()), 'azure drill_command_process_kill'],
    ] as const) {
      assert.ok(drillLines(md).includes(out), `${name} is quoted in the guide:\n${out}`);
    }
  });
});

describe('drill_command without the PLAINTEXT listener (security_enabled, plaintext_listener_enabled = false)', () => {
  for (const cloud of ['aws', 'azure'] as const) {
    test(`terraform/${cloud}: the drill reads the admin client config (--command-config admin.properties) and connects to SASL_SSL`, async () => {
      const m = await loadModule(`terraform/${cloud}`);
      assert.equal(m.locals.get('drill_security'), '${var.plaintext_listener_enabled ? "" : " --command-config admin.properties"}');
      assert.match(String(m.locals.get('bootstrap_servers')), /var\.plaintext_listener_enabled \? local\.bootstrap_servers_plaintext : local\.bootstrap_servers_sasl_ssl/);
      const scope = cloud === 'aws' ? await awsScope(6, DRILL_SECURITY.saslSsl) : await azureScope(DRILL_SECURITY.saslSsl);
      const line = evalOutput('drill_command', scope);
      // admin.properties as /usr/local/sbin/ferry-secrets writes it on a broker (a copy in the working directory).
      const dir = mkdtempSync(join(tmpdir(), 'ferry-drill-admin-'));
      const cwd = process.cwd();
      try {
        writeFileSync(join(dir, 'admin.properties'), 'security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw-0123456789";\n');
        process.chdir(dir);
        const inv = parseCommandLine(line);
        assert.deepEqual(inv.options.security, { protocol: 'SASL_SSL', tls: { verifyHostname: true }, sasl: { mechanism: 'PLAIN', username: 'admin', password: 'admin-pw-0123456789' } });
      } finally {
        process.chdir(cwd);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
