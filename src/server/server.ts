/** The TCP listener: accepts connections up to a limit and hands each to a Connection. */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Connection, type ConnectionOptions } from './connection.js';
import type { HandlerRegistry } from './handler-registry.js';

export interface ServerOptions extends ConnectionOptions {
  host: string;
  port: number;
  connectionsMax: number;
}

export class KafkaServer {
  private readonly server: NetServer;
  private readonly connections = new Set<Connection>();
  private nextId = 1;

  constructor(private readonly registry: HandlerRegistry, private readonly options: ServerOptions, private readonly log: Logger) {
    this.server = createServer((socket) => this.accept(socket));
  }

  private accept(socket: Socket): void {
    if (this.connections.size >= this.options.connectionsMax) {
      this.log.warn({ remote: socket.remoteAddress, max: this.options.connectionsMax }, 'connection limit reached; refusing');
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, this.nextId++, this.registry, this.options, this.log, (c) => this.connections.delete(c));
    this.connections.add(conn);
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        if (addr && typeof addr === 'object') resolve({ host: addr.address, port: addr.port });
        else resolve({ host: this.options.host, port: this.options.port });
      });
    });
  }

  get connectionCount(): number { return this.connections.size; }

  /** Stop accepting, then close every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.connections]) c.close('broker shutting down');
    await closed;
  }
}
