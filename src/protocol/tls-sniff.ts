/**
 * Recognizes a TLS client on a plaintext listener from its first bytes, so the connection can be
 * logged as "TLS handshake on plaintext listener X" instead of as a 352 MiB Kafka frame (0x16030100
 * read as a size). A TLS record starts with content type 22 (handshake) and a record version 3.0-3.4
 * (clients send 3.1 or 3.3, also for TLS 1.3); the handshake message inside is type 1, ClientHello.
 * No I/O.
 */

const CONTENT_TYPE_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;

/**
 * true if the bytes can be the start of a TLS ClientHello record. Needs the first 3 bytes (a Kafka
 * frame size that starts 0x16 0x03 is over 350 MB, which no listener accepts); the 6th, when present,
 * must be ClientHello's type.
 */
export function looksLikeTlsClientHello(firstBytes: Buffer): boolean {
  if (firstBytes.length < 3) return false;
  if (firstBytes[0] !== CONTENT_TYPE_HANDSHAKE || firstBytes[1] !== 0x03 || firstBytes[2]! > 0x04) return false;
  return firstBytes.length < 6 || firstBytes[5] === HANDSHAKE_CLIENT_HELLO;
}
