/** The errors of a TLS listener's setup and of its peers. Messages never carry key material. */

/** A listener's TLS settings or files are unusable; names the listener and the Kafka config key. */
export class TlsConfigError extends Error {
  readonly code = 'TLS_CONFIG';
  /**
   * @param value shown after the key when it is not secret (a file location, a protocol name);
   *   never the value of ssl.keystore.key, ssl.keystore.certificate.chain or ssl.key.password.
   */
  constructor(readonly listenerName: string, readonly configKey: string, readonly detail: string, value: string | null = null) {
    super(`listener ${listenerName}: ${configKey}${value === null ? '' : ` ${value}`}: ${detail}`);
    this.name = 'TlsConfigError';
  }
}

/** A TLS client the listener must not accept: an untrusted certificate, or no principal for its subject. */
export class TlsPeerError extends Error {
  readonly code = 'TLS_PEER_REFUSED';
  constructor(readonly listenerName: string, readonly reason: string) {
    super(`listener ${listenerName}: TLS client refused: ${reason}`);
    this.name = 'TlsPeerError';
  }
}
