// What the Terraform modules hand to the VMs: the templatefile() calls pass exactly the
// placeholders each template uses; the rendered ferry.properties is a valid broker config
// (through loadConfig; keys the schema does not have yet must equal the documented pending
// list); the cloud-init documents are YAML with the expected files and commands; the install
// script is valid bash and installs what the systemd unit starts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/ops/config.js';
import { parseProperties } from '../../src/ops/config-values.js';
import { requireNodeModule } from '../helpers/require-tool.js';
import { testPki } from '../helpers/certs.js';
import { loadClientProperties } from '../../src/admin/client-security.js';
import { credentialsOf, parseSaslJaasConfig, plainUsersOf } from '../../src/security/sasl/jaas.js';
import { evalTemplate } from './terraform-eval.js';
import { PENDING_KEYS, PENDING_VALUES, splitSettings } from './pending-config.js';
import { loadModule, renderTemplate, repoRoot, templatefileCalls, templatePlaceholders } from './terraform-model.js';

const YAML = () => requireNodeModule<typeof import('yaml')>('yaml');
const read = (p: string) => readFileSync(join(repoRoot, p), 'utf8');

/** What security.tf's security_properties is with security_enabled = false. */
const SECURITY_OFF = '# TLS and SASL are off (security_enabled = false).';
const AWS_SECRET = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;

/** Values a `terraform apply` would pass, per module and template. */
const SAMPLES: Record<'aws' | 'azure', Record<string, Record<string, string | number>>> = {
  aws: {
    'ferry.properties.tftpl': {
      node_id: 2, cluster_name: 'prod', rack: 'us-east-1b', listeners: 'PLAINTEXT://0.0.0.0:9092', advertised: 'PLAINTEXT://10.42.16.11:9092', security: SECURITY_OFF,
      wal_device: '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0', wal_capacity_bytes: 2147483648,
      metrics_port: 9644, s3_bucket: 'prod-ferry-123456789012-us-east-1', s3_prefix: 'prod/', s3_region: 'us-east-1',
      etcd_endpoints: 'http://10.42.0.10:2379,http://10.42.16.10:2379,http://10.42.32.10:2379',
      volume_id: 'vol-0123456789abcdef0', session_timeout_ms: 6000, num_partitions: 6, log_level: 'info', extra_properties: 'log.retention.ms=3d',
    },
    'ferry-install.sh.tftpl': {
      node_version: '22.23.3', node_arch: 'arm64', ferry_repository: 'https://github.com/example/ferry.git', ferry_version: 'v0.1.0',
      wal_device: '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0', security_enabled: 'false',
    },
    'ferry-secrets.sh.tftpl': {
      region: 'us-east-1', keystore_secret_arn: AWS_SECRET('ferry-keystore'), truststore_secret_arn: AWS_SECRET('ferry-ca'), users_secret_arn: AWS_SECRET('ferry-users'),
      inter_broker_user: 'ferry-broker', admin_user: 'admin', sasl_ssl_port: 9094, tls_dir: '/etc/ferry/tls',
    },
    'etcd-cloud-init.yaml.tftpl': {
      etcd_name: 'prod-etcd-2', etcd_ip: '10.42.16.10', etcd_cluster_token: 'prod-etcd',
      etcd_initial_cluster: 'prod-etcd-1=http://10.42.0.10:2380,prod-etcd-2=http://10.42.16.10:2380,prod-etcd-3=http://10.42.32.10:2380',
    },
  },
  azure: {
    'ferry.properties.tftpl': {
      node_id: 3, cluster_name: 'prod', rack: 'westeurope-3', listeners: 'PLAINTEXT://0.0.0.0:9092', advertised: 'PLAINTEXT://10.43.0.15:9092', security: SECURITY_OFF,
      wal_device: '/dev/disk/azure/scsi1/lun0', wal_capacity_bytes: 2147483648, metrics_port: 9644,
      storage_account: 'prodferryab12cd', storage_container: 'ferry',
      etcd_endpoints: 'http://10.43.0.10:2379,http://10.43.0.11:2379,http://10.43.0.12:2379',
      volume_id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-ferry/providers/Microsoft.Compute/disks/prod-broker-3-wal',
      session_timeout_ms: 3000, num_partitions: 6, log_level: 'info', extra_properties: '',
    },
    'ferry-install.sh.tftpl': {
      node_version: '22.23.3', node_arch: 'x64', ferry_repository: 'https://github.com/example/ferry.git', ferry_version: 'main',
      wal_device: '/dev/disk/azure/scsi1/lun0', azure_client_id: '11111111-2222-3333-4444-555555555555', security_enabled: 'false',
    },
    'ferry-secrets.sh.tftpl': {
      vault_name: 'prod-ferry-kv', keystore_secret_name: 'ferry-tls-keystore', truststore_secret_name: 'ferry-ca', users_secret_name: 'ferry-sasl-users',
      azure_client_id: '11111111-2222-3333-4444-555555555555', inter_broker_user: 'ferry-broker', admin_user: 'admin', sasl_ssl_port: 9094, tls_dir: '/etc/ferry/tls',
    },
    'etcd-cloud-init.yaml.tftpl': {
      etcd_name: 'prod-etcd-1', etcd_ip: '10.43.0.10', etcd_cluster_token: 'prod-etcd',
      etcd_initial_cluster: 'prod-etcd-1=http://10.43.0.10:2380,prod-etcd-2=http://10.43.0.11:2380,prod-etcd-3=http://10.43.0.12:2380',
    },
  },
};

function renderFile(cloud: 'aws' | 'azure', name: string, extra: Record<string, string> = {}): string {
  return renderTemplate(read(`terraform/${cloud}/templates/${name}`), { ...SAMPLES[cloud][name], ...extra });
}

function renderBrokerCloudInit(cloud: 'aws' | 'azure'): { yaml: string; properties: string; install: string; secrets: string } {
  const properties = renderFile(cloud, 'ferry.properties.tftpl');
  const install = renderFile(cloud, 'ferry-install.sh.tftpl');
  const secrets = renderFile(cloud, 'ferry-secrets.sh.tftpl');
  const yaml = renderTemplate(read(`terraform/${cloud}/templates/broker-cloud-init.yaml.tftpl`), {
    ferry_properties_json: JSON.stringify(properties), install_script_json: JSON.stringify(install), secrets_script_json: JSON.stringify(secrets),
  });
  return { yaml, properties, install, secrets };
}

for (const cloud of ['aws', 'azure'] as const) {
  describe(`terraform/${cloud}: cloud-init and broker config`, () => {
    test('templatefile() calls pass exactly the placeholders each template uses', async () => {
      const m = await loadModule(`terraform/${cloud}`);
      const calls = m.expressions.flatMap((e) => templatefileCalls(e.text).map((c) => ({ ...c, where: e.where })));
      const paths = [...new Set(calls.map((c) => c.path))].sort();
      assert.deepEqual(paths, ['templates/broker-cloud-init.yaml.tftpl', 'templates/etcd-cloud-init.yaml.tftpl', 'templates/ferry-install.sh.tftpl', 'templates/ferry-secrets.sh.tftpl', 'templates/ferry.properties.tftpl']);
      for (const c of calls) {
        const used = [...templatePlaceholders(read(`terraform/${cloud}/${c.path}`), c.path)].sort();
        assert.deepEqual([...c.keys].sort(), used, `${c.where}: keys passed to ${c.path}`);
      }
      // Every template's sample covers exactly its placeholders (so the renders below are complete).
      for (const [name, sample] of Object.entries(SAMPLES[cloud])) {
        assert.deepEqual(Object.keys(sample).sort(), [...templatePlaceholders(read(`terraform/${cloud}/templates/${name}`), name)].sort(), name);
      }
    });

    test('the rendered ferry.properties loads with loadConfig; keys not in the schema yet are exactly the pending list', () => {
      const properties = renderFile(cloud, 'ferry.properties.tftpl');
      const entries = parseProperties(properties);
      const settings = new Map(entries.map((e) => [e.key, e.value]));
      assert.equal(settings.size, entries.length, 'no key twice');
      const split = splitSettings(settings);
      const kind = cloud === 'aws' ? 'awsProperties' : 'azureProperties';
      assert.deepEqual(split.unknownKeys, [...PENDING_KEYS[kind]], `keys ${cloud} brokers need that src/ops/config-schema.ts lacks (update test/deploy/pending-config.ts when one lands)`);
      assert.deepEqual(split.unknownValues, PENDING_VALUES[kind], 'values the schema does not accept yet');

      const dir = mkdtempSync(join(tmpdir(), 'ferry-deploy-'));
      try {
        const file = join(dir, 'ferry.properties');
        writeFileSync(file, [...split.known].map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
        const config = loadConfig({ argv: ['--config', file], env: {}, cwd: dir });
        // Spot checks: what the module meant is what the broker reads.
        assert.equal(config.get('node.id'), SAMPLES[cloud]['ferry.properties.tftpl']!.node_id);
        assert.equal(config.get('rack'), SAMPLES[cloud]['ferry.properties.tftpl']!.rack);
        assert.equal(config.get('metadata.backend'), 'etcd');
        assert.deepEqual(config.get('etcd.endpoints'), String(SAMPLES[cloud]['ferry.properties.tftpl']!.etcd_endpoints).split(','));
        assert.equal(config.get('wal.path'), SAMPLES[cloud]['ferry.properties.tftpl']!.wal_device);
        assert.equal(config.get('wal.capacity.bytes'), 2147483648);
        assert.equal(config.get('metrics.listener'), '0.0.0.0:9644');
        assert.equal(config.get('data.dir'), '/var/lib/ferry');
        if (cloud === 'aws') {
          assert.equal(config.get('object.store'), 's3');
          assert.equal(config.get('s3.bucket'), 'prod-ferry-123456789012-us-east-1');
          assert.equal(config.get('log.retention.ms'), 3 * 86_400_000, 'extra_properties reach the broker');
        }
        // Failover: the volume provider, this broker's volume, its rack (the zone) and the session
        // timeout; instance.id comes from FERRY_INSTANCE_ID (the install script, checked below).
        const sample = SAMPLES[cloud]['ferry.properties.tftpl']!;
        assert.equal(config.get('volume.provider'), cloud === 'aws' ? 'aws-ebs' : 'azure-zrs');
        assert.equal(config.get('volume.id'), sample.volume_id);
        assert.equal(config.get('broker.session.timeout.ms'), sample.session_timeout_ms);
        assert.equal(config.get('instance.id'), null, 'instance.id is not in the file: it comes from the metadata service');
        const withInstance = loadConfig({ argv: ['--config', file], env: { FERRY_INSTANCE_ID: cloud === 'aws' ? 'i-0123456789abcdef0' : '/subscriptions/x/resourceGroups/prod-ferry/providers/Microsoft.Compute/virtualMachines/prod-broker-3' }, cwd: dir });
        assert.match(String(withInstance.get('instance.id')), cloud === 'aws' ? /^i-/ : /virtualMachines\/prod-broker-3$/, 'FERRY_INSTANCE_ID sets instance.id');
        const listeners = config.get('advertised.listeners') as Array<{ host: string; port: number }>;
        assert.equal(listeners[0]!.host, /\/\/([^:]+):/.exec(String(SAMPLES[cloud]['ferry.properties.tftpl']!.advertised))![1]);
        assert.equal(config.get('authorizer.class.name'), null, 'security off: no ACLs');
        assert.deepEqual(config.warnings, []);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('broker cloud-init is YAML that writes the config and the install script and runs it', () => {
      const { yaml, properties, install, secrets } = renderBrokerCloudInit(cloud);
      assert.ok(yaml.startsWith('#cloud-config\n'));
      const doc = YAML().parse(yaml) as Record<string, any>;
      const files = Object.fromEntries((doc.write_files as Array<{ path: string; content: string; permissions: string }>).map((f) => [f.path, f]));
      assert.equal(files['/etc/ferry/ferry.properties']!.content, properties);
      assert.equal(files['/usr/local/sbin/ferry-install']!.content, install);
      assert.equal(files['/usr/local/sbin/ferry-install']!.permissions, '0755');
      assert.equal(files['/usr/local/sbin/ferry-secrets']!.content, secrets);
      assert.equal(files['/usr/local/sbin/ferry-secrets']!.permissions, '0755');
      assert.deepEqual(doc.runcmd, [['/usr/local/sbin/ferry-install']]);
      const ferryUser = (doc.users as Array<Record<string, unknown> | string>).find((u) => typeof u === 'object' && u.name === 'ferry') as Record<string, unknown>;
      assert.ok(ferryUser, 'a ferry system user');
      assert.equal(ferryUser.system, true);
      assert.deepEqual(ferryUser.groups, ['disk'], 'raw WAL device access');
      for (const p of ['git', 'build-essential', 'python3', 'curl', 'xz-utils']) assert.ok((doc.packages as string[]).includes(p), p);
    });

    test('the install script is valid bash and installs what deploy/systemd/ferry.service starts', () => {
      const { install } = renderBrokerCloudInit(cloud);
      const syntax = spawnSync('bash', ['-n'], { input: install, encoding: 'utf8' });
      assert.equal(syntax.status, 0, syntax.stderr);
      assert.ok(install.startsWith('#!/bin/bash\n'));
      assert.match(install, /^set -euo pipefail$/m);
      assert.match(install, /sha256sum -c/, 'Node download is verified');
      assert.match(install, /npm ci --ignore-scripts/);
      assert.match(install, /npm run build/);
      assert.match(install, /npm prune --omit=dev/);
      assert.match(install, /ln -sfn \/opt\/node\/bin\/node \/usr\/local\/bin\/node/);
      assert.match(install, /install -m 0644 \/opt\/ferry\/deploy\/systemd\/ferry\.service \/etc\/systemd\/system\/ferry\.service/);
      assert.match(install, /systemctl enable --now ferry\.service/);
      assert.match(install, /FERRY_INSTANCE_ID=/);
      // instance.id is what the volume provider attaches to: the EC2 instance id (IMDSv2) or the VM resource id.
      if (cloud === 'aws') assert.match(install, /169\.254\.169\.254\/latest\/meta-data\/instance-id/);
      else assert.match(install, /169\.254\.169\.254\/metadata\/instance\/compute\/resourceId/);
      if (cloud === 'azure') assert.match(install, /AZURE_CLIENT_ID=%s/);
      // The unit runs exactly the node and entry point the script installs, with the written config.
      const unit = read('deploy/systemd/ferry.service');
      const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(/\s+/);
      // The compiled entry point the checkout's launcher (package.json bin) runs; installs run it directly.
      const entry = /join\(ROOT, '(dist\/[^']+\.js)'\)/.exec(read(JSON.parse(read('package.json')).bin.ferry))![1]!;
      assert.deepEqual(exec, ['/usr/local/bin/node', `/opt/ferry/${entry}`, 'broker', '--config', '/etc/ferry/ferry.properties']);
      assert.match(install, new RegExp(`exec /usr/local/bin/node /opt/ferry/${entry.replace(/\./g, '\\.')} "\\$@"`), 'the ferry wrapper on PATH');
      assert.match(unit, /^EnvironmentFile=-\/etc\/ferry\/ferry\.env$/m);
      // Variables written to ferry.env name config keys (or pending ones).
      const envNames = [...install.matchAll(/(FERRY_[A-Z_]+)=/g)].map((mm) => mm[1]!);
      const keys = [...new Set(envNames)].map((n) => n.replace(/^FERRY_/, '').toLowerCase().replace(/_/g, '.')).sort();
      assert.deepEqual(splitSettings(new Map(keys.map((k) => [k, 'x']))).unknownKeys, [...PENDING_KEYS.installEnv]);
    });

    test('etcd cloud-init is YAML configuring a static three-member cluster', () => {
      const yaml = renderFile(cloud, 'etcd-cloud-init.yaml.tftpl');
      const doc = YAML().parse(yaml) as Record<string, any>;
      assert.ok(yaml.startsWith('#cloud-config\n'));
      const env = (doc.write_files as Array<{ path: string; content: string }>).find((f) => f.path === '/etc/default/etcd')!.content;
      const sample = SAMPLES[cloud]['etcd-cloud-init.yaml.tftpl']!;
      assert.match(env, new RegExp(`^ETCD_NAME="${sample.etcd_name}"$`, 'm'));
      assert.match(env, /^ETCD_INITIAL_CLUSTER_STATE="new"$/m);
      const members = /^ETCD_INITIAL_CLUSTER="([^"]+)"$/m.exec(env)![1]!.split(',');
      assert.equal(members.length, 3);
      assert.ok(members.includes(`${sample.etcd_name}=http://${sample.etcd_ip}:2380`), 'this member is in the initial cluster');
      assert.deepEqual(doc.packages, ['etcd-server']);
    });
  });
}

test('Terraform-side: the etcd names and addresses the modules compute match what the templates expect', async () => {
  for (const cloud of ['aws', 'azure'] as const) {
    const m = await loadModule(`terraform/${cloud}`);
    assert.match(String(m.locals.get('etcd_initial_cluster')), /\$\{local\.etcd_names\[i\]\}=http:\/\/\$\{local\.etcd_ips\[i\]\}:2380/);
    assert.match(String(m.locals.get('etcd_endpoints')), /http:\/\/\$\{ip\}:2379/);
  }
});

/** security.tf's security_properties with security_enabled = true, from the module's own string literals. */
async function moduleSecurityProperties(cloud: 'aws' | 'azure', vars: Record<string, string>): Promise<string[]> {
  const m = await loadModule(`terraform/${cloud}`);
  const text = String(m.locals.get('security_properties'));
  const lines = [...text.matchAll(/"([a-z][a-z0-9.-]*=(?:[^"\\]|\\.)*)"/g)].map((mm) => String(evalTemplate(JSON.parse(`"${mm[1]!}"`) as string, { module: m, vars })));
  assert.ok(lines.length >= 10, `${lines.length} security properties`);
  return lines;
}

const SECURITY_VARS = { ssl_client_auth: 'required', inter_broker_user: 'ferry-broker', admin_user: 'admin' };
const JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="ferry-broker" password="broker-pw-0123456789" user_ferry-broker="broker-pw-0123456789" user_admin="admin-pw-0123456789";';

for (const cloud of ['aws', 'azure'] as const) {
  describe(`terraform/${cloud}: security_enabled`, () => {
    test('the listeners and security keys the module writes load with loadConfig: SSL and SASL_SSL listeners, inter-broker SASL_SSL, client auth on SSL, ACLs, super users', async () => {
      const m = await loadModule(`terraform/${cloud}`);
      assert.match(String(m.locals.get('listener_ports')), /SSL\s+= var\.ssl_port, SASL_SSL = var\.sasl_ssl_port/);
      const security = await moduleSecurityProperties(cloud, SECURITY_VARS);
      const ip = cloud === 'aws' ? '10.42.16.11' : '10.43.0.15';
      const properties = renderFile(cloud, 'ferry.properties.tftpl', {
        listeners: 'PLAINTEXT://0.0.0.0:9092,SASL_SSL://0.0.0.0:9094,SSL://0.0.0.0:9093',
        advertised: `PLAINTEXT://${ip}:9092,SASL_SSL://${ip}:9094,SSL://${ip}:9093`,
        security: security.join('\n'),
      });
      const settings = new Map(parseProperties(properties).map((e) => [e.key, e.value]));
      const split = splitSettings(settings);
      const kind = cloud === 'aws' ? 'awsProperties' : 'azureProperties';
      assert.deepEqual(split.unknownKeys, [...PENDING_KEYS[kind]]);
      assert.deepEqual(split.unknownValues, PENDING_VALUES[kind]);
      const dir = mkdtempSync(join(tmpdir(), 'ferry-deploy-sec-'));
      try {
        const file = join(dir, 'ferry.properties');
        writeFileSync(file, [...split.known].map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
        // The users come from /etc/ferry/secrets.env, which systemd reads (ferry-secrets writes it).
        const config = loadConfig({ argv: ['--config', file], env: { FERRY_SASL_JAAS_CONFIG: JAAS }, cwd: dir });
        assert.deepEqual(config.warnings, []);
        const advertised = (config.get('advertised.listeners') as Array<{ name: string; host: string; port: number }>).map((l) => `${l.name}:${l.port}`).sort();
        assert.deepEqual(advertised, ['PLAINTEXT:9092', 'SASL_SSL:9094', 'SSL:9093']);
        assert.equal(config.securityProtocolOf('SSL'), 'SSL');
        assert.equal(config.securityProtocolOf('SASL_SSL'), 'SASL_SSL');
        assert.equal(config.get('inter.broker.listener.name'), 'SASL_SSL');
        assert.equal(config.get('sasl.mechanism.inter.broker.protocol'), 'PLAIN');
        assert.deepEqual(config.get('sasl.enabled.mechanisms'), ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN']);
        assert.equal(config.forListener('SSL', 'ssl.client.auth'), 'required');
        assert.equal(config.forListener('SASL_SSL', 'ssl.client.auth'), 'none', 'SASL_SSL asks for no certificate');
        assert.equal(config.get('ssl.keystore.location'), '/etc/ferry/tls/keystore.pem');
        assert.equal(config.get('ssl.truststore.location'), '/etc/ferry/tls/truststore.pem');
        assert.equal(config.get('authorizer.class.name'), 'ferry');
        assert.equal(config.get('super.users'), 'User:ferry-broker;User:admin', 'the inter-broker user is a super user');
        assert.equal(config.forListener('SASL_SSL', 'sasl.jaas.config', 'PLAIN'), JAAS);
        assert.ok(!properties.includes('password'), 'no password in user data');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('the install script adds the security drop-in only with security_enabled', () => {
      const on = renderFile(cloud, 'ferry-install.sh.tftpl', { security_enabled: 'true' });
      assert.match(on, /^SECURITY_ENABLED='true'$/m);
      assert.match(on, /if \[ "\$SECURITY_ENABLED" = true \]; then\n\s+install -d -m 0755 \/etc\/systemd\/system\/ferry\.service\.d\n\s+install -m 0644 \/opt\/ferry\/deploy\/systemd\/ferry-security\.conf \/etc\/systemd\/system\/ferry\.service\.d\/security\.conf\nfi/);
      assert.ok(on.indexOf('ferry-security.conf') < on.indexOf('systemctl daemon-reload'), 'before the daemon-reload and start');
      assert.equal(spawnSync('bash', ['-n'], { input: on, encoding: 'utf8' }).status, 0);
      const dropIn = read('deploy/systemd/ferry-security.conf');
      assert.match(dropIn, /^ExecStartPre=\+\/usr\/local\/sbin\/ferry-secrets$/m);
      assert.match(dropIn, /^EnvironmentFile=-\/etc\/ferry\/secrets\.env$/m);
    });

    test('ferry-secrets: secrets into broker-only (TLS) and root-only (JAAS, admin config) files; nothing secret on a command line; bad secrets refused without their values', () => {
      const pki = testPki();
      const dir = mkdtempSync(join(tmpdir(), `ferry-secrets-${cloud}-`));
      try {
        const tlsDir = join(dir, 'etc/ferry/tls');
        mkdirSync(join(dir, 'etc/ferry'), { recursive: true });
        const secretsDir = join(dir, 'secrets');
        mkdirSync(secretsDir);
        const names = cloud === 'aws'
          ? { keystore: AWS_SECRET('ferry-keystore'), truststore: AWS_SECRET('ferry-ca'), users: AWS_SECRET('ferry-users') }
          : { keystore: 'ferry-tls-keystore', truststore: 'ferry-ca', users: 'ferry-sasl-users' };
        const users = { 'ferry-broker': 'broker-pw-0123456789', admin: 'admin-pw-0123456789', alice: 'alice-pw-0123456789+/=' };
        const writeSecrets = (u: unknown) => {
          writeFileSync(join(secretsDir, encodeURIComponent(names.keystore)), pki.server.keystorePem);
          writeFileSync(join(secretsDir, encodeURIComponent(names.truststore)), pki.ca.certPem);
          writeFileSync(join(secretsDir, encodeURIComponent(names.users)), JSON.stringify(u));
        };
        writeSecrets(users);
        const bin = fakeCloudTools(dir, secretsDir);
        const script = renderFile(cloud, 'ferry-secrets.sh.tftpl', { tls_dir: tlsDir });
        const run = () => spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        const res = run();
        assert.equal(res.status, 0, res.stderr);
        assert.match(res.stderr, /keystore, truststore, 3 SASL user\(s\) written/);
        const mode = (p: string) => statSync(p).mode & 0o777;
        assert.equal(readFileSync(join(tlsDir, 'keystore.pem'), 'utf8'), pki.server.keystorePem);
        assert.equal(readFileSync(join(tlsDir, 'truststore.pem'), 'utf8'), pki.ca.certPem);
        for (const f of ['tls/keystore.pem', 'tls/truststore.pem', 'secrets.env', 'admin.properties']) assert.equal(mode(join(dir, 'etc/ferry', f)), 0o600, f);
        // secrets.env: one FERRY_SASL_JAAS_CONFIG line, every user a PLAIN user, the broker's own login.
        const env = readFileSync(join(dir, 'etc/ferry/secrets.env'), 'utf8');
        const m = /^FERRY_SASL_JAAS_CONFIG=(.+)\n$/.exec(env);
        assert.ok(m, env.slice(0, 40));
        const jaas = parseSaslJaasConfig(m[1]!);
        assert.equal(jaas.loginModule, 'org.apache.kafka.common.security.plain.PlainLoginModule');
        assert.deepEqual(credentialsOf(jaas), { username: 'ferry-broker', password: users['ferry-broker'] });
        assert.deepEqual(Object.fromEntries(plainUsersOf(jaas)), users);
        // The broker reads it through the environment, as systemd passes it.
        assert.equal(loadConfig({ argv: [], env: { FERRY_SASL_JAAS_CONFIG: m[1]! }, cwd: dir }).get('sasl.jaas.config'), m[1]);
        // admin.properties is a client config Ferry's tools read (--command-config).
        const admin = loadClientProperties(join(dir, 'etc/ferry/admin.properties'));
        assert.equal(admin.protocol, 'SASL_SSL');
        assert.deepEqual(admin.sasl, { mechanism: 'PLAIN', username: 'admin', password: users.admin });
        assert.equal(admin.tls!.ca!.trim(), pki.ca.certPem.trim());
        // No secret value was ever on a command line (credentials and tokens go in curl -K files).
        const calls = readFileSync(join(dir, 'calls.log'), 'utf8');
        for (const v of [...Object.values(users), 'FAKE-SECRET-ACCESS-KEY', 'FAKE-SESSION-TOKEN', 'FAKE-VAULT-TOKEN', 'PRIVATE KEY']) assert.ok(!calls.includes(v), `${v} on a command line`);
        assert.ok(!res.stderr.includes(users.admin));
        if (cloud === 'aws') assert.match(calls, /--aws-sigv4 aws:amz:us-east-1:secretsmanager/);
        else assert.match(calls, /https:\/\/prod-ferry-kv\.vault\.azure\.net\/secrets\/ferry-sasl-users\?api-version=7\.4/);

        // A password JAAS or systemd would have to quote: refused, and not printed.
        writeSecrets({ ...users, admin: 'has "quotes" in it 123' });
        const bad = run();
        assert.notEqual(bad.status, 0);
        assert.match(bad.stderr, /passwords of 16\+ characters without quotes/);
        assert.ok(!bad.stderr.includes('quotes" in it'));
        // A users secret without the inter-broker user: refused.
        writeSecrets({ admin: users.admin });
        assert.notEqual(run().status, 0);
        // A keystore secret that is not PEM: refused before anything is replaced.
        writeFileSync(join(secretsDir, encodeURIComponent(names.keystore)), 'not a pem');
        writeSecrets(users);
        writeFileSync(join(secretsDir, encodeURIComponent(names.keystore)), 'not a pem');
        const notPem = run();
        assert.notEqual(notPem.status, 0);
        assert.match(notPem.stderr, /keystore secret must be PEM/);
        assert.equal(readFileSync(join(tlsDir, 'keystore.pem'), 'utf8'), pki.server.keystorePem, 'the old keystore stays');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/**
 * Fake `curl` (the metadata services, Secrets Manager's GetSecretValue, Key Vault's secrets API;
 * secret values from files in secretsDir named by the URI-encoded secret id) and `install` (drops
 * -o/-g: no ferry user here); every call's arguments go to <dir>/calls.log.
 */
function fakeCloudTools(dir: string, secretsDir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'curl'), `#!/bin/bash
printf '%s\\n' "$*" >> '${dir}/calls.log'
url=""; data=""; conf=""
while [ $# -gt 0 ]; do
  case "$1" in
    --data-binary) data="\${2#@}"; shift ;;
    -K) conf="$2"; shift ;;
    -H|-X|--aws-sigv4) shift ;;
    http*) url="$1" ;;
  esac
  shift
done
enc() { jq -rn --arg s "$1" '$s|@uri'; }
case "$url" in
  http://169.254.169.254/latest/api/token) echo imds-token ;;
  http://169.254.169.254/latest/meta-data/iam/security-credentials/) echo ferry-broker-role ;;
  http://169.254.169.254/latest/meta-data/iam/security-credentials/ferry-broker-role)
    echo '{"AccessKeyId":"AKIAFAKE","SecretAccessKey":"FAKE-SECRET-ACCESS-KEY","Token":"FAKE-SESSION-TOKEN"}' ;;
  https://secretsmanager.*)
    grep -q 'FAKE-SECRET-ACCESS-KEY' "$conf" && grep -q 'x-amz-security-token: FAKE-SESSION-TOKEN' "$conf" || exit 22
    id=$(jq -r .SecretId "$data"); f='${secretsDir}'/$(enc "$id")
    [ -f "$f" ] || exit 22
    jq -n --rawfile s "$f" '{SecretString: $s}' ;;
  http://169.254.169.254/metadata/identity/oauth2/token*) echo '{"access_token":"FAKE-VAULT-TOKEN"}' ;;
  https://*.vault.azure.net/secrets/*)
    grep -q 'Authorization: Bearer FAKE-VAULT-TOKEN' "$conf" || exit 22
    name=\${url#*/secrets/}; name=\${name%%\\?*}; f='${secretsDir}'/$(enc "$name")
    [ -f "$f" ] || exit 22
    jq -n --rawfile s "$f" '{value: $s}' ;;
  *) echo "fake curl: unexpected $url" >&2; exit 22 ;;
esac
`);
  writeFileSync(join(bin, 'install'), `#!/bin/bash
args=()
while [ $# -gt 0 ]; do case "$1" in -o|-g) shift ;; *) args+=("$1") ;; esac; shift; done
exec /usr/bin/install "\${args[@]}"
`);
  chmodSync(join(bin, 'curl'), 0o755);
  chmodSync(join(bin, 'install'), 0o755);
  return bin;
}
