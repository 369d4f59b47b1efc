/**
 * Preconditions for tests that drive real components (kcat, Debian's Python Kafka modules, npm
 * client packages). A missing component fails the test with the command that installs it: these
 * tests are never skipped, under CI=true or anywhere else (`.ci/run` installs everything).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';

/** Debian's interpreter: the one that can import python3-confluent-kafka and python3-kafka. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export class MissingToolError extends Error {
  readonly code = 'MISSING_TOOL';
  constructor(readonly tool: string, readonly installHint: string, detail = '') {
    super(`${tool} is required by this test but is not available${detail ? ` (${detail})` : ''}; install it with: ${installHint}` +
      (process.env.CI === 'true' ? ' [CI=true: .ci/run must install it]' : ''));
    this.name = 'MissingToolError';
  }
}

const INSTALL_HINTS: Record<string, string> = {
  kcat: 'apt-get install -y kcat',
  confluent_kafka: 'apt-get install -y python3-confluent-kafka',
  kafka: 'apt-get install -y python3-kafka',
};

const found = new Map<string, string>();

/** Absolute path of an executable on PATH; throws MissingToolError if absent. */
export function requireTool(name: string, installHint = INSTALL_HINTS[name] ?? `apt-get install -y ${name}`): string {
  const cached = found.get(name);
  if (cached) return cached;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = `${dir}/${name}`;
    try {
      accessSync(p, constants.X_OK);
      found.set(name, p);
      return p;
    } catch { /* next */ }
  }
  throw new MissingToolError(name, installHint, 'not on PATH');
}

/** Checks that /usr/bin/python3 imports `modules`; returns the interpreter path. */
export function requirePythonModules(...modules: string[]): string {
  const key = `python:${modules.join(',')}`;
  if (found.has(key)) return SYSTEM_PYTHON;
  try {
    accessSync(SYSTEM_PYTHON, constants.X_OK);
  } catch {
    throw new MissingToolError(SYSTEM_PYTHON, 'apt-get install -y python3');
  }
  for (const m of modules) {
    const res = spawnSync(SYSTEM_PYTHON, ['-c', `import ${m}`], { encoding: 'utf8', timeout: 20_000 });
    if (res.status !== 0) throw new MissingToolError(`python module ${m}`, INSTALL_HINTS[m] ?? `apt-get install -y python3-${m}`, res.stderr.trim().split('\n').pop());
  }
  found.set(key, SYSTEM_PYTHON);
  return SYSTEM_PYTHON;
}

const require = createRequire(import.meta.url);

/** Loads a CommonJS npm package (a devDependency); throws MissingToolError if it cannot load. */
export function requireNodeModule<T = any>(name: string): T {
  try {
    return require(name) as T;
  } catch (err) {
    throw new MissingToolError(`npm package ${name}`, 'npm ci (it is a devDependency; native addons need their install script allowed in package.json "allowScripts")', (err as Error).message.split('\n')[0]);
  }
}
