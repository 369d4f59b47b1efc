/**
 * SCRAM: the example exchanges of RFC 5802 (SCRAM-SHA-1) and RFC 7677 (SCRAM-SHA-256), byte for
 * byte, through both Ferry's ScramServer and ScramClient with the RFCs' fixed nonces; then
 * SCRAM-SHA-512 between the two, and the ways the server refuses (Kafka's generic message where
 * the reason must stay hidden, its specific one for a foreign authorization id).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScramServer } from '../../../src/security/sasl/scram-server.js';
import { ScramClient, ScramClientError } from '../../../src/security/sasl/scram-client.js';
import {
  authMessage, clientProof, serverSignature, credentialFromPassword, fromSaslName, parseClientFirst, saltPasswordSync, credentialFromSaltedPassword, scramAlgorithm, toSaslName,
  type ScramAlgorithm, type ScramCredential,
} from '../../../src/security/sasl/scram.js';
import { SaslFailure } from '../../../src/security/sasl/sasl-failure.js';

const SHA1: ScramAlgorithm = { name: 'SCRAM-SHA-1', digest: 'sha1' };
const SHA256 = scramAlgorithm('SCRAM-SHA-256');
const SHA512 = scramAlgorithm('SCRAM-SHA-512');

const b = (s: string) => Buffer.from(s, 'utf8');

interface Vector { a: ScramAlgorithm; clientNonce: string; serverNonce: string; salt: string; clientFirst: string; serverFirst: string; clientFinal: string; serverFinal: string }

const RFC5802: Vector = {
  a: SHA1, clientNonce: 'fyko+d2lbbFgONRv9qkxdawL', serverNonce: '3rfcNHYJY1ZVvWVs7j', salt: 'QSXCR+Q6sek8bf92',
  clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
  serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
  clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
  serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
};

const RFC7677: Vector = {
  a: SHA256, clientNonce: 'rOprNGfwEbeRWgbNEkqO', serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0', salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

function credentialOf(v: Vector): ScramCredential {
  const salt = Buffer.from(v.salt, 'base64');
  return credentialFromSaltedPassword(v.a, salt, saltPasswordSync(v.a, 'pencil', salt, 4096), 4096);
}

for (const [name, v] of [['RFC 5802 (SCRAM-SHA-1)', RFC5802], ['RFC 7677 (SCRAM-SHA-256)', RFC7677]] as const) {
  test(`${name}: the server answers the example exchange byte for byte`, async () => {
    const cred = credentialOf(v);
    const server = new ScramServer(v.a, async (u) => (u === 'user' ? cred : null), () => v.serverNonce);
    assert.equal((await server.evaluate(b(v.clientFirst))).toString(), v.serverFirst);
    assert.equal(server.complete, false);
    assert.equal((await server.evaluate(b(v.clientFinal))).toString(), v.serverFinal);
    assert.equal(server.complete, true);
    assert.equal(server.authorizationId, 'user');
  });

  test(`${name}: the client sends the example messages and accepts the server's signature`, async () => {
    const client = new ScramClient(v.a, 'user', 'pencil', v.clientNonce);
    assert.equal(client.firstMessage().toString(), v.clientFirst);
    assert.equal((await client.finalMessage(b(v.serverFirst))).toString(), v.clientFinal);
    client.verifyServerFinal(b(v.serverFinal));
    assert.throws(() => client.verifyServerFinal(b('v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=')), ScramClientError);
  });
}

async function exchange(a: ScramAlgorithm, cred: ScramCredential | null, user: string, password: string): Promise<ScramServer> {
  const server = new ScramServer(a, async (u) => (u === user ? cred : null));
  const client = new ScramClient(a, user, password);
  const serverFirst = await server.evaluate(client.firstMessage());
  const serverFinal = await server.evaluate(await client.finalMessage(serverFirst));
  client.verifyServerFinal(serverFinal);
  return server;
}

const generic = (err: unknown) => err instanceof SaslFailure && err.clientMessage === null;

test('SCRAM-SHA-512 and -256 between ScramClient and ScramServer, with user names that need escaping', async () => {
  for (const a of [SHA512, SHA256]) {
    const user = 'al=ice,ops';
    const server = await exchange(a, await credentialFromPassword(a, 'secret', 4096), user, 'secret');
    assert.equal(server.authorizationId, user);
  }
  assert.equal(toSaslName('a=b,c'), 'a=3Db=2Cc');
  assert.equal(fromSaslName('a=3Db=2Cc'), 'a=b,c');
  assert.equal(fromSaslName('a=4Fb'), null, "a '=' that is not =2C or =3D");
});

test('a wrong password fails at the proof with the generic message (the reason stays in the log)', async () => {
  const cred = await credentialFromPassword(SHA256, 'secret', 4096);
  await assert.rejects(exchange(SHA256, cred, 'alice', 'wrong'), (err) => generic(err) && /invalid client proof/.test((err as SaslFailure).reason));
});

test('an unknown user fails at client-first with the same generic message as a wrong password', async () => {
  const server = new ScramServer(SHA256, async () => null);
  await assert.rejects(server.evaluate(b('n,,n=nobody,r=abc')), (err) => generic(err) && /unknown user/.test((err as SaslFailure).reason));
  assert.equal(server.attemptedUser, 'nobody');
  await assert.rejects(server.evaluate(b('n,,n=nobody,r=abc')), generic, 'a failed exchange stays failed');
});

test('client-first refusals: channel binding, bad names, a foreign authzid, delegation tokens, too few iterations, a credential store failure', async () => {
  const cred = await credentialFromPassword(SHA256, 'secret', 4096);
  const first = async (msg: string, c: ScramCredential | null = cred) => new ScramServer(SHA256, async () => c).evaluate(b(msg));
  await assert.rejects(first('p=tls-unique,,n=alice,r=abc'), (e) => generic(e) && /channel binding/.test((e as SaslFailure).reason));
  await assert.rejects(first('x,,n=alice,r=abc'), generic);
  await assert.rejects(first('n,,n=al=ice,r=abc'), generic);
  await assert.rejects(first('n,,n=alice'), generic);
  await assert.rejects(first('n,,n=alice,r=a,b'), generic, 'extension without a value');
  await assert.rejects(first('n,a=bob,n=alice,r=abc'), (e) => e instanceof SaslFailure && e.clientMessage === 'Authentication failed: Client requested an authorization id that is different from username');
  assert.ok((await first('n,a=alice,n=alice,r=abc')).toString().startsWith('r=abc'), 'authzid equal to the user is fine');
  await assert.rejects(first('n,,n=alice,r=abc,tokenauth=true'), (e) => generic(e) && /delegation tokens/.test((e as SaslFailure).reason));
  assert.ok((await first('n,,n=alice,r=abc,other=1')).toString().startsWith('r=abc'), 'other extensions are ignored');
  await assert.rejects(first('n,,n=alice,r=abc', { ...cred, iterations: 1000 }), generic);
  await assert.rejects(new ScramServer(SHA256, async () => { throw new Error('etcd down'); }).evaluate(b('n,,n=alice,r=abc')),
    (e) => generic(e) && /could not be obtained/.test((e as SaslFailure).reason));
  const y = parseClientFirst('y,,n=alice,r=abc');
  assert.equal(y.gs2Header, 'y,,');
});

test('client-final refusals: another nonce, a channel binding that does not repeat the gs2 header, a malformed message', async () => {
  const cred = await credentialFromPassword(SHA256, 'secret', 4096);
  const start = async () => {
    const server = new ScramServer(SHA256, async () => cred, () => 'SERVER');
    await server.evaluate(b('n,,n=alice,r=CLIENT'));
    return server;
  };
  await assert.rejects((await start()).evaluate(b('c=biws,r=CLIENTOTHER,p=AAAA')), (e) => generic(e) && /nonce/.test((e as SaslFailure).reason));
  await assert.rejects((await start()).evaluate(b('c=biws,r=XCLIENTSERVER,p=AAAA')), (e) => generic(e) && /nonce/.test((e as SaslFailure).reason), 'only the exact librdkafka prefix is tolerated');
  await assert.rejects((await start()).evaluate(b(`c=${Buffer.from('y,,').toString('base64')},r=CLIENTSERVER,p=AAAA`)), (e) => generic(e) && /channel binding/.test((e as SaslFailure).reason));
  await assert.rejects((await start()).evaluate(b('c=biws,r=CLIENTSERVER')), generic);
  await assert.rejects((await start()).evaluate(b('c=biws,r=CLIENTSERVER,p=not base64!')), generic);
});

test('librdkafka < 2.6.1 sends its nonce twice in client-final (librdkafka#4895): accepted, as Kafka 3.8.1+ does', async () => {
  const cred = await credentialFromPassword(SHA256, 'secret', 4096);
  const server = new ScramServer(SHA256, async () => cred, () => 'SERVER');
  const bare = 'n=alice,r=CLIENT';
  const serverFirst = (await server.evaluate(b(`n,,${bare}`))).toString();
  const salted = saltPasswordSync(SHA256, 'secret', cred.salt, 4096);
  const withoutProof = 'c=biws,r=CLIENTCLIENTSERVER';
  const message = authMessage(bare, serverFirst, withoutProof);
  const final = await server.evaluate(b(`${withoutProof},p=${clientProof(SHA256, salted, message).toString('base64')}`));
  assert.equal(final.toString(), `v=${serverSignature(SHA256, cred.serverKey, message).toString('base64')}`);
  assert.equal(server.authorizationId, 'alice');
});

test('the client refuses a server nonce that does not extend its own, and too few iterations', async () => {
  const client = new ScramClient(SHA256, 'alice', 'secret', 'CLIENT');
  await assert.rejects(client.finalMessage(b('r=OTHER,s=QSXCR+Q6sek8bf92,i=4096')), /does not extend/);
  await assert.rejects(new ScramClient(SHA256, 'alice', 'secret', 'CLIENT').finalMessage(b('r=CLIENTx,s=QSXCR+Q6sek8bf92,i=100')), /less than the minimum 4096/);
  await assert.rejects(new ScramClient(SHA256, 'alice', 'secret', 'CLIENT').finalMessage(b('r=CLIENTx,s=???,i=4096')), ScramClientError);
  const c = new ScramClient(SHA256, 'alice', 'secret', 'CLIENT');
  await c.finalMessage(b('r=CLIENTx,s=QSXCR+Q6sek8bf92,i=4096'));
  assert.throws(() => c.verifyServerFinal(b('e=invalid-proof')), /the server refused: invalid-proof/);
});
