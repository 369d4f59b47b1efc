/**
 * An in-process broker with a TestAuthorizer in place of its authorizer, and a raw connection to
 * it. The connection comes in on a PLAINTEXT listener, so its principal is User:ANONYMOUS: tests
 * grant and revoke that principal's operations between requests. `asSuper` runs setup steps with
 * every operation granted, then puts the grants back as they were.
 */
import { RawKafkaConnection } from '../../helpers/raw-kafka.js';
import { TestAuthorizer } from '../../helpers/test-authorizer.js';
import { startBroker } from '../in-process-broker.js';
import { ApiKey } from '../../../src/protocol/messages/index.js';
import { buildRecordBatch } from '../../../src/protocol/record-batch.js';
import type { AclOperationName, AuthorizedResource } from '../../../src/security/types.js';

export const ME = 'User:ANONYMOUS';
const EVERY_TYPE: AuthorizedResource[] = ['TOPIC', 'GROUP', 'CLUSTER', 'TRANSACTIONAL_ID'];

export interface AuthzEnv {
  broker: Awaited<ReturnType<typeof startBroker>>['broker'];
  authorizer: TestAuthorizer;
  conn: RawKafkaConnection;
  /** Grants User:ANONYMOUS `op` on the resource (CLUSTER: name kafka-cluster). */
  grant(op: AclOperationName, type: AuthorizedResource, name: string): void;
  /** Drops every grant. */
  revokeAll(): void;
  asSuper<T>(fn: () => Promise<T>): Promise<T>;
  createTopic(name: string, partitions?: number): Promise<void>;
  produce(topic: string, values: string[], partition?: number): Promise<{ errorCode: number; baseOffset: bigint }>;
  /** The high watermark, read with every operation granted. */
  highWatermark(topic: string, partition?: number): Promise<bigint>;
  topicExists(name: string): boolean;
  close(): Promise<void>;
}

export async function startAuthzEnv(extra: Record<string, string> = {}): Promise<AuthzEnv> {
  const env = await startBroker(extra);
  const authorizer = new TestAuthorizer();
  env.broker.context.authorizer = authorizer;
  const conn = await RawKafkaConnection.connect(env.bootstrap);
  const self: AuthzEnv = {
    broker: env.broker, authorizer, conn,
    grant: (op, type, name) => { authorizer.grant(ME, op, type, name); },
    revokeAll: () => { authorizer.clear(); },
    async asSuper(fn) {
      const saved = [...authorizer.grants];
      for (const t of EVERY_TYPE) authorizer.grant(ME, 'ALL', t, '*');
      try {
        return await fn();
      } finally {
        authorizer.clear();
        for (const g of saved) authorizer.grants.add(g);
      }
    },
    async createTopic(name, partitions = 1) {
      await env.broker.context.topics.create(name, partitions, [], false);
    },
    async produce(topic, values, partition = 0) {
      const records = buildRecordBatch(values.map((v, i) => ({ value: Buffer.from(v), timestamp: BigInt(1_000_000 + i) })));
      const r = await conn.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
      return r.responses[0].partitionResponses[0];
    },
    async highWatermark(topic, partition = 0) {
      return self.asSuper(async () => {
        const r = await conn.request(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }] });
        return r.topics[0].partitions[0].offset;
      });
    },
    topicExists: (name) => env.broker.context.topics.byName(name) !== undefined,
    async close() {
      conn.close();
      await env.cleanup();
    },
  };
  return self;
}
