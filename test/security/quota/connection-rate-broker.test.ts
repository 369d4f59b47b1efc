// Connection creation rates on broker processes: connection_creation_rate on the default ip
// entity (set with `ferry quotas alter --ip-default`) and then on the client's own address, and
// a listener's max.connection.creation.rate. A refused connection is closed at accept; an
// admitted one answers ApiVersions. Kafka's rate allows (samples - 1) windows of the rate at once.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { ApiKey } from '../../../src/protocol/messages/index.js';
import { runQuotas } from '../../../src/cli/quotas-command.js';
import { BrokerProcess } from '../../helpers/broker-process.js';
import { encodeRequestFrame } from '../../helpers/raw-kafka.js';
import { sleep } from '../../helpers/wait.js';

/** Opens `n` connections at once from `from`; how many answered ApiVersions (the others were closed at accept). */
async function burst(bootstrap: string, n: number, from = '127.0.0.1'): Promise<{ answered: number; closed: number }> {
  const [host, port] = bootstrap.split(':');
  const one = () => new Promise<boolean>((resolve) => {
    const s = connect({ host: host!, port: Number(port), localAddress: from });
    const done = (answered: boolean) => { clearTimeout(timer); s.destroy(); resolve(answered); };
    const timer = setTimeout(() => done(false), 5_000);
    s.once('connect', () => s.write(encodeRequestFrame(ApiKey.ApiVersions, 0, {}, 1)));
    s.once('data', () => done(true));
    s.once('close', () => done(false));
    s.once('error', () => done(false));
  });
  const results = await Promise.all(Array.from({ length: n }, one));
  const answered = results.filter(Boolean).length;
  return { answered, closed: n - answered };
}

async function quotas(...argv: string[]): Promise<void> {
  let err = '';
  const code = await runQuotas(argv, { out: () => {}, err: (t) => { err += t; } });
  assert.equal(code, 0, err);
}

describe('connection creation rate on a broker', { timeout: 60_000 }, () => {
  const plain = new BrokerProcess();
  const limited = new BrokerProcess({ config: { 'max.connection.creation.rate': '3' } });
  before(async () => { await Promise.all([plain.start(), limited.start()]); });
  after(async () => { await Promise.all([plain.dispose(), limited.dispose()]); });

  test('connection_creation_rate of the default ip entity, then of the address itself', async () => {
    // The burst comes from 127.0.0.2, the CLI from 127.0.0.1: each address has its own rate.
    const client = '127.0.0.2';
    await quotas('alter', '--add', 'connection_creation_rate=5', '--ip-default', '-b', plain.bootstrap);
    await sleep(300);
    // 5/s over 10 padded one-second windows: 50 at once (a few more if the burst spans into a later window).
    const first = await burst(plain.bootstrap, 100, client);
    assert.ok(first.answered >= 50 && first.answered <= 56, `answered ${first.answered} of 100 under 5/s`);
    const again = await burst(plain.bootstrap, 10, client);
    assert.equal(again.answered, 0, 'the address is still over its rate');

    await quotas('alter', '--add', 'connection_creation_rate=1000', '--ip', client, '-b', plain.bootstrap);
    await sleep(300);
    const own = await burst(plain.bootstrap, 30, client);
    assert.equal(own.answered, 30, 'the address\'s own quota takes precedence over the default');
  });

  test('a listener\'s max.connection.creation.rate', async () => {
    const r = await burst(limited.bootstrap, 60);
    // The broker's own start-up may have made a connection or two; 3/s allows 30 at once.
    assert.ok(r.answered >= 27 && r.answered <= 33, `answered ${r.answered} of 60 under 3/s`);
    assert.match(limited.logs, /connection creation rate/);
  });
});
