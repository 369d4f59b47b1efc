/**
 * Fetch sessions (KIP-227), Fetch v7+. A session remembers the partitions a client fetches so
 * incremental requests only name what changed, and incremental responses only carry
 * partitions with something new (records, an error, or moved offsets).
 *
 * Bounded by `fetch.session.cache.slots`; when full, the least recently used session is evicted
 * (its owner gets FETCH_SESSION_ID_NOT_FOUND and starts over with a full fetch).
 */
import { ErrorCode } from '../protocol/errors.js';

export interface SessionPartition {
  topicId: string;
  topicName: string;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  /** What the last response told the client, to decide whether to include it next time. */
  lastHighWatermark: number;
  lastLogStartOffset: number;
}

export interface FetchSession {
  id: number;
  epoch: number;
  partitions: Map<string, SessionPartition>;
  lastUsedMs: number;
}

export type SessionLookup =
  | { kind: 'sessionless' }
  | { kind: 'new'; session: FetchSession }
  | { kind: 'incremental'; session: FetchSession }
  | { kind: 'closed' }
  | { kind: 'error'; errorCode: number };

export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  private nextId = 1 + Math.floor(Math.random() * 0x3fffffff);

  constructor(private readonly slots: number) {}

  get size(): number { return this.sessions.size; }

  /** Resolve a request's (sessionId, epoch) per KIP-227. */
  lookup(sessionId: number, epoch: number, nowMs: number): SessionLookup {
    if (sessionId === 0) {
      if (epoch === FINAL_EPOCH) return { kind: 'sessionless' };
      if (epoch !== INITIAL_EPOCH) return { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
      if (this.slots <= 0) return { kind: 'sessionless' };
      return { kind: 'new', session: this.create(nowMs) };
    }
    const session = this.sessions.get(sessionId);
    if (epoch === FINAL_EPOCH) {
      if (session) this.sessions.delete(sessionId);
      return { kind: 'closed' };
    }
    if (epoch === INITIAL_EPOCH) {
      // A full fetch that replaces the old session.
      if (session) this.sessions.delete(sessionId);
      return { kind: 'new', session: this.create(nowMs) };
    }
    if (!session) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    if (session.epoch !== epoch) return { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
    session.epoch = epoch === 0x7fffffff ? 1 : epoch + 1;
    session.lastUsedMs = nowMs;
    // Keep LRU order: most recently used last.
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
    return { kind: 'incremental', session };
  }

  private create(nowMs: number): FetchSession {
    while (this.sessions.size >= this.slots) {
      const oldest = this.sessions.keys().next().value as number;
      this.sessions.delete(oldest);
    }
    let id = this.nextId++;
    if (this.nextId > 0x7fffffff) this.nextId = 1;
    while (this.sessions.has(id) || id === 0) id = this.nextId++;
    const session: FetchSession = { id, epoch: 1, partitions: new Map(), lastUsedMs: nowMs };
    this.sessions.set(id, session);
    return session;
  }

  /** Sessions whose topic disappeared keep working; their partitions answer UNKNOWN_TOPIC_ID. */
  remove(sessionId: number): void { this.sessions.delete(sessionId); }
}

export function sessionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}
