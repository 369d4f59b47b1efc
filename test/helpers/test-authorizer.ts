/**
 * A table-driven Authorizer for handler tests: a set of grants `${principal}|${op}|${type}|${name}`
 * (principal as "User:alice", name '*' for every resource of the type), with Kafka's implied
 * operations: DESCRIBE by READ, WRITE, DELETE or ALTER; DESCRIBE_CONFIGS by ALTER_CONFIGS; ALL
 * implies every operation. No DENY, hosts or prefixes: those are the real AclAuthorizer's.
 * Counts its calls, so tests can see how often a request asked.
 */
import type { AclOperationName, AuthorizedResource, Authorizer } from '../../src/security/types.js';
import { formatPrincipal, type Session } from '../../src/server/session.js';

/** The operations granting `op` (itself, ALL, and what implies it). */
const GRANTED_BY: Partial<Record<AclOperationName, AclOperationName[]>> = {
  DESCRIBE: ['READ', 'WRITE', 'DELETE', 'ALTER'],
  DESCRIBE_CONFIGS: ['ALTER_CONFIGS'],
};

export class TestAuthorizer implements Authorizer {
  readonly enabled = true;
  readonly grants = new Set<string>();
  calls = 0;

  constructor(grants: Iterable<string> = []) {
    for (const g of grants) this.grants.add(g);
  }

  grant(principal: string, op: AclOperationName, type: AuthorizedResource, name: string): this {
    this.grants.add(`${principal}|${op}|${type}|${name}`);
    return this;
  }

  revoke(principal: string, op: AclOperationName, type: AuthorizedResource, name: string): this {
    this.grants.delete(`${principal}|${op}|${type}|${name}`);
    return this;
  }

  clear(): this {
    this.grants.clear();
    return this;
  }

  authorize(session: Session, op: AclOperationName, type: AuthorizedResource, name: string): boolean {
    this.calls++;
    const principal = formatPrincipal(session.principal);
    return [op, 'ALL' as const, ...(GRANTED_BY[op] ?? [])].some((g) =>
      this.grants.has(`${principal}|${g}|${type}|${name}`) || this.grants.has(`${principal}|${g}|${type}|*`));
  }

  /** KIP-679: any grant of `op` (or what implies it) on a resource of `type`. */
  authorizeByResourceType(session: Session, op: AclOperationName, type: AuthorizedResource): boolean {
    this.calls++;
    const principal = formatPrincipal(session.principal);
    const ops = new Set<string>([op, 'ALL', ...(GRANTED_BY[op] ?? [])]);
    for (const g of this.grants) {
      const [p, o, t] = g.split('|');
      if (p === principal && t === type && ops.has(o!)) return true;
    }
    return false;
  }
}
