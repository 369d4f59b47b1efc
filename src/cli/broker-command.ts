/**
 * `ferry broker`: load and validate the configuration, start the broker, stop it cleanly on
 * SIGTERM/SIGINT. Configuration errors name the key and exit with status 2.
 */
import { resolve } from 'node:path';
import { loadConfig, ConfigError, renderConfigReference, type BrokerConfig } from '../ops/config.js';
import { createLogger } from '../ops/logger.js';
import { Broker, type BrokerSettings } from '../broker/broker.js';

export function brokerHelp(): string {
  return `usage: ferry broker [--config FILE] [--<key>=<value> ...]

Runs a Kafka-compatible broker. With no options: one broker on localhost:9092, data under ./data,
embedded metadata, auto-created topics. Every key below can also be set in the config file
(.properties or .json) or as an environment variable FERRY_<KEY> (upper case, '.' -> '_').
Precedence: defaults < file < environment < flags.

${renderConfigReference()}`;
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
    config = loadConfig({ argv, env: process.env, cwd: process.cwd() });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ferry broker: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(config);
  for (const w of config.warnings) log.warn(w);
  if (config.metadataBackend !== 'local') {
    log.error({ backend: config.metadataBackend }, 'only metadata.backend=local is available in this build');
    return 2;
  }
  log.info({ config: config.redacted() }, 'starting broker');
  let broker: Broker;
  try {
    broker = await Broker.start(settingsFrom(config), log);
  } catch (err) {
    log.fatal({ err }, 'broker failed to start');
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
