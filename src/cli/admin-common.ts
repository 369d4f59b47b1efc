// Shared pieces of the admin subcommands: the common options, connecting, and error reporting
// (a Kafka error prints its name; usage errors exit 2, broker errors 1).
import { AdminClient } from '../admin/admin-client.js';
import { loadClientProperties, type ClientSecurity } from '../admin/client-security.js';
import { AdminError, ConnectionError, UsageError } from '../admin/errors.js';
import { Args, type OptionSpecs } from './args.js';
import type { Io } from './output.js';

export const DEFAULT_BOOTSTRAP = 'localhost:9092';

export const COMMON_OPTIONS: OptionSpecs = {
  'bootstrap-server': { kind: 'string', aliases: ['-b', '--bootstrap-servers'] },
  // Kafka's tools: --command-config (kafka-topics, kafka-configs, ...), --consumer.config/--producer.config (perf tests).
  'command-config': { kind: 'string', aliases: ['--consumer.config', '--producer.config', '--admin.config'] },
  json: { kind: 'bool' },
  'timeout-ms': { kind: 'number' },
  help: { kind: 'bool', aliases: ['-h'] },
};

/** The usage line of --command-config, for the commands' usage texts. */
export const COMMAND_CONFIG_USAGE = '--command-config FILE                      client properties: security.protocol, ssl.*, sasl.* (Kafka or librdkafka names)';

/** The usage block of COMMON_OPTIONS, shared by the admin commands' usage texts. */
export const COMMON_OPTIONS_USAGE = `common options:
  --bootstrap-server host:port[,host:port]  (default localhost:9092)
  ${COMMAND_CONFIG_USAGE}
  --json                                     machine-readable output
  --timeout-ms N                             per-request timeout (default 30000)
`;

/**
 * The TLS/SASL settings of `--command-config FILE` (undefined without it: PLAINTEXT). A bad file
 * is a UsageError (exit 2) naming file:line and key; unknown keys are warnings on stderr.
 */
export function commandSecurity(path: string | undefined, io?: Pick<Io, 'err'>): ClientSecurity | undefined {
  if (path === undefined) return undefined;
  if (path === '') throw new UsageError('--command-config needs a file');
  return loadClientProperties(path, (line) => io?.err(`warning: ${line}\n`));
}

/** The admin client for a command's parsed COMMON_OPTIONS: --bootstrap-server, --timeout-ms, --command-config. */
export async function connectAdmin(args: Args, io?: Pick<Io, 'err'>): Promise<AdminClient>;
/** The admin client for explicit settings (security unset: PLAINTEXT). */
export async function connectAdmin(bootstrap: string | undefined, timeoutMs: number | undefined, security?: ClientSecurity): Promise<AdminClient>;
export async function connectAdmin(first: Args | string | undefined, second?: number | Pick<Io, 'err'>, third?: ClientSecurity): Promise<AdminClient> {
  let bootstrap: string | undefined;
  let timeoutMs: number | undefined;
  let security: ClientSecurity | undefined;
  if (first instanceof Args) {
    bootstrap = first.str('bootstrap-server');
    timeoutMs = first.num('timeout-ms');
    security = commandSecurity(first.str('command-config'), second as Pick<Io, 'err'> | undefined);
  } else {
    bootstrap = first;
    timeoutMs = second as number | undefined;
    security = third;
  }
  const servers = (bootstrap ?? DEFAULT_BOOTSTRAP).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) throw new UsageError('--bootstrap-server is empty');
  return AdminClient.connect({
    bootstrap: servers, clientId: 'ferry-admin', requestTimeoutMs: timeoutMs ?? 30_000, connectTimeoutMs: Math.min(timeoutMs ?? 10_000, 10_000), security,
  });
}

/** Connects with the command's common options, runs `run` and closes the client, whatever happens. */
export async function withAdmin<T>(args: Args, io: Pick<Io, 'err'>, run: (admin: AdminClient) => Promise<T>): Promise<T> {
  const admin = await connectAdmin(args, io);
  try {
    return await run(admin);
  } finally {
    admin.close();
  }
}

/** Runs a command body; maps errors to messages and exit codes. */
export async function runReporting(io: Io, command: string, usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`ferry ${command}: ${err.message}\n\n${usage}`);
      return 2;
    }
    if (err instanceof AdminError || err instanceof ConnectionError) {
      io.err(`ferry ${command}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
