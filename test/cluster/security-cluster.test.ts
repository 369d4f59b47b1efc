// Security across a 3-broker cluster on one real etcd: SCRAM users and ACLs created through one
// broker apply on the others within a second; brokers reach each other over a SASL listener
// (inter.broker.listener.name, PLAIN as the super user admin) to write transaction markers; a
// plaintext client (User:ANONYMOUS) is refused everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd } from '../helpers/etcd.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { requirePythonModules, requireTool } from '../helpers/require-tool.js';
import { runJson, runProcess } from '../helpers/run-process.js';
import { ADMIN_USER, plainServerJaas } from '../helpers/secure-broker.js';
import { runUsers } from '../../src/cli/users-command.js';
import { runAcls } from '../../src/cli/acls-command.js';
import { runTopics } from '../../src/cli/topics-command.js';

const SCRIPT = fileURLToPath(new URL('../security/py/secure_client.py', import.meta.url));

async function cli(run: (argv: string[], io: { out(t: string): void; err(t: string): void }) => Promise<number>, argv: string[]): Promise<string> {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (t) => { out += t; }, err: (t) => { err += t; } });
  assert.equal(code, 0, `${argv.join(' ')}: ${err}`);
  return out;
}

test('3 brokers: users and ACLs made on one apply on all within a second; transactions commit across brokers over the SASL inter-broker listener', { timeout: 180_000 }, async (t) => {
  const python = requirePythonModules('confluent_kafka');
  const kcat = requireTool('kcat');
  const etcd = await startEtcd(t);
  const work = mkdtempSync(join(tmpdir(), 'ferry-sec-cluster-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const brokers: BrokerProcess[] = [];
  const sasl: string[] = [];
  t.after(async () => { await Promise.all(brokers.map((b) => b.dispose())); });
  for (let id = 1; id <= 3; id++) {
    // A port found free can be taken by another test before the broker binds it: try new ones.
    for (let attempt = 1; ; attempt++) {
      const broker = saslBroker(id, await freePort(), await freePort());
      try {
        await broker.b.start(60_000);
        brokers.push(broker.b);
        sasl.push(broker.sasl);
        break;
      } catch (err) {
        await broker.b.dispose();
        if (attempt >= 3 || !/already in use/.test((err as Error).message)) throw err;
      }
    }
  }
  function saslBroker(id: number, plain: number, secure: number): { b: BrokerProcess; sasl: string } {
    return { sasl: `127.0.0.1:${secure}`, b: new BrokerProcess({
      port: plain,
      config: {
        'metadata.backend': 'etcd', 'etcd.endpoints': etcd.endpoint, 'cluster.name': 'sec', 'node.id': String(id), rack: `r${id}`,
        'object.store.path': join(work, 'objects'), 'broker.session.timeout.ms': '3000', 'num.partitions': '3',
        listeners: `PLAINTEXT://127.0.0.1:${plain},SASL_PLAINTEXT://127.0.0.1:${secure}`,
        'inter.broker.listener.name': 'SASL_PLAINTEXT', 'sasl.mechanism.inter.broker.protocol': 'PLAIN',
        'sasl.jaas.config': plainServerJaas(),
        'authorizer.class.name': 'ferry', 'super.users': `User:${ADMIN_USER.name}`,
      },
    }) };
  }
  const adminConfig = join(work, 'admin.properties');
  writeFileSync(adminConfig, `security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${ADMIN_USER.name}" password="${ADMIN_USER.password}";\n`);
  const admin = (i: number) => ['--bootstrap-server', sasl[i]!, '--command-config', adminConfig];
  await cli(runTopics, ['create', '--topic', 'orders', '--partitions', '3', ...admin(0)]);
  await cli(runTopics, ['create', '--topic', 'secret', '--partitions', '1', ...admin(0)]);

  // A SCRAM user created through broker 1 authenticates on broker 3.
  await cli(runUsers, ['add', '--user', 'carol', '--password', 'carol-secret', '--mechanism', 'SCRAM-SHA-256', ...admin(0)]);
  const carol = { 'security.protocol': 'sasl_plaintext', 'sasl.mechanisms': 'SCRAM-SHA-256', 'sasl.username': 'carol', 'sasl.password': 'carol-secret' };
  const produce = (via: number, topic: string, extra: Record<string, string> = {}) => runJson(python, [SCRIPT, 'ck', '--bootstrap', sasl[via]!, '--topic', topic, '--count', '30', '--config', JSON.stringify({ ...carol, ...extra, 'message.timeout.ms': 5000 })], { timeoutMs: 60_000 });

  const denied = await produce(2, 'orders');
  assert.equal(denied.ok, false, 'no ACL yet: denied');
  assert.match(denied.error, /AUTHORIZATION_FAILED|authorization failed/i);

  // ACLs through broker 2; in force on broker 3 within a second of the change.
  await cli(runAcls, ['--add', '--allow-principal', 'User:carol', '--producer', '--consumer', '--topic', 'orders', '--group', '*', ...admin(1)]);
  await cli(runAcls, ['--add', '--allow-principal', 'User:carol', '--operation', 'Write', '--operation', 'Describe', '--transactional-id', 'carol-', '--resource-pattern-type', 'prefixed', ...admin(1)]);
  const changedAt = Date.now();
  await waitFor(async () => {
    const r = await runProcess(kcat, ['-b', sasl[2]!, '-X', 'security.protocol=sasl_plaintext', '-X', 'sasl.mechanisms=SCRAM-SHA-256', '-X', 'sasl.username=carol', '-X', 'sasl.password=carol-secret', '-L', '-t', 'orders', '-J'], { timeoutMs: 10_000 });
    return r.code === 0 && JSON.parse(r.stdout.toString()).topics?.[0]?.error === undefined;
  }, 5_000, 'broker 3 lets carol describe orders');
  const appliedMs = Date.now() - changedAt;
  assert.ok(appliedMs < 1_500, `ACL applied on broker 3 after ${appliedMs} ms`);
  const allowed = await produce(2, 'orders');
  assert.equal(allowed.ok, true, allowed.error);
  assert.equal((await produce(0, 'secret')).ok, false, 'still denied on another topic');

  // A transaction over partitions led by different brokers: the coordinator's markers reach the
  // other leaders over SASL_PLAINTEXT as User:admin (a super user).
  const txn = await runJson(python, [SCRIPT, 'ck', '--bootstrap', sasl[0]!, '--topic', 'orders', '--count', '60', '--transactional-id', 'carol-tx', '--config', JSON.stringify(carol)], { timeoutMs: 90_000 });
  assert.equal(txn.ok, true, txn.error);
  assert.equal(txn.committedRead, 60, 'read_committed sees the whole committed transaction');
  const meta = await runProcess(kcat, ['-b', sasl[0]!, '-X', 'security.protocol=sasl_plaintext', '-X', 'sasl.mechanisms=SCRAM-SHA-256', '-X', 'sasl.username=carol', '-X', 'sasl.password=carol-secret', '-L', '-t', 'orders', '-J'], { timeoutMs: 10_000 });
  const leaders = new Set(JSON.parse(meta.stdout.toString()).topics[0].partitions.map((p: { leader: number }) => p.leader));
  assert.ok(leaders.size >= 2, `orders is led by ${leaders.size} brokers`);
  assert.match(brokers.map((b) => b.logs).join('\n'), /SASL authentication succeeded[^\n]*User:admin|"principal":"User:admin"/, 'brokers authenticated to each other as admin');

  // DENY wins, on every broker, within a second.
  await cli(runAcls, ['--add', '--deny-principal', 'User:carol', '--operation', 'Write', '--topic', 'orders', ...admin(0)]);
  await new Promise((r) => setTimeout(r, 1_000));
  for (const via of [0, 1, 2]) assert.equal((await produce(via, 'orders')).ok, false, `broker ${via + 1} applies the DENY`);

  // A plaintext client is User:ANONYMOUS: no ACL names it.
  const anon = await runProcess(kcat, ['-b', brokers[0]!.bootstrap, '-L', '-t', 'orders', '-J'], { timeoutMs: 10_000 });
  assert.match(anon.stdout.toString() + anon.stderr.toString(), /Authorization|authoriz/i);
});
