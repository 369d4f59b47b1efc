/**
 * SCRAM (RFC 5802, RFC 7677) as Kafka uses it (ScramFormatter, ScramMessages): the key
 * derivations, the credential a broker stores (salt, StoredKey, ServerKey, iterations; never the
 * password), user-name escaping and the parsing of the client's two messages. Shared by the
 * broker's ScramServer, the client (ScramClient) and the SCRAM admin APIs.
 */
import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

export function isScramMechanism(name: string): name is ScramMechanism {
  return name === 'SCRAM-SHA-256' || name === 'SCRAM-SHA-512';
}

/** Kafka's ScramMechanism type codes, as DescribeUserScramCredentials / AlterUserScramCredentials carry them. */
export const SCRAM_MECHANISM_TYPE: Readonly<Record<ScramMechanism, number>> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };

export function scramMechanismOfType(type: number): ScramMechanism | null {
  return type === 1 ? 'SCRAM-SHA-256' : type === 2 ? 'SCRAM-SHA-512' : null;
}

/** Kafka's ScramMechanism.minIterations (both mechanisms) and ScramControlManager.MAX_ITERATIONS. */
export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 16384;

/** A SCRAM hash: the mechanism's name and its digest (tests also build SCRAM-SHA-1 for RFC 5802's vector). */
export interface ScramAlgorithm {
  readonly name: string;
  /** A node:crypto digest name. */
  readonly digest: string;
}

export function scramAlgorithm(mechanism: ScramMechanism): ScramAlgorithm {
  return mechanism === 'SCRAM-SHA-256' ? SHA256 : SHA512;
}
const SHA256: ScramAlgorithm = Object.freeze({ name: 'SCRAM-SHA-256', digest: 'sha256' });
const SHA512: ScramAlgorithm = Object.freeze({ name: 'SCRAM-SHA-512', digest: 'sha512' });

export interface ScramCredential {
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
  iterations: number;
}

function digestBytes(a: ScramAlgorithm): number {
  return createHash(a.digest).digest().length;
}

export function hmac(a: ScramAlgorithm, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(a.digest, key).update(data).digest();
}

export function hash(a: ScramAlgorithm, data: Buffer): Buffer {
  return createHash(a.digest).update(data).digest();
}

/** Hi(password, salt, i): PBKDF2 with the mechanism's HMAC, one block. Off the event loop. */
export function saltPassword(a: ScramAlgorithm, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, digestBytes(a), a.digest, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export function saltPasswordSync(a: ScramAlgorithm, password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, digestBytes(a), a.digest);
}

export function clientKeyOf(a: ScramAlgorithm, saltedPassword: Buffer): Buffer { return hmac(a, saltedPassword, 'Client Key'); }
export function serverKeyOf(a: ScramAlgorithm, saltedPassword: Buffer): Buffer { return hmac(a, saltedPassword, 'Server Key'); }
export function storedKeyOf(a: ScramAlgorithm, clientKey: Buffer): Buffer { return hash(a, clientKey); }

/** The stored credential for a salted password (what AlterUserScramCredentials carries). */
export function credentialFromSaltedPassword(a: ScramAlgorithm, salt: Buffer, saltedPassword: Buffer, iterations: number): ScramCredential {
  return { salt, storedKey: storedKeyOf(a, clientKeyOf(a, saltedPassword)), serverKey: serverKeyOf(a, saltedPassword), iterations };
}

export async function credentialFromPassword(a: ScramAlgorithm, password: string, iterations: number, salt: Buffer = randomBytes(32)): Promise<ScramCredential> {
  return credentialFromSaltedPassword(a, salt, await saltPassword(a, password, salt, iterations), iterations);
}

/** Does `password` produce this credential? (PLAIN checked against SCRAM credentials.) Constant time in the comparison. */
export async function passwordMatches(a: ScramAlgorithm, password: string, c: ScramCredential): Promise<boolean> {
  const salted = await saltPassword(a, password, c.salt, c.iterations);
  return constantTimeEqual(storedKeyOf(a, clientKeyOf(a, salted)), c.storedKey);
}

export function xor(x: Buffer, y: Buffer): Buffer {
  if (x.length !== y.length) throw new RangeError('xor of buffers of different lengths');
  const out = Buffer.allocUnsafe(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! ^ y[i]!;
  return out;
}

export function constantTimeEqual(x: Buffer, y: Buffer): boolean {
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A client or server nonce: printable, no ','. */
export function randomNonce(): string {
  return randomBytes(24).toString('base64url');
}

/** RFC 5802 saslname: '=' as "=3D" and ',' as "=2C". */
export function toSaslName(username: string): string {
  return username.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** The user name a saslname stands for; null when it has a '=' that is not "=2C"/"=3D" (or is empty). */
export function fromSaslName(saslName: string): string | null {
  if (saslName === '' || /=(?!2C|3D)/.test(saslName)) return null;
  return saslName.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** AuthMessage = client-first-message-bare "," server-first-message "," client-final-message-without-proof. */
export function authMessage(clientFirstBare: string, serverFirst: string, clientFinalWithoutProof: string): Buffer {
  return Buffer.from(`${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`, 'utf8');
}

export function clientProof(a: ScramAlgorithm, saltedPassword: Buffer, message: Buffer): Buffer {
  const clientKey = clientKeyOf(a, saltedPassword);
  return xor(clientKey, hmac(a, storedKeyOf(a, clientKey), message));
}

export function serverSignature(a: ScramAlgorithm, serverKey: Buffer, message: Buffer): Buffer {
  return hmac(a, serverKey, message);
}

// ---- messages ---------------------------------------------------------------------------------

/** Why a message does not parse; its text is never part of this (the client-final one holds the proof). */
export class ScramFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScramFormatError';
  }
}

const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ATTRIBUTE = /^[A-Za-z]+=/;

export interface ClientFirstMessage {
  /** "n,," or "n,a=<authzid>," (or "y,..."): what the client-final's c= must carry. */
  gs2Header: string;
  /** The requested authorization id ('' when none). */
  authorizationId: string;
  /** The user name (unescaped). */
  username: string;
  nonce: string;
  /** Extensions after the nonce (Kafka's tokenauth), name -> value. */
  extensions: Map<string, string>;
  /** client-first-message-bare, as received: part of AuthMessage. */
  bare: string;
}

/**
 * gs2-header [reserved-mext ","] "n=" saslname ",r=" nonce ["," extensions]. Only gs2 flags
 * 'n' and 'y' (no channel binding) are accepted: Ferry offers no -PLUS mechanism.
 */
export function parseClientFirst(text: string): ClientFirstMessage {
  const parts = text.split(',');
  const flag = parts[0];
  if (flag?.startsWith('p=')) throw new ScramFormatError('channel binding (p=) is not supported');
  if (flag !== 'n' && flag !== 'y') throw new ScramFormatError('gs2 header must start with n or y');
  const authz = parts[1] ?? '';
  let authorizationId = '';
  if (authz !== '') {
    if (!authz.startsWith('a=')) throw new ScramFormatError('bad authorization id in the gs2 header');
    const id = fromSaslName(authz.slice(2));
    if (id === null) throw new ScramFormatError('bad authorization id in the gs2 header');
    authorizationId = id;
  }
  let i = 2;
  if (parts[i]?.startsWith('m=')) i++; // reserved-mext: Kafka's grammar allows it and ignores it
  const n = parts[i];
  const r = parts[i + 1];
  if (!n?.startsWith('n=') || !r?.startsWith('r=')) throw new ScramFormatError('expected n=<user>,r=<nonce>');
  const username = fromSaslName(n.slice(2));
  if (username === null) throw new ScramFormatError('bad user name');
  const nonce = r.slice(2);
  if (!PRINTABLE.test(nonce)) throw new ScramFormatError('bad client nonce');
  const extensions = new Map<string, string>();
  for (const ext of parts.slice(i + 2)) {
    if (!ATTRIBUTE.test(ext)) throw new ScramFormatError('bad extension');
    const eq = ext.indexOf('=');
    extensions.set(ext.slice(0, eq), ext.slice(eq + 1));
  }
  const gs2Header = `${flag},${authz},`;
  return { gs2Header, authorizationId, username, nonce, extensions, bare: text.slice(gs2Header.length) };
}

export interface ClientFinalMessage {
  /** The decoded c= attribute: the gs2 header (no channel binding data). */
  channelBinding: Buffer;
  nonce: string;
  proof: Buffer;
  /** client-final-message-without-proof, as received: part of AuthMessage. */
  withoutProof: string;
}

/** "c=" base64 ",r=" nonce ["," extensions] ",p=" base64. */
export function parseClientFinal(text: string): ClientFinalMessage {
  const at = text.lastIndexOf(',p=');
  if (at < 0) throw new ScramFormatError('no proof');
  const withoutProof = text.slice(0, at);
  const proof = text.slice(at + 3);
  const parts = withoutProof.split(',');
  const c = parts[0];
  const r = parts[1];
  if (!c?.startsWith('c=') || !r?.startsWith('r=')) throw new ScramFormatError('expected c=<binding>,r=<nonce>');
  if (!BASE64.test(c.slice(2)) || !BASE64.test(proof) || proof === '') throw new ScramFormatError('bad base64');
  const nonce = r.slice(2);
  if (!PRINTABLE.test(nonce)) throw new ScramFormatError('bad nonce');
  for (const ext of parts.slice(2)) if (!ATTRIBUTE.test(ext)) throw new ScramFormatError('bad extension');
  return { channelBinding: Buffer.from(c.slice(2), 'base64'), nonce, proof: Buffer.from(proof, 'base64'), withoutProof };
}

export interface ServerFirstMessage {
  nonce: string;
  salt: Buffer;
  iterations: number;
}

/** [reserved-mext ","] "r=" nonce ",s=" salt ",i=" iterations ["," extensions] (the client reads it). */
export function parseServerFirst(text: string): ServerFirstMessage {
  const [r, s, it] = text.split(',');
  if (r?.startsWith('m=')) throw new ScramFormatError('the server requires an unsupported extension');
  if (!r?.startsWith('r=') || !s?.startsWith('s=') || !it?.startsWith('i=')) throw new ScramFormatError('expected r=<nonce>,s=<salt>,i=<iterations>');
  const nonce = r.slice(2);
  if (!PRINTABLE.test(nonce)) throw new ScramFormatError('bad server nonce');
  if (!BASE64.test(s.slice(2))) throw new ScramFormatError('bad salt');
  if (!/^[1-9][0-9]{0,9}$/.test(it.slice(2))) throw new ScramFormatError('bad iteration count');
  return { nonce, salt: Buffer.from(s.slice(2), 'base64'), iterations: Number(it.slice(2)) };
}

/** ("e=" error | "v=" signature) ["," extensions]. */
export function parseServerFinal(text: string): { error: string } | { signature: Buffer } {
  const first = text.split(',')[0] ?? '';
  if (first.startsWith('e=')) return { error: first.slice(2) };
  if (first.startsWith('v=') && BASE64.test(first.slice(2))) return { signature: Buffer.from(first.slice(2), 'base64') };
  throw new ScramFormatError('expected v=<signature> or e=<error>');
}
