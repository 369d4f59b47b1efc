/** The record-batch header fields the log reads and rewrites, backed by the protocol's batch view. */
import { BatchView, setBaseOffset, setPartitionLeaderEpoch, setMaxTimestampAndCrc } from '../protocol/record-batch.js';
import type { BatchStamper } from './log-manager.js';

export const recordBatchStamper: BatchStamper = {
  setBaseOffset,
  setPartitionLeaderEpoch,
  setMaxTimestampAndCrc,
  readBaseOffset: (b) => Number(new BatchView(b).baseOffset),
  readLastOffsetDelta: (b) => new BatchView(b).lastOffsetDelta,
  readMaxTimestamp: (b) => Number(new BatchView(b).maxTimestamp),
  readProducer: (b) => {
    const v = new BatchView(b);
    return { producerId: v.producerId, producerEpoch: v.producerEpoch, baseSequence: v.baseSequence };
  },
};
