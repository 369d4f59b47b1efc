// Shared pieces of the admin subcommands: the common options, connecting, and error reporting
// (a Kafka error prints its name; usage errors exit 2, broker errors 1).
import { AdminClient } from '../admin/admin-client.js';
import { AdminError, ConnectionError, UsageError } from '../admin/errors.js';
import type { OptionSpecs } from './args.js';
import type { Io } from './output.js';

export const DEFAULT_BOOTSTRAP = 'localhost:9092';

export const COMMON_OPTIONS: OptionSpecs = {
  'bootstrap-server': { kind: 'string', aliases: ['-b', '--bootstrap-servers'] },
  json: { kind: 'bool' },
  'timeout-ms': { kind: 'number' },
  help: { kind: 'bool', aliases: ['-h'] },
};

export async function connectAdmin(bootstrap: string | undefined, timeoutMs: number | undefined): Promise<AdminClient> {
  const servers = (bootstrap ?? DEFAULT_BOOTSTRAP).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) throw new UsageError('--bootstrap-server is empty');
  return AdminClient.connect({ bootstrap: servers, clientId: 'ferry-admin', requestTimeoutMs: timeoutMs ?? 30_000, connectTimeoutMs: Math.min(timeoutMs ?? 10_000, 10_000) });
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
