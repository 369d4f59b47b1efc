// The README's table of Kafka API keys says what a default broker really answers: every key of
// Kafka's protocol listed once, in order, and the versions column equal to ApiVersions'.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker } from '../broker/in-process-broker.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { API_TABLE } from '../../src/protocol/messages/index.js';

/** The highest API key of the specs the codecs were generated from (ShareGroupStateSummary). */
const LAST_KAFKA_KEY = 87;

interface Row { key: number; name: string; served: string }

function readmeRows(): Row[] {
  const text = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
  const start = text.indexOf('\n## Kafka APIs');
  assert.ok(start >= 0, 'README has a "## Kafka APIs" section');
  const section = text.slice(start + 1, text.indexOf('\n## ', start + 1));
  return section.split('\n').filter((l) => /^\| \d+ \|/.test(l)).map((l) => {
    const cells = l.split('|').slice(1, -1).map((c) => c.trim());
    return { key: Number(cells[0]), name: cells[1]!.replace(/`/g, ''), served: cells[2]! };
  });
}

/** "v0–11", "v4–17", "v0" or "no" as the README writes it. */
function versionsText(min: number, max: number): string {
  return min === max ? `v${min}` : `v${min}–${max}`;
}

describe('README table of Kafka API keys', () => {
  let broker: Awaited<ReturnType<typeof startBroker>>;
  let served: Map<number, string>;

  before(async () => {
    broker = await startBroker();
    const conn = await RawKafkaConnection.connect(broker.bootstrap);
    try {
      const r = await conn.request(18, 3, { clientSoftwareName: 'readme-test', clientSoftwareVersion: '1' });
      assert.equal(r.errorCode, 0);
      served = new Map(r.apiKeys.map((k: { apiKey: number; minVersion: number; maxVersion: number }) => [k.apiKey, versionsText(k.minVersion, k.maxVersion)]));
    } finally { conn.close(); }
  });
  after(async () => { await broker?.cleanup(); });

  it('lists every key from 0 to the last one once, in order', () => {
    const keys = readmeRows().map((r) => r.key);
    assert.deepEqual(keys, Array.from({ length: LAST_KAFKA_KEY + 1 }, (_, i) => i));
  });

  it("names each API as Kafka's specs do", () => {
    for (const row of readmeRows()) {
      const spec = API_TABLE.get(row.key);
      if (spec) assert.equal(row.name, spec.name, `key ${row.key}`);
    }
  });

  it('gives the versions a default broker advertises, and "no" for the rest', () => {
    const wrong = readmeRows().filter((row) => row.served !== (served.get(row.key) ?? 'no'))
      .map((row) => `${row.key} ${row.name}: README ${row.served}, broker ${served.get(row.key) ?? 'no'}`);
    assert.deepEqual(wrong, []);
  });
});
