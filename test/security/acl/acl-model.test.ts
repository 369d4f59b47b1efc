// Kafka's ACL filter and validation rules as tables: ResourcePatternFilterTest and
// AccessControlEntryFilter semantics (ANY, MATCH, null), CreateAcls validation with Kafka's
// messages, and the metadata-store key layout of acl-keys.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  ANY_FILTER, bindingFromWire, entryFilterMatches, filterFromWire, filterMatches, formatEntry, formatPattern, patternFilterMatches,
  validateFilter, validateNewBinding, type AclBinding, type AclBindingFilter, type ResourcePattern, type UncheckedBinding,
} from '../../../src/security/acl/acl-model.js';
import { aclKey, decodeAclEntries, encodeAclEntries, parseAclKey } from '../../../src/security/acl/acl-keys.js';
import type { PatternTypeName, ResourceTypeName } from '../../../src/security/types.js';

const pattern = (resourceType: ResourcePattern['resourceType'], resourceName: string, patternType: ResourcePattern['patternType']): ResourcePattern => ({ resourceType, resourceName, patternType });
const pfilter = (resourceType: ResourceTypeName, resourceName: string | null, patternType: PatternTypeName): AclBindingFilter =>
  ({ ...ANY_FILTER, resourceType, resourceName, patternType });

describe('ResourcePatternFilter.matches (Kafka ResourcePatternFilterTest)', () => {
  const cases: Array<[string, AclBindingFilter, ResourcePattern, boolean]> = [
    ['different resource type', pfilter('TOPIC', 'Name', 'LITERAL'), pattern('GROUP', 'Name', 'LITERAL'), false],
    ['different name', pfilter('TOPIC', 'Name', 'LITERAL'), pattern('TOPIC', 'Different', 'LITERAL'), false],
    ['different name case', pfilter('TOPIC', 'NAME', 'LITERAL'), pattern('TOPIC', 'Name', 'LITERAL'), false],
    ['different pattern type', pfilter('TOPIC', 'Name', 'LITERAL'), pattern('TOPIC', 'Name', 'PREFIXED'), false],
    ['resource type ANY', pfilter('ANY', 'Name', 'PREFIXED'), pattern('TOPIC', 'Name', 'PREFIXED'), true],
    ['resource name null', pfilter('TOPIC', null, 'PREFIXED'), pattern('TOPIC', 'Name', 'PREFIXED'), true],
    ['pattern type ANY', pfilter('TOPIC', null, 'ANY'), pattern('TOPIC', 'Name', 'PREFIXED'), true],
    ['pattern type MATCH', pfilter('TOPIC', null, 'MATCH'), pattern('TOPIC', 'Name', 'PREFIXED'), true],
    ['literal exact', pfilter('TOPIC', 'Name', 'LITERAL'), pattern('TOPIC', 'Name', 'LITERAL'), true],
    ['literal, filter ANY', pfilter('TOPIC', 'Name', 'ANY'), pattern('TOPIC', 'Name', 'LITERAL'), true],
    ['literal, filter MATCH', pfilter('TOPIC', 'Name', 'MATCH'), pattern('TOPIC', 'Name', 'LITERAL'), true],
    ['literal wildcard exact', pfilter('TOPIC', '*', 'LITERAL'), pattern('TOPIC', '*', 'LITERAL'), true],
    ['literal wildcard vs other name', pfilter('TOPIC', 'Name', 'LITERAL'), pattern('TOPIC', '*', 'LITERAL'), false],
    ['literal wildcard the other way', pfilter('TOPIC', '*', 'LITERAL'), pattern('TOPIC', 'Name', 'LITERAL'), false],
    ['literal wildcard, filter ANY', pfilter('TOPIC', 'Name', 'ANY'), pattern('TOPIC', '*', 'LITERAL'), false],
    ['literal wildcard, filter MATCH', pfilter('TOPIC', 'Name', 'MATCH'), pattern('TOPIC', '*', 'LITERAL'), true],
    ['prefixed exact', pfilter('TOPIC', 'Name', 'PREFIXED'), pattern('TOPIC', 'Name', 'PREFIXED'), true],
    ['both prefixed, filter a prefix of the pattern', pfilter('TOPIC', 'Name', 'PREFIXED'), pattern('TOPIC', 'Name-something', 'PREFIXED'), false],
    ['both prefixed, pattern a prefix of the filter', pfilter('TOPIC', 'Name-something', 'PREFIXED'), pattern('TOPIC', 'Name', 'PREFIXED'), false],
    ['prefixed pattern, filter ANY', pfilter('TOPIC', 'Name-something', 'ANY'), pattern('TOPIC', 'Name', 'PREFIXED'), false],
    ['prefixed pattern, filter MATCH', pfilter('TOPIC', 'Name-something', 'MATCH'), pattern('TOPIC', 'Name', 'PREFIXED'), true],
    ['prefixed pattern longer than the name, filter MATCH', pfilter('TOPIC', 'Nam', 'MATCH'), pattern('TOPIC', 'Name', 'PREFIXED'), false],
    ['MATCH does not cross resource types', pfilter('GROUP', 'Name', 'MATCH'), pattern('TOPIC', '*', 'LITERAL'), false],
  ];
  for (const [name, f, p, want] of cases) test(name, () => assert.equal(patternFilterMatches(f, p), want));
});

describe('AccessControlEntryFilter.matches', () => {
  const entry = { principal: 'User:alice', host: '10.0.0.1', operation: 'READ', permission: 'ALLOW' } as const;
  const cases: Array<[string, Partial<AclBindingFilter>, boolean]> = [
    ['ANY matches', {}, true],
    ['principal equal', { principal: 'User:alice' }, true],
    ['principal differs', { principal: 'User:bob' }, false],
    ['the wildcard principal is just a value for a filter', { principal: 'User:*' }, false],
    ['host equal', { host: '10.0.0.1' }, true],
    ['host differs', { host: '*' }, false],
    ['operation equal', { operation: 'READ' }, true],
    ['operation ALL is a value, not a wildcard', { operation: 'ALL' }, false],
    ['permission differs', { permission: 'DENY' }, false],
  ];
  for (const [name, f, want] of cases) test(name, () => assert.equal(entryFilterMatches({ ...ANY_FILTER, ...f }, entry), want));

  test('filterMatches needs both halves', () => {
    const b: AclBinding = { ...pattern('TOPIC', 'orders', 'LITERAL'), ...entry };
    assert.equal(filterMatches({ ...ANY_FILTER, resourceType: 'TOPIC', principal: 'User:alice' }, b), true);
    assert.equal(filterMatches({ ...ANY_FILTER, resourceType: 'GROUP', principal: 'User:alice' }, b), false);
    assert.equal(filterMatches({ ...ANY_FILTER, resourceType: 'TOPIC', principal: 'User:bob' }, b), false);
  });
});

describe('CreateAcls validation (AclApis + AclControlManager.validateNewAcl)', () => {
  const ok: UncheckedBinding = { resourceType: 'TOPIC', resourceName: 'orders', patternType: 'LITERAL', principal: 'User:alice', host: '*', operation: 'READ', permission: 'ALLOW' };
  const cases: Array<[string, Partial<UncheckedBinding>, string | null]> = [
    ['a valid binding', {}, null],
    ['prefixed', { patternType: 'PREFIXED' }, null],
    ['a prefixed "*" is a name like any other', { patternType: 'PREFIXED', resourceName: '*' }, null],
    ['the cluster', { resourceType: 'CLUSTER', resourceName: 'kafka-cluster', operation: 'IDEMPOTENT_WRITE' }, null],
    ['another cluster name', { resourceType: 'CLUSTER', resourceName: 'mine' }, 'The only valid name for the CLUSTER resource is kafka-cluster'],
    ['empty name', { resourceName: '' }, 'Invalid empty resource name'],
    ['resource type ANY', { resourceType: 'ANY' }, 'Invalid resourceType ANY'],
    ['resource type UNKNOWN', { resourceType: 'UNKNOWN' }, 'Invalid resourceType UNKNOWN'],
    ['pattern MATCH', { patternType: 'MATCH' }, 'Invalid patternType MATCH'],
    ['pattern ANY', { patternType: 'ANY' }, 'Invalid patternType ANY'],
    ['operation ANY', { operation: 'ANY' }, 'Invalid operation ANY'],
    ['operation UNKNOWN', { operation: 'UNKNOWN' }, 'Invalid operation UNKNOWN'],
    ['permission ANY', { permission: 'ANY' }, 'Invalid permissionType ANY'],
    ['principal without a type', { principal: 'alice' }, 'expected a string in format principalType:principalName but got alice'],
    ['principal "User:" is accepted as Kafka does', { principal: 'User:' }, null],
  ];
  for (const [name, change, want] of cases) test(name, () => assert.equal(validateNewBinding({ ...ok, ...change }), want));

  test('wire codes this broker does not know become UNKNOWN and are refused', () => {
    const b = bindingFromWire({ resourceType: 99, resourceName: 'x', patternType: 3, principal: 'User:a', host: '*', operation: 3, permissionType: 3 });
    assert.equal(b.resourceType, 'UNKNOWN');
    assert.equal(validateNewBinding(b), 'Invalid resourceType UNKNOWN');
  });

  test('filters with UNKNOWN parts are refused (validateFilter)', () => {
    assert.equal(validateFilter(ANY_FILTER), null);
    assert.equal(validateFilter(filterFromWire({ resourceTypeFilter: 0, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 })), 'Unknown patternFilter.');
    assert.equal(validateFilter({ ...ANY_FILTER, patternType: 'UNKNOWN' }), 'Unknown patternFilter.');
    assert.equal(validateFilter({ ...ANY_FILTER, operation: 'UNKNOWN' }), 'Unknown entryFilter.');
    assert.equal(validateFilter({ ...ANY_FILTER, permission: 'UNKNOWN' }), 'Unknown entryFilter.');
  });
});

describe('Kafka toString forms and the store layout', () => {
  test('formatPattern / formatEntry print as kafka-acls.sh does', () => {
    assert.equal(formatPattern(pattern('TOPIC', 'orders', 'PREFIXED')), 'ResourcePattern(resourceType=TOPIC, name=orders, patternType=PREFIXED)');
    assert.equal(formatEntry({ principal: 'User:alice', host: '*', operation: 'DESCRIBE_CONFIGS', permission: 'DENY' }), '(principal=User:alice, host=*, operation=DESCRIBE_CONFIGS, permissionType=DENY)');
  });

  test('keys: one segment per name whatever it holds; other keys are not ACLs', () => {
    const root = '/ferry/c1/';
    for (const name of ['orders', 'a/b', '100%', '*', 'x%2Fy', 'ünï/cødé']) {
      const p = pattern('GROUP', name, 'PREFIXED');
      const key = aclKey(root, p);
      assert.equal(key.split('/').length, 7, key);
      assert.deepEqual(parseAclKey(root, key), p);
    }
    assert.equal(parseAclKey(root, '/ferry/c1/acls/TOPIC/LITERAL'), null);
    assert.equal(parseAclKey(root, '/ferry/c1/acls/ANY/LITERAL/x'), null);
    assert.equal(parseAclKey(root, '/ferry/c1/acls/TOPIC/MATCH/x'), null);
    assert.equal(parseAclKey(root, '/ferry/c2/acls/TOPIC/LITERAL/x'), null);
  });

  test('values: entries round-trip; anything else is refused', () => {
    const entries = [{ principal: 'User:a', host: '*', operation: 'ALL', permission: 'DENY' } as const];
    assert.deepEqual(decodeAclEntries(encodeAclEntries(entries), 'k'), entries);
    assert.throws(() => decodeAclEntries(Buffer.from('[1,2]'), 'k'), /not a version 1 ACL list/);
    assert.throws(() => decodeAclEntries(Buffer.from('{"version":1,"acls":[{"principal":"User:a","host":"*","operation":"ANY","permission":"ALLOW"}]}'), 'k'), /bad ACL entry/);
  });
});
