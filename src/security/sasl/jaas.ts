/**
 * `sasl.jaas.config` values, as Kafka's JaasConfig reads them:
 *
 *   <loginModuleClass> <controlFlag> (<option>=<value>)* ;
 *
 * with values bare or in "..." / '...' quotes (backslash escapes), and // and /* *\/ comments.
 * A broker's PlainLoginModule lists its users as user_<name>="<password>"; username/password are
 * a broker's (or client's) own credentials; OAuthBearerLoginModule carries the unsecured token
 * options. Error messages give positions and option names, never a value: they hold passwords.
 */

export class JaasConfigError extends Error {
  readonly code = 'JAAS_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'JaasConfigError';
  }
}

export const LOGIN_MODULES = Object.freeze({
  PLAIN: 'org.apache.kafka.common.security.plain.PlainLoginModule',
  SCRAM: 'org.apache.kafka.common.security.scram.ScramLoginModule',
  OAUTHBEARER: 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule',
});

export type JaasControlFlag = 'required' | 'requisite' | 'sufficient' | 'optional';

export interface JaasEntry {
  loginModule: string;
  controlFlag: JaasControlFlag;
  options: ReadonlyMap<string, string>;
}

type Token = { kind: 'word' | 'quoted'; text: string; at: number } | { kind: '=' | ';'; at: number };

const WORD = /[A-Za-z0-9._\-$\u0080-\uffff]/;

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c <= ' ') { i++; continue; }
    if (c === '/' && text[i + 1] === '/') { while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++; continue; }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new JaasConfigError(`unterminated comment at position ${i}`);
      i = end + 2;
      continue;
    }
    if (c === '=' || c === ';') { out.push({ kind: c, at: i }); i++; continue; }
    if (c === '"' || c === "'") {
      const at = i;
      let s = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new JaasConfigError(`unterminated quoted value starting at position ${at}`);
        const d = text[i]!;
        if (d === c) { i++; break; }
        if (d === '\\' && i + 1 < text.length) {
          const e = text[i + 1]!;
          s += ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' } as Record<string, string>)[e] ?? e;
          i += 2;
          continue;
        }
        s += d;
        i++;
      }
      out.push({ kind: 'quoted', text: s, at });
      continue;
    }
    if (WORD.test(c)) {
      const at = i;
      while (i < text.length && WORD.test(text[i]!)) i++;
      out.push({ kind: 'word', text: text.slice(at, i), at });
      continue;
    }
    throw new JaasConfigError(`unexpected character at position ${i}`);
  }
  return out;
}

/** Every login module entry of a JAAS text. */
export function parseJaasConfig(text: string): JaasEntry[] {
  const tokens = tokenize(text);
  const entries: JaasEntry[] = [];
  let i = 0;
  const isValue = (t: Token | undefined): t is Extract<Token, { text: string }> => t !== undefined && (t.kind === 'word' || t.kind === 'quoted');
  while (i < tokens.length) {
    const module = tokens[i];
    if (!isValue(module)) throw new JaasConfigError(`login module class expected at position ${module!.at}`);
    const flagToken = tokens[i + 1];
    if (!isValue(flagToken)) throw new JaasConfigError(`login module control flag not specified for ${module.text}`);
    const flag = flagToken.text.toLowerCase();
    if (flag !== 'required' && flag !== 'requisite' && flag !== 'sufficient' && flag !== 'optional') {
      throw new JaasConfigError(`invalid login module control flag for ${module.text} (required, requisite, sufficient or optional)`);
    }
    const options = new Map<string, string>();
    i += 2;
    for (;;) {
      const t = tokens[i];
      if (t === undefined) throw new JaasConfigError(`JAAS config entry for ${module.text} not terminated by a semicolon`);
      if (t.kind === ';') { i++; break; }
      if (t.kind !== 'word') throw new JaasConfigError(`option name expected at position ${t.at}`);
      const v = tokens[i + 2];
      if (tokens[i + 1]?.kind !== '=' || !isValue(v)) throw new JaasConfigError(`value not specified for option ${t.text}`);
      // A repeated option: the last one wins, as in Kafka's JaasConfig (a HashMap).
      options.set(t.text, v.text);
      i += 3;
    }
    entries.push({ loginModule: module.text, controlFlag: flag, options });
  }
  if (entries.length === 0) throw new JaasConfigError('login module not specified in JAAS config');
  return entries;
}

/** A `sasl.jaas.config` value: exactly one login module, as Kafka requires of the property. */
export function parseSaslJaasConfig(text: string): JaasEntry {
  const entries = parseJaasConfig(text);
  if (entries.length !== 1) throw new JaasConfigError(`JAAS config property contains ${entries.length} login modules, should be 1 module`);
  return entries[0]!;
}

/** PlainLoginModule's user_<name>="<password>" options: the users a broker's PLAIN accepts. */
export function plainUsersOf(entry: JaasEntry): Map<string, string> {
  const users = new Map<string, string>();
  for (const [k, v] of entry.options) if (k.startsWith('user_') && k.length > 'user_'.length) users.set(k.slice('user_'.length), v);
  return users;
}

/** The username/password options (this side's own credentials), or null when either is missing. */
export function credentialsOf(entry: JaasEntry): { username: string; password: string } | null {
  const username = entry.options.get('username');
  const password = entry.options.get('password');
  return username !== undefined && password !== undefined ? { username, password } : null;
}
