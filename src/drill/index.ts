// `ferry drill` as a library: the runner, its pieces, and the report renderers.
export { runDrill, type DrillOptions, type DrillResult } from './scenario.js';
export { ShellFaultExecutor, runShell, FaultCommandError, type FaultExecutor, type BrokerTarget, type CommandRun, type DrillSignal } from './commands.js';
export { expandTemplate, checkTemplate, shellQuote, TemplateError, PLACEHOLDERS } from './template.js';
export { Ledger, SendState, encodeMessage, decodeMessageId, payloadHash } from './ledger.js';
export { Verifier, type VerifyResult } from './verify.js';
export { readBack, batchRecords } from './read-back.js';
export { pickBroker, pickRack, pickProxy, proxiedPartitions, rotateAfter, affectedPartitions, VictimError } from './victims.js';
export { zoneClientId, topicZoneSettings, TopicConfigMismatchError } from './zone.js';
export { readFailovers, observeFailover, type FailoverObservation } from './failovers.js';
export { summarize, writableAfter, latencyTimeline, type Summary } from './measure.js';
export { renderDrillReport } from './report.js';
export { renderDrillSvg } from './svg.js';
export * from './report-types.js';
