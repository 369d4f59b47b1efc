/**
 * `ferry quotas describe|alter`: client quotas over the Kafka protocol (DescribeClientQuotas,
 * AlterClientQuotas), the quota half of Kafka's kafka-configs.sh:
 *   kafka-configs.sh --describe --entity-type users --entity-name alice
 *     = ferry quotas describe --user alice
 *   kafka-configs.sh --alter --add-config producer_byte_rate=1048576 --entity-type users
 *       --entity-name alice --entity-type clients --entity-default
 *     = ferry quotas alter --add producer_byte_rate=1048576 --user alice --client-default
 * As kafka-configs.sh, a describe naming entity types matches only entities of exactly those
 * types (strict); with none it lists every entity. Any Kafka broker with these APIs works.
 */
import type { AdminClient } from '../admin/admin-client.js';
import { AdminError, UsageError } from '../admin/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import { Args, parseKeyValues, type OptionSpecs } from './args.js';
import { COMMON_OPTIONS_USAGE, COMMON_OPTIONS, runReporting, withAdmin } from './admin-common.js';
import type { Io } from './output.js';
import { toJson } from '../common/text-format.js';

export const QUOTAS_USAGE = `usage: ferry quotas <action> [options]

actions:
  describe [--user U | --user-default | --users] [--client-id C | --client-default | --clients]
           [--ip A | --ip-default | --ips]
                                  quota configs of the entities of exactly the types named
                                  (--users etc.: any name); with no entity option, of all
  alter <entity> [--add key=value[,key=value...]] [--delete-config key[,key...]] [--validate-only]
                                  set and remove quota configs of one entity

entities (alter):
  --user U | --user-default [--client-id C | --client-default]
                                  a user (principal name, ANONYMOUS when unauthenticated), or
                                  a user's client id; <default> applies to each user (client id)
                                  without its own
  --client-id C | --client-default
  --ip A | --ip-default

quota keys:
  producer_byte_rate, consumer_byte_rate (bytes/s), request_percentage (percent of one request
  thread), controller_mutation_rate      users and client ids
  connection_creation_rate (connections/s)  ips

${COMMON_OPTIONS_USAGE}`;

const OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  user: { kind: 'string' },
  'user-default': { kind: 'bool' },
  users: { kind: 'bool' },
  'client-id': { kind: 'string' },
  'client-default': { kind: 'bool' },
  clients: { kind: 'bool' },
  ip: { kind: 'string' },
  'ip-default': { kind: 'bool' },
  ips: { kind: 'bool' },
  add: { kind: 'list', aliases: ['--add-config'] },
  'delete-config': { kind: 'list', aliases: ['--delete'] },
  'validate-only': { kind: 'bool' },
};

/** The wire's entity types, with how kafka-configs.sh names them in its output. */
const TYPES = [
  { type: 'user', option: 'user', label: 'user-principal' },
  { type: 'client-id', option: 'client', label: 'client-id' },
  { type: 'ip', option: 'ip', label: 'ip' },
] as const;

const MATCH_EXACT = 0;
const MATCH_DEFAULT = 1;
const MATCH_SPECIFIED = 2;

type WireEntity = { entityType: string; entityName: string | null }[];
export interface DescribedQuota { entity: WireEntity; values: Record<string, number> }

export async function runQuotas(argv: string[], io: Io): Promise<number> {
  return runReporting(io, 'quotas', QUOTAS_USAGE, async () => {
    const args = Args.parse(argv, OPTIONS);
    const [action, ...extra] = args.positionals;
    if (args.bool('help') || action === undefined) { io.out(QUOTAS_USAGE); return action === undefined && !args.bool('help') ? 2 : 0; }
    if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
    if (action !== 'describe' && action !== 'alter') throw new UsageError(`unknown action '${action}'`);
    const json = args.bool('json');
    // Validate everything before connecting.
    const run = action === 'describe' ? planDescribe(args) : planAlter(args);
    return await withAdmin(args, io, (admin) => run(admin, io, json));
  });
}

type Runner = (admin: AdminClient, io: Io, json: boolean) => Promise<number>;

/** The user / client-id / ip options of one type: a name, the default, any name, or nothing. */
function entityOption(args: Args, t: (typeof TYPES)[number]): { kind: 'name'; name: string } | { kind: 'default' } | { kind: 'any' } | null {
  const nameFlag = t.option === 'client' ? 'client-id' : t.option;
  const name = args.str(nameFlag);
  const given = [name !== undefined, args.bool(`${t.option}-default`), args.bool(`${t.option}s`)].filter(Boolean).length;
  if (given > 1) throw new UsageError(`give one of --${nameFlag}, --${t.option}-default and --${t.option}s`);
  if (name !== undefined) {
    if (name === '') throw new UsageError(`--${nameFlag} needs a name (--${t.option}-default for the default)`);
    return { kind: 'name', name };
  }
  if (args.bool(`${t.option}-default`)) return { kind: 'default' };
  if (args.bool(`${t.option}s`)) return { kind: 'any' };
  return null;
}

function planDescribe(args: Args): Runner {
  if (args.has('add') || args.has('delete-config') || args.has('validate-only')) throw new UsageError('--add, --delete-config and --validate-only are for alter');
  const components: { entityType: string; matchType: number; match: string | null }[] = [];
  for (const t of TYPES) {
    const o = entityOption(args, t);
    if (o === null) continue;
    if (o.kind === 'name') components.push({ entityType: t.type, matchType: MATCH_EXACT, match: o.name });
    else components.push({ entityType: t.type, matchType: o.kind === 'default' ? MATCH_DEFAULT : MATCH_SPECIFIED, match: null });
  }
  return async (admin, io, json) => {
    const described = await describeClientQuotas(admin, components, components.length > 0);
    if (json) {
      io.out(toJson(described.map((d) => ({ entity: Object.fromEntries(d.entity.map((c) => [c.entityType, c.entityName])), values: d.values }))));
    } else {
      for (const d of described) {
        const values = Object.entries(d.values).map(([k, v]) => `${k}=${v}`).join(', ');
        io.out(`Quota configs for ${entityText(d.entity)} are ${values}\n`);
      }
      if (described.length === 0) io.out('No quota configs found.\n');
    }
    return 0;
  };
}

function planAlter(args: Args): Runner {
  const entity: WireEntity = [];
  for (const t of TYPES) {
    const o = entityOption(args, t);
    if (o === null) continue;
    if (o.kind === 'any') throw new UsageError(`alter takes one entity: --${t.option}s names no entity`);
    entity.push({ entityType: t.type, entityName: o.kind === 'name' ? o.name : null });
  }
  if (entity.length === 0) throw new UsageError('alter needs an entity: --user, --client-id or --ip (or their -default)');
  const ops: { key: string; value: number; remove: boolean }[] = [];
  for (const [key, text] of Object.entries(parseKeyValues(args.list('add'), '--add'))) {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--add ${key}: ${JSON.stringify(text)} is not a number`);
    ops.push({ key, value, remove: false });
  }
  for (const key of args.list('delete-config').flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '')) {
    if (ops.some((o) => o.key === key)) throw new UsageError(`${key} is both added and deleted`);
    ops.push({ key, value: 0, remove: true });
  }
  if (ops.length === 0) throw new UsageError('alter needs --add key=value or --delete-config key');
  const validateOnly = args.bool('validate-only');
  return async (admin, io, json) => {
    const res = await admin.any.request(ApiKey.AlterClientQuotas, 1, { entries: [{ entity, ops }], validateOnly });
    const r = res.entries?.[0];
    if (!r) throw new AdminError(-1, `alter quotas for ${entityText(entity)}`, 'the broker answered no result');
    if (r.errorCode !== 0) throw new AdminError(r.errorCode, `alter quotas for ${entityText(entity)}`, r.errorMessage ?? undefined);
    if (json) io.out(toJson({ entity: Object.fromEntries(entity.map((c) => [c.entityType, c.entityName])), validateOnly, ops }));
    else io.out(`${validateOnly ? 'Validated' : 'Completed updating'} quota configs for ${entityText(entity)}.\n`);
    return 0;
  };
}

/** DescribeClientQuotas; entries sorted by entity, values by key. Throws AdminError on an error. */
export async function describeClientQuotas(admin: AdminClient, components: { entityType: string; matchType: number; match: string | null }[], strict: boolean): Promise<DescribedQuota[]> {
  const res = await admin.any.request(ApiKey.DescribeClientQuotas, 1, { components, strict });
  if (res.errorCode !== 0) throw new AdminError(res.errorCode, 'describe quotas', res.errorMessage ?? undefined);
  const out: DescribedQuota[] = (res.entries ?? []).map((e: { entity: WireEntity; values: { key: string; value: number }[] }) => ({
    entity: [...e.entity].sort((a, b) => typeOrder(a.entityType) - typeOrder(b.entityType)),
    values: Object.fromEntries([...e.values].sort((a, b) => a.key.localeCompare(b.key)).map((v) => [v.key, v.value])),
  }));
  return out.sort((a, b) => entityText(a.entity).localeCompare(entityText(b.entity)));
}

function typeOrder(type: string): number {
  const i = TYPES.findIndex((t) => t.type === type);
  return i < 0 ? TYPES.length : i;
}

/** As kafka-configs.sh writes an entity: "user-principal 'alice', the default client-id". */
export function entityText(entity: WireEntity): string {
  return entity.map((c) => {
    const label = TYPES.find((t) => t.type === c.entityType)?.label ?? c.entityType;
    return c.entityName === null ? `the default ${label}` : `${label} '${c.entityName}'`;
  }).join(', ');
}
