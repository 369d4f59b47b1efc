/**
 * `ferry broker`: load and validate the configuration, start the broker, stop it cleanly on
 * SIGTERM/SIGINT. Configuration errors name the key and exit with status 2.
 */
import { resolve } from 'node:path';
import { loadConfig, ConfigError, renderConfigReference, type BrokerConfig } from '../ops/config.js';
import { createLogger } from '../ops/logger.js';
import { Broker, type BrokerSettings } from '../node/broker.js';

export function brokerHelp(): string {
  return `usage: ferry broker [--config FILE] [--<key>=<value> ...]

Runs a Kafka-compatible broker. With no options: one broker on localhost:9092, data under ./data,
embedded metadata, auto-created topics. Every key below can also be set in the config file
(.properties or .json) or as an environment variable FERRY_<KEY> (upper case, '.' -> '_').
Precedence: defaults < file < environment < flags.
--object-store fs|fs:///path|s3://bucket[/prefix][?endpoint=URL&region=R&path-style=true] is a
shorthand for the object storage keys.

${renderConfigReference()}`;
}

/**
 * `--object-store URL`, a shorthand for the object storage keys:
 *   fs | fs:///abs/path                         the embedded fs store (optionally elsewhere)
 *   s3://bucket[/prefix][?endpoint=URL&region=R&path-style=true]
 * Expanded into the dotted flags before the config is loaded, so errors still name the keys.
 */
export function expandObjectStoreFlag(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    let url: string | undefined;
    if (a.startsWith('--object-store=')) url = a.slice('--object-store='.length);
    else if (a === '--object-store') url = argv[++i] ?? '';
    if (url === undefined) { out.push(a); continue; }
    out.push(...objectStoreFlags(url));
  }
  return out;
}

function objectStoreFlags(url: string): string[] {
  if (url === 'fs') return ['--object.store=fs'];
  if (url.startsWith('fs://')) return ['--object.store=fs', `--object.store.path=${url.slice('fs://'.length)}`];
  if (!url.startsWith('s3://')) throw new ConfigError('object.store', 'flag --object-store', 'fs, fs:///path or s3://bucket[/prefix][?endpoint=...&region=...&path-style=true]', url);
  const parsed = new URL(url);
  const flags = ['--object.store=s3', `--s3.bucket=${parsed.hostname}`];
  const prefix = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (prefix) flags.push(`--s3.prefix=${prefix.endsWith('/') ? prefix : `${prefix}/`}`);
  for (const [k, v] of parsed.searchParams) {
    if (k === 'endpoint') flags.push(`--s3.endpoint=${v}`);
    else if (k === 'region') flags.push(`--s3.region=${v}`);
    else if (k === 'path-style') flags.push(`--s3.force.path.style=${v}`);
    else throw new ConfigError('object.store', 'flag --object-store', 'query parameters endpoint, region, path-style', `${k}=${v}`);
  }
  return flags;
}

export function settingsFrom(config: BrokerConfig): BrokerSettings {
  const listener = config.listeners[0];
  const advertised = config.advertisedListeners[0] ?? listener;
  return {
    nodeId: config.nodeId,
    clusterName: config.clusterName,
    listenHost: listener.host === '' ? '0.0.0.0' : listener.host,
    listenPort: listener.port,
    advertisedHost: advertised.host,
    advertisedPort: advertised.port,
    rack: config.rack,
    dataDir: resolve(config.dataDir),
    walPath: resolve(config.walPath),
    walCapacityBytes: config.walCapacityBytes,
    walAppendTimeoutMs: config.walAppendTimeoutMs,
    socketRequestMaxBytes: config.socketRequestMaxBytes,
    messageMaxBytes: config.messageMaxBytes,
    autoCreateTopics: config.autoCreateTopicsEnable,
    numPartitions: config.numPartitions,
    logRetentionMs: config.logRetentionMs,
    logRetentionBytes: config.logRetentionBytes,
    groupMinSessionTimeoutMs: config.groupMinSessionTimeoutMs,
    groupMaxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
    groupInitialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
    groupMaxSize: config.groupMaxSize,
    connectionsMax: config.connectionsMax,
    fetchMaxBytes: config.fetchMaxBytes,
    fetchSessionSlots: config.fetchSessionCacheSlots,
    config,
  };
}

export async function runBroker(argv: string[]): Promise<number> {
  let config: Readonly<BrokerConfig>;
  try {
    config = loadConfig({ argv: expandObjectStoreFlag(argv), env: process.env, cwd: process.cwd() });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ferry broker: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(config);
  for (const w of config.warnings) log.warn(w);
  log.info({ config: config.redacted() }, 'starting broker');
  let broker: Broker;
  try {
    broker = await Broker.start(settingsFrom(config), log);
  } catch (err) {
    log.fatal({ err }, 'broker failed to start');
    // Besides the JSON log (stdout), one line a person reads.
    process.stderr.write(`ferry broker: failed to start: ${startErrorLine(err)}\n`);
    return 1;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => { log.error('shutdown timed out; exiting'); process.exit(1); }, config.shutdownTimeoutMs + 5000);
    timer.unref();
    broker.stop().then(() => process.exit(0), (err) => { log.error({ err }, 'shutdown failed'); process.exit(1); });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return 0;
}

/** A start-up error as one line: its message, no stack. */
export function startErrorLine(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
