// Broker configuration: defaults < config file < FERRY_* environment < command-line flags.
//
//   loadConfig({ argv, env, cwd }) -> Readonly<BrokerConfig>
//     argv: the broker's flags only (e.g. process.argv.slice(3) after `ferry broker`):
//           --config FILE | --config=FILE, --<key>=<value> | --<key> <value> | --<bool key>
//     env:  FERRY_CONFIG=FILE, FERRY_<KEY> with the key upper-cased and '.' -> '_' (FERRY_LOG_LEVEL)
//     file: Java .properties (as Kafka's server.properties) or .json (flat, or nested objects whose
//           keys join with '.'); relative paths resolve against cwd
//   BrokerConfig: one camel-cased typed field per key (log.retention.ms -> logRetentionMs), plus
//     get(key), sourceOf(key), isExplicit(key), redacted(), warnings, configFile
//   ConfigError (code CONFIG_INVALID): names the key, where the value came from (file:line,
//     environment variable, flag) and what was expected; secret values are never printed
//   renderConfigReference(): docs/configuration.md, generated from the schema
//   configKeys(): every key
//
// Unknown keys in a file or flag are errors. Unknown FERRY_* environment variables are only
// warnings (config.warnings), because the environment is shared with tools and test harnesses.

import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { TOPIC_CONFIG_SPECS } from '../topics/topic-config.js';
import { memoryBudget, type MemoryConfig } from './memory-budget.js';
import {
  CONFIG_SCHEMA, CONFIG_SPECS, SASL_MECHANISMS, SECURITY_PROTOCOL_NAMES, envNameOf, fieldNameOf, formatConfigValue, isDerivedDefault, isSecretKey,
  type ConfigKeySpec, type ConfigValue,
} from './config-schema.js';
import {
  ConfigValueError, formatListener, isWildcardHost, parseBool, parseBytes, parseDurationMs, parseEnum, parseHostPort,
  parseInt32, parseList, parseListener, parseLong, parseDouble, parseProperties, type Listener,
} from './config-values.js';

export type { ConfigValue, ConfigKeySpec } from './config-schema.js';
export type SecurityProtocolName = (typeof SECURITY_PROTOCOL_NAMES)[number];
export type { Listener } from './config-values.js';
export { parseHostPort, formatListener } from './config-values.js';

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly key: string, readonly source: string, readonly expected: string, shownValue?: string) {
    super(`config ${key}${shownValue === undefined ? '' : `=${shownValue}`} (${source}): expected ${expected}`);
    this.name = 'ConfigError';
  }
}

export type ConfigSource =
  | { kind: 'default' }
  | { kind: 'file'; path: string; line?: number }
  | { kind: 'env'; name: string }
  | { kind: 'flag'; flag: string };

export function describeSource(s: ConfigSource): string {
  switch (s.kind) {
    case 'default': return 'default';
    case 'file': return s.line === undefined ? `file ${s.path}` : `file ${s.path}:${s.line}`;
    case 'env': return `environment variable ${s.name}`;
    case 'flag': return `flag ${s.flag}`;
  }
}

export interface BrokerConfig {
  nodeId: number;
  clusterName: string;
  rack: string | null;
  listeners: Listener[];
  advertisedListeners: Listener[];
  socketRequestMaxBytes: number;
  connectionsMax: number;
  shutdownTimeoutMs: number;
  maxConnectionsPerIp: number;
  maxConnectionsPerIpOverrides: string[];
  connectionsMaxIdleMs: number;
  requestReceiveTimeoutMs: number;
  queuedMaxRequestBytes: number;
  socketSendQueueMaxBytes: number;
  queuedMaxResponseBytes: number;
  dataDir: string;
  walPath: string;
  walCapacityBytes: number;
  walAppendTimeoutMs: number;
  cacheMaxBytes: number;
  memoryMaxBytes: number | null;
  objectStore: 'fs' | 's3' | 'azure-blob';
  azureBlobAccount: string | null;
  azureBlobContainer: string | null;
  azureBlobEndpoint: string | null;
  azureBlobPrefix: string | null;
  objectStorePath: string;
  s3Bucket: string | null;
  s3Prefix: string | null;
  s3Region: string;
  s3Endpoint: string | null;
  s3ForcePathStyle: boolean;
  s3AccessKeyId: string | null;
  /** Not enumerable: JSON.stringify and spreads of the config leave it out. */
  s3SecretAccessKey: string | null;
  uploadIntervalMs: number;
  uploadMaxBytes: number;
  uploadStreamSplitBytes: number;
  blockCacheMaxBytes: number;
  objectGcGraceMs: number;
  compactionIntervalMs: number;
  compactionMaxBytesPerSec: number;
  compactionStepMaxBytes: number;
  logCleanerEnable: boolean;
  logCleanerBackoffMs: number;
  logCleanerDedupeBufferSize: number;
  logCleanerIoMaxBytesPerSecond: number;
  logCleanerMinCleanableRatio: number;
  logCleanerMinCompactionLagMs: number;
  logCleanerMaxCompactionLagMs: number;
  logCleanerDeleteRetentionMs: number;
  logRollMs: number;
  ferryProduceRouting: 'leader' | 'zone-local';
  ferryRemoteReadMode: 'tail' | 'uploaded-only' | 'leader';
  ferryProxyLingerMs: number;
  ferryProxyBufferBytes: number;
  ferryProxyStagingRetentionMs: number;
  retentionCheckIntervalMs: number;
  metadataBackend: 'local' | 'etcd';
  etcdEndpoints: string[];
  etcdUsername: string | null;
  /** Not enumerable: JSON.stringify and spreads of the config leave it out. */
  etcdPassword: string | null;
  brokerSessionTimeoutMs: number;
  volumeProvider: 'local' | 'aws-ebs' | 'azure-zrs';
  volumeId: string | null;
  instanceId: string | null;
  volumeLocalRoot: string;
  volumeAttachTimeoutMs: number;
  awsRegion: string;
  azureSubscriptionId: string | null;
  azureResourceGroup: string | null;
  autoCreateTopicsEnable: boolean;
  numPartitions: number;
  defaultReplicationFactor: number;
  deleteTopicEnable: boolean;
  messageMaxBytes: number;
  logRetentionMs: number;
  logRetentionBytes: number;
  logSegmentBytes: number;
  logCleanupPolicy: string[];
  logMessageTimestampType: 'CreateTime' | 'LogAppendTime';
  compressionType: string;
  minInsyncReplicas: number;
  fetchMaxBytes: number;
  fetchSessionCacheSlots: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupInitialRebalanceDelayMs: number;
  groupMaxSize: number;
  offsetsRetentionMinutes: number;
  producerIdExpirationMs: number;
  transactionMaxTimeoutMs: number;
  transactionalIdExpirationMs: number;
  transactionAbortTimedOutTransactionCleanupIntervalMs: number;
  listenerSecurityProtocolMap: string[];
  interBrokerListenerName: string | null;
  saslEnabledMechanisms: string[];
  saslMechanismInterBrokerProtocol: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';
  /** Not enumerable. */
  saslJaasConfig: string | null;
  saslOauthbearerJwksEndpointUrl: string | null;
  saslOauthbearerExpectedAudience: string[];
  saslOauthbearerExpectedIssuer: string | null;
  saslOauthbearerSubClaimName: string;
  saslOauthbearerScopeClaimName: string;
  saslOauthbearerClockSkewSeconds: number;
  saslOauthbearerJwksEndpointRefreshMs: number;
  connectionsMaxReauthMs: number;
  sslKeystoreType: 'PEM';
  sslKeystoreLocation: string | null;
  sslKeystoreCertificateChain: string | null;
  /** Not enumerable. */
  sslKeystoreKey: string | null;
  /** Not enumerable. */
  sslKeyPassword: string | null;
  sslTruststoreType: 'PEM';
  sslTruststoreLocation: string | null;
  sslTruststoreCertificates: string | null;
  sslClientAuth: 'required' | 'requested' | 'none';
  sslPrincipalMappingRules: string;
  sslEnabledProtocols: string[];
  sslCipherSuites: string[];
  sslEndpointIdentificationAlgorithm: string | null;
  authorizerClassName: string | null;
  superUsers: string | null;
  allowEveryoneIfNoAclFound: boolean;
  quotaWindowNum: number;
  quotaWindowSizeSeconds: number;
  maxConnectionCreationRate: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** host:port or null. */
  metricsListener: string | null;
  clientTelemetryMetrics: string[];
  clientTelemetryPushIntervalMs: number;
  clientTelemetryMaxBytes: number;
  clientTelemetryMaxSeries: number;
  /** host:port or null. */
  schemaRegistryListener: string | null;
  schemaRegistryCompatibilityLevel: 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE';
  schemaRegistryProtocol: 'http' | 'https';
  schemaRegistryAuthentication: 'none' | 'basic' | 'ssl';

  /** The typed value of any key; throws ConfigError for an unknown key. */
  get(key: string): ConfigValue;
  /**
   * A key's value for one listener (and SASL mechanism): listener.name.<listener>.<mechanism>.<key>,
   * then listener.name.<listener>.<key>, then the key itself, as Kafka resolves listener prefixes.
   */
  forListener(listenerName: string, key: string, mechanism?: string): ConfigValue;
  /** The security protocol of a listener name (listener.security.protocol.map). */
  securityProtocolOf(listenerName: string): SecurityProtocolName;
  sourceOf(key: string): ConfigSource;
  /** True when the value came from a file, the environment or a flag rather than the default. */
  isExplicit(key: string): boolean;
  /** Every key with its value as Kafka would print it; secrets replaced by "[redacted]". */
  redacted(): Record<string, string | null>;
  /** Non-fatal findings, e.g. FERRY_* environment variables that name no key. */
  readonly warnings: readonly string[];
  /** The config file read, if any (absolute path). */
  readonly configFile: string | null;
}

export interface LoadConfigOptions {
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

interface RawSetting { raw: string | number | boolean | readonly unknown[]; source: ConfigSource }

const REDACTED = '[redacted]';
const NON_KEY_ENV = new Set(['FERRY_CONFIG']);

export function configKeys(): string[] {
  return CONFIG_SCHEMA.map((s) => s.key);
}

export function loadConfig(options: LoadConfigOptions = {}): Readonly<BrokerConfig> {
  const argv = options.argv ?? process.argv.slice(2);
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const warnings: string[] = [];
  const raw = new Map<string, RawSetting>();

  const flags = parseFlags(argv);
  const fileArg = flags.configFile ?? (env.FERRY_CONFIG !== undefined && env.FERRY_CONFIG !== ''
    ? { path: env.FERRY_CONFIG, source: { kind: 'env', name: 'FERRY_CONFIG' } as ConfigSource }
    : null);
  let configFile: string | null = null;
  if (fileArg) {
    configFile = resolve(cwd, fileArg.path);
    for (const [key, setting] of readConfigFile(configFile, fileArg.source)) raw.set(key, setting);
  }

  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('FERRY_') || NON_KEY_ENV.has(name) || value === undefined) continue;
    const key = ENV_TO_KEY.get(name);
    if (key === undefined) {
      warnings.push(`environment variable ${name} names no config key; ignored`);
      continue;
    }
    raw.set(key, { raw: value, source: { kind: 'env', name } });
  }
  for (const [key, setting] of flags.settings) raw.set(key, setting);

  // Parse set values and fill defaults in schema order (derived defaults follow their inputs).
  const values = new Map<string, ConfigValue>();
  const sources = new Map<string, ConfigSource>();
  for (const spec of CONFIG_SCHEMA) {
    const setting = raw.get(spec.key);
    if (setting) {
      values.set(spec.key, parseSetting(spec, setting, cwd));
      sources.set(spec.key, setting.source);
    } else {
      const d = spec.default;
      const value = isDerivedDefault(d) ? d.derive((k) => values.get(k) ?? null) : d;
      values.set(spec.key, spec.type === 'path' && typeof value === 'string' ? resolve(cwd, value) : parseDefault(spec, value));
      sources.set(spec.key, { kind: 'default' });
    }
  }
  // Listener-prefixed keys, parsed with their base key's spec.
  for (const [key, setting] of raw) {
    if (CONFIG_SPECS.has(key)) continue;
    const spec = specOf(key)!;
    values.set(key, parseSetting({ ...spec, key }, setting, cwd));
    sources.set(key, setting.source);
  }
  checkAcrossKeys(values, sources);
  return buildConfig(values, sources, warnings, configFile);
}

/** The name whose listener.name.<name>.ssl.* keys set the schema registry's TLS alone. */
export const SCHEMA_REGISTRY_TLS_NAME = 'schema_registry';

/** A PEM key and certificate: a keystore file, or the chain and key given inline. */
function hasKeyAndCertificate(get: (key: string) => ConfigValue | null): boolean {
  return get('ssl.keystore.location') !== null || (get('ssl.keystore.certificate.chain') !== null && get('ssl.keystore.key') !== null);
}

/** https needs a key and certificate; certificate authentication needs https and client certificates. */
function checkSchemaRegistryTls(values: Map<string, ConfigValue>, fail: (key: string, expected: string) => never): void {
  const get = (k: string) => values.get(`listener.name.${SCHEMA_REGISTRY_TLS_NAME}.${k}`) ?? values.get(k) ?? null;
  const https = values.get('schema.registry.protocol') === 'https';
  if (https && !hasKeyAndCertificate(get)) {
    fail('ssl.keystore.location', `a PEM key and certificate for the schema registry (schema.registry.protocol=https): ssl.keystore.location, or ssl.keystore.certificate.chain with ssl.keystore.key (or their listener.name.${SCHEMA_REGISTRY_TLS_NAME}. forms)`);
  }
  if (values.get('schema.registry.authentication') === 'ssl') {
    if (!https) fail('schema.registry.authentication', 'basic or none unless schema.registry.protocol=https (ssl authenticates by TLS client certificate)');
    if (get('ssl.client.auth') === 'none') fail('schema.registry.authentication', `client certificates to authenticate: ssl.client.auth (or listener.name.${SCHEMA_REGISTRY_TLS_NAME}.ssl.client.auth) required or requested, not none`);
  }
}

const ENV_TO_KEY = new Map(CONFIG_SCHEMA.map((s) => [envNameOf(s.key), s.key]));

const LISTENER_PREFIX = /^listener\.name\.([a-z][a-z0-9_]*)\.(.+)$/;
const MECHANISM_PREFIXES = SASL_MECHANISMS.map((m) => `${m.toLowerCase()}.`);

/** A listener-prefixed key: the listener (lower case), the mechanism (if any) and the base key. */
function splitListenerKey(key: string): { listener: string; mechanism: string | null; base: string } | null {
  const m = LISTENER_PREFIX.exec(key);
  if (!m) return null;
  const rest = m[2]!;
  const mech = MECHANISM_PREFIXES.find((p) => rest.startsWith(p));
  if (mech !== undefined) {
    const base = rest.slice(mech.length);
    if (CONFIG_SPECS.get(base)?.perMechanism) return { listener: m[1]!, mechanism: mech.slice(0, -1).toUpperCase(), base };
  }
  return CONFIG_SPECS.get(rest)?.perListener ? { listener: m[1]!, mechanism: null, base: rest } : null;
}

/** The spec a key is parsed with: its own, or a listener-prefixed key's base key. */
function specOf(key: string): ConfigKeySpec | undefined {
  const own = CONFIG_SPECS.get(key);
  if (own) return own;
  const split = splitListenerKey(key);
  return split ? CONFIG_SPECS.get(split.base) : undefined;
}

function parseFlags(argv: readonly string[]): { settings: Map<string, RawSetting>; configFile: { path: string; source: ConfigSource } | null } {
  const settings = new Map<string, RawSetting>();
  let configFile: { path: string; source: ConfigSource } | null = null;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith('--') || token === '--') {
      throw new ConfigError(token, `command line argument ${i + 1}`, 'flags of the form --<key>=<value> or --<key> <value>');
    }
    const eq = token.indexOf('=');
    const key = eq < 0 ? token.slice(2) : token.slice(2, eq);
    let value: string | undefined = eq < 0 ? undefined : token.slice(eq + 1);
    const flag = `--${key}`;
    const spec = specOf(key);
    if (key !== 'config' && spec === undefined) {
      throw new ConfigError(key, `flag ${flag}`, `a known config key${suggest(key)} (see docs/configuration.md)`);
    }
    if (value === undefined) {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        value = next;
        i++;
      } else if (spec?.type === 'bool') {
        value = 'true';
      } else {
        throw new ConfigError(key, `flag ${flag}`, 'a value: --<key>=<value> or --<key> <value>');
      }
    }
    if (key === 'config') configFile = { path: value, source: { kind: 'flag', flag } };
    else settings.set(key, { raw: value, source: { kind: 'flag', flag } });
  }
  return { settings, configFile };
}

function readConfigFile(path: string, via: ConfigSource): Map<string, RawSetting> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('config', describeSource(via), `a readable config file, but ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const out = new Map<string, RawSetting>();
  if (extname(path).toLowerCase() === '.json') {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new ConfigError('config', `file ${path}`, `valid JSON (${(err as Error).message})`);
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError('config', `file ${path}`, 'a JSON object of config keys');
    const walk = (obj: Record<string, unknown>, prefix: string): void => {
      for (const [k, v] of Object.entries(obj)) {
        const key = prefix + k;
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) { walk(v as Record<string, unknown>, `${key}.`); continue; }
        const source: ConfigSource = { kind: 'file', path };
        if (!specOf(key)) throw new ConfigError(key, describeSource(source), `a known config key${suggest(key)} (see docs/configuration.md)`);
        if (v === null) out.set(key, { raw: '', source });
        else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || Array.isArray(v)) out.set(key, { raw: v, source });
        else throw new ConfigError(key, describeSource(source), 'a string, number, boolean, list or null');
      }
    };
    walk(doc as Record<string, unknown>, '');
    return out;
  }
  let entries;
  try {
    entries = parseProperties(text);
  } catch (err) {
    throw new ConfigError('config', `file ${path}`, (err as Error).message);
  }
  for (const e of entries) {
    const source: ConfigSource = { kind: 'file', path, line: e.line };
    if (!specOf(e.key)) throw new ConfigError(e.key, describeSource(source), `a known config key${suggest(e.key)} (see docs/configuration.md)`);
    out.set(e.key, { raw: e.value, source });
  }
  return out;
}

function parseSetting(spec: ConfigKeySpec, setting: RawSetting, cwd: string): ConfigValue {
  const shown = isSecretKey(spec.key) ? REDACTED : showRaw(setting.raw);
  const where = describeSource(setting.source);
  try {
    const value = parseValue(spec, setting.raw);
    checkBounds(spec, value);
    return spec.type === 'path' && typeof value === 'string' ? resolve(cwd, value) : value;
  } catch (err) {
    if (err instanceof ConfigValueError) throw new ConfigError(spec.key, where, err.expected, shown);
    throw err;
  }
}

function parseDefault(spec: ConfigKeySpec, value: ConfigValue): ConfigValue {
  // Defaults of the listener type are written as strings in the table.
  if (spec.type === 'listeners' && typeof value === 'string') return parseList(value).map(parseListener);
  return value;
}

function parseValue(spec: ConfigKeySpec, raw: RawSetting['raw']): ConfigValue {
  const text = typeof raw === 'string' ? raw.trim() : raw;
  if (spec.nullable && (text === '' || text === null)) return null;
  const asText = (): string => {
    if (typeof text === 'string') return text;
    if (Array.isArray(text)) throw new ConfigValueError(`a single ${spec.type} value, not a list`);
    return String(text);
  };
  switch (spec.type) {
    case 'string': case 'path': {
      const s = asText();
      if (s === '') throw new ConfigValueError('a non-empty string');
      return s;
    }
    case 'int': return parseInt32(typeof text === 'number' ? text : asText());
    case 'long': return parseLong(typeof text === 'number' ? text : asText());
    case 'double': return parseDouble(typeof text === 'number' ? text : asText());
    case 'bytes': return parseBytes(typeof text === 'number' ? text : asText());
    case 'duration': return parseDurationMs(typeof text === 'number' ? text : asText());
    case 'bool': return parseBool(typeof text === 'boolean' ? text : asText());
    case 'enum': return parseEnum(asText(), spec.values ?? []);
    case 'list': return parseList(Array.isArray(text) ? text : asText());
    case 'listeners': {
      const items = parseList(Array.isArray(text) ? text : asText());
      if (items.length === 0) throw new ConfigValueError('at least one listener, like PLAINTEXT://localhost:9092');
      return items.map(parseListener);
    }
    case 'hostport': {
      const hp = parseHostPort(asText());
      return `${hp.host.includes(':') ? `[${hp.host}]` : hp.host}:${hp.port}`;
    }
  }
}

function checkBounds(spec: ConfigKeySpec, value: ConfigValue): void {
  if (typeof value === 'number') {
    if (spec.min !== undefined && value < spec.min) throw new ConfigValueError(`at least ${spec.min}`);
    if (spec.max !== undefined && value > spec.max) throw new ConfigValueError(`at most ${spec.max}`);
  }
  if (value !== null && spec.check) {
    const problem = spec.check(value);
    if (problem !== undefined) throw new ConfigValueError(problem);
  }
}

function checkAcrossKeys(values: Map<string, ConfigValue>, sources: Map<string, ConfigSource>): void {
  const fail = (key: string, expected: string): never => {
    const v = values.get(key) ?? null;
    throw new ConfigError(key, describeSource(sources.get(key)!), expected, isSecretKey(key) ? REDACTED : formatConfigValue(v) ?? 'null');
  };
  const listeners = values.get('listeners') as Listener[];
  const advertised = values.get('advertised.listeners') as Listener[];
  const names = new Set<string>();
  for (const l of listeners) {
    if (names.has(l.name)) fail('listeners', `distinct listener names (${l.name} appears twice)`);
    names.add(l.name);
  }
  const protocols = protocolMap(values.get('listener.security.protocol.map') as string[]);
  for (const l of listeners) {
    if (!protocols.has(l.name)) fail('listener.security.protocol.map', `a security protocol for listener ${l.name} (NAME:PROTOCOL; only PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL are mapped by default)`);
  }
  const interBroker = values.get('inter.broker.listener.name') as string | null;
  if (interBroker !== null && !names.has(interBroker.toUpperCase())) fail('inter.broker.listener.name', `one of the listeners (${[...names].join(', ')})`);
  for (const key of values.keys()) {
    const split = splitListenerKey(key);
    if (!split || names.has(split.listener.toUpperCase())) continue;
    if (split.listener === SCHEMA_REGISTRY_TLS_NAME && split.mechanism === null && split.base.startsWith('ssl.')) continue;
    fail(key, `a listener.name.<listener> prefix naming one of the listeners (${[...names].map((n) => n.toLowerCase()).join(', ')}), or listener.name.${SCHEMA_REGISTRY_TLS_NAME}. for an ssl.* key of the schema registry`);
  }
  checkSchemaRegistryTls(values, fail);
  for (const l of listeners) {
    const protocol = protocols.get(l.name)!;
    if (protocol === 'SSL' || protocol === 'SASL_SSL') {
      const get = (k: string) => values.get(`listener.name.${l.name.toLowerCase()}.${k}`) ?? values.get(k) ?? null;
      if (!hasKeyAndCertificate(get)) {
        fail('ssl.keystore.location', `a PEM key and certificate for ${protocol} listener ${l.name}: ssl.keystore.location, or ssl.keystore.certificate.chain with ssl.keystore.key (or their listener.name.${l.name.toLowerCase()}. forms)`);
      }
    }
  }
  if (sources.get('advertised.listeners')!.kind === 'default') {
    const wild = listeners.find((l) => isWildcardHost(l.host));
    if (wild) fail('advertised.listeners', `an explicit advertised host, because listener ${formatListener(wild)} binds all interfaces and clients cannot connect to that address`);
  }
  const advertisedNames = new Set<string>();
  for (const a of advertised) {
    if (isWildcardHost(a.host)) fail('advertised.listeners', `a host clients can connect to, not ${a.host}`);
    if (!names.has(a.name)) fail('advertised.listeners', `listener names that appear in listeners (${[...names].join(', ')}), not ${a.name}`);
    if (advertisedNames.has(a.name)) fail('advertised.listeners', `distinct listener names (${a.name} appears twice)`);
    advertisedNames.add(a.name);
  }
  if (values.get('metadata.backend') === 'etcd') {
    const endpoints = values.get('etcd.endpoints') as string[];
    if (endpoints.length === 0) fail('etcd.endpoints', 'at least one etcd URL when metadata.backend=etcd');
  }
  for (const url of values.get('etcd.endpoints') as string[]) {
    if (!/^https?:\/\/[^/\s]+:\d{1,5}\/?$/.test(url)) fail('etcd.endpoints', `URLs like http://127.0.0.1:2379, not ${url}`);
  }
  if ((values.get('group.min.session.timeout.ms') as number) > (values.get('group.max.session.timeout.ms') as number)) {
    fail('group.min.session.timeout.ms', 'at most group.max.session.timeout.ms');
  }
  const memoryMax = values.get('memory.max.bytes') as number | null;
  if (memoryMax !== null) {
    const budget = memoryBudget(Object.fromEntries(CONFIG_SCHEMA.map((s) => [fieldNameOf(s.key), values.get(s.key)])) as unknown as MemoryConfig);
    if (budget.totalBytes > memoryMax) {
      fail('memory.max.bytes', `at least the sum of the memory bounds, ${Number.isFinite(budget.totalBytes) ? budget.totalBytes : 'unbounded'} bytes (${budget.parts.map((p) => `${p.key} ${Number.isFinite(p.bytes) ? p.bytes : 'unbounded'}`).join(' + ')}); lower those or raise memory.max.bytes`);
    }
  }
  if ((values.get('message.max.bytes') as number) > (values.get('socket.request.max.bytes') as number)) {
    fail('message.max.bytes', 'at most socket.request.max.bytes (a batch must fit in a request)');
  }
}

function buildConfig(values: Map<string, ConfigValue>, sources: Map<string, ConfigSource>, warnings: string[], configFile: string | null): Readonly<BrokerConfig> {
  const config: Record<string, unknown> = {};
  for (const spec of CONFIG_SCHEMA) {
    Object.defineProperty(config, fieldNameOf(spec.key), {
      value: freezeValue(values.get(spec.key)!), enumerable: !isSecretKey(spec.key), writable: false,
    });
  }
  const known = (key: string): void => {
    if (!CONFIG_SPECS.has(key)) throw new ConfigError(key, 'lookup', `a known config key${suggest(key)}`);
  };
  const protocols = protocolMap(values.get('listener.security.protocol.map') as string[]);
  const methods = {
    get(key: string): ConfigValue { known(key); return values.get(key)!; },
    forListener(listenerName: string, key: string, mechanism?: string): ConfigValue {
      known(key);
      const prefix = `listener.name.${listenerName.toLowerCase()}.`;
      if (mechanism !== undefined) {
        const v = values.get(`${prefix}${mechanism.toLowerCase()}.${key}`);
        if (v !== undefined) return v;
      }
      return values.get(`${prefix}${key}`) ?? values.get(key)!;
    },
    securityProtocolOf(listenerName: string): SecurityProtocolName {
      const p = protocols.get(listenerName.toUpperCase());
      if (p === undefined) throw new ConfigError('listener.security.protocol.map', 'lookup', `a protocol for listener ${listenerName}`);
      return p;
    },
    sourceOf(key: string): ConfigSource { known(key); return sources.get(key)!; },
    isExplicit(key: string): boolean { known(key); return sources.get(key)!.kind !== 'default'; },
    redacted(): Record<string, string | null> {
      const out: Record<string, string | null> = {};
      for (const [key, v] of values) out[key] = isSecretKey(key) && v !== null ? REDACTED : formatConfigValue(v);
      return out;
    },
  };
  for (const [name, fn] of Object.entries(methods)) Object.defineProperty(config, name, { value: fn, enumerable: false });
  Object.defineProperty(config, 'warnings', { value: Object.freeze([...warnings]), enumerable: false });
  Object.defineProperty(config, 'configFile', { value: configFile, enumerable: false });
  return Object.freeze(config) as unknown as Readonly<BrokerConfig>;
}

/** listener.security.protocol.map as NAME -> protocol (names upper-cased, as listeners are). */
function protocolMap(items: readonly string[]): Map<string, SecurityProtocolName> {
  const out = new Map<string, SecurityProtocolName>();
  for (const item of items) {
    const at = item.indexOf(':');
    out.set(item.slice(0, at).trim().toUpperCase(), item.slice(at + 1).trim().toUpperCase() as SecurityProtocolName);
  }
  return out;
}

function freezeValue(v: ConfigValue): ConfigValue {
  if (Array.isArray(v)) return Object.freeze(v.map((x) => (typeof x === 'object' ? Object.freeze({ ...x }) : x))) as ConfigValue;
  return v;
}

function showRaw(raw: RawSetting['raw']): string {
  return Array.isArray(raw) ? JSON.stringify(raw) : String(raw);
}

/** " (did you mean log.level?)" for a near miss. */
function suggest(key: string): string {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of CONFIG_SPECS.keys()) {
    const d = editDistance(key.toLowerCase(), k);
    if (d < bestDistance) { bestDistance = d; best = k; }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(key.length / 5)) ? ` (did you mean ${best}?)` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

const TYPE_DOCS: Record<ConfigKeySpec['type'], string> = {
  string: 'string', int: 'int', long: 'long', double: 'double', bool: 'boolean', list: 'list', enum: 'enum',
  bytes: 'bytes', duration: 'duration (ms)', path: 'path', listeners: 'listeners', hostport: 'host:port',
};

/** docs/configuration.md, generated from the schema (a test keeps the committed file equal to it). */
export function renderConfigReference(): string {
  const lines: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/ops/config-schema.ts by renderConfigReference() in src/ops/config.ts; do not edit by hand. Regenerate: UPDATE_CONFIG_DOC=1 node scripts/run-tests.mjs test/ops/config-doc (the test fails while this file differs). -->',
    '',
    'A broker reads its settings from four places; a later one overrides an earlier one:',
    '',
    '1. the defaults below;',
    '2. a config file given by `--config FILE` (or the `FERRY_CONFIG` environment variable): Java `.properties` like Kafka\'s `server.properties`, or `.json` (an object of keys; nested objects join their keys with `.`);',
    '3. environment variables `FERRY_<KEY>`: the key upper-cased with `.` replaced by `_`, e.g. `FERRY_LOG_LEVEL=debug`;',
    '4. command-line flags `--<key>=<value>` or `--<key> <value>`, e.g. `ferry broker --log.level=debug`; a boolean flag alone means `true`.',
    '',
    'An unknown key or a bad value in a file or flag stops the broker with an error that names the key, where the value came from (file and line, variable, or flag) and what was expected. `FERRY_*` variables that name no key are reported as warnings and ignored. Values of keys containing `password` or `secret` are never printed or logged.',
    '',
    'Value types:',
    '',
    '- **int**: a 32-bit integer; **long**: an integer up to 2^53-1.',
    '- **bytes**: an integer number of bytes, or a number with a unit: `B`, `KB`, `MB`, `GB`, `TB` (powers of 1000) or `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024), e.g. `64MiB`.',
    '- **duration (ms)**: milliseconds, or a number with a unit `ms`, `s`, `m`, `h`, `d`, e.g. `30s` or `7d`. `-1` means forever where allowed.',
    '- **boolean**: `true` or `false`. **list**: comma-separated (a JSON array in `.json` files). **enum**: one of the listed values.',
    '- **path**: a file or directory; relative paths resolve against the working directory.',
    '- **listeners**: comma-separated `NAME://host:port`; IPv6 hosts in brackets (`PLAINTEXT://[::1]:9092`).',
    '- **Per-listener keys**: keys of the Security group (the ssl.*, sasl.* ones, connections.max.reauth.ms, max.connection.creation.rate) may be set for one listener as `listener.name.<listener in lower case>.<key>`, and sasl.jaas.config for one listener and mechanism as `listener.name.<listener>.<mechanism in lower case>.sasl.jaas.config` (e.g. `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config`), as Kafka has them; the ssl.* keys also as `listener.name.schema_registry.<key>` for the schema registry alone (docs/schema-registry.md); in a file or a flag, not in the environment. See docs/security.md.',
    '',
    'With no configuration at all, `ferry broker` runs one broker on `localhost:9092` with data under `./data` and the embedded metadata store.',
    '',
  ];
  const groups = [...new Set(CONFIG_SCHEMA.map((s) => s.group))];
  for (const group of groups) {
    lines.push(`## ${group}`, '', '| Key | Type | Default | Environment | Description |', '|---|---|---|---|---|');
    for (const spec of CONFIG_SCHEMA.filter((s) => s.group === group)) {
      const d = spec.default;
      const shown = isDerivedDefault(d) ? null : formatConfigValue(d);
      const def = isDerivedDefault(d) ? d.describe : shown === null ? '(none)' : shown === '' ? '(empty)' : `\`${shown}\``;
      let type = TYPE_DOCS[spec.type];
      if (spec.values) type += `: ${spec.values.map((v) => `\`${v}\``).join(', ')}`;
      const bounds = [spec.min !== undefined ? `min ${spec.min}` : '', spec.max !== undefined ? `max ${spec.max}` : ''].filter(Boolean).join(', ');
      const doc = spec.doc + (bounds ? ` (${bounds})` : '') + (isSecretKey(spec.key) ? ' Secret: never printed.' : '');
      lines.push(`| \`${spec.key}\` | ${type} | ${def} | \`${envNameOf(spec.key)}\` | ${escapeCell(doc)} |`);
    }
    lines.push('');
  }
  lines.push(
    '## Topic configs',
    '',
    'Set per topic with CreateTopics, AlterConfigs or IncrementalAlterConfigs (e.g. `kafka-configs`, an AdminClient); DescribeConfigs reports every key below with its source. A topic key without a value falls back to its broker key, then to the default. Any other key is rejected with `INVALID_CONFIG` naming it. Keys marked "no" in the Enforced column are accepted, validated and reported so that clients and tools work, but Ferry does not act on them.',
    '',
    '| Key | Type | Default | Enforced | Description |',
    '|---|---|---|---|---|',
  );
  for (const spec of TOPIC_CONFIG_SPECS) {
    const def = spec.brokerKey ? `\`${spec.brokerKey}\` (\`${spec.defaultValue}\`)` : spec.defaultValue === '' ? '(empty)' : `\`${spec.defaultValue}\``;
    const bounds = [spec.min !== undefined ? `min ${spec.min}` : '', spec.max !== undefined ? `max ${spec.max}` : ''].filter(Boolean).join(', ');
    let type: string = spec.kind;
    if (spec.values) type += `: ${spec.values.map((v) => `\`${v}\``).join(', ')}`;
    lines.push(`| \`${spec.name}\` | ${type} | ${def} | ${spec.enforced ? 'yes' : 'no'} | ${escapeCell(spec.doc + (bounds ? ` (${bounds})` : ''))} |`);
  }
  lines.push('');
  return lines.join('\n');
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
