// looksLikeTlsClientHello on the first bytes real clients send: a Node TLS client (1.2 and 1.3
// ClientHellos) and the openssl CLI say yes; a Kafka request frame and short or other bytes say no.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { requireTool } from '../helpers/require-tool.js';
import { encodeRequestFrame } from '../helpers/raw-kafka.js';
import { looksLikeTlsClientHello } from '../../src/protocol/tls-sniff.js';

/** The first bytes a client sends to a plain TCP server. */
async function firstBytes(startClient: (port: number) => () => void): Promise<Buffer> {
  let stop = () => {};
  const server = createServer();
  const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => {
    s.once('data', (d: Buffer) => { resolve(d); s.destroy(); });
    s.on('error', () => {});
  }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    stop = startClient((server.address() as AddressInfo).port);
    return await got;
  } finally {
    stop();
    server.close();
  }
}

function nodeClient(maxVersion: 'TLSv1.2' | 'TLSv1.3') {
  return (port: number) => {
    const s = connect({ host: '127.0.0.1', port, maxVersion, rejectUnauthorized: false });
    s.on('error', () => {});
    return () => s.destroy();
  };
}

test('a TLS ClientHello from Node (1.2 and 1.3) and from openssl s_client is recognized', async () => {
  for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
    const bytes = await firstBytes(nodeClient(v));
    assert.equal(bytes[0], 0x16);
    assert.ok(looksLikeTlsClientHello(bytes), v);
    assert.ok(looksLikeTlsClientHello(bytes.subarray(0, 4)), `${v}: the 4 bytes a Kafka frame size is read from`);
    // What the plaintext listener would read as a frame size: hundreds of megabytes.
    assert.ok(bytes.readInt32BE(0) > 350 * 1024 * 1024);
  }
  const openssl = requireTool('openssl', 'apt-get install -y openssl');
  const bytes = await firstBytes((port) => {
    const child = spawn(openssl, ['s_client', '-connect', `127.0.0.1:${port}`], { stdio: ['pipe', 'ignore', 'ignore'] });
    return () => child.kill('SIGKILL');
  });
  assert.ok(looksLikeTlsClientHello(bytes));
});

test('a Kafka request, short input and other TLS records are not a ClientHello', () => {
  const apiVersions = encodeRequestFrame(18, 3, { clientSoftwareName: 'sniff-test', clientSoftwareVersion: '1' }, 1);
  assert.equal(looksLikeTlsClientHello(apiVersions), false);
  assert.equal(looksLikeTlsClientHello(Buffer.alloc(0)), false);
  assert.equal(looksLikeTlsClientHello(Buffer.from([0x16, 0x03])), false);
  assert.equal(looksLikeTlsClientHello(Buffer.from([0x16, 0x03, 0x01])), true);
  assert.equal(looksLikeTlsClientHello(Buffer.from([0x16, 0x03, 0x05, 0x00, 0x10, 0x01])), false, 'no such record version');
  assert.equal(looksLikeTlsClientHello(Buffer.from([0x17, 0x03, 0x03, 0x00, 0x10, 0x01])), false, 'application data');
  assert.equal(looksLikeTlsClientHello(Buffer.from([0x16, 0x03, 0x03, 0x00, 0x10, 0x02])), false, 'ServerHello');
});
