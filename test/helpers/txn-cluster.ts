/**
 * The cluster of the transaction failover tests (test/cluster/transactions-cluster*.test.ts):
 * three brokers on one real etcd (racks a, b, c; local WAL volumes that fail over; one fs object
 * store shared by all), topics A and B with 6 partitions spread 2/2/2, and a transactional id
 * whose coordinator is not the controller (the victim to SIGKILL).
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEtcd } from './etcd.js';
import { RawKafkaConnection } from './raw-kafka.js';
import { waitFor } from './wait.js';
import type { BrokerProcess } from './broker-process.js';
import { VolumeCluster } from '../failover/volume-cluster.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { coordinatorFor } from '../../src/cluster/coordinator.js';

export interface TxnCluster {
  cluster: VolumeCluster;
  /** The brokers currently running. */
  running: () => BrokerProcess[];
}

/**
 * Starts etcd (stopped after the test) and the 3 brokers (pushed on `clusters` for disposal),
 * creates A and B through `createTopics` (given the running brokers) and waits until each has
 * its 6 partitions led 2/2/2.
 */
export async function startTxnCluster(t: TestContext, o: { name: string; work: string; clusters: VolumeCluster[]; createTopics: (running: BrokerProcess[]) => Promise<void> }): Promise<TxnCluster> {
  const etcd = await startEtcd(t);
  const cluster = new VolumeCluster({ name: o.name, racks: ['a', 'b', 'c'], etcd, objectStore: { 'object.store.path': join(o.work, 'objects') },
    config: { 'group.initial.rebalance.delay.ms': '0', 'upload.interval.ms': '5000' } });
  o.clusters.push(cluster);
  await cluster.start();
  const running = () => cluster.brokers.filter((b) => b.running);
  // kafkajs' admin sends CreateTopics to the controller and fails on a Metadata answering -1.
  await waitFor(async () => {
    for (const b of running()) if ((await cluster.metadata('x', b)).controllerId < 0) return false;
    return true;
  }, 20_000, 'every broker names the controller');
  await o.createTopics(running());
  // Every broker must tell the same (clients ask any of them; one that has not seen the
  // assignments yet answers leader -1, which kafkajs caches and then fails on).
  for (const topic of ['A', 'B']) {
    await waitFor(async () => {
      for (const b of running()) {
        const l = ((await cluster.metadata(topic, b)).topics[0].partitions as { partitionIndex: number; leaderId: number }[])
          .sort((x, y) => x.partitionIndex - y.partitionIndex).map((p) => p.leaderId);
        if (![1, 2, 3].every((id) => l.filter((x) => x === id).length === 2)) return false;
      }
      return true;
    }, 30_000, `${topic}: leaders spread 2/2/2 on every broker`);
  }
  return { cluster, running };
}

export interface TxnVictim {
  transactionalId: string;
  controllerId: number;
  /** The coordinator of `transactionalId` at the start: the broker to SIGKILL. */
  victimId: number;
  victim: BrokerProcess;
  /** B's partition leaders at the start, and the partitions of B the victim does not lead. */
  leadersB: number[];
  remoteB: number[];
  /** FindCoordinator (key type 1: transaction) for `transactionalId`, asked of `via`. */
  findCoordinator: (via?: BrokerProcess) => Promise<{ nodeId: number; errorCode: number }>;
}

/**
 * A transactional id `<prefix>-<n>` whose coordinator is not the controller (the controller's own
 * loss is the failover tests' subject; here only the transaction coordinator and its partitions
 * move), and that coordinator.
 */
export async function pickVictim({ cluster, running }: TxnCluster, prefix: string): Promise<TxnVictim> {
  const controllerId = (await cluster.metadata('A')).controllerId as number;
  let n = 0;
  while (coordinatorFor(`txn:${prefix}-${n}`, [1, 2, 3]) === controllerId) n++;
  const transactionalId = `${prefix}-${n}`;
  const findCoordinator = async (via = running()[0]!) => {
    const c = await RawKafkaConnection.connect(via.bootstrap);
    try {
      const r = await c.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 1, coordinatorKeys: [transactionalId] });
      return r.coordinators[0] as { nodeId: number; errorCode: number };
    } finally { c.close(); }
  };
  const first = await findCoordinator();
  assert.equal(first.errorCode, 0);
  const victimId = first.nodeId;
  assert.notEqual(victimId, controllerId);
  const leadersB = await cluster.leaders('B');
  const remoteB = leadersB.flatMap((l, p) => (l !== victimId ? [p] : []));
  assert.equal(remoteB.length, 4, 'four partitions of B are led by brokers other than the coordinator');
  return { transactionalId, controllerId, victimId, victim: cluster.broker(victimId), leadersB, remoteB, findCoordinator };
}
