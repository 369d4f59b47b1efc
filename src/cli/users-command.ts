/**
 * `ferry users list|describe|add|delete`: SCRAM users over the Kafka protocol
 * (DescribeUserScramCredentials, AlterUserScramCredentials), the SCRAM half of Kafka's
 * kafka-configs.sh:
 *   kafka-configs.sh --alter --entity-type users --entity-name alice
 *       --add-config 'SCRAM-SHA-512=[iterations=8192,password=...]'
 *     = ferry users add --user alice --mechanism SCRAM-SHA-512 --password-file pw.txt
 * The password is salted here (PBKDF2 with a fresh random salt), as Kafka's admin client does:
 * only the salt and the salted password go to the broker, which keeps StoredKey and ServerKey.
 * Give it with --password-file or on stdin rather than --password, which shells keep in history.
 * Any Kafka broker with these APIs works (KRaft brokers from 3.5).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AdminClient } from '../admin/admin-client.js';
import { AdminError, UsageError } from '../admin/errors.js';
import { ApiKey } from '../protocol/messages/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { Args, type OptionSpecs } from './args.js';
import { COMMON_OPTIONS_USAGE, COMMON_OPTIONS, runReporting, withAdmin } from './admin-common.js';
import type { Io } from './output.js';
import { renderTable, toJson } from '../common/text-format.js';
import {
  SCRAM_MAX_ITERATIONS, SCRAM_MECHANISMS, SCRAM_MECHANISM_TYPE, SCRAM_MIN_ITERATIONS, saltPassword, scramAlgorithm, scramMechanismOfType,
  type ScramMechanism,
} from '../security/sasl/scram.js';

export const DEFAULT_SCRAM_ITERATIONS = 8192;
const PASSWORD_BYTES_MAX = 64 * 1024;

export const USERS_USAGE = `usage: ferry users <action> [options]

SCRAM users (the credentials SASL/SCRAM-SHA-256 and -512, and PLAIN for users not in the JAAS
config, authenticate against), kept by the brokers in the metadata store.

actions:
  list                            every user with SCRAM credentials: mechanism and iterations
  describe --user U [--user U2 ...]
                                  the mechanisms and iterations of these users
  add --user U [--mechanism M ...] [--iterations N]
      [--password P | --password-file FILE]
                                  create or replace the user's credentials; without
                                  --password/--password-file the password is read from stdin
                                  (one line). Mechanisms: SCRAM-SHA-256 and/or SCRAM-SHA-512
                                  (default: both); iterations ${SCRAM_MIN_ITERATIONS}..${SCRAM_MAX_ITERATIONS} (default ${DEFAULT_SCRAM_ITERATIONS})
  delete --user U [--mechanism M ...]
                                  remove the user's credentials (default: every mechanism it has)

${COMMON_OPTIONS_USAGE}`;

const OPTIONS: OptionSpecs = {
  ...COMMON_OPTIONS,
  user: { kind: 'list', aliases: ['--entity-name'] },
  mechanism: { kind: 'list' },
  iterations: { kind: 'string' },
  password: { kind: 'string' },
  'password-file': { kind: 'string' },
};

const ACTIONS = ['list', 'describe', 'add', 'delete'];

/** Reads the password when neither --password nor --password-file gives it (stdin by default). */
export type SecretReader = () => Promise<string>;

export async function runUsers(argv: string[], io: Io, readSecret: SecretReader = readStdinSecret): Promise<number> {
  return runReporting(io, 'users', USERS_USAGE, async () => {
    const args = Args.parse(argv, OPTIONS);
    const [action, ...extra] = args.positionals;
    if (args.bool('help') || action === undefined) { io.out(USERS_USAGE); return action === undefined && !args.bool('help') ? 2 : 0; }
    if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
    if (!ACTIONS.includes(action)) throw new UsageError(`unknown action '${action}'`);
    const json = args.bool('json');
    // Everything is checked (and the password read) before connecting.
    const run = await plan(action, args, readSecret);
    return await withAdmin(args, io, (admin) => run(admin, io, json));
  });
}

type Runner = (admin: AdminClient, io: Io, json: boolean) => Promise<number>;

function users(args: Args, action: string, one: boolean): string[] {
  const list = args.list('user').flatMap((u) => u.split(',')).filter((u) => u !== '');
  if (list.length === 0) throw new UsageError(`${action} needs --user`);
  if (one && list.length > 1) throw new UsageError(`${action} takes one --user`);
  return list;
}

function mechanisms(args: Args): ScramMechanism[] | null {
  const given = args.list('mechanism').flatMap((m) => m.split(',')).map((m) => m.trim().toUpperCase()).filter((m) => m !== '');
  if (given.length === 0) return null;
  for (const m of given) if (!(SCRAM_MECHANISMS as readonly string[]).includes(m)) throw new UsageError(`--mechanism ${m}: expected SCRAM-SHA-256 or SCRAM-SHA-512`);
  return [...new Set(given as ScramMechanism[])];
}

function noneOf(args: Args, action: string, names: string[]): void {
  for (const n of names) if (args.has(n)) throw new UsageError(`--${n} is not an option of ${action}`);
}

async function plan(action: string, args: Args, readSecret: SecretReader): Promise<Runner> {
  switch (action) {
    case 'list':
      noneOf(args, action, ['user', 'mechanism', 'iterations', 'password', 'password-file']);
      return (admin, o, json) => list(admin, o, json, null);
    case 'describe': {
      noneOf(args, action, ['mechanism', 'iterations', 'password', 'password-file']);
      const names = users(args, action, false);
      return (admin, o, json) => list(admin, o, json, names);
    }
    case 'add': {
      const [user] = users(args, action, true);
      const mechs = mechanisms(args) ?? [...SCRAM_MECHANISMS];
      const it = args.str('iterations');
      const iterations = it === undefined ? DEFAULT_SCRAM_ITERATIONS : Number(it);
      if (!/^\d+$/.test(it ?? '0') || iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS) {
        throw new UsageError(`--iterations must be ${SCRAM_MIN_ITERATIONS}..${SCRAM_MAX_ITERATIONS}`);
      }
      const password = await passwordOf(args, readSecret);
      return (admin, o, json) => add(admin, o, json, user!, mechs, iterations, password);
    }
    case 'delete': {
      noneOf(args, action, ['iterations', 'password', 'password-file']);
      const [user] = users(args, action, true);
      const mechs = mechanisms(args);
      return (admin, o, json) => remove(admin, o, json, user!, mechs);
    }
  }
  throw new UsageError(`unknown action '${action}'`);
}

async function passwordOf(args: Args, readSecret: SecretReader): Promise<string> {
  const inline = args.str('password');
  const file = args.str('password-file');
  if (inline !== undefined && file !== undefined) throw new UsageError('give --password or --password-file, not both');
  let password: string;
  if (inline !== undefined) password = inline;
  else if (file !== undefined) {
    let text: string;
    try { text = await readFile(file, 'utf8'); } catch (err) { throw new UsageError(`--password-file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`); }
    if (text.length > PASSWORD_BYTES_MAX) throw new UsageError(`--password-file ${file}: larger than ${PASSWORD_BYTES_MAX} bytes`);
    password = firstLine(text);
  } else {
    password = firstLine(await readSecret());
  }
  if (password === '') throw new UsageError('the password is empty');
  return password;
}

/** The first line, without its line ending (a file or stdin ends with one). */
function firstLine(text: string): string {
  const nl = text.search(/\r?\n/);
  return nl < 0 ? text : text.slice(0, nl);
}

/** One line from stdin; on a terminal, prompted and not echoed. */
export async function readStdinSecret(): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    process.stderr.write('Password: ');
    stdin.setRawMode(true);
    stdin.resume();
    try {
      return await new Promise<string>((resolve, reject) => {
        let s = '';
        const onData = (d: Buffer) => {
          for (const ch of d.toString('utf8')) {
            if (ch === '\r' || ch === '\n') { stdin.off('data', onData); process.stderr.write('\n'); resolve(s); return; }
            if (ch === '\u0003') { stdin.off('data', onData); reject(new UsageError('interrupted')); return; }
            if (ch === '\u007f') s = s.slice(0, -1);
            else s += ch;
          }
        };
        stdin.on('data', onData);
      });
    } finally {
      stdin.setRawMode(false);
      stdin.pause();
    }
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const c of stdin as AsyncIterable<Buffer>) {
    bytes += c.length;
    if (bytes > PASSWORD_BYTES_MAX) throw new UsageError(`the password on stdin is larger than ${PASSWORD_BYTES_MAX} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface UserCredentials { user: string; credentials: Array<{ mechanism: string; iterations: number }> }

/** DescribeUserScramCredentials of `names` (null: every user). Users without credentials are left out when listing all. */
export async function describeScramUsers(admin: AdminClient, names: string[] | null): Promise<UserCredentials[]> {
  const res = await admin.any.request(ApiKey.DescribeUserScramCredentials, 0, { users: names === null ? null : names.map((name) => ({ name })) });
  if (res.errorCode !== 0) throw new AdminError(res.errorCode, 'describe SCRAM users', res.errorMessage ?? undefined);
  const out: UserCredentials[] = [];
  for (const r of res.results as Array<{ user: string; errorCode: number; errorMessage: string | null; credentialInfos: Array<{ mechanism: number; iterations: number }> }>) {
    if (r.errorCode !== 0) throw new AdminError(r.errorCode, `describe SCRAM user ${r.user}`, r.errorMessage ?? undefined);
    out.push({
      user: r.user,
      credentials: r.credentialInfos.map((c) => ({ mechanism: scramMechanismOfType(c.mechanism) ?? `UNKNOWN(${c.mechanism})`, iterations: c.iterations })).sort((a, b) => a.mechanism.localeCompare(b.mechanism)),
    });
  }
  return out.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
}

async function list(admin: AdminClient, io: Io, json: boolean, names: string[] | null): Promise<number> {
  const described = await describeScramUsers(admin, names);
  if (json) {
    io.out(toJson(described));
  } else if (names === null) {
    if (described.length === 0) io.out('No SCRAM users.\n');
    else io.out(renderTable(['USER', 'MECHANISM', 'ITERATIONS'], described.flatMap((u) => u.credentials.map((c) => [u.user, c.mechanism, c.iterations]))));
  } else {
    // As kafka-configs.sh --describe --entity-type users prints them.
    for (const u of described) io.out(`SCRAM credential configs for user-principal '${u.user}' are ${u.credentials.map((c) => `${c.mechanism}=iterations=${c.iterations}`).join(', ')}\n`);
  }
  return 0;
}

async function alterOne(admin: AdminClient, what: string, body: object): Promise<void> {
  const res = await admin.any.request(ApiKey.AlterUserScramCredentials, 0, body);
  for (const r of res.results as Array<{ user: string; errorCode: number; errorMessage: string | null }>) {
    if (r.errorCode !== 0) throw new AdminError(r.errorCode, what, r.errorMessage ?? undefined);
  }
}

async function add(admin: AdminClient, io: Io, json: boolean, user: string, mechs: ScramMechanism[], iterations: number, password: string): Promise<number> {
  // One request per mechanism: Kafka refuses a user twice in one request (DUPLICATE_RESOURCE).
  for (const m of mechs) {
    const salt = randomBytes(32);
    const saltedPassword = await saltPassword(scramAlgorithm(m), password, salt, iterations);
    await alterOne(admin, `add ${m} credential of user ${user}`, {
      deletions: [], upsertions: [{ name: user, mechanism: SCRAM_MECHANISM_TYPE[m], iterations, salt, saltedPassword }],
    });
  }
  if (json) io.out(toJson({ user, added: mechs.map((mechanism) => ({ mechanism, iterations })) }));
  else io.out(`Added ${mechs.join(' and ')} credentials of user '${user}' (${iterations} iterations).\n`);
  return 0;
}

async function remove(admin: AdminClient, io: Io, json: boolean, user: string, mechs: ScramMechanism[] | null): Promise<number> {
  let targets = mechs;
  if (targets === null) {
    const [u] = await describeScramUsers(admin, [user]); // RESOURCE_NOT_FOUND when it has none
    targets = u!.credentials.map((c) => c.mechanism).filter((m): m is ScramMechanism => (SCRAM_MECHANISMS as readonly string[]).includes(m));
    if (targets.length === 0) throw new AdminError(ErrorCode.RESOURCE_NOT_FOUND, `delete user ${user}`, 'it has no SCRAM credentials');
  }
  for (const m of targets) {
    await alterOne(admin, `delete ${m} credential of user ${user}`, { upsertions: [], deletions: [{ name: user, mechanism: SCRAM_MECHANISM_TYPE[m] }] });
  }
  if (json) io.out(toJson({ user, deleted: targets }));
  else io.out(`Deleted ${targets.join(' and ')} credentials of user '${user}'.\n`);
  return 0;
}
