/**
 * `ferry topics list|describe|create|delete|alter-config|add-partitions`, over the Kafka protocol
 * (works against any Kafka-compatible broker).
 */
import { ConfigResource, type AdminClient } from '../admin/admin-client.js';
import { AdminError, UsageError } from '../admin/errors.js';
import { Args, parseKeyValues, type OptionSpecs } from './args.js';
import { COMMON_OPTIONS_USAGE, COMMON_OPTIONS, connectAdmin, runReporting } from './admin-common.js';
import { type Io } from './output.js';
import { renderTable, toJson } from '../common/text-format.js';
import { MetricsSnapshot } from '../admin/prom-text.js';

interface CleanerState { dirtyRatio: number; lagSeconds: number }

/** topic/partition -> the log cleaner's view, from the brokers' metrics (each reports the partitions it leads). */
async function cleanerStates(urls: readonly string[]): Promise<Map<string, CleanerState> | null> {
  if (urls.length === 0) return null;
  const out = new Map<string, CleanerState>();
  for (const snap of await Promise.all(urls.map((u) => MetricsSnapshot.fetch(u)))) {
    for (const s of snap.samples) {
      if (s.name !== 'ferry_cleaner_dirty_ratio' && s.name !== 'ferry_cleaner_lag_seconds') continue;
      const key = `${s.labels.topic}/${s.labels.partition}`;
      const st = out.get(key) ?? { dirtyRatio: 0, lagSeconds: 0 };
      if (s.name === 'ferry_cleaner_dirty_ratio') st.dirtyRatio = s.value; else st.lagSeconds = s.value;
      out.set(key, st);
    }
  }
  return out;
}

export const TOPICS_USAGE = `usage: ferry topics <action> [options]

actions:
  list                                   topics with partition counts
  describe [--topic T] [--metrics URL]   partitions, leaders, replicas, non-default configs; with
                                         --metrics (a broker's metrics endpoint, repeatable) also
                                         each compacted partition's dirty ratio and cleaner lag
  create --topic T [--partitions N] [--replication-factor R] [--config k=v ...]
  delete --topic T
  alter-config --topic T [--add-config k=v[,k=v]] [--delete-config k[,k]]
  add-partitions --topic T --partitions N   grow the topic to N partitions in total

${COMMON_OPTIONS_USAGE}`;

const OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  topic: { kind: 'string', aliases: ['-t'] },
  partitions: { kind: 'number', aliases: ['-p'] },
  'replication-factor': { kind: 'number' },
  config: { kind: 'list' },
  'add-config': { kind: 'list', aliases: ['--set'] },
  'delete-config': { kind: 'list' },
  'include-internal': { kind: 'bool' },
  metrics: { kind: 'list' },
};

export async function runTopics(argv: string[], io: Io): Promise<number> {
  return runReporting(io, 'topics', TOPICS_USAGE, async () => {
    const args = Args.parse(argv, OPTIONS);
    const [action, positionalTopic, ...extra] = args.positionals;
    if (args.bool('help') || action === undefined) { io.out(TOPICS_USAGE); return action === undefined && !args.bool('help') ? 2 : 0; }
    if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
    const topic = args.str('topic') ?? positionalTopic;
    const json = args.bool('json');
    const needTopic = () => { if (!topic) throw new UsageError('--topic is required'); return topic; };
    if (!['list', 'describe', 'create', 'delete', 'alter-config', 'add-partitions'].includes(action)) throw new UsageError(`unknown action '${action}'`);
    // Check arguments before connecting.
    if (action === 'add-partitions' && args.num('partitions') === undefined) throw new UsageError('--partitions (the new total) is required');
    if (action === 'alter-config' && args.list('add-config').length + args.list('delete-config').length === 0) throw new UsageError('give --add-config k=v and/or --delete-config k');
    const admin = await connectAdmin(args, io);
    try {
      switch (action) {
        case 'list': return await list(admin, args, io, json);
        case 'describe': return await describe(admin, topic, io, json, await cleanerStates(args.list('metrics')));
        case 'create': {
          const name = needTopic();
          const partitions = args.numOr('partitions', -1);
          const rf = args.numOr('replication-factor', -1);
          const r = await admin.createTopic(name, partitions, rf, parseKeyValues(args.list('config'), '--config'));
          if (json) io.out(toJson({ topic: name, topicId: r.topicId, partitions: r.partitions, created: true }));
          else io.out(`Created topic ${name} (${r.partitions} partitions, id ${r.topicId}).\n`);
          return 0;
        }
        case 'delete': {
          const name = needTopic();
          await admin.deleteTopic(name);
          if (json) io.out(toJson({ topic: name, deleted: true }));
          else io.out(`Deleted topic ${name}.\n`);
          return 0;
        }
        case 'alter-config': {
          const name = needTopic();
          const changes: Record<string, string | null> = parseKeyValues(args.list('add-config'), '--add-config');
          for (const item of args.list('delete-config')) for (const k of item.split(',')) if (k !== '') changes[k] = null;
          await admin.alterTopicConfig(name, changes);
          if (json) io.out(toJson({ topic: name, changes }));
          else io.out(`Altered config of topic ${name}: ${Object.entries(changes).map(([k, v]) => (v === null ? `-${k}` : `${k}=${v}`)).join(', ')}.\n`);
          return 0;
        }
        case 'add-partitions': {
          const name = needTopic();
          const total = args.num('partitions')!;
          await admin.addPartitions(name, total);
          if (json) io.out(toJson({ topic: name, partitions: total }));
          else io.out(`Topic ${name} now has ${total} partitions.\n`);
          return 0;
        }
      }
      return 2;
    } finally {
      admin.close();
    }
  });
}

async function list(admin: AdminClient, args: Args, io: Io, json: boolean): Promise<number> {
  const md = await admin.metadata(null);
  const topics = md.topics.filter((t) => args.bool('include-internal') || !t.isInternal);
  if (json) io.out(toJson(topics.map((t) => ({ name: t.name, topicId: t.topicId, partitions: t.partitions.length, internal: t.isInternal }))));
  else if (topics.length === 0) io.out('(no topics)\n');
  else io.out(renderTable(['TOPIC', 'PARTITIONS', 'TOPIC ID'], topics.map((t) => [t.name, t.partitions.length, t.topicId])));
  return 0;
}

async function describe(admin: AdminClient, topic: string | undefined, io: Io, json: boolean, cleaner: Map<string, CleanerState> | null): Promise<number> {
  const md = await admin.metadata(topic ? [topic] : null);
  const topics = md.topics.filter((t) => !t.isInternal || topic !== undefined);
  for (const t of topics) if (t.errorCode !== 0) throw new AdminError(t.errorCode, `describe topic ${t.name}`);
  const described = [];
  for (const t of topics) {
    let configs: Array<{ name: string; value: string | null }> = [];
    try {
      configs = (await admin.describeConfigs(ConfigResource.Topic, t.name)).filter((c) => !c.isDefault).map((c) => ({ name: c.name, value: c.isSensitive ? '[sensitive]' : c.value }));
    } catch (err) {
      if (!(err instanceof AdminError)) throw err; // configs are optional in the description
    }
    described.push({ ...t, configs });
  }
  if (json) {
    io.out(toJson(described.map((t) => ({
      name: t.name, topicId: t.topicId, internal: t.isInternal, configs: Object.fromEntries(t.configs.map((c) => [c.name, c.value])),
      partitions: t.partitions.map((p) => {
        const c = cleaner?.get(`${t.name}/${p.partition}`);
        return { partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr, error: p.errorCode, ...(c ? { dirtyRatio: c.dirtyRatio, cleanerLagSeconds: c.lagSeconds } : {}) };
      }),
    }))));
    return 0;
  }
  const racks = new Map(md.brokers.map((b) => [b.nodeId, b.rack]));
  for (const t of described) {
    io.out(`Topic: ${t.name}\tTopicId: ${t.topicId}\tPartitionCount: ${t.partitions.length}\tReplicationFactor: ${t.partitions[0]?.replicas.length ?? 0}\n`);
    io.out(`Configs: ${t.configs.length === 0 ? '(defaults)' : t.configs.map((c) => `${c.name}=${c.value}`).join(',')}\n`);
    const compacted = cleaner !== null && t.partitions.some((p) => cleaner.has(`${t.name}/${p.partition}`));
    const head = ['PARTITION', 'LEADER', 'RACK', 'EPOCH', 'REPLICAS', 'ISR', ...(compacted ? ['DIRTY RATIO', 'CLEANER LAG'] : [])];
    io.out(renderTable(head, t.partitions.map((p) => {
      const c = cleaner?.get(`${t.name}/${p.partition}`);
      const row: (string | number | null)[] = [p.partition, p.leader, racks.get(p.leader) ?? null, p.leaderEpoch, p.replicas.join(','), p.isr.join(',')];
      if (compacted) row.push(c ? c.dirtyRatio.toFixed(3) : null, c ? `${c.lagSeconds.toFixed(0)}s` : null);
      return row;
    })));
    io.out('\n');
  }
  return 0;
}
