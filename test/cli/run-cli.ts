// Runs `ferry <command>` in-process (runOpsCommand) or as a real process, capturing its output.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { runOpsCommand } from '../../src/cli/ops-commands.js';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface CliResult { code: number; stdout: string; stderr: string }

export async function ferry(...argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const [command, ...rest] = argv;
  const code = await runOpsCommand(command!, rest, { out: (t) => { stdout += t; }, err: (t) => { stderr += t; } });
  return { code, stdout, stderr };
}

/** `ferry ...` as a child process through the real entry point (src/cli/main.ts). */
export function ferryProcess(argv: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=ferry-source', '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...argv], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ferry ${argv.join(' ')} did not exit in ${timeoutMs} ms\n${stdout}\n${stderr}`)); }, timeoutMs);
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
  });
}
