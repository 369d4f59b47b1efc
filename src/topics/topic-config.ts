// Topic-level configuration: the keys Ferry accepts, their validation, the effective values, and
// what DescribeConfigs reports. Topic records store only the keys a user set (as Kafka does);
// everything else comes from the broker's config (the key's broker synonym) or the static default.
//
// Enforced by Ferry: retention.ms, retention.bytes, cleanup.policy (with the compaction keys), max.message.bytes,
// message.timestamp.type. Accepted, validated and described for client compatibility, but without
// effect: every other key in TOPIC_CONFIG_SPECS (their documentation says so).
//
// API:
//   TOPIC_CONFIG_SPECS, TopicConfigSpec, KAFKA_CONFIG_TYPE, CONFIG_SOURCE
//   validateTopicConfigs(configs)                 -> { ok, configs (normalized) } | TopicConfigError
//   applyConfigAlterations(current, alterations)  -> same (IncrementalAlterConfigs: set/delete/append/subtract)
//   resolveTopicConfig(topicConfigs, brokerDefaults) -> EffectiveTopicConfig (typed values the log uses)
//   describeTopicConfigs(topicConfigs, brokerDefaults, keys?) -> DescribedConfig[] (DescribeConfigs entries)
//   brokerTopicDefaults(config)                   -> BrokerTopicDefaults from a BrokerConfig
//   alias: describe = describeTopicConfigs


/** DescribeConfigs ConfigType codes. */
export const KAFKA_CONFIG_TYPE = { BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, DOUBLE: 6, LIST: 7, CLASS: 8, PASSWORD: 9 } as const;
/** DescribeConfigs ConfigSource codes. */
export const CONFIG_SOURCE = { TOPIC_CONFIG: 1, DYNAMIC_BROKER_CONFIG: 2, DYNAMIC_DEFAULT_BROKER_CONFIG: 3, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;

const INVALID_CONFIG = 40;
const LONG_MAX = '9223372036854775807';

type ValueKind = 'long' | 'int' | 'double' | 'boolean' | 'string' | 'list';

export interface TopicConfigSpec {
  name: string;
  kind: ValueKind;
  /** The broker key whose value is this key's default (a "synonym" in DescribeConfigs). */
  brokerKey?: string;
  /** Default when the broker key is not set either (Kafka's default). */
  defaultValue: string;
  min?: bigint | number;
  max?: bigint | number;
  /** Allowed values (for strings) or allowed items (for lists). */
  values?: readonly string[];
  /** A list that must not be empty. */
  nonEmpty?: boolean;
  enforced: boolean;
  doc: string;
}

const STRATEGY_PACKAGE = 'io.confluent.kafka.serializers.subject.';
const SUBJECT_NAME_STRATEGIES = ['TopicNameStrategy', 'RecordNameStrategy', 'TopicRecordNameStrategy'].map((s) => STRATEGY_PACKAGE + s);

const NOT_ENFORCED = ' Accepted for compatibility; Ferry does not act on it.';

export const TOPIC_CONFIG_SPECS: readonly TopicConfigSpec[] = [
  { name: 'cleanup.policy', kind: 'list', brokerKey: 'log.cleanup.policy', defaultValue: 'delete', values: ['delete', 'compact'], nonEmpty: true, enforced: true, doc: 'delete: remove old data by retention.ms and retention.bytes; compact: keep the latest record of each key (the log cleaner; records without a key are refused with INVALID_RECORD); compact,delete: both.' },
  { name: 'compression.gzip.level', kind: 'int', defaultValue: '-1', min: -1, max: 9, enforced: false, doc: 'Level for compression.type=gzip.' + NOT_ENFORCED },
  { name: 'compression.lz4.level', kind: 'int', defaultValue: '9', min: 1, max: 17, enforced: false, doc: 'Level for compression.type=lz4.' + NOT_ENFORCED },
  { name: 'compression.type', kind: 'string', brokerKey: 'compression.type', defaultValue: 'producer', values: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'], enforced: false, doc: 'Final compression of the topic\'s batches. Ferry stores batches as producers sent them (producer).' + NOT_ENFORCED },
  { name: 'compression.zstd.level', kind: 'int', defaultValue: '3', min: -131072, max: 22, enforced: false, doc: 'Level for compression.type=zstd.' + NOT_ENFORCED },
  { name: 'confluent.key.schema.validation', kind: 'boolean', defaultValue: 'false', enforced: true, doc: 'Broker-side schema validation of record keys (Confluent Server\'s key): each key must carry the schema registry\'s wire header (magic byte 0, a 4-byte schema id) of a schema registered under the key subject (confluent.key.subject.name.strategy); other records are refused with INVALID_RECORD. ferry.key.schema.validation=full also decodes the key against that schema.' },
  { name: 'confluent.key.subject.name.strategy', kind: 'string', defaultValue: 'io.confluent.kafka.serializers.subject.TopicNameStrategy', values: SUBJECT_NAME_STRATEGIES, enforced: true, doc: 'Under which subject a validated key\'s schema id must be registered: TopicNameStrategy <topic>-key, RecordNameStrategy <record name>, TopicRecordNameStrategy <topic>-<record name>.' },
  { name: 'confluent.value.schema.validation', kind: 'boolean', defaultValue: 'false', enforced: true, doc: 'Broker-side schema validation of record values: each non-null value must carry the schema registry\'s wire header (magic byte 0, a 4-byte schema id) of a schema registered under the value subject (confluent.value.subject.name.strategy); other records are refused with INVALID_RECORD. ferry.value.schema.validation=full also decodes the value against that schema.' },
  { name: 'confluent.value.subject.name.strategy', kind: 'string', defaultValue: 'io.confluent.kafka.serializers.subject.TopicNameStrategy', values: SUBJECT_NAME_STRATEGIES, enforced: true, doc: 'Under which subject a validated value\'s schema id must be registered: TopicNameStrategy <topic>-value, RecordNameStrategy <record name>, TopicRecordNameStrategy <topic>-<record name>.' },
  { name: 'delete.retention.ms', kind: 'long', brokerKey: 'log.cleaner.delete.retention.ms', defaultValue: '86400000', min: 0, enforced: true, doc: 'Compacted topics: how long a tombstone (and the marker of a transaction with nothing left) is kept after the cleaner first cleaned its offset.' },
  { name: 'ferry.key.schema.validation', kind: 'string', defaultValue: 'id', values: ['id', 'full'], enforced: true, doc: 'With confluent.key.schema.validation=true: id checks the key\'s schema id only; full also decodes the key with its schema (Avro, JSON Schema, Protobuf) and refuses one that does not match.' },
  { name: 'ferry.produce.routing', kind: 'string', brokerKey: 'ferry.produce.routing', defaultValue: 'leader', values: ['leader', 'zone-local'], enforced: true, doc: 'leader: producers write to the partition leader, wherever it is (lowest latency). zone-local: a producer whose client.id carries ferry_az=<zone> is given a broker of its own zone as the leader; that broker stages the batches in the object store and hands the leader a reference, so no record byte crosses a zone (docs/zone-local.md).' },
  { name: 'ferry.remote.read.mode', kind: 'string', brokerKey: 'ferry.remote.read.mode', defaultValue: 'tail', values: ['tail', 'uploaded-only', 'leader'], enforced: true, doc: 'How consumers in another zone than the leader read (KIP-392 preferredReadReplica, from client.rack or ferry_az=<zone>). tail: a broker of their zone serves uploaded data from the object store and the un-uploaded tail from the leader, one copy per broker. uploaded-only: only what is uploaded (no record byte crosses a zone; reads lag by the upload interval). leader: no redirection, read from the leader.' },
  { name: 'ferry.value.schema.validation', kind: 'string', defaultValue: 'id', values: ['id', 'full'], enforced: true, doc: 'With confluent.value.schema.validation=true: id checks the value\'s schema id only; full also decodes the value with its schema (Avro, JSON Schema, Protobuf) and refuses one that does not match.' },
  { name: 'file.delete.delay.ms', kind: 'long', defaultValue: '60000', min: 0, enforced: false, doc: 'Delay before deleting a file from the filesystem.' + NOT_ENFORCED },
  { name: 'flush.messages', kind: 'long', defaultValue: LONG_MAX, min: 1, enforced: false, doc: 'Messages between forced flushes. Ferry fsyncs every write before acknowledging it.' + NOT_ENFORCED },
  { name: 'flush.ms', kind: 'long', defaultValue: LONG_MAX, min: 0, enforced: false, doc: 'Time between forced flushes. Ferry fsyncs every write before acknowledging it.' + NOT_ENFORCED },
  { name: 'follower.replication.throttled.replicas', kind: 'list', defaultValue: '', enforced: false, doc: 'Replicas to throttle on the follower side. Ferry has no followers.' + NOT_ENFORCED },
  { name: 'index.interval.bytes', kind: 'int', defaultValue: '4096', min: 0, enforced: false, doc: 'Bytes between offset index entries.' + NOT_ENFORCED },
  { name: 'leader.replication.throttled.replicas', kind: 'list', defaultValue: '', enforced: false, doc: 'Replicas to throttle on the leader side. Ferry has no followers.' + NOT_ENFORCED },
  { name: 'local.retention.bytes', kind: 'long', defaultValue: '-2', min: -2, enforced: false, doc: 'Tiered storage: bytes kept locally (-2: same as retention.bytes).' + NOT_ENFORCED },
  { name: 'local.retention.ms', kind: 'long', defaultValue: '-2', min: -2, enforced: false, doc: 'Tiered storage: time kept locally (-2: same as retention.ms).' + NOT_ENFORCED },
  { name: 'max.compaction.lag.ms', kind: 'long', brokerKey: 'log.cleaner.max.compaction.lag.ms', defaultValue: LONG_MAX, min: 1, enforced: true, doc: 'Compacted topics: dirty data older than this is cleaned whatever the dirty ratio.' },
  { name: 'max.message.bytes', kind: 'int', brokerKey: 'message.max.bytes', defaultValue: '1048588', min: 0, enforced: true, doc: 'Largest record batch the topic accepts; larger batches get MESSAGE_TOO_LARGE.' },
  { name: 'message.downconversion.enable', kind: 'boolean', defaultValue: 'true', enforced: false, doc: 'Down-convert batches for old consumers. Ferry serves magic 2 only.' + NOT_ENFORCED },
  { name: 'message.format.version', kind: 'string', defaultValue: '3.0-IV1', enforced: false, doc: 'Deprecated message format version.' + NOT_ENFORCED },
  { name: 'message.timestamp.after.max.ms', kind: 'long', defaultValue: LONG_MAX, min: 0, enforced: false, doc: 'Largest allowed distance of a record timestamp into the future.' + NOT_ENFORCED },
  { name: 'message.timestamp.before.max.ms', kind: 'long', defaultValue: LONG_MAX, min: 0, enforced: false, doc: 'Largest allowed distance of a record timestamp into the past.' + NOT_ENFORCED },
  { name: 'message.timestamp.difference.max.ms', kind: 'long', defaultValue: LONG_MAX, min: 0, enforced: false, doc: 'Deprecated: largest allowed timestamp difference.' + NOT_ENFORCED },
  { name: 'message.timestamp.type', kind: 'string', brokerKey: 'log.message.timestamp.type', defaultValue: 'CreateTime', values: ['CreateTime', 'LogAppendTime'], enforced: true, doc: 'CreateTime keeps the producer\'s timestamps; LogAppendTime stamps batches with the broker\'s time on append.' },
  { name: 'min.cleanable.dirty.ratio', kind: 'double', brokerKey: 'log.cleaner.min.cleanable.ratio', defaultValue: '0.5', min: 0, max: 1, enforced: true, doc: 'Compacted topics: a partition is cleaned once its cleanable dirty bytes are at least this share of its cleanable bytes.' },
  { name: 'min.compaction.lag.ms', kind: 'long', brokerKey: 'log.cleaner.min.compaction.lag.ms', defaultValue: '0', min: 0, enforced: true, doc: 'Compacted topics: a record stays uncompacted at least this long.' },
  { name: 'min.insync.replicas', kind: 'int', brokerKey: 'min.insync.replicas', defaultValue: '1', min: 1, enforced: false, doc: 'Replicas that must acknowledge acks=all writes. With one leader per partition and a replicated volume, always met.' + NOT_ENFORCED },
  { name: 'preallocate', kind: 'boolean', defaultValue: 'false', enforced: false, doc: 'Preallocate segment files.' + NOT_ENFORCED },
  { name: 'remote.storage.enable', kind: 'boolean', defaultValue: 'false', enforced: false, doc: 'Kafka tiered storage. Ferry keeps all data in object storage anyway.' + NOT_ENFORCED },
  { name: 'retention.bytes', kind: 'long', brokerKey: 'log.retention.bytes', defaultValue: '-1', min: -1, enforced: true, doc: 'Bytes kept per partition before old data is deleted (-1: no limit).' },
  { name: 'retention.ms', kind: 'long', brokerKey: 'log.retention.ms', defaultValue: '604800000', min: -1, enforced: true, doc: 'How long data is kept before it is deleted (-1: forever).' },
  { name: 'segment.bytes', kind: 'int', brokerKey: 'log.segment.bytes', defaultValue: '1073741824', min: 14, enforced: true, doc: 'Ferry has no segment files. Compacted topics: uploaded data stays in the active segment (not cleaned) until this many bytes of newer data follow it, or it is segment.ms old.' },
  { name: 'segment.index.bytes', kind: 'int', defaultValue: '10485760', min: 4, enforced: false, doc: 'Size of the offset index per segment.' + NOT_ENFORCED },
  { name: 'segment.jitter.ms', kind: 'long', defaultValue: '0', min: 0, enforced: false, doc: 'Random jitter on segment rolling.' + NOT_ENFORCED },
  { name: 'segment.ms', kind: 'long', brokerKey: 'log.roll.ms', defaultValue: '604800000', min: 1, enforced: true, doc: 'Compacted topics: uploaded data older than this leaves the active segment and may be cleaned.' },
  { name: 'unclean.leader.election.enable', kind: 'boolean', defaultValue: 'false', enforced: false, doc: 'Allow out-of-sync replicas to become leader. Ferry never loses acknowledged data on leader change.' + NOT_ENFORCED },
];

const SPECS = new Map(TOPIC_CONFIG_SPECS.map((s) => [s.name, s]));

const KIND_TO_TYPE: Record<ValueKind, number> = {
  long: KAFKA_CONFIG_TYPE.LONG, int: KAFKA_CONFIG_TYPE.INT, double: KAFKA_CONFIG_TYPE.DOUBLE,
  boolean: KAFKA_CONFIG_TYPE.BOOLEAN, string: KAFKA_CONFIG_TYPE.STRING, list: KAFKA_CONFIG_TYPE.LIST,
};

export interface TopicConfigError {
  ok: false;
  errorCode: number;
  error: 'INVALID_CONFIG';
  message: string;
}

export type TopicConfigResult = { ok: true; configs: Record<string, string> } | TopicConfigError;

function invalid(message: string): TopicConfigError {
  return { ok: false, errorCode: INVALID_CONFIG, error: 'INVALID_CONFIG', message };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Normalizes one value; returns the error message if it is not valid. */
function normalize(spec: TopicConfigSpec, raw: string): { value: string } | { problem: string } {
  const v = raw.trim();
  const name = spec.name;
  switch (spec.kind) {
    case 'long': case 'int': {
      if (!/^[+-]?\d+$/.test(v)) return { problem: `Invalid value ${raw} for configuration ${name}: Not a number of type ${spec.kind.toUpperCase()}` };
      const n = BigInt(v);
      const lo = spec.kind === 'int' ? -(2n ** 31n) : INT64_MIN;
      const hi = spec.kind === 'int' ? 2n ** 31n - 1n : INT64_MAX;
      if (n < lo || n > hi) return { problem: `Invalid value ${raw} for configuration ${name}: Not a number of type ${spec.kind.toUpperCase()}` };
      if (spec.min !== undefined && n < BigInt(spec.min)) return { problem: `Invalid value ${raw} for configuration ${name}: Value must be at least ${spec.min}` };
      if (spec.max !== undefined && n > BigInt(spec.max)) return { problem: `Invalid value ${raw} for configuration ${name}: Value must be no more than ${spec.max}` };
      return { value: n.toString() };
    }
    case 'double': {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n)) return { problem: `Invalid value ${raw} for configuration ${name}: Not a number of type DOUBLE` };
      if (spec.min !== undefined && n < Number(spec.min)) return { problem: `Invalid value ${raw} for configuration ${name}: Value must be at least ${spec.min}` };
      if (spec.max !== undefined && n > Number(spec.max)) return { problem: `Invalid value ${raw} for configuration ${name}: Value must be no more than ${spec.max}` };
      return { value: v };
    }
    case 'boolean': {
      const b = v.toLowerCase();
      if (b !== 'true' && b !== 'false') return { problem: `Invalid value ${raw} for configuration ${name}: Expected value to be either true or false` };
      return { value: b };
    }
    case 'string': {
      if (spec.values && !spec.values.includes(v)) return { problem: `Invalid value ${raw} for configuration ${name}: String must be one of: ${spec.values.join(', ')}` };
      return { value: v };
    }
    case 'list': {
      const items = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      if (spec.nonEmpty && items.length === 0) return { problem: `Invalid value ${raw} for configuration ${name}: Empty list` };
      const bad = spec.values ? items.find((i) => !spec.values!.includes(i)) : undefined;
      if (bad !== undefined) return { problem: `Invalid value ${raw} for configuration ${name}: Invalid value ${bad}; allowed: ${spec.values!.join(', ')}` };
      return { value: [...new Set(items)].join(',') };
    }
  }
}

/** Validates topic configs as CreateTopics or AlterConfigs sends them. Null values are invalid. */
export function validateTopicConfigs(configs: Readonly<Record<string, string | null>>): TopicConfigResult {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(configs)) {
    const spec = SPECS.get(name);
    if (!spec) return invalid(`Unknown topic config name: ${name}`);
    if (raw === null || raw === undefined) return invalid(`Null value not supported for topic config ${name}`);
    const n = normalize(spec, raw);
    if ('problem' in n) return invalid(n.problem);
    out[name] = n.value;
  }
  return { ok: true, configs: sortKeys(out) };
}

export interface ConfigAlteration {
  name: string;
  op: 'set' | 'delete' | 'append' | 'subtract';
  value: string | null;
}

/** IncrementalAlterConfigs semantics: set, delete (back to default), append/subtract for list keys. */
export function applyConfigAlterations(current: Readonly<Record<string, string>>, alterations: readonly ConfigAlteration[]): TopicConfigResult {
  const next: Record<string, string | null> = { ...current };
  const seen = new Set<string>();
  for (const a of alterations) {
    const spec = SPECS.get(a.name);
    if (!spec) return invalid(`Unknown topic config name: ${a.name}`);
    if (seen.has(a.name)) return invalid(`Config ${a.name} appears more than once in the request`);
    seen.add(a.name);
    switch (a.op) {
      case 'set':
        if (a.value === null) return invalid(`Null value not supported for topic config ${a.name}`);
        next[a.name] = a.value;
        break;
      case 'delete':
        delete next[a.name];
        break;
      case 'append': case 'subtract': {
        if (spec.kind !== 'list') return invalid(`Config value ${a.op} is not allowed for config key ${a.name}: it is not a list`);
        if (a.value === null) return invalid(`Null value not supported for topic config ${a.name}`);
        const base = (current[a.name] ?? spec.defaultValue).split(',').filter(Boolean);
        const items = a.value.split(',').map((s) => s.trim()).filter(Boolean);
        const result = a.op === 'append' ? [...base, ...items.filter((i) => !base.includes(i))] : base.filter((i) => !items.includes(i));
        next[a.name] = result.join(',');
        break;
      }
      default:
        return invalid(`Unknown config operation ${String((a as { op: unknown }).op)} for ${a.name}`);
    }
  }
  return validateTopicConfigs(next);
}

/** Broker-level values for topic defaults, keyed by broker key; explicit = set in the broker's config. */
export type BrokerTopicDefaults = Readonly<Record<string, { value: string; explicit: boolean }>>;

/** The broker synonyms of topic keys, read from a loaded BrokerConfig. */
export function brokerTopicDefaults(config: { get(key: string): unknown; isExplicit(key: string): boolean }): BrokerTopicDefaults {
  const out: Record<string, { value: string; explicit: boolean }> = {};
  for (const spec of TOPIC_CONFIG_SPECS) {
    if (spec.brokerKey === undefined) continue;
    const v = config.get(spec.brokerKey);
    out[spec.brokerKey] = { value: Array.isArray(v) ? v.join(',') : String(v), explicit: config.isExplicit(spec.brokerKey) };
  }
  return out;
}

export interface DescribedConfig {
  name: string;
  value: string | null;
  source: number;
  isDefault: boolean;
  readOnly: boolean;
  sensitive: boolean;
  /** DescribeConfigs ConfigType. */
  type: number;
  documentation: string;
  /** Where else the value could come from, highest precedence first (DescribeConfigs synonyms). */
  synonyms: { name: string; value: string | null; source: number }[];
}

function effective(spec: TopicConfigSpec, topicConfigs: Readonly<Record<string, string>>, brokerDefaults: BrokerTopicDefaults): { value: string; source: number } {
  const own = topicConfigs[spec.name];
  if (own !== undefined) return { value: own, source: CONFIG_SOURCE.TOPIC_CONFIG };
  const broker = spec.brokerKey === undefined ? undefined : brokerDefaults[spec.brokerKey];
  if (broker?.explicit) return { value: broker.value, source: CONFIG_SOURCE.STATIC_BROKER_CONFIG };
  return { value: broker?.value ?? spec.defaultValue, source: CONFIG_SOURCE.DEFAULT_CONFIG };
}

/**
 * Every topic key (or only `keys`, unknown ones skipped as Kafka does) with its effective value
 * and source, sorted by name.
 */
export function describeTopicConfigs(topicConfigs: Readonly<Record<string, string>>, brokerDefaults: BrokerTopicDefaults, keys?: readonly string[] | null): DescribedConfig[] {
  const wanted = keys && keys.length > 0 ? new Set(keys) : null;
  const out: DescribedConfig[] = [];
  for (const spec of TOPIC_CONFIG_SPECS) {
    if (wanted && !wanted.has(spec.name)) continue;
    const { value, source } = effective(spec, topicConfigs, brokerDefaults);
    const synonyms: DescribedConfig['synonyms'] = [];
    if (topicConfigs[spec.name] !== undefined) synonyms.push({ name: spec.name, value: topicConfigs[spec.name]!, source: CONFIG_SOURCE.TOPIC_CONFIG });
    const broker = spec.brokerKey === undefined ? undefined : brokerDefaults[spec.brokerKey];
    if (spec.brokerKey !== undefined && broker?.explicit) synonyms.push({ name: spec.brokerKey, value: broker.value, source: CONFIG_SOURCE.STATIC_BROKER_CONFIG });
    if (spec.brokerKey !== undefined) synonyms.push({ name: spec.brokerKey, value: broker && !broker.explicit ? broker.value : spec.defaultValue, source: CONFIG_SOURCE.DEFAULT_CONFIG });
    out.push({
      name: spec.name, value, source, isDefault: source === CONFIG_SOURCE.DEFAULT_CONFIG, readOnly: false, sensitive: false,
      type: KIND_TO_TYPE[spec.kind], documentation: spec.doc, synonyms,
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export const describe = describeTopicConfigs;

export interface EffectiveTopicConfig {
  /** -1 = forever. */
  retentionMs: number;
  /** -1 = no limit. */
  retentionBytes: number;
  cleanupPolicy: ('delete' | 'compact')[];
  maxMessageBytes: number;
  messageTimestampType: 'CreateTime' | 'LogAppendTime';
  segmentBytes: number;
  segmentMs: number;
  minInsyncReplicas: number;
  compressionType: string;
  minCleanableDirtyRatio: number;
  minCompactionLagMs: number;
  maxCompactionLagMs: number;
  deleteRetentionMs: number;
  produceRouting: 'leader' | 'zone-local';
  remoteReadMode: 'tail' | 'uploaded-only' | 'leader';
  /** Broker-side schema validation of keys and values (null: off). */
  keySchemaValidation: SchemaValidation | null;
  valueSchemaValidation: SchemaValidation | null;
}

/** How one side (key or value) of a topic's records is checked against the schema registry. */
export interface SchemaValidation {
  /** id: the schema id must be registered under the subject; full: the bytes must also decode. */
  mode: 'id' | 'full';
  strategy: 'TopicNameStrategy' | 'RecordNameStrategy' | 'TopicRecordNameStrategy';
}

/** The typed values the log and retention act on. Assumes validated topic configs. */
export function resolveTopicConfig(topicConfigs: Readonly<Record<string, string>>, brokerDefaults: BrokerTopicDefaults): EffectiveTopicConfig {
  const get = (name: string): string => effective(SPECS.get(name)!, topicConfigs, brokerDefaults).value;
  const safe = (name: string): number => {
    const n = Number(get(name));
    // Longs above 2^53 mean "practically forever" for retention; clamp instead of losing sign or precision.
    return Number.isSafeInteger(n) ? n : n > 0 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
  };
  return {
    retentionMs: safe('retention.ms'),
    retentionBytes: safe('retention.bytes'),
    cleanupPolicy: get('cleanup.policy').split(',').filter(Boolean) as ('delete' | 'compact')[],
    maxMessageBytes: safe('max.message.bytes'),
    messageTimestampType: get('message.timestamp.type') as 'CreateTime' | 'LogAppendTime',
    segmentBytes: safe('segment.bytes'),
    segmentMs: safe('segment.ms'),
    minInsyncReplicas: safe('min.insync.replicas'),
    compressionType: get('compression.type'),
    minCleanableDirtyRatio: Number(get('min.cleanable.dirty.ratio')),
    minCompactionLagMs: safe('min.compaction.lag.ms'),
    maxCompactionLagMs: safe('max.compaction.lag.ms'),
    deleteRetentionMs: safe('delete.retention.ms'),
    produceRouting: get('ferry.produce.routing') as EffectiveTopicConfig['produceRouting'],
    remoteReadMode: get('ferry.remote.read.mode') as EffectiveTopicConfig['remoteReadMode'],
    keySchemaValidation: get('confluent.key.schema.validation') === 'true'
      ? { mode: get('ferry.key.schema.validation') as SchemaValidation['mode'], strategy: strategyName(get('confluent.key.subject.name.strategy')) }
      : null,
    valueSchemaValidation: get('confluent.value.schema.validation') === 'true'
      ? { mode: get('ferry.value.schema.validation') as SchemaValidation['mode'], strategy: strategyName(get('confluent.value.subject.name.strategy')) }
      : null,
  };
}

function strategyName(className: string): SchemaValidation['strategy'] {
  return className.slice(STRATEGY_PACKAGE.length) as SchemaValidation['strategy'];
}

function sortKeys(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
