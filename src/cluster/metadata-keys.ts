// The key layout of DESIGN §5, in one place. Every key lives under /ferry/<cluster>/.
//
//   cluster-id                          ClusterIdentity: {"id": "<22-char base64url>"}
//   brokers/<nodeId>                    membership (bound to the broker's lease; cluster issue)
//   controller                          controller election (cluster issue)
//   topics/<name>                       TopicRegistry: {"id","partitions","configs","createdMs"}
//   topic-ids/<topicId>                 TopicRegistry's index by id: {"name"}
//   partitions/<topicId>/<partition>    {"leader": nodeId, "leaderEpoch"}
//   partition-moves/<topicId>/<p>       a graceful move in progress (controller.ts; beside the partition
//                                       record so the record's modRevision, the upload commit guard,
//                                       changes only with the leader epoch)
//   groups/<group>/offsets/<topic>/<p>  committed offsets (group and topic escaped, see escapeSegment)
//   producer-ids                        ProducerIdAllocator: {"nextBlockStart"}
//   volumes/<volumeId>/attachment       the local volume provider's attachment record
//                                       (src/failover/local-volume-provider.ts; volume id escaped)
//   volumes/<volumeId>/owner            who may write the volume's WAL, at which epoch (failover-records.ts);
//                                       every upload commit of the owner compares its modRevision
//   failovers/<brokerId>                the last failover of a dead broker's volume: phase, target, times
//   txn/<transactionalId>               the transaction coordinator's state of one transactional id
//                                       (src/txn/transaction-store.ts; id encodeURIComponent'ed)
//
// API: class MetadataKeys (one per cluster name), escapeSegment / unescapeSegment

export class MetadataKeys {
  readonly root: string;

  constructor(readonly clusterName: string) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(clusterName)) throw new RangeError(`cluster name ${JSON.stringify(clusterName)} is not 1-64 of A-Z a-z 0-9 . _ -`);
    this.root = `/ferry/${clusterName}/`;
  }

  clusterId(): string { return `${this.root}cluster-id`; }
  broker(nodeId: number): string { return `${this.root}brokers/${nodeId}`; }
  brokersPrefix(): string { return `${this.root}brokers/`; }
  controller(): string { return `${this.root}controller`; }

  topic(name: string): string { return `${this.root}topics/${name}`; }
  topicsPrefix(): string { return `${this.root}topics/`; }
  topicId(topicId: string): string { return `${this.root}topic-ids/${topicId}`; }
  partition(topicId: string, partition: number): string { return `${this.root}partitions/${topicId}/${partition}`; }
  partitionsPrefix(topicId: string): string { return `${this.root}partitions/${topicId}/`; }
  /** Every partition record of every topic. */
  allPartitionsPrefix(): string { return `${this.root}partitions/`; }
  partitionMove(topicId: string, partition: number): string { return `${this.root}partition-moves/${topicId}/${partition}`; }
  partitionMovesPrefix(): string { return `${this.root}partition-moves/`; }
  /** Covers partitions/ and partition-moves/ and nothing else: one watch sees both in revision order. */
  partitionStatePrefix(): string { return `${this.root}partition`; }

  groupsPrefix(): string { return `${this.root}groups/`; }
  groupPrefix(groupId: string): string { return `${this.root}groups/${escapeSegment(groupId)}/`; }
  groupOffset(groupId: string, topic: string, partition: number): string {
    return `${this.groupPrefix(groupId)}offsets/${escapeSegment(topic)}/${partition}`;
  }

  producerIds(): string { return `${this.root}producer-ids`; }

  volumesPrefix(): string { return `${this.root}volumes/`; }
  volumeAttachment(volumeId: string): string { return `${this.root}volumes/${escapeSegment(volumeId)}/attachment`; }
  volumeOwner(volumeId: string): string { return `${this.root}volumes/${escapeSegment(volumeId)}/owner`; }
  failover(brokerId: number): string { return `${this.root}failovers/${brokerId}`; }
  failoversPrefix(): string { return `${this.root}failovers/`; }

  /** One transactional id's coordinator state; encodeURIComponent makes any id one safe segment. */
  transaction(transactionalId: string): string { return `${this.root}txn/${encodeURIComponent(transactionalId)}`; }
  transactionsPrefix(): string { return `${this.root}txn/`; }
}

/**
 * Makes an arbitrary string safe as one key segment: '%' and '/' are percent-encoded, so a group
 * named "a/offsets/b" cannot collide with group "a", and a prefix of one group never lists another.
 */
export function escapeSegment(s: string): string {
  return s.replace(/%/g, '%25').replace(/\//g, '%2F');
}

export function unescapeSegment(s: string): string {
  return s.replace(/%2F|%25/g, (m) => (m === '%2F' ? '/' : '%'));
}
