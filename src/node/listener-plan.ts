/**
 * The broker's listeners from its settings: name, security protocol, where to bind and what to
 * advertise. The first listener's addresses come from BrokerSettings (tests and `ferry broker`
 * set them); further ones from `listeners` and `advertised.listeners` matched by name.
 */
import type { BrokerConfig } from '../ops/config.js';
import type { SecurityProtocol } from '../server/session.js';

export interface PlannedListener {
  name: string;
  protocol: SecurityProtocol;
  host: string;
  port: number;
  advertised: { host: string; port: number };
}

export function planListeners(settings: { listenHost: string; listenPort: number; advertisedHost: string; advertisedPort: number; config: BrokerConfig }): PlannedListener[] {
  const c = settings.config;
  const [first, ...rest] = c.listeners;
  const name = first?.name ?? 'PLAINTEXT';
  const out: PlannedListener[] = [{
    name, protocol: c.securityProtocolOf(name), host: settings.listenHost, port: settings.listenPort,
    advertised: { host: settings.advertisedHost, port: settings.advertisedPort },
  }];
  for (const l of rest) {
    const a = c.advertisedListeners.find((x) => x.name === l.name) ?? l;
    const host = l.host === '' ? '0.0.0.0' : l.host;
    out.push({ name: l.name, protocol: c.securityProtocolOf(l.name), host, port: l.port, advertised: { host: a.host, port: a.port } });
  }
  return out;
}

/** inter.broker.listener.name, or the first listener. */
export function interBrokerListener(listeners: readonly PlannedListener[], configured: string | null): PlannedListener {
  if (configured === null) return listeners[0]!;
  const l = listeners.find((x) => x.name === configured.toUpperCase());
  if (!l) throw new Error(`inter.broker.listener.name ${configured} is not one of the listeners`);
  return l;
}
