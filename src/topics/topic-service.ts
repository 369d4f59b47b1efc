/**
 * Topics as the request handlers see them: a synchronous in-memory view (the produce and fetch
 * paths must not wait on the metadata store) kept in step with the TopicRegistry, which every
 * change goes through first. Also creates and removes the partition logs that go with topics.
 */
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { validateTopicName as registryValidateTopicName, type TopicInfo as RegistryTopic, type TopicResult } from './topic-registry.js';
import {
  brokerTopicDefaults, describeTopicConfigs, resolveTopicConfig, type ConfigAlteration, type BrokerTopicDefaults, type DescribedConfig, type SchemaValidation,
} from './topic-config.js';
import type { LogManager } from '../log/log-manager.js';
import type { MetadataStore } from '../cluster/metadata-store.js';
import type { MetadataKeys } from '../cluster/metadata-keys.js';
import type { TopicRegistry } from './topic-registry.js';

export type { ConfigAlteration, DescribedConfig };

export interface TopicInfo {
  name: string;
  topicId: string;
  partitionCount: number;
  /** Only the keys set on the topic. */
  configs: Readonly<Record<string, string>>;
  maxMessageBytes: number;
  logAppendTime: boolean;
  /** -1: forever. */
  retentionMs: number;
  /** -1: no limit. */
  retentionBytes: number;
  /** cleanup.policy includes delete (retention applies). */
  deletePolicy: boolean;
  /** cleanup.policy includes compact (the log cleaner applies; records need keys). */
  compactPolicy: boolean;
  /** What the log cleaner acts on (compacted topics). */
  compaction: TopicCompaction;
  /** ferry.produce.routing: zone-local producers write through a broker of their zone. */
  produceRouting: 'leader' | 'zone-local';
  /** ferry.remote.read.mode: how consumers in other zones than the leader's read. */
  remoteReadMode: 'tail' | 'uploaded-only' | 'leader';
  /** confluent.{key,value}.schema.validation: records checked against the schema registry (null: off). */
  keySchemaValidation: SchemaValidation | null;
  valueSchemaValidation: SchemaValidation | null;
}

export interface TopicCompaction {
  minCleanableDirtyRatio: number;
  minCompactionLagMs: number;
  maxCompactionLagMs: number;
  deleteRetentionMs: number;
  segmentMs: number;
  segmentBytes: number;
}

/** The metadata a topic service reads and writes (the process's ClusterMetadata provides it). */
export interface TopicMetadata {
  store: MetadataStore;
  keys: MetadataKeys;
  topics: TopicRegistry;
  logStarts(topicId: string): Promise<Map<number, number>>;
  setLogStart(topicId: string, partition: number, offset: number): Promise<void>;
  deletePartitionState(topicId: string): Promise<void>;
}

/** The broker settings a topic service needs. */
export interface TopicSettings {
  numPartitions: number;
  config: {
    readonly deleteTopicEnable: boolean;
    get(key: string): unknown;
    isExplicit(key: string): boolean;
  };
}

export function validateTopicName(name: string): string | null {
  return registryValidateTopicName(name);
}

function unwrap<T>(r: TopicResult<T>): T {
  if (r.ok) return r.value;
  throw new KafkaError(r.errorCode, r.message);
}

export class TopicService {
  private readonly byNameMap = new Map<string, TopicInfo>();
  private readonly byIdMap = new Map<string, TopicInfo>();
  private readonly creating = new Map<string, Promise<TopicInfo | null>>();
  private logs: LogManager | null = null;
  private readonly defaults: BrokerTopicDefaults;
  private readonly removedListeners: Array<(topics: TopicInfo[]) => Promise<void>> = [];

  private constructor(private readonly meta: TopicMetadata, private readonly settings: TopicSettings, private readonly log: Logger) {
    this.defaults = brokerTopicDefaults(settings.config);
  }

  static async load(meta: TopicMetadata, settings: TopicSettings, log: Logger): Promise<TopicService> {
    const svc = new TopicService(meta, settings, log);
    for (const t of await meta.topics.list()) svc.remember(t);
    return svc;
  }

  /** Cluster mode: partition logs follow leadership, not topics. */
  private leadsAll = true;

  /**
   * Single node: create partition logs for every known topic, at the leader epochs in metadata.
   * Cluster: partitions are created when leadership is acquired (`leadsAll` false).
   */
  async attachLogs(logs: LogManager, options: { leadsAll: boolean } = { leadsAll: true }): Promise<void> {
    this.logs = logs;
    this.leadsAll = options.leadsAll;
    if (this.leadsAll) for (const t of this.byNameMap.values()) await this.ensurePartitions(t);
  }

  /**
   * Called with the topics this broker saw deleted (its own DeleteTopics, and in cluster mode
   * other brokers' as the refresh finds them), after the metadata no longer has them. The
   * deletion waits for it; a failure is logged, not passed on (the topic is deleted already).
   */
  onTopicsRemoved(listener: (topics: TopicInfo[]) => Promise<void>): void {
    this.removedListeners.push(listener);
  }

  private async topicsRemoved(topics: TopicInfo[]): Promise<void> {
    if (topics.length === 0) return;
    for (const l of this.removedListeners) {
      await l(topics).catch((err) => this.log.error({ err, topics: topics.map((t) => t.name) }, 'cleanup after a topic deletion failed'));
    }
  }

  /** Re-read the topic list (cluster mode: topics are created and deleted on any broker). */
  async refresh(): Promise<void> {
    const current = await this.meta.topics.list();
    const seen = new Set<string>();
    for (const t of current) { this.remember(t); seen.add(t.id); }
    const removed: TopicInfo[] = [];
    for (const t of [...this.byIdMap.values()]) {
      if (seen.has(t.topicId)) continue;
      this.byIdMap.delete(t.topicId);
      if (this.byNameMap.get(t.name)?.topicId === t.topicId) this.byNameMap.delete(t.name);
      this.logs?.removeTopic(t.topicId);
      removed.push(t);
    }
    await this.topicsRemoved(removed);
  }

  /** Cluster mode: follow topic changes made by other brokers. Returns a stop function. */
  follow(): () => void {
    let pending: Promise<void> | null = null;
    let again = false;
    const run = () => {
      if (pending) { again = true; return; }
      pending = this.refresh().catch((err) => this.log.warn({ err }, 'topic refresh failed')).finally(() => {
        pending = null;
        if (again) { again = false; run(); }
      });
    };
    return this.meta.store.watch(this.meta.keys.topicsPrefix(), 0, run);
  }

  /** After WAL recovery: apply log start offsets moved by DeleteRecords. */
  async applyPartitionState(): Promise<void> {
    for (const t of this.byNameMap.values()) {
      for (const [p, offset] of await this.meta.logStarts(t.topicId)) {
        const st = this.logs!.get(t.topicId, p);
        if (st) st.log.advanceLogStart(Math.min(offset, st.log.highWatermark));
      }
    }
  }

  private async ensurePartitions(t: TopicInfo): Promise<void> {
    const records = await this.meta.topics.partitions(t.topicId);
    const epochs = new Map(records.map((r) => [r.partition, r.leaderEpoch]));
    for (let p = 0; p < t.partitionCount; p++) this.logs!.ensure(t.topicId, p, epochs.get(p) ?? 0);
  }

  private remember(t: RegistryTopic): TopicInfo {
    const eff = resolveTopicConfig(t.configs, this.defaults);
    const info: TopicInfo = { name: t.name, topicId: t.id, partitionCount: t.partitions, configs: t.configs, ...this.effective(t.configs) };
    this.byNameMap.set(info.name, info);
    this.byIdMap.set(info.topicId, info);
    return info;
  }

  private effective(configs: Readonly<Record<string, string>>) {
    const eff = resolveTopicConfig(configs, this.defaults);
    return {
      maxMessageBytes: eff.maxMessageBytes, logAppendTime: eff.messageTimestampType === 'LogAppendTime',
      retentionMs: eff.retentionMs, retentionBytes: eff.retentionBytes, deletePolicy: eff.cleanupPolicy.includes('delete'),
      compactPolicy: eff.cleanupPolicy.includes('compact'),
      produceRouting: eff.produceRouting, remoteReadMode: eff.remoteReadMode,
      keySchemaValidation: eff.keySchemaValidation, valueSchemaValidation: eff.valueSchemaValidation,
      compaction: {
        minCleanableDirtyRatio: eff.minCleanableDirtyRatio, minCompactionLagMs: eff.minCompactionLagMs, maxCompactionLagMs: eff.maxCompactionLagMs,
        deleteRetentionMs: eff.deleteRetentionMs, segmentMs: eff.segmentMs, segmentBytes: eff.segmentBytes,
      },
    };
  }

  byName(name: string): TopicInfo | undefined { return this.byNameMap.get(name); }
  byId(topicId: string): TopicInfo | undefined { return this.byIdMap.get(topicId); }
  list(): TopicInfo[] { return [...this.byNameMap.values()].sort((a, b) => (a.name < b.name ? -1 : 1)); }

  /** Auto-creation with the broker defaults; concurrent callers for one name share the work. */
  autoCreate(name: string): Promise<TopicInfo | null> {
    const existing = this.byNameMap.get(name);
    if (existing) return Promise.resolve(existing);
    let p = this.creating.get(name);
    if (!p) {
      p = this.create(name, -1, [], false).then(
        (t) => { this.log.info({ topic: name, partitions: t.partitionCount }, 'topic auto-created'); return t; },
        (err) => {
          if (err instanceof KafkaError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS) return this.byNameMap.get(name) ?? null;
          throw err;
        },
      ).finally(() => this.creating.delete(name));
      this.creating.set(name, p);
    }
    return p;
  }

  async create(name: string, numPartitions: number, configs: { name: string; value: string | null }[], validateOnly: boolean): Promise<TopicInfo> {
    const partitions = numPartitions === -1 ? this.settings.numPartitions : numPartitions;
    const seen = new Set<string>();
    const map: Record<string, string | null> = {};
    for (const c of configs) {
      if (seen.has(c.name)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `config ${c.name} appears more than once`);
      seen.add(c.name);
      map[c.name] = c.value;
    }
    const created = unwrap(await this.meta.topics.create(name, partitions, map, { validateOnly }));
    if (validateOnly) {
      return { name, topicId: created.id, partitionCount: created.partitions, configs: created.configs, ...this.effective(created.configs) };
    }
    const info = this.remember(created);
    if (this.logs && this.leadsAll) await this.ensurePartitions(info);
    return info;
  }

  async delete(name: string): Promise<TopicInfo> {
    if (!this.settings.config.deleteTopicEnable) throw new KafkaError(ErrorCode.TOPIC_DELETION_DISABLED, 'delete.topic.enable is false');
    const deleted = unwrap(await this.meta.topics.delete(name));
    const info = this.byIdMap.get(deleted.id);
    this.byNameMap.delete(name);
    this.byIdMap.delete(deleted.id);
    this.logs?.removeTopic(deleted.id);
    await this.meta.deletePartitionState(deleted.id);
    const out = info ?? { name, topicId: deleted.id, partitionCount: deleted.partitions, configs: deleted.configs, ...this.effective(deleted.configs) };
    await this.topicsRemoved([out]);
    return out;
  }

  async addPartitions(name: string, totalCount: number, validateOnly: boolean): Promise<void> {
    const t = unwrap(await this.meta.topics.addPartitions(name, totalCount, { validateOnly }));
    if (validateOnly) return;
    const info = this.remember(t);
    if (this.logs && this.leadsAll) await this.ensurePartitions(info);
  }

  async alterConfigs(name: string, changes: ConfigAlteration[], replaceAll: boolean, validateOnly: boolean): Promise<void> {
    let t: RegistryTopic;
    if (replaceAll) {
      const configs: Record<string, string | null> = {};
      for (const c of changes) configs[c.name] = c.value;
      t = unwrap(await this.meta.topics.alterConfigs(name, configs, { validateOnly }));
    } else {
      t = unwrap(await this.meta.topics.incrementalAlterConfigs(name, changes, { validateOnly }));
    }
    if (!validateOnly) this.remember(t);
  }

  describeConfigs(topic: TopicInfo, keys: readonly string[] | null): DescribedConfig[] {
    return describeTopicConfigs(topic.configs, this.defaults, keys);
  }

  /** DeleteRecords: durable in metadata first, then applied to the log. Returns the new log start. */
  async advanceLogStart(topic: TopicInfo, partition: number, offset: number): Promise<number> {
    const st = this.logs?.get(topic.topicId, partition);
    if (!st) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic.name}/${partition}`);
    if (offset <= st.log.logStartOffset) return st.log.logStartOffset;
    await this.meta.setLogStart(topic.topicId, partition, offset);
    st.log.advanceLogStart(offset);
    return st.log.logStartOffset;
  }
}
