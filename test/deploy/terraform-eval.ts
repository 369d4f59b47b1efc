/**
 * Enough of Terraform's expression language to evaluate the modules' command-line strings
 * offline: template strings with `${...}` interpolations of `var.x`, `local.x` (evaluated from
 * the module's own locals, recursively), any other reference given in `refs`, double-quoted
 * string literals, numbers, and one conditional `A <op> B ? X : Y` with a numeric comparison.
 * Anything else throws, so a module expression this cannot evaluate fails the test loudly.
 */
import type { TerraformModule } from './terraform-model.js';

export interface EvalScope {
  module: TerraformModule;
  vars: Record<string, string | number>;
  /** Other references by full name (`local.region`, `azurerm_resource_group.this.id`); they win over the module's locals. */
  refs?: Record<string, string | number>;
}

/** The `${...}` segments of a decoded hcl2json template string: [literal, expr, literal, ...]. */
function splitTemplate(text: string): string[] {
  const parts: string[] = [];
  let lit = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '$' && text[i + 2] === '{') { lit += '${'; i += 2; continue; }
    if (text[i] === '%' && text[i + 1] === '{') throw new Error(`template directive %{ not supported: ${text}`);
    if (text[i] === '$' && text[i + 1] === '{') {
      let depth = 1;
      let inString = false;
      let j = i + 2;
      for (; j < text.length && depth > 0; j++) {
        const c = text[j]!;
        if (inString) { if (c === '\\') j++; else if (c === '"') inString = false; }
        else if (c === '"') inString = true;
        else if (c === '{') depth++;
        else if (c === '}') depth--;
      }
      if (depth !== 0) throw new Error(`unterminated \${ in ${text}`);
      parts.push(lit, text.slice(i + 2, j - 1).trim());
      lit = '';
      i = j - 1;
      continue;
    }
    lit += text[i];
  }
  parts.push(lit);
  return parts;
}

function unquote(literal: string): string {
  return JSON.parse(literal) as string; // HCL string escapes used here (\" \\) are JSON's
}

export function evalExpression(expr: string, scope: EvalScope): string | number {
  const e = expr.trim();
  if (/^"([^"\\]|\\.)*"$/.test(e)) return evalTemplate(unquote(e), scope);
  const cond = /^(.+?)\s*(>=|<=|==|!=|>|<)\s*(.+?)\s*\?\s*(.+?)\s*:\s*(.+)$/s.exec(e);
  if (cond) {
    const [, l, op, r, yes, no] = cond;
    const a = Number(evalExpression(l!, scope));
    const b = Number(evalExpression(r!, scope));
    if (Number.isNaN(a) || Number.isNaN(b)) throw new Error(`non-numeric comparison in ${e}`);
    const holds = { '>=': a >= b, '<=': a <= b, '==': a === b, '!=': a !== b, '>': a > b, '<': a < b }[op as '>='];
    return evalExpression(holds ? yes! : no!, scope);
  }
  if (/^-?\d+(\.\d+)?$/.test(e)) return Number(e);
  if (scope.refs && e in scope.refs) return scope.refs[e]!;
  const v = /^var\.([A-Za-z_][\w-]*)$/.exec(e);
  if (v) {
    if (!(v[1]! in scope.vars)) throw new Error(`no sample value for var.${v[1]}`);
    return scope.vars[v[1]!]!;
  }
  const l = /^local\.([A-Za-z_][\w-]*)$/.exec(e);
  if (l) {
    const value = scope.module.locals.get(l[1]!);
    if (typeof value !== 'string') throw new Error(`local.${l[1]} is not a string expression (give it in refs)`);
    return evalTemplate(value, scope);
  }
  throw new Error(`cannot evaluate ${e} (give it in refs)`);
}

/** A decoded template string (as hcl2json returns attribute values) with its interpolations done. */
export function evalTemplate(text: string, scope: EvalScope): string | number {
  const parts = splitTemplate(text);
  // "${expr}" alone keeps the expression's type (Terraform does the same).
  if (parts.length === 3 && parts[0] === '' && parts[2] === '') return evalExpression(parts[1]!, scope);
  return parts.map((p, i) => (i % 2 === 0 ? p : String(evalExpression(p, scope)))).join('');
}

/** The value of a module output, evaluated. */
export function evalOutput(name: string, scope: EvalScope): string {
  const out = scope.module.outputs.get(name);
  if (!out) throw new Error(`no output ${name} in ${scope.module.dir}`);
  return String(evalTemplate(out.value as string, scope));
}
