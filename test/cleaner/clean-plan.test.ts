import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placedObjects, planPass, type CompactionSettings } from '../../src/cleaner/clean-plan.js';
import { nextCleanedRanges } from '../../src/cleaner/batch-cleaner.js';
import type { ObjectKind, ObjectRecord } from '../../src/cluster/object-registry.js';

const T = 'a'.repeat(32);
const NOW = 10_000_000;
const settings: CompactionSettings = { minCleanableDirtyRatio: 0.5, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, segmentMs: 1000, segmentBytes: 1 << 30 };

function obj(id: string, kind: ObjectKind, base: number, end: number, size: number, ts: number, extra: Partial<ObjectRecord> = {}): ObjectRecord {
  return { id, key: `k/${id}`, size, kind, createdMs: 0, blocks: [{ topicId: T, partition: 0, baseOffset: base, endOffset: end, recordCount: end - base, maxTimestamp: ts, position: 0, size }], ...extra };
}

const view = (over: Partial<Parameters<typeof planPass>[0]> = {}) => ({ topicId: T, partition: 0, logStartOffset: 0, stableUploadedEnd: 1000, headBytes: 0, ...over });

test('the clean section ends at the recorded cleaned end; the dirty section is the rolled stream data after it', () => {
  const objects = [
    obj('c1', 'compacted', 0, 90, 100, NOW - 5000, { cleanedRanges: [[100, NOW - 5000]] }),
    obj('s1', 'stream', 100, 200, 300, NOW - 5000),
    obj('s2', 'stream', 200, 300, 300, NOW - 10), // newer than segment.ms, little data after it: active head
  ];
  const plan = planPass(view(), placedObjects(objects, T, 0, 0), settings, NOW);
  assert.equal(plan.firstDirtyOffset, 100);
  assert.deepEqual(plan.dirty.map((p) => p.object.id), ['s1']);
  assert.equal(plan.cleanableEndOffset, 200);
  assert.equal(plan.dirtyRatio, 0.75);
  assert.equal(plan.due, true);
  assert.deepEqual(plan.cleanedRanges, [[100, NOW - 5000]]);
});

test('segment.bytes of newer data rolls the head; the LSO, min lag and stream-sets stop the dirty section', () => {
  const objects = [obj('s1', 'stream', 0, 100, 300, NOW - 10), obj('s2', 'stream', 100, 200, 300, NOW - 10)];
  const placed = placedObjects(objects, T, 0, 0);
  assert.deepEqual(planPass(view({ headBytes: 400 }), placed, { ...settings, segmentBytes: 500 }, NOW).dirty.map((p) => p.object.id), ['s1']);
  assert.deepEqual(planPass(view({ headBytes: 600 }), placed, { ...settings, segmentBytes: 500 }, NOW).dirty.map((p) => p.object.id), ['s1', 's2']);
  // The last stable offset may fall inside an object: the dirty section ends there, inside it.
  const atLso = planPass(view({ headBytes: 600, stableUploadedEnd: 150 }), placed, { ...settings, segmentBytes: 500 }, NOW);
  assert.deepEqual(atLso.dirty.map((p) => p.object.id), ['s1', 's2']);
  assert.equal(atLso.cleanableEndOffset, 150);
  assert.equal(planPass(view({ headBytes: 600, stableUploadedEnd: 100 }), placed, { ...settings, segmentBytes: 500 }, NOW).cleanableEndOffset, 100);
  assert.deepEqual(planPass(view({ headBytes: 600 }), placed, { ...settings, segmentBytes: 500, minCompactionLagMs: 50 }, NOW).dirty.length, 0);
  const withSet = [...objects.slice(0, 1), obj('m1', 'stream-set', 100, 200, 300, NOW - 5000), obj('s3', 'stream', 200, 300, 10, NOW - 5000)];
  assert.deepEqual(planPass(view({ headBytes: 600 }), placedObjects(withSet, T, 0, 0), { ...settings, segmentBytes: 500 }, NOW).dirty.map((p) => p.object.id), ['s1']);
});

test('a pass is due at min.cleanable.dirty.ratio, or past max.compaction.lag.ms whatever the ratio', () => {
  const objects = [obj('c1', 'compacted', 0, 100, 900, NOW - 9000, { cleanedRanges: [[100, NOW - 9000]] }), obj('s1', 'stream', 100, 200, 100, NOW - 5000)];
  const placed = placedObjects(objects, T, 0, 0);
  const p = planPass(view(), placed, settings, NOW);
  assert.equal(p.dirtyRatio, 0.1);
  assert.equal(p.due, false);
  assert.equal(planPass(view(), placed, { ...settings, minCleanableDirtyRatio: 0.1 }, NOW).due, true);
  assert.equal(planPass(view(), placed, { ...settings, maxCompactionLagMs: 4000 }, NOW).due, true);
  // Nothing dirty: never due.
  assert.equal(planPass(view(), placedObjects(objects.slice(0, 1), T, 0, 0), { ...settings, minCleanableDirtyRatio: 0 }, NOW).due, false);
});

test('objects below the log start are not part of the plan', () => {
  const objects = [obj('s0', 'stream', 0, 100, 300, NOW - 5000), obj('s1', 'stream', 100, 200, 300, NOW - 5000)];
  const plan = planPass(view({ logStartOffset: 100 }), placedObjects(objects, T, 0, 100), { ...settings, minCleanableDirtyRatio: 0 }, NOW);
  assert.equal(plan.firstDirtyOffset, 100);
  assert.deepEqual(plan.dirty.map((p) => p.object.id), ['s1']);
});

test('cleaned ranges record when offsets were first cleaned, folding expired ones and staying bounded', () => {
  let r = nextCleanedRanges([], 0, 100, 1000, 500);
  assert.deepEqual(r, [[100, 1000]]);
  r = nextCleanedRanges(r, 100, 200, 1200, 500);
  assert.deepEqual(r, [[100, 1000], [200, 1200]]);
  // Both past their horizon at 2000: folded into one.
  r = nextCleanedRanges(r, 200, 300, 2000, 500);
  assert.deepEqual(r, [[200, 1200], [300, 2000]]);
  let many: [number, number][] = [];
  for (let i = 1; i <= 100; i++) many = nextCleanedRanges(many, (i - 1) * 10, i * 10, 5000 + i, 1_000_000);
  assert.equal(many.length, 32);
  assert.equal(many[many.length - 1][0], 1000);
  // Merging keeps the later time: a tombstone is never dropped earlier than its own first cleaning allows.
  for (let i = 1; i < many.length; i++) assert.ok(many[i][1] >= many[i - 1][1] && many[i][0] > many[i - 1][0]);
});
