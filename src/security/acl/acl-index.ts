/**
 * The authorizer's in-memory index of ACLs, built for the hot path (Produce and Fetch ask once
 * per partition): per resource type a map of literal names (the wildcard "*" is one of them) and
 * a character trie of prefixed names, so finding every pattern that applies to a name is one map
 * lookup, one more for "*", and a walk down the name; nothing is allocated. Each entry carries
 * the operations it allows (with the implied ones) and denies as bit masks.
 *
 * Implied operations, as Kafka's AclAuthorizer and StandardAuthorizer: ALL is every operation;
 * an ALLOW of READ, WRITE, DELETE or ALTER also allows DESCRIBE; an ALLOW of ALTER_CONFIGS also
 * allows DESCRIBE_CONFIGS. A DENY denies only its own operation (DENY ALL denies everything).
 *
 * API: new AclIndex(); set(pattern, entries); check(type, name, principal, host, opBit) -> Verdict bits;
 *      opBit(op); FOUND / ALLOWED / DENIED; allowMask(op) / denyMask(op); size
 */
import type { KafkaPrincipal } from '../../server/session.js';
import { AclOperation, type AclOperationName } from '../types.js';
import { WILDCARD, type AclEntry, type ResourcePattern } from './acl-model.js';

/** Some ACL applies to the resource (whoever it is for). */
export const FOUND = 1;
/** An ALLOW entry matches the principal, host and operation. */
export const ALLOWED = 2;
/** A DENY entry matches: the answer is no, whatever else matches. */
export const DENIED = 4;

const ALL_OPS = -1;

export function opBit(op: AclOperationName): number { return 1 << AclOperation[op]; }

const IMPLIES_DESCRIBE = opBit('READ') | opBit('WRITE') | opBit('DELETE') | opBit('ALTER');

/** The operations an ALLOW entry for `op` allows. */
export function allowMask(op: AclOperationName): number {
  if (op === 'ALL') return ALL_OPS;
  let m = opBit(op);
  if (m & IMPLIES_DESCRIBE) m |= opBit('DESCRIBE');
  if (op === 'ALTER_CONFIGS') m |= opBit('DESCRIBE_CONFIGS');
  return m;
}

/** The operations a DENY entry for `op` denies. */
export function denyMask(op: AclOperationName): number {
  return op === 'ALL' ? ALL_OPS : opBit(op);
}

interface CompiledEntry {
  /** Matches every principal (User:*). */
  anyPrincipal: boolean;
  principalType: string;
  principalName: string;
  anyHost: boolean;
  host: string;
  allow: number;
  deny: number;
}

interface TrieNode {
  children: Map<number, TrieNode> | null;
  entries: CompiledEntry[] | null;
}

interface TypeIndex {
  literal: Map<string, CompiledEntry[]>;
  prefixed: TrieNode;
}

function compile(e: AclEntry): CompiledEntry {
  const at = e.principal.indexOf(':');
  const principalType = at < 0 ? e.principal : e.principal.slice(0, at);
  const principalName = at < 0 ? '' : e.principal.slice(at + 1);
  const allow = e.permission === 'ALLOW';
  return {
    anyPrincipal: principalType === 'User' && principalName === WILDCARD,
    principalType, principalName,
    anyHost: e.host === WILDCARD, host: e.host,
    allow: allow ? allowMask(e.operation) : 0,
    deny: allow ? 0 : denyMask(e.operation),
  };
}

/** FOUND, ALLOWED and DENIED bits of one list (DENIED stops the scan). */
function scan(list: CompiledEntry[] | null | undefined, p: KafkaPrincipal, host: string, bit: number): number {
  if (!list) return 0;
  let r = FOUND;
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    if (!e.anyPrincipal && (e.principalName !== p.name || e.principalType !== p.type)) continue;
    if (!e.anyHost && e.host !== host) continue;
    if (e.deny & bit) return r | DENIED;
    if (e.allow & bit) r |= ALLOWED;
  }
  return r;
}

export class AclIndex {
  private readonly types = new Map<string, TypeIndex>();
  private entryCount = 0;

  /** Entries held. */
  get size(): number { return this.entryCount; }

  /** Replaces the entries of one resource pattern (empty removes it). */
  set(pattern: ResourcePattern, entries: readonly AclEntry[]): void {
    let t = this.types.get(pattern.resourceType);
    if (!t) this.types.set(pattern.resourceType, (t = { literal: new Map(), prefixed: { children: null, entries: null } }));
    const compiled = entries.length > 0 ? entries.map(compile) : null;
    if (pattern.patternType === 'LITERAL') {
      this.entryCount -= t.literal.get(pattern.resourceName)?.length ?? 0;
      if (compiled) t.literal.set(pattern.resourceName, compiled);
      else t.literal.delete(pattern.resourceName);
    } else {
      this.setPrefixed(t.prefixed, pattern.resourceName, compiled);
    }
    this.entryCount += compiled?.length ?? 0;
  }

  private setPrefixed(root: TrieNode, name: string, compiled: CompiledEntry[] | null): void {
    const path: TrieNode[] = [root];
    let node = root;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      let next = node.children?.get(c);
      if (!next) {
        if (!compiled) return; // nothing stored under this name
        next = { children: null, entries: null };
        (node.children ??= new Map()).set(c, next);
      }
      node = next;
      path.push(node);
    }
    this.entryCount -= node.entries?.length ?? 0;
    node.entries = compiled;
    if (compiled) return;
    // Prune the branch that now holds nothing.
    for (let i = path.length - 1; i > 0; i--) {
      const n = path[i]!;
      if (n.entries || (n.children && n.children.size > 0)) break;
      const parent = path[i - 1]!;
      parent.children!.delete(name.charCodeAt(i - 1));
      if (parent.children!.size === 0) parent.children = null;
    }
  }

  /**
   * KIP-679 (Kafka's Authorizer.authorizeByResourceType): does an ALLOW for `bit` on some literal
   * name or prefix of `type` match the principal and host, with no DENY covering it (a DENY on the
   * same literal name, on a prefix of it, or on the wildcard)?
   */
  anyAllowed(type: string, p: KafkaPrincipal, host: string, bit: number): boolean {
    const t = this.types.get(type);
    if (!t) return false;
    const allowedLiterals: string[] = [];
    const deniedLiterals = new Set<string>();
    const allowedPrefixes: string[] = [];
    const deniedPrefixes: string[] = [];
    const sort = (list: CompiledEntry[], name: string, literal: boolean) => {
      const r = scan(list, p, host, bit);
      if (r & DENIED) (literal ? deniedLiterals.add(name) : deniedPrefixes.push(name));
      else if (r & ALLOWED) (literal ? allowedLiterals : allowedPrefixes).push(name);
    };
    for (const [name, list] of t.literal) sort(list, name, true);
    const walk = (node: TrieNode, name: string) => {
      if (node.entries) sort(node.entries, name, false);
      for (const [c, child] of node.children ?? []) walk(child, name + String.fromCharCode(c));
    };
    walk(t.prefixed, '');
    if (deniedLiterals.has(WILDCARD)) return false;
    const coveredByDeniedPrefix = (name: string) => deniedPrefixes.some((d) => name.startsWith(d));
    if (allowedLiterals.some((n) => !deniedLiterals.has(n) && !coveredByDeniedPrefix(n))) return true;
    return allowedPrefixes.some((n) => !coveredByDeniedPrefix(n));
  }

  /**
   * FOUND | ALLOWED | DENIED bits for `opBit` on the named resource: the literal name, the
   * wildcard "*" and every prefixed pattern the name starts with.
   */
  check(type: string, name: string, p: KafkaPrincipal, host: string, bit: number): number {
    const t = this.types.get(type);
    if (!t) return 0;
    let r = scan(t.literal.get(name), p, host, bit);
    if (r & DENIED) return r;
    if (name !== WILDCARD) {
      r |= scan(t.literal.get(WILDCARD), p, host, bit);
      if (r & DENIED) return r;
    }
    let node: TrieNode | undefined = t.prefixed;
    for (let i = 0; i < name.length; i++) {
      node = node.children?.get(name.charCodeAt(i));
      if (!node) break;
      if (node.entries) {
        r |= scan(node.entries, p, host, bit);
        if (r & DENIED) return r;
      }
    }
    return r;
  }
}
