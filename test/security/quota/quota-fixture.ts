// A QuotaStore over a real LocalMetadataStore in a temp directory, and setting quotas through it
// the way AlterClientQuotas does, waiting until the store's watch has applied the change.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMetadataStore } from '../../../src/cluster/local-metadata-store.js';
import { QuotaStore } from '../../../src/security/quota/quota-store.js';
import type { QuotaEntity, QuotaKey } from '../../../src/security/quota/quota-entity.js';
import { newSession, type Session } from '../../../src/server/session.js';
import { waitFor } from '../../helpers/wait.js';

export const ROOT = '/ferry/quota-test/';

export async function tempQuotaStore(t: { after(fn: () => Promise<void>): void }): Promise<{ meta: LocalMetadataStore; quotas: QuotaStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-quota-'));
  const meta = await LocalMetadataStore.open(dir);
  const quotas = await QuotaStore.open({ store: meta, root: ROOT });
  t.after(async () => {
    quotas.close();
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { meta, quotas };
}

/** Sets (number) or removes (null) one key of an entity and waits until `quotas` applies it. */
export async function setQuota(quotas: QuotaStore, entity: QuotaEntity, key: QuotaKey, value: number | null): Promise<void> {
  const revision = await quotas.alter(entity, [{ key, value }]);
  await waitFor(() => quotas.revision >= revision, 5_000, `quota change at revision ${revision} applied`, 5);
}

export function userSession(user: string): Session {
  return newSession('PLAINTEXT', 'PLAINTEXT', '127.0.0.1', { type: 'User', name: user });
}
