// ssl.principal.mapping.rules: the cases of Kafka's SslPrincipalMapperTest (clients/src/test/java/
// org/apache/kafka/common/security/ssl/SslPrincipalMapperTest.java), ported as they are (Java string
// literals turned into String.raw), then what Ferry adds: Java-only regex syntax and bad replacements
// are refused when the rules are parsed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NoMatchingPrincipalRuleError, PrincipalMappingRuleError, SslPrincipalMapper } from '../../../src/security/tls/principal-mapping.js';

test('Kafka testValidRules', () => {
  for (const rules of [
    'DEFAULT',
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/',
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT',
    'RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/',
    'RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L',
    'RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U',
    'RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/',
    'RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/',
  ]) {
    assert.doesNotThrow(() => SslPrincipalMapper.fromRules(rules), rules);
  }
});

test('Kafka testInvalidRules', () => {
  for (const rules of [
    'default',
    'DEFAUL',
    'DEFAULT/L',
    'DEFAULT/U',
    'RULE:CN=(.*?),OU=ServiceUsers.*/$1',
    'rule:^CN=(.*?),OU=ServiceUsers.*$/$1/',
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U',
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/L',
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/U',
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/LU',
  ]) {
    assert.throws(() => SslPrincipalMapper.fromRules(rules), PrincipalMappingRuleError, rules);
  }
});

test('Kafka testSslPrincipalMapper', () => {
  const mapper = SslPrincipalMapper.fromRules([
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L',
    'RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L',
    'RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U',
    'RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U',
    'DEFAULT',
  ].join(', '));
  assert.equal(mapper.map('CN=Duke,OU=ServiceUsers,O=Org,C=US'), 'duke');
  assert.equal(mapper.map('CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US'), 'duke@sme');
  assert.equal(mapper.map('cn=duke,ou=sme,dc=mycp,dc=com'), 'DUKE@SME');
  assert.equal(mapper.map('cN=duke,OU=JavaSoft,O=Sun Microsystems'), 'DUKE');
  assert.equal(mapper.map('OU=JavaSoft,O=Sun Microsystems,C=US'), 'OU=JavaSoft,O=Sun Microsystems,C=US');
});

test('Kafka testRulesSplitting', () => {
  const cases: [string, string][] = [
    // seeing is believing
    ['[]', ''],
    ['[DEFAULT]', 'DEFAULT'],
    ['[RULE:/]', 'RULE://'],
    ['[RULE:/.*]', 'RULE:/.*/'],
    ['[RULE:/.*/L]', 'RULE:/.*/L'],
    ['[RULE:/, DEFAULT]', 'RULE://,DEFAULT'],
    ['[RULE:/, DEFAULT]', '  RULE:// ,  DEFAULT  '],
    ['[RULE:   /     , DEFAULT]', '  RULE:   /     / ,  DEFAULT  '],
    ['[RULE:  /     /U, DEFAULT]', '  RULE:  /     /U   ,DEFAULT  '],
    ['[RULE:([A-Z]*)/$1/U, RULE:([a-z]+)/$1, DEFAULT]', '  RULE:([A-Z]*)/$1/U   ,RULE:([a-z]+)/$1/,   DEFAULT  '],
    // empty rules are ignored
    ['[]', ',   , , ,      , , ,   '],
    ['[RULE:/, DEFAULT]', ',,RULE://,,,DEFAULT,,'],
    ['[RULE: /   , DEFAULT]', ',  , RULE: /   /    ,,,   DEFAULT, ,   '],
    ['[RULE:   /  /U, DEFAULT]', '     ,  , RULE:   /  /U    ,,  ,DEFAULT, ,'],
    // escape sequences
    [String.raw`[RULE:\/\\\(\)\n\t/\/\/]`, String.raw`RULE:\/\\\(\)\n\t/\/\//`],
    [String.raw`[RULE:\**\/+/*/L, RULE:\/*\**/**]`, String.raw`RULE:\**\/+/*/L,RULE:\/*\**/**/`],
    // rules rule
    [
      String.raw`[RULE:,RULE:,/,RULE:,\//U, RULE:,/RULE:,, RULE:,RULE:,/L,RULE:,/L, RULE:, DEFAULT, /DEFAULT, DEFAULT]`,
      String.raw`RULE:,RULE:,/,RULE:,\//U,RULE:,/RULE:,/,RULE:,RULE:,/L,RULE:,/L,RULE:, DEFAULT, /DEFAULT/,DEFAULT`,
    ],
  ];
  for (const [expected, rules] of cases) {
    assert.equal(SslPrincipalMapper.fromRules(rules).toString(), `SslPrincipalMapper(rules = ${expected})`, rules);
  }
});

test('Kafka testCommaWithWhitespace', () => {
  const mapper = SslPrincipalMapper.fromRules(String.raw`RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/,DEFAULT`);
  assert.equal(mapper.map(String.raw`CN=Tkac\, Adam,OU=ITZ,DC=geodis,DC=cz`), String.raw`Tkac\, Adam`);
});

test('null rules are Kafka\'s default; an empty rule list maps nothing (Kafka: NoMatchingRule)', () => {
  assert.equal(SslPrincipalMapper.fromRules(null).map('CN=alice,O=Acme'), 'CN=alice,O=Acme');
  const none = SslPrincipalMapper.fromRules('');
  assert.throws(() => none.map('CN=alice'), (err: unknown) => err instanceof NoMatchingPrincipalRuleError && err.message === 'No rules apply to CN=alice, rules []');
  const onlyOps = SslPrincipalMapper.fromRules('RULE:^CN=(.*?),OU=ops$/$1/');
  assert.throws(() => onlyOps.map('CN=alice,OU=eng'), NoMatchingPrincipalRuleError);
  assert.equal(onlyOps.map('CN=bob,OU=ops'), 'bob');
});

test('the first matching rule wins, and a pattern must match the whole name', () => {
  const mapper = SslPrincipalMapper.fromRules('RULE:CN=([a-z]+)/$1/, RULE:CN=([a-z]+),O=(.*)/$2-$1/, DEFAULT');
  assert.equal(mapper.map('CN=alice'), 'alice');
  assert.equal(mapper.map('CN=alice,O=Acme'), 'Acme-alice');
  assert.equal(mapper.map('CN=Alice,O=Acme'), 'CN=Alice,O=Acme');
});

test('replacements follow Java: $n takes the longest existing group, unknown groups are literal (Kafka/NiFi), \\ quotes, $0 is the match', () => {
  // Three groups: $4 is no group, so it stays literal text; $12 is group 1 then "2".
  const three = SslPrincipalMapper.fromRules('RULE:^CN=(\\w+),OU=(\\w+),O=(\\w+)$/$1@$4|$12|$3$2/');
  assert.equal(three.map('CN=a,OU=b,O=c'), 'a@$4|a2|cb');
  // Eleven groups: $11 is group 11, $12 is group 1 then "2".
  const eleven = SslPrincipalMapper.fromRules('RULE:^(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)$/$11:$12:$10/');
  assert.equal(eleven.map('abcdefghijk'), 'k:a2:j');
  assert.equal(SslPrincipalMapper.fromRules('RULE:^CN=(\\w+)$/\\$1=$1 ($0)/').map('CN=x'), '$1=x (CN=x)');
  // Java's replaceAll replaces every match: a pattern that also matches the empty string at the end adds it again.
  assert.equal(SslPrincipalMapper.fromRules('RULE:(.*)/<$1>/').map('CN=x'), '<CN=x><>');
  // An unmatched optional group is empty.
  assert.equal(SslPrincipalMapper.fromRules('RULE:^CN=(\\w+)(,OU=(\\w+))?$/$1:$3/').map('CN=x'), 'x:');
});

test('a leading (?i) becomes the case-insensitive flag', () => {
  const mapper = SslPrincipalMapper.fromRules('RULE:(?i)^cn=([a-z]+),.*$/$1/L');
  assert.equal(mapper.map('CN=ALICE,O=Acme'), 'alice');
});

test('Java-only regex syntax and broken replacements are refused with the rule in the error', () => {
  const refused: [string, RegExp][] = [
    ['RULE:^CN=(.*+),OU=x$/$1/', /possessive quantifier \*\+/],
    ['RULE:^CN=(?>a+)$/$1/', /atomic group/],
    ['RULE:^CN=(\\p{Lower}+)$/$1/', /\\p/],
    ['RULE:\\QCN=a\\E/x/', /\\Q/],
    ['RULE:^CN=([a-z&&[^b]]+)$/$1/', /intersection|nested/],
    ['RULE:^CN=([]a])$/$1/', /first in a character class/],
    ['RULE:^CN=(a$/$1/', /bad pattern/],
    ['RULE:^CN=(a)$/$1\\/', /unmatched substring/], // the escaped slash leaves the rule unterminated
    ['RULE:^CN=(a)$/x$/', /group index is missing/],
    ['RULE:^CN=a$/$1/', /No group 1/],
  ];
  for (const [rules, detail] of refused) {
    assert.throws(() => SslPrincipalMapper.fromRules(rules), (err: unknown) => {
      assert.ok(err instanceof PrincipalMappingRuleError, `${rules}: ${String(err)}`);
      assert.match(err.message, /^ssl\.principal\.mapping\.rules: invalid rule `/);
      assert.match(err.message, detail, rules);
      return true;
    });
  }
  // Quantifier syntax that only looks possessive is fine: (?+ is not a quantifier, [*+] is a class.
  assert.equal(SslPrincipalMapper.fromRules('RULE:^CN=([*+]+)$/$1/').map('CN=*+'), '*+');
});
