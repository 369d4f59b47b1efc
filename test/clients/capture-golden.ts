// Captures request frames from real clients talking to a real Ferry broker, as golden vectors for
// test/protocol/golden.test.ts. Not a test: run it when a client or the codecs change.
//   node --conditions=ferry-source --import tsx test/clients/capture-golden.ts [--overwrite] [--out DIR]
// A RecordingProxy sits between each client and the broker (the broker advertises the proxy), and
// the first frame of each api key/version per client is written as
// <apiKey>-<version>-request-<client>.bin. Clients: kcat, confluent-kafka-python, kafka-python,
// kafkajs, node-rdkafka; each produces, consumes in a group with a commit, and lists offsets.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type * as KafkaJs from 'kafkajs';
import type * as Rd from 'node-rdkafka';
import { BrokerProcess } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';
import { GoldenWriter, RecordingProxy } from '../helpers/recording-proxy.js';
import { requireNodeModule, requirePythonModules, requireTool } from '../helpers/require-tool.js';
import { runChecked, runJson } from '../helpers/run-process.js';
import { waitFor } from '../helpers/wait.js';

const { values } = parseArgs({ options: { overwrite: { type: 'boolean', default: false }, out: { type: 'string' }, only: { type: 'string' } } });
const outDir = values.out ?? fileURLToPath(new URL('../protocol/golden/', import.meta.url));
const ck = fileURLToPath(new URL('./py/ck_client.py', import.meta.url));
const kp = fileURLToPath(new URL('./py/kp_client.py', import.meta.url));

const brokerPort = await freePort();
const writer = new GoldenWriter(outDir, values.overwrite);
const proxy = new RecordingProxy({ host: '127.0.0.1', port: brokerPort }, writer.record);
const proxyPort = await proxy.listen();
const broker = new BrokerProcess({ port: brokerPort, config: { 'advertised.listeners': `PLAINTEXT://127.0.0.1:${proxyPort}` } });
await broker.start();
const bootstrap = `127.0.0.1:${proxyPort}`;

const clients: Record<string, () => Promise<void>> = {
  async kcat() {
    const kcat = requireTool('kcat');
    await runChecked(kcat, ['-b', bootstrap, '-P', '-t', 'golden-kcat', '-K:', '-H', 'h=v'], { input: 'k1:v1\nk2:v2\nk3:v3\n', timeoutMs: 30_000 });
    await runChecked(kcat, ['-b', bootstrap, '-C', '-t', 'golden-kcat', '-o', 'beginning', '-e', '-q'], { timeoutMs: 30_000 });
    await runChecked(kcat, ['-b', bootstrap, '-G', 'golden-kcat-g', '-X', 'auto.offset.reset=earliest', '-X', 'auto.commit.interval.ms=100', '-e', '-q', 'golden-kcat'], { timeoutMs: 60_000 });
    await runChecked(kcat, ['-b', bootstrap, '-Q', '-t', `golden-kcat:0:${Date.now() - 60_000}`], { timeoutMs: 30_000 });
  },
  async 'confluent-kafka-python'() {
    const py = requirePythonModules('confluent_kafka');
    await runJson(py, [ck, 'golden', '--bootstrap', bootstrap, '--topic', 'golden-ck', '--group', 'golden-ck-g'], { timeoutMs: 60_000 });
  },
  async 'kafka-python'() {
    const py = requirePythonModules('kafka');
    await runJson(py, [kp, 'commit-resume', '--bootstrap', bootstrap, '--topic', 'golden-kp', '--group', 'golden-kp-g', '--count', '20', '--stop-at', '5'], { timeoutMs: 90_000 });
  },
  async kafkajs() {
    const kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    const kafka = new kjs.Kafka({ clientId: 'golden', brokers: [bootstrap], logLevel: kjs.logLevel.ERROR });
    const producer = kafka.producer({ createPartitioner: kjs.Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: 'golden-kjs', acks: -1, messages: [{ key: 'k', value: 'v', headers: { h: 'v' } }, { value: 'w' }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'golden-kjs-g' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'golden-kjs', fromBeginning: true });
    let got = 0;
    await consumer.run({ eachMessage: async () => { got++; } });
    await waitFor(() => got >= 2, 30_000, 'kafkajs consumed');
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.fetchTopicOffsetsByTimestamp('golden-kjs', Date.now() - 60_000);
    await admin.disconnect();
  },
  async 'node-rdkafka'() {
    const rd = requireNodeModule<typeof Rd>('node-rdkafka');
    const conf = { 'metadata.broker.list': bootstrap };
    const cb = <T>(f: (done: (err: any, v?: T) => void) => void) => new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))));
    const producer = new rd.Producer({ ...conf, dr_cb: true });
    await cb((d) => producer.connect({}, d));
    producer.setPollInterval(20);
    producer.produce('golden-rd', 0, Buffer.from('v1'), 'k1', Date.now(), undefined, [{ h: Buffer.from('v') }]);
    await cb((d) => producer.flush(10_000, d));
    await cb((d) => producer.disconnect(d));
    // Only asynchronous calls here: the proxy runs on this event loop (commitSync would deadlock).
    const consumer = new rd.KafkaConsumer({ ...conf, 'group.id': 'golden-rd-g', 'enable.auto.commit': false, offset_commit_cb: true }, { 'auto.offset.reset': 'earliest' });
    await cb((d) => consumer.connect({}, d));
    consumer.subscribe(['golden-rd']);
    let got = 0;
    consumer.on('data', () => { got++; });
    consumer.consume();
    await waitFor(() => got >= 1, 30_000, 'node-rdkafka consumed');
    const committed = new Promise<void>((resolve, reject) => consumer.once('offset.commit', (err: any) => (err ? reject(err) : resolve())));
    consumer.commit();
    await committed;
    await cb((d) => consumer.offsetsForTimes([{ topic: 'golden-rd', partition: 0, offset: Date.now() - 60_000 }], 10_000, d));
    await cb((d) => consumer.disconnect(d));
  },
};

let failed = false;
try {
  for (const [name, run] of Object.entries(clients)) {
    if (values.only && values.only !== name) continue;
    writer.client = name;
    const before = writer.written.length;
    try {
      await run();
      console.log(`${name}: wrote ${writer.written.slice(before).join(', ') || 'nothing new'}`);
    } catch (e) {
      failed = true;
      console.error(`${name}: FAILED ${(e as Error).message}`);
    }
  }
} finally {
  await proxy.close();
  await broker.dispose();
}
process.exit(failed ? 1 : 0);
