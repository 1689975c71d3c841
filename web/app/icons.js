// SPDX-License-Identifier: Apache-2.0
// The client's icons, drawn here as small SVGs on a 24-unit grid (no asset, no font). Each is
// decorative (aria-hidden): the button around it carries the name.

const NS = 'http://www.w3.org/2000/svg';

// A handset, earpiece at the top left, mouthpiece at the bottom right.
const HANDSET = 'M6.2 3.2l2.6-.4 2.3 4.9-1.9 1.6c.9 2 2.5 3.6 4.5 4.5l1.6-1.9 4.9 2.3-.4 2.6' +
  'c-.2 1.2-1.2 2.1-2.4 2.1C10 18.9 4.1 13 4.1 5.6c0-1.2.9-2.2 2.1-2.4z';

const SHAPES = {
  call: [['path', { d: HANDSET, fill: 'currentColor' }]],
  // The handset turned down: hang up, decline.
  hangup: [['path', { d: HANDSET, fill: 'currentColor', transform: 'rotate(135 12 12) translate(0 1)' }]],
  mic: [
    ['rect', { x: 9, y: 3, width: 6, height: 11, rx: 3, fill: 'currentColor' }],
    ['path', { d: 'M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8.5 21h7', fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round' }],
  ],
  micOff: [
    ['rect', { x: 9, y: 3, width: 6, height: 11, rx: 3, fill: 'currentColor' }],
    ['path', { d: 'M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8.5 21h7', fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round' }],
    ['path', { d: 'M4 3l16 18', stroke: 'currentColor', 'stroke-width': 2.4, 'stroke-linecap': 'round' }],
  ],
  speaker: [
    ['path', { d: 'M3.5 9h4l5-4.5v15l-5-4.5h-4z', fill: 'currentColor' }],
    ['path', { d: 'M15.5 9a4 4 0 0 1 0 6M18 6.5a7.5 7.5 0 0 1 0 11', fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round' }],
  ],
  close: [['path', { d: 'M6 6l12 12M18 6L6 18', stroke: 'currentColor', 'stroke-width': 2.4, 'stroke-linecap': 'round' }]],
};

export function icon(name) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.classList.add('icon');
  for (const [tag, attrs] of SHAPES[name] || []) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    svg.append(el);
  }
  return svg;
}
