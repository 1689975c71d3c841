// SPDX-License-Identifier: Apache-2.0
// The sign-in and home screens: the people one can call with their presence (pushed by the
// server: online, in a call, offline), one's recent calls, and what stops a call before it
// starts — no connection to the server, a blocked microphone — said up front.

import { h, avatar, duration, when } from './ui.js';
import { icon } from './icons.js';

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

// How one's own calls are listed: "Outgoing · 14:02 · Declined", "Incoming · 14:05 · 3:12".
const DIRECTION_TEXT = { dialed: 'Outgoing', received: 'Incoming', missed: 'Missed', declined: 'Declined' };
const OUTCOME_TEXT = {
  rejected: 'Declined', busy: 'Busy', timeout: 'No answer', failed: 'Failed', cancelled: 'Cancelled',
};
const STATUS_TEXT = { online: 'Online', in_call: 'In a call', offline: 'Offline' };

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

// The words of one's own call in the list.
function historyDetail(c, mine) {
  const dir = c.direction || (mine ? 'dialed' : 'received');
  const label = c.reason === 'media_device' && !mine ? 'Missed (no microphone)' : DIRECTION_TEXT[dir] || dir;
  const parts = [label, when(c.timestamp)];
  if (typeof c.durationSeconds === 'number') parts.push(duration(c.durationSeconds));
  else if (mine && c.state !== 'ended') {
    const o = c.reason === 'cancelled' ? 'cancelled' : c.state;
    parts.push(OUTCOME_TEXT[o] || o);
  }
  return parts.join(' · ');
}

// state: {me, error, directory, online (the link to the server), micBlocked, presence: Map}
export function home(state, { onCall, onAddContact, load, pushState, onEnablePush, onDetails }) {
  const { me, directory = 'open' } = state;
  const alert = h('p', { class: 'error', role: 'alert', hidden: !state.error }, state.error || '',
    ' ', h('button', { type: 'button', class: 'link', onclick: () => { alert.hidden = true; } }, 'Dismiss'));
  const micWarning = h('div', { class: 'warning', id: 'mic-warning', role: 'status', hidden: true },
    h('strong', {}, 'Your microphone is blocked for this site.'),
    ' You cannot call or answer until you allow it: click the icon at the left of the address ' +
    'bar (or open the site settings) and allow the microphone.');
  const offline = h('p', { class: 'warning', id: 'offline-note', role: 'status', hidden: true },
    'Calls cannot be placed until the connection to the server is back.');
  const people = h('ul', { class: 'list', id: 'people' }, h('li', { class: 'muted' }, 'Loading…'));
  const history = h('ul', { class: 'list', id: 'history' });
  let linkUp = state.online !== false;
  let presence = state.presence || new Map();

  const callButton = (u, label) => h('button', {
    type: 'button', class: 'round-call', 'aria-label': `${label} ${u.name}`, title: `${label} ${u.name}`,
    onclick: () => onCall(u), 'data-user': u.userId, disabled: !linkUp,
  }, icon('call'));

  // Presence as the server pushes it; without a connection, nobody's is known.
  const statusOf = (u) => (linkUp ? presence.get(u.userId) || u.status || (u.online ? 'online' : 'offline') : 'unknown');
  function presenceLine(u) {
    const st = statusOf(u);
    return h('span', { class: `presence ${st}`, 'data-status': st },
      h('span', { class: 'dot', 'aria-hidden': 'true' }), st === 'unknown' ? 'Status unknown' : STATUS_TEXT[st]);
  }

  // Re-rendered only when something changed, so keyboard focus stays where it was.
  let shown = { users: '', calls: '' };
  let users = [];
  function renderPeople() {
    const others = users.filter((u) => u.userId !== me.userId)
      .sort((a, b) => a.name.localeCompare(b.name));
    people.replaceChildren(...(others.length ? others.map((u) => h('li', { class: 'row', 'data-user': u.userId },
      avatar(u.name, u.photo, 'small'),
      h('span', { class: 'who' }, h('span', { class: 'name', title: u.name }, u.name), presenceLine(u)),
      callButton(u, 'Call'))) : [h('li', { class: 'muted' }, EMPTY_PEOPLE[directory] || EMPTY_PEOPLE.open)]));
  }
  async function refresh() {
    const { users: u, calls: c } = await load();
    if (u && JSON.stringify(u) !== shown.users) {
      shown.users = JSON.stringify(u);
      users = u;
      renderPeople();
    }
    if (c && JSON.stringify(c) !== shown.calls) {
      shown.calls = JSON.stringify(c);
      history.replaceChildren(...(c.length ? c.map((call) => {
        const mine = call.callerId === me.userId;
        const other = mine ? { userId: call.receiverId, name: call.receiverName, photo: call.receiverPhoto }
          : { userId: call.callerId, name: call.callerName, photo: call.callerPhoto };
        const dir = call.direction || (mine ? 'dialed' : 'received');
        return h('li', { class: `row ${dir}`, 'data-call': call.callId, 'data-direction': dir },
          avatar(other.name, other.photo, 'small'),
          h('span', { class: 'who' }, h('span', { class: 'name', title: other.name }, other.name),
            h('span', { class: 'detail' }, historyDetail(call, mine))),
          h('button', { type: 'button', class: 'link details-button', 'aria-label': `Details of the call with ${other.name}`,
            onclick: () => showDetails(call.callId) }, 'Details'),
          callButton(other, 'Call back'));
      }) : [h('li', { class: 'muted' }, 'No calls yet.')]));
    }
    return users.map((x) => x.userId).filter((id) => id !== me.userId);
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
    const st = await pushState().catch(() => 'unsupported');
    pushStatus.textContent = PUSH_TEXT[st] || '';
    pushStatus.dataset.state = st;
    pushButton.hidden = st !== 'off';
    pushButton.disabled = false;
  }
  showPush();
  // Someone not listed (another directory policy, or not signed in lately): by user id.
  const otherId = h('input', { id: 'other-id', name: 'userId', required: true, autocomplete: 'off',
    pattern: '[A-Za-z0-9._:@\\-]{1,128}', placeholder: 'user id', 'aria-label': 'User id' });
  const byIdStatus = h('span', { class: 'muted', id: 'by-id-status', role: 'status' }, '');
  const byIdCall = h('button', { type: 'submit', class: 'primary', id: 'call-by-id', disabled: !linkUp }, 'Call');
  const byId = h('form', { class: 'by-id', onsubmit: (e) => {
    e.preventDefault();
    const userId = otherId.value.trim();
    if (userId) onCall({ userId, name: userId });
  } }, otherId, byIdCall,
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
  const el = h('div', { class: 'screen home' }, alert, offline, micWarning,
    h('section', { 'aria-labelledby': 'people-title' }, h('h2', { id: 'people-title' }, 'People'), people, byId),
    h('section', { 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title' }, 'Recent calls'), history, detailsSlot),
    h('p', { class: 'push-line' }, pushStatus, ' ', pushButton));

  function setState(s) {
    if (s.online !== undefined && s.online !== linkUp) {
      linkUp = s.online;
      offline.hidden = linkUp;
      byIdCall.disabled = !linkUp;
      for (const b of el.querySelectorAll('.round-call')) b.disabled = !linkUp;
      renderPeople();
    }
    if (s.presence) { presence = s.presence; renderPeople(); }
    if (s.micBlocked !== undefined) micWarning.hidden = !s.micBlocked;
  }
  offline.hidden = linkUp;
  micWarning.hidden = !state.micBlocked;
  return { el, refresh, setState };
}
