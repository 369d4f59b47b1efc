// Real Kafka clients over every security protocol of one broker: kcat (librdkafka), confluent-kafka
// (librdkafka), kafka-python, kafkajs and node-rdkafka produce and consume back over SSL, mTLS,
// SASL_PLAINTEXT and SASL_SSL with each mechanism; wrong credentials, plaintext clients on TLS
// ports and TLS clients on plaintext ports fail clearly while the broker keeps serving the others.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { requirePythonModules, requireTool, requireNodeModule } from '../helpers/require-tool.js';
import { runJson, runProcess, runChecked } from '../helpers/run-process.js';
import { startSecureBroker, type SecureBroker, type ListenerName } from '../helpers/secure-broker.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { waitFor } from '../helpers/wait.js';

const SCRIPT = fileURLToPath(new URL('./py/secure_client.py', import.meta.url));

describe('real clients over TLS', { timeout: 180_000 }, () => {
  let sb: SecureBroker;
  let python: string;
  let kcat: string;
  let topicN = 0;
  const topic = (what: string) => `sec-${what}-${++topicN}`;

  before(async () => {
    python = requirePythonModules('confluent_kafka', 'kafka');
    kcat = requireTool('kcat');
    sb = await startSecureBroker({ sasl: false });
  });
  after(async () => { await sb?.dispose(); });

  const tlsCk = () => ({ 'security.protocol': 'ssl', 'ssl.ca.location': sb.pki.ca.certPath });
  const mtlsCk = () => ({ ...tlsCk(), 'ssl.certificate.location': sb.pki.client.certPath, 'ssl.key.location': sb.pki.client.keyPath });

  const py = (client: 'ck' | 'kp', listener: ListenerName, config: object, count = 40) =>
    runJson(python, [SCRIPT, client, '--bootstrap', sb.address(listener), '--topic', topic(`${client}-${listener.toLowerCase()}`), '--count', String(count), '--config', JSON.stringify(config)], { timeoutMs: 90_000 });

  test('confluent-kafka over SSL and over mTLS (client certificate required)', async () => {
    const ssl = await py('ck', 'SSL', tlsCk());
    assert.equal(ssl.ok, true, ssl.error);
    assert.deepEqual(ssl.offsets, [0, 1, 2]);
    const mtls = await py('ck', 'MTLS', mtlsCk());
    assert.equal(mtls.ok, true, mtls.error);
  });

  test('kafka-python over SSL and mTLS', async () => {
    const base = { security_protocol: 'SSL', ssl_cafile: sb.pki.ca.certPath, ssl_check_hostname: true };
    const ssl = await py('kp', 'SSL', base);
    assert.equal(ssl.ok, true, ssl.error);
    const mtls = await py('kp', 'MTLS', { ...base, ssl_certfile: sb.pki.client.certPath, ssl_keyfile: sb.pki.client.keyPath });
    assert.equal(mtls.ok, true, mtls.error);
  });

  test('kcat over SSL: produce, consume back, and metadata names the SSL port', async () => {
    const t = topic('kcat');
    const k = (...args: string[]) => ['-b', sb.address('SSL'), '-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${sb.pki.ca.certPath}`, ...args];
    await runChecked(kcat, k('-P', '-t', t), { input: Buffer.from('a\nb\nc\n'), timeoutMs: 30_000 });
    const out = await runChecked(kcat, k('-C', '-t', t, '-o', 'beginning', '-e', '-f', '%s\n'), { timeoutMs: 30_000 });
    assert.deepEqual(out.stdout.toString().trim().split('\n'), ['a', 'b', 'c']);
    const meta = JSON.parse((await runChecked(kcat, k('-L', '-J'), { timeoutMs: 20_000 })).stdout.toString());
    assert.deepEqual(meta.brokers.map((b: { name: string }) => b.name), [sb.address('SSL')], 'Metadata answers the SSL listener\'s address');
  });

  test('kafkajs over SSL and mTLS', async () => {
    const cases: [ListenerName, { ca: string[]; cert?: string; key?: string }][] = [
      ['SSL', { ca: [sb.pki.ca.certPem] }],
      ['MTLS', { ca: [sb.pki.ca.certPem], cert: sb.pki.client.certPem, key: sb.pki.client.keyPem }],
    ];
    for (const [listener, ssl] of cases) {
      const kafka = new Kafka({ brokers: [sb.address(listener)], ssl, logLevel: logLevel.NOTHING, clientId: 'kafkajs-tls' });
      const t = topic(`kafkajs-${listener.toLowerCase()}`);
      const producer = kafka.producer();
      await producer.connect();
      const acks = await producer.send({ topic: t, messages: Array.from({ length: 20 }, (_, i) => ({ key: String(i), value: `v${i}` })) });
      await producer.disconnect();
      assert.equal(acks[0]!.errorCode, 0);
      const consumer = kafka.consumer({ groupId: `${t}-g` });
      await consumer.connect();
      await consumer.subscribe({ topic: t, fromBeginning: true });
      const got: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`kafkajs over ${listener}: ${got.length}/20 consumed`)), 30_000);
        void consumer.run({ eachMessage: async ({ message }) => { got.push(message.value!.toString()); if (got.length === 20) { clearTimeout(timer); resolve(); } } });
      });
      await consumer.disconnect();
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `v${i}`));
    }
  });

  test('node-rdkafka over mTLS', async () => {
    const Kafka = requireNodeModule('node-rdkafka');
    const t = topic('rdkafka-mtls');
    const producer = new Kafka.HighLevelProducer({ 'metadata.broker.list': sb.address('MTLS'), ...mtlsCk(), dr_cb: true });
    await new Promise<void>((resolve, reject) => { producer.connect({}, (err: Error | null) => (err ? reject(err) : resolve())); });
    const offsets: number[] = [];
    for (let i = 0; i < 5; i++) {
      offsets.push(await new Promise<number>((resolve, reject) => producer.produce(t, null, Buffer.from(`m${i}`), null, Date.now(), (err: Error | null, offset: number) => (err ? reject(err) : resolve(offset)))));
    }
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
    assert.deepEqual(offsets, [0, 1, 2, 3, 4]);
  });

  test('failures are clear and the broker keeps serving: no client certificate on mTLS, untrusted CA, plaintext on TLS, TLS on plaintext', async () => {
    const [noCert, untrusted, plainOnTls, tlsOnPlain] = await Promise.all([
      py('ck', 'MTLS', { ...tlsCk(), 'message.timeout.ms': 4000 }, 1),
      py('ck', 'MTLS', { ...tlsCk(), 'ssl.certificate.location': sb.pki.untrustedClient.certPath, 'ssl.key.location': sb.pki.untrustedClient.keyPath, 'message.timeout.ms': 4000 }, 1),
      runProcess(kcat, ['-b', sb.address('SSL'), '-L', '-m', '3'], { timeoutMs: 20_000 }),
      runProcess(kcat, ['-b', sb.address('PLAINTEXT'), '-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${sb.pki.ca.certPath}`, '-L', '-m', '3'], { timeoutMs: 20_000 }),
    ]);
    assert.equal(noCert.ok, false);
    assert.match(noCert.error, /SSL|handshake|certificate|Disconnected/i);
    assert.equal(untrusted.ok, false);
    assert.notEqual(plainOnTls.code, 0, 'kcat in plaintext cannot list metadata from the SSL port');
    assert.notEqual(tlsOnPlain.code, 0);
    await waitFor(async () => /TLS handshake on a plaintext listener/.test(sb.broker.logs) && /TLS handshake failed/.test(sb.broker.logs), 5_000, 'both refusals logged');
    assert.match(sb.broker.logs, /TLS handshake on a plaintext listener/);
    assert.match(sb.broker.logs, /TLS handshake failed/);
    // Everyone else is still served.
    const ok = await py('ck', 'SSL', tlsCk(), 5);
    assert.equal(ok.ok, true, ok.error);
    const raw = await RawKafkaConnection.connect(sb.address('PLAINTEXT'));
    try {
      const meta = await raw.request(3, 9, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
      assert.deepEqual(meta.brokers.map((b: { port: number }) => b.port), [Number(sb.address('PLAINTEXT').split(':')[1])], 'a plaintext client is told the plaintext port');
    } finally { raw.close(); }
  });
});
