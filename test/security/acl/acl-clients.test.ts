// The ACL APIs from real clients over a socket: kafkajs (CreateAcls/DescribeAcls/DeleteAcls v1)
// and kafka-python create, describe (ANY, MATCH, by principal) and delete ACLs against the
// handlers served with the real AclStore (local metadata store) and AclAuthorizer. Plaintext
// clients are User:ANONYMOUS, a super user here.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type * as KafkaJs from 'kafkajs';
import { AclStore } from '../../../src/security/acl/acl-store.js';
import { AclAuthorizer } from '../../../src/security/acl/acl-authorizer.js';
import { ANY_FILTER } from '../../../src/security/acl/acl-model.js';
import { LocalMetadataStore } from '../../../src/cluster/local-metadata-store.js';
import { requireNodeModule, requirePythonModules } from '../../helpers/require-tool.js';
import { runJson } from '../../helpers/run-process.js';
import { aclApis, serveAclApis } from './acl-harness.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = fileURLToPath(new URL('./py/acl_clients.py', import.meta.url));
const log = pino({ level: 'silent' });

describe('ACL APIs from real clients', { timeout: 60_000 }, () => {
  let bootstrap: string;
  let acls: AclStore;
  const cleanups: Array<() => Promise<void>> = [];
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-acl-clients-'));
    const store = await LocalMetadataStore.open(dir);
    acls = new AclStore({ store, root: '/ferry/clients/', log });
    const authorizer = new AclAuthorizer({ log, superUsers: 'User:ANONYMOUS' });
    acls.subscribe(authorizer);
    await acls.start();
    const server = await serveAclApis(aclApis(authorizer, acls));
    bootstrap = server.bootstrap;
    cleanups.push(async () => { await server.close(); acls.close(); await store.close(); await rm(dir, { recursive: true, force: true }); });
  });
  after(async () => { for (const c of cleanups) await c(); });

  test('kafkajs: createAcls, describeAcls (ANY, MATCH), deleteAcls; an invalid creation is refused', async () => {
    const kjs = requireNodeModule<typeof KafkaJs>('kafkajs');
    const admin = new kjs.Kafka({ clientId: 'acl-test', brokers: [bootstrap], logLevel: kjs.logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await admin.connect();
    try {
      const { AclResourceTypes: R, ResourcePatternTypes: P, AclOperationTypes: O, AclPermissionTypes: A } = kjs;
      await admin.createAcls({ acl: [
        { resourceType: R.TOPIC, resourceName: 'kj-orders', resourcePatternType: P.LITERAL, principal: 'User:alice', host: '*', operation: O.READ, permissionType: A.ALLOW },
        { resourceType: R.TOPIC, resourceName: 'kj-', resourcePatternType: P.PREFIXED, principal: 'User:bob', host: '10.0.0.1', operation: O.WRITE, permissionType: A.DENY },
        { resourceType: R.GROUP, resourceName: 'kj-group', resourcePatternType: P.LITERAL, principal: 'User:alice', host: '*', operation: O.READ, permissionType: A.ALLOW },
      ] });
      await assert.rejects(
        admin.createAcls({ acl: [{ resourceType: R.CLUSTER, resourceName: 'other', resourcePatternType: P.LITERAL, principal: 'User:x', host: '*', operation: O.ALTER, permissionType: A.ALLOW }] }),
        (err: Error & { type?: string }) => { assert.match(`${err.type} ${err.message}`, /INVALID_REQUEST|not valid|invalid/i); return true; },
      );
      // kafkajs's enums are plain objects (name -> code).
      const name = (table: object, code: number) => Object.entries(table).find(([, v]) => v === code)?.[0];
      const rows = (r: KafkaJs.DescribeAclResponse) => r.resources.flatMap((res) => res.acls.map((a) =>
        `${name(R, res.resourceType)} ${name(P, res.resourcePatternType)} ${res.resourceName} ${name(A, a.permissionType)} ${a.principal} ${a.host} ${name(O, a.operation)}`)).sort();
      const match = await admin.describeAcls({ resourceType: R.TOPIC, resourceName: 'kj-orders', resourcePatternType: P.MATCH, operation: O.ANY, permissionType: A.ANY });
      assert.deepEqual(rows(match), ['TOPIC LITERAL kj-orders ALLOW User:alice * READ', 'TOPIC PREFIXED kj- DENY User:bob 10.0.0.1 WRITE']);
      const all = await admin.describeAcls({ resourceType: R.ANY, resourcePatternType: P.ANY, operation: O.ANY, permissionType: A.ANY });
      assert.equal(rows(all).length, 3);
      const del = await admin.deleteAcls({ filters: [{ resourceType: R.ANY, resourcePatternType: P.ANY, principal: 'User:alice', operation: O.ANY, permissionType: A.ANY }] });
      assert.equal(del.filterResponses[0]!.errorCode, 0);
      assert.deepEqual(del.filterResponses[0]!.matchingAcls.map((m) => `${name(R, m.resourceType)} ${m.resourceName} ${m.principal}`).sort(), ['GROUP kj-group User:alice', 'TOPIC kj-orders User:alice']);
      assert.deepEqual(acls.describe(ANY_FILTER).map((b) => `${b.resourceName} ${b.principal}`), ['kj- User:bob']);
    } finally {
      await admin.disconnect();
    }
  });

  test('kafka-python: create_acls, describe_acls, delete_acls', async () => {
    const python = requirePythonModules('kafka');
    const r = await runJson<any>(python, [SCRIPT, bootstrap], { timeoutMs: 30_000 });
    assert.deepEqual(r.created, { succeeded: 1, failed: 0 }, JSON.stringify(r));
    assert.equal(r.describeError, 'NoError');
    assert.deepEqual(r.all, ['TOPIC PREFIXED kj- DENY User:bob 10.0.0.1 WRITE', 'TOPIC PREFIXED kp- ALLOW User:carol * DESCRIBE'], JSON.stringify(r));
    assert.deepEqual(r.deleted, ['TOPIC PREFIXED kp- ALLOW User:carol * DESCRIBE'], r.rawDelete);
    assert.deepEqual(acls.describe(ANY_FILTER).map((b) => b.principal), ['User:bob']);
  });
});
