/**
 * A Terraform module as data, for offline checks without Terraform: every `.tf` of a directory
 * parsed by @cdktf/hcl2json (HashiCorp's HCL parser compiled to WASM; syntax errors come back
 * with file and position), merged, plus every reference (`var.x`, `local.y`, `aws_z.n`,
 * `data.t.n`, `module.m.o`) found by the same parser in each expression.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireNodeModule } from '../helpers/require-tool.js';

interface Hcl2Json {
  parse(filename: string, contents: string): Promise<Record<string, any>>;
  getReferencesInExpression(filename: string, expression: string): Promise<Array<{ value: string }>>;
}
const hcl = (): Hcl2Json => requireNodeModule<Hcl2Json>('@cdktf/hcl2json');

export const repoRoot = new URL('../..', import.meta.url).pathname;

/** Blocks are lists in hcl2json output: { resource: { type: { name: [ {...} ] } } }. */
export type Block = Record<string, any>;

export interface Reference { file: string; where: string; ref: string }

export interface TerraformModule {
  dir: string;
  files: string[];
  variables: Map<string, Block>;
  locals: Map<string, unknown>;
  /** "type.name" -> block */
  resources: Map<string, Block>;
  /** "type.name" -> block */
  data: Map<string, Block>;
  modules: Map<string, Block>;
  outputs: Map<string, Block>;
  terraform: Block[];
  references: Reference[];
  /** Every string in the module that holds an expression ("${...}"), with where it was. */
  expressions: Array<{ file: string; where: string; text: string }>;
}

export function tfFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir)).filter((f) => f.endsWith('.tf')).sort();
}

/** Every directory under terraform/ holding .tf files. */
export function tfDirs(): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const entries = readdirSync(join(repoRoot, rel), { withFileTypes: true });
    if (entries.some((e) => e.isFile() && e.name.endsWith('.tf'))) out.push(rel);
    for (const e of entries) if (e.isDirectory()) walk(join(rel, e.name));
  };
  walk('terraform');
  return out.sort();
}

export async function parseTf(path: string): Promise<Record<string, any>> {
  return hcl().parse(path, readFileSync(join(repoRoot, path), 'utf8'));
}

function addAll(into: Map<string, Block>, group: Record<string, Block[]> | undefined, prefix = ''): void {
  for (const [name, blocks] of Object.entries(group ?? {})) {
    if (into.has(prefix + name)) throw new Error(`duplicate declaration ${prefix}${name}`);
    into.set(prefix + name, blocks[0]!);
  }
}

function collectExpressions(node: unknown, where: string, out: Array<{ where: string; text: string }>): void {
  if (typeof node === 'string') {
    if (node.includes('${')) out.push({ where, text: node });
  } else if (Array.isArray(node)) {
    node.forEach((n, i) => collectExpressions(n, `${where}[${i}]`, out));
  } else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) collectExpressions(v, `${where}.${k}`, out);
  }
}

export async function loadModule(dir: string): Promise<TerraformModule> {
  const m: TerraformModule = {
    dir, files: tfFiles(dir), variables: new Map(), locals: new Map(), resources: new Map(), data: new Map(),
    modules: new Map(), outputs: new Map(), terraform: [], references: [], expressions: [],
  };
  for (const file of m.files) {
    const path = join(dir, file);
    const doc = await parseTf(path);
    addAll(m.variables, doc.variable);
    addAll(m.outputs, doc.output);
    addAll(m.modules, doc.module);
    for (const [type, byName] of Object.entries((doc.resource ?? {}) as Record<string, Record<string, Block[]>>)) addAll(m.resources, byName, `${type}.`);
    for (const [type, byName] of Object.entries((doc.data ?? {}) as Record<string, Record<string, Block[]>>)) addAll(m.data, byName, `${type}.`);
    for (const block of (doc.locals ?? []) as Block[]) {
      for (const [k, v] of Object.entries(block)) {
        if (m.locals.has(k)) throw new Error(`duplicate local ${k} in ${path}`);
        m.locals.set(k, v);
      }
    }
    m.terraform.push(...((doc.terraform ?? []) as Block[]));
    const exprs: Array<{ where: string; text: string }> = [];
    collectExpressions(doc, file, exprs);
    for (const e of exprs) {
      // Not expressions: a variable's type constraint, lifecycle ignore_changes attribute names.
      if (/\.variable\.[^.]+\[0\]\.type$/.test(e.where) || /\.ignore_changes\[\d+\]$/.test(e.where)) continue;
      m.expressions.push({ file, ...e });
      // The parser's references miss those inside for-expression bodies: scan the text as well.
      const refs = new Set((await hcl().getReferencesInExpression(path, encodeTemplateLiteral(e.text))).map((r) => r.value));
      for (const r of scanReferences(e.text)) refs.add(r);
      for (const ref of refs) m.references.push({ file, where: e.where, ref });
    }
  }
  return m;
}

/**
 * hcl2json hands template strings back decoded (HCL `"a \"b\" ${x}"` as `a "b" ${x}`), but the
 * expression parser wants HCL source again: escape `"` and `\` outside `${...}` (inside, quotes
 * are the expression's own syntax).
 */
export function encodeTemplateLiteral(text: string): string {
  let out = '';
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (depth === 0) {
      if (c === '$' && text[i + 1] === '{') { out += '${'; depth = 1; i++; }
      else if (c === '"' || c === '\\') out += `\\${c}`;
      else out += c;
      continue;
    }
    out += c;
    if (inString) {
      if (c === '\\') { out += text[i + 1] ?? ''; i++; }
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
  }
  return out;
}

const REF_RE = /(?<![\w.])(?:(?:var|local|module)\.[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)?|data\.[a-z0-9_]+\.[A-Za-z_][\w-]*|(?:(?:aws|azurerm|random)_[a-z0-9_]+|terraform_data)\.[A-Za-z_][\w-]*)/g;

/** References by pattern: var.x, local.x, module.m.o, data.t.n, <provider>_<type>.n. */
export function scanReferences(text: string): string[] {
  return [...text.matchAll(REF_RE)].map((m) => m[0]);
}

/** Names a reference must resolve to; returns a description of what is missing, or null. */
export function unresolved(m: TerraformModule, ref: string, moduleOutputs?: Map<string, Set<string>>): string | null {
  const parts = ref.split('.');
  const [head, a, b] = parts;
  switch (head) {
    case 'var': return m.variables.has(a!) ? null : `variable ${a} is not declared`;
    case 'local': return m.locals.has(a!) ? null : `local ${a} is not declared`;
    case 'data': return m.data.has(`${a}.${b}`) ? null : `data source ${a}.${b} is not declared`;
    case 'module': {
      if (!m.modules.has(a!)) return `module ${a} is not declared`;
      const outs = moduleOutputs?.get(a!);
      if (outs && b !== undefined && !outs.has(b)) return `module ${a} has no output ${b}`;
      return null;
    }
    // Built-in and block-scoped names.
    case 'path': case 'count': case 'each': case 'self': case 'terraform':
      return null;
    default:
      if (m.resources.has(`${head}.${a}`)) return null;
      return `${ref}: no resource ${head}.${a} (and not a known built-in)`;
  }
}

/** Names of dynamic-block iterators in the module (e.g. `statement` in dynamic "statement"). */
export function dynamicIterators(m: TerraformModule): Set<string> {
  const out = new Set<string>();
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n !== null && typeof n === 'object') {
      for (const [k, v] of Object.entries(n)) {
        if (k === 'dynamic' && v && typeof v === 'object') for (const name of Object.keys(v)) out.add(name);
        walk(v);
      }
    }
  };
  for (const map of [m.resources, m.data]) for (const b of map.values()) walk(b);
  return out;
}

/** `templatefile("${path.module}/X", { k = ... })` calls in an expression: path and top-level keys. */
export function templatefileCalls(text: string): Array<{ path: string; keys: string[] }> {
  const out: Array<{ path: string; keys: string[] }> = [];
  const re = /templatefile\(\s*"\$\{path\.module\}\/([^"]+)"\s*,\s*\{/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    // Walk the object literal, collecting keys at depth 1.
    let depth = 1;
    let i = re.lastIndex;
    const keys: string[] = [];
    let lineStart = true;
    let inString = false;
    for (; i < text.length && depth > 0; i++) {
      const c = text[i]!;
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') { inString = true; lineStart = false; continue; }
      if (c === '{' || c === '(' || c === '[') depth++;
      else if (c === '}' || c === ')' || c === ']') depth--;
      if (c === '\n' || c === ',') { lineStart = true; continue; }
      if (lineStart && depth === 1 && /[A-Za-z_]/.test(c)) {
        const km = /^([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(text.slice(i));
        if (km) keys.push(km[1]!);
      }
      if (!/\s/.test(c)) lineStart = false;
    }
    out.push({ path: m[1]!, keys });
  }
  return out;
}

/** `${name}` placeholders of a template; throws on anything but plain names (no directives). */
export function templatePlaceholders(text: string, file: string): Set<string> {
  const names = new Set<string>();
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '$' && text[i + 2] === '{') { i += 2; continue; } // $${ escape
    if (text[i] === '%' && text[i + 1] === '{') throw new Error(`${file}: template directive %{ at offset ${i}; keep templates to plain \${name} placeholders`);
    if (text[i] === '$' && text[i + 1] === '{') {
      const end = text.indexOf('}', i);
      const name = text.slice(i + 2, end);
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`${file}: placeholder \${${name}} is not a plain name`);
      names.add(name);
      i = end;
    }
  }
  return names;
}

/** Renders a template the way templatefile does for plain placeholders. */
export function renderTemplate(text: string, values: Record<string, string | number>): string {
  return text.replace(/\$\$\{|\$\{([a-z_][a-z0-9_]*)\}/g, (all, name: string | undefined) => {
    if (name === undefined) return '${';
    if (!(name in values)) throw new Error(`no value for \${${name}}`);
    return String(values[name]);
  });
}
