// Transcript tests of the leader assignment (etcd's style): each scenarios/<name>.scn is a list of
// commands; the runner applies them to a model of the cluster and writes an event log that must
// equal scenarios/<name>.expected. After a deliberate change, regenerate with
//   FERRY_REGEN_SCENARIOS=1 node scripts/run-tests.mjs control-plane-scenarios
// and review the diff.
//
// Commands:  broker <id> <rack>   a broker registers (eligible)
//            kill <id>            its lease expires (gone)
//            drain <id>           controlled shutdown (live, not eligible)
//            topic <name> <partitions> <creator>   leader = creator at epoch 0 (as TopicRegistry does)
//            balance | repair     one controller reconcile; prints changes, loads and per-topic spread
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { computeAssignment, type AssignmentPartition } from '../../src/cluster/assignment.js';

const dir = join(import.meta.dirname, 'scenarios');
const regen = process.env.FERRY_REGEN_SCENARIOS === '1';

function run(script: string): string {
  const brokers = new Map<number, { rack: string; state: 'live' | 'draining' }>();
  const partitions: AssignmentPartition[] = [];
  const out: string[] = [];
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    out.push(`> ${line}`);
    const [cmd, ...args] = line.split(/\s+/);
    if (cmd === 'broker') brokers.set(Number(args[0]), { rack: args[1]!, state: 'live' });
    else if (cmd === 'kill') brokers.delete(Number(args[0]));
    else if (cmd === 'drain') brokers.get(Number(args[0]))!.state = 'draining';
    else if (cmd === 'topic') {
      for (let p = 0; p < Number(args[1]); p++) partitions.push({ topicId: args[0]!, partition: p, leader: Number(args[2]), leaderEpoch: 0 });
    } else if (cmd === 'balance' || cmd === 'repair') {
      const eligible = [...brokers].filter(([, b]) => b.state === 'live').map(([nodeId, b]) => ({ nodeId, rack: b.rack }));
      const { changes, loads } = computeAssignment(eligible, partitions, { balance: cmd === 'balance' });
      for (const c of changes) {
        const how = c.from !== null && brokers.has(c.from) ? 'graceful' : 'immediate';
        out.push(`  ${c.topicId}/${c.partition} ${c.from ?? '-'} -> ${c.to} epoch ${c.newEpoch} ${c.reason} ${how}`);
        const p = partitions.find((x) => x.topicId === c.topicId && x.partition === c.partition)!;
        p.leader = c.to;
        p.leaderEpoch = c.newEpoch;
      }
      out.push(`  ${changes.length} changes; loads ${[...loads].map(([id, n]) => `${id}:${n}`).join(' ')}`);
      for (const topic of [...new Set(partitions.map((p) => p.topicId))]) {
        const perBroker = new Map<number, number>();
        const perRack = new Map<string, number>();
        for (const p of partitions.filter((x) => x.topicId === topic)) {
          perBroker.set(p.leader!, (perBroker.get(p.leader!) ?? 0) + 1);
          const rack = brokers.get(p.leader!)?.rack ?? '?';
          perRack.set(rack, (perRack.get(rack) ?? 0) + 1);
        }
        const fmt = <K>(m: Map<K, number>): string => [...m].sort((a, b) => String(a[0]).localeCompare(String(b[0]))).map(([k, n]) => `${String(k)}:${n}`).join(' ');
        out.push(`  ${topic}: brokers ${fmt(perBroker)} | racks ${fmt(perRack)}`);
      }
    } else {
      throw new Error(`unknown scenario command: ${line}`);
    }
  }
  return `${out.join('\n')}\n`;
}

const scenarios = readdirSync(dir).filter((f) => f.endsWith('.scn')).sort();
test('there are scenarios', () => assert.ok(scenarios.length >= 3));

for (const file of scenarios) {
  test(`scenario ${file}`, () => {
    const got = run(readFileSync(join(dir, file), 'utf8'));
    const expectedPath = join(dir, file.replace(/\.scn$/, '.expected'));
    if (regen) writeFileSync(expectedPath, got);
    assert.ok(existsSync(expectedPath), `${expectedPath} is missing: run with FERRY_REGEN_SCENARIOS=1 and review it`);
    assert.equal(got, readFileSync(expectedPath, 'utf8'));
  });
}
