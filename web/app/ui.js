// SPDX-License-Identifier: Apache-2.0
// Small DOM helpers: elements built from data (never from HTML strings, so names and photo
// URLs cannot inject markup), toasts, avatars, durations.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// What a sentence calls someone: the first word of their name ("Bartholomew declined").
export function firstName(name) {
  return String(name || '').trim().split(/\s+/)[0] || 'They';
}

export function initials(name) {
  const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
  return (parts.slice(0, 2).map((p) => [...p][0]).join('') || '?').toUpperCase();
}

const loopback = (host) => host === 'localhost' || host === '[::1]' || /^127\./.test(host);

// A photo URL the page may load: https:, or http: on this machine while the page itself is
// there (development); null for anything else (javascript:, data:, a plain-http host).
export function safePhotoUrl(photo) {
  if (typeof photo !== 'string' || !photo || photo.length > 2048) return null;
  let u;
  try { u = new URL(photo); } catch { return null; }
  if (u.username || u.password) return null;
  if (u.protocol === 'https:') return u.href;
  if (u.protocol === 'http:' && loopback(u.hostname) && loopback(location.hostname)) return u.href;
  return null;
}

// The photo when there is one that loads, else the initials.
export function avatar(name, photo, size = 'large') {
  const box = h('span', { class: `avatar ${size}`, 'aria-hidden': 'true' }, initials(name));
  const src = safePhotoUrl(photo);
  if (src) {
    const img = h('img', { src, alt: '', referrerpolicy: 'no-referrer' });
    img.addEventListener('load', () => { box.textContent = ''; box.append(img); });
  }
  return box;
}

export function toast(text, kind = 'info', ms = 4000) {
  const box = document.getElementById('toasts');
  const t = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  box.append(t);
  setTimeout(() => t.remove(), ms);
}

export function banner(text) {
  const b = document.getElementById('banner');
  b.textContent = text || '';
  b.hidden = !text;
}

// m:ss, or h:mm:ss from an hour on.
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export function when(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
