// Option parsing of the ops subcommands (src/cli/args.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, type OptionSpecs } from '../../src/cli/args.js';
import { UsageError } from '../../src/admin/errors.js';
import { ferry } from './run-cli.js';

const SPECS: OptionSpecs = { json: { kind: 'bool' }, count: { kind: 'number' }, topic: { kind: 'string', aliases: ['-t'] } };

test('a bool option: --flag, --flag=true|false and --flag true|false', () => {
  assert.equal(parseArgs(['--json'], SPECS).values.get('json'), true);
  assert.equal(parseArgs(['--json=false'], SPECS).values.get('json'), false);
  assert.equal(parseArgs(['--json', 'true'], SPECS).values.get('json'), true);
  const p = parseArgs(['--json', 'false', 'pos'], SPECS);
  assert.equal(p.values.get('json'), false);
  assert.deepEqual(p.positionals, ['pos']);
  // Any other next word is not the flag's value.
  const q = parseArgs(['--json', 'yes', '--count', '3'], SPECS);
  assert.equal(q.values.get('json'), true);
  assert.deepEqual(q.positionals, ['yes']);
  assert.throws(() => parseArgs(['--json=yes'], SPECS), (e: unknown) => e instanceof UsageError && /--json takes no value \(or true\/false\), got yes/.test(e.message));
});

test('values, aliases, unknown options', () => {
  const p = parseArgs(['-t', 'a', '--count=2'], SPECS);
  assert.equal(p.values.get('topic'), 'a');
  assert.equal(p.values.get('count'), '2');
  assert.throws(() => parseArgs(['--nope'], SPECS), /unknown option --nope/);
  assert.throws(() => parseArgs(['--count', 'x'], SPECS), /--count expects a number/);
});

test('ferry cost --fetch-from-follower true|false (a bool input, also spelled --kafka-follower-fetching)', async () => {
  const on = JSON.parse((await ferry('cost', '--fetch-from-follower', 'true', '--json')).stdout);
  const off = JSON.parse((await ferry('cost', '--fetch-from-follower', 'false', '--json')).stdout);
  const bare = JSON.parse((await ferry('cost', '--fetch-from-follower', '--json')).stdout);
  const old = JSON.parse((await ferry('cost', '--kafka-follower-fetching', '--json')).stdout);
  assert.equal(on.inputs.fetchFromFollower, true);
  assert.equal(off.inputs.fetchFromFollower, false);
  assert.equal(bare.inputs.fetchFromFollower, true);
  assert.equal(old.inputs.fetchFromFollower, true);
});
