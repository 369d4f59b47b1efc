/** Conventions carried in a Kafka client id. */

/**
 * The client's rack from its client id, for Produce (which carries no rack): a `ferry_az=<az>`
 * or `client.rack=<az>` token, separated from the rest by ',', ';' or whitespace
 * (e.g. `orders-service;ferry_az=use1-az1`). Null when absent.
 */
export function clientRackFromClientId(clientId: string | null | undefined): string | null {
  if (!clientId) return null;
  for (const token of clientId.split(/[,;\s]+/)) {
    const m = /^(?:ferry_az|client\.rack)=(.+)$/.exec(token);
    if (m) return m[1]!;
  }
  return null;
}
