/**
 * `ferry groups list|describe|reset-offsets|delete`, over the Kafka protocol. Group calls go to
 * the group's coordinator (FindCoordinator). reset-offsets behaves like Kafka's
 * kafka-consumer-groups.sh: it shows the plan unless --execute is given, and only touches a group
 * with no active members.
 */
import { EARLIEST, LATEST, type AdminClient, type PartitionInfo } from '../admin/admin-client.js';
import { AdminError, UsageError } from '../admin/errors.js';
import { ErrorCode } from '../protocol/errors.js';
import { Args, type OptionSpecs } from './args.js';
import { COMMON_OPTIONS_USAGE, COMMON_OPTIONS, connectAdmin, runReporting } from './admin-common.js';
import { type Io } from './output.js';
import { renderTable, toJson } from '../common/text-format.js';

export const GROUPS_USAGE = `usage: ferry groups <action> [options]

actions:
  list                                   consumer groups and their states
  describe --group G                     members, assignments, committed offsets, log end, lag
  reset-offsets --group G (--topic T[:p,p] ... | --all-topics)
                (--to-earliest | --to-latest | --to-offset N | --to-datetime 2024-01-31T12:00:00Z)
                [--dry-run | --execute]  shows the plan by default; --execute commits it.
                                         The group must be inactive (Empty): stop its consumers.
  delete --group G                       delete an inactive group and its committed offsets

${COMMON_OPTIONS_USAGE}`;

const OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  group: { kind: 'string', aliases: ['-g'] },
  topic: { kind: 'list', aliases: ['-t'] },
  'all-topics': { kind: 'bool' },
  'to-earliest': { kind: 'bool' },
  'to-latest': { kind: 'bool' },
  'to-offset': { kind: 'string' },
  'to-datetime': { kind: 'string' },
  'dry-run': { kind: 'bool' },
  execute: { kind: 'bool' },
};

const INACTIVE_STATES = new Set(['Empty', 'Dead', '']);

export async function runGroups(argv: string[], io: Io): Promise<number> {
  return runReporting(io, 'groups', GROUPS_USAGE, async () => {
    const args = Args.parse(argv, OPTIONS);
    const [action, positionalGroup, ...extra] = args.positionals;
    if (args.bool('help') || action === undefined) { io.out(GROUPS_USAGE); return action === undefined && !args.bool('help') ? 2 : 0; }
    if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
    if (!['list', 'describe', 'reset-offsets', 'delete'].includes(action)) throw new UsageError(`unknown action '${action}'`);
    const group = args.str('group') ?? positionalGroup;
    const needGroup = () => { if (!group) throw new UsageError('--group is required'); return group; };
    const json = args.bool('json');
    const reset = action === 'reset-offsets' ? resetSpec(args) : null;
    if (action !== 'list') needGroup();
    const admin = await connectAdmin(args, io);
    try {
      switch (action) {
        case 'list': {
          const groups = await admin.listGroups();
          if (json) io.out(toJson(groups));
          else if (groups.length === 0) io.out('(no groups)\n');
          else io.out(renderTable(['GROUP', 'STATE', 'PROTOCOL TYPE'], groups.map((g) => [g.groupId, g.state || '-', g.protocolType || '-'])));
          return 0;
        }
        case 'describe': return await describe(admin, needGroup(), io, json);
        case 'reset-offsets': return await resetOffsets(admin, needGroup(), reset!, args, io, json);
        case 'delete': {
          await admin.deleteGroup(needGroup());
          if (json) io.out(toJson({ group, deleted: true }));
          else io.out(`Deleted group ${group}.\n`);
          return 0;
        }
      }
      return 2;
    } finally {
      admin.close();
    }
  });
}

async function describe(admin: AdminClient, group: string, io: Io, json: boolean): Promise<number> {
  const d = await admin.describeGroup(group);
  const committed = await admin.committedOffsets(group);
  const owner = new Map<string, { memberId: string; clientId: string; host: string }>();
  for (const m of d.members) for (const a of m.assignment) for (const p of a.partitions) owner.set(`${a.topic}/${p}`, { memberId: m.memberId, clientId: m.clientId, host: m.clientHost });
  // Log end offsets for every partition with a committed offset or an owner.
  const keys = new Set([...committed.map((c) => `${c.topic}/${c.partition}`), ...owner.keys()]);
  const topics = [...new Set([...keys].map((k) => k.slice(0, k.lastIndexOf('/'))))].sort();
  const ends = await logEndOffsets(admin, topics);
  const rows = [...keys].map((k) => {
    const topic = k.slice(0, k.lastIndexOf('/'));
    const partition = Number(k.slice(k.lastIndexOf('/') + 1));
    const c = committed.find((x) => x.topic === topic && x.partition === partition);
    const end = ends.get(k);
    const o = owner.get(k);
    return {
      topic, partition,
      currentOffset: c?.offset ?? null,
      logEndOffset: end ?? null,
      lag: c !== undefined && end !== undefined ? end - c.offset : null,
      memberId: o?.memberId ?? null, clientId: o?.clientId ?? null, host: o?.host ?? null,
    };
  }).sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  if (json) {
    io.out(toJson({ group, state: d.state, protocolType: d.protocolType, protocol: d.protocol, coordinator: d.coordinator, members: d.members, offsets: rows }));
    return 0;
  }
  io.out(`Group ${group}: state ${d.state || 'Dead'}, coordinator ${d.coordinator}, ${d.members.length} member(s)${d.protocol ? `, assignor ${d.protocol}` : ''}\n\n`);
  if (rows.length > 0) {
    io.out(renderTable(['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
      rows.map((r) => [r.topic, r.partition, r.currentOffset, r.logEndOffset, r.lag, r.memberId, r.host, r.clientId])));
  } else io.out('(no committed offsets)\n');
  if (d.members.length > 0) {
    io.out('\n');
    io.out(renderTable(['MEMBER', 'INSTANCE', 'CLIENT-ID', 'HOST', 'ASSIGNMENT'], d.members.map((m) => [
      m.memberId, m.groupInstanceId, m.clientId, m.clientHost, m.assignment.map((a) => `${a.topic}:${a.partitions.join(',')}`).join(' ') || '-',
    ])));
  }
  return 0;
}

async function logEndOffsets(admin: AdminClient, topics: string[]): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  if (topics.length === 0) return out;
  const md = await admin.metadata(topics);
  for (const t of md.topics) {
    if (t.errorCode !== 0) continue;
    const ends = await admin.listOffsets(t.name, t.partitions, LATEST);
    for (const [p, o] of ends) out.set(`${t.name}/${p}`, o);
  }
  return out;
}

type ResetTarget = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offset'; offset: bigint } | { kind: 'datetime'; ms: bigint };

function resetSpec(args: Args): ResetTarget {
  const chosen: ResetTarget[] = [];
  if (args.bool('to-earliest')) chosen.push({ kind: 'earliest' });
  if (args.bool('to-latest')) chosen.push({ kind: 'latest' });
  const off = args.str('to-offset');
  if (off !== undefined) {
    if (!/^\d+$/.test(off)) throw new UsageError(`--to-offset expects a non-negative integer, got ${off}`);
    chosen.push({ kind: 'offset', offset: BigInt(off) });
  }
  const dt = args.str('to-datetime');
  if (dt !== undefined) {
    const ms = Date.parse(dt);
    if (Number.isNaN(ms)) throw new UsageError(`--to-datetime expects an ISO-8601 date-time (e.g. 2024-01-31T12:00:00Z), got ${dt}`);
    chosen.push({ kind: 'datetime', ms: BigInt(ms) });
  }
  if (chosen.length !== 1) throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime T');
  if (args.bool('dry-run') && args.bool('execute')) throw new UsageError('--dry-run and --execute exclude each other');
  if (!args.bool('all-topics') && args.list('topic').length === 0) throw new UsageError('give --topic T[:partitions] or --all-topics');
  if (args.bool('all-topics') && args.list('topic').length > 0) throw new UsageError('--all-topics and --topic exclude each other');
  return chosen[0]!;
}

/** `T` (every partition) or `T:0,2` -> topic and partition filter. */
function parseTopicSpec(spec: string): { topic: string; partitions: number[] | null } {
  const colon = spec.lastIndexOf(':');
  if (colon < 0) return { topic: spec, partitions: null };
  const parts = spec.slice(colon + 1).split(',').filter((s) => s !== '');
  if (parts.length === 0 || !parts.every((p) => /^\d+$/.test(p))) throw new UsageError(`--topic expects T or T:p[,p], got ${spec}`);
  return { topic: spec.slice(0, colon), partitions: parts.map(Number) };
}

async function resetOffsets(admin: AdminClient, group: string, target: ResetTarget, args: Args, io: Io, json: boolean): Promise<number> {
  const d = await admin.describeGroup(group);
  if (!INACTIVE_STATES.has(d.state)) {
    throw new AdminError(ErrorCode.NON_EMPTY_GROUP, `reset offsets of group ${group}`, `the group is ${d.state} with ${d.members.length} member(s); stop its consumers first (reset-offsets needs an inactive group)`);
  }
  const committed = await admin.committedOffsets(group);
  const specs = args.bool('all-topics')
    ? [...new Set(committed.map((c) => c.topic))].map((topic) => ({ topic, partitions: null as number[] | null }))
    : args.list('topic').map(parseTopicSpec);
  const plan: Array<{ topic: string; partition: number; currentOffset: bigint | null; newOffset: bigint }> = [];
  for (const spec of specs) {
    const md = await admin.metadata([spec.topic]);
    const t = md.topics[0];
    if (!t || t.errorCode !== 0) throw new AdminError(t?.errorCode ?? 3, `reset offsets on topic ${spec.topic}`);
    const parts: PartitionInfo[] = spec.partitions === null ? t.partitions : spec.partitions.map((p) => {
      const found = t.partitions.find((x) => x.partition === p);
      if (!found) throw new AdminError(3, `reset offsets on ${spec.topic}-${p}`, `the topic has ${t.partitions.length} partitions`);
      return found;
    });
    const earliest = await admin.listOffsets(t.name, parts, EARLIEST);
    const latest = await admin.listOffsets(t.name, parts, LATEST);
    const atTime = target.kind === 'datetime' ? await admin.listOffsets(t.name, parts, target.ms) : null;
    for (const p of parts) {
      const lo = earliest.get(p.partition)!;
      const hi = latest.get(p.partition)!;
      let next: bigint;
      switch (target.kind) {
        case 'earliest': next = lo; break;
        case 'latest': next = hi; break;
        case 'offset': next = target.offset < lo ? lo : target.offset > hi ? hi : target.offset; break;
        case 'datetime': { const o = atTime!.get(p.partition)!; next = o < 0n ? hi : o; break; }
      }
      const cur = committed.find((c) => c.topic === t.name && c.partition === p.partition);
      plan.push({ topic: t.name, partition: p.partition, currentOffset: cur?.offset ?? null, newOffset: next });
    }
  }
  const execute = args.bool('execute');
  if (execute && plan.length > 0) await admin.commitOffsets(group, plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.newOffset })));
  if (json) io.out(toJson({ group, executed: execute, offsets: plan }));
  else {
    io.out(renderTable(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'], plan.map((p) => [group, p.topic, p.partition, p.currentOffset, p.newOffset])));
    io.out(execute ? `\nCommitted new offsets for ${plan.length} partition(s).\n` : '\nDry run: nothing changed. Add --execute to commit these offsets.\n');
  }
  return 0;
}
