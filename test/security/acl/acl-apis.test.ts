// DescribeAcls / CreateAcls / DeleteAcls handlers called in-process, each request and response
// through the codecs at the version tested: SECURITY_DISABLED without an authorizer, cluster
// DESCRIBE/ALTER checks, per-entry INVALID_REQUEST with Kafka's messages, v0 (no pattern type,
// LITERAL) to v3, filters (MATCH, ANY), DeleteAcls returning what it removed, and the
// authorizer following what the APIs write.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ApiKey } from '../../../src/protocol/messages/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { AclStore } from '../../../src/security/acl/acl-store.js';
import { AclAuthorizer } from '../../../src/security/acl/acl-authorizer.js';
import { ALLOW_ALL, AclOperation, AclPermission, PatternType, ResourceType } from '../../../src/security/types.js';
import { newSession } from '../../../src/server/session.js';
import { tempStore } from '../../cluster/temp-store.js';
import { aclApis } from './acl-harness.js';

const log = pino({ level: 'silent' });
const admin = newSession('PLAINTEXT', 'PLAINTEXT', '10.0.0.5', { type: 'User', name: 'admin' });
const bob = newSession('PLAINTEXT', 'PLAINTEXT', '10.0.0.6', { type: 'User', name: 'bob' });

const T = ResourceType;
const P = PatternType;
const O = AclOperation;
const A = AclPermission;

function creation(over: Record<string, unknown> = {}) {
  return { resourceType: T.TOPIC, resourceName: 'orders', resourcePatternType: P.LITERAL, principal: 'User:alice', host: '*', operation: O.READ, permissionType: A.ALLOW, ...over };
}
function filter(over: Record<string, unknown> = {}) {
  return { resourceTypeFilter: T.ANY, resourceNameFilter: null, patternTypeFilter: P.ANY, principalFilter: null, hostFilter: null, operation: O.ANY, permissionType: A.ANY, ...over };
}

async function setup(t: { after(fn: () => Promise<void> | void): void }) {
  const { store } = await tempStore(t);
  const acls = new AclStore({ store, root: '/ferry/apis/', log });
  const authorizer = new AclAuthorizer({ log, superUsers: 'User:admin' });
  acls.subscribe(authorizer);
  await acls.start();
  t.after(() => acls.close());
  return { acls, authorizer, h: aclApis(authorizer, acls) };
}

describe('ACL APIs in-process', () => {
  test('no authorizer configured: SECURITY_DISABLED at every version', async () => {
    const h = aclApis(ALLOW_ALL, null);
    for (const v of [0, 1, 2, 3]) {
      const d = await h.call(ApiKey.DescribeAcls, v, filter({ patternTypeFilter: v === 0 ? P.LITERAL : P.ANY }));
      assert.equal(d.errorCode, ErrorCode.SECURITY_DISABLED);
      assert.equal(d.errorMessage, 'No Authorizer is configured on the broker');
      const c = await h.call(ApiKey.CreateAcls, v, { creations: [creation(), creation()] });
      assert.deepEqual(c.results.map((r: any) => [r.errorCode, r.errorMessage]), [[54, 'No Authorizer is configured.'], [54, 'No Authorizer is configured.']]);
      const del = await h.call(ApiKey.DeleteAcls, v, { filters: [filter({ patternTypeFilter: P.LITERAL })] });
      assert.equal(del.filterResults[0].errorCode, ErrorCode.SECURITY_DISABLED);
    }
  });

  test('create (v0-v3), describe with filters, delete returning the removed bindings', async (t) => {
    const { h, authorizer } = await setup(t);
    // v0 has no pattern type: a creation is LITERAL.
    let c = await h.call(ApiKey.CreateAcls, 0, { creations: [creation({ resourcePatternType: P.PREFIXED })] }, admin);
    assert.deepEqual(c.results, [{ errorCode: 0, errorMessage: null }]);
    c = await h.call(ApiKey.CreateAcls, 1, { creations: [
      creation({ resourceName: 'ord', resourcePatternType: P.PREFIXED, principal: 'User:bob', operation: O.WRITE }),
      creation({ resourceName: '*', principal: 'User:*', operation: O.DESCRIBE }),
    ] }, admin);
    assert.deepEqual(c.results.map((r: any) => r.errorCode), [0, 0]);
    c = await h.call(ApiKey.CreateAcls, 3, { creations: [
      creation({ resourceType: T.GROUP, resourceName: 'billing', operation: O.READ }),
      creation({ principal: 'User:alice', host: '10.0.0.9', permissionType: A.DENY, operation: O.ALL }),
      creation({ resourceType: T.CLUSTER, resourceName: 'kafka-cluster', operation: O.IDEMPOTENT_WRITE, principal: 'User:bob' }),
    ] }, admin);
    assert.deepEqual(c.results.map((r: any) => r.errorCode), [0, 0, 0]);
    assert.equal(authorizer.aclCount, 6);
    assert.equal(authorizer.authorize(bob, 'WRITE', 'TOPIC', 'orders-eu'), true, 'the authorizer applies what CreateAcls wrote');

    // Describe: v0 sees LITERAL patterns only (its filter is LITERAL); v1+ filters by pattern type.
    const d0 = await h.call(ApiKey.DescribeAcls, 0, filter({ resourceTypeFilter: T.TOPIC }), admin);
    assert.equal(d0.errorCode, 0);
    assert.deepEqual(d0.resources.map((r: any) => [r.resourceName, r.acls.length]).sort(), [['*', 1], ['orders', 2]]);
    const match = await h.call(ApiKey.DescribeAcls, 3, filter({ resourceTypeFilter: T.TOPIC, resourceNameFilter: 'orders', patternTypeFilter: P.MATCH }), admin);
    assert.deepEqual(match.resources.map((r: any) => [r.resourceName, r.patternType, r.acls.length]).sort(), [['*', P.LITERAL, 1], ['ord', P.PREFIXED, 1], ['orders', P.LITERAL, 2]]);
    const deny = await h.call(ApiKey.DescribeAcls, 2, filter({ permissionType: A.DENY }), admin);
    assert.deepEqual(deny.resources, [{ resourceType: T.TOPIC, resourceName: 'orders', patternType: P.LITERAL, acls: [{ principal: 'User:alice', host: '10.0.0.9', operation: O.ALL, permissionType: A.DENY }] }]);
    const byPrincipal = await h.call(ApiKey.DescribeAcls, 1, filter({ principalFilter: 'User:bob' }), admin);
    assert.deepEqual(byPrincipal.resources.map((r: any) => r.resourceType).sort(), [T.TOPIC, T.CLUSTER].sort());

    // Delete: two filters, the second also matching what the first removes.
    const del = await h.call(ApiKey.DeleteAcls, 3, { filters: [
      filter({ resourceTypeFilter: T.TOPIC, resourceNameFilter: 'orders', patternTypeFilter: P.LITERAL, permissionType: A.DENY }),
      filter({ principalFilter: 'User:alice', hostFilter: '10.0.0.9' }),
      filter({ resourceTypeFilter: T.TOPIC, resourceNameFilter: 'nope', patternTypeFilter: P.LITERAL }),
    ] }, admin);
    const removed = { errorCode: 0, errorMessage: null, resourceType: T.TOPIC, resourceName: 'orders', patternType: P.LITERAL, principal: 'User:alice', host: '10.0.0.9', operation: O.ALL, permissionType: A.DENY };
    assert.deepEqual(del.filterResults, [
      { errorCode: 0, errorMessage: null, matchingAcls: [removed] },
      { errorCode: 0, errorMessage: null, matchingAcls: [removed] },
      { errorCode: 0, errorMessage: null, matchingAcls: [] },
    ]);
    // v0 delete: LITERAL filter; the PREFIXED "ord" survives a delete of everything on TOPIC.
    const del0 = await h.call(ApiKey.DeleteAcls, 0, { filters: [filter({ resourceTypeFilter: T.TOPIC })] }, admin);
    assert.equal(del0.filterResults[0].matchingAcls.length, 2);
    const left = await h.call(ApiKey.DescribeAcls, 3, filter(), admin);
    assert.deepEqual(left.resources.map((r: any) => r.resourceName).sort(), ['billing', 'kafka-cluster', 'ord']);
    assert.equal(authorizer.aclCount, 3);
  });

  test('invalid creations fail one by one with Kafka\'s messages; invalid filters too', async (t) => {
    const { h, acls } = await setup(t);
    const c = await h.call(ApiKey.CreateAcls, 3, { creations: [
      creation({ resourceType: T.CLUSTER, resourceName: 'other' }),
      creation({ resourceName: '' }),
      creation({ resourceType: T.ANY }),
      creation({ resourceType: 42 }),
      creation({ resourcePatternType: P.MATCH }),
      creation({ operation: O.ANY }),
      creation({ permissionType: A.ANY }),
      creation({ principal: 'alice' }),
      creation({ principal: 'User:fine' }),
    ] }, admin);
    assert.deepEqual(c.results.map((r: any) => [r.errorCode, r.errorMessage]), [
      [42, 'The only valid name for the CLUSTER resource is kafka-cluster'],
      [42, 'Invalid empty resource name'],
      [42, 'Invalid resourceType ANY'],
      [42, 'Invalid resourceType UNKNOWN'],
      [42, 'Invalid patternType MATCH'],
      [42, 'Invalid operation ANY'],
      [42, 'Invalid permissionType ANY'],
      [42, 'expected a string in format principalType:principalName but got alice'],
      [0, null],
    ]);
    assert.equal(acls.size, 1, 'only the valid one is stored');
    const d = await h.call(ApiKey.DescribeAcls, 3, filter({ resourceTypeFilter: T.UNKNOWN }), admin);
    assert.deepEqual([d.errorCode, d.errorMessage], [ErrorCode.INVALID_REQUEST, 'Unknown patternFilter.']);
    const del = await h.call(ApiKey.DeleteAcls, 3, { filters: [filter({ operation: O.UNKNOWN }), filter()] }, admin);
    assert.deepEqual(del.filterResults.map((r: any) => [r.errorCode, r.errorMessage, r.matchingAcls.length]), [[42, 'Unknown entryFilter.', 0], [0, null, 1]]);
  });

  test('cluster authorization: DESCRIBE for DescribeAcls, ALTER for Create/Delete', async (t) => {
    const { h } = await setup(t);
    const d = await h.call(ApiKey.DescribeAcls, 3, filter(), bob);
    assert.deepEqual([d.errorCode, d.errorMessage], [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.']);
    const c = await h.call(ApiKey.CreateAcls, 3, { creations: [creation(), creation({ principal: 'x' })] }, bob);
    assert.deepEqual(c.results.map((r: any) => r.errorCode), [31, 31], 'no per-entry validation before the cluster check');
    const del = await h.call(ApiKey.DeleteAcls, 3, { filters: [filter()] }, bob);
    assert.equal(del.filterResults[0].errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    // No session (an in-process call) is User:ANONYMOUS, not a super user.
    assert.equal((await h.call(ApiKey.DescribeAcls, 3, filter())).errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);

    // The admin lets bob ALTER the cluster: that implies DESCRIBE, so bob may list too.
    await h.call(ApiKey.CreateAcls, 3, { creations: [creation({ resourceType: T.CLUSTER, resourceName: 'kafka-cluster', principal: 'User:bob', operation: O.ALTER })] }, admin);
    const mine = await h.call(ApiKey.CreateAcls, 3, { creations: [creation({ principal: 'User:carol' })] }, bob);
    assert.equal(mine.results[0].errorCode, 0);
    const listed = await h.call(ApiKey.DescribeAcls, 3, filter(), bob);
    assert.equal(listed.errorCode, 0);
    assert.equal(listed.resources.length, 2);
    // DESCRIBE alone does not allow changes.
    await h.call(ApiKey.DeleteAcls, 3, { filters: [filter({ resourceTypeFilter: T.CLUSTER })] }, admin);
    await h.call(ApiKey.CreateAcls, 3, { creations: [creation({ resourceType: T.CLUSTER, resourceName: 'kafka-cluster', principal: 'User:bob', operation: O.DESCRIBE })] }, admin);
    assert.equal((await h.call(ApiKey.DescribeAcls, 3, filter(), bob)).errorCode, 0);
    assert.equal((await h.call(ApiKey.CreateAcls, 3, { creations: [creation()] }, bob)).results[0].errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  });
});
