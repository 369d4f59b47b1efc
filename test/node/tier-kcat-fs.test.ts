import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerProcess } from '../helpers/broker-process.js';
import { kcatRoundTrip, TIGHT_TIER } from './kcat-roundtrip.js';

const broker = new BrokerProcess({ config: TIGHT_TIER });
after(() => broker.dispose());

test('fs object store: kcat produces 4x the WAL, the broker restarts cold, kcat reads it all back byte-exact', { timeout: 180_000 }, async () => {
  await broker.start();
  const { bytes } = await kcatRoundTrip(broker, 'tier-fs', 20_000);
  assert.ok(bytes > 4 * 4_194_304, `more than four times the WAL went through (${bytes} bytes)`);
});
