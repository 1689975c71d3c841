// SPDX-License-Identifier: Apache-2.0
// The screens. Each returns {el, update?(view), dispose?()}; main.js swaps them as the view's
// `screen` changes and calls update() for changes within one screen.

import { h, avatar, duration, when } from './ui.js';
import { LEVELS, LEVEL_TEXT } from './quality.js';
import * as media from './media.js';

function person(other, size = 'large') {
  return h('div', { class: 'person' }, avatar(other.name, other.photo, size),
    h('h2', { class: 'name' }, other.name || other.userId || 'Unknown'));
}

// Development mode: pick a name; with an identity provider: paste a token.
export function signIn({ devMode, error }, { onDev, onToken }) {
  const err = h('p', { class: 'error', role: 'alert', hidden: !error }, error || '');
  let form;
  if (devMode) {
    const name = h('input', { id: 'name', name: 'name', required: true, autocomplete: 'name', maxlength: 100 });
    const id = h('input', { id: 'user-id', name: 'userId', pattern: '[A-Za-z0-9._:@\\-]{1,128}', autocomplete: 'username', placeholder: 'from the name' });
    const photo = h('input', { id: 'photo', name: 'photo', type: 'url', placeholder: 'https://…', maxlength: 2048 });
    form = h('form', { class: 'card', onsubmit: (e) => {
      e.preventDefault();
      onDev({ name: name.value.trim(), userId: id.value.trim(), photo: photo.value.trim() });
    } },
      h('p', {}, 'Development mode: choose who you are. Anyone can sign in as anyone.'),
      h('label', { for: 'name' }, 'Your name'), name,
      h('label', { for: 'user-id' }, 'User id (optional)'), id,
      h('label', { for: 'photo' }, 'Photo URL (optional)'), photo,
      err, h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  } else {
    const token = h('textarea', { id: 'token', rows: 5, required: true, spellcheck: 'false' });
    form = h('form', { class: 'card', onsubmit: (e) => { e.preventDefault(); onToken(token.value.trim()); } },
      h('p', {}, 'This server accepts tokens from its identity provider. Paste your ID token, ' +
        'or open this page as …/#token=<token>.'),
      h('label', { for: 'token' }, 'Token'), token,
      err, h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  }
  return { el: h('section', { class: 'screen signin', 'aria-labelledby': 'signin-title' },
    h('h2', { id: 'signin-title' }, 'Sign in'), form) };
}

const DIRECTION_TEXT = { dialed: 'Outgoing', received: 'Incoming', missed: 'Missed', declined: 'Declined' };

// The people one can call, and one's own calls.
const PUSH_TEXT = {
  on: 'This browser rings for your calls even when Dialtone is closed.',
  off: 'This browser rings only while Dialtone is open.',
  blocked: 'Notifications are blocked for this site, so it rings only while Dialtone is open.',
  unsupported: 'This browser cannot ring in the background.',
};

const EMPTY_PEOPLE = {
  open: 'Nobody else has signed in yet.',
  contacts: 'No contacts yet. People you have called or who called you appear here, and so does ' +
    'anyone you add below once they add you too.',
  none: 'This server shows nobody. Call someone by their user id below.',
};

export function home({ me, error, directory = 'open' }, { onCall, onAddContact, load, pushState, onEnablePush, onDetails }) {
  const alert = h('p', { class: 'error', role: 'alert', hidden: !error }, error || '',
    ' ', h('button', { type: 'button', class: 'link', onclick: () => { alert.hidden = true; } }, 'Dismiss'));
  const people = h('ul', { class: 'list', id: 'people' }, h('li', { class: 'muted' }, 'Loading…'));
  const history = h('ul', { class: 'list', id: 'history' });
  const callButton = (u, label) => h('button', {
    type: 'button', class: 'call', 'aria-label': `${label} ${u.name}`,
    onclick: () => onCall(u), 'data-user': u.userId,
  }, label);

  // Re-rendered only when something changed, so keyboard focus stays where it was.
  let shown = { users: '', calls: '' };
  async function refresh() {
    const { users: u, calls: c } = await load();
    const users = u && JSON.stringify(u) !== shown.users ? u : null;
    const calls = c && JSON.stringify(c) !== shown.calls ? c : null;
    shown = { users: u ? JSON.stringify(u) : shown.users, calls: c ? JSON.stringify(c) : shown.calls };
    if (users) {
      const others = users.filter((u) => u.userId !== me.userId)
        .sort((a, b) => (b.online - a.online) || a.name.localeCompare(b.name));
      people.replaceChildren(...(others.length ? others.map((u) => h('li', { class: 'row', 'data-user': u.userId },
        avatar(u.name, u.photo, 'small'),
        h('span', { class: 'who' }, h('span', { class: 'name' }, u.name),
          h('span', { class: `presence ${u.online ? 'online' : ''}` }, u.online ? 'Online' : 'Offline')),
        callButton(u, 'Call'))) : [h('li', { class: 'muted' }, EMPTY_PEOPLE[directory] || EMPTY_PEOPLE.open)]));
    }
    if (calls) {
      history.replaceChildren(...(calls.length ? calls.map((c) => {
        const mine = c.callerId === me.userId;
        const other = mine ? { userId: c.receiverId, name: c.receiverName, photo: c.receiverPhoto }
          : { userId: c.callerId, name: c.callerName, photo: c.callerPhoto };
        const dir = c.direction || (mine ? 'dialed' : 'received');
        const label = c.reason === 'media_device' && !mine ? 'Missed (no microphone)'
          : DIRECTION_TEXT[dir] || dir;
        const detail = [label, when(c.timestamp)];
        if (typeof c.durationSeconds === 'number') detail.push(duration(c.durationSeconds));
        else if (mine && c.state !== 'ended') detail.push(c.state === 'timeout' ? 'no answer' : c.state);
        return h('li', { class: `row ${dir}`, 'data-call': c.callId, 'data-direction': dir },
          avatar(other.name, other.photo, 'small'),
          h('span', { class: 'who' }, h('span', { class: 'name' }, other.name),
            h('span', { class: 'detail' }, detail.join(' · '))),
          h('button', { type: 'button', class: 'link details-button', 'aria-label': `Details of the call with ${other.name}`,
            onclick: () => showDetails(c.callId) }, 'Details'),
          callButton(other, 'Call back'));
      }) : [h('li', { class: 'muted' }, 'No calls yet.')]));
    }
  }
  // "Call details" of one call, below the list; focus moves there and back.
  const detailsSlot = h('div', { id: 'details-slot' });
  async function showDetails(callId) {
    try {
      const el = await onDetails(callId, () => {
        detailsSlot.replaceChildren();
        history.querySelector(`[data-call="${CSS.escape(callId)}"] .details-button`)?.focus();
      });
      detailsSlot.replaceChildren(el);
      el.focus();
    } catch (e) {
      detailsSlot.replaceChildren(h('p', { class: 'error', role: 'alert' }, `No details: ${e.message}`));
    }
  }
  const pushStatus = h('span', { id: 'push-status', class: 'muted' }, '');
  const pushButton = h('button', { type: 'button', class: 'link', id: 'enable-push', hidden: true,
    onclick: async () => {
      pushButton.disabled = true;
      try {
        await onEnablePush();
      } catch (e) {
        pushStatus.textContent = e.message;
        pushButton.disabled = false;
        return;
      }
      showPush();
    } }, 'Ring me when Dialtone is closed');
  async function showPush() {
    const state = await pushState().catch(() => 'unsupported');
    pushStatus.textContent = PUSH_TEXT[state] || '';
    pushStatus.dataset.state = state;
    pushButton.hidden = state !== 'off';
    pushButton.disabled = false;
  }
  showPush();
  // Someone not listed (another directory policy, or not signed in lately): by user id.
  const otherId = h('input', { id: 'other-id', name: 'userId', required: true, autocomplete: 'off',
    pattern: '[A-Za-z0-9._:@\\-]{1,128}', placeholder: 'user id', 'aria-label': 'User id' });
  const byIdStatus = h('span', { class: 'muted', id: 'by-id-status', role: 'status' }, '');
  const byId = h('form', { class: 'by-id', onsubmit: (e) => {
    e.preventDefault();
    const userId = otherId.value.trim();
    if (userId) onCall({ userId, name: userId });
  } }, otherId,
    h('button', { type: 'submit', class: 'call', id: 'call-by-id' }, 'Call'),
    h('button', { type: 'button', class: 'link', id: 'add-contact', hidden: directory !== 'contacts',
      onclick: async () => {
        const userId = otherId.value.trim();
        if (!otherId.reportValidity() || !userId) return;
        try {
          const r = await onAddContact(userId);
          byIdStatus.textContent = r.mutual ? `${userId} is a contact now.`
            : `Added ${userId}: you see each other once they add you too.`;
          otherId.value = '';
          refresh().catch(() => {});
        } catch (err) {
          byIdStatus.textContent = err.code === 'not_found' ? `There is no ${userId}.` : err.message;
        }
      } }, 'Add contact'),
    ' ', byIdStatus);
  const el = h('div', { class: 'screen home' }, alert,
    h('section', { 'aria-labelledby': 'people-title' }, h('h2', { id: 'people-title' }, 'People'), people, byId),
    h('section', { 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, 'Recent calls'), history, detailsSlot),
    h('p', { class: 'push-line' }, pushStatus, ' ', pushButton));
  return { el, refresh };
}

// The caller's screen until the call is answered: a spinner, never a timer.
export function calling(view, { onHangup }) {
  const status = h('p', { class: 'status', id: 'call-status', role: 'status' }, view.status);
  const el = h('section', { class: 'screen calling', 'aria-label': 'Outgoing call' },
    person(view.other), h('div', { class: 'spinner', 'aria-hidden': 'true' }), status,
    h('div', { class: 'controls' },
      h('button', { type: 'button', class: 'hangup', id: 'hangup', onclick: onHangup }, 'Cancel')));
  return { el, update: (v) => { status.textContent = v.status; } };
}

// Someone is calling: accept or decline before the server's ring deadline.
export function incoming(view, { onAccept, onDecline, now }) {
  const deadline = () => Date.parse(view.call?.ringDeadline);
  const left = h('span', { id: 'countdown' });
  const bar = h('progress', { max: 45, value: 45, 'aria-label': 'Time left to answer' });
  const status = h('p', { class: 'status', role: 'status', hidden: true });
  const accept = h('button', { type: 'button', class: 'accept', id: 'accept', onclick: onAccept }, 'Accept');
  const decline = h('button', { type: 'button', class: 'hangup', id: 'decline', onclick: onDecline }, 'Decline');
  const total = Math.max(1, (deadline() - Date.parse(view.call?.timestamp)) / 1000 || 45);
  bar.max = total;
  const tick = () => {
    // Clamped to the ring length: a clock offset still settling must not show more time than the ring has.
    const s = Math.min(Math.ceil(total), Math.max(0, Math.ceil((deadline() - now()) / 1000)));
    left.textContent = Number.isNaN(s) ? '' : `${s} s`;
    bar.value = Number.isNaN(s) ? 0 : s;
  };
  tick();
  const timer = setInterval(tick, 250);
  const el = h('section', { class: 'screen incoming', 'aria-label': 'Incoming call' },
    person(view.other), h('p', { class: 'status' }, 'Incoming call'),
    h('p', { class: 'countdown' }, 'Answer within ', left), bar, status,
    h('div', { class: 'controls' }, decline, accept));
  queueMicrotask(() => accept.focus());
  return {
    el,
    update(v) {
      view = v;
      status.hidden = !v.status;
      status.textContent = v.status || '';
      accept.disabled = decline.disabled = !!v.status;
      tick();
    },
    dispose: () => clearInterval(timer),
  };
}

// The call itself: the other person, the shared timer, mute, output, quality, hang up.
export function inCall(view, { onHangup, onMute, onOutput, now }) {
  const timer = h('p', { class: 'timer', id: 'timer', role: 'timer', 'aria-live': 'off' });
  const status = h('p', { class: 'status', id: 'call-status', role: 'status' });
  const otherMuted = h('p', { class: 'badge', id: 'other-muted', hidden: true }, `${view.other.name} is muted`);
  const quality = h('p', { class: 'quality', id: 'quality', 'data-level': '' });
  const code = h('output', { id: 'security-code' });
  const security = h('p', { class: 'security', hidden: true,
    title: 'Compare it with the other person: the same code on both sides means no one is listening in between' },
  'Security code ', code);
  const reconnecting = h('p', { class: 'banner inline', id: 'reconnecting', role: 'status', hidden: true }, 'Reconnecting…');
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const mute = h('button', { type: 'button', id: 'mute', 'aria-pressed': 'false', onclick: onMute }, 'Mute');
  const output = h('select', { id: 'output', 'aria-label': 'Speaker (audio output)',
    onchange: () => onOutput(output.value) });
  const outputBox = h('label', { class: 'output', hidden: !media.canChooseOutput() }, 'Speaker ', output);
  media.outputs().then((list) => {
    output.replaceChildren(...list.map((o) => h('option', { value: o.id }, o.label)));
    output.value = view.outputId || (list[0] && list[0].id) || '';
    if (!list.length) outputBox.hidden = true;
  }).catch(() => { outputBox.hidden = true; });

  const tick = () => {
    timer.textContent = view.connectedAt ? duration((now() - view.connectedAt) / 1000) : '';
  };
  const update = (v) => {
    view = v;
    status.textContent = v.status || '';
    status.hidden = !v.status;
    otherMuted.hidden = !v.otherMuted;
    mute.setAttribute('aria-pressed', String(!!v.muted));
    mute.textContent = v.muted ? 'Unmute' : 'Mute';
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
    tick();
  };
  update(view);
  const interval = setInterval(tick, 250);
  const el = h('section', { class: 'screen incall', 'aria-label': 'Call' },
    person(view.other), timer, status, otherMuted, reconnecting, quality, security, error,
    h('div', { class: 'controls' }, mute, outputBox,
      h('button', { type: 'button', class: 'hangup', id: 'hangup', onclick: onHangup }, 'Hang up')));
  return { el, update, dispose: () => clearInterval(interval) };
}

export function ended(view) {
  const d = view.call && typeof view.call.durationSeconds === 'number'
    ? h('p', { class: 'timer' }, duration(view.call.durationSeconds)) : null;
  return { el: h('section', { class: 'screen ended', 'aria-label': 'Call ended' },
    person(view.other), h('p', { class: 'status', id: 'ended', role: 'status' }, view.text), d) };
}
