// The drill report as text: one table per cycle (partitions, failover phases), then the totals.
import { renderTable } from '../common/text-format.js';
import type { Summary } from './measure.js';
import type { CycleReport, DrillReport, ZoneSettings } from './report-types.js';

const ms = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${Math.round(x)}`);
const sum = (s: Summary) => (s.count === 0 ? '-' : `p50 ${ms(s.p50)}  p99 ${ms(s.p99)}  max ${ms(s.max)}  (n=${s.count})`);

function renderCycle(c: CycleReport): string {
  const out: string[] = [];
  const who = c.victims.length === 0 ? 'etcd leader' : c.victims.map((v) => `${v.nodeId} (${v.host}:${v.port}${v.rack ? `, rack ${v.rack}` : ''})`).join(', ');
  out.push(`cycle ${c.cycle}: ${c.scenario} ${who} — ${c.passed ? 'PASS' : 'FAIL'}`);
  out.push(`  t0 = ${new Date(c.t0EpochMs).toISOString()} (run +${c.t0AtMs} ms)${c.restartedBeforeWritable ? '; restarted before writable (no other broker)' : ''}`);
  const ms = (x: number | null) => (x === null ? 'never' : Math.round(x));
  // With a client zone: the broker that zone's clients were told leads the partition (the proxy of a zone-local topic).
  const zoned = c.partitions.some((p) => p.zoneLeaderBefore !== undefined && p.zoneLeaderBefore !== null);
  const rows = c.partitions.map((p) => [p.partition, p.leaderBefore, p.leaderAfter, ...(zoned ? [p.zoneLeaderBefore ?? '-', p.zoneLeaderAfter ?? '-'] : []), p.affected ? 'yes' : 'no', ms(p.writableMs), ms(p.clientWritableMs), p.maxAckGapMs === null ? '-' : Math.round(p.maxAckGapMs)]);
  const head = ['partition', 'leader before', 'leader after', ...(zoned ? ['zone leader before', 'zone leader after'] : []), 'affected', 'writable ms', 'client ms', 'max gap ms'];
  out.push(renderTable(head, rows).trimEnd().replace(/^/gm, '  '));
  out.push(`  writable after t0 (affected): ${sum(c.writableAffectedMs)}; the workload client: ${sum(c.clientWritableAffectedMs)}`);
  const gaps = c.partitions.filter((p) => p.affected && p.maxAckGapMs !== null).map((p) => p.maxAckGapMs!);
  if (gaps.length > 0) out.push(`  longest gap without an ack (affected): ${Math.round(Math.max(...gaps))} ms`);
  if (c.failovers === null || c.failovers.length === 0) {
    out.push(`  failover: detected - attached - replayed - done -  (${c.failoverNote ?? 'none'})`);
  } else {
    const frows = c.failovers.map((f) => [
      f.brokerId, f.target ?? '-', f.phase, ms(f.afterT0Ms.detected), ms(f.afterT0Ms.detached), ms(f.afterT0Ms.attached), ms(f.afterT0Ms.fenced),
      ms(f.afterT0Ms.replayed), ms(f.afterT0Ms.released), ms(f.afterT0Ms.done), f.replay ? `${f.replay.records} rec / ${f.replay.bytes} B` : '-',
    ]);
    out.push(renderTable(['broker', 'target', 'phase', 'detected', 'detached', 'attached', 'fenced', 'replayed', 'released', 'done', 'replay'], frows).trimEnd().replace(/^/gm, '  '));
    if (c.failoverNote) out.push(`  note: ${c.failoverNote}`);
  }
  out.push(`  leader changes seen: ${c.leaderChanges.length}; sends ${c.sends.sent}, acked ${c.sends.acked}, failed ${c.sends.failed}, pending ${c.sends.pending}; produce latency ${sum(c.latencyMs)}`);
  out.push(`  acked lost ${c.ackedLost}, duplicates ${c.duplicates}, unacked present ${c.unackedPresent}; victims back in Metadata at ${c.backInMetadataMs === null ? '-' : `+${c.backInMetadataMs - c.t0AtMs} ms`}`);
  for (const f of c.failures) out.push(`  ! ${f}`);
  return out.join('\n') + '\n';
}

/** Where the workload ran and how the topic routed it. */
function zoneLine(z: ZoneSettings): string {
  const proxied = z.leaders.filter((l) => l.zoneLeader !== l.leader);
  const configs = Object.entries(z.topicConfigs).map(([k, v]) => `${k}=${v}`).join(', ');
  const leaders = Object.entries(z.readLeaders);
  return [
    `clients in zone ${z.clientZone} (client ids with ferry_az=${z.clientZone}; read-back with rackId ${z.clientZone}); topic routing ${z.routing ?? 'unknown'}, read mode ${z.readMode ?? 'unknown'}${configs ? ` (--topic-config ${configs})` : ''}`,
    `  at the start, ${proxied.length} of ${z.leaders.length} partitions proxied for the zone${proxied.length ? `: ${proxied.map((l) => `${l.partition} via ${l.zoneLeader} (leader ${l.leader})`).join(', ')}` : ''}`,
    `  read back: ${leaders.length ? leaders.map(([p, l]) => (z.readFrom[Number(p)] !== undefined ? `${p} from read replica ${z.readFrom[Number(p)]} (leader ${l})` : `${p} from leader ${l}`)).join(', ') : '-'}`,
  ].join('\n');
}

export function renderDrillReport(r: DrillReport): string {
  const t = r.totals;
  const out: string[] = [];
  out.push(`ferry drill ${r.runId}: ${r.scenario}, ${r.cycles.length} cycle(s), topic ${r.topic} (${r.partitions} partitions), ${(r.durationMs / 1000).toFixed(1)} s${r.zone ? '' : '\n'}`);
  if (r.zone) out.push(`${zoneLine(r.zone)}\n`);
  for (const c of r.cycles) out.push(renderCycle(c));
  out.push('totals (ms after t0; p50/p99/max over every cycle)');
  const rows: Array<[string, string]> = [
    ['cycles passed', `${t.passedCycles}/${t.cycles}`],
    ['writable again (affected)', sum(t.writableAffectedMs)],
    ['  as the client saw it', sum(t.clientWritableAffectedMs)],
    ['failover detected', sum(t.detectedMs)],
    ['volume attached', sum(t.attachedMs)],
    ['WAL replayed', sum(t.replayedMs)],
    ['failover done', sum(t.doneMs)],
    ['failovers failed', String(t.failoversFailed)],
    ['replayed', `${t.replayRecords} records, ${t.replayBytes} bytes`],
    ['produce latency', sum(t.latencyMs)],
    ['sent / acked / failed / pending', `${t.sent} / ${t.acked} / ${t.failed} / ${t.pending}`],
    ['acked lost (must be 0)', String(t.ackedLost)],
    ['duplicates', String(t.duplicates)],
    ['unacked present', String(t.unackedPresent)],
    ['records read back', `${r.verify.recordsRead} (${r.verify.foreignRecords} not from this run${r.verify.corruptRecords ? `, ${r.verify.corruptRecords} corrupt` : ''})`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) out.push(`  ${k.padEnd(w)}  ${v}`);
  if (r.etcd === null) out.push('  (no --etcd/--cluster: failover phase times unknown, shown as -)');
  const errs = Object.entries(r.sendErrors);
  if (errs.length) out.push(`  send errors: ${errs.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const s of r.verify.lostSamples) out.push(`  lost: partition ${s.partition} offset ${s.offset} (cycle ${s.cycle} seq ${s.seq}, hash ${s.expectedHash}): found ${s.found}`);
  for (const s of r.verify.duplicateSamples) out.push(`  duplicate: partition ${s.partition} cycle ${s.cycle} seq ${s.seq} x${s.copies}`);
  out.push('');
  out.push(r.passed ? 'PASS' : `FAIL\n${r.failures.map((f) => `  - ${f}`).join('\n')}`);
  return out.join('\n') + '\n';
}
