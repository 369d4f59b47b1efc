// What the Terraform modules hand to the VMs: the templatefile() calls pass exactly the
// placeholders each template uses; the rendered ferry.properties is a valid broker config
// (through loadConfig; keys the schema does not have yet must equal the documented pending
// list); the cloud-init documents are YAML with the expected files and commands; the install
// script is valid bash and installs what the systemd unit starts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/ops/config.js';
import { parseProperties } from '../../src/ops/config-values.js';
import { requireNodeModule } from '../helpers/require-tool.js';
import { PENDING_KEYS, PENDING_VALUES, splitSettings } from './pending-config.js';
import { loadModule, renderTemplate, repoRoot, templatefileCalls, templatePlaceholders } from './terraform-model.js';

const YAML = () => requireNodeModule<typeof import('yaml')>('yaml');
const read = (p: string) => readFileSync(join(repoRoot, p), 'utf8');

/** Values a `terraform apply` would pass, per module and template. */
const SAMPLES: Record<'aws' | 'azure', Record<string, Record<string, string | number>>> = {
  aws: {
    'ferry.properties.tftpl': {
      node_id: 2, cluster_name: 'prod', rack: 'us-east-1b', kafka_port: 9092, advertised_host: '10.42.16.11',
      wal_device: '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0', wal_capacity_bytes: 2147483648,
      metrics_port: 9644, s3_bucket: 'prod-ferry-123456789012-us-east-1', s3_prefix: 'prod/', s3_region: 'us-east-1',
      etcd_endpoints: 'http://10.42.0.10:2379,http://10.42.16.10:2379,http://10.42.32.10:2379',
      volume_id: 'vol-0123456789abcdef0', session_timeout_ms: 6000, num_partitions: 6, log_level: 'info', extra_properties: 'log.retention.ms=3d',
    },
    'ferry-install.sh.tftpl': {
      node_version: '22.23.3', node_arch: 'arm64', ferry_repository: 'https://github.com/example/ferry.git', ferry_version: 'v0.1.0',
      wal_device: '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0',
    },
    'etcd-cloud-init.yaml.tftpl': {
      etcd_name: 'prod-etcd-2', etcd_ip: '10.42.16.10', etcd_cluster_token: 'prod-etcd',
      etcd_initial_cluster: 'prod-etcd-1=http://10.42.0.10:2380,prod-etcd-2=http://10.42.16.10:2380,prod-etcd-3=http://10.42.32.10:2380',
    },
  },
  azure: {
    'ferry.properties.tftpl': {
      node_id: 3, cluster_name: 'prod', rack: 'westeurope-3', kafka_port: 9092, advertised_host: '10.43.0.15',
      wal_device: '/dev/disk/azure/scsi1/lun0', wal_capacity_bytes: 2147483648, metrics_port: 9644,
      storage_account: 'prodferryab12cd', storage_container: 'ferry',
      etcd_endpoints: 'http://10.43.0.10:2379,http://10.43.0.11:2379,http://10.43.0.12:2379',
      volume_id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-ferry/providers/Microsoft.Compute/disks/prod-broker-3-wal',
      session_timeout_ms: 3000, num_partitions: 6, log_level: 'info', extra_properties: '',
    },
    'ferry-install.sh.tftpl': {
      node_version: '22.23.3', node_arch: 'x64', ferry_repository: 'https://github.com/example/ferry.git', ferry_version: 'main',
      wal_device: '/dev/disk/azure/scsi1/lun0', azure_client_id: '11111111-2222-3333-4444-555555555555',
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

function renderBrokerCloudInit(cloud: 'aws' | 'azure'): { yaml: string; properties: string; install: string } {
  const properties = renderFile(cloud, 'ferry.properties.tftpl');
  const install = renderFile(cloud, 'ferry-install.sh.tftpl');
  const yaml = renderTemplate(read(`terraform/${cloud}/templates/broker-cloud-init.yaml.tftpl`), {
    ferry_properties_json: JSON.stringify(properties), install_script_json: JSON.stringify(install),
  });
  return { yaml, properties, install };
}

for (const cloud of ['aws', 'azure'] as const) {
  describe(`terraform/${cloud}: cloud-init and broker config`, () => {
    test('templatefile() calls pass exactly the placeholders each template uses', async () => {
      const m = await loadModule(`terraform/${cloud}`);
      const calls = m.expressions.flatMap((e) => templatefileCalls(e.text).map((c) => ({ ...c, where: e.where })));
      const paths = [...new Set(calls.map((c) => c.path))].sort();
      assert.deepEqual(paths, ['templates/broker-cloud-init.yaml.tftpl', 'templates/etcd-cloud-init.yaml.tftpl', 'templates/ferry-install.sh.tftpl', 'templates/ferry.properties.tftpl']);
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
        assert.equal(listeners[0]!.host, SAMPLES[cloud]['ferry.properties.tftpl']!.advertised_host);
        assert.deepEqual(config.warnings, []);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('broker cloud-init is YAML that writes the config and the install script and runs it', () => {
      const { yaml, properties, install } = renderBrokerCloudInit(cloud);
      assert.ok(yaml.startsWith('#cloud-config\n'));
      const doc = YAML().parse(yaml) as Record<string, any>;
      const files = Object.fromEntries((doc.write_files as Array<{ path: string; content: string; permissions: string }>).map((f) => [f.path, f]));
      assert.equal(files['/etc/ferry/ferry.properties']!.content, properties);
      assert.equal(files['/usr/local/sbin/ferry-install']!.content, install);
      assert.equal(files['/usr/local/sbin/ferry-install']!.permissions, '0755');
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
