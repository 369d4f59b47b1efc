// Terraform without Terraform: every .tf parses (HCL's own parser via @cdktf/hcl2json) and is
// formatted as hclfmt formats it; references resolve; variables are typed, described and
// validated; examples pass every required input and use only existing outputs; providers are
// pinned; and the cloud-specific promises hold (tags, least-privilege IAM, zone spread, bucket
// and storage-account hardening, ZRS disks).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MissingToolError } from '../helpers/require-tool.js';
import {
  dynamicIterators, loadModule, parseTf, repoRoot, tfDirs, tfFiles, unresolved, type Block, type TerraformModule,
} from './terraform-model.js';

const MODULES = ['terraform/aws', 'terraform/azure'] as const;
const EXAMPLES = { 'terraform/examples/aws': 'terraform/aws', 'terraform/examples/azure': 'terraform/azure' } as const;

const loaded = new Map<string, TerraformModule>();
async function mod(dir: string): Promise<TerraformModule> {
  let m = loaded.get(dir);
  if (!m) { m = await loadModule(dir); loaded.set(dir, m); }
  return m;
}
const refsOf = (m: TerraformModule, pred: (r: string) => boolean) => m.references.filter((r) => pred(r.ref));
const text = (v: unknown): string => JSON.stringify(v) ?? '';

describe('terraform: syntax and formatting', () => {
  test('the expected modules and examples exist', () => {
    assert.deepEqual(tfDirs(), ['terraform/aws', 'terraform/azure', 'terraform/examples/aws', 'terraform/examples/azure']);
  });

  test('every .tf file parses', async () => {
    let files = 0;
    for (const dir of tfDirs()) {
      for (const f of tfFiles(dir)) {
        await assert.doesNotReject(parseTf(join(dir, f)), `${dir}/${f}`);
        files++;
      }
    }
    assert.ok(files >= 20, `parsed ${files} files`);
  });

  test('the parser does report syntax errors with a position (the check above is not vacuous)', async () => {
    const { requireNodeModule } = await import('../helpers/require-tool.js');
    const hcl = requireNodeModule<{ parse(f: string, s: string): Promise<unknown> }>('@cdktf/hcl2json');
    await assert.rejects(hcl.parse('broken.tf', 'resource "a" "b" {\n  x = \n}\n'), /broken\.tf:2,/);
  });

  test('every .tf file is formatted as hclfmt formats it', () => {
    const build = spawnSync('bash', [join(repoRoot, 'scripts/hclfmt-build.sh')], { encoding: 'utf8', timeout: 300_000 });
    if (build.status !== 0) throw new MissingToolError('hclfmt', 'bash scripts/hclfmt-build.sh', build.stderr.trim().split('\n').slice(-3).join(' | '));
    const hclfmt = build.stdout.trim().split('\n').pop()!;
    const unformatted: string[] = [];
    let checked = 0;
    for (const dir of tfDirs()) {
      for (const f of tfFiles(dir)) {
        const path = join(repoRoot, dir, f);
        const syntax = spawnSync(hclfmt, ['-check', path], { encoding: 'utf8' });
        assert.equal(syntax.status, 0, `hclfmt -check ${dir}/${f}: ${syntax.stderr}`);
        const out = spawnSync(hclfmt, [path], { encoding: 'utf8' });
        assert.equal(out.status, 0, out.stderr);
        if (out.stdout !== readFileSync(path, 'utf8')) unformatted.push(`${dir}/${f}`);
        checked++;
      }
    }
    assert.ok(checked >= 20);
    assert.deepEqual(unformatted, [], `run: ${hclfmt} -w <file>`);
  });
});

for (const dir of [...MODULES, ...Object.keys(EXAMPLES)]) {
  describe(`terraform: ${dir}`, () => {
    let m: TerraformModule;
    before(async () => { m = await mod(dir); });

    test('every reference resolves: variables, locals, resources, data sources, module outputs', async () => {
      const moduleOutputs = new Map<string, Set<string>>();
      for (const [name, block] of m.modules) {
        const source = String(block.source);
        assert.ok(source.startsWith('../../'), `module ${name} source ${source}`);
        const target = await mod(join(dir, source).replace(/\/$/, ''));
        moduleOutputs.set(name, new Set(target.outputs.keys()));
      }
      const iterators = dynamicIterators(m);
      const problems = m.references
        .filter((r) => !iterators.has(r.ref.split('.')[0]!))
        .flatMap((r) => { const p = unresolved(m, r.ref, moduleOutputs); return p ? [`${r.file} ${r.where}: ${p}`] : []; });
      assert.deepEqual(problems, []);
      assert.ok(m.references.length > 10, `found ${m.references.length} references`);
    });

    test('every variable and local is used', () => {
      const used = new Set(m.references.map((r) => r.ref.split('.').slice(0, 2).join('.')));
      const unusedVars = [...m.variables.keys()].filter((v) => !used.has(`var.${v}`));
      const unusedLocals = [...m.locals.keys()].filter((l) => !used.has(`local.${l}`));
      assert.deepEqual(unusedVars, [], 'unused variables');
      assert.deepEqual(unusedLocals, [], 'unused locals');
    });

    test('variables are typed, described and validated', () => {
      const problems: string[] = [];
      for (const [name, v] of m.variables) {
        if (typeof v.type !== 'string') problems.push(`${name}: no type`);
        if (typeof v.description !== 'string' || v.description.length < 15) problems.push(`${name}: no description`);
        const exempt = v.type === '${bool}' || name === 'tags';
        if (!exempt && !(Array.isArray(v.validation) && v.validation.length > 0)) problems.push(`${name}: no validation`);
        for (const val of (v.validation ?? []) as Block[]) {
          if (!String(val.condition).includes(`var.${name}`)) problems.push(`${name}: a validation that does not test var.${name}`);
          if (typeof val.error_message !== 'string' || !val.error_message.endsWith('.')) problems.push(`${name}: error_message must be a sentence`);
        }
      }
      assert.deepEqual(problems, []);
    });

    test('outputs are documented and have values', () => {
      assert.ok(m.outputs.size >= 3);
      for (const [name, o] of m.outputs) {
        assert.ok(typeof o.description === 'string' && o.description.length >= 15, `output ${name} needs a description`);
        assert.ok(o.value !== undefined, `output ${name} has no value`);
      }
      for (const o of ['bootstrap_servers', 'drill_command']) assert.ok(m.outputs.has(o), `output ${o}`);
    });

    test('versions.tf pins Terraform and every provider used', () => {
      assert.ok(m.files.includes('versions.tf'));
      assert.equal(m.terraform.length, 1, 'one terraform block');
      const t = m.terraform[0]!;
      assert.match(String(t.required_version), />= 1\.\d+\.\d+, < 2\.0\.0/);
      const providers = Object.assign({}, ...(t.required_providers as Block[]));
      for (const [name, p] of Object.entries(providers as Record<string, Block>)) {
        assert.equal(p.source, `hashicorp/${name}`);
        assert.match(String(p.version), /^~> \d+\.\d+$/, `${name} pinned to a minor series`);
      }
      const used = new Set([...m.resources.keys(), ...m.data.keys()].map((k) => k.split('_')[0]!).filter((p) => p !== 'terraform'));
      const example = dir.includes('examples');
      for (const p of used) assert.ok(p in providers, `provider ${p} used but not in required_providers`);
      if (example) {
        const target = loaded.get(EXAMPLES[dir as keyof typeof EXAMPLES]);
        const modProviders = Object.assign({}, ...(target!.terraform[0]!.required_providers as Block[]));
        assert.deepEqual(providers, modProviders, 'example pins the same providers as the module');
      }
    });

    test('a README with a usage example', () => {
      const readme = join(repoRoot, dir, 'README.md');
      assert.ok(existsSync(readme), `${dir}/README.md`);
      const md = readFileSync(readme, 'utf8');
      assert.match(md, /```hcl[\s\S]*module "ferry"[\s\S]*source\s*=/);
      if (!dir.includes('examples')) {
        for (const v of m.variables.keys()) assert.ok(md.includes(`\`${v}\``), `README documents input ${v}`);
        for (const o of m.outputs.keys()) assert.ok(md.includes(`\`${o}\``), `README documents output ${o}`);
      }
    });
  });
}

for (const [example, moduleDir] of Object.entries(EXAMPLES)) {
  test(`${example}: passes every required input of ${moduleDir} and only declared ones`, async () => {
    const ex = await mod(example);
    const target = await mod(moduleDir);
    assert.equal(ex.modules.size, 1);
    const call = ex.modules.get('ferry')!;
    const meta = new Set(['source', 'version', 'providers', 'count', 'for_each', 'depends_on']);
    const passed = Object.keys(call).filter((k) => !meta.has(k));
    const undeclared = passed.filter((k) => !target.variables.has(k));
    const required = [...target.variables].filter(([, v]) => !('default' in v)).map(([k]) => k);
    const missing = required.filter((k) => !passed.includes(k));
    assert.deepEqual(undeclared, [], 'inputs the module does not declare');
    assert.deepEqual(missing, [], 'required inputs not passed');
    assert.ok(required.length >= 2);
  });
}

describe('terraform/aws: promises', () => {
  let m: TerraformModule;
  before(async () => { m = await mod('terraform/aws'); });
  const res = (k: string): Block => { const r = m.resources.get(k); assert.ok(r, `resource ${k}`); return r; };

  test('every taggable resource carries local.common_tags, which holds ferry:cluster', () => {
    const taggable = [
      'aws_vpc', 'aws_subnet', 'aws_internet_gateway', 'aws_eip', 'aws_nat_gateway', 'aws_route_table', 'aws_vpc_endpoint',
      'aws_security_group', 'aws_s3_bucket', 'aws_ebs_volume', 'aws_instance', 'aws_iam_role', 'aws_iam_instance_profile',
    ];
    let n = 0;
    for (const [key, r] of m.resources) {
      if (!taggable.includes(key.split('.')[0]!)) continue;
      assert.match(text(r.tags), /local\.common_tags/, `${key} tags`);
      n++;
    }
    assert.ok(n >= 15, `${n} tagged resources`);
    assert.match(text(m.locals.get('common_tags')), /\\"ferry:cluster\\" = var\.cluster_name/);
    for (const k of ['aws_instance.broker', 'aws_instance.etcd']) {
      // volume_tags would also retag the attached WAL volumes and fight their own tags.
      assert.equal(res(k).volume_tags, undefined, `${k}: no volume_tags`);
      assert.match(text(res(k).root_block_device), /local\.common_tags/, `${k}: root volume tags`);
    }
  });

  test('WAL volumes: one per broker, in the broker\'s zone, gp3/io2 with IOPS and throughput inputs, encrypted, tagged for the remount controller', () => {
    const vol = res('aws_ebs_volume.wal');
    const inst = res('aws_instance.broker');
    assert.equal(vol.count, '${var.broker_count}');
    assert.equal(inst.count, '${var.broker_count}');
    assert.equal(vol.availability_zone, '${local.brokers[count.index].az}');
    assert.equal(inst.subnet_id, '${local.brokers[count.index].subnet_id}');
    assert.equal(vol.type, '${var.wal_volume_type}');
    assert.equal(vol.iops, '${var.wal_volume_iops}');
    assert.match(String(vol.throughput), /var\.wal_volume_throughput_mibps/);
    assert.equal(vol.encrypted, true);
    assert.match(text(vol.tags), /\\"ferry:role\\"\s+= \\"wal\\"/);
    assert.match(text(vol.tags), /\\"ferry:broker-id\\"/);
    assert.match(text(inst.tags), /\\"ferry:broker-id\\"/);
    assert.match(text(m.variables.get('wal_volume_type')!.validation), /\[\\"gp3\\", \\"io2\\"\]/);
    const att = res('aws_volume_attachment.wal');
    assert.equal(att.volume_id, '${aws_ebs_volume.wal[count.index].id}');
    assert.equal(att.instance_id, '${aws_instance.broker[count.index].id}');
  });

  test('brokers and etcd are spread over three zones', () => {
    const brokers = String(m.locals.get('brokers'));
    assert.match(brokers, /az\s+= local\.azs\[i % 3\]/);
    assert.match(brokers, /subnet_id\s+= local\.subnet_ids\[i % 3\]/);
    assert.match(brokers, /local\.subnet_cidrs\[i % 3\]/);
    assert.match(String(m.locals.get('azs')), /slice\(data\.aws_availability_zones\.available\.names, 0, 3\)/);
    const checks = text(res('terraform_data.input_checks').lifecycle);
    assert.match(checks, /length\(distinct\(local\.azs\)\) == 3/);
    const etcd = res('aws_instance.etcd');
    assert.equal(etcd.count, 3);
    assert.equal(etcd.subnet_id, '${local.subnet_ids[count.index]}');
    assert.equal(res('aws_subnet.private').count, '${local.create_vpc ? 3 : 0}');
    assert.equal(res('aws_subnet.private').availability_zone, '${local.azs[count.index]}');
  });

  test('IAM: only the allowed actions; S3 on the bucket only; volume moves conditioned on the cluster tag', () => {
    const doc = m.data.get('aws_iam_policy_document.broker')!;
    const statements: Block[] = [...(doc.statement as Block[])];
    for (const d of (doc.dynamic?.statement ?? []) as Block[]) statements.push(...(d.content as Block[]));
    const allowed = new Set([
      's3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts',
      's3:ListBucket', 's3:ListBucketMultipartUploads',
      'ec2:AttachVolume', 'ec2:DetachVolume', 'ec2:DescribeVolumes',
      'kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant',
      'secretsmanager:GetSecretValue',
    ]);
    const actions = statements.flatMap((s) => s.actions as string[]);
    assert.deepEqual(actions.filter((a) => !allowed.has(a)), [], 'actions outside the allowed list');
    assert.ok(!actions.some((a) => a.includes('*')), 'no wildcard actions');
    for (const s of statements) {
      assert.ok(s.effect === undefined || s.effect === 'Allow');
      assert.equal(s.not_actions, undefined);
      const acts = s.actions as string[];
      const resources = s.resources as string[];
      if (acts.some((a) => a.startsWith('s3:'))) {
        assert.ok(resources.every((r) => r.startsWith('${local.bucket_arn}')), `S3 statement ${s.sid} limited to the bucket: ${resources}`);
      }
      if (acts.some((a) => a === 'ec2:AttachVolume' || a === 'ec2:DetachVolume')) {
        const cond = (s.condition as Block[]) ?? [];
        assert.ok(cond.some((c) => c.test === 'StringEquals' && c.variable === 'aws:ResourceTag/ferry:cluster' && text(c.values) === text(['${var.cluster_name}'])),
          'Attach/DetachVolume need ferry:cluster = cluster_name');
        assert.ok(resources.every((r) => /:(volume|instance)\/\*$/.test(r)));
      }
      if (acts.includes('ec2:DescribeVolumes')) {
        assert.deepEqual(acts, ['ec2:DescribeVolumes'], 'DescribeVolumes alone (it cannot take a tag condition)');
        assert.ok((s.condition as Block[]).some((c) => c.variable === 'aws:RequestedRegion'));
      }
      if (resources.includes('*')) assert.deepEqual(acts, ['ec2:DescribeVolumes'], 'only DescribeVolumes on "*"');
      if (acts.some((a) => a.startsWith('kms:'))) assert.ok((s.condition as Block[]).some((c) => c.variable === 'kms:ViaService'));
      if (acts.includes('secretsmanager:GetSecretValue')) {
        assert.deepEqual(acts, ['secretsmanager:GetSecretValue'], 'GetSecretValue alone');
        assert.equal(s.resources, '${statement.value}', 'only the secrets the module names (local.secret_arns)');
      }
    }
    for (const a of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket', 'ec2:AttachVolume', 'ec2:DetachVolume', 'ec2:DescribeVolumes']) {
      assert.ok(actions.includes(a), `${a} granted`);
    }
    assert.equal(res('aws_iam_role_policy.broker').policy, '${data.aws_iam_policy_document.broker.json}');
    assert.equal(res('aws_instance.broker').iam_instance_profile, '${aws_iam_instance_profile.broker.name}');
    assert.equal(res('aws_instance.etcd').iam_instance_profile, undefined, 'etcd nodes get no role');
  });

  test('S3 bucket: encrypted, public access blocked, owner enforced, TLS only, lifecycle with optional IA', () => {
    const pab = res('aws_s3_bucket_public_access_block.objects');
    for (const k of ['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets']) assert.equal(pab[k], true, k);
    const sse = text(res('aws_s3_bucket_server_side_encryption_configuration.objects'));
    assert.match(sse, /AES256/);
    assert.match(sse, /aws:kms/);
    assert.match(text(res('aws_s3_bucket_ownership_controls.objects')), /BucketOwnerEnforced/);
    assert.match(text(res('aws_s3_bucket_policy.objects')), /aws:SecureTransport/);
    const lc = res('aws_s3_bucket_lifecycle_configuration.objects');
    const rules = lc.rule as Block[];
    assert.ok(rules.some((r) => r.abort_incomplete_multipart_upload));
    const ia = rules.find((r) => text(r.transition).includes('STANDARD_IA'));
    assert.ok(ia, 'an infrequent-access transition rule');
    assert.match(String(ia.status), /var\.infrequent_access_after_days == null \? \\?"Disabled\\?" : \\?"Enabled\\?"/);
    assert.equal(m.variables.get('infrequent_access_after_days')!.default, null, 'IA is opt-in');
  });

  test('security groups: no ingress from anywhere; etcd reachable only from brokers and peers; IMDSv2 required', () => {
    for (const [k, r] of m.resources) {
      if (k.startsWith('aws_vpc_security_group_ingress_rule.')) {
        assert.notEqual(r.cidr_ipv4, '0.0.0.0/0', k);
        if (k.startsWith('aws_vpc_security_group_ingress_rule.etcd_') && k !== 'aws_vpc_security_group_ingress_rule.etcd_ssh') {
          assert.match(String(r.referenced_security_group_id), /aws_security_group\.(broker|etcd)\.id/, k);
        }
      }
    }
    assert.match(text(m.variables.get('ssh_cidr_blocks')!.validation), /0\.0\.0\.0\/0/);
    for (const k of ['aws_instance.broker', 'aws_instance.etcd']) {
      const md = (res(k).metadata_options as Block[])[0]!;
      assert.equal(md.http_tokens, 'required', `${k} IMDSv2`);
    }
  });
});

describe('terraform/azure: promises', () => {
  let m: TerraformModule;
  before(async () => { m = await mod('terraform/azure'); });
  const res = (k: string): Block => { const r = m.resources.get(k); assert.ok(r, `resource ${k}`); return r; };

  test('every taggable resource carries local.common_tags, which holds ferry-cluster', () => {
    const untaggable = new Set([
      'azurerm_subnet', 'azurerm_storage_container', 'azurerm_storage_management_policy', 'azurerm_role_assignment', 'azurerm_role_definition',
      'azurerm_virtual_machine_data_disk_attachment', 'azurerm_nat_gateway_public_ip_association', 'azurerm_subnet_nat_gateway_association',
      'azurerm_subnet_network_security_group_association', 'azurerm_network_interface_application_security_group_association',
    ]);
    let n = 0;
    for (const [key, r] of m.resources) {
      const type = key.split('.')[0]!;
      if (!type.startsWith('azurerm_') || untaggable.has(type)) continue;
      assert.match(text(r.tags), /local\.common_tags/, `${key} tags`);
      n++;
    }
    assert.ok(n >= 14, `${n} tagged resources`);
    assert.match(text(m.locals.get('common_tags')), /\\"ferry-cluster\\" = var\.cluster_name/);
  });

  test('WAL disks are ZRS (no zone), one per broker, attached uncached; VMs spread over the three zones', () => {
    const disk = res('azurerm_managed_disk.wal');
    assert.equal(disk.count, '${var.broker_count}');
    assert.equal(disk.storage_account_type, '${var.wal_disk_sku}');
    assert.equal(disk.zone, undefined, 'a ZRS disk has no zone');
    assert.equal(disk.zones, undefined);
    assert.match(text(m.variables.get('wal_disk_sku')!.validation), /\[\\"Premium_ZRS\\", \\"StandardSSD_ZRS\\"\]/);
    assert.equal(m.variables.get('wal_disk_sku')!.default, 'Premium_ZRS');
    assert.match(text(disk.tags), /\\"ferry-role\\"\s+= \\"wal\\"/);
    assert.match(text(disk.tags), /\\"ferry-broker-id\\"/);
    const att = res('azurerm_virtual_machine_data_disk_attachment.wal');
    assert.equal(att.caching, 'None');
    assert.equal(att.managed_disk_id, '${azurerm_managed_disk.wal[count.index].id}');
    assert.equal(att.virtual_machine_id, '${azurerm_linux_virtual_machine.broker[count.index].id}');
    assert.equal(res('azurerm_linux_virtual_machine.broker').zone, '${local.brokers[count.index].zone}');
    assert.match(String(m.locals.get('brokers')), /zone\s+= var\.zones\[i % 3\]/);
    assert.deepEqual(m.variables.get('zones')!.default, ['1', '2', '3']);
    const etcd = res('azurerm_linux_virtual_machine.etcd');
    assert.equal(etcd.count, 3);
    assert.equal(etcd.zone, '${var.zones[count.index]}');
  });

  test('identity: blob access on the container only; disk moves through a minimal custom role on each disk and broker VM', () => {
    const allowedActions = new Set([
      'Microsoft.Compute/disks/read', 'Microsoft.Compute/disks/write',
      'Microsoft.Compute/virtualMachines/read', 'Microsoft.Compute/virtualMachines/write',
    ]);
    const role = res('azurerm_role_definition.wal_disk_mover');
    const perms = (role.permissions as Block[])[0]!;
    assert.deepEqual((perms.actions as string[]).filter((a) => !allowedActions.has(a)), []);
    assert.equal(perms.data_actions, undefined);
    assert.deepEqual(role.assignable_scopes, ['${azurerm_resource_group.this.id}']);
    const assignments = [...m.resources].filter(([k]) => k.startsWith('azurerm_role_assignment.'));
    assert.equal(assignments.length, 4);
    const scopes = Object.fromEntries(assignments.map(([k, r]) => [k, r.scope]));
    assert.deepEqual(scopes, {
      'azurerm_role_assignment.broker_blob': '${azurerm_storage_container.objects.id}',
      'azurerm_role_assignment.broker_wal_disk': '${azurerm_managed_disk.wal[count.index].id}',
      'azurerm_role_assignment.broker_vm': '${azurerm_linux_virtual_machine.broker[count.index].id}',
      'azurerm_role_assignment.broker_secrets': '${var.key_vault_id}/secrets/${local.secret_names[count.index]}',
    });
    assert.equal(res('azurerm_role_assignment.broker_secrets').role_definition_name, 'Key Vault Secrets User', 'read-only, secrets only');
    assert.equal(res('azurerm_role_assignment.broker_secrets').count, '${var.security_enabled ? length(local.secret_names) : 0}');
    assert.equal(res('azurerm_role_assignment.broker_blob').role_definition_name, 'Storage Blob Data Contributor');
    for (const [, r] of assignments) assert.equal(r.principal_id, '${azurerm_user_assigned_identity.broker.principal_id}');
    const vmIdentity = (res('azurerm_linux_virtual_machine.broker').identity as Block[])[0]!;
    assert.equal(vmIdentity.type, 'UserAssigned');
    assert.equal(res('azurerm_linux_virtual_machine.etcd').identity, undefined, 'etcd VMs get no identity');
  });

  test('storage account: zone-redundant, HTTPS and TLS 1.2 only, no public blobs, no shared keys, subnet-only network', () => {
    const sa = res('azurerm_storage_account.objects');
    assert.equal(sa.account_replication_type, '${var.storage_replication}');
    assert.match(text(m.variables.get('storage_replication')!.validation), /ZRS/);
    assert.equal(sa.https_traffic_only_enabled, true);
    assert.equal(sa.min_tls_version, 'TLS1_2');
    assert.equal(sa.allow_nested_items_to_be_public, false);
    assert.equal(sa.shared_access_key_enabled, false);
    assert.equal((sa.network_rules as Block[])[0]!.default_action, 'Deny');
    assert.equal(res('azurerm_storage_container.objects').container_access_type, 'private');
    assert.match(text(res('azurerm_storage_management_policy.objects')), /tier_to_cool_after_days_since_modification_greater_than/);
  });

  test('network security: no inbound from the internet; SSH only when asked; the rest of the VNet denied', () => {
    const nsg = res('azurerm_network_security_group.cluster');
    const rules = nsg.security_rule as Block[];
    for (const r of rules) {
      if (r.direction !== 'Inbound' || r.access !== 'Allow') continue;
      assert.notEqual(r.source_address_prefix, '*');
      assert.notEqual(r.source_address_prefix, 'Internet');
    }
    assert.ok(rules.some((r) => r.access === 'Deny' && r.direction === 'Inbound' && r.source_address_prefix === 'VirtualNetwork'));
    assert.match(text(nsg.dynamic), /length\(var\.ssh_cidr_blocks\) > 0/);
  });
});

test('the reference checker reports undeclared names (it is not vacuous)', async () => {
  const m = await mod('terraform/aws');
  assert.equal(unresolved(m, 'var.cluster_name'), null);
  assert.match(unresolved(m, 'var.no_such_input')!, /variable no_such_input is not declared/);
  assert.match(unresolved(m, 'local.no_such_local')!, /local no_such_local/);
  assert.match(unresolved(m, 'aws_instance.no_such')!, /no resource aws_instance\.no_such/);
  assert.match(unresolved(m, 'data.aws_ami.no_such')!, /data source aws_ami\.no_such/);
  const ex = await mod('terraform/examples/aws');
  assert.match(unresolved(ex, 'module.ferry.no_such_output', new Map([['ferry', new Set(m.outputs.keys())]]))!, /no output no_such_output/);
  // And references inside for-expression bodies are found (the parser's own list misses them).
  assert.ok(m.references.some((r) => r.ref === 'local.subnet_cidrs' && r.where.includes('locals')));
});

describe('terraform: security_enabled (TLS, SASL, ACLs)', () => {
  for (const dir of MODULES) {
    test(`${dir}: off by default; the new listeners' ports are 9093 (SSL) and 9094 (SASL_SSL) and open to clients only with security_enabled; cross-checks`, async () => {
      const m = await mod(dir);
      assert.equal(m.variables.get('security_enabled')!.default, false);
      assert.equal(m.variables.get('plaintext_listener_enabled')!.default, true);
      assert.equal(m.variables.get('ssl_port')!.default, 9093);
      assert.equal(m.variables.get('sasl_ssl_port')!.default, 9094);
      assert.equal(m.variables.get('acl_authorizer_enabled')!.default, true);
      assert.equal(m.variables.get('ssl_client_auth')!.default, 'required');
      const checks = text(m.resources.get('terraform_data.security_checks')!.lifecycle);
      for (const c of ['var.plaintext_listener_enabled', 'var.ssl_client_auth == \\"none\\"', 'var.inter_broker_user != var.admin_user', 'length(distinct([var.kafka_port, var.ssl_port, var.sasl_ssl_port, var.metrics_port])) == 4']) {
        assert.ok(checks.includes(c), `security_checks: ${c}`);
      }
      const props = String(m.locals.get('security_properties'));
      assert.match(props, /inter\.broker\.listener\.name=SASL_SSL/);
      assert.match(props, /super\.users=User:\$\{var\.inter_broker_user\};User:\$\{var\.admin_user\}/, 'the inter-broker user is a super user');
      assert.doesNotMatch(props, /password|\$\{var\.[a-z_]*secret[a-z_]*\}/, "no secret in the broker config");
      for (const o of ['bootstrap_servers_ssl', 'bootstrap_servers_sasl_ssl', 'tls_certificate_names', 'client_properties']) assert.ok(m.outputs.has(o), o);
      assert.doesNotMatch(text(m.outputs.get('client_properties')), /var\.|password="[^<]/, 'client_properties holds no secret');
    });
  }

  test('terraform/aws: security groups open SSL and SASL_SSL to the client CIDRs, SASL_SSL between brokers, PLAINTEXT only when kept; secrets readable by ARN only', async () => {
    const m = await mod('terraform/aws');
    const rule = (k: string) => m.resources.get(`aws_vpc_security_group_ingress_rule.${k}`)!;
    assert.equal(rule('broker_ssl').for_each, '${var.security_enabled ? toset(local.client_cidrs) : toset([])}');
    assert.equal(rule('broker_ssl').from_port, '${var.ssl_port}');
    assert.equal(rule('broker_sasl_ssl').for_each, '${var.security_enabled ? toset(local.client_cidrs) : toset([])}');
    assert.equal(rule('broker_sasl_ssl').from_port, '${var.sasl_ssl_port}');
    assert.equal(rule('broker_sasl_ssl_self').referenced_security_group_id, '${aws_security_group.broker.id}');
    assert.equal(rule('broker_kafka').for_each, '${var.plaintext_listener_enabled ? toset(local.client_cidrs) : toset([])}');
    assert.equal(rule('broker_kafka_self').count, '${var.plaintext_listener_enabled ? 1 : 0}');
    const arns = String(m.locals.get('secret_arns'));
    for (const v of ['tls_keystore_secret_arn', 'tls_truststore_secret_arn', 'sasl_users_secret_arn']) assert.ok(arns.includes(`var.${v}`), v);
    const doc = m.data.get('aws_iam_policy_document.broker')!;
    const dyn = (doc.dynamic.statement as Block[]);
    const read = dyn.find((d) => text(d.content).includes('secretsmanager:GetSecretValue'))!;
    assert.equal(read.for_each, '${var.security_enabled ? [local.secret_arns] : []}');
    const kms = dyn.find((d) => text(d.content).includes('secretsmanager.${local.region}.amazonaws.com'))!;
    assert.match(String(kms.for_each), /var\.secrets_kms_key_arn != null/);
  });

  test('terraform/azure: the NSG opens every enabled client port (PLAINTEXT, SSL, SASL_SSL) to clients and between brokers', async () => {
    const m = await mod('terraform/azure');
    const rules = m.resources.get('azurerm_network_security_group.cluster')!.security_rule as Block[];
    for (const name of ['kafka-clients', 'kafka-brokers']) {
      const r = rules.find((x) => x.name === name)!;
      assert.equal(r.destination_port_ranges, '${local.kafka_ports}', name);
      assert.equal(r.destination_port_range, undefined, name);
    }
    assert.match(String(m.locals.get('kafka_ports')), /for name, port in local\.listener_ports : tostring\(port\)/);
  });
});
