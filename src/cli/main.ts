#!/usr/bin/env node
/**
 * `ferry` command line. Subcommands:
 *   broker   run a broker (config from --config FILE, FERRY_* environment, --key=value flags)
 *   config   check a config file
 *   topics, groups, transactions, cluster   admin over the Kafka protocol (any Kafka-compatible broker)
 *   perf     produce/consume/e2e load tests and the disk's limit
 *   cost     monthly cost of a workload: Kafka, block WAL, Ferry leader-routed and zone-local
 *   version  print the version
 */
import { runBroker, brokerHelp } from './broker-command.js';
import { runOpsCommand, OPS_COMMANDS_USAGE } from './ops-commands.js';
import { processIo } from './output.js';

const USAGE = `usage: ferry <command> [options]

commands:
  broker     run a Kafka-compatible broker (ferry broker --help for its options)
${OPS_COMMANDS_USAGE}  version    print the version
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'broker':
      if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(brokerHelp()); return 0; }
      return runBroker(rest);
    case 'config':
    case 'topics':
    case 'groups':
    case 'transactions':
    case 'cluster':
    case 'perf':
    case 'cost':
    case 'drill':
    case 'acls':
    case 'quotas':
    case 'users':
      return runOpsCommand(command, rest, processIo);
    case 'version':
    case '--version':
      process.stdout.write('ferry 0.1.0\n');
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`ferry: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { if (code !== 0 || process.argv[2] !== 'broker') process.exitCode = code; },
  (err) => { process.stderr.write(`ferry: ${(err as Error).stack ?? err}\n`); process.exit(1); },
);
