// In-process "brokers" for control-plane tests: each has its own MetadataStore connection,
// membership, controller candidate, LeadershipView and a fake data plane that records what the
// broker is told and "flushes" (a short delay) before releasing a partition. Plus a pausable TCP
// proxy (to make etcd unreachable for one broker only) and a checker of the global invariants.
import { createServer, connect, type Server, type Socket } from 'node:net';
import assert from 'node:assert/strict';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { MetadataKeys } from '../../src/cluster/metadata-keys.js';
import { registerBroker, type BrokerRegistration } from '../../src/cluster/membership.js';
import { ClusterController, type ControllerOptions } from '../../src/cluster/controller.js';
import { LeadershipView } from '../../src/cluster/leadership.js';
import { decodePartitionRecord, parsePartitionStateKey, partitionKey } from '../../src/cluster/partition-records.js';
import type { MetadataStore } from '../../src/cluster/metadata-store.js';

export const SESSION_MS = 2000;

export class FakeBroker {
  readonly events: string[] = [];
  flushes = 0;
  releases = 0;
  /** Calls of beforeReassignDeadBroker made by this broker's controller. */
  readonly hookCalls: number[] = [];
  constructor(
    readonly nodeId: number, readonly rack: string, readonly store: MetadataStore, readonly keys: MetadataKeys,
    readonly registration: BrokerRegistration, readonly view: LeadershipView, readonly controller: ClusterController,
  ) {}

  leadCount(): number { return this.view.ledPartitions().length; }

  async stop(): Promise<void> {
    this.view.close();
    await this.controller.close();
    await this.registration.close();
    await this.store.close();
  }

  /** A crash: the connection goes, nothing is revoked; etcd expires the leases after the TTL. */
  async crash(): Promise<void> {
    this.view.close();
    await this.store.close();
    await this.controller.close().catch(() => undefined);
  }
}

export async function startBroker(endpoint: string, cluster: string, nodeId: number, rack: string, options: { flushMs?: number; stuck?: boolean; controller?: Partial<ControllerOptions> } = {}): Promise<FakeBroker> {
  const store = await EtcdMetadataStore.open({ endpoints: [endpoint], requestTimeoutMs: 1500 });
  const keys = new MetadataKeys(cluster);
  const registration = await registerBroker(store, keys, { nodeId, host: '127.0.0.1', port: 19000 + nodeId, rack, instanceId: `i-${nodeId}`, volumeId: `vol-${nodeId}` }, { sessionTimeoutMs: SESSION_MS });
  const view = new LeadershipView(store, keys, { nodeId, registration });
  const hookCalls: number[] = [];
  const controller = new ClusterController(store, keys, {
    nodeId, sessionTimeoutMs: SESSION_MS, repairIntervalMs: 500,
    beforeReassignDeadBroker: async (id) => { hookCalls.push(id); },
    ...options.controller,
  });
  const b = new FakeBroker(nodeId, rack, store, keys, registration, view, controller);
  (b as { hookCalls: number[] }).hookCalls = hookCalls;
  view.onAcquired((t, p, e) => b.events.push(`acquired ${t.slice(0, 6)}/${p}@${e}`));
  view.onLost((t, p, e) => b.events.push(`lost ${t.slice(0, 6)}/${p}@${e}`));
  view.onMoveCancelled((t, p) => b.events.push(`cancelled ${t.slice(0, 6)}/${p}`));
  view.onMoveRequested((t, p, to) => {
    b.events.push(`move ${t.slice(0, 6)}/${p}->${to}`);
    // The data plane: stop writes (acceptsWrites is already null), flush, upload, commit, release.
    assert.equal(view.acceptsWrites(t, p), null, 'writes stop as soon as a move is requested');
    b.flushes++;
    if (options.stuck) return; // cannot upload (S3 down): never releases
    setTimeout(() => {
      view.release(t, p).then((ok) => { if (ok) { b.releases++; b.events.push(`released ${t.slice(0, 6)}/${p}`); } }, () => undefined);
    }, options.flushMs ?? 10);
  });
  await view.start();
  controller.start();
  return b;
}

/** A TCP proxy that can stop forwarding (both directions) without closing anything. */
export class PausableProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** Bytes held back while paused, per destination socket. */
  private readonly held = new Map<Socket, Buffer[]>();
  paused = false;
  port = 0;
  constructor(private readonly upstreamPort: number) {}

  async listen(): Promise<string> {
    const server = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: this.upstreamPort });
      const forward = (from: Socket, to: Socket): void => {
        this.held.set(to, []);
        from.on('data', (chunk: Buffer) => {
          if (this.paused) this.held.get(to)!.push(chunk);
          else to.write(chunk);
        });
        from.on('close', () => to.destroy());
      };
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => { this.sockets.delete(s); this.held.delete(s); });
        s.on('error', () => undefined);
      }
      forward(client, upstream);
      forward(upstream, client);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (server.address() as { port: number }).port;
    return `http://127.0.0.1:${this.port}`;
  }

  pause(): void { this.paused = true; }
  resume(): void {
    this.paused = false;
    for (const [to, chunks] of this.held) { for (const c of chunks.splice(0)) to.write(c); }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * Follows every partition record from the start and checks: epochs only grow, and each
 * (partition, epoch) names one leader. Also samples the brokers' views: at no instant do two
 * brokers accept writes for the same partition.
 */
export class InvariantChecker {
  readonly leaderAt = new Map<string, number>();
  readonly lastEpoch = new Map<string, number>();
  readonly violations: string[] = [];
  changes = 0;
  private cancel: (() => void) | null = null;
  private sampler: NodeJS.Timeout | null = null;

  constructor(private readonly store: MetadataStore, private readonly keys: MetadataKeys) {}

  start(brokers: () => FakeBroker[]): void {
    this.cancel = this.store.watch(this.keys.allPartitionsPrefix(), 1, (e) => {
      if (e.type !== 'put') return;
      const parsed = parsePartitionStateKey(this.keys, e.kv.key);
      if (!parsed) return;
      const key = partitionKey(parsed.topicId, parsed.partition);
      const r = decodePartitionRecord(e.kv.value, e.kv.key);
      const prev = this.lastEpoch.get(key);
      if (prev !== undefined && r.leaderEpoch <= prev) this.violations.push(`${key}: epoch ${r.leaderEpoch} after ${prev}`);
      this.lastEpoch.set(key, r.leaderEpoch);
      const at = `${key}@${r.leaderEpoch}`;
      const other = this.leaderAt.get(at);
      if (other !== undefined && other !== r.leader) this.violations.push(`${at}: leaders ${other} and ${r.leader}`);
      this.leaderAt.set(at, r.leader);
      this.changes++;
    });
    this.sampler = setInterval(() => {
      const writers = new Map<string, string[]>();
      for (const b of brokers()) {
        for (const p of b.view.ledPartitions()) {
          if (b.view.acceptsWrites(p.topicId, p.partition) === null) continue;
          const key = partitionKey(p.topicId, p.partition);
          writers.set(key, [...(writers.get(key) ?? []), `${b.nodeId}@${p.epoch}(gen ${b.registration.generation}, ${b.registration.remainingMs().toFixed(0)} ms left)`]);
        }
      }
      for (const [key, ids] of writers) if (ids.length > 1) this.violations.push(`${key}: writable on ${ids.join(', ')} at once`);
    }, 5);
  }

  stop(): void {
    this.cancel?.();
    if (this.sampler) clearInterval(this.sampler);
  }
}

/** Leader counts per broker id from the store (partitions of existing topics only). */
export async function leaderCounts(store: MetadataStore, keys: MetadataKeys): Promise<Map<number, number>> {
  const topics = await store.list(keys.topicsPrefix());
  const counts = new Map<number, number>();
  for (const t of topics) {
    const { id, partitions } = JSON.parse(t.value.toString()) as { id: string; partitions: number };
    for (const kv of await store.list(keys.partitionsPrefix(id))) {
      const p = Number(kv.key.slice(keys.partitionsPrefix(id).length));
      if (p >= partitions) continue;
      const r = decodePartitionRecord(kv.value, kv.key);
      counts.set(r.leader, (counts.get(r.leader) ?? 0) + 1);
    }
  }
  return counts;
}

export async function pendingMoves(store: MetadataStore, keys: MetadataKeys): Promise<number> {
  return (await store.list(keys.partitionMovesPrefix())).length;
}
