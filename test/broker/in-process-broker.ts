/** A broker started inside the test process (faster than a child) on a free port and temp dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Broker, type BrokerHooks } from '../../src/node/broker.js';
import { settingsFrom } from '../../src/cli/broker-command.js';
import { loadConfig } from '../../src/ops/config.js';

export async function startBroker(extra: Record<string, string> = {}, dataDir?: string, hooks: BrokerHooks = {}): Promise<{ broker: Broker; bootstrap: string; dataDir: string; cleanup: () => Promise<void> }> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'ferry-api-'));
  const argv = [
    '--listeners=PLAINTEXT://127.0.0.1:0', `--data.dir=${dir}`, '--wal.capacity.bytes=16777216',
    '--group.initial.rebalance.delay.ms=0', ...Object.entries(extra).map(([k, v]) => `--${k}=${v}`),
  ];
  const config = loadConfig({ argv, env: {}, cwd: process.cwd() });
  const broker = await Broker.start(settingsFrom(config), pino({ level: process.env.FERRY_TEST_LOG ?? 'silent' }), hooks);
  return {
    broker, dataDir: dir, bootstrap: `127.0.0.1:${broker.address.port}`,
    cleanup: async () => { await broker.stop(); if (!dataDir) rmSync(dir, { recursive: true, force: true }); },
  };
}
