// A LocalMetadataStore in a temporary directory, closed and removed after the test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMetadataStore } from '../../src/cluster/local-metadata-store.js';

export async function tempStore(t: { after(fn: () => Promise<void>): void }): Promise<{ store: LocalMetadataStore; dir: string; reopen(): Promise<LocalMetadataStore> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-meta-'));
  let store = await LocalMetadataStore.open(dir);
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    get store() { return store; },
    dir,
    async reopen() {
      await store.close();
      store = await LocalMetadataStore.open(dir);
      return store;
    },
  };
}
