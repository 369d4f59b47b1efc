// The request checks of ETCD_LIMITS, one copy for both MetadataStore backends: the local store
// runs them on every call, the etcd backend before sending, so a request etcd would reject fails
// the same way (MetadataLimitError, same message) on either, and code that works on the local
// store works on etcd.
//   - op counts: compares, success ops and failure ops each at most txnOpsMax (etcd's
//     --max-txn-ops counts each list; a deletePrefix is one op);
//   - sizes: one value, and the sum of keys, values and compare values, at most requestBytesMax
//     (etcd's --max-request-bytes); keys non-empty and at most keyBytesMax (our own cap);
//   - compares: target one of value / version / createRevision / modRevision (etcd's Compare
//     targets that the MetadataStore exposes), a Buffer for value, a safe integer otherwise, op one
//     of == != < >;
//   - keys: a branch may not put a key twice, nor put a key it also deletes (etcd's "duplicate key
//     given in txn request"); overlapping deletes are fine, as in etcd.
//
// API: checkKey(key, limits) -> UTF-8 bytes; checkTxn(compares, success, failure, limits);
//      checkWatchRevision(fromRevision); checkLeaseTtl(ttlMs); type MetadataLimits

import { MetadataLimitError, type Compare, type ETCD_LIMITS, type Op } from './metadata-store.js';

export type MetadataLimits = typeof ETCD_LIMITS;

export function checkKey(key: string, limits: MetadataLimits): number {
  if (typeof key !== 'string' || key.length === 0) throw new MetadataLimitError('key must be a non-empty string');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > limits.keyBytesMax) throw new MetadataLimitError(`key of ${bytes} bytes exceeds ${limits.keyBytesMax}: ${key.slice(0, 80)}...`);
  return bytes;
}

/** Rejects what etcd would reject: sizes, op counts, duplicate or overlapping keys, bad compare values. */
export function checkTxn(compares: Compare[], success: Op[], failure: Op[], limits: MetadataLimits): void {
  const max = limits.txnOpsMax;
  for (const [name, list] of [['compares', compares], ['success ops', success], ['failure ops', failure]] as const) {
    if (!Array.isArray(list)) throw new MetadataLimitError(`transaction ${name} must be an array`);
    if (list.length > max) throw new MetadataLimitError(`transaction has ${list.length} ${name}, more than ${max}`);
  }
  let bytes = 0;
  for (const c of compares) {
    bytes += checkKey(c.key, limits);
    if (c.target === 'value') {
      if (!Buffer.isBuffer(c.value)) throw new MetadataLimitError(`compare on the value of ${c.key} needs a Buffer`);
      bytes += c.value.length;
    } else if (c.target === 'modRevision' || c.target === 'createRevision' || c.target === 'version') {
      if (typeof c.value !== 'number' || !Number.isSafeInteger(c.value)) {
        throw new MetadataLimitError(`compare on the ${c.target} of ${c.key} needs an integer`);
      }
    } else {
      throw new MetadataLimitError(`unknown compare target ${String((c as { target: unknown }).target)}`);
    }
    if (!['==', '!=', '<', '>'].includes(c.op)) throw new MetadataLimitError(`unknown compare op ${String(c.op)}`);
  }
  for (const ops of [success, failure]) {
    const puts = new Set<string>();
    const deletes: string[] = [];
    const prefixes: string[] = [];
    for (const op of ops) {
      if (op.type === 'put') {
        bytes += checkKey(op.key, limits);
        if (!Buffer.isBuffer(op.value)) throw new MetadataLimitError(`value of ${op.key} must be a Buffer`);
        if (op.value.length > limits.requestBytesMax) throw new MetadataLimitError(`value of ${op.key} is ${op.value.length} bytes, more than ${limits.requestBytesMax}`);
        bytes += op.value.length;
        if (puts.has(op.key)) throw new MetadataLimitError(`transaction puts ${op.key} twice`);
        puts.add(op.key);
      } else if (op.type === 'delete') {
        bytes += checkKey(op.key, limits);
        deletes.push(op.key);
      } else if (op.type === 'deletePrefix') {
        if (typeof op.prefix !== 'string' || op.prefix.length === 0) throw new MetadataLimitError('deletePrefix needs a non-empty prefix');
        bytes += Buffer.byteLength(op.prefix, 'utf8');
        prefixes.push(op.prefix);
      } else {
        throw new MetadataLimitError(`unknown op type ${String((op as { type: unknown }).type)}`);
      }
    }
    for (const key of puts) {
      if (deletes.includes(key) || prefixes.some((p) => key.startsWith(p))) {
        throw new MetadataLimitError(`transaction both puts and deletes ${key}`);
      }
    }
  }
  if (bytes > limits.requestBytesMax) throw new MetadataLimitError(`transaction of ${bytes} bytes exceeds ${limits.requestBytesMax}`);
}

export function checkWatchRevision(fromRevision: number): void {
  if (!Number.isSafeInteger(fromRevision) || fromRevision < 0) throw new MetadataLimitError(`watch fromRevision ${fromRevision} is not a non-negative integer`);
}

export function checkLeaseTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new MetadataLimitError(`lease ttlMs ${ttlMs} must be a positive integer`);
}
