/**
 * ACL checks as the request handlers make them (Kafka's AuthHelper). A handler builds one
 * RequestAcl per request: it asks the broker's authorizer once per (operation, resource), however
 * many partitions name that resource, and without an authorizer (ALLOW_ALL) every check answers
 * true without building a session or a memo.
 *
 * The rule every handler keeps, as Kafka does: authorization first, existence after, so a
 * principal without DESCRIBE cannot tell a missing topic from a hidden one.
 */
import { ErrorCode } from '../protocol/errors.js';
import { AclOperation, CLUSTER_RESOURCE_NAME, type AclOperationName, type AuthorizedResource, type Authorizer } from '../security/types.js';
import { internalSession, type Session } from '../server/session.js';
import type { RequestContext } from '../server/handler-registry.js';

/** The authorizedOperations value of a response that did not ask for them (the schemas' default). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/**
 * The operations Kafka reports per resource type in authorizedOperations (its
 * AclEntry.supportedOperations, 3.x: groups have no config operations, as Ferry has no group configs).
 */
const SUPPORTED_OPERATIONS: Record<AuthorizedResource, readonly AclOperationName[]> = {
  TOPIC: ['READ', 'WRITE', 'CREATE', 'DESCRIBE', 'DELETE', 'ALTER', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'],
  GROUP: ['READ', 'DESCRIBE', 'DELETE'],
  CLUSTER: ['CREATE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE', 'ALTER', 'DESCRIBE'],
  TRANSACTIONAL_ID: ['DESCRIBE', 'WRITE'],
  DELEGATION_TOKEN: ['DESCRIBE'],
  USER: ['CREATE_TOKENS', 'DESCRIBE_TOKENS'],
};

/** Kafka's Utils.to32BitField: bit `code` set for each operation. */
function bitField(ops: Iterable<AclOperationName>): number {
  let bits = 0;
  for (const op of ops) bits |= 1 << AclOperation[op];
  return bits;
}

const ALL_SUPPORTED_BITS = Object.fromEntries(
  Object.entries(SUPPORTED_OPERATIONS).map(([type, ops]) => [type, bitField(ops)]),
) as Record<AuthorizedResource, number>;

/** The error a client gets when refused on a resource of `type` (Kafka's AclEntry.authorizationError). */
export function authorizationError(type: Exclude<AuthorizedResource, 'USER'>): number {
  switch (type) {
    case 'TOPIC': return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    case 'GROUP': return ErrorCode.GROUP_AUTHORIZATION_FAILED;
    case 'CLUSTER': return ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    case 'TRANSACTIONAL_ID': return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    case 'DELEGATION_TOKEN': return ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED;
  }
}

/**
 * KIP-679's Authorizer.authorizeByResourceType: may the principal do `op` on at least one resource
 * of `type` (an ALLOW binding of any name or prefix that no DENY covers)? Optional: for an
 * authorizer without it, the first step of Kafka's default implementation stands in (one literal
 * name no binding names: super users and allow.everyone.if.no.acl.found pass, as do wildcard ALLOWs).
 */
export interface ByResourceTypeAuthorizer extends Authorizer {
  authorizeByResourceType(session: Session, op: AclOperationName, type: AuthorizedResource): boolean;
}

function hasByResourceType(a: Authorizer): a is ByResourceTypeAuthorizer {
  return typeof (a as Partial<ByResourceTypeAuthorizer>).authorizeByResourceType === 'function';
}

/** One request's ACL checks. */
export interface RequestAcl {
  /** false: no authorizer is configured and every check passes. */
  readonly enabled: boolean;
  allowed(op: AclOperationName, type: AuthorizedResource, name: string): boolean;
  /** `op` on the cluster resource (kafka-cluster). */
  allowedOnCluster(op: AclOperationName): boolean;
  /** KIP-679: `op` on some resource of `type` (the idempotent producer's WRITE on any topic). */
  allowedOnSomeResource(op: AclOperationName, type: AuthorizedResource): boolean;
  /** Kafka's authorizedOperations: the bit field of the operations allowed on the resource. */
  operations(type: AuthorizedResource, name: string): number;
}

/** Every check passes (no authorizer; or a request the proxy broker already authorized). */
export const ALLOW_EVERYTHING: RequestAcl = {
  enabled: false,
  allowed: () => true,
  allowedOnCluster: () => true,
  allowedOnSomeResource: () => true,
  // Kafka without an authorizer reports every supported operation.
  operations: (type) => ALL_SUPPORTED_BITS[type],
};

class MemoizedAcl implements RequestAcl {
  readonly enabled = true;
  private readonly answers = new Map<string, boolean>();

  constructor(private readonly authorizer: Authorizer, private readonly session: Session) {}

  allowed(op: AclOperationName, type: AuthorizedResource, name: string): boolean {
    const key = `${op}\u0000${type}\u0000${name}`;
    let answer = this.answers.get(key);
    if (answer === undefined) {
      answer = this.authorizer.authorize(this.session, op, type, name);
      this.answers.set(key, answer);
    }
    return answer;
  }

  allowedOnCluster(op: AclOperationName): boolean {
    return this.allowed(op, 'CLUSTER', CLUSTER_RESOURCE_NAME);
  }

  allowedOnSomeResource(op: AclOperationName, type: AuthorizedResource): boolean {
    if (hasByResourceType(this.authorizer)) return this.authorizer.authorizeByResourceType(this.session, op, type);
    return this.allowed(op, type, 'hardcode'); // Kafka's own placeholder name for this check
  }

  operations(type: AuthorizedResource, name: string): number {
    return bitField(SUPPORTED_OPERATIONS[type].filter((op) => this.allowed(op, type, name)));
  }
}

/** The checks of one request, for the session it came on (internalSession() outside a connection). */
export function requestAcl(b: { authorizer: Authorizer }, ctx: RequestContext): RequestAcl {
  if (!b.authorizer.enabled) return ALLOW_EVERYTHING;
  return new MemoizedAcl(b.authorizer, ctx.session ?? internalSession());
}

/** A single check outside a RequestAcl. */
export function allowed(b: { authorizer: Authorizer }, ctx: RequestContext, op: AclOperationName, type: AuthorizedResource, name: string): boolean {
  return !b.authorizer.enabled || b.authorizer.authorize(ctx.session ?? internalSession(), op, type, name);
}

/** A single authorizedOperations bit field outside a RequestAcl. */
export function authorizedOperations(b: { authorizer: Authorizer }, ctx: RequestContext, type: AuthorizedResource, name: string): number {
  return requestAcl(b, ctx).operations(type, name);
}
