import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configKeys, loadConfig } from '../../src/ops/config.js';
import { CONFIG_SCHEMA, envNameOf, fieldNameOf, formatConfigValue } from '../../src/ops/config-schema.js';

const cwd = '/srv/ferry';
const load = (argv: string[] = [], env: Record<string, string> = {}) => loadConfig({ argv, env, cwd });

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function configError(re: RegExp, check?: (e: ConfigError) => void) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, re);
    check?.(err);
    return true;
  };
}

describe('loadConfig defaults', () => {
  test('no configuration gives the embedded default broker', () => {
    const c = load();
    assert.equal(c.nodeId, 1);
    assert.equal(c.clusterName, 'ferry');
    assert.deepEqual(c.listeners, [{ name: 'PLAINTEXT', host: 'localhost', port: 9092 }]);
    assert.deepEqual(c.advertisedListeners, c.listeners);
    assert.equal(c.rack, null);
    assert.equal(c.dataDir, '/srv/ferry/data');
    assert.equal(c.walPath, '/srv/ferry/data/wal/ferry.wal');
    assert.equal(c.walCapacityBytes, 2147483648);
    assert.equal(c.walAppendTimeoutMs, 5000);
    assert.equal(c.metadataBackend, 'local');
    assert.deepEqual(c.etcdEndpoints, []);
    assert.equal(c.socketRequestMaxBytes, 104857600);
    assert.equal(c.messageMaxBytes, 1048588);
    assert.equal(c.autoCreateTopicsEnable, true);
    assert.equal(c.numPartitions, 1);
    assert.equal(c.defaultReplicationFactor, 1);
    assert.equal(c.logRetentionMs, 604800000);
    assert.equal(c.logRetentionBytes, -1);
    assert.equal(c.groupMinSessionTimeoutMs, 6000);
    assert.equal(c.groupMaxSessionTimeoutMs, 1800000);
    assert.equal(c.groupInitialRebalanceDelayMs, 3000);
    assert.equal(c.groupMaxSize, 2147483647);
    assert.equal(c.offsetsRetentionMinutes, 10080);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.metricsListener, null);
    assert.equal(c.cacheMaxBytes, 1073741824);
    assert.equal(c.connectionsMax, 10000);
    assert.equal(c.fetchMaxBytes, 57671680);
    assert.equal(c.fetchSessionCacheSlots, 1000);
    assert.equal(c.configFile, null);
    assert.deepEqual(c.warnings, []);
    assert.equal(c.isExplicit('log.level'), false);
    assert.deepEqual(c.sourceOf('log.level'), { kind: 'default' });
  });

  test('every schema key has a typed field and get() agrees with it', () => {
    const c = load() as unknown as Record<string, unknown> & ReturnType<typeof load>;
    for (const spec of CONFIG_SCHEMA) {
      const field = fieldNameOf(spec.key);
      assert.ok(field in c, `field ${field} for ${spec.key}`);
      assert.deepEqual(c[field], c.get(spec.key));
    }
    assert.deepEqual(configKeys(), CONFIG_SCHEMA.map((s) => s.key));
    assert.throws(() => c.get('log.levle'), configError(/did you mean log\.level/));
  });

  test('the config object is frozen', () => {
    const c = load();
    assert.throws(() => { (c as { nodeId: number }).nodeId = 2; }, TypeError);
    assert.throws(() => { (c.etcdEndpoints as string[]).push('x'); }, TypeError);
  });
});

describe('loadConfig sources and precedence', () => {
  test('file < environment < flags', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'server.properties');
    await writeFile(file, [
      '# Ferry broker',
      'node.id=7',
      'log.level = warn',
      'rack: us-east-1a',
      'num.partitions 3',
      'data.dir=/var/lib/ferry',
      'wal.capacity.bytes=64MiB',
      'log.retention.ms=3d',
      'listeners=PLAINTEXT://0.0.0.0:19092',
      'advertised.listeners=PLAINTEXT://broker-7.internal:19092',
      'etcd.endpoints=http://10.0.0.1:2379, \\',
      '    http://10.0.0.2:2379',
      '',
    ].join('\n'));
    const c = loadConfig({
      argv: ['--config', file, '--log.level=debug', '--num.partitions', '6', '--auto.create.topics.enable=false'],
      env: { FERRY_LOG_LEVEL: 'error', FERRY_NODE_ID: '8', FERRY_CLUSTER_NAME: 'prod' },
      cwd,
    });
    assert.equal(c.configFile, file);
    assert.equal(c.logLevel, 'debug', 'flag beats env and file');
    assert.equal(c.nodeId, 8, 'env beats file');
    assert.equal(c.clusterName, 'prod');
    assert.equal(c.numPartitions, 6);
    assert.equal(c.rack, 'us-east-1a');
    assert.equal(c.autoCreateTopicsEnable, false);
    assert.equal(c.dataDir, '/var/lib/ferry');
    assert.equal(c.walPath, '/var/lib/ferry/wal/ferry.wal', 'derived default follows data.dir');
    assert.equal(c.walCapacityBytes, 64 * 1024 * 1024);
    assert.equal(c.logRetentionMs, 3 * 86_400_000);
    assert.deepEqual(c.listeners, [{ name: 'PLAINTEXT', host: '0.0.0.0', port: 19092 }]);
    assert.deepEqual(c.advertisedListeners, [{ name: 'PLAINTEXT', host: 'broker-7.internal', port: 19092 }]);
    assert.deepEqual(c.etcdEndpoints, ['http://10.0.0.1:2379', 'http://10.0.0.2:2379']);
    assert.deepEqual(c.sourceOf('rack'), { kind: 'file', path: file, line: 4 });
    assert.deepEqual(c.sourceOf('node.id'), { kind: 'env', name: 'FERRY_NODE_ID' });
    assert.deepEqual(c.sourceOf('log.level'), { kind: 'flag', flag: '--log.level' });
    assert.equal(c.isExplicit('rack'), true);
  });

  test('FERRY_CONFIG names the file; a JSON file may nest keys', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'ferry.json');
    await writeFile(file, JSON.stringify({ node: { id: 4 }, 'log.level': 'trace', etcd: { endpoints: ['http://e:2379'] }, rack: null, 'auto.create.topics.enable': false, 'message.max.bytes': '2MiB' }));
    const c = loadConfig({ argv: [], env: { FERRY_CONFIG: 'ferry.json' }, cwd: dir });
    assert.equal(c.nodeId, 4);
    assert.equal(c.logLevel, 'trace');
    assert.deepEqual(c.etcdEndpoints, ['http://e:2379']);
    assert.equal(c.rack, null);
    assert.equal(c.autoCreateTopicsEnable, false);
    assert.equal(c.messageMaxBytes, 2 * 1024 * 1024);
    assert.deepEqual(c.sourceOf('node.id'), { kind: 'file', path: file });
  });

  test('a boolean flag alone means true; a path flag resolves against cwd', () => {
    const c = load(['--auto.create.topics.enable', '--data.dir', 'var/data']);
    assert.equal(c.autoCreateTopicsEnable, true);
    assert.equal(c.dataDir, '/srv/ferry/var/data');
    assert.equal(c.walPath, '/srv/ferry/var/data/wal/ferry.wal');
  });

  test('unknown FERRY_ variables are warnings, not errors', () => {
    const c = load([], { FERRY_TEST_CONCURRENCY: '2', FERRY_LOG_LEVL: 'debug' });
    assert.equal(c.warnings.length, 2);
    assert.match(c.warnings.join('\n'), /FERRY_LOG_LEVL names no config key/);
  });

  test('every key has an environment variable that sets it', () => {
    const defaults = load();
    for (const spec of CONFIG_SCHEMA) {
      const shown = formatConfigValue(defaults.get(spec.key)) ?? '';
      const c = load([], { [envNameOf(spec.key)]: shown });
      assert.deepEqual(c.get(spec.key), defaults.get(spec.key), spec.key);
      assert.deepEqual(c.sourceOf(spec.key), { kind: 'env', name: envNameOf(spec.key) });
    }
  });
});

describe('loadConfig errors name the key, the source and what was expected', () => {
  test('bad values from each source', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'server.properties');
    await writeFile(file, 'node.id=1\n\n# comment\nnum.partitions=zero\n');
    assert.throws(() => load(['--config', file]), configError(/num\.partitions=zero \(file .*server\.properties:4\): expected an integer/, (e) => {
      assert.equal(e.key, 'num.partitions');
      assert.equal(e.source, `file ${file}:4`);
    }));
    assert.throws(() => load([], { FERRY_LOG_LEVEL: 'verbose' }), configError(/log\.level=verbose \(environment variable FERRY_LOG_LEVEL\): expected one of trace, debug, info, warn, error, fatal, silent/));
    assert.throws(() => load(['--wal.capacity.bytes=lots']), configError(/\(flag --wal\.capacity\.bytes\): expected a byte count/));
    assert.throws(() => load(['--node.id=-1']), configError(/expected at least 0/));
    assert.throws(() => load(['--node.id=2147483648']), configError(/32-bit integer/));
    assert.throws(() => load(['--default.replication.factor=3']), configError(/default\.replication\.factor=3.*expected 1/));
    assert.throws(() => load(['--cluster.name=a/b']), configError(/cluster\.name=a\/b/));
    assert.throws(() => load(['--listeners=localhost:9092']), configError(/expected listeners like PLAINTEXT:\/\/localhost:9092/));
    assert.throws(() => load(['--metrics.listener=9644']), configError(/host:port/));
    assert.throws(() => load(['--log.cleanup.policy=delete,shred']), configError(/delete, compact/));
  });

  test('unknown keys in files and flags, with suggestions', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'server.properties');
    await writeFile(file, 'log.retention.hours=168\n');
    assert.throws(() => load(['--config', file]), configError(/log\.retention\.hours \(file .*:1\): expected a known config key/));
    assert.throws(() => load(['--log.levle=debug']), configError(/did you mean log\.level/));
    assert.throws(() => load(['broker']), configError(/command line argument 1/));
    assert.throws(() => load(['--num.partitions']), configError(/expected a value/));
    const json = join(dir, 'c.json');
    await writeFile(json, '{"nope": 1}');
    assert.throws(() => load(['--config', json]), configError(/nope \(file .*c\.json\)/));
    await writeFile(json, '{"node.id": ');
    assert.throws(() => load(['--config', json]), configError(/valid JSON/));
    assert.throws(() => load(['--config', join(dir, 'missing.properties')]), configError(/ENOENT/));
  });

  test('cross-key checks', () => {
    assert.throws(() => load(['--listeners=PLAINTEXT://0.0.0.0:9092']), configError(/advertised\.listeners.*binds all interfaces/));
    assert.throws(() => load(['--listeners=PLAINTEXT://:9092']), configError(/advertised\.listeners/));
    assert.throws(() => load(['--advertised.listeners=PLAINTEXT://0.0.0.0:9092']), configError(/a host clients can connect to/));
    assert.throws(() => load(['--advertised.listeners=EXTERNAL://h:9092']), configError(/names that appear in listeners/));
    assert.throws(() => load(['--listeners=SSL://localhost:9093']), configError(/ssl\.keystore\.location.*PEM key and certificate for SSL listener SSL/));
    assert.throws(() => load(['--listeners=EXTERNAL://localhost:9093']), configError(/listener\.security\.protocol\.map.*listener EXTERNAL/));
    assert.throws(() => load(['--listener.name.other.ssl.client.auth=required']), configError(/listener\.name\.other\.ssl\.client\.auth.*naming one of the listeners/));
    assert.throws(() => load(['--inter.broker.listener.name=OTHER']), configError(/inter\.broker\.listener\.name.*one of the listeners/));
    assert.throws(() => load(['--listener.name.plaintext.log.level=debug']), configError(/a known config key/));
    const secured = load([
      '--listeners=PLAINTEXT://localhost:9092,INTERNAL://localhost:9093', '--listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT',
      '--listener.name.internal.scram-sha-256.sasl.jaas.config=x required password="p";', '--sasl.jaas.config=y required;',
      '--listener.name.internal.sasl.enabled.mechanisms=SCRAM-SHA-256',
    ]);
    assert.equal(secured.securityProtocolOf('internal'), 'SASL_PLAINTEXT');
    assert.equal(secured.forListener('INTERNAL', 'sasl.jaas.config', 'SCRAM-SHA-256'), 'x required password="p";');
    assert.equal(secured.forListener('INTERNAL', 'sasl.jaas.config', 'PLAIN'), 'y required;');
    assert.deepEqual(secured.forListener('INTERNAL', 'sasl.enabled.mechanisms'), ['SCRAM-SHA-256']);
    assert.deepEqual(secured.forListener('PLAINTEXT', 'sasl.enabled.mechanisms'), ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']);
    assert.equal(secured.redacted()['listener.name.internal.scram-sha-256.sasl.jaas.config'], '[redacted]');
    assert.ok(!JSON.stringify(secured).includes('password'));
    assert.throws(() => load(['--metadata.backend=etcd']), configError(/etcd\.endpoints.*at least one etcd URL/));
    assert.throws(() => load(['--etcd.endpoints=10.0.0.1:2379']), configError(/URLs like http/));
    assert.throws(() => load(['--group.min.session.timeout.ms=10m', '--group.max.session.timeout.ms=1m']), configError(/at most group\.max\.session\.timeout\.ms/));
    assert.throws(() => load(['--message.max.bytes=200MiB']), configError(/at most/));
    const ok = load(['--listeners=PLAINTEXT://[::]:0', '--advertised.listeners=PLAINTEXT://[::1]:9092', '--metadata.backend=etcd', '--etcd.endpoints=http://127.0.0.1:2379']);
    assert.deepEqual(ok.listeners, [{ name: 'PLAINTEXT', host: '::', port: 0 }]);
    assert.deepEqual(ok.advertisedListeners, [{ name: 'PLAINTEXT', host: '::1', port: 9092 }]);
  });
});

describe('secrets', () => {
  test('secret values never appear in errors, redacted() or JSON', () => {
    const c = load(['--etcd.password=hunter2', '--etcd.username=ferry']);
    assert.equal(c.etcdPassword, 'hunter2', 'the typed field still has the value');
    assert.equal(c.get('etcd.password'), 'hunter2');
    assert.equal(c.redacted()['etcd.password'], '[redacted]');
    assert.equal(c.redacted()['etcd.username'], 'ferry');
    assert.equal(c.redacted()['log.level'], 'info');
    assert.equal(c.redacted()['listeners'], 'PLAINTEXT://localhost:9092');
    assert.ok(!JSON.stringify(c).includes('hunter2'));
    assert.ok(!JSON.stringify({ ...c }).includes('hunter2'));
    assert.equal(load().redacted()['etcd.password'], null, 'an unset secret shows as null');
    assert.throws(() => load(['--etcd.password=hunter2', '--metadata.backend=etcd']), (err: Error) => !err.message.includes('hunter2'));
    assert.throws(() => load([], { FERRY_ETCD_PASSWORD: '' , FERRY_METADATA_BACKEND: 'etcd' }), ConfigError);
  });
});
