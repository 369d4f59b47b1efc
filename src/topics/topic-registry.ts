// Topics and their partitions in the MetadataStore (any backend). Stateless: every call reads the
// store, and every change is a transaction guarded by compares, so concurrent callers (other
// brokers, or concurrent requests in one broker) never clash.
//
//   topics/<name>              {"id","partitions","configs","createdMs"}   the topic is visible iff this exists
//   topic-ids/<id>             {"name"}                                     index for get-by-id
//   partitions/<id>/<p>        {"leader","leaderEpoch"}                     written before the topic becomes visible
//
// Creating a topic with more partitions than fit in one transaction (ETCD_LIMITS.txnOpsMax) first
// writes the partition records under the new, random topic id, then publishes the topic record with
// a create-if-absent compare; a loser of a creation race deletes its partition records again.
// A crash between the two steps leaves partition records no topic points to (never read).
//
// API: new TopicRegistry(store, { clusterName, nodeId })
//   create(name, partitions, configs, { validateOnly?, replicationFactor? }) -> TopicResult<TopicInfo>
//   list() / get(name) / getById(id) -> TopicInfo[] / TopicInfo | null
//   delete(name) -> TopicResult<TopicInfo>
//   addPartitions(name, totalCount, { validateOnly? }) -> TopicResult<TopicInfo>
//   alterConfigs(name, configs, { validateOnly? })            full replace (AlterConfigs)
//   incrementalAlterConfigs(name, alterations, { validateOnly? })  (IncrementalAlterConfigs)
//   partitions(topicId) -> PartitionRecord[];  getPartition(topicId, p) -> PartitionRecord | null
//   validateTopicName(name) -> string | null (the problem)
// Errors a client should see are returned as { ok: false, errorCode, error, message } with Kafka's
// codes; store failures are thrown.

import { randomBytes } from 'node:crypto';
import { decodeJson, encodeJson, ETCD_LIMITS, type MetadataStore, type Op } from '../cluster/metadata-store.js';
import { MetadataKeys } from '../cluster/metadata-keys.js';
import { applyConfigAlterations, validateTopicConfigs, type ConfigAlteration } from './topic-config.js';

export interface TopicInfo {
  name: string;
  /** 16 random bytes as 32 lower-case hex digits (Kafka's topic UUID). */
  id: string;
  partitions: number;
  /** Only the keys set on the topic, normalized. */
  configs: Record<string, string>;
  createdMs: number;
  /** The store revision of the topic record (changes on every alteration). */
  modRevision: number;
}

export interface PartitionRecord {
  partition: number;
  leader: number;
  leaderEpoch: number;
}

export type TopicErrorName =
  | 'UNKNOWN_TOPIC_OR_PARTITION' | 'INVALID_TOPIC_EXCEPTION' | 'TOPIC_ALREADY_EXISTS' | 'INVALID_PARTITIONS'
  | 'INVALID_REPLICATION_FACTOR' | 'INVALID_CONFIG';

export const TOPIC_ERROR_CODES: Readonly<Record<TopicErrorName, number>> = {
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_TOPIC_EXCEPTION: 17,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_CONFIG: 40,
};

export type TopicResult<T> = { ok: true; value: T } | { ok: false; errorCode: number; error: TopicErrorName; message: string };

/** Upper bound on partitions per topic: each is a metadata key and an in-memory log. */
export const TOPIC_PARTITIONS_MAX = 10_000;
const TOPIC_NAME_MAX = 249;
const CAS_ATTEMPTS_MAX = 50;

interface TopicRecord { id: string; partitions: number; configs: Record<string, string>; createdMs: number }

function fail<T>(error: TopicErrorName, message: string): TopicResult<T> {
  return { ok: false, errorCode: TOPIC_ERROR_CODES[error], error, message };
}

/** Kafka's topic name rules. Returns the problem, or null when valid. */
export function validateTopicName(name: string): string | null {
  if (name.length === 0) return 'Topic name is illegal, it can\'t be empty';
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > TOPIC_NAME_MAX) return `Topic name is illegal, it can't be longer than ${TOPIC_NAME_MAX} characters, topic name: ${name}`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  return null;
}

export class TopicRegistry {
  private readonly keys: MetadataKeys;
  private readonly nodeId: number;
  private readonly now: () => number;

  constructor(private readonly store: MetadataStore, options: { clusterName: string; nodeId: number; now?: () => number }) {
    this.keys = new MetadataKeys(options.clusterName);
    this.nodeId = options.nodeId;
    this.now = options.now ?? Date.now;
  }

  async create(
    name: string, partitions: number, configs: Readonly<Record<string, string | null>> = {},
    options: { validateOnly?: boolean; replicationFactor?: number } = {},
  ): Promise<TopicResult<TopicInfo>> {
    const badName = validateTopicName(name);
    if (badName !== null) return fail('INVALID_TOPIC_EXCEPTION', badName);
    if (!Number.isInteger(partitions) || partitions < 1) return fail('INVALID_PARTITIONS', `Number of partitions must be larger than 0, got ${partitions}`);
    if (partitions > TOPIC_PARTITIONS_MAX) return fail('INVALID_PARTITIONS', `Number of partitions ${partitions} exceeds the limit of ${TOPIC_PARTITIONS_MAX}`);
    const rf = options.replicationFactor ?? 1;
    if (rf !== 1 && rf !== -1) return fail('INVALID_REPLICATION_FACTOR', `Replication factor ${rf} is not supported: Ferry keeps one leader per partition (use 1 or -1)`);
    const validated = validateTopicConfigs(configs);
    if (!validated.ok) return fail('INVALID_CONFIG', validated.message);

    const topicKey = this.keys.topic(name);
    const record: TopicRecord = { id: randomBytes(16).toString('hex'), partitions, configs: validated.configs, createdMs: this.now() };
    if (options.validateOnly) {
      const existing = await this.store.get(topicKey);
      if (existing) return fail('TOPIC_ALREADY_EXISTS', `Topic '${name}' already exists.`);
      return { ok: true, value: { name, ...record, modRevision: 0 } };
    }
    const partitionOps = this.partitionPuts(record.id, 0, partitions);
    const publish: Op[] = [
      { type: 'put', key: topicKey, value: encodeJson(record) },
      { type: 'put', key: this.keys.topicId(record.id), value: encodeJson({ name }) },
    ];
    const absent = [{ key: topicKey, target: 'createRevision' as const, op: '==' as const, value: 0 }];
    let result;
    if (partitionOps.length + publish.length <= ETCD_LIMITS.txnOpsMax) {
      result = await this.store.txn(absent, [...partitionOps, ...publish]);
    } else {
      // Too many for one transaction: the partition records first, invisible until the topic record exists.
      for (const chunk of chunks(partitionOps, ETCD_LIMITS.txnOpsMax)) await this.store.txn([], chunk);
      result = await this.store.txn(absent, publish);
      if (!result.succeeded) await this.store.txn([], [{ type: 'deletePrefix', prefix: this.keys.partitionsPrefix(record.id) }]);
    }
    if (!result.succeeded) return fail('TOPIC_ALREADY_EXISTS', `Topic '${name}' already exists.`);
    return { ok: true, value: { name, ...record, modRevision: result.revision } };
  }

  async list(): Promise<TopicInfo[]> {
    const prefix = this.keys.topicsPrefix();
    const kvs = await this.store.list(prefix);
    return kvs.map((kv) => toInfo(kv.key.slice(prefix.length), decodeJson<TopicRecord>(kv.value, kv.key), kv.modRevision));
  }

  async get(name: string): Promise<TopicInfo | null> {
    if (validateTopicName(name) !== null) return null;
    const kv = await this.store.get(this.keys.topic(name));
    return kv ? toInfo(name, decodeJson<TopicRecord>(kv.value, kv.key), kv.modRevision) : null;
  }

  async getById(topicId: string): Promise<TopicInfo | null> {
    if (!/^[0-9a-f]{32}$/.test(topicId)) return null;
    const index = await this.store.get(this.keys.topicId(topicId));
    if (!index) return null;
    const topic = await this.get(decodeJson<{ name: string }>(index.value, index.key).name);
    // The name may have been deleted and re-created with another id since the index was read.
    return topic?.id === topicId ? topic : null;
  }

  async delete(name: string): Promise<TopicResult<TopicInfo>> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS_MAX; attempt++) {
      const topic = await this.get(name);
      if (!topic) return fail('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
      const r = await this.store.txn(
        [{ key: this.keys.topic(name), target: 'modRevision', op: '==', value: topic.modRevision }],
        [
          { type: 'delete', key: this.keys.topic(name) },
          { type: 'delete', key: this.keys.topicId(topic.id) },
          { type: 'deletePrefix', prefix: this.keys.partitionsPrefix(topic.id) },
        ],
      );
      if (r.succeeded) return { ok: true, value: topic };
    }
    throw new Error(`delete of topic ${name}: gave up after ${CAS_ATTEMPTS_MAX} conflicting concurrent changes`);
  }

  /** Grows the topic to totalCount partitions (CreatePartitions). */
  async addPartitions(name: string, totalCount: number, options: { validateOnly?: boolean } = {}): Promise<TopicResult<TopicInfo>> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS_MAX; attempt++) {
      const topic = await this.get(name);
      if (!topic) return fail('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
      if (!Number.isInteger(totalCount) || totalCount <= topic.partitions) {
        return fail('INVALID_PARTITIONS', `Topic currently has ${topic.partitions} partitions, which is higher than or equal to the requested ${totalCount}.`);
      }
      if (totalCount > TOPIC_PARTITIONS_MAX) return fail('INVALID_PARTITIONS', `Number of partitions ${totalCount} exceeds the limit of ${TOPIC_PARTITIONS_MAX}`);
      if (options.validateOnly) return { ok: true, value: { ...topic, partitions: totalCount } };
      const record: TopicRecord = { id: topic.id, partitions: totalCount, configs: topic.configs, createdMs: topic.createdMs };
      const puts = this.partitionPuts(topic.id, topic.partitions, totalCount);
      const guard = [{ key: this.keys.topic(name), target: 'modRevision' as const, op: '==' as const, value: topic.modRevision }];
      const publish: Op = { type: 'put', key: this.keys.topic(name), value: encodeJson(record) };
      let r;
      if (puts.length + 1 <= ETCD_LIMITS.txnOpsMax) {
        r = await this.store.txn(guard, [...puts, publish]);
      } else {
        // Records past the current count are not read by anyone until the count includes them;
        // a concurrent grower writes identical records for the same partitions.
        for (const chunk of chunks(puts, ETCD_LIMITS.txnOpsMax)) await this.store.txn([], chunk);
        r = await this.store.txn(guard, [publish]);
      }
      if (r.succeeded) return { ok: true, value: toInfo(name, record, r.revision) };
    }
    throw new Error(`addPartitions of topic ${name}: gave up after ${CAS_ATTEMPTS_MAX} conflicting concurrent changes`);
  }

  /** AlterConfigs: the given configs replace all of the topic's own configs. */
  async alterConfigs(name: string, configs: Readonly<Record<string, string | null>>, options: { validateOnly?: boolean } = {}): Promise<TopicResult<TopicInfo>> {
    const validated = validateTopicConfigs(configs);
    if (!validated.ok) return fail('INVALID_CONFIG', validated.message);
    return this.updateConfigs(name, () => validated, options.validateOnly ?? false);
  }

  /** IncrementalAlterConfigs: set, delete, append, subtract on top of the current configs. */
  async incrementalAlterConfigs(name: string, alterations: readonly ConfigAlteration[], options: { validateOnly?: boolean } = {}): Promise<TopicResult<TopicInfo>> {
    return this.updateConfigs(name, (current) => applyConfigAlterations(current, alterations), options.validateOnly ?? false);
  }

  async partitions(topicId: string): Promise<PartitionRecord[]> {
    const prefix = this.keys.partitionsPrefix(topicId);
    const kvs = await this.store.list(prefix);
    return kvs
      .map((kv) => ({ partition: Number(kv.key.slice(prefix.length)), ...decodeJson<{ leader: number; leaderEpoch: number }>(kv.value, kv.key) }))
      .sort((a, b) => a.partition - b.partition);
  }

  async getPartition(topicId: string, partition: number): Promise<PartitionRecord | null> {
    const kv = await this.store.get(this.keys.partition(topicId, partition));
    return kv ? { partition, ...decodeJson<{ leader: number; leaderEpoch: number }>(kv.value, kv.key) } : null;
  }

  private async updateConfigs(
    name: string,
    compute: (current: Record<string, string>) => ReturnType<typeof validateTopicConfigs>,
    validateOnly: boolean,
  ): Promise<TopicResult<TopicInfo>> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS_MAX; attempt++) {
      const topic = await this.get(name);
      if (!topic) return fail('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
      const next = compute(topic.configs);
      if (!next.ok) return fail('INVALID_CONFIG', next.message);
      const record: TopicRecord = { id: topic.id, partitions: topic.partitions, configs: next.configs, createdMs: topic.createdMs };
      if (validateOnly) return { ok: true, value: toInfo(name, record, topic.modRevision) };
      const r = await this.store.txn(
        [{ key: this.keys.topic(name), target: 'modRevision', op: '==', value: topic.modRevision }],
        [{ type: 'put', key: this.keys.topic(name), value: encodeJson(record) }],
      );
      if (r.succeeded) return { ok: true, value: toInfo(name, record, r.revision) };
    }
    throw new Error(`config change of topic ${name}: gave up after ${CAS_ATTEMPTS_MAX} conflicting concurrent changes`);
  }

  private partitionPuts(topicId: string, from: number, to: number): Op[] {
    const ops: Op[] = [];
    // Single node: this broker leads every new partition at epoch 0. The controller (cluster issue) reassigns.
    const value = encodeJson({ leader: this.nodeId, leaderEpoch: 0 });
    for (let p = from; p < to; p++) ops.push({ type: 'put', key: this.keys.partition(topicId, p), value });
    return ops;
  }
}

function toInfo(name: string, r: TopicRecord, modRevision: number): TopicInfo {
  return { name, id: r.id, partitions: r.partitions, configs: { ...r.configs }, createdMs: r.createdMs, modRevision };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
