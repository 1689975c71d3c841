// SPDX-License-Identifier: Apache-2.0
// The screens. Each returns {el, update?(view), dispose?()}; main.js swaps them as the view's
// `screen` changes and calls update() for changes within one screen. The call screens share one
// layout, as on a phone: the other person at the top, round actions in a bar at the bottom.

import { h, avatar, duration, firstName } from './ui.js';
import { icon } from './icons.js';
import { LEVELS, LEVEL_TEXT } from './quality.js';
import * as media from './media.js';

export { signIn, home } from './home.js';

function person(other, size = 'large') {
  return h('div', { class: 'person' }, avatar(other.name, other.photo, size),
    h('h2', { class: 'name', title: other.name || other.userId || '' }, other.name || other.userId || 'Unknown'));
}

// A round action with its label under it: `kind` colours it (accept, hangup, neutral).
function action({ id, label, name, kind = 'neutral', glyph, onclick, pressed }) {
  return h('button', {
    type: 'button', id, class: `action ${kind}`, onclick, 'aria-label': name || null,
    'aria-pressed': pressed === undefined ? null : String(!!pressed),
  }, h('span', { class: 'circle' }, icon(glyph)), h('span', { class: 'label' }, label));
}

function callScreen(kind, label, top, bar) {
  return h('section', { class: `screen call ${kind}`, 'aria-label': label },
    h('div', { class: 'call-top' }, ...top), h('div', { class: 'callbar' }, ...bar));
}

// The caller's screen until the call is answered: the other person and what is happening.
export function calling(view, { onHangup }) {
  const status = h('p', { class: 'status', id: 'call-status', role: 'status' }, view.status);
  const el = callScreen('calling', 'Outgoing call', [person(view.other), status],
    [action({ id: 'hangup', label: 'Cancel', name: `Cancel the call to ${view.other.name}`, kind: 'hangup', glyph: 'hangup', onclick: onHangup })]);
  return { el, update: (v) => { status.textContent = v.status; } };
}

// Someone is calling: decline or accept before the server's ring deadline.
export function incoming(view, { onAccept, onDecline, now }) {
  const name = view.other.name;
  const deadline = () => Date.parse(view.call?.ringDeadline);
  const left = h('span', { id: 'countdown' });
  const total = Math.max(1, (deadline() - Date.parse(view.call?.timestamp)) / 1000 || 45);
  const bar = h('progress', { max: total, value: total, 'aria-label': 'Time left to answer' });
  const status = h('p', { class: 'status', id: 'incoming-status', role: 'status', hidden: true });
  const micWarning = h('p', { class: 'warning', id: 'mic-warning', role: 'alert', hidden: !view.micBlocked },
    'Your microphone is blocked for this site: allow it (the icon at the left of the address bar) to answer.');
  const accept = action({ id: 'accept', label: 'Accept', name: `Accept call from ${name}`, kind: 'accept', glyph: 'call', onclick: onAccept });
  const decline = action({ id: 'decline', label: 'Decline', name: `Decline call from ${name}`, kind: 'hangup', glyph: 'hangup', onclick: onDecline });
  const tick = () => {
    // Clamped to the ring length: a clock offset still settling must not show more time than the ring has.
    const s = Math.min(Math.ceil(total), Math.max(0, Math.ceil((deadline() - now()) / 1000)));
    left.textContent = Number.isNaN(s) ? '' : `${s} s`;
    bar.value = Number.isNaN(s) ? 0 : s;
  };
  tick();
  const timer = setInterval(tick, 250);
  const el = callScreen('incoming', `Incoming call from ${name}`,
    [person(view.other), h('p', { class: 'status' }, 'Incoming call'),
      h('p', { class: 'countdown' }, 'Answer within ', left), bar, status, micWarning],
    [decline, accept]);
  queueMicrotask(() => accept.focus());
  return {
    el,
    update(v) {
      view = v;
      status.hidden = !v.status;
      status.textContent = v.status || '';
      // Connecting: no second press. Offline: Accept waits for the server, Decline still works
      // (it is sent once the server is back, or the call times out there).
      accept.disabled = !!v.accepting;
      micWarning.hidden = !v.micBlocked;
      tick();
    },
    dispose: () => clearInterval(timer),
  };
}

// Someone else called during this call: they were told this user is busy. Not now, or end this
// call and call them.
function callNotice(notice, { onDismiss, onSwitch }) {
  if (!notice) return null;
  return h('div', { class: 'notice', id: 'call-notice', role: 'alert' },
    avatar(notice.other.name, notice.other.photo, 'small'),
    h('p', {}, h('strong', {}, `${firstName(notice.other.name)} is calling you`),
      h('span', { class: 'muted' }, ' — they hear that you are busy.')),
    h('div', { class: 'notice-actions' },
      h('button', { type: 'button', id: 'notice-dismiss', onclick: onDismiss }, 'Not now'),
      h('button', { type: 'button', id: 'notice-switch', class: 'primary', onclick: onSwitch },
        `End call & call ${firstName(notice.other.name)}`)));
}

// The call itself: the other person, the shared timer, mute, output, quality, hang up.
export function inCall(view, { onHangup, onMute, onOutput, onDismissNotice, onSwitch, now }) {
  const name = view.other.name;
  const timer = h('p', { class: 'timer', id: 'timer', role: 'timer', 'aria-live': 'off' });
  const status = h('p', { class: 'status', id: 'call-status', role: 'status' });
  const otherMuted = h('p', { class: 'badge', id: 'other-muted', hidden: true }, `${firstName(name)} is muted`);
  const selfMuted = h('p', { class: 'badge self', id: 'self-muted', hidden: true }, 'You are muted');
  const quality = h('p', { class: 'quality', id: 'quality', 'data-level': '' });
  const code = h('output', { id: 'security-code' });
  const security = h('p', { class: 'security', hidden: true,
    title: 'Compare it with the other person: the same code on both sides means no one is listening in between' },
  'Security code ', code);
  const reconnecting = h('p', { class: 'banner inline', id: 'reconnecting', role: 'status', hidden: true }, 'Reconnecting…');
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const noticeSlot = h('div', { class: 'notice-slot' });
  const mute = action({ id: 'mute', label: 'Mute', name: 'Mute microphone', glyph: 'mic', onclick: onMute, pressed: false });
  const output = h('select', { id: 'output', 'aria-label': 'Speaker (audio output)',
    onchange: () => onOutput(output.value) });
  const outputBox = h('label', { class: 'action neutral output', hidden: !media.canChooseOutput() },
    h('span', { class: 'circle' }, icon('speaker')), h('span', { class: 'label' }, 'Speaker'), output);
  media.outputs().then((list) => {
    output.replaceChildren(...list.map((o) => h('option', { value: o.id }, o.label)));
    output.value = view.outputId || (list[0] && list[0].id) || '';
    if (!list.length) outputBox.hidden = true;
  }).catch(() => { outputBox.hidden = true; });

  let shownNotice = null;
  const tick = () => {
    timer.textContent = view.connectedAt ? duration((now() - view.connectedAt) / 1000) : '';
  };
  const update = (v) => {
    view = v;
    status.textContent = v.status || '';
    status.hidden = !v.status;
    otherMuted.hidden = !v.otherMuted;
    selfMuted.hidden = !v.muted;
    mute.setAttribute('aria-pressed', String(!!v.muted));
    mute.classList.toggle('on', !!v.muted);
    mute.querySelector('.circle').replaceChildren(icon(v.muted ? 'micOff' : 'mic'));
    mute.querySelector('.label').textContent = v.muted ? 'Muted' : 'Mute';
    reconnecting.hidden = !v.reconnecting;
    if (v.quality) {
      const level = v.quality.level;
      quality.dataset.level = level;
      const bars = LEVELS.length - LEVELS.indexOf(level);  // excellent 5 … very poor 1
      quality.replaceChildren(h('span', { class: 'bars', 'aria-hidden': 'true' },
        ...LEVELS.map((_, i) => h('i', { class: i < bars ? 'on' : '' }))),
      ` ${LEVEL_TEXT[level]} connection`);
    }
    if (v.securityCode) { code.textContent = v.securityCode; security.hidden = false; }
    if (v.error) { error.textContent = v.error; error.hidden = false; }
    if (v.outputId && output.value !== v.outputId) output.value = v.outputId;
    if ((v.notice?.callId || null) !== shownNotice) {
      shownNotice = v.notice?.callId || null;
      noticeSlot.replaceChildren(...[callNotice(v.notice, { onDismiss: onDismissNotice, onSwitch })].filter(Boolean));
    }
    tick();
  };
  const el = callScreen('incall', `Call with ${name}`,
    [noticeSlot, person(view.other), timer, status, selfMuted, otherMuted, reconnecting, quality, security, error],
    [mute, outputBox,
      action({ id: 'hangup', label: 'End', name: `End the call with ${name}`, kind: 'hangup', glyph: 'hangup', onclick: onHangup })]);
  update(view);
  const interval = setInterval(tick, 250);
  return { el, update, dispose: () => clearInterval(interval) };
}

// How a call ended, and what one can do next: call again, or close. `view.outcome`:
// {title, detail, again: bool}; a call that was connected shows its duration.
export function outcome(view, { onAgain, onClose }) {
  const o = view.outcome;
  const d = view.call && typeof view.call.durationSeconds === 'number' && view.call.durationSeconds > 0
    ? h('p', { class: 'timer' }, duration(view.call.durationSeconds)) : null;
  const close = action({ id: 'close', label: 'Close', name: 'Close', glyph: 'close', onclick: onClose });
  const again = o.again ? action({ id: 'call-again', label: 'Call again', name: `Call ${view.other.name} again`, kind: 'accept', glyph: 'call', onclick: onAgain }) : null;
  const el = callScreen('outcome', o.title, [person(view.other),
    h('p', { class: 'status outcome-title', id: 'ended', role: 'status' }, o.title),
    o.detail ? h('p', { class: 'muted outcome-detail' }, o.detail) : null, d],
  [close, again].filter(Boolean));
  queueMicrotask(() => (again || close).focus());
  return { el };
}
