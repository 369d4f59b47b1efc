/**
 * The broker's side of SCRAM-SHA-256/512, as Kafka's ScramSaslServer: client-first (the user's
 * stored salt and iterations go back with a fresh server nonce), then client-final (the proof is
 * checked against StoredKey; the answer carries the server signature). An unknown user, a bad
 * proof or a malformed message all give the client Kafka's generic failure, so nothing tells
 * whether the user exists. Delegation tokens (the tokenauth extension) are not offered: a client
 * asking for one fails like an unknown token in Kafka.
 */
import type { SaslMechanismName, SaslServerMechanism } from './mechanism.js';
import { SaslFailure } from './sasl-failure.js';
import {
  type ScramAlgorithm, type ScramCredential, type ClientFirstMessage, SCRAM_MIN_ITERATIONS, ScramFormatError,
  parseClientFirst, parseClientFinal, authMessage, hmac, hash, xor, constantTimeEqual, serverSignature, randomNonce,
} from './scram.js';

export type ScramCredentialLookup = (username: string) => Promise<ScramCredential | null>;

type State =
  | { at: 'first' }
  | { at: 'final'; first: ClientFirstMessage; serverFirst: string; nonce: string; credential: ScramCredential }
  | { at: 'complete' }
  | { at: 'failed' };

export class ScramServer implements SaslServerMechanism {
  private state: State = { at: 'first' };
  authorizationId: string | null = null;
  attemptedUser: string | null = null;
  readonly credentialExpiresAtMs = null;

  constructor(
    /** scramAlgorithm(mechanism); any other SCRAM hash only in tests (RFC 5802's SHA-1 vector). */
    readonly algorithm: ScramAlgorithm,
    private readonly lookup: ScramCredentialLookup,
    private readonly serverNonce: () => string = randomNonce,
  ) {}

  get mechanism(): SaslMechanismName { return this.algorithm.name as SaslMechanismName; }
  get complete(): boolean { return this.state.at === 'complete'; }

  async evaluate(token: Buffer): Promise<Buffer> {
    try {
      const s = this.state;
      if (s.at === 'first') return await this.onClientFirst(token);
      if (s.at === 'final') return this.onClientFinal(s, token);
      throw new SaslFailure(`unexpected SCRAM message in state ${s.at}`);
    } catch (err) {
      this.state = { at: 'failed' };
      if (err instanceof SaslFailure) throw err;
      if (err instanceof ScramFormatError) throw new SaslFailure(`invalid SCRAM message: ${err.message}`);
      // The store could not be read: Kafka's "Credentials could not be obtained", generic to the client.
      throw new SaslFailure(`SCRAM credentials could not be obtained: ${(err as Error).message}`);
    }
  }

  private async onClientFirst(token: Buffer): Promise<Buffer> {
    const first = parseClientFirst(token.toString('utf8'));
    this.attemptedUser = first.username;
    if (first.extensions.get('tokenauth')?.toLowerCase() === 'true') throw new SaslFailure('delegation tokens (tokenauth) are not supported');
    const credential = await this.lookup(first.username);
    if (!credential) throw new SaslFailure('unknown user (no SCRAM credential for this mechanism)');
    if (first.authorizationId !== '' && first.authorizationId !== first.username) {
      throw new SaslFailure('authorization id differs from the user name', 'Authentication failed: Client requested an authorization id that is different from username');
    }
    if (credential.iterations < SCRAM_MIN_ITERATIONS) throw new SaslFailure(`stored iterations ${credential.iterations} below the minimum ${SCRAM_MIN_ITERATIONS}`);
    const nonce = first.nonce + this.serverNonce();
    const serverFirst = `r=${nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
    this.state = { at: 'final', first, serverFirst, nonce, credential };
    return Buffer.from(serverFirst, 'utf8');
  }

  private onClientFinal(s: Extract<State, { at: 'final' }>, token: Buffer): Buffer {
    const final = parseClientFinal(token.toString('utf8'));
    // RFC 5802: the nonce of server-first, exactly. librdkafka before 2.6.1 sends its own nonce
    // in front of it once more (librdkafka#4895); Kafka 3.8.1+ tolerates that (endsWith), and so
    // does Ferry, but only in that exact form.
    if (final.nonce !== s.nonce && final.nonce !== s.first.nonce + s.nonce) throw new SaslFailure('invalid nonce in the client final message');
    if (!final.channelBinding.equals(Buffer.from(s.first.gs2Header, 'utf8'))) throw new SaslFailure('channel binding does not repeat the gs2 header');
    const a = this.algorithm;
    const message = authMessage(s.first.bare, s.serverFirst, final.withoutProof);
    const clientSignature = hmac(a, s.credential.storedKey, message);
    if (final.proof.length !== clientSignature.length) throw new SaslFailure('invalid client proof');
    // ClientKey = proof XOR ClientSignature; the client knows the password iff H(ClientKey) = StoredKey.
    if (!constantTimeEqual(hash(a, xor(final.proof, clientSignature)), s.credential.storedKey)) throw new SaslFailure('invalid client proof (wrong password)');
    const signature = serverSignature(a, s.credential.serverKey, message);
    this.authorizationId = s.first.username;
    this.state = { at: 'complete' };
    return Buffer.from(`v=${signature.toString('base64')}`, 'utf8');
  }
}
