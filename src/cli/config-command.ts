/**
 * `ferry config check FILE [--key=value ...]`: loads FILE the way `ferry broker --config FILE`
 * would (plus FERRY_* environment and flags), prints OK and the effective non-default keys, or
 * the ConfigError naming the key. Exit 0 valid, 2 invalid or bad usage.
 */
import { ConfigError, loadConfig } from '../ops/config.js';
import { type Io } from './output.js';
import { toJson } from '../common/text-format.js';
import { formatBudget, memoryBudget } from '../ops/memory-budget.js';

export const CONFIG_USAGE = `usage: ferry config check FILE [--no-env] [--json] [--<key>=<value> ...]

Validates a broker config file (.properties or .json) with the broker's own loader: unknown keys
and bad values are reported with the key, where it came from, and what was expected.
  --no-env   ignore FERRY_* environment variables (check the file alone)
  --json     print {"ok": true, "config": {...}} or {"ok": false, "key": ..., "error": ...}
Exit status: 0 valid, 2 invalid.
`;

export function runConfig(argv: string[], io: Io, env: Readonly<Record<string, string | undefined>> = process.env, cwd = process.cwd()): number {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') { io.out(CONFIG_USAGE); return action === undefined ? 2 : 0; }
  if (action !== 'check') { io.err(`ferry config: unknown action '${action}'\n\n${CONFIG_USAGE}`); return 2; }
  const json = rest.includes('--json');
  const noEnv = rest.includes('--no-env');
  const others = rest.filter((a) => a !== '--json' && a !== '--no-env');
  const file = others.find((a) => !a.startsWith('-'));
  if (file === undefined) { io.err(`ferry config check: FILE is required\n\n${CONFIG_USAGE}`); return 2; }
  const flags = others.filter((a) => a !== file);
  const effectiveEnv = noEnv ? {} : Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'FERRY_CONFIG'));
  try {
    const config = loadConfig({ argv: ['--config', file, ...flags], env: effectiveEnv, cwd });
    const explicit = Object.fromEntries(Object.entries(config.redacted()).filter(([k]) => config.isExplicit(k)));
    const memory = memoryBudget(config);
    if (json) io.out(toJson({ ok: true, file: config.configFile, config: explicit, warnings: config.warnings, memory: { totalBytes: Number.isFinite(memory.totalBytes) ? memory.totalBytes : null, parts: memory.parts.map((p) => ({ key: p.key, bytes: Number.isFinite(p.bytes) ? p.bytes : null })) } }));
    else {
      io.out(`OK ${config.configFile}\n`);
      for (const [k, v] of Object.entries(explicit)) io.out(`  ${k}=${v ?? ''}\n`);
      io.out(`memory bounds (RSS stays within ~1.25x of the total; memory.max.bytes checks it):\n${formatBudget(memory)}\n`);
      for (const w of config.warnings) io.out(`warning: ${w}\n`);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (json) io.out(toJson({ ok: false, key: err.key, source: err.source, expected: err.expected, error: err.message }));
    else io.err(`INVALID ${err.message}\n`);
    return 2;
  }
}
