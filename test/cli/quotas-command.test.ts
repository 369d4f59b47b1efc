// `ferry quotas describe|alter` against the real DescribeClientQuotas/AlterClientQuotas handlers
// served by a KafkaServer on a loopback port (over a real QuotaStore); one run through the real
// entry point (src/cli/main.ts) as a child process.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runQuotas } from '../../src/cli/quotas-command.js';
import { LocalMetadataStore } from '../../src/cluster/local-metadata-store.js';
import { QuotaStore } from '../../src/security/quota/quota-store.js';
import { quotaApis, serveQuotaApis } from '../security/quota/quota-harness.js';
import { ferryProcess } from './run-cli.js';

async function quotasCli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runQuotas(argv, { out: (t) => { stdout += t; }, err: (t) => { stderr += t; } });
  return { code, stdout, stderr };
}

describe('ferry quotas', { timeout: 60_000 }, () => {
  let dir: string;
  let meta: LocalMetadataStore;
  let quotas: QuotaStore;
  let server: { bootstrap: string; close(): Promise<void> };
  let b: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-quotas-cli-'));
    meta = await LocalMetadataStore.open(join(dir, 'meta'));
    quotas = await QuotaStore.open({ store: meta, root: '/ferry/cli-test/' });
    server = await serveQuotaApis(quotaApis(quotas));
    b = server.bootstrap;
  });
  after(async () => {
    await server.close();
    quotas.close();
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('alter --add for a user and client id, describe it; defaults; --delete-config', async () => {
    let r = await quotasCli('alter', '--add', 'producer_byte_rate=1048576,consumer_byte_rate=2097152', '--user', 'alice', '--client-id', 'app', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Completed updating quota configs for user-principal 'alice', client-id 'app'.\n");
    r = await quotasCli('alter', '--add-config', 'request_percentage=25.5', '--user-default', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    r = await quotasCli('alter', '--add', 'connection_creation_rate=5', '--ip', '10.0.0.7', '--bootstrap-server', b);
    assert.equal(r.code, 0, r.stderr);

    r = await quotasCli('describe', '--user', 'alice', '--client-id', 'app', '-b', b);
    assert.equal(r.stdout, "Quota configs for user-principal 'alice', client-id 'app' are consumer_byte_rate=2097152, producer_byte_rate=1048576\n");
    r = await quotasCli('describe', '--user-default', '-b', b);
    assert.equal(r.stdout, 'Quota configs for the default user-principal are request_percentage=25.5\n');
    // --users: any user, and only users (strict), as kafka-configs --entity-type users.
    r = await quotasCli('describe', '--users', '-b', b);
    assert.equal(r.stdout, 'Quota configs for the default user-principal are request_percentage=25.5\n');
    r = await quotasCli('describe', '--ips', '-b', b);
    assert.equal(r.stdout, "Quota configs for ip '10.0.0.7' are connection_creation_rate=5\n");
    r = await quotasCli('describe', '--json', '-b', b);
    assert.deepEqual(JSON.parse(r.stdout), [
      { entity: { ip: '10.0.0.7' }, values: { connection_creation_rate: 5 } },
      { entity: { user: null }, values: { request_percentage: 25.5 } },
      { entity: { user: 'alice', 'client-id': 'app' }, values: { consumer_byte_rate: 2097152, producer_byte_rate: 1048576 } },
    ]);

    r = await quotasCli('alter', '--delete-config', 'consumer_byte_rate', '--user', 'alice', '--client-id', 'app', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    r = await quotasCli('describe', '--user', 'alice', '--clients', '-b', b);
    assert.equal(r.stdout, "Quota configs for user-principal 'alice', client-id 'app' are producer_byte_rate=1048576\n");
    r = await quotasCli('alter', '--delete-config', 'producer_byte_rate', '--user', 'alice', '--client-id', 'app', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    r = await quotasCli('describe', '--user', 'alice', '--client-id', 'app', '-b', b);
    assert.equal(r.stdout, 'No quota configs found.\n');
  });

  test('--validate-only writes nothing; the broker\'s refusals exit 1 with Kafka\'s error name', async () => {
    let r = await quotasCli('alter', '--add', 'producer_byte_rate=10', '--client-id', 'checked', '--validate-only', '-b', b);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Validated quota configs for client-id 'checked'.\n");
    r = await quotasCli('describe', '--client-id', 'checked', '-b', b);
    assert.equal(r.stdout, 'No quota configs found.\n');

    r = await quotasCli('alter', '--add', 'producer_byte_rate=1.5', '--client-id', 'c', '-b', b);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /INVALID_REQUEST.*producer_byte_rate cannot be a fractional value/);
    r = await quotasCli('alter', '--add', 'bytes_per_fortnight=1', '--user', 'u', '-b', b);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /INVALID_REQUEST.*Invalid configuration key bytes_per_fortnight/);
    r = await quotasCli('alter', '--add', 'producer_byte_rate=1', '--ip', '10.0.0.1', '-b', b);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /INVALID_REQUEST/);
  });

  test('usage errors exit 2 before connecting', async () => {
    const unreachable = '127.0.0.1:1';
    const cases: [string[], RegExp][] = [
      [['alter', '--add', 'producer_byte_rate=1'], /alter needs an entity/],
      [['alter', '--user', 'u'], /alter needs --add/],
      [['alter', '--user', 'u', '--add', 'producer_byte_rate=fast'], /is not a number/],
      [['alter', '--user', 'u', '--add', 'producer_byte_rate'], /expects key=value/],
      [['alter', '--users', '--add', 'producer_byte_rate=1'], /--users names no entity/],
      [['alter', '--user', 'u', '--user-default', '--add', 'producer_byte_rate=1'], /one of --user, --user-default and --users/],
      [['alter', '--user', 'u', '--add', 'producer_byte_rate=1', '--delete-config', 'producer_byte_rate'], /both added and deleted/],
      [['describe', '--add', 'producer_byte_rate=1'], /are for alter/],
      [['describe', '--client-id', ''], /needs a name/],
      [['explain'], /unknown action/],
      [['describe', '--no-such-flag'], /unknown option/],
    ];
    for (const [argv, message] of cases) {
      const r = await quotasCli(...argv, '-b', unreachable);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, argv.join(' '));
    }
    const help = await quotasCli('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: ferry quotas/);
  });

  test('--command-config is read (PLAINTEXT properties), and `ferry quotas` runs through the real entry point', async () => {
    const props = join(dir, 'client.properties');
    await writeFile(props, 'security.protocol=PLAINTEXT\nclient.id=quota-admin\n');
    let r = await quotasCli('alter', '--add', 'consumer_byte_rate=4096', '--client-default', '--command-config', props, '-b', b);
    assert.equal(r.code, 0, r.stderr);
    r = await ferryProcess(['quotas', 'describe', '--client-default', '--bootstrap-server', b]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Quota configs for the default client-id are consumer_byte_rate=4096\n');
  });
});
