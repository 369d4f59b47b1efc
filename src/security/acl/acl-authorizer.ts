/**
 * The ACL authorizer (authorizer.class.name = kafka.security.authorizer.AclAuthorizer or
 * org.apache.kafka.metadata.authorizer.StandardAuthorizer), deciding as they do:
 *   - a super user (super.users, "User:a;User:b") may do anything;
 *   - otherwise the ACLs that apply to the resource are those on its literal name, on the
 *     wildcard "*" and on every prefix of its name (PREFIXED), for the principal or User:*, from
 *     the client's address or "*";
 *   - any matching DENY denies; else a matching ALLOW (with implied operations) allows;
 *   - when no ACL at all is on the resource (for anyone), allow.everyone.if.no.acl.found decides.
 * Until the ACLs are loaded (AclStore's first read) only super users are allowed, as
 * StandardAuthorizer answers AuthorizerNotReadyException before its first load.
 *
 * Denials are logged at info (Kafka's kafka.authorizer.logger), at most once a minute for one
 * principal, operation and resource; onDenied sees every denial (a metric).
 *
 * API: new AclAuthorizer(options); authorize(session, op, type, name); setResourceAcls / loaded (AclSink);
 *      parseSuperUsers(value); aclCount
 */
import type { Logger } from 'pino';
import type { KafkaPrincipal, Session } from '../../server/session.js';
import type { AclOperationName, AuthorizedResource, Authorizer } from '../types.js';
import { ALLOWED, AclIndex, DENIED, FOUND, opBit } from './acl-index.js';
import type { AclEntry, ResourcePattern } from './acl-model.js';
import type { AclSink } from './acl-store.js';

export interface AclAuthorizerOptions {
  /** super.users: principals ("User:admin") allowed everything, as a list or Kafka's "User:a;User:b". */
  superUsers?: readonly string[] | string;
  /** allow.everyone.if.no.acl.found (default false). */
  allowEveryoneIfNoAclFound?: boolean;
  log: Logger;
  /** Called on every denial (for a metric); must be cheap. */
  onDenied?(principal: KafkaPrincipal, op: AclOperationName, type: AuthorizedResource, name: string): void;
  /** Clock for the denial log's rate limit (default Date.now). */
  now?(): number;
}

/** How often one (principal, operation, resource) denial is logged at most. */
export const DENIAL_LOG_INTERVAL_MS = 60_000;
/** Distinct denials remembered for the rate limit before the oldest are forgotten. */
const DENIAL_LOG_KEYS_MAX = 10_000;

/**
 * Kafka's super.users: semicolon-separated principals, blanks ignored. Throws on an entry that is
 * not "type:name", with SecurityUtils.parseKafkaPrincipal's message.
 */
export function parseSuperUsers(value: string | readonly string[]): string[] {
  const items = typeof value === 'string' ? value.split(';') : value;
  const out: string[] = [];
  for (const raw of items) {
    const v = raw.trim();
    if (v === '') continue;
    if (!v.includes(':')) throw new RangeError(`super.users: expected a string in format principalType:principalName but got ${v}`);
    out.push(v);
  }
  return out;
}

export class AclAuthorizer implements Authorizer, AclSink {
  readonly enabled = true;
  private readonly index = new AclIndex();
  /** principal type -> names. */
  private readonly superUsers = new Map<string, Set<string>>();
  private readonly allowIfNoAcl: boolean;
  private readonly now: () => number;
  private readonly deniedLoggedAt = new Map<string, number>();
  private ready = false;

  constructor(private readonly o: AclAuthorizerOptions) {
    for (const p of parseSuperUsers(o.superUsers ?? [])) {
      const at = p.indexOf(':');
      const type = p.slice(0, at);
      let names = this.superUsers.get(type);
      if (!names) this.superUsers.set(type, (names = new Set()));
      names.add(p.slice(at + 1));
    }
    this.allowIfNoAcl = o.allowEveryoneIfNoAclFound ?? false;
    this.now = o.now ?? Date.now;
  }

  /** ACL entries the authorizer holds. */
  get aclCount(): number { return this.index.size; }

  // ---- AclSink ------------------------------------------------------------------------------

  setResourceAcls(pattern: ResourcePattern, entries: readonly AclEntry[]): void {
    this.index.set(pattern, entries);
  }

  loaded(): void {
    if (!this.ready) this.o.log.info({ acls: this.index.size }, 'authorizer ready');
    this.ready = true;
  }

  // ---- decisions ----------------------------------------------------------------------------

  isSuperUser(p: KafkaPrincipal): boolean {
    return this.superUsers.get(p.type)?.has(p.name) ?? false;
  }

  authorize(session: Session, op: AclOperationName, type: AuthorizedResource, name: string): boolean {
    const p = session.principal;
    if (this.isSuperUser(p)) return true;
    if (!this.ready) {
      this.denied(session, op, type, name, 'the ACLs are not loaded yet');
      return false;
    }
    const r = this.index.check(type, name, p, session.clientAddress, opBit(op));
    if (r & DENIED) {
      this.denied(session, op, type, name, 'a DENY ACL matches');
      return false;
    }
    if (r & ALLOWED) return true;
    if (!(r & FOUND) && this.allowIfNoAcl) return true;
    this.denied(session, op, type, name, r & FOUND ? 'no ALLOW ACL matches' : 'no ACL is on the resource');
    return false;
  }

  /** KIP-679: may the principal do `op` on at least one resource of `type` (InitProducerId's idempotent check)? */
  authorizeByResourceType(session: Session, op: AclOperationName, type: AuthorizedResource): boolean {
    const p = session.principal;
    if (this.isSuperUser(p)) return true;
    if (!this.ready) return false;
    // As Kafka's default: a name no ACL names passes super users and allow.everyone.if.no.acl.found.
    const r = this.index.check(type, 'hardcode', p, session.clientAddress, opBit(op));
    if (!(r & DENIED) && ((r & ALLOWED) || (!(r & FOUND) && this.allowIfNoAcl))) return true;
    return this.index.anyAllowed(type, p, session.clientAddress, opBit(op));
  }

  private denied(session: Session, op: AclOperationName, type: AuthorizedResource, name: string, why: string): void {
    const p = session.principal;
    this.o.onDenied?.(p, op, type, name);
    const key = `${p.type}:${p.name}\u0000${op}\u0000${type}\u0000${name}`;
    const now = this.now();
    const last = this.deniedLoggedAt.get(key);
    if (last !== undefined && now - last < DENIAL_LOG_INTERVAL_MS) return;
    if (last === undefined && this.deniedLoggedAt.size >= DENIAL_LOG_KEYS_MAX) this.forgetOldDenials(now);
    this.deniedLoggedAt.delete(key); // re-insert: the map stays in order of last logging
    this.deniedLoggedAt.set(key, now);
    const principal = `${p.type}:${p.name}`;
    const resource = `${pascal(type)}:LITERAL:${name}`;
    this.o.log.info(
      { logger: 'kafka.authorizer.logger', principal, operation: op, host: session.clientAddress, resource, reason: why },
      `Principal = ${principal} is Denied Operation = ${pascal(op)} from host = ${session.clientAddress} on resource = ${resource}`,
    );
  }

  private forgetOldDenials(now: number): void {
    for (const [k, at] of this.deniedLoggedAt) {
      if (now - at < DENIAL_LOG_INTERVAL_MS && this.deniedLoggedAt.size < DENIAL_LOG_KEYS_MAX) break;
      this.deniedLoggedAt.delete(k);
    }
  }
}

/** Kafka's SecurityUtils.toPascalCase: DESCRIBE_CONFIGS -> DescribeConfigs, TRANSACTIONAL_ID -> TransactionalId. */
export function pascal(name: string): string {
  return name.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u: string, c: string) => c.toUpperCase());
}
