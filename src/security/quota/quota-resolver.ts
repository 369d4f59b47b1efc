/**
 * Which client quota applies to a request, and which bucket it is counted in: Kafka's
 * ClientQuotaManager DefaultQuotaCallback (quotaMetricTags, then quotaLimit), per quota key.
 *
 * The most specific entity that sets the key wins, in this order:
 *   1 /users/<user>/clients/<client-id>      5 /users/<default>/clients/<default>
 *   2 /users/<user>/clients/<default>        6 /users/<default>
 *   3 /users/<user>                          7 /clients/<client-id>
 *   4 /users/<default>/clients/<client-id>   8 /clients/<default>
 *
 * The bucket (Kafka's metric tags) is the matched level with its defaults filled in by the
 * client's own names: (user, client-id) for levels 1, 2, 4, 5; (user, '') for 3 and 6, so every
 * client of a user shares the user's quota; ('', client-id) for 7 and 8, shared by every user of
 * that client id. A default quota is thus a quota per user (or client id), not one shared by all.
 * The limit is then looked up from the bucket's tags as Kafka does (an empty client id only
 * matches user levels, an empty user only client-id levels).
 */
import type { ClientQuotaKey } from './quota-entity.js';

/** The quotas set per entity: undefined = the entity has no such component, null = its default. */
export interface QuotaIndex {
  valueOf(key: ClientQuotaKey, user: string | null | undefined, clientId: string | null | undefined): number | undefined;
}

export interface ResolvedQuota {
  limit: number;
  /** Kafka's metric tags: who shares the bucket. */
  userTag: string;
  clientIdTag: string;
}

/** The quota on `key` for this user and client id, with the bucket it counts in; null when none applies. */
export function resolveQuota(index: QuotaIndex, key: ClientQuotaKey, user: string, clientId: string): ResolvedQuota | null {
  const has = (u: string | null | undefined, c: string | null | undefined) => index.valueOf(key, u, c) !== undefined;
  let tags: [string, string];
  if (has(user, clientId) || has(user, null)) tags = [user, clientId];
  else if (has(user, undefined)) tags = [user, ''];
  else if (has(null, clientId) || has(null, null)) tags = [user, clientId];
  else if (has(null, undefined)) tags = [user, ''];
  else tags = ['', clientId];
  const limit = limitOf(index, key, tags[0], tags[1]);
  return limit === undefined ? null : { limit, userTag: tags[0], clientIdTag: tags[1] };
}

/** Kafka's DefaultQuotaCallback.quotaLimit: the quota of a bucket's tags. */
function limitOf(index: QuotaIndex, key: ClientQuotaKey, user: string, clientId: string): number | undefined {
  const v = (u: string | null | undefined, c: string | null | undefined) => index.valueOf(key, u, c);
  if (user !== '' && clientId !== '') return v(user, clientId) ?? v(user, null) ?? v(null, clientId) ?? v(null, null);
  if (user !== '') return v(user, undefined) ?? v(null, undefined);
  if (clientId !== '') return v(undefined, clientId) ?? v(undefined, null);
  return undefined;
}
