// Public surface of the Kafka wire protocol (no I/O).
export * from './primitives.js';
export * from './errors.js';
export * from './headers.js';
export * from './frame.js';
export * from './record-batch.js';
export * from './messages/index.js';
