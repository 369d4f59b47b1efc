/** Shared fixtures for the group coordinator tests: a coordinator on a manual clock and request builders. */
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  GroupCoordinator, ManualClock, MemoryGroupOffsetStore,
  type GroupCoordinatorConfig, type GroupOffsetStore, type OffsetCommitParams, type OffsetCommitPartitionParams, type JoinGroupParams, type JoinGroupResult, type SyncGroupResult,
} from '../../src/groups/coordinator.js';

export { ErrorCode };

export const SESSION_MS = 10_000;
export const REBALANCE_MS = 30_000;

export interface Harness {
  coordinator: GroupCoordinator;
  clock: ManualClock;
  store: MemoryGroupOffsetStore;
}

export async function harness(config: Partial<GroupCoordinatorConfig> = {}, store = new MemoryGroupOffsetStore(), clock = new ManualClock()): Promise<Harness> {
  let n = 0;
  const coordinator = await GroupCoordinator.open({
    store: store as GroupOffsetStore,
    clock,
    config: { initialRebalanceDelayMs: 0, ...config },
    newMemberIdSuffix: () => `id${++n}`,
  });
  return { coordinator, clock, store };
}

/** Consumer-protocol Subscription bytes: version int16, topics [string], then (v0) null user data. */
export function subscription(topics: string[], version = 0): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(6);
  head.writeInt16BE(version, 0);
  head.writeInt32BE(topics.length, 2);
  parts.push(head);
  for (const t of topics) {
    const b = Buffer.from(t, 'utf8');
    const len = Buffer.alloc(2);
    len.writeInt16BE(b.length);
    parts.push(len, b);
  }
  const userData = Buffer.alloc(4);
  userData.writeInt32BE(-1);
  parts.push(userData);
  return Buffer.concat(parts);
}

export function joinParams(groupId: string, overrides: Partial<JoinGroupParams> = {}): JoinGroupParams {
  return {
    apiVersion: 7,
    groupId,
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['t1']) }],
    reason: null,
    ...overrides,
  };
}

const PENDING = Symbol('pending');

/** The promise's value if it has settled by the time queued callbacks ran, else PENDING. */
export async function peek<T>(p: Promise<T>): Promise<T | typeof PENDING> {
  return Promise.race([p, new Promise<typeof PENDING>((r) => setImmediate(() => r(PENDING)))]);
}

export async function isPending(p: Promise<unknown>): Promise<boolean> {
  return (await peek(p)) === PENDING;
}

/** v4+ two-step join: gets MEMBER_ID_REQUIRED and the id, then rejoins; returns the parked rejoin. */
export async function joinNew(c: GroupCoordinator, groupId: string, overrides: Partial<JoinGroupParams> = {}): Promise<{ memberId: string; join: Promise<JoinGroupResult> }> {
  const first = await c.joinGroup(joinParams(groupId, overrides));
  if (first.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) throw new Error(`expected MEMBER_ID_REQUIRED, got ${first.errorCode}`);
  return { memberId: first.memberId, join: c.joinGroup(joinParams(groupId, { ...overrides, memberId: first.memberId })) };
}

export function sync(c: GroupCoordinator, groupId: string, memberId: string, generationId: number, assignments: Array<{ memberId: string; assignment: Buffer }> = []): Promise<SyncGroupResult> {
  return c.syncGroup({ groupId, generationId, memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments });
}

export function heartbeat(c: GroupCoordinator, groupId: string, memberId: string, generationId: number, groupInstanceId: string | null = null): Promise<number> {
  return c.heartbeat({ groupId, memberId, generationId, groupInstanceId }).then((r) => r.errorCode);
}

/** A single-member group, joined and synced: returns the member id and generation. */
export async function stableSingle(c: GroupCoordinator, groupId: string, overrides: Partial<JoinGroupParams> = {}): Promise<{ memberId: string; generationId: number }> {
  const { memberId, join } = await joinNew(c, groupId, overrides);
  const j = await join;
  if (j.errorCode !== ErrorCode.NONE) throw new Error(`join failed: ${j.errorCode}`);
  const s = await sync(c, groupId, memberId, j.generationId, [{ memberId, assignment: Buffer.from('a-' + memberId) }]);
  if (s.errorCode !== ErrorCode.NONE) throw new Error(`sync failed: ${s.errorCode}`);
  return { memberId, generationId: j.generationId };
}

export function commitParams(groupId: string, entries: Array<{ topic: string; partition: number; offset: bigint; metadata?: string | null }>, member: { memberId: string; generationId: number } = { memberId: '', generationId: -1 }): OffsetCommitParams {
  const topics = new Map<string, OffsetCommitPartitionParams[]>();
  for (const e of entries) {
    const list = topics.get(e.topic) ?? [];
    list.push({ partitionIndex: e.partition, committedOffset: e.offset, committedLeaderEpoch: -1, committedMetadata: e.metadata === undefined ? '' : e.metadata });
    topics.set(e.topic, list);
  }
  return {
    apiVersion: 8,
    groupId,
    generationId: member.generationId,
    memberId: member.memberId,
    groupInstanceId: null,
    topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
  };
}
