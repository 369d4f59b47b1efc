/**
 * SCRAM credentials in the metadata store, one record per user and mechanism:
 *
 *   <root>scram/<mechanism>/<user, escapeSegment'ed>   {"salt","storedKey","serverKey","iterations"} (base64)
 *
 * Never the password. Reads go to the store every time, so a credential altered through any
 * broker (AlterUserScramCredentials) applies on every broker at once; one authentication costs
 * one read.
 */
import { decodeJson, encodeJson, MetadataStoreError, type MetadataStore, type Op } from '../../cluster/metadata-store.js';
import { ETCD_LIMITS } from '../../cluster/metadata-store.js';
import { escapeSegment, unescapeSegment } from '../../cluster/metadata-keys.js';
import { SCRAM_MECHANISMS, isScramMechanism, type ScramCredential, type ScramMechanism } from './scram.js';

export interface ScramCredentialInfo {
  user: string;
  mechanism: ScramMechanism;
  iterations: number;
}

export type ScramCredentialChange =
  | { type: 'put'; user: string; mechanism: ScramMechanism; credential: ScramCredential }
  | { type: 'delete'; user: string; mechanism: ScramMechanism };

export interface ScramCredentialStore {
  get(mechanism: ScramMechanism, user: string): Promise<ScramCredential | null>;
  put(mechanism: ScramMechanism, user: string, credential: ScramCredential): Promise<void>;
  /** false when there was no such credential. */
  delete(mechanism: ScramMechanism, user: string): Promise<boolean>;
  /** Every credential's user, mechanism and iterations, sorted by user then mechanism. */
  list(): Promise<ScramCredentialInfo[]>;
  /** Several changes together: all of them or (on an error) none, when they fit one store transaction. */
  apply(changes: readonly ScramCredentialChange[]): Promise<void>;
}

/** The key prefix of every SCRAM credential under a cluster's root (`/ferry/<cluster>/`). */
export function scramCredentialsPrefix(root: string): string { return `${root}scram/`; }

export function scramCredentialKey(root: string, mechanism: ScramMechanism, user: string): string {
  return `${scramCredentialsPrefix(root)}${mechanism}/${escapeSegment(user)}`;
}

interface StoredCredential { salt: string; storedKey: string; serverKey: string; iterations: number }

function encodeCredential(c: ScramCredential): Buffer {
  const v: StoredCredential = { salt: c.salt.toString('base64'), storedKey: c.storedKey.toString('base64'), serverKey: c.serverKey.toString('base64'), iterations: c.iterations };
  return encodeJson(v);
}

function decodeCredential(buf: Buffer, key: string): ScramCredential {
  const v = decodeJson<Partial<StoredCredential>>(buf, key);
  const ok = typeof v.salt === 'string' && typeof v.storedKey === 'string' && typeof v.serverKey === 'string' && Number.isInteger(v.iterations);
  if (!ok) throw new MetadataStoreError('METADATA_BAD_VALUE', `${key}: not a SCRAM credential record`);
  return { salt: Buffer.from(v.salt!, 'base64'), storedKey: Buffer.from(v.storedKey!, 'base64'), serverKey: Buffer.from(v.serverKey!, 'base64'), iterations: v.iterations! };
}

export class MetadataScramCredentialStore implements ScramCredentialStore {
  constructor(private readonly store: Pick<MetadataStore, 'get' | 'put' | 'delete' | 'list' | 'txn'>, private readonly root: string) {}

  async get(mechanism: ScramMechanism, user: string): Promise<ScramCredential | null> {
    const key = scramCredentialKey(this.root, mechanism, user);
    const kv = await this.store.get(key);
    return kv ? decodeCredential(kv.value, key) : null;
  }

  async put(mechanism: ScramMechanism, user: string, credential: ScramCredential): Promise<void> {
    await this.store.put(scramCredentialKey(this.root, mechanism, user), encodeCredential(credential));
  }

  async delete(mechanism: ScramMechanism, user: string): Promise<boolean> {
    const key = scramCredentialKey(this.root, mechanism, user);
    const r = await this.store.txn([{ key, target: 'version', op: '>', value: 0 }], [{ type: 'delete', key }]);
    return r.succeeded;
  }

  async list(): Promise<ScramCredentialInfo[]> {
    const prefix = scramCredentialsPrefix(this.root);
    const out: ScramCredentialInfo[] = [];
    for (const kv of await this.store.list(prefix)) {
      const rest = kv.key.slice(prefix.length);
      const slash = rest.indexOf('/');
      const mechanism = rest.slice(0, slash);
      if (slash < 0 || !isScramMechanism(mechanism)) continue;
      out.push({ user: unescapeSegment(rest.slice(slash + 1)), mechanism, iterations: decodeCredential(kv.value, kv.key).iterations });
    }
    const order = (m: ScramMechanism) => SCRAM_MECHANISMS.indexOf(m);
    return out.sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : order(a.mechanism) - order(b.mechanism)));
  }

  async apply(changes: readonly ScramCredentialChange[]): Promise<void> {
    const ops: Op[] = changes.map((c) => {
      const key = scramCredentialKey(this.root, c.mechanism, c.user);
      return c.type === 'put' ? { type: 'put', key, value: encodeCredential(c.credential) } : { type: 'delete', key };
    });
    // One transaction when it fits (the usual case); a request larger than etcd takes goes in parts.
    for (let i = 0; i < ops.length; i += ETCD_LIMITS.txnOpsMax) await this.store.txn([], ops.slice(i, i + ETCD_LIMITS.txnOpsMax));
  }
}
