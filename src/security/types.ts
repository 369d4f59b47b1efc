/**
 * The security seams the request handlers and the connection see. The implementations live
 * beside this file (acl/, quota/, sasl/); src/node wires them from the configuration.
 */
import type { Session } from '../server/session.js';

/** Kafka's AclOperation, with its wire codes. */
export const AclOperation = {
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8,
  CLUSTER_ACTION: 9, DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12, CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14,
} as const;
export type AclOperationName = keyof typeof AclOperation;

/** Kafka's ResourceType, with its wire codes. */
export const ResourceType = {
  UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7,
} as const;
export type ResourceTypeName = keyof typeof ResourceType;

/** Kafka's PatternType, with its wire codes. */
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export type PatternTypeName = keyof typeof PatternType;

/** Kafka's AclPermissionType, with its wire codes. */
export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;
export type AclPermissionName = keyof typeof AclPermission;

/** The one cluster resource's name, as Kafka names it. */
export const CLUSTER_RESOURCE_NAME = 'kafka-cluster';

/** The resource types handlers check. */
export type AuthorizedResource = 'TOPIC' | 'GROUP' | 'CLUSTER' | 'TRANSACTIONAL_ID' | 'USER' | 'DELEGATION_TOKEN';

export interface Authorizer {
  /** false: no authorizer configured, every request is allowed (Kafka without authorizer.class.name). */
  readonly enabled: boolean;
  /** May the session's principal, from its address, do `op` on the resource? */
  authorize(session: Session, op: AclOperationName, type: AuthorizedResource, name: string): boolean;
  /** KIP-679: may it do `op` on at least one resource of `type` (an ALLOW no DENY covers)? */
  authorizeByResourceType?(session: Session, op: AclOperationName, type: AuthorizedResource): boolean;
}

/** Every request allowed: the authorizer when none is configured. */
export const ALLOW_ALL: Authorizer = { enabled: false, authorize: () => true };
