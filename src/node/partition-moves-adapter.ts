/**
 * The handlers' PartitionMoves in a cluster: the controller's admin operations (guarded writes of
 * partition-moves/ records in the metadata store, which any broker may make) through an admin-only
 * ClusterController that never runs for controller, as `ferry cluster move` uses it. The recorded
 * leader comes from this broker's LeadershipView.
 */
import { ClusterController, ControllerError, type MetadataKeys, type MetadataStore } from '../cluster/index.js';
import { ErrorCode } from '../protocol/errors.js';
import type { PartitionMoveInfo, PartitionMoveResult, PartitionMoves } from '../broker/context.js';
import type { ClusterLeadership } from './leadership-adapters.js';

const OK: PartitionMoveResult = { errorCode: ErrorCode.NONE, errorMessage: null };

/** Kafka's code for a failed admin move. */
export function moveErrorResult(err: unknown): PartitionMoveResult {
  if (!(err instanceof ControllerError)) return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `metadata store: ${(err as Error).message}` };
  const code = {
    UNKNOWN_TOPIC_OR_PARTITION: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    BROKER_NOT_AVAILABLE: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    REASSIGNMENT_IN_PROGRESS: ErrorCode.REASSIGNMENT_IN_PROGRESS,
    REQUEST_TIMED_OUT: ErrorCode.REQUEST_TIMED_OUT,
    NOT_CONTROLLER: ErrorCode.NOT_CONTROLLER,
  }[err.code];
  return { errorCode: code, errorMessage: err.message };
}

export class ClusterPartitionMoves implements PartitionMoves {
  private readonly admin: ClusterController;

  constructor(store: MetadataStore, keys: MetadataKeys, private readonly leadership: ClusterLeadership) {
    this.admin = new ClusterController(store, keys, { nodeId: -1 });
  }

  async move(topic: string, partition: number, to: number, timeoutMs: number): Promise<PartitionMoveResult> {
    try {
      await this.admin.requestMove(topic, partition, to, { timeoutMs });
      return OK;
    } catch (err) {
      return moveErrorResult(err);
    }
  }

  async cancel(topic: string, partition: number): Promise<PartitionMoveResult> {
    try {
      return await this.admin.cancelMove(topic, partition)
        ? OK
        : { errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: `no reassignment of ${topic}-${partition} is in progress` };
    } catch (err) {
      return moveErrorResult(err);
    }
  }

  list(): Promise<PartitionMoveInfo[]> { return this.admin.listMoves(); }

  recordedLeader(topicId: string, partition: number): number | null {
    return this.leadership.view?.leaderOf(topicId, partition)?.nodeId ?? null;
  }
}
