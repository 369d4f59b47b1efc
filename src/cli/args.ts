/**
 * Command-line parsing for the ops subcommands: `--name value`, `--name=value`, boolean flags
 * (`--flag`, `--flag=true|false`, `--flag true|false`), repeatable options, positionals. Unknown
 * options are UsageErrors naming the option.
 */
import { UsageError } from '../admin/errors.js';

export type OptionKind = 'string' | 'number' | 'bool' | 'list';

export interface OptionSpec {
  kind: OptionKind;
  /** Other spellings, e.g. ['-b']. */
  aliases?: string[];
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface ParsedArgs {
  positionals: string[];
  /** Values by option name (without dashes). Lists collect every occurrence. */
  values: Map<string, string | boolean | string[]>;
}

export function parseArgs(argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const byName = new Map<string, [string, OptionSpec]>();
  for (const [name, spec] of Object.entries(specs)) {
    byName.set(`--${name}`, [name, spec]);
    for (const a of spec.aliases ?? []) byName.set(a, [name, spec]);
  }
  const positionals: string[] = [];
  const values = new Map<string, string | boolean | string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (!arg.startsWith('-') || arg === '-') { positionals.push(arg); continue; }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const found = byName.get(flag);
    if (!found) throw new UsageError(`unknown option ${flag}`);
    const [name, spec] = found;
    if (spec.kind === 'bool') {
      if (eq > 0) {
        const v = arg.slice(eq + 1);
        if (v !== 'true' && v !== 'false') throw new UsageError(`${flag} takes no value (or true/false), got ${v}`);
        values.set(name, v === 'true');
      } else if (argv[i + 1] === 'true' || argv[i + 1] === 'false') {
        // `--flag true` / `--flag false`, as the number and string options take their value.
        values.set(name, argv[++i] === 'true');
      } else values.set(name, true);
      continue;
    }
    let value: string;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      value = argv[++i]!;
    }
    if (spec.kind === 'number' && !/^-?\d+(\.\d+)?(e\d+)?$/i.test(value)) throw new UsageError(`${flag} expects a number, got ${value}`);
    if (spec.kind === 'list') {
      const prev = (values.get(name) as string[] | undefined) ?? [];
      values.set(name, [...prev, value]);
    } else values.set(name, value);
  }
  return { positionals, values };
}

export class Args {
  constructor(readonly parsed: ParsedArgs) {}
  static parse(argv: readonly string[], specs: OptionSpecs): Args { return new Args(parseArgs(argv, specs)); }

  has(name: string): boolean { return this.parsed.values.has(name); }
  bool(name: string): boolean { return this.parsed.values.get(name) === true; }
  str(name: string): string | undefined { const v = this.parsed.values.get(name); return typeof v === 'string' ? v : undefined; }
  strOr(name: string, fallback: string): string { return this.str(name) ?? fallback; }
  required(name: string, what = `--${name}`): string {
    const v = this.str(name);
    if (v === undefined || v === '') throw new UsageError(`${what} is required`);
    return v;
  }
  num(name: string): number | undefined { const v = this.str(name); return v === undefined ? undefined : Number(v); }
  numOr(name: string, fallback: number): number { return this.num(name) ?? fallback; }
  list(name: string): string[] { return (this.parsed.values.get(name) as string[] | undefined) ?? []; }
  get positionals(): string[] { return this.parsed.positionals; }
}

/** `k=v,k2=v2` (repeatable) -> record. */
export function parseKeyValues(items: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) for (const pair of item.split(',')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} expects key=value, got ${pair}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
