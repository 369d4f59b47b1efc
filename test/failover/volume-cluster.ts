/**
 * A cluster for failover tests: real etcd, broker processes with local WAL volumes (one
 * directory per volume under a shared root, attachments in etcd), one rack per simulated AZ, and
 * an object store shared by all (radosgw or a directory).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawKafkaConnection } from '../helpers/raw-kafka.js';
import { waitFor } from '../helpers/wait.js';
import { WritableProbe } from '../../src/drill/probe.js';
import type { EtcdCluster, EtcdServer } from '../helpers/etcd.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { MetadataKeys, listFailovers, type FailoverRecord } from '../../src/cluster/index.js';
import type { FaultExecutor } from '../../src/drill/index.js';

export interface VolumeClusterOptions {
  name: string;
  racks: string[];
  /** One etcd, or a multi-member cluster (leader-loss drills kill its leader). */
  etcd: EtcdServer | EtcdCluster;
  /** Object store config (object.store=s3 with radosgw, or object.store.path). */
  objectStore: Record<string, string>;
  /** Extra config for every broker. */
  config?: Record<string, string>;
  env?: Record<string, string>;
}

function endpointsOf(etcd: EtcdServer | EtcdCluster): string[] {
  return 'members' in etcd ? etcd.endpoints : [etcd.endpoint];
}

export class VolumeCluster {
  readonly root = mkdtempSync(join(tmpdir(), 'ferry-volumes-'));
  readonly brokers: BrokerProcess[] = [];
  private meta: EtcdMetadataStore | null = null;

  constructor(readonly o: VolumeClusterOptions) {
    for (const [i, rack] of o.racks.entries()) {
      const id = i + 1;
      this.brokers.push(new BrokerProcess({
        config: {
          'metadata.backend': 'etcd', 'etcd.endpoints': endpointsOf(o.etcd).join(','), 'cluster.name': o.name, 'node.id': String(id), rack,
          'volume.provider': 'local', 'volume.local.root': this.root, 'volume.id': `vol-${id}`, 'instance.id': `inst-${id}`,
          'wal.path': join(this.root, `vol-${id}`, 'ferry.wal'),
          'broker.session.timeout.ms': '3000',
          // Long: at a kill the WAL holds seconds of acknowledged data that only the replay saves.
          'upload.interval.ms': '20000',
          ...o.objectStore, ...(o.config ?? {}),
        },
        env: o.env,
      }));
    }
  }

  private readonly paused = new Set<BrokerProcess>();
  private killedEtcd: EtcdServer | null = null;

  broker(id: number): BrokerProcess { return this.brokers[id - 1]!; }

  /** SIGSTOP (a zombie); metadata() asks other brokers meanwhile. */
  pause(id: number): void {
    process.kill(this.broker(id).pid!, 'SIGSTOP');
    this.paused.add(this.broker(id));
  }

  resume(id: number): void {
    process.kill(this.broker(id).pid!, 'SIGCONT');
    this.paused.delete(this.broker(id));
  }

  async start(): Promise<void> {
    await Promise.all(this.brokers.map((b) => b.start(60_000)));
    await waitFor(async () => (await this.metadata('x', this.brokers[0]!)).brokers.length === this.brokers.length, 20_000, 'every broker registered');
  }

  /** Metadata from the first running broker (or `via`). */
  async metadata(topic: string, via?: BrokerProcess): Promise<any> {
    const b = via ?? this.brokers.find((x) => x.running && !this.paused.has(x))!;
    const c = await RawKafkaConnection.connect(b.bootstrap);
    try {
      return await c.request(ApiKey.Metadata, 12, { topics: [{ topicId: '0'.repeat(32), name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    } finally { c.close(); }
  }

  async leaders(topic: string): Promise<number[]> {
    return (await this.metadata(topic)).topics[0].partitions.sort((a: any, b: any) => a.partitionIndex - b.partitionIndex).map((p: any) => p.leaderId as number);
  }

  /** `ferry drill`'s faults carried out on these processes (SIGKILL, SIGSTOP/CONT, restart on the same volume, etcd). */
  executor(): FaultExecutor {
    return {
      signalBroker: async (b, signal) => {
        if (signal === 'KILL') await this.broker(b.nodeId).kill();
        else if (signal === 'STOP') this.pause(b.nodeId);
        else this.resume(b.nodeId);
      },
      restartBroker: async (b) => {
        const p = this.broker(b.nodeId);
        if (this.paused.has(p)) this.resume(b.nodeId);
        await p.kill();
        await p.start(90_000);
      },
      killEtcdLeader: async () => {
        const etcd = this.o.etcd;
        this.killedEtcd = 'members' in etcd ? await etcd.leader() : etcd;
        await this.killedEtcd.kill();
      },
      restartEtcd: async () => { await this.killedEtcd?.restart(); this.killedEtcd = null; },
    };
  }

  async store(): Promise<EtcdMetadataStore> {
    this.meta ??= await EtcdMetadataStore.open({ endpoints: endpointsOf(this.o.etcd) });
    return this.meta;
  }

  async failovers(): Promise<FailoverRecord[]> {
    return listFailovers(await this.store(), new MetadataKeys(this.o.name));
  }

  async dispose(): Promise<void> {
    for (const b of this.brokers) {
      if (b.pid) try { process.kill(b.pid, 'SIGCONT'); } catch { /* gone */ }
      await b.dispose();
    }
    await this.meta?.close().catch(() => {});
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Complete lines of a file another process appends to (the last, partial line is left out). */
export function completeLines(file: string): string[] {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
  } catch { return []; }
}

/** When `partition` takes an acks=all write again through its current leader (ms since the epoch); the drill's probe. */
export async function probeWritable(cluster: VolumeCluster, topic: string, partition: number, deadlineMs: number): Promise<number> {
  const t0 = Date.now();
  const probe = new WritableProbe({ bootstrap: cluster.brokers.filter((b) => b.running).map((b) => b.bootstrap), topic, clock: Date.now });
  probe.start([partition], t0);
  try {
    await waitFor(() => probe.results().has(partition), Math.max(0, deadlineMs - t0), `partition ${partition} writable`, 20);
    return t0 + probe.results().get(partition)!;
  } finally {
    await probe.stop();
  }
}

/** Read a topic with kcat and check every acknowledged "key partition offset" line is there, at its offset. */
export async function verifyAcked(kcat: string, bootstrap: string, topic: string, ackedLines: string[], runChecked: (cmd: string, args: string[], o: { timeoutMs: number }) => Promise<{ stdout: Buffer }>): Promise<{ lost: string[]; duplicateKeys: string[]; stored: number; contiguous: boolean }> {
  const res = await runChecked(kcat, ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %o %k\n'], { timeoutMs: 90_000 });
  const stored = new Map<string, string>();
  const keyCount = new Map<string, number>();
  const perPartition = new Map<number, number[]>();
  for (const line of res.stdout.toString('utf8').split('\n').filter(Boolean)) {
    const [p, o, key] = line.split(' ');
    stored.set(`${p}:${o}`, key!);
    keyCount.set(key!, (keyCount.get(key!) ?? 0) + 1);
    perPartition.set(Number(p), [...(perPartition.get(Number(p)) ?? []), Number(o)]);
  }
  const lost = ackedLines.filter((l) => { const [key, p, o] = l.split(' '); return stored.get(`${p}:${o}`) !== key; });
  // Probe records (the drill's WritableProbe) have no key.
  const duplicateKeys = [...keyCount].filter(([k, n]) => n > 1 && k !== '').map(([k]) => k);
  const contiguous = [...perPartition.values()].every((offsets) => offsets.every((o, i) => o === i));
  return { lost, duplicateKeys, stored: stored.size, contiguous };
}
