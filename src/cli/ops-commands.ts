// Dispatch of the ops subcommands (everything but `broker`), callable in-process by tests.
import { runConfig } from './config-command.js';
import { runTopics } from './topics-command.js';
import { runGroups } from './groups-command.js';
import { runTransactions } from './transactions-command.js';
import { runUsers } from './users-command.js';
import { runAcls } from './acls-command.js';
import { runQuotas } from './quotas-command.js';
import { runCluster } from './cluster-command.js';
import { runPerf } from './perf-command.js';
import { runCost } from './cost-command.js';
import { runDrillCommand } from './drill-command.js';
import type { Io } from './output.js';

export const OPS_COMMANDS_USAGE = `  config     check a config file (ferry config check FILE)
  topics     list|describe|create|delete|alter-config|add-partitions
  groups     list|describe|reset-offsets|delete
  transactions  list|describe|describe-producers|find-hanging|abort
  users      list|describe|add|delete SCRAM credentials
  acls       --list|--add|--remove ACLs (kafka-acls.sh flags)
  quotas     describe|alter client quotas (users, client ids, ips)
  cluster    describe (brokers, racks, controller, leaders, WAL and upload lag)
  perf       produce|consume|e2e|disk load tests
  cost       monthly cost of a workload: Kafka, block WAL, Ferry leader-routed and zone-local
  drill      failover drill: kill-broker|kill-rack|pause-broker|etcd-leader-loss under a real workload
`;

export async function runOpsCommand(command: string, argv: string[], io: Io): Promise<number> {
  switch (command) {
    case 'config': return runConfig(argv, io);
    case 'topics': return runTopics(argv, io);
    case 'groups': return runGroups(argv, io);
    case 'transactions': return runTransactions(argv, io);
    case 'users': return runUsers(argv, io);
    case 'acls': return runAcls(argv, io);
    case 'quotas': return runQuotas(argv, io);
    case 'cluster': return runCluster(argv, io);
    case 'perf': return runPerf(argv, io);
    case 'cost': return runCost(argv, io);
    case 'drill': return runDrillCommand(argv, io);
    default:
      io.err(`ferry: unknown command '${command}'\n`);
      return 2;
  }
}
