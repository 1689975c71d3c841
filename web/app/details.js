// SPDX-License-Identifier: Apache-2.0
// "Call details": one call's timeline and summary from the server (GET /v1/calls/{id}/timeline),
// in words — outcome, setup, each side's path and quality with its estimated MOS, recoveries,
// the likely cause — with the quality over time drawn as a small chart and every event listed.

import { h } from './ui.js';

const SVG = 'http://www.w3.org/2000/svg';
const SIDE_COLOR = { caller: 'var(--accent, #2563eb)', receiver: 'var(--warn, #c2410c)' };

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

function ms(v) {
  return v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`;
}

// Each side's loss (%) over the call, as polylines; the y axis up to the worst sample (≥ 5 %).
export function qualityChart(timeline, start) {
  const samples = { caller: [], receiver: [] };
  for (const e of timeline) {
    if (e.type === 'quality' && samples[e.side]) {
      samples[e.side].push({ t: (Date.parse(e.at) - start) / 1000, loss: e.lossPercent, jitter: e.jitterMs });
    }
  }
  const all = [...samples.caller, ...samples.receiver];
  if (!all.length) return null;
  const W = 320; const H = 100; const P = 24;
  const tMax = Math.max(1, ...all.map((s) => s.t));
  const yMax = Math.max(5, ...all.map((s) => s.loss));
  const x = (t) => P + ((W - 2 * P) * t) / tMax;
  const y = (v) => H - P + 4 - ((H - P) * v) / yMax;
  const lines = Object.entries(samples).filter(([, s]) => s.length).map(([side, s]) =>
    svg('polyline', { points: s.map((p) => `${x(p.t).toFixed(1)},${y(p.loss).toFixed(1)}`).join(' '),
      fill: 'none', stroke: SIDE_COLOR[side], 'stroke-width': 2, 'data-side': side }));
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'quality-chart', role: 'img',
    'aria-label': `Packet loss over the call: caller up to ${Math.max(0, ...samples.caller.map((s) => s.loss)).toFixed(1)} %, ` +
      `receiver up to ${Math.max(0, ...samples.receiver.map((s) => s.loss)).toFixed(1)} %` },
  svg('line', { x1: P, y1: H - P + 4, x2: W - P, y2: H - P + 4, stroke: 'currentColor', 'stroke-opacity': 0.4 }),
  svg('text', { x: 2, y: 12, 'font-size': 10, fill: 'currentColor' }, `${yMax.toFixed(0)} % loss`),
  svg('text', { x: W - P, y: H - 4, 'font-size': 10, fill: 'currentColor', 'text-anchor': 'end' }, `${tMax.toFixed(0)} s`),
  ...lines);
  return chart;
}

function sideLines(name, s) {
  if (!s || !s.reported) return [h('li', {}, `${name}: sent no media report`)];
  const out = [];
  let line = `${name}: ${s.path ? s.path.words : 'no media path'}`;
  if (typeof s.firstAudioMs === 'number') line += `, first audio ${ms(s.firstAudioMs)} after answer`;
  out.push(h('li', { 'data-side-summary': name }, line));
  if (s.quality) {
    const q = s.quality;
    const part = (label, v, unit) => (v ? `${label} ${v.p50.toFixed(1)}/${v.p95.toFixed(1)} ${unit}` : null);
    const figures = [part('loss', q.lossPercent, '%'), part('jitter', q.jitterMs, 'ms'), part('RTT', q.rttMs, 'ms')]
      .filter(Boolean).join(', ');
    out.push(h('li', { class: 'sub' }, `Quality ${q.level}: MOS ${q.mos.toFixed(1)} (${figures}; median/95th)`));
  }
  for (const r of s.recoveries || []) {
    out.push(h('li', { class: 'sub' }, `Recovery after ${r.cause.replace(/_/g, ' ')}: ${r.outcome.replace(/_/g, ' ')}` +
      (typeof r.durationMs === 'number' ? ` after ${ms(r.durationMs)}` : '')));
  }
  return out;
}

function eventText(e) {
  switch (e.type) {
    case 'state': return `${e.state} (${e.event} by ${e.by})`;
    case 'push': return `push via ${e.provider}: ${e.outcome.replace(/_/g, ' ')} in ${ms(e.latencyMs)}`;
    case 'signals': return `signals from ${e.from}: ${e.offer} offer, ${e.answer} answer, ${e.candidate} candidates, ${e.restart} restarts`;
    case 'media_connected':
    case 'path_changed': return `${e.side}: ${e.type === 'path_changed' ? 'path changed to' : 'media connected,'} ${e.local} → ${e.remote} over ${e.protocol}`;
    case 'quality': return `${e.side}: loss ${e.lossPercent.toFixed(1)} %, jitter ${e.jitterMs.toFixed(1)} ms` +
      (typeof e.rttMs === 'number' ? `, RTT ${e.rttMs.toFixed(0)} ms` : '');
    case 'recovery_started': return `${e.side}: path lost (${e.cause.replace(/_/g, ' ')}), recovering`;
    case 'recovery_ended': return `${e.side}: recovery ${e.outcome.replace(/_/g, ' ')} after ${ms(e.durationMs)}`;
    case 'device_changed': return `${e.side}: ${e.kind} ${e.change}`;
    default: return `${e.side || ''}: ${e.type.replace(/_/g, ' ')}`;
  }
}

// The details of `data` ({call, timeline, summary}) as seen by `me`.
export function callDetails(data, me, { onClose }) {
  const { call, timeline, summary } = data;
  const start = Date.parse(call.timestamp);
  const name = (side) => {
    const id = side === 'caller' ? call.callerId : call.receiverId;
    return id === me.userId ? 'You' : (side === 'caller' ? call.callerName : call.receiverName);
  };
  let head = `Call ${summary.state}`;
  if (summary.reason) head += ` (${summary.reason.replace(/_/g, ' ')})`;
  if (typeof summary.setupMs === 'number') head += `, set up in ${ms(summary.setupMs)}`;
  const chart = qualityChart(timeline, start);
  const el = h('section', { class: 'card details', id: 'call-details', 'aria-labelledby': 'details-title', tabindex: -1 },
    h('h2', { id: 'details-title' }, 'Call details'),
    h('p', { id: 'details-outcome' }, head),
    summary.likelyCause ? h('p', { class: 'cause', id: 'details-cause' }, `Likely cause: ${summary.likelyCause}`) : null,
    h('ul', { class: 'summary', id: 'details-summary' },
      ...sideLines(name('caller'), summary.caller), ...sideLines(name('receiver'), summary.receiver),
      ...(summary.notes || []).map((n) => h('li', { class: 'sub' }, n))),
    chart ? h('figure', {}, chart, h('figcaption', { class: 'muted' }, 'Packet loss over the call (blue: caller, orange: receiver)')) : null,
    h('details', {}, h('summary', {}, `Timeline (${timeline.length} events)`),
      h('ol', { class: 'timeline', id: 'details-timeline' }, ...timeline.map((e) =>
        h('li', { 'data-type': e.type }, h('span', { class: 'muted' }, `+${((Date.parse(e.at) - start) / 1000).toFixed(2)} s `), eventText(e))))),
    h('button', { type: 'button', class: 'link', id: 'details-close', onclick: onClose }, 'Close'));
  return el;
}
