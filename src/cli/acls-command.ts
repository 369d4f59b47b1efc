/**
 * `ferry acls --list|--add|--remove`, Kafka's kafka-acls.sh (tools/AclCommand) over the Kafka
 * protocol (DescribeAcls, CreateAcls, DeleteAcls to any broker), with its flags, its checks and
 * messages, its --producer/--consumer conveniences and its output lines. It never prompts: a
 * --remove runs as kafka-acls.sh --remove --force does (--force is accepted).
 */
import { AdminError, UsageError } from '../admin/errors.js';
import { createAcls, deleteAcls, describeAcls } from '../admin/acl-admin.js';
import type { AdminClient } from '../admin/admin-client.js';
import { toJson } from '../common/text-format.js';
import {
  ANY_FILTER, formatBinding, formatEntry, formatPattern, sameEntry,
  type AclBinding, type AclBindingFilter, type AclEntry, type AclResourceType, type ResourcePattern,
} from '../security/acl/acl-model.js';
import { CLUSTER_RESOURCE_NAME, type AclOperationName, type PatternTypeName } from '../security/types.js';
import { Args, type OptionSpecs } from './args.js';
import { COMMON_OPTIONS_USAGE, COMMON_OPTIONS, connectAdmin, runReporting } from './admin-common.js';
import type { Io } from './output.js';

export const ACLS_USAGE = `usage: ferry acls (--list | --add | --remove) [resources] [principals] [options]
  (as Kafka's kafka-acls.sh; ACLs need authorizer.class.name on the brokers)

actions (exactly one):
  --list                      ACLs of the given resources (all ACLs without one)
  --add                       add ACLs (needs --allow-principal or --deny-principal)
  --remove                    remove the given ACLs, or every ACL of the resources without principals

resources (repeatable):
  --topic T  --group G  --transactional-id X  --cluster  --delegation-token D  --user-principal U
  --resource-pattern-type literal|prefixed|match|any
                              (default literal; --add takes literal or prefixed; match lists or
                              removes every pattern that applies to the names, any matches the
                              names exactly under any pattern type)

entries:
  --allow-principal P, --deny-principal P   principals as type:name, e.g. User:alice, User:* (repeatable)
  --allow-host H, --deny-host H             client addresses (default * when a principal is given)
  --operation OP                            Read Write Create Delete Alter Describe ClusterAction
                                            DescribeConfigs AlterConfigs IdempotentWrite CreateTokens
                                            DescribeTokens All (repeatable; default All)
  --producer                                WRITE, DESCRIBE, CREATE on the topics; WRITE, DESCRIBE on the
                                            transactional ids; with --idempotent IDEMPOTENT_WRITE on the cluster
  --consumer                                READ, DESCRIBE on the topics, READ on the groups
  --principal P                             with --list: only the ACLs of these principals
  --force                                   accepted (this command never prompts)

${COMMON_OPTIONS_USAGE}`;

const OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  list: { kind: 'bool' },
  add: { kind: 'bool' },
  remove: { kind: 'bool' },
  force: { kind: 'bool' },
  topic: { kind: 'list' },
  group: { kind: 'list' },
  'transactional-id': { kind: 'list' },
  'delegation-token': { kind: 'list' },
  'user-principal': { kind: 'list' },
  cluster: { kind: 'bool' },
  'resource-pattern-type': { kind: 'string' },
  'allow-principal': { kind: 'list' },
  'deny-principal': { kind: 'list' },
  'allow-host': { kind: 'list' },
  'deny-host': { kind: 'list' },
  operation: { kind: 'list' },
  producer: { kind: 'bool' },
  consumer: { kind: 'bool' },
  idempotent: { kind: 'bool' },
  principal: { kind: 'list' },
};

/** A resource pattern filter as the command builds it (Kafka's ResourcePatternFilter). */
export interface ResourceFilter {
  resourceType: AclResourceType;
  resourceName: string;
  patternType: PatternTypeName;
}

export type AclsPlan =
  | { action: 'list'; filters: ResourceFilter[]; principals: string[] }
  | { action: 'add'; resources: Array<{ pattern: ResourcePattern; entries: AclEntry[] }> }
  | { action: 'remove'; resources: Array<{ filter: ResourceFilter; entries: AclEntry[] }> };

// ---- names --------------------------------------------------------------------------------------

const OPERATIONS: readonly AclOperationName[] = [
  'ALL', 'READ', 'WRITE', 'CREATE', 'DELETE', 'ALTER', 'DESCRIBE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS',
  'IDEMPOTENT_WRITE', 'CREATE_TOKENS', 'DESCRIBE_TOKENS',
];

/** Kafka's AclEntry.supportedOperations (ALL is valid everywhere). */
const SUPPORTED_OPERATIONS: Record<AclResourceType, readonly AclOperationName[]> = {
  TOPIC: ['READ', 'WRITE', 'CREATE', 'DESCRIBE', 'DELETE', 'ALTER', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'],
  GROUP: ['READ', 'DESCRIBE', 'DELETE', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'],
  CLUSTER: ['CREATE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE', 'ALTER', 'DESCRIBE'],
  TRANSACTIONAL_ID: ['DESCRIBE', 'WRITE'],
  DELEGATION_TOKEN: ['DESCRIBE'],
  USER: ['CREATE_TOKENS', 'DESCRIBE_TOKENS'],
};

const squash = (s: string) => s.replace(/[_-]/g, '').toLowerCase();

/** "Read", "READ", "describe_configs", "DescribeConfigs", "idempotent-write" -> the operation. */
export function parseOperation(text: string): AclOperationName {
  const want = squash(text.trim());
  const op = OPERATIONS.find((o) => squash(o) === want);
  if (!op) throw new UsageError(`unknown --operation '${text}' (valid: ${OPERATIONS.map(pascalCase).join(', ')})`);
  return op;
}

function parsePatternType(text: string | undefined): PatternTypeName {
  if (text === undefined) return 'LITERAL';
  const p = text.trim().toUpperCase();
  if (p === 'LITERAL' || p === 'PREFIXED' || p === 'MATCH' || p === 'ANY') return p;
  throw new UsageError(`Unknown resource-pattern-type: ${text}`);
}

/** SecurityUtils.parseKafkaPrincipal after trimming, as kafka-acls.sh reads principals. */
function parsePrincipal(text: string): string {
  const p = text.trim();
  if (!p.includes(':')) throw new UsageError(`expected a string in format principalType:principalName but got ${p}`);
  return p;
}

function pascalCase(name: string): string {
  return name.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u: string, c: string) => c.toUpperCase());
}

// ---- the plan (Kafka's AclCommandOptions.checkArgs and the resource/ACL maps) -----------------------

/** Validates the command line as kafka-acls.sh does and says what to do; throws UsageError. */
export function planAcls(args: Args): AclsPlan {
  const actions = (['list', 'add', 'remove'] as const).filter((a) => args.bool(a));
  if (actions.length !== 1) throw new UsageError('Command must include exactly one action: --list, --add, --remove.');
  const action = actions[0]!;
  const has = (name: string) => args.has(name) && (args.bool(name) || args.list(name).length > 0 || args.str(name) !== undefined);
  const invalidWith = (opt: string, others: string[]) => {
    if (!has(opt)) return;
    for (const o of others) if (has(o)) throw new UsageError(`Option "[${opt}]" can't be used with option "[${o}]"`);
  };
  invalidWith('list', ['producer', 'consumer', 'allow-host', 'allow-principal', 'deny-host', 'deny-principal']);
  invalidWith('producer', ['operation', 'deny-principal', 'deny-host']);
  invalidWith('consumer', ['operation', 'deny-principal', 'deny-host']);
  if (has('principal') && action !== 'list') throw new UsageError('The --principal option is only available if --list is set');
  if (has('producer') && !has('topic')) throw new UsageError('With --producer you must specify a --topic');
  if (has('idempotent') && !has('producer')) throw new UsageError('The --idempotent option is only available if --producer is set');
  if (has('consumer') && (!has('topic') || !has('group') || (!has('producer') && (has('cluster') || has('transactional-id'))))) {
    throw new UsageError('With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified.');
  }
  const patternType = parsePatternType(args.str('resource-pattern-type'));

  if (action === 'list') {
    return { action, filters: resourceFilters(args, patternType, false), principals: args.list('principal').map(parsePrincipal) };
  }
  if (action === 'add' && patternType !== 'LITERAL' && patternType !== 'PREFIXED') {
    throw new UsageError(`A '--resource-pattern-type' value of '${patternType}' is not valid when adding acls.`);
  }
  const byFilter = filterToEntries(args, patternType);
  if (action === 'remove') return { action, resources: byFilter };
  if (byFilter.some((r) => r.entries.length === 0)) throw new UsageError('You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.');
  return {
    action,
    resources: byFilter.map(({ filter, entries }) => ({ pattern: { ...filter, patternType: filter.patternType as ResourcePattern['patternType'] }, entries })),
  };
}

const filterKey = (f: ResourceFilter) => `${f.resourceType}\u0000${f.patternType}\u0000${f.resourceName}`;
const CLUSTER_FILTER: ResourceFilter = { resourceType: 'CLUSTER', resourceName: CLUSTER_RESOURCE_NAME, patternType: 'LITERAL' };

/** Kafka's getResourceFilter: the resources named on the command line. */
function resourceFilters(args: Args, patternType: PatternTypeName, required: boolean): ResourceFilter[] {
  const out = new Map<string, ResourceFilter>();
  const put = (resourceType: AclResourceType, names: string[], trim = true) => {
    for (const n of names) {
      const f: ResourceFilter = { resourceType, resourceName: trim ? n.trim() : n, patternType };
      out.set(filterKey(f), f);
    }
  };
  put('TOPIC', args.list('topic'));
  if (patternType === 'LITERAL' && (args.bool('cluster') || args.bool('idempotent'))) out.set(filterKey(CLUSTER_FILTER), CLUSTER_FILTER);
  put('GROUP', args.list('group'));
  put('TRANSACTIONAL_ID', args.list('transactional-id'), false);
  put('DELEGATION_TOKEN', args.list('delegation-token'));
  put('USER', args.list('user-principal'));
  if (out.size === 0 && required) {
    throw new UsageError('You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --delegation-token <Delegation Token ID>');
  }
  return [...out.values()];
}

/** Kafka's getAcl: principals x operations x hosts, ALLOW then DENY. */
function entriesFor(args: Args, operations: readonly AclOperationName[]): AclEntry[] {
  const out: AclEntry[] = [];
  const add = (permission: 'ALLOW' | 'DENY', principalOpt: string, hostOpt: string) => {
    const principals = [...new Set(args.list(principalOpt).map(parsePrincipal))];
    if (principals.length === 0) return;
    const hostsGiven = args.list(hostOpt).map((h) => h.trim());
    const hosts = hostsGiven.length > 0 ? [...new Set(hostsGiven)] : ['*'];
    for (const principal of principals) for (const operation of operations) for (const host of hosts) {
      const e: AclEntry = { principal, host, operation, permission };
      if (!out.some((x) => sameEntry(x, e))) out.push(e);
    }
  };
  add('ALLOW', 'allow-principal', 'allow-host');
  add('DENY', 'deny-principal', 'deny-host');
  return out;
}

/** Kafka's getResourceFilterToAcls: every resource with the entries to add or remove on it. */
function filterToEntries(args: Args, patternType: PatternTypeName): Array<{ filter: ResourceFilter; entries: AclEntry[] }> {
  const result = new Map<string, { filter: ResourceFilter; entries: AclEntry[] }>();
  const set = (filter: ResourceFilter, entries: AclEntry[]) => result.set(filterKey(filter), { filter, entries });
  const merge = (filter: ResourceFilter, entries: AclEntry[]) => {
    const prior = result.get(filterKey(filter));
    if (!prior) { set(filter, entries); return; }
    for (const e of entries) if (!prior.entries.some((x) => sameEntry(x, e))) prior.entries.push(e);
  };
  const producer = args.bool('producer');
  const consumer = args.bool('consumer');
  if (!producer && !consumer) {
    const ops = [...new Set((args.list('operation').length > 0 ? args.list('operation') : ['All']).map(parseOperation))];
    const entries = entriesFor(args, ops);
    for (const f of resourceFilters(args, patternType, true)) set(f, entries);
  }
  if (producer) {
    const filters = resourceFilters(args, patternType, true);
    for (const f of filters.filter((x) => x.resourceType === 'TOPIC')) set(f, entriesFor(args, ['WRITE', 'DESCRIBE', 'CREATE']));
    for (const f of filters.filter((x) => x.resourceType === 'TRANSACTIONAL_ID')) set(f, entriesFor(args, ['WRITE', 'DESCRIBE']));
    if (args.bool('idempotent')) set(CLUSTER_FILTER, entriesFor(args, ['IDEMPOTENT_WRITE']));
  }
  if (consumer) {
    const filters = resourceFilters(args, patternType, true);
    for (const f of filters.filter((x) => x.resourceType === 'TOPIC')) merge(f, entriesFor(args, ['READ', 'DESCRIBE']));
    for (const f of filters.filter((x) => x.resourceType === 'GROUP')) merge(f, entriesFor(args, ['READ']));
  }
  // Kafka's validateOperation.
  for (const { filter, entries } of result.values()) {
    const valid = [...SUPPORTED_OPERATIONS[filter.resourceType], 'ALL'];
    if (entries.some((e) => !valid.includes(e.operation))) throw new UsageError(`ResourceType ${filter.resourceType} only supports operations [${valid.join(', ')}]`);
  }
  return [...result.values()];
}

// ---- running ------------------------------------------------------------------------------------

export async function runAcls(argv: string[], io: Io): Promise<number> {
  return runReporting(io, 'acls', ACLS_USAGE, async () => {
    const args = Args.parse(argv, OPTIONS);
    if (args.bool('help')) { io.out(ACLS_USAGE); return 0; }
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
    const plan = planAcls(args);
    const admin = await connectAdmin(args, io);
    try {
      const json = args.bool('json');
      switch (plan.action) {
        case 'list': return await list(admin, plan.filters, plan.principals, io, json);
        case 'add': return await add(admin, plan.resources, io, json);
        case 'remove': return await remove(admin, plan.resources, io, json);
      }
    } finally {
      admin.close();
    }
  });
}

function toFilter(f: ResourceFilter, entry: AclEntry | null = null): AclBindingFilter {
  return {
    ...ANY_FILTER, resourceType: f.resourceType, resourceName: f.resourceName, patternType: f.patternType,
    ...(entry ? { principal: entry.principal, host: entry.host, operation: entry.operation, permission: entry.permission } : {}),
  };
}

function bindingJson(b: AclBinding) {
  return { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permission };
}

const patternOf = (b: AclBinding): ResourcePattern => ({ resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType });
const bindingOrder = (b: AclBinding) => [b.resourceType, b.patternType, b.resourceName, b.principal, b.host, b.operation, b.permission].join('\u0000');

/** Bindings by resource pattern, each group and its entries in a stable order, duplicates dropped. */
function byResource(bindings: readonly AclBinding[]): Array<{ pattern: ResourcePattern; entries: AclEntry[] }> {
  const out = new Map<string, { pattern: ResourcePattern; entries: AclEntry[] }>();
  for (const b of [...bindings].sort((x, y) => (bindingOrder(x) < bindingOrder(y) ? -1 : 1))) {
    const p = patternOf(b);
    const key = filterKey(p);
    let g = out.get(key);
    if (!g) out.set(key, (g = { pattern: p, entries: [] }));
    if (!g.entries.some((e) => sameEntry(e, b))) g.entries.push({ principal: b.principal, host: b.host, operation: b.operation, permission: b.permission });
  }
  return [...out.values()];
}

function printResources(io: Io, groups: Array<{ pattern: ResourcePattern; entries: AclEntry[] }>): void {
  for (const g of groups) io.out(`Current ACLs for resource \`${formatPattern(g.pattern)}\`:\n${g.entries.map((e) => `\t${formatEntry(e)}`).join('\n')}\n\n`);
}

async function list(admin: AdminClient, filters: ResourceFilter[], principals: string[], io: Io, json: boolean): Promise<number> {
  const bindings: AclBinding[] = [];
  if (filters.length === 0) bindings.push(...await describeAcls(admin, ANY_FILTER));
  else for (const f of filters) bindings.push(...await describeAcls(admin, toFilter(f)));
  const groups = byResource(bindings);
  const flat = groups.flatMap((g) => g.entries.map((e) => ({ ...g.pattern, ...e })));
  if (json) {
    const pick = principals.length > 0 ? flat.filter((b) => principals.includes(b.principal)) : flat;
    io.out(toJson(pick.map(bindingJson)));
    return 0;
  }
  if (principals.length === 0) {
    printResources(io, groups);
    return 0;
  }
  for (const p of principals) {
    io.out(`ACLs for principal \`${p}\`\n`);
    printResources(io, groups.map((g) => ({ pattern: g.pattern, entries: g.entries.filter((e) => e.principal === p) })).filter((g) => g.entries.length > 0));
  }
  return 0;
}

async function add(admin: AdminClient, resources: Array<{ pattern: ResourcePattern; entries: AclEntry[] }>, io: Io, json: boolean): Promise<number> {
  const created: AclBinding[] = [];
  const existing: AclBinding[] = [];
  for (const { pattern, entries } of resources) {
    const current = await describeAcls(admin, toFilter(pattern));
    const fresh: AclBinding[] = [];
    for (const e of entries) {
      const binding: AclBinding = { ...pattern, ...e };
      if (current.some((c) => sameEntry(c, e))) {
        existing.push(binding);
        if (!json) io.out(`Acl ${formatBinding(binding)} already exists.\n`);
      } else fresh.push(binding);
    }
    if (fresh.length === 0) continue;
    if (!json) io.out(`Adding ACLs for resource \`${formatPattern(pattern)}\`: \n ${fresh.map((b) => `\t${formatEntry(b)}`).join('\n')}\n\n`);
    const results = await createAcls(admin, fresh);
    const failed = results.find((r) => r.errorCode !== 0);
    if (failed) throw new AdminError(failed.errorCode, `add ACL ${formatBinding(failed.binding)}`, failed.errorMessage ?? undefined);
    created.push(...fresh);
  }
  if (json) io.out(toJson({ created: created.map(bindingJson), existing: existing.map(bindingJson) }));
  return 0;
}

async function remove(admin: AdminClient, resources: Array<{ filter: ResourceFilter; entries: AclEntry[] }>, io: Io, json: boolean): Promise<number> {
  const removed: AclBinding[] = [];
  for (const { filter, entries } of resources) {
    const filters = entries.length === 0 ? [toFilter(filter)] : entries.map((e) => toFilter(filter, e));
    const results = await deleteAcls(admin, filters);
    const mine: AclBinding[] = [];
    for (const r of results) {
      if (r.errorCode !== 0) throw new AdminError(r.errorCode, `remove ACLs from ${formatPattern(filter)}`, r.errorMessage ?? undefined);
      for (const d of r.deleted) {
        if (d.errorCode !== 0) throw new AdminError(d.errorCode, `remove ACL ${formatBinding(d.binding)}`, d.errorMessage ?? undefined);
        if (!mine.some((m) => bindingOrder(m) === bindingOrder(d.binding))) mine.push(d.binding);
      }
    }
    removed.push(...mine);
    if (json) continue;
    if (mine.length === 0) io.out(`No ACLs matched resource filter \`${formatPattern(filter)}\`${entries.length ? ` and ${entries.map(formatEntry).join(', ')}` : ''}.\n\n`);
    else {
      io.out(`Removed ACLs from resource filter \`${formatPattern(filter)}\`:\n`);
      printResourcesRemoved(io, byResource(mine));
    }
  }
  if (json) io.out(toJson({ removed: removed.map(bindingJson) }));
  return 0;
}

function printResourcesRemoved(io: Io, groups: Array<{ pattern: ResourcePattern; entries: AclEntry[] }>): void {
  for (const g of groups) io.out(` ${formatPattern(g.pattern)}:\n${g.entries.map((e) => `\t${formatEntry(e)}`).join('\n')}\n`);
  io.out('\n');
}
