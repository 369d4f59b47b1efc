/**
 * The ACL side of a broker in one call, for src/node: the cluster's AclStore (read, then
 * followed) and the AclAuthorizer fed from it. Resolves once the ACLs are loaded, so the broker
 * can start serving with every ACL in force.
 *
 * API: openAcls(options) -> { authorizer, acls, close() }
 */
import type { Logger } from 'pino';
import type { MetadataStore } from '../../cluster/metadata-store.js';
import { AclAuthorizer, type AclAuthorizerOptions } from './acl-authorizer.js';
import { AclStore } from './acl-store.js';

export interface OpenAclsOptions {
  store: MetadataStore;
  /** MetadataKeys.root of the cluster. */
  root: string;
  /** super.users as configured ("User:a;User:b"), or null. */
  superUsers: string | null;
  allowEveryoneIfNoAclFound: boolean;
  log: Logger;
  onDenied?: AclAuthorizerOptions['onDenied'];
}

export interface OpenedAcls {
  authorizer: AclAuthorizer;
  acls: AclStore;
  close(): void;
}

export async function openAcls(o: OpenAclsOptions): Promise<OpenedAcls> {
  const log = o.log.child({ component: 'acls' });
  const authorizer = new AclAuthorizer({
    superUsers: o.superUsers ?? [], allowEveryoneIfNoAclFound: o.allowEveryoneIfNoAclFound, log,
    ...(o.onDenied ? { onDenied: o.onDenied } : {}),
  });
  const acls = new AclStore({ store: o.store, root: o.root, log });
  acls.subscribe(authorizer);
  await acls.start();
  return { authorizer, acls, close: () => acls.close() };
}
