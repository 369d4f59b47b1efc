/**
 * Java .properties, as Kafka's server.properties and its tools' client config files use it. No I/O.
 *
 *   parseProperties(text) -> { key, value, line }[]  (file order; a key may repeat, the last wins
 *   for callers that keep one); a bad \uXXXX escape throws PropertiesSyntaxError naming the line.
 */

export class PropertiesSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
    super(message);
    this.name = 'PropertiesSyntaxError';
  }
}

export interface PropertyEntry { key: string; value: string; line: number }

/**
 * Java .properties as Kafka's server.properties uses it: `key=value`, `key: value` or `key value`;
 * `#` and `!` start comments; a line ending in an odd number of backslashes continues on the next
 * line; escapes \t \n \r \f \\ \uXXXX. Returns entries in file order with their first line number.
 */
export function parseProperties(text: string): PropertyEntry[] {
  const lines = text.split(/\r\n|\r|\n/);
  const out: PropertyEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const startLine = i + 1;
    let logical = lines[i]!.replace(/^[ \t\f]+/, '');
    if (logical === '' || logical.startsWith('#') || logical.startsWith('!')) continue;
    while (endsWithContinuation(logical) && i + 1 < lines.length) {
      logical = logical.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, '');
    }
    if (endsWithContinuation(logical)) logical = logical.slice(0, -1);
    // Key ends at the first unescaped '=', ':' or whitespace.
    let k = 0;
    while (k < logical.length) {
      const c = logical[k]!;
      if (c === '\\') { k += 2; continue; }
      if (c === '=' || c === ':' || c === ' ' || c === '\t' || c === '\f') break;
      k++;
    }
    const rawKey = logical.slice(0, k);
    let v = k;
    while (v < logical.length && /[ \t\f]/.test(logical[v]!)) v++;
    if (v < logical.length && (logical[v] === '=' || logical[v] === ':')) v++;
    while (v < logical.length && /[ \t\f]/.test(logical[v]!)) v++;
    out.push({ key: unescapeProperty(rawKey, startLine), value: unescapeProperty(logical.slice(v), startLine), line: startLine });
  }
  return out;
}

function endsWithContinuation(s: string): boolean {
  let n = 0;
  for (let i = s.length - 1; i >= 0 && s[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

function unescapeProperty(s: string, line: number): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') { out += c; continue; }
    const e = s[++i];
    if (e === undefined) break;
    if (e === 't') out += '\t';
    else if (e === 'n') out += '\n';
    else if (e === 'r') out += '\r';
    else if (e === 'f') out += '\f';
    else if (e === 'u') {
      const hex = s.slice(i + 1, i + 5);
      if (!/^[0-9A-Fa-f]{4}$/.test(hex)) throw new PropertiesSyntaxError(line, `a valid \\uXXXX escape on line ${line}`);
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else out += e;
  }
  return out;
}
