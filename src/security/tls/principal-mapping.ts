/**
 * ssl.principal.mapping.rules, as Kafka's SslPrincipalMapper reads and applies them: a comma-separated
 * list of `RULE:pattern/replacement/[LU]` and `DEFAULT`; the first rule whose pattern matches the whole
 * distinguished name gives the principal name (DEFAULT: the name itself); no matching rule fails the
 * client's authentication.
 *
 * Patterns are Java regular expressions, run here as JavaScript ones: the common syntax means the same
 * in both, a leading inline flag group such as `(?i)` becomes a flag, and Java-only constructs
 * (possessive quantifiers, atomic groups, \p{..}, \Q..\E, \A, \Z ...) are refused when the rules are
 * parsed rather than silently meaning something else. Replacements follow Java's Matcher rules ($n
 * takes the longest group number that exists, \ quotes the next character), after Kafka's own step
 * that turns a reference to a group the pattern does not have into literal text.
 */

/** Kafka's default for ssl.principal.mapping.rules. */
export const DEFAULT_PRINCIPAL_MAPPING_RULES = 'DEFAULT';

export class PrincipalMappingRuleError extends Error {
  readonly code = 'INVALID_PRINCIPAL_MAPPING_RULE';
  constructor(readonly rule: string, detail: string) {
    super(`ssl.principal.mapping.rules: invalid rule \`${rule}\`: ${detail}`);
    this.name = 'PrincipalMappingRuleError';
  }
}

/** No rule applies to a distinguished name (Kafka's NoMatchingRule): the client cannot be authenticated. */
export class NoMatchingPrincipalRuleError extends Error {
  readonly code = 'NO_MATCHING_PRINCIPAL_RULE';
  constructor(readonly distinguishedName: string, rules: string) {
    super(`No rules apply to ${distinguishedName}, rules ${rules}`);
    this.name = 'NoMatchingPrincipalRuleError';
  }
}

// Kafka's RULE_PATTERN and RULE_SPLITTER, verbatim (JavaScript and Java agree on this syntax).
const RULE_PATTERN = String.raw`(DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?).*?|(.*?)`;
const RULE_SPLITTER = new RegExp(String.raw`\s*(` + RULE_PATTERN + String.raw`)\s*(,\s*|$)`, 'g');

type Case = 'lower' | 'upper' | null;

interface Rule {
  /** null: DEFAULT. */
  readonly pattern: JavaPattern | null;
  readonly replacement: string;
  readonly toCase: Case;
  /** The rule as Kafka's Rule.toString() writes it. */
  readonly text: string;
}

interface JavaPattern {
  /** Anchored at both ends: Matcher.matches(). */
  readonly whole: RegExp;
  /** Global: String.replaceAll(pattern, ...). */
  readonly all: RegExp;
  readonly groupCount: number;
}

export class SslPrincipalMapper {
  private constructor(private readonly rules: readonly Rule[]) {}

  /** Parses the rules; null means Kafka's default ("DEFAULT"). Throws PrincipalMappingRuleError. */
  static fromRules(rules: string | null): SslPrincipalMapper {
    return new SslPrincipalMapper(splitRules(rules ?? DEFAULT_PRINCIPAL_MAPPING_RULES).flatMap(parseRule));
  }

  /** The principal name for a distinguished name (RFC 2253 form); throws NoMatchingPrincipalRuleError. */
  map(distinguishedName: string): string {
    for (const rule of this.rules) {
      const name = applyRule(rule, distinguishedName);
      if (name !== null) return name;
    }
    throw new NoMatchingPrincipalRuleError(distinguishedName, this.rulesText());
  }

  /** Kafka's toString, which its tests use to show how a rules string was split. */
  toString(): string { return `SslPrincipalMapper(rules = ${this.rulesText()})`; }

  private rulesText(): string { return `[${this.rules.map((r) => r.text).join(', ')}]`; }
}

function splitRules(rules: string): string[] {
  return [...rules.trim().matchAll(RULE_SPLITTER)].map((m) => m[1] ?? '');
}

/** One rule; [] for an empty one (Kafka ignores those). */
function parseRule(rule: string): Rule[] {
  // Matcher.lookingAt(): a match at the start, not necessarily of the whole rule.
  const parser = new RegExp(RULE_PATTERN, 'y');
  const m = parser.exec(rule);
  if (!m) throw new PrincipalMappingRuleError(rule, 'not a rule');
  if (m[0].length !== rule.length) throw new PrincipalMappingRuleError(rule, `unmatched substring: \`${rule.slice(m[0].length)}\``);
  if (m[1] !== undefined) return [{ pattern: null, replacement: '', toCase: null, text: 'DEFAULT' }];
  if (m[2] === undefined) return [];
  const source = m[2];
  const replacement = m[4] ?? '';
  const toCase: Case = m[6] === 'L' ? 'lower' : m[6] === 'U' ? 'upper' : null;
  const pattern = compileJavaPattern(rule, source);
  // Kafka only finds a bad replacement ($ at the end, a lone \) when a name first matches; find it now.
  try {
    expandReplacement(escapeLiteralBackReferences(replacement, pattern.groupCount), new Array(pattern.groupCount + 1).fill(''));
  } catch (err) {
    throw new PrincipalMappingRuleError(rule, `replacement: ${(err as Error).message}`);
  }
  const text = `RULE:${source}/${replacement}${toCase === 'lower' ? '/L' : toCase === 'upper' ? '/U' : ''}`;
  return [{ pattern, replacement, toCase, text }];
}

function applyRule(rule: Rule, dn: string): string | null {
  if (rule.pattern === null) return dn;
  const { whole, all, groupCount } = rule.pattern;
  whole.lastIndex = 0;
  if (!whole.test(dn)) return null;
  const replacement = escapeLiteralBackReferences(rule.replacement, groupCount);
  all.lastIndex = 0;
  const result = dn.replace(all, (...args: unknown[]) => expandReplacement(replacement, args.slice(0, groupCount + 1) as (string | undefined)[]));
  // Locale.ENGLISH: plain case mapping, no locale rules.
  return rule.toCase === 'lower' ? result.toLowerCase() : rule.toCase === 'upper' ? result.toUpperCase() : result;
}

/**
 * Kafka's escapeLiteralBackReferences (taken by Kafka from NiFi): a $n naming a group the pattern does
 * not have (after dropping trailing digits, as Java does) is made literal. Kafka inserts the escapes by
 * positions in the original string, which shifts after the first; here every one is escaped in place.
 */
function escapeLiteralBackReferences(replacement: string, groupCount: number): string {
  if (groupCount === 0) return replacement;
  return replacement.replace(/\$(\d+)/g, (ref: string, digits: string) => {
    if (digits.startsWith('0')) return ref;
    let index = Number.parseInt(digits, 10);
    while (index > groupCount && index >= 10) index = Math.floor(index / 10);
    return index > groupCount ? `\\${ref}` : ref;
  });
}

/** Java's Matcher.appendReplacement for one match: groups[0] is the match, undefined an unmatched group. */
function expandReplacement(replacement: string, groups: readonly (string | undefined)[]): string {
  const groupCount = groups.length - 1;
  let out = '';
  for (let i = 0; i < replacement.length;) {
    const c = replacement[i]!;
    if (c === '\\') {
      if (i + 1 >= replacement.length) throw new Error('character to be escaped is missing');
      out += replacement[i + 1];
      i += 2;
    } else if (c === '$') {
      i++;
      if (i >= replacement.length) throw new Error('Illegal group reference: group index is missing');
      if (replacement[i] === '{') throw new Error('named group references are not supported');
      let ref = digitAt(replacement, i);
      if (ref < 0) throw new Error('Illegal group reference');
      i++;
      // The longest group number that exists.
      for (let d = digitAt(replacement, i); d >= 0 && ref * 10 + d <= groupCount; d = digitAt(replacement, i)) {
        ref = ref * 10 + d;
        i++;
      }
      if (ref > groupCount) throw new Error(`No group ${ref}`);
      out += groups[ref] ?? '';
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function digitAt(text: string, i: number): number {
  const code = text.charCodeAt(i) - 48;
  return code >= 0 && code <= 9 ? code : -1;
}

/** Escapes Java gives a meaning JavaScript does not (or a different one). */
const JAVA_ONLY_ESCAPES = new Set(['a', 'e', 'h', 'H', 'v', 'V', 'R', 'X', 'A', 'G', 'Z', 'z', 'Q', 'E', 'p', 'P', 'N']);

function compileJavaPattern(rule: string, source: string): JavaPattern {
  let flags = '';
  let body = source;
  const inline = /^\(\?([ims]+)\)/.exec(source);
  if (inline) {
    flags = [...new Set(inline[1]!)].join('');
    body = source.slice(inline[0].length);
  }
  const unsupported = javaOnlySyntax(body);
  if (unsupported) throw new PrincipalMappingRuleError(rule, `the pattern uses Java regex syntax Ferry does not support: ${unsupported}`);
  try {
    const whole = new RegExp(`(?:${body})(?![\\s\\S])`, `${flags}y`);
    const all = new RegExp(body, `${flags}g`);
    const groupCount = new RegExp(`(?:${body})|`, flags).exec('')!.length - 1;
    return { whole, all, groupCount };
  } catch (err) {
    throw new PrincipalMappingRuleError(rule, `bad pattern: ${(err as Error).message}`);
  }
}

/** The first Java-only construct in a pattern, or null. */
function javaOnlySyntax(pattern: string): string | null {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (JAVA_ONLY_ESCAPES.has(next)) return `\\${next}`;
      i++;
    } else if (inClass) {
      if (c === '[') return 'nested character class';
      if (c === '&' && pattern[i + 1] === '&') return 'character class intersection (&&)';
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') return "']' first in a character class (literal in Java, an empty class in JavaScript)";
    } else if (c === '(' && pattern.startsWith('(?>', i)) {
      return 'atomic group (?>...)';
    } else if ((c === '*' || c === '+' || c === '?' || c === '}') && pattern[i + 1] === '+') {
      // After ( a ? opens a group construct, not a quantifier.
      if (!(c === '?' && pattern[i - 1] === '(')) return `possessive quantifier ${c}+`;
    }
  }
  return null;
}
