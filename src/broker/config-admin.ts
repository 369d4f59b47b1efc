/**
 * Configs: DescribeConfigs (32, v0–4), AlterConfigs (33, v0–2), IncrementalAlterConfigs (44, v0–1).
 *
 * Topic resources (type 2) describe every known key with its value and source (topic
 * override, static broker config or default) and can be altered; broker resources (type 4)
 * describe the broker's static configuration and are read-only here (no dynamic broker configs).
 *
 * ACLs (Kafka's), per resource and before anything else about it: DESCRIBE_CONFIGS (describe) or
 * ALTER_CONFIGS (alter) on the topic, or on the cluster for a broker or broker-logger resource;
 * refused: TOPIC_/CLUSTER_AUTHORIZATION_FAILED.
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { DescribeConfigsRequest, DescribeConfigsResponse } from '../protocol/messages/describe-configs.js';
import type { AlterConfigsRequest, AlterConfigsResponse } from '../protocol/messages/alter-configs.js';
import type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from '../protocol/messages/incremental-alter-configs.js';
import type { DeepPartial } from '../protocol/primitives.js';
import type { RequestContext } from '../server/handler-registry.js';
import type { BrokerContext } from './context.js';
import type { ConfigAlteration, DescribedConfig } from '../topics/topic-service.js';
import { CONFIG_SOURCE, KAFKA_CONFIG_TYPE } from '../topics/topic-config.js';
import { isSecretKey } from '../ops/config-schema.js';
import type { AclOperationName } from '../security/types.js';
import { requestAcl, type RequestAcl } from './authorize.js';

export const DESCRIBE_CONFIGS_VERSIONS = { min: 0, max: 4 } as const;
export const ALTER_CONFIGS_VERSIONS = { min: 0, max: 2 } as const;
export const INCREMENTAL_ALTER_CONFIGS_VERSIONS = { min: 0, max: 1 } as const;

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const RESOURCE_BROKER_LOGGER = 8;
const OPS: Record<number, ConfigAlteration['op']> = { 0: 'set', 1: 'delete', 2: 'append', 3: 'subtract' };

function errorOf(err: unknown): { code: number; message: string } {
  if (err instanceof KafkaError) return { code: err.code, message: err.message };
  return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: (err as Error).message };
}

/**
 * The refusal of `op` on a config resource, or null when allowed (or a type Ferry does not serve:
 * answered INVALID_REQUEST after). Broker resources are the cluster's to grant, as in Kafka.
 */
function configRefusal(acl: RequestAcl, op: AclOperationName, resourceType: number, resourceName: string): { errorCode: number; errorMessage: string } | null {
  if (resourceType === RESOURCE_TOPIC) {
    return acl.allowed(op, 'TOPIC', resourceName) ? null : { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Topic authorization failed.' };
  }
  if (resourceType === RESOURCE_BROKER || resourceType === RESOURCE_BROKER_LOGGER) {
    return acl.allowedOnCluster(op) ? null : { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.' };
  }
  return null;
}

export function makeDescribeConfigsHandler(b: BrokerContext) {
  return (ctx: RequestContext, req: DescribeConfigsRequest): DeepPartial<DescribeConfigsResponse> => {
    const version = ctx.header.apiVersion;
    const acl = requestAcl(b, ctx);
    const results = req.resources.map((r) => {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      const refusal = configRefusal(acl, 'DESCRIBE_CONFIGS', r.resourceType, r.resourceName);
      if (refusal) return { ...base, ...refusal, configs: [] };
      let entries;
      if (r.resourceType === RESOURCE_TOPIC) {
        const topic = b.topics.byName(r.resourceName);
        if (!topic) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic ${r.resourceName} does not exist`, configs: [] };
        entries = b.topics.describeConfigs(topic, r.configurationKeys);
      } else if (r.resourceType === RESOURCE_BROKER) {
        if (r.resourceName !== '' && r.resourceName !== String(b.self.nodeId)) {
          return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `this is broker ${b.self.nodeId}, not ${r.resourceName}`, configs: [] };
        }
        entries = describeBrokerConfigs(b.brokerConfig, r.configurationKeys);
      } else {
        return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource type ${r.resourceType} is not supported`, configs: [] };
      }
      return {
        ...base, errorCode: ErrorCode.NONE, errorMessage: null,
        configs: entries.map((c) => ({
          name: c.name, value: c.value, readOnly: c.readOnly, isDefault: c.isDefault, configSource: c.source,
          isSensitive: false, configType: c.type,
          documentation: version >= 3 && req.includeDocumentation ? c.documentation : null,
          synonyms: req.includeSynonyms ? c.synonyms : [],
        })),
      };
    });
    return { throttleTimeMs: 0, results };
  };
}

async function alter(b: BrokerContext, acl: RequestAcl, resourceType: number, resourceName: string, changes: ConfigAlteration[], replaceAll: boolean, validateOnly: boolean) {
  const base = { resourceType, resourceName };
  const refusal = configRefusal(acl, 'ALTER_CONFIGS', resourceType, resourceName);
  if (refusal) return { ...base, errorCode: refusal.errorCode, errorMessage: null };
  if (resourceType === RESOURCE_BROKER) {
    return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'broker configs are static: change the config file, environment or flags and restart' };
  }
  if (resourceType !== RESOURCE_TOPIC) return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource type ${resourceType} is not supported` };
  try {
    await b.topics.alterConfigs(resourceName, changes, replaceAll, validateOnly);
    return { ...base, errorCode: ErrorCode.NONE, errorMessage: null };
  } catch (err) {
    const e = errorOf(err);
    return { ...base, errorCode: e.code, errorMessage: e.message };
  }
}

export function makeAlterConfigsHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: AlterConfigsRequest): Promise<DeepPartial<AlterConfigsResponse>> => {
    const acl = requestAcl(b, ctx);
    const responses = [];
    for (const r of req.resources) {
      responses.push(await alter(b, acl, r.resourceType, r.resourceName, r.configs.map((c) => ({ name: c.name, value: c.value, op: 'set' as const })), true, req.validateOnly));
    }
    return { throttleTimeMs: 0, responses };
  };
}

export function makeIncrementalAlterConfigsHandler(b: BrokerContext) {
  return async (ctx: RequestContext, req: IncrementalAlterConfigsRequest): Promise<DeepPartial<IncrementalAlterConfigsResponse>> => {
    const acl = requestAcl(b, ctx);
    const responses = [];
    for (const r of req.resources) {
      const refusal = configRefusal(acl, 'ALTER_CONFIGS', r.resourceType, r.resourceName);
      if (refusal) {
        responses.push({ resourceType: r.resourceType, resourceName: r.resourceName, errorCode: refusal.errorCode, errorMessage: null });
        continue;
      }
      const bad = r.configs.find((c) => OPS[c.configOperation] === undefined);
      if (bad) {
        responses.push({ resourceType: r.resourceType, resourceName: r.resourceName, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown config operation ${bad.configOperation} for ${bad.name}` });
        continue;
      }
      responses.push(await alter(b, acl, r.resourceType, r.resourceName, r.configs.map((c) => ({ name: c.name, value: c.value, op: OPS[c.configOperation] })), false, req.validateOnly));
    }
    return { throttleTimeMs: 0, responses };
  };
}

/** The broker's static configuration, read-only. */
function describeBrokerConfigs(cfg: BrokerContext['brokerConfig'], keys: readonly string[] | null): DescribedConfig[] {
  const wanted = keys && keys.length ? new Set(keys) : null;
  return Object.entries(cfg.redacted())
    .filter(([k]) => !wanted || wanted.has(k))
    .map(([name, value]) => {
      const explicit = cfg.isExplicit(name);
      const source = explicit ? CONFIG_SOURCE.STATIC_BROKER_CONFIG : CONFIG_SOURCE.DEFAULT_CONFIG;
      const sensitive = isSecretKey(name);
      return {
        name, value: sensitive ? null : value, source, isDefault: !explicit, readOnly: true, sensitive,
        type: KAFKA_CONFIG_TYPE.STRING, documentation: '', synonyms: [{ name, value: sensitive ? null : value, source }],
      };
    });
}
