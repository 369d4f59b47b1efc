// Operator command templates (`--kill-cmd 'ssh {host} sudo kill -{signal} $(pidof ferry)'`): the
// placeholders {id} {host} {port} {rack} {signal} are replaced by values quoted for /bin/sh, so a
// rack or host name can never inject shell syntax. Unknown placeholders are refused up front.
import { UsageError } from '../admin/errors.js';

export const PLACEHOLDERS = ['id', 'host', 'port', 'rack', 'signal'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export type TemplateValues = Partial<Record<Placeholder, string | number | null>>;

const PLACEHOLDER_RE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** Values made only of these characters are left bare (readable logs); anything else is quoted. */
const SAFE_RE = /^[A-Za-z0-9._:@%+=,\/-]+$/;

export class TemplateError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** `value` as one /bin/sh word: bare when safe, else in single quotes (`'` becomes `'\''`). */
export function shellQuote(value: string): string {
  if (value !== '' && SAFE_RE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The placeholders a template uses; throws TemplateError on one not in `allowed`. */
export function checkTemplate(template: string, flag: string, allowed: readonly string[] = PLACEHOLDERS): Placeholder[] {
  if (template.trim() === '') throw new TemplateError(`${flag} is empty`);
  const used = new Set<Placeholder>();
  for (const m of template.matchAll(PLACEHOLDER_RE)) {
    if (!allowed.includes(m[1]!)) throw new TemplateError(`${flag}: unknown placeholder {${m[1]}} (known: ${allowed.map((p) => `{${p}}`).join(' ')})`);
    used.add(m[1] as Placeholder);
  }
  return [...used];
}

/** The template with each placeholder replaced by its shell-quoted value (null or missing: ''). */
export function expandTemplate(template: string, values: TemplateValues, flag = 'command'): string {
  checkTemplate(template, flag);
  return template.replace(PLACEHOLDER_RE, (_m, name: Placeholder) => {
    const v = values[name];
    return shellQuote(v === null || v === undefined ? '' : String(v));
  });
}
