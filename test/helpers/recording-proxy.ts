/**
 * A TCP proxy between Kafka clients and a broker that records request frames. Start the broker with
 * `advertised.listeners` pointing at the proxy so clients come back through it after Metadata and
 * FindCoordinator. Bytes are forwarded untouched in both directions; the client->broker stream is
 * split into frames and the first frame of each (api key, version) is handed to `onRequest`.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrameDecoder } from '../../src/protocol/frame.js';

export interface RecordedRequest {
  apiKey: number;
  apiVersion: number;
  /** The frame without its 4-byte size prefix. */
  frame: Buffer;
}

export class RecordingProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly upstream: { host: string; port: number }, private readonly onRequest: (r: RecordedRequest) => void) {}

  async listen(port = 0): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', () => resolve()); });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  private accept(client: Socket): void {
    const upstream = connect(this.upstream);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const decoder = new FrameDecoder({ frameBytesMax: 256 * 1024 * 1024 });
    client.on('data', (chunk: Buffer) => {
      try {
        for (const f of decoder.push(chunk)) {
          if (f.length >= 4) this.onRequest({ apiKey: f.readInt16BE(0), apiVersion: f.readInt16BE(2), frame: Buffer.from(f) });
        }
      } catch { /* not Kafka framing: still forwarded, just not recorded */ }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const closeBoth = () => { client.destroy(); upstream.destroy(); this.sockets.delete(client); this.sockets.delete(upstream); };
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * Writes `<apiKey>-<version>-request-<client>.bin` files (frame without the size prefix), the first
 * frame per api key and version per client; existing files are kept unless `overwrite`.
 */
export class GoldenWriter {
  client = 'unknown';
  readonly written: string[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly outDir: string, private readonly overwrite = false) {
    mkdirSync(outDir, { recursive: true });
  }

  record = (r: RecordedRequest): void => {
    if (!/^[a-z0-9._-]+$/.test(this.client)) throw new Error(`bad client name ${this.client}`);
    const name = `${r.apiKey}-${r.apiVersion}-request-${this.client}.bin`;
    if (this.seen.has(name)) return;
    this.seen.add(name);
    const file = join(this.outDir, name);
    if (!this.overwrite && existsSync(file)) return;
    writeFileSync(file, r.frame);
    this.written.push(name);
  };
}
