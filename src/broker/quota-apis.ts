/**
 * DescribeClientQuotas (48, v0–1) and AlterClientQuotas (49, v0–1): the client quotas in the
 * metadata store (src/security/quota/quota-store.ts), with Kafka's semantics (ClientQuotasImage
 * .describe, ClientQuotaControlManager.alterClientQuotas):
 *   - DESCRIBE_CONFIGS (describe) / ALTER_CONFIGS (alter) on the cluster, else
 *     CLUSTER_AUTHORIZATION_FAILED for the whole request (every entry of an alter);
 *   - describe filters: per entity type one component, EXACT (name), DEFAULT (the <default>
 *     entity) or SPECIFIED (any name); `strict` excludes entities with other components; ip not
 *     with user or client-id; an unknown entity type is UNSUPPORTED_VERSION, any other bad filter
 *     INVALID_REQUEST (the whole response);
 *   - alter, per entity: known entity types each at most once, no empty name, ip alone and an
 *     address; keys of the entity's kind (connection_creation_rate only on ip entities), values
 *     > 0 and integral where Kafka's type is long/int; a key twice or an entity twice:
 *     INVALID_REQUEST. remove=true deletes a key (the entity goes with its last key).
 *     validateOnly checks without writing.
 * Every broker answers both, as all follow the same store; a change applies cluster-wide once
 * the store's watch delivers it.
 */
import { ErrorCode } from '../protocol/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import type { DescribeClientQuotasRequest, DescribeClientQuotasResponse } from '../protocol/messages/describe-client-quotas.js';
import type { AlterClientQuotasRequest, AlterClientQuotasResponse } from '../protocol/messages/alter-client-quotas.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { Handler, RequestContext } from '../server/handler-registry.js';
import { internalSession } from '../server/session.js';
import { CLUSTER_RESOURCE_NAME } from '../security/types.js';
import type { QuotaOp, QuotaRecord, QuotaStore } from '../security/quota/quota-store.js';
import {
  InvalidQuotaError, entityFromWire, entityToWire, fieldOf, isQuotaKey, validateQuotaValue, describeEntity,
  type QuotaEntity, type QuotaKey,
} from '../security/quota/quota-entity.js';
import type { BrokerContext } from './context.js';

type Add = (key: number, v: { min: number; max: number }, handler: Handler) => void;

export const DESCRIBE_CLIENT_QUOTAS_VERSIONS = { min: 0, max: 1 } as const;
export const ALTER_CLIENT_QUOTAS_VERSIONS = { min: 0, max: 1 } as const;

/** DescribeClientQuotas match types. */
export const MATCH_EXACT = 0;
export const MATCH_DEFAULT = 1;
export const MATCH_SPECIFIED = 2;

/** Kafka's default message of ClusterAuthorizationException. */
const CLUSTER_DENIED = 'Cluster authorization failed.';

class FilterError extends Error {
  constructor(readonly code: number, message: string) { super(message); }
}

interface Filter {
  /** Entity field -> exact name (null: the default entity). */
  exact: Map<keyof QuotaEntity, string | null>;
  /** Entity fields that must be present with any name. */
  specified: Set<keyof QuotaEntity>;
  strict: boolean;
}

/** ClientQuotasImage.describe's checks of the filter. */
function parseFilter(req: DescribeClientQuotasRequest): Filter {
  const f: Filter = { exact: new Map(), specified: new Set(), strict: req.strict };
  for (const c of req.components) {
    if (c.entityType === '') throw new FilterError(ErrorCode.INVALID_REQUEST, 'Invalid empty entity type.');
    const field = fieldOf(c.entityType);
    if (field !== null && (f.exact.has(field) || f.specified.has(field))) {
      throw new FilterError(ErrorCode.INVALID_REQUEST, `Entity type ${c.entityType} cannot appear more than once in the filter.`);
    }
    if (field === null) throw new FilterError(ErrorCode.UNSUPPORTED_VERSION, `Unsupported entity type ${c.entityType}`);
    switch (c.matchType) {
      case MATCH_EXACT:
        if (c.match === null) throw new FilterError(ErrorCode.INVALID_REQUEST, 'Request specified MATCH_TYPE_EXACT, but set match string to null.');
        f.exact.set(field, c.match);
        break;
      case MATCH_DEFAULT:
        if (c.match !== null) throw new FilterError(ErrorCode.INVALID_REQUEST, 'Request specified MATCH_TYPE_DEFAULT, but also specified a match string.');
        f.exact.set(field, null);
        break;
      case MATCH_SPECIFIED:
        if (c.match !== null) throw new FilterError(ErrorCode.INVALID_REQUEST, 'Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.');
        f.specified.add(field);
        break;
      default:
        throw new FilterError(ErrorCode.INVALID_REQUEST, `Unknown match type ${c.matchType}`);
    }
  }
  const uses = (field: keyof QuotaEntity) => f.exact.has(field) || f.specified.has(field);
  if (uses('ip') && (uses('user') || uses('clientId'))) {
    throw new FilterError(ErrorCode.INVALID_REQUEST, 'Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.');
  }
  return f;
}

function matches(e: QuotaEntity, f: Filter): boolean {
  const present = (Object.keys(e) as (keyof QuotaEntity)[]).filter((k) => e[k] !== undefined);
  if (f.strict && present.length !== f.exact.size + f.specified.size) return false;
  for (const [field, name] of f.exact) if (e[field] === undefined || e[field] !== name) return false;
  for (const field of f.specified) if (e[field] === undefined) return false;
  return true;
}

function describeEntry(r: QuotaRecord) {
  return {
    entity: entityToWire(r.entity),
    values: (Object.entries(r.values) as [QuotaKey, number][]).map(([key, value]) => ({ key, value })),
  };
}

/** One entity's alteration, checked: the ops to apply, or the error Kafka answers for it. */
type Checked = { entity: QuotaEntity; ops: QuotaOp[]; error: null } | { entity: QuotaEntity | null; ops: []; error: string };

function checkEntry(entry: AlterClientQuotasRequest['entries'][number]): Checked {
  let entity: QuotaEntity;
  try {
    entity = entityFromWire(entry.entity);
  } catch (err) {
    if (err instanceof InvalidQuotaError) return { entity: null, ops: [], error: err.message };
    throw err;
  }
  const seen = new Set<string>();
  const ops: QuotaOp[] = [];
  try {
    for (const op of entry.ops) {
      if (seen.has(op.key)) throw new InvalidQuotaError(`Duplicate quota key ${op.key} not updating quota for this entity ${describeEntity(entity)}`);
      seen.add(op.key);
      if (op.remove) {
        // As Kafka: removing a key that is not set (or not a quota key at all) changes nothing.
        if (isQuotaKey(op.key)) ops.push({ key: op.key, value: null });
        continue;
      }
      validateQuotaValue(entity, op.key, op.value);
      ops.push({ key: op.key as QuotaKey, value: op.value });
    }
  } catch (err) {
    if (err instanceof InvalidQuotaError) return { entity, ops: [], error: err.message };
    throw err;
  }
  return { entity, ops, error: null };
}

/** One string per entity (absent, default and named components all distinct). */
const entityId = (e: QuotaEntity) => JSON.stringify([e.user, e.clientId, e.ip].map((n) => (n === undefined ? 0 : n)));

export function registerQuotaApis(b: BrokerContext, add: Add, quotas: Pick<QuotaStore, 'read' | 'alter'>): void {
  add(ApiKey.DescribeClientQuotas, DESCRIBE_CLIENT_QUOTAS_VERSIONS, async (ctx: RequestContext, req: DescribeClientQuotasRequest): Promise<DeepPartial<DescribeClientQuotasResponse>> => {
    if (!b.authorizer.authorize(ctx.session ?? internalSession(), 'DESCRIBE_CONFIGS', 'CLUSTER', CLUSTER_RESOURCE_NAME)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: CLUSTER_DENIED, entries: null };
    }
    let filter: Filter;
    try {
      filter = parseFilter(req);
    } catch (err) {
      if (!(err instanceof FilterError)) throw err;
      return { throttleTimeMs: 0, errorCode: err.code, errorMessage: err.message, entries: null };
    }
    let records: QuotaRecord[];
    try {
      records = await quotas.read();
    } catch (err) {
      ctx.log.warn({ err }, 'reading client quotas failed');
      return { throttleTimeMs: 0, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: (err as Error).message, entries: null };
    }
    const entries = records.filter((r) => matches(r.entity, filter)).map(describeEntry);
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, entries };
  });

  add(ApiKey.AlterClientQuotas, ALTER_CLIENT_QUOTAS_VERSIONS, async (ctx: RequestContext, req: AlterClientQuotasRequest): Promise<DeepPartial<AlterClientQuotasResponse>> => {
    if (!b.authorizer.authorize(ctx.session ?? internalSession(), 'ALTER_CONFIGS', 'CLUSTER', CLUSTER_RESOURCE_NAME)) {
      return {
        throttleTimeMs: 0,
        entries: req.entries.map((e) => ({ errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: CLUSTER_DENIED, entity: e.entity })),
      };
    }
    const checked = req.entries.map((entry) => ({ wire: entry.entity, ...checkEntry(entry) }));
    // An entity altered twice in one request: refused (once in the answer, as Kafka keys results by entity).
    const counts = new Map<string, number>();
    for (const c of checked) if (c.entity) counts.set(entityId(c.entity), (counts.get(entityId(c.entity)) ?? 0) + 1);
    const answered = new Set<string>();
    const entries: DeepPartial<AlterClientQuotasResponse>['entries'] = [];
    for (const c of checked) {
      const id = c.entity ? entityId(c.entity) : null;
      if (id !== null && answered.has(id)) continue;
      if (id !== null) answered.add(id);
      let errorCode: number = ErrorCode.NONE;
      let errorMessage: string | null = null;
      if (c.error !== null) {
        errorCode = ErrorCode.INVALID_REQUEST;
        errorMessage = c.error;
      } else if ((counts.get(id!) ?? 0) > 1) {
        errorCode = ErrorCode.INVALID_REQUEST;
        errorMessage = `Ignoring duplicate entity ${describeEntity(c.entity)}`;
      } else if (!req.validateOnly && c.ops.length > 0) {
        try {
          await quotas.alter(c.entity, c.ops);
          ctx.log.info({ entity: describeEntity(c.entity), ops: c.ops }, 'client quotas altered');
        } catch (err) {
          ctx.log.warn({ err, entity: describeEntity(c.entity) }, 'altering client quotas failed');
          errorCode = ErrorCode.UNKNOWN_SERVER_ERROR;
          errorMessage = (err as Error).message;
        }
      }
      entries.push({ errorCode, errorMessage, entity: c.wire });
    }
    return { throttleTimeMs: 0, entries };
  });
}
