// `ferry users list|describe|add|delete` against the real SCRAM credential APIs and SASL handlers
// on a loopback SASL listener (over a real local metadata store), connecting with
// --command-config (SASL/PLAIN as the admin); the users it adds then authenticate with SCRAM.
// One run through the real entry point (src/cli/main.ts) with the password on stdin.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runUsers } from '../../src/cli/users-command.js';
import { KafkaConnection } from '../../src/admin/kafka-connection.js';
import { AdminError } from '../../src/admin/errors.js';
import { startSaslTestBroker, type SaslTestBroker } from '../security/sasl/sasl-test-broker.js';

const ROOT = new URL('../..', import.meta.url).pathname;

describe('ferry users', { timeout: 60_000 }, () => {
  let dir: string;
  let broker: SaslTestBroker;
  let common: string[];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-users-cli-'));
    broker = await startSaslTestBroker();
    await writeFile(join(dir, 'admin.properties'), [
      'security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=PLAIN',
      'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret";', '',
    ].join('\n'));
    common = ['-b', broker.address, '--command-config', join(dir, 'admin.properties')];
  });
  after(async () => {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  });

  const users = async (argv: string[], stdin = '') => {
    let stdout = '';
    let stderr = '';
    const code = await runUsers(argv, { out: (t) => { stdout += t; }, err: (t) => { stderr += t; } }, async () => stdin);
    return { code, stdout, stderr };
  };
  const scramLogin = (user: string, password: string, mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512') =>
    KafkaConnection.connect(broker.address, { security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism, username: user, password } } }).then((c) => c.close());

  test('add (both mechanisms by default, password on stdin), list, describe, --json; the user then authenticates', async () => {
    let r = await users(['add', '--user', 'alice', ...common], 'alice-pw\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Added SCRAM-SHA-256 and SCRAM-SHA-512 credentials of user 'alice' (8192 iterations).\n");
    await writeFile(join(dir, 'bob.pw'), 'bob-pw\n');
    r = await users(['add', '--user', 'bob', '--mechanism', 'SCRAM-SHA-512', '--iterations', '4096', '--password-file', join(dir, 'bob.pw'), ...common]);
    assert.equal(r.code, 0, r.stderr);

    r = await users(['list', ...common]);
    assert.equal(r.stdout, [
      'USER   MECHANISM      ITERATIONS',
      'alice  SCRAM-SHA-256        8192',
      'alice  SCRAM-SHA-512        8192',
      'bob    SCRAM-SHA-512        4096', ''].join('\n'));
    r = await users(['describe', '--user', 'bob', ...common]);
    assert.equal(r.stdout, "SCRAM credential configs for user-principal 'bob' are SCRAM-SHA-512=iterations=4096\n");
    r = await users(['describe', '--user', 'alice', '--user', 'bob', '--json', ...common]);
    assert.deepEqual(JSON.parse(r.stdout), [
      { user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 8192 }, { mechanism: 'SCRAM-SHA-512', iterations: 8192 }] },
      { user: 'bob', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
    ]);
    await scramLogin('alice', 'alice-pw', 'SCRAM-SHA-256');
    await scramLogin('alice', 'alice-pw', 'SCRAM-SHA-512');
    await scramLogin('bob', 'bob-pw', 'SCRAM-SHA-512');
    await assert.rejects(scramLogin('bob', 'bob-pw', 'SCRAM-SHA-256'), (e: unknown) => e instanceof AdminError && e.errorName === 'SASL_AUTHENTICATION_FAILED');
  });

  test('add replaces a password; delete one mechanism, then the rest; deleting or describing a missing user is RESOURCE_NOT_FOUND', async () => {
    let r = await users(['add', '--user', 'carol', '--password', 'old', ...common]);
    assert.equal(r.code, 0, r.stderr);
    r = await users(['add', '--user', 'carol', '--password', 'new', '--mechanism', 'scram-sha-256', ...common]);
    assert.equal(r.code, 0, r.stderr);
    await scramLogin('carol', 'new', 'SCRAM-SHA-256');
    await assert.rejects(scramLogin('carol', 'old', 'SCRAM-SHA-256'));
    await scramLogin('carol', 'old', 'SCRAM-SHA-512');

    r = await users(['delete', '--user', 'carol', '--mechanism', 'SCRAM-SHA-512', ...common]);
    assert.equal(r.stdout, "Deleted SCRAM-SHA-512 credentials of user 'carol'.\n");
    r = await users(['delete', '--user', 'carol', '--json', ...common]);
    assert.deepEqual(JSON.parse(r.stdout), { user: 'carol', deleted: ['SCRAM-SHA-256'] });
    r = await users(['delete', '--user', 'carol', ...common]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /RESOURCE_NOT_FOUND \(Attempt to describe a user credential that does not exist: carol\)/);
    r = await users(['delete', '--user', 'carol', '--mechanism', 'SCRAM-SHA-256', ...common]);
    assert.match(r.stderr, /RESOURCE_NOT_FOUND \(Attempt to delete a user credential that does not exist\)/);
    r = await users(['describe', '--user', 'nobody', ...common]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /RESOURCE_NOT_FOUND/);
  });

  test('usage errors exit 2 before connecting; a bad --command-config names the file', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['add', '--user', 'x', '--password', 'p', '--iterations', '100'], /--iterations must be 4096\.\.16384/],
      [['add', '--user', 'x', '--password', 'p', '--mechanism', 'PLAIN'], /--mechanism PLAIN: expected SCRAM-SHA-256 or SCRAM-SHA-512/],
      [['add', '--password', 'p'], /add needs --user/],
      [['add', '--user', 'x', '--user', 'y', '--password', 'p'], /add takes one --user/],
      [['add', '--user', 'x', '--password', 'p', '--password-file', '/nonexistent'], /not both/],
      [['add', '--user', 'x', '--password-file', '/nonexistent/pw'], /cannot read it \(ENOENT\)/],
      [['add', '--user', 'x'], /the password is empty/],
      [['list', '--user', 'x'], /--user is not an option of list/],
      [['describe'], /describe needs --user/],
      [['rename'], /unknown action 'rename'/],
    ];
    for (const [argv, why] of cases) {
      const r = await users([...argv, '-b', '127.0.0.1:1']);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, why);
    }
    const r = await users(['list', '-b', broker.address, '--command-config', join(dir, 'missing.properties')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing\.properties/);
    assert.equal((await users([])).code, 2);
    assert.equal((await users(['--help'])).code, 0);
  });

  test('without credentials (no --command-config) the SASL listener refuses: exit 1 with the broker\'s answer', async () => {
    const r = await users(['list', '-b', broker.address, '--timeout-ms', '3000']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ferry users: .*connection closed by the broker/);
  });

  test('through the real entry point: ferry users add with the password on stdin (not on the command line)', async () => {
    const child = spawn(process.execPath, ['--conditions=ferry-source', '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'users', 'add', '--user', 'dave', '--mechanism', 'SCRAM-SHA-256', ...common], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.stdin.end('dave-pw\n');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, err);
    assert.equal(out, "Added SCRAM-SHA-256 credentials of user 'dave' (8192 iterations).\n");
    await scramLogin('dave', 'dave-pw', 'SCRAM-SHA-256');
  });
});
