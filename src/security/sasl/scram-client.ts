/**
 * The client's side of SCRAM-SHA-256/512 (Kafka's ScramSaslClient): client-first, then the proof
 * for the server's salt and iterations, then a check of the server's signature, which proves the
 * broker holds the user's credential and is not an impostor.
 */
import {
  type ScramAlgorithm, SCRAM_MIN_ITERATIONS, parseServerFirst, parseServerFinal, toSaslName, randomNonce,
  saltPassword, authMessage, clientProof, serverKeyOf, serverSignature, constantTimeEqual,
} from './scram.js';

/** The exchange failed on the client's side (the server's answers were not acceptable). */
export class ScramClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScramClientError';
  }
}

export class ScramClient {
  private readonly bare: string;
  private expectedSignature: Buffer | null = null;

  constructor(
    readonly algorithm: ScramAlgorithm,
    username: string,
    private readonly password: string,
    private readonly nonce: string = randomNonce(),
  ) {
    this.bare = `n=${toSaslName(username)},r=${nonce}`;
  }

  firstMessage(): Buffer {
    return Buffer.from(`n,,${this.bare}`, 'utf8');
  }

  /** The client-final message for the server-first message. */
  async finalMessage(serverFirstBytes: Buffer): Promise<Buffer> {
    const serverFirst = serverFirstBytes.toString('utf8');
    let parsed;
    try { parsed = parseServerFirst(serverFirst); } catch (err) { throw new ScramClientError(`invalid SCRAM server-first message: ${(err as Error).message}`); }
    if (!parsed.nonce.startsWith(this.nonce) || parsed.nonce.length === this.nonce.length) throw new ScramClientError('the server nonce does not extend the client nonce');
    if (parsed.iterations < SCRAM_MIN_ITERATIONS) throw new ScramClientError(`requested iterations ${parsed.iterations} less than the minimum ${SCRAM_MIN_ITERATIONS}`);
    const a = this.algorithm;
    const salted = await saltPassword(a, this.password, parsed.salt, parsed.iterations);
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${parsed.nonce}`;
    const message = authMessage(this.bare, serverFirst, withoutProof);
    this.expectedSignature = serverSignature(a, serverKeyOf(a, salted), message);
    return Buffer.from(`${withoutProof},p=${clientProof(a, salted, message).toString('base64')}`, 'utf8');
  }

  /** Checks the server-final message; throws ScramClientError unless it proves the server knows the credential. */
  verifyServerFinal(serverFinalBytes: Buffer): void {
    if (!this.expectedSignature) throw new ScramClientError('server-final before server-first');
    let parsed;
    try { parsed = parseServerFinal(serverFinalBytes.toString('utf8')); } catch (err) { throw new ScramClientError(`invalid SCRAM server-final message: ${(err as Error).message}`); }
    if ('error' in parsed) throw new ScramClientError(`the server refused: ${parsed.error}`);
    if (!constantTimeEqual(parsed.signature, this.expectedSignature)) throw new ScramClientError('invalid server signature in the SCRAM server-final message');
  }
}
