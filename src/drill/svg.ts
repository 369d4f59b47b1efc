// The drill timeline as a self-contained SVG, drawn by hand: produce latency over time (per-bucket
// p50 line and max dots, log scale), failed sends, a vertical marker per fault and per failover
// phase, and below it one row per affected partition shaded from the fault until it was writable.
import { FAILOVER_TIME_KEYS, type FailoverTimeKey } from './failovers.js';
import type { DrillReport } from './report-types.js';

const W = 1200;
const LEFT = 70;
const RIGHT = 20;
const TOP = 40;
const CHART_H = 320;
const ROW_H = 14;

const PHASE_COLORS: Record<FailoverTimeKey, string> = {
  detected: '#9467bd', detached: '#8c564b', attached: '#e377c2', fenced: '#7f7f7f', replayed: '#bcbd22', released: '#17becf', done: '#2ca02c',
};

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const f1 = (x: number) => (Math.round(x * 10) / 10).toString();

export function renderDrillSvg(r: DrillReport): string {
  const durationMs = Math.max(1, r.durationMs);
  const plotW = W - LEFT - RIGHT;
  const x = (t: number) => LEFT + (Math.min(Math.max(t, 0), durationMs) / durationMs) * plotW;
  const maxLat = Math.max(10, ...r.timeline.points.map((p) => p[2]));
  const decades = Math.ceil(Math.log10(maxLat));
  const y = (lat: number) => TOP + CHART_H - (Math.log10(Math.max(1, lat)) / decades) * CHART_H;
  const affectedRows = [...new Set(r.cycles.flatMap((c) => c.partitions.filter((p) => p.affected).map((p) => p.partition)))].sort((a, b) => a - b);
  const bandTop = TOP + CHART_H + 40;
  const H = bandTop + Math.max(1, affectedRows.length) * ROW_H + 60;
  const el: string[] = [];
  el.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  el.push(`<text x="${LEFT}" y="22" font-size="14" font-weight="bold">${escapeXml(`ferry drill ${r.runId}: ${r.scenario}, ${r.cycles.length} cycle(s), ${r.topic} — ${r.passed ? 'PASS' : 'FAIL'}; acked lost ${r.totals.ackedLost}`)}</text>`);
  // Axes and grid.
  el.push(`<g class="axes" stroke="#999" stroke-width="1">`);
  el.push(`<line x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${TOP + CHART_H}"/><line x1="${LEFT}" y1="${TOP + CHART_H}" x2="${W - RIGHT}" y2="${TOP + CHART_H}"/>`);
  el.push('</g>');
  el.push('<g class="y-ticks" font-size="10" fill="#555">');
  for (let d = 0; d <= decades; d++) {
    const v = 10 ** d;
    el.push(`<line x1="${LEFT}" y1="${f1(y(v))}" x2="${W - RIGHT}" y2="${f1(y(v))}" stroke="#eee"/><text x="${LEFT - 6}" y="${f1(y(v) + 3)}" text-anchor="end">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`);
  }
  el.push(`<text x="14" y="${TOP + CHART_H / 2}" transform="rotate(-90 14 ${TOP + CHART_H / 2})" text-anchor="middle">produce latency (log)</text>`);
  el.push('</g>');
  const stepS = niceStep(durationMs / 1000 / 12);
  el.push('<g class="x-ticks" font-size="10" fill="#555">');
  for (let s = 0; s * 1000 <= durationMs; s += stepS) el.push(`<text x="${f1(x(s * 1000))}" y="${TOP + CHART_H + 14}" text-anchor="middle">${s} s</text>`);
  el.push('</g>');
  // Unavailability shading in the chart (fault → slowest affected partition writable).
  el.push('<g class="unavailable" fill="#d62728" fill-opacity="0.08">');
  for (const c of r.cycles) {
    const ws = c.partitions.filter((p) => p.affected).map((p) => p.writableMs ?? c.endAtMs - c.t0AtMs);
    if (ws.length) el.push(`<rect x="${f1(x(c.t0AtMs))}" y="${TOP}" width="${f1(Math.max(1, x(c.t0AtMs + Math.max(...ws)) - x(c.t0AtMs)))}" height="${CHART_H}"/>`);
  }
  el.push('</g>');
  // Latency: p50 line, max dots, failed sends.
  const pts = r.timeline.points;
  if (pts.length > 0) {
    el.push(`<polyline class="p50" fill="none" stroke="#1f77b4" stroke-width="1.2" points="${pts.map((p) => `${f1(x(p[0] + r.timeline.bucketMs / 2))},${f1(y(p[1]))}`).join(' ')}"/>`);
    el.push('<g class="max" fill="#ff7f0e">');
    for (const p of pts) if (p[3] > 0) el.push(`<circle cx="${f1(x(p[0] + r.timeline.bucketMs / 2))}" cy="${f1(y(p[2]))}" r="1.6"/>`);
    el.push('</g>');
    el.push('<g class="failed" stroke="#d62728">');
    for (const p of pts) if (p[4] > 0) el.push(`<line x1="${f1(x(p[0]))}" y1="${TOP + CHART_H - 8}" x2="${f1(x(p[0]))}" y2="${TOP + CHART_H}"/>`);
    el.push('</g>');
  }
  // Fault and phase markers.
  el.push('<g class="markers" font-size="9">');
  for (const c of r.cycles) {
    const who = c.victims.length ? c.victims.map((v) => v.nodeId).join(',') : 'etcd';
    el.push(`<line x1="${f1(x(c.t0AtMs))}" y1="${TOP}" x2="${f1(x(c.t0AtMs))}" y2="${bandTop + affectedRows.length * ROW_H}" stroke="#d62728" stroke-width="1.5"/>`);
    el.push(`<text x="${f1(x(c.t0AtMs) + 3)}" y="${TOP + 10}" fill="#d62728">${escapeXml(`#${c.cycle} ${c.scenario} ${who}`)}</text>`);
    if (c.recoveredAtMs !== null) el.push(`<line x1="${f1(x(c.recoveredAtMs))}" y1="${TOP}" x2="${f1(x(c.recoveredAtMs))}" y2="${TOP + CHART_H}" stroke="#2ca02c" stroke-dasharray="2,2"><title>${escapeXml(`cycle ${c.cycle}: restart/resume at +${c.recoveredAtMs - c.t0AtMs} ms`)}</title></line>`);
    let k = 0;
    for (const f of c.failovers ?? []) for (const key of FAILOVER_TIME_KEYS) {
      const t = f.afterT0Ms[key];
      if (t === null) continue;
      const xx = f1(x(c.t0AtMs + t));
      el.push(`<line x1="${xx}" y1="${TOP + 14}" x2="${xx}" y2="${TOP + CHART_H}" stroke="${PHASE_COLORS[key]}" stroke-dasharray="4,2"><title>${escapeXml(`cycle ${c.cycle} broker ${f.brokerId}: ${key} +${t} ms`)}</title></line>`);
      el.push(`<text x="${xx}" y="${TOP + 22 + (k++ % 7) * 10}" fill="${PHASE_COLORS[key]}">${escapeXml(key)}</text>`);
    }
  }
  el.push('</g>');
  // One row per affected partition: shaded from t0 until writable (to the cycle's end if never).
  el.push(`<g class="partitions" font-size="10"><text x="${LEFT}" y="${bandTop - 8}" fill="#333">affected partitions: unavailable from the fault until the first ack of a send started after it</text>`);
  affectedRows.forEach((p, row) => {
    const yy = bandTop + row * ROW_H;
    el.push(`<text x="${LEFT - 6}" y="${yy + ROW_H - 3}" text-anchor="end" fill="#555">p${p}</text><line x1="${LEFT}" y1="${yy + ROW_H}" x2="${W - RIGHT}" y2="${yy + ROW_H}" stroke="#f0f0f0"/>`);
    for (const c of r.cycles) {
      const o = c.partitions.find((q) => q.partition === p && q.affected);
      if (!o) continue;
      const end = c.t0AtMs + (o.writableMs ?? c.endAtMs - c.t0AtMs);
      el.push(`<rect x="${f1(x(c.t0AtMs))}" y="${yy + 2}" width="${f1(Math.max(1, x(end) - x(c.t0AtMs)))}" height="${ROW_H - 4}" fill="${o.writableMs === null ? '#d62728' : '#ff9896'}"><title>${escapeXml(`cycle ${c.cycle} partition ${p}: ${o.writableMs === null ? 'never writable' : `writable after ${Math.round(o.writableMs)} ms`}`)}</title></rect>`);
    }
  });
  el.push('</g>');
  const ly = H - 20;
  el.push(`<g class="legend" font-size="10"><line x1="${LEFT}" y1="${ly}" x2="${LEFT + 20}" y2="${ly}" stroke="#1f77b4"/><text x="${LEFT + 24}" y="${ly + 3}">p50 latency per ${r.timeline.bucketMs} ms</text>` +
    `<circle cx="${LEFT + 190}" cy="${ly}" r="2" fill="#ff7f0e"/><text x="${LEFT + 196}" y="${ly + 3}">max latency</text>` +
    `<line x1="${LEFT + 280}" y1="${ly - 5}" x2="${LEFT + 280}" y2="${ly + 5}" stroke="#d62728"/><text x="${LEFT + 285}" y="${ly + 3}">fault (t0), failed sends</text>` +
    `<line x1="${LEFT + 420}" y1="${ly - 5}" x2="${LEFT + 420}" y2="${ly + 5}" stroke="#2ca02c" stroke-dasharray="2,2"/><text x="${LEFT + 425}" y="${ly + 3}">restart / SIGCONT</text>` +
    `<text x="${LEFT + 540}" y="${ly + 3}" fill="#555">dashed colours: failover phases (detected, detached, attached, fenced, replayed, released, done)</text></g>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n${el.join('\n')}\n</svg>\n`;
}

function niceStep(raw: number): number {
  for (const s of [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600]) if (s >= raw) return s;
  return Math.ceil(raw / 3600) * 3600;
}
