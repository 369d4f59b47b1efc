/**
 * Reads the subscribed topics out of a "consumer" protocol member metadata (ConsumerProtocol
 * Subscription). Every version starts with `version int16, topics [string]` (int32 count, then
 * int16-length UTF-8 strings), so only that prefix is read, as Kafka's coordinator does; the rest
 * (user data, owned partitions, generation, rack) is ignored.
 */

/** Topic names cannot be longer than this in Kafka; anything longer is not a subscription. */
const TOPIC_NAME_LENGTH_MAX = 249;

export class SubscriptionParseError extends Error {
  readonly code = 'SUBSCRIPTION_PARSE';
  constructor(message: string) {
    super(message);
    this.name = 'SubscriptionParseError';
  }
}

export function parseSubscriptionTopics(metadata: Uint8Array): string[] {
  const view = new DataView(metadata.buffer, metadata.byteOffset, metadata.byteLength);
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > metadata.byteLength) throw new SubscriptionParseError(`subscription truncated at byte ${pos}`);
  };
  need(2);
  const version = view.getInt16(pos);
  pos += 2;
  if (version < 0) throw new SubscriptionParseError(`subscription version ${version}`);
  need(4);
  const count = view.getInt32(pos);
  pos += 4;
  // Each topic takes at least 2 bytes: checks the count against the bytes present before allocating.
  if (count < 0 || count * 2 > metadata.byteLength - pos) throw new SubscriptionParseError(`subscription topic count ${count}`);
  const topics: string[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < count; i++) {
    need(2);
    const len = view.getInt16(pos);
    pos += 2;
    if (len < 0 || len > TOPIC_NAME_LENGTH_MAX) throw new SubscriptionParseError(`topic name length ${len}`);
    need(len);
    try {
      topics.push(decoder.decode(metadata.subarray(pos, pos + len)));
    } catch {
      throw new SubscriptionParseError('topic name is not UTF-8');
    }
    pos += len;
  }
  return topics;
}
