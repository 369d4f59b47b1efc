// Everything src/cluster offers the rest of Ferry, in one import.
export * from './metadata-store.js';
export { LocalMetadataStore, type LocalMetadataStoreOptions, type LocalStoreOpenStats } from './local-metadata-store.js';
export { MetadataKeys, escapeSegment, unescapeSegment } from './metadata-keys.js';
export * from './producer-id-allocator.js';
export * from './metadata-group-offset-store.js';
export * from './cluster-identity.js';
export * from './object-registry.js';
export * from './partition-records.js';
export * from './membership.js';
export * from './controller-election.js';
export * from './assignment.js';
export * from './controller.js';
export * from './leadership.js';
export * from './coordinator.js';
export * from './failover-records.js';
