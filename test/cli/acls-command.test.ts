// `ferry acls` (Kafka's kafka-acls.sh) against the ACL APIs served on a real KafkaServer socket
// with the real AclStore (local metadata store) and AclAuthorizer (test/security/acl/acl-harness.ts:
// the broker's authorizer.class.name wiring is the lead's). Plaintext connections are
// User:ANONYMOUS, made a super user here; a second server without it shows the cluster check, a
// third without an authorizer SECURITY_DISABLED. Usage errors are kafka-acls.sh's messages.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { runAcls, planAcls } from '../../src/cli/acls-command.js';
import { Args } from '../../src/cli/args.js';
import { AclStore } from '../../src/security/acl/acl-store.js';
import { AclAuthorizer } from '../../src/security/acl/acl-authorizer.js';
import { ALLOW_ALL } from '../../src/security/types.js';
import { LocalMetadataStore } from '../../src/cluster/local-metadata-store.js';
import { aclApis, serveAclApis } from '../security/acl/acl-harness.js';
import { ferryProcess, type CliResult } from './run-cli.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const log = pino({ level: 'silent' });

async function acls(...argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runAcls(argv, { out: (t) => { stdout += t; }, err: (t) => { stderr += t; } });
  return { code, stdout, stderr };
}

interface Served { bootstrap: string; acls: AclStore; authorizer: AclAuthorizer; close(): Promise<void> }

async function serve(superUsers: string): Promise<Served> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-acls-cli-'));
  const store = await LocalMetadataStore.open(dir);
  const aclStore = new AclStore({ store, root: '/ferry/cli/', log });
  const authorizer = new AclAuthorizer({ log, superUsers });
  aclStore.subscribe(authorizer);
  await aclStore.start();
  const server = await serveAclApis(aclApis(authorizer, aclStore));
  return {
    bootstrap: server.bootstrap, acls: aclStore, authorizer,
    async close() { await server.close(); aclStore.close(); await store.close(); await rm(dir, { recursive: true, force: true }); },
  };
}

type JsonAcl = { resourceType: string; resourceName: string; patternType: string; principal: string; host: string; operation: string; permissionType: string };
const key = (a: JsonAcl) => `${a.resourceType} ${a.patternType} ${a.resourceName} ${a.permissionType} ${a.principal} ${a.host} ${a.operation}`;

describe('ferry acls', { timeout: 60_000 }, () => {
  let s: Served;
  let b: string;
  before(async () => { s = await serve('User:ANONYMOUS'); b = s.bootstrap; });
  after(async () => { await s?.close(); });

  async function listJson(...extra: string[]): Promise<string[]> {
    const r = await acls('--bootstrap-server', b, '--list', '--json', ...extra);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as JsonAcl[]).map(key).sort();
  }

  test('--add with principals, hosts and operations; adding again says it exists', async () => {
    const r = await acls('--bootstrap-server', b, '--add', '--allow-principal', 'User:alice', '--allow-principal', ' User:bob ',
      '--allow-host', '10.0.0.1', '--operation', 'Read', '--operation', 'DESCRIBE_CONFIGS', '--topic', 'orders');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Adding ACLs for resource `ResourcePattern\(resourceType=TOPIC, name=orders, patternType=LITERAL\)`: \n \t\(principal=User:alice, host=10\.0\.0\.1, operation=READ, permissionType=ALLOW\)\n/);
    assert.equal(s.authorizer.aclCount, 4);
    const again = await acls('--bootstrap-server', b, '--add', '--allow-principal', 'User:alice', '--allow-host', '10.0.0.1', '--operation', 'read', '--topic', 'orders');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'Acl (pattern=ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL), entry=(principal=User:alice, host=10.0.0.1, operation=READ, permissionType=ALLOW)) already exists.\n');
    const deny = await acls('--bootstrap-server', b, '--add', '--deny-principal', 'User:mallory', '--topic', 'orders', '--group', 'billing');
    assert.equal(deny.code, 0, deny.stderr);
    assert.deepEqual(await listJson('--topic', 'orders'), [
      'TOPIC LITERAL orders ALLOW User:alice 10.0.0.1 DESCRIBE_CONFIGS', 'TOPIC LITERAL orders ALLOW User:alice 10.0.0.1 READ',
      'TOPIC LITERAL orders ALLOW User:bob 10.0.0.1 DESCRIBE_CONFIGS', 'TOPIC LITERAL orders ALLOW User:bob 10.0.0.1 READ',
      'TOPIC LITERAL orders DENY User:mallory * ALL',
    ]);
  });

  test('--producer and --consumer conveniences (prefixed, idempotent, transactional id)', async () => {
    const p = await acls('--bootstrap-server', b, '--add', '--allow-principal', 'User:app', '--producer', '--idempotent',
      '--topic', 'app-', '--transactional-id', 'app-txn-', '--resource-pattern-type', 'prefixed');
    assert.equal(p.code, 0, p.stderr);
    const c = await acls('--bootstrap-server', b, '--add', '--allow-principal', 'User:reader', '--consumer', '--topic', 'app-', '--group', 'app-readers', '--resource-pattern-type', 'PREFIXED');
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(await listJson('--principal', 'User:app'), [
      'CLUSTER LITERAL kafka-cluster ALLOW User:app * IDEMPOTENT_WRITE',
      'TOPIC PREFIXED app- ALLOW User:app * CREATE', 'TOPIC PREFIXED app- ALLOW User:app * DESCRIBE', 'TOPIC PREFIXED app- ALLOW User:app * WRITE',
      'TRANSACTIONAL_ID PREFIXED app-txn- ALLOW User:app * DESCRIBE', 'TRANSACTIONAL_ID PREFIXED app-txn- ALLOW User:app * WRITE',
    ]);
    assert.deepEqual(await listJson('--principal', 'User:reader'), [
      'GROUP PREFIXED app-readers ALLOW User:reader * READ', 'TOPIC PREFIXED app- ALLOW User:reader * DESCRIBE', 'TOPIC PREFIXED app- ALLOW User:reader * READ',
    ]);
    // What the brokers decide from them.
    const session = (name: string) => ({ listenerName: 'PLAINTEXT', securityProtocol: 'PLAINTEXT' as const, clientAddress: '10.9.9.9', principal: { type: 'User', name }, sasl: 'none' as const, mechanism: null, expiresAtMs: null, exchange: null, rawToken: null });
    assert.equal(s.authorizer.authorize(session('app'), 'WRITE', 'TOPIC', 'app-events'), true);
    assert.equal(s.authorizer.authorize(session('app'), 'WRITE', 'TRANSACTIONAL_ID', 'app-txn-1'), true);
    assert.equal(s.authorizer.authorize(session('app'), 'IDEMPOTENT_WRITE', 'CLUSTER', 'kafka-cluster'), true);
    assert.equal(s.authorizer.authorize(session('reader'), 'READ', 'GROUP', 'app-readers-2'), true);
    assert.equal(s.authorizer.authorize(session('reader'), 'WRITE', 'TOPIC', 'app-events'), false);
  });

  test('--list: Kafka\'s text; a resource, MATCH, --principal', async () => {
    const one = await acls('--bootstrap-server', b, '--list', '--group', 'billing');
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, 'Current ACLs for resource `ResourcePattern(resourceType=GROUP, name=billing, patternType=LITERAL)`:\n\t(principal=User:mallory, host=*, operation=ALL, permissionType=DENY)\n\n');
    // MATCH lists every pattern that applies to the name.
    assert.deepEqual(await listJson('--topic', 'app-events', '--resource-pattern-type', 'match'), [
      'TOPIC PREFIXED app- ALLOW User:app * CREATE', 'TOPIC PREFIXED app- ALLOW User:app * DESCRIBE', 'TOPIC PREFIXED app- ALLOW User:app * WRITE',
      'TOPIC PREFIXED app- ALLOW User:reader * DESCRIBE', 'TOPIC PREFIXED app- ALLOW User:reader * READ',
    ]);
    assert.deepEqual(await listJson('--topic', 'app-events'), [], 'LITERAL (the default) is the exact pattern only');
    const byPrincipal = await acls('--bootstrap-server', b, '--list', '--principal', 'User:mallory');
    assert.equal(byPrincipal.stdout, 'ACLs for principal `User:mallory`\n'
      + 'Current ACLs for resource `ResourcePattern(resourceType=GROUP, name=billing, patternType=LITERAL)`:\n\t(principal=User:mallory, host=*, operation=ALL, permissionType=DENY)\n\n'
      + 'Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`:\n\t(principal=User:mallory, host=*, operation=ALL, permissionType=DENY)\n\n');
    const all = await listJson();
    assert.equal(all.length, 5 + 1 + 9, 'orders (5), billing (1), app (6) and reader (3)');
  });

  test('--remove: given entries, or every ACL of a resource; --json', async () => {
    const r = await acls('--bootstrap-server', b, '--remove', '--allow-principal', 'User:bob', '--allow-host', '10.0.0.1', '--operation', 'Read', '--topic', 'orders', '--force');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Removed ACLs from resource filter `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`:\n'
      + ' ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL):\n\t(principal=User:bob, host=10.0.0.1, operation=READ, permissionType=ALLOW)\n\n');
    const none = await acls('--bootstrap-server', b, '--remove', '--allow-principal', 'User:bob', '--allow-host', '10.0.0.1', '--operation', 'Read', '--topic', 'orders');
    assert.match(none.stdout, /^No ACLs matched resource filter/);
    const j = await acls('--bootstrap-server', b, '--remove', '--topic', 'orders', '--json');
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual((JSON.parse(j.stdout).removed as JsonAcl[]).map(key).sort(), [
      'TOPIC LITERAL orders ALLOW User:alice 10.0.0.1 DESCRIBE_CONFIGS', 'TOPIC LITERAL orders ALLOW User:alice 10.0.0.1 READ',
      'TOPIC LITERAL orders ALLOW User:bob 10.0.0.1 DESCRIBE_CONFIGS', 'TOPIC LITERAL orders DENY User:mallory * ALL',
    ]);
    const m = await acls('--bootstrap-server', b, '--remove', '--topic', 'app-x', '--resource-pattern-type', 'match', '--json');
    assert.equal(JSON.parse(m.stdout).removed.length, 5, 'MATCH removes the prefixed patterns that apply');
    assert.deepEqual(await listJson('--topic', 'orders'), []);
  });

  test('--command-config: the client properties file is read (PLAINTEXT here); --help', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-acls-cfg-'));
    try {
      const file = join(dir, 'client.properties');
      await writeFile(file, 'security.protocol=PLAINTEXT\nrequest.timeout.ms=5000\n');
      const r = await acls('--bootstrap-server', b, '--command-config', file, '--list', '--group', 'billing', '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).length, 1);
      const bad = await acls('--bootstrap-server', b, '--command-config', join(dir, 'missing.properties'), '--list');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /missing\.properties/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const help = await acls('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: ferry acls \(--list \| --add \| --remove\)/);
  });

  test('through the real entry point: ferry acls --list', async () => {
    const r = await ferryProcess(['acls', '--bootstrap-server', b, '--list', '--group', 'billing']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Current ACLs for resource `ResourcePattern\(resourceType=GROUP, name=billing, patternType=LITERAL\)`:/);
  });

  test('cluster authorization: a principal that may not ALTER the cluster gets CLUSTER_AUTHORIZATION_FAILED', async () => {
    const other = await serve('User:admin');
    try {
      const r = await acls('--bootstrap-server', other.bootstrap, '--add', '--allow-principal', 'User:x', '--topic', 't');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /CLUSTER_AUTHORIZATION_FAILED/);
      const l = await acls('--bootstrap-server', other.bootstrap, '--list');
      assert.equal(l.code, 1);
      assert.match(l.stderr, /describe ACLs: CLUSTER_AUTHORIZATION_FAILED \(Cluster authorization failed\.\)/);
    } finally {
      await other.close();
    }
  });

  test('no authorizer on the broker: SECURITY_DISABLED', async () => {
    const server = await serveAclApis(aclApis(ALLOW_ALL, null));
    try {
      const r = await acls('--bootstrap-server', server.bootstrap, '--list');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /SECURITY_DISABLED \(No Authorizer is configured on the broker\)/);
    } finally {
      await server.close();
    }
  });
});

describe('ferry acls: command-line checks (kafka-acls.sh messages, exit 2 before connecting)', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--topic', 't'], /Command must include exactly one action: --list, --add, --remove\./],
    [['--list', '--add'], /exactly one action/],
    [['--list', '--producer', '--topic', 't'], /Option "\[list\]" can't be used with option "\[producer\]"/],
    [['--list', '--allow-principal', 'User:a'], /Option "\[list\]" can't be used with option "\[allow-principal\]"/],
    [['--add', '--producer', '--operation', 'Read', '--topic', 't', '--allow-principal', 'User:a'], /Option "\[producer\]" can't be used with option "\[operation\]"/],
    [['--add', '--consumer', '--deny-principal', 'User:a', '--topic', 't', '--group', 'g'], /Option "\[consumer\]" can't be used with option "\[deny-principal\]"/],
    [['--add', '--principal', 'User:a', '--topic', 't'], /The --principal option is only available if --list is set/],
    [['--add', '--producer', '--allow-principal', 'User:a'], /With --producer you must specify a --topic/],
    [['--add', '--idempotent', '--topic', 't', '--allow-principal', 'User:a'], /The --idempotent option is only available if --producer is set/],
    [['--add', '--consumer', '--topic', 't', '--allow-principal', 'User:a'], /With --consumer you must specify a --topic and a --group/],
    [['--add', '--consumer', '--topic', 't', '--group', 'g', '--cluster', '--allow-principal', 'User:a'], /no --cluster or --transactional-id/],
    [['--add', '--topic', 't', '--allow-principal', 'User:a', '--resource-pattern-type', 'match'], /A '--resource-pattern-type' value of 'MATCH' is not valid when adding acls\./],
    [['--add', '--topic', 't'], /You must specify one of: --allow-principal, --deny-principal when trying to add ACLs\./],
    [['--add', '--allow-principal', 'User:a'], /You must provide at least one resource: --topic <topic> or --cluster/],
    [['--add', '--group', 'g', '--allow-principal', 'User:a', '--operation', 'Write'], /ResourceType GROUP only supports operations \[READ, DESCRIBE, DELETE, DESCRIBE_CONFIGS, ALTER_CONFIGS, ALL\]/],
    [['--add', '--transactional-id', 'x', '--allow-principal', 'User:a', '--operation', 'Read'], /ResourceType TRANSACTIONAL_ID only supports operations/],
    [['--add', '--topic', 't', '--allow-principal', 'alice'], /expected a string in format principalType:principalName but got alice/],
    [['--add', '--topic', 't', '--allow-principal', 'User:a', '--operation', 'Fly'], /unknown --operation 'Fly'/],
    [['--list', '--resource-pattern-type', 'regex'], /Unknown resource-pattern-type: regex/],
    [['--list', 'extra'], /unexpected argument extra/],
  ];
  for (const [argv, want] of cases) {
    test(argv.join(' '), async () => {
      const r = await acls('--bootstrap-server', '127.0.0.1:1', ...argv);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, want);
    });
  }

  test('plans: operation spellings, default host and operation, cluster only for LITERAL', () => {
    const plan = (...argv: string[]) => planAcls(Args.parse(argv, {
      list: { kind: 'bool' }, add: { kind: 'bool' }, remove: { kind: 'bool' }, topic: { kind: 'list' }, cluster: { kind: 'bool' },
      'allow-principal': { kind: 'list' }, operation: { kind: 'list' }, 'resource-pattern-type': { kind: 'string' },
    }));
    const add = plan('--add', '--cluster', '--allow-principal', 'User:ops', '--operation', 'IdempotentWrite', '--operation', 'describe-configs', '--operation', 'ALTER_CONFIGS');
    assert.deepEqual(add, { action: 'add', resources: [{
      pattern: { resourceType: 'CLUSTER', resourceName: 'kafka-cluster', patternType: 'LITERAL' },
      entries: ['IDEMPOTENT_WRITE', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'].map((operation) => ({ principal: 'User:ops', host: '*', operation, permission: 'ALLOW' })),
    }] });
    const all = plan('--add', '--topic', 't', '--allow-principal', 'User:a');
    assert.deepEqual(all.action === 'add' && all.resources[0]!.entries, [{ principal: 'User:a', host: '*', operation: 'ALL', permission: 'ALLOW' }]);
    assert.deepEqual(plan('--list', '--cluster', '--resource-pattern-type', 'any'), { action: 'list', filters: [], principals: [] });
  });
});
