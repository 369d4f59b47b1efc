/**
 * A real client (kafkajs) against an in-process broker with a TestAuthorizer: with the grants a
 * producer and a consumer group need, it produces and consumes; without them it gets Kafka's
 * authorization errors (which it does not retry) and nothing is written.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type * as KafkaJs from 'kafkajs';
import { requireNodeModule } from '../../helpers/require-tool.js';
import { ApiKey } from '../../../src/protocol/messages/index.js';
import { startAuthzEnv, type AuthzEnv } from './authz-env.js';

let env: AuthzEnv;
let kafka: KafkaJs.Kafka;

before(async () => {
  const kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
  env = await startAuthzEnv();
  await env.createTopic('acl-ok');
  await env.createTopic('acl-no');
  const port = env.broker.address.port;
  kafka = new kjs.Kafka({ clientId: 'ferry-acl-test', brokers: [`127.0.0.1:${port}`], logLevel: kjs.logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } });
});
after(async () => { await env?.close(); });

test('kafkajs: granted topics and group work end to end; a refused topic and group fail with Kafka\'s errors', { timeout: 20_000 }, async () => {
  env.grant('WRITE', 'TOPIC', 'acl-ok');
  env.grant('READ', 'TOPIC', 'acl-ok');
  env.grant('READ', 'GROUP', 'acl-g');
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic: 'acl-ok', messages: [{ value: 'one' }, { value: 'two' }] });
    // kafkajs wraps the broker's error: not retried.
    await assert.rejects(producer.send({ topic: 'acl-no', messages: [{ value: 'x' }] }), (err: Error & { cause?: { type?: string } }) => {
      assert.equal(err.name, 'KafkaJSNonRetriableError');
      assert.equal(err.cause?.type, 'TOPIC_AUTHORIZATION_FAILED');
      return true;
    });
  } finally {
    await producer.disconnect();
  }
  assert.equal(await env.highWatermark('acl-no'), 0n);

  const consumer = kafka.consumer({ groupId: 'acl-g', sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: 'acl-ok', fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer.run({ eachMessage: async ({ message }) => { seen.push(String(message.value)); if (seen.length === 2) resolve(); } }).catch(reject);
    });
    assert.deepEqual(seen, ['one', 'two']);
  } finally {
    await consumer.disconnect();
  }

  // DESCRIBE finds the coordinator; joining needs READ.
  env.grant('DESCRIBE', 'GROUP', 'acl-denied');
  const refusedGroup = kafka.consumer({ groupId: 'acl-denied', retry: { retries: 0 } });
  await refusedGroup.connect();
  try {
    await refusedGroup.subscribe({ topic: 'acl-ok', fromBeginning: true });
    const crashed = new Promise<Error>((resolve) => refusedGroup.on(refusedGroup.events.CRASH, (e) => resolve(e.payload.error)));
    await refusedGroup.run({ eachMessage: async () => {} }).catch(() => {});
    const err = await crashed as Error & { type?: string };
    assert.equal(err.type, 'GROUP_AUTHORIZATION_FAILED');
  } finally {
    await refusedGroup.disconnect();
  }
  const groups = await env.asSuper(() => env.conn.request(ApiKey.ListGroups, 4, { statesFilter: [] }));
  assert.equal(groups.groups.some((g: { groupId: string }) => g.groupId === 'acl-denied'), false, 'no member joined');
});
