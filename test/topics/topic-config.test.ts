import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CONFIG_SOURCE, KAFKA_CONFIG_TYPE, TOPIC_CONFIG_SPECS, applyConfigAlterations, brokerTopicDefaults, describeTopicConfigs,
  resolveTopicConfig, validateTopicConfigs,
} from '../../src/topics/topic-config.js';
import { loadConfig } from '../../src/ops/config.js';

const defaults = brokerTopicDefaults(loadConfig({ argv: [], env: {}, cwd: '/' }));

describe('topic config validation', () => {
  test('accepts and normalizes valid values', () => {
    const r = validateTopicConfigs({
      'retention.ms': ' 86400000', 'retention.bytes': '-1', 'cleanup.policy': 'compact, delete', 'max.message.bytes': '2097152',
      'message.timestamp.type': 'LogAppendTime', 'segment.bytes': '14', 'min.insync.replicas': '2', 'compression.type': 'zstd',
      'unclean.leader.election.enable': 'FALSE', 'min.cleanable.dirty.ratio': '0.25', 'flush.messages': '9223372036854775807',
    });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.configs['retention.ms'], '86400000');
    assert.equal(r.configs['cleanup.policy'], 'compact,delete');
    assert.equal(r.configs['unclean.leader.election.enable'], 'false');
    assert.deepEqual(Object.keys(r.configs), [...Object.keys(r.configs)].sort(), 'keys are sorted');
  });

  test('invalid values name the key and say why (INVALID_CONFIG)', () => {
    const cases: [Record<string, string | null>, RegExp][] = [
      [{ 'retention.msec': '1' }, /Unknown topic config name: retention\.msec/],
      [{ 'retention.ms': 'forever' }, /Invalid value forever for configuration retention\.ms: Not a number of type LONG/],
      [{ 'retention.ms': '-2' }, /retention\.ms: Value must be at least -1/],
      [{ 'segment.bytes': '13' }, /segment\.bytes: Value must be at least 14/],
      [{ 'max.message.bytes': '2147483648' }, /max\.message\.bytes: Not a number of type INT/],
      [{ 'cleanup.policy': 'shred' }, /cleanup\.policy: Invalid value shred/],
      [{ 'cleanup.policy': '' }, /cleanup\.policy: Empty list/],
      [{ 'message.timestamp.type': 'createtime' }, /String must be one of: CreateTime, LogAppendTime/],
      [{ 'preallocate': 'yes' }, /either true or false/],
      [{ 'min.cleanable.dirty.ratio': '1.5' }, /no more than 1/],
      [{ 'retention.ms': null }, /Null value not supported for topic config retention\.ms/],
      [{ 'flush.ms': '9223372036854775808' }, /Not a number of type LONG/],
    ];
    for (const [configs, re] of cases) {
      const r = validateTopicConfigs(configs);
      assert.equal(r.ok, false, JSON.stringify(configs));
      if (!r.ok) {
        assert.equal(r.errorCode, 40);
        assert.equal(r.error, 'INVALID_CONFIG');
        assert.match(r.message, re);
      }
    }
  });

  test('normalization is idempotent for every valid long', () => {
    fc.assert(fc.property(fc.bigInt({ min: -1n, max: 2n ** 63n - 1n }), (n) => {
      const r1 = validateTopicConfigs({ 'retention.ms': n.toString() });
      assert.ok(r1.ok);
      const r2 = validateTopicConfigs(r1.configs);
      assert.deepEqual(r2, r1);
    }));
  });
});

describe('incremental alterations', () => {
  test('set, delete, append and subtract', () => {
    const current = { 'retention.ms': '1000', 'cleanup.policy': 'delete' };
    const r = applyConfigAlterations(current, [
      { name: 'retention.ms', op: 'delete', value: null },
      { name: 'cleanup.policy', op: 'append', value: 'compact' },
      { name: 'max.message.bytes', op: 'set', value: '5000' },
    ]);
    assert.deepEqual(r, { ok: true, configs: { 'cleanup.policy': 'delete,compact', 'max.message.bytes': '5000' } });
    const sub = applyConfigAlterations({ 'cleanup.policy': 'delete,compact' }, [{ name: 'cleanup.policy', op: 'subtract', value: 'delete' }]);
    assert.deepEqual(sub, { ok: true, configs: { 'cleanup.policy': 'compact' } });
    const empty = applyConfigAlterations({}, [{ name: 'cleanup.policy', op: 'subtract', value: 'delete' }]);
    assert.equal(empty.ok, false, 'subtracting the only policy leaves an empty list');
    const notList = applyConfigAlterations({}, [{ name: 'retention.ms', op: 'append', value: '5' }]);
    assert.ok(!notList.ok && /not a list/.test(notList.message));
    const dup = applyConfigAlterations({}, [{ name: 'retention.ms', op: 'set', value: '5' }, { name: 'retention.ms', op: 'delete', value: null }]);
    assert.ok(!dup.ok && /more than once/.test(dup.message));
  });
});

describe('describe', () => {
  test('every key, with value, source, type and documentation', () => {
    const d = describeTopicConfigs({ 'retention.ms': '1000' }, defaults);
    assert.equal(d.length, TOPIC_CONFIG_SPECS.length);
    assert.deepEqual(d.map((c) => c.name), TOPIC_CONFIG_SPECS.map((s) => s.name).sort());
    const byName = new Map(d.map((c) => [c.name, c]));
    const retention = byName.get('retention.ms')!;
    assert.deepEqual([retention.value, retention.source, retention.isDefault, retention.type], ['1000', CONFIG_SOURCE.TOPIC_CONFIG, false, KAFKA_CONFIG_TYPE.LONG]);
    assert.deepEqual(retention.synonyms.map((s) => [s.name, s.source]), [['retention.ms', 1], ['log.retention.ms', 5]]);
    const maxBytes = byName.get('max.message.bytes')!;
    assert.deepEqual([maxBytes.value, maxBytes.source, maxBytes.isDefault, maxBytes.type], ['1048588', CONFIG_SOURCE.DEFAULT_CONFIG, true, KAFKA_CONFIG_TYPE.INT]);
    assert.equal(byName.get('cleanup.policy')!.type, KAFKA_CONFIG_TYPE.LIST);
    assert.equal(byName.get('preallocate')!.type, KAFKA_CONFIG_TYPE.BOOLEAN);
    for (const c of d) {
      assert.equal(c.readOnly, false);
      assert.equal(c.sensitive, false);
      assert.ok(c.documentation.length > 10);
      assert.notEqual(c.value, null);
    }
  });

  test('an explicitly configured broker default is STATIC_BROKER_CONFIG', () => {
    const config = loadConfig({ argv: ['--log.retention.ms=1h', '--log.cleanup.policy=compact'], env: {}, cwd: '/' });
    const d = new Map(describeTopicConfigs({}, brokerTopicDefaults(config)).map((c) => [c.name, c]));
    assert.deepEqual([d.get('retention.ms')!.value, d.get('retention.ms')!.source, d.get('retention.ms')!.isDefault], ['3600000', CONFIG_SOURCE.STATIC_BROKER_CONFIG, false]);
    assert.deepEqual(d.get('retention.ms')!.synonyms.map((s) => [s.name, s.value, s.source]), [['log.retention.ms', '3600000', 4], ['log.retention.ms', '604800000', 5]]);
    assert.equal(d.get('cleanup.policy')!.value, 'compact');
    assert.equal(d.get('segment.ms')!.source, CONFIG_SOURCE.DEFAULT_CONFIG);
  });

  test('only the requested keys; unknown ones are skipped', () => {
    const d = describeTopicConfigs({}, defaults, ['retention.ms', 'nope']);
    assert.deepEqual(d.map((c) => c.name), ['retention.ms']);
  });
});

describe('resolveTopicConfig', () => {
  test('topic values override broker values override static defaults', () => {
    const config = loadConfig({ argv: ['--message.max.bytes=2MiB', '--log.message.timestamp.type=LogAppendTime'], env: {}, cwd: '/' });
    const e = resolveTopicConfig({ 'retention.bytes': '1000', 'cleanup.policy': 'compact,delete' }, brokerTopicDefaults(config));
    assert.deepEqual(e, {
      retentionMs: 604800000, retentionBytes: 1000, cleanupPolicy: ['compact', 'delete'], maxMessageBytes: 2 * 1024 * 1024,
      messageTimestampType: 'LogAppendTime', segmentBytes: 1073741824, segmentMs: 604800000, minInsyncReplicas: 1, compressionType: 'producer',
      minCleanableDirtyRatio: 0.5, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, deleteRetentionMs: 86400000, produceRouting: 'leader', remoteReadMode: 'tail',
      keySchemaValidation: null, valueSchemaValidation: null,
    });
    // The compaction keys take the broker's log.cleaner.* values (Kafka's synonyms).
    const cleaner = loadConfig({ argv: ['--log.cleaner.min.cleanable.ratio=0.2', '--log.cleaner.delete.retention.ms=5000', '--log.roll.ms=60000'], env: {}, cwd: '/' });
    const c = resolveTopicConfig({ 'min.compaction.lag.ms': '7' }, brokerTopicDefaults(cleaner));
    assert.deepEqual([c.minCleanableDirtyRatio, c.deleteRetentionMs, c.segmentMs, c.minCompactionLagMs], [0.2, 5000, 60000, 7]);
    assert.equal(resolveTopicConfig({ 'retention.ms': '9223372036854775807' }, defaults).retentionMs, Number.MAX_SAFE_INTEGER);
  });

  test('schema validation: off unless confluent.*.schema.validation=true; mode and subject name strategy per side', () => {
    const v = resolveTopicConfig({
      'confluent.value.schema.validation': 'true', 'ferry.value.schema.validation': 'full',
      'confluent.key.schema.validation': 'true', 'confluent.key.subject.name.strategy': 'io.confluent.kafka.serializers.subject.RecordNameStrategy',
      'ferry.key.schema.validation': 'full',
    }, defaults);
    assert.deepEqual(v.valueSchemaValidation, { mode: 'full', strategy: 'TopicNameStrategy' });
    assert.deepEqual(v.keySchemaValidation, { mode: 'full', strategy: 'RecordNameStrategy' });
    // ferry.*.schema.validation alone turns nothing on.
    assert.equal(resolveTopicConfig({ 'ferry.value.schema.validation': 'full' }, defaults).valueSchemaValidation, null);
    assert.deepEqual(resolveTopicConfig({ 'confluent.value.schema.validation': 'true' }, defaults).valueSchemaValidation, { mode: 'id', strategy: 'TopicNameStrategy' });
    assert.equal(validateTopicConfigs({ 'ferry.value.schema.validation': 'partial' }).ok, false);
    assert.equal(validateTopicConfigs({ 'confluent.value.subject.name.strategy': 'Mine' }).ok, false);
  });
});
