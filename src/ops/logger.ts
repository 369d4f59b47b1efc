// Logging: pino, JSON lines on stdout, level from the config. Secret-looking fields are redacted
// at any of the first three levels of nesting; child loggers carry context such as the component.
//
// API: createLogger(config, options?) -> Logger (pino)
//        config: anything with logLevel (a BrokerConfig works); options.destination for tests
//      childLogger(logger, component, extra?) -> Logger with { component, ...extra }
//      REDACTED_PATHS, type Logger

import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

const SECRET_FIELDS = ['password', 'secret', 'etcdPassword', 'etcd.password', 'authorization', 'token', 'accessKeyId', 'secretAccessKey', 'sessionToken'];

/** Fields redacted at top level and under one or two levels of objects (pino paths). */
export const REDACTED_PATHS: readonly string[] = SECRET_FIELDS.flatMap((f) => {
  // A field with a dot in its name needs bracket notation; others join with '.'.
  const below = f.includes('.') ? `["${f}"]` : `.${f}`;
  return [f.includes('.') ? `["${f}"]` : f, `*${below}`, `*.*${below}`];
});

export interface LoggerOptions {
  /** Where JSON lines go; default stdout (synchronous writes via pino's destination). */
  destination?: DestinationStream;
  /** Base fields on every line; default { nodeId } when the config has one. */
  base?: Record<string, unknown>;
}

export function createLogger(config: { logLevel: LevelWithSilent; nodeId?: number }, options: LoggerOptions = {}): Logger {
  const base = options.base ?? (config.nodeId === undefined ? {} : { nodeId: config.nodeId });
  return pino({
    level: config.logLevel,
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  }, options.destination ?? pino.destination({ dest: 1, sync: true }));
}

export function childLogger(logger: Logger, component: string, extra: Record<string, unknown> = {}): Logger {
  return logger.child({ component, ...extra });
}
