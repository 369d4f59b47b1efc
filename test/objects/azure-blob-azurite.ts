/**
 * Azurite (Microsoft's Azure Storage emulator, npm `azurite`) for the azure-blob ObjectStore
 * tests: the blob service on a free loopback port, a temp workspace, no telemetry.
 *
 * Azurite declares Node >= 22, so it runs on a Node 22 binary from the npm package `node`; both
 * live in a tools directory ($FERRY_TOOLS_DIR, default /opt/ferry-tools) that
 * scripts/azurite-install.sh fills when they are missing. If that install fails the test fails
 * (MissingToolError), under CI=true or anywhere else: never skipped.
 *
 *   const azurite = await startAzurite(t);   // listening when resolved; stopped after the test
 *   azurite.connectionString                 // shared-key connection string of devstoreaccount1
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { MissingToolError } from '../helpers/require-tool.js';
import { waitFor } from '../helpers/wait.js';

/** Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const repoRoot = new URL('../..', import.meta.url).pathname;

export interface AzuriteTools { dir: string; node: string; azuriteBlob: string }

/**
 * Finds Node 22 and azurite-blob in the tools dir, installing them once if missing (with the
 * Azure SDK packages that test/helpers/optional-deps.mjs loads where npm skipped them: Node < 22).
 */
export function azuriteTools(): AzuriteTools {
  const dir = process.env.FERRY_TOOLS_DIR ?? '/opt/ferry-tools';
  const tools = { dir, node: join(dir, 'node_modules/.bin/node'), azuriteBlob: join(dir, 'node_modules/azurite/dist/src/blob/main.js') };
  const sdk = join(dir, 'azure-sdk/node_modules/@azure/storage-blob/package.json');
  if (existsSync(tools.node) && existsSync(tools.azuriteBlob) && existsSync(sdk)) return tools;
  const res = spawnSync('bash', [join(repoRoot, 'scripts/azurite-install.sh'), dir], { encoding: 'utf8', timeout: 180_000 });
  if (res.status !== 0 || !existsSync(tools.node) || !existsSync(tools.azuriteBlob)) {
    throw new MissingToolError('azurite + node 22', `bash scripts/azurite-install.sh ${dir}`, (res.stderr ?? '').trim().split('\n').slice(-3).join(' | '));
  }
  return tools;
}

export interface Azurite {
  readonly port: number;
  readonly blobEndpoint: string;
  readonly connectionString: string;
  stop(): Promise<void>;
  logTail(): string;
}

export async function startAzurite(t?: { after(fn: () => Promise<void>): void }): Promise<Azurite> {
  const tools = azuriteTools();
  const port = await freePort();
  const workspace = await mkdtemp(join(tmpdir(), 'ferry-azurite-'));
  const child = spawn(tools.node, [
    tools.azuriteBlob, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', workspace,
    '--silent', '--disableTelemetry', '--skipApiVersionCheck',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (b: Buffer) => { log = (log + b.toString()).slice(-4000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = false;
  const exitedEarly = new Promise<never>((_, reject) => child.once('exit', (code, signal) => {
    exited = true;
    reject(new Error(`azurite exited (${code ?? signal}) before listening: ${log}`));
  }));
  exitedEarly.catch(() => { /* observed by the race below, or irrelevant after start */ });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    }
    await rm(workspace, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      exitedEarly,
      waitFor(() => canConnect(port), 20_000, () => `azurite listening on 127.0.0.1:${port} (log: ${log})`, 50),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const azurite: Azurite = {
    port,
    blobEndpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    stop,
    logTail: () => log,
  };
  t?.after(stop);
  return azurite;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}
