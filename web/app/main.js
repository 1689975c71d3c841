// SPDX-License-Identifier: Apache-2.0
// Boot: sign-in, the WebSocket, and the screen that matches the call controller's view.

import { Api, serverInfo, devToken } from './api.js';
import { Signaling } from './signaling.js';
import { CallController } from './call.js';
import { unlockOnInput, tap } from './tones.js';
import { toast, banner, h } from './ui.js';
import * as screens from './screens.js';
import { callDetails } from './details.js';
import { registerWorker, refreshPush, enablePush, disablePush, pushState } from './push.js';

const SESSION_KEY = 'dialtone.session';
const DEVICE_KEY = 'dialtone.deviceId';
// Presence is pushed (the watch op); the list itself is read again this often (people who
// signed in since, new calls on another device).
const PEOPLE_EVERY_MS = 10000;

// One device id per tab (sessionStorage), so each tab rings and answers on its own.
function deviceId() {
  let id = sessionStorage.getItem(DEVICE_KEY);
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    id = `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
    sessionStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

// The claims of a JWT (for display and expiry only: the server verifies it).
function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch (e) {
    return null;
  }
}

function loadSession() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY));
    if (s && s.token && (!s.expiresAt || s.expiresAt > Date.now())) return s;
  } catch (e) { /* none */ }
  return null;
}

function sessionFromToken(token, expiresAt) {
  const c = claims(token);
  if (!c || typeof c.sub !== 'string') return null;
  return {
    token, userId: c.sub, name: c.name || c.sub, photo: c.picture || '',
    expiresAt: expiresAt || (typeof c.exp === 'number' ? c.exp * 1000 : null),
  };
}

// What the sign-in screen says when the server refuses the session's token (its reason).
const signInAgain = (reason) => (/expired/.test(reason) ? 'Your session expired — sign in again.'
  : `The server no longer accepts your sign-in (${reason}) — sign in again.`);

const slug = (name) => name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9._@-]+/g, '-')
  .replace(/^-+|-+$/g, '').slice(0, 64) || `user-${Date.now()}`;

class App {
  constructor() {
    this.root = document.getElementById('screen');
    this.current = null;  // {name, screen}
    this.info = { devMode: true };
  }

  async boot() {
    unlockOnInput();
    document.getElementById('sign-out').addEventListener('click', () => this.signOut());
    addEventListener('storage', (e) => { if (e.key === SESSION_KEY && !e.newValue) location.reload(); });
    // Back to the tab: the list at once (presence itself is pushed all along).
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.current?.name === 'home') this.refreshHome?.();
    });
    try { this.info = await serverInfo(); } catch (e) { /* older server: assume dev mode */ }
    const m = /#token=([^&]+)/.exec(location.hash);
    if (m) {
      history.replaceState(null, '', location.pathname);
      const s = sessionFromToken(decodeURIComponent(m[1]));
      if (s) localStorage.setItem(SESSION_KEY, JSON.stringify(s));
    }
    const session = loadSession();
    if (session) this.start(session);
    else this.signInScreen();
  }

  mount(name, screen) {
    if (this.current && this.current.screen.dispose) this.current.screen.dispose();
    this.current = { name, screen };
    this.root.replaceChildren(screen.el);
    document.body.dataset.screen = name;
  }

  signInScreen(error) {
    this.mount('signin', screens.signIn({ devMode: this.info.devMode, error }, {
      onDev: async ({ name, userId, photo }) => {
        try {
          const id = userId || slug(name);
          const r = await devToken(id, name, photo);
          const s = { token: r.token, userId: id, name, photo, expiresAt: Date.parse(r.expiresAt), dev: true };
          localStorage.setItem(SESSION_KEY, JSON.stringify(s));
          this.start(s);
        } catch (e) {
          this.signInScreen(e.message);
        }
      },
      onToken: async (token) => {
        const s = sessionFromToken(token);
        if (!s) { this.signInScreen('That is not a JWT with a subject (sub).'); return; }
        try {
          await new Api(token, deviceId()).get(`/v1/users/${encodeURIComponent(s.userId)}`);
        } catch (e) {
          this.signInScreen(e.code === 'unauthorized' ? `The server refused this token: ${e.message}` : e.message);
          return;
        }
        localStorage.setItem(SESSION_KEY, JSON.stringify(s));
        this.start(s);
      },
    }));
    document.getElementById('name')?.focus();
  }

  start(session) {
    this.session = session;
    const dev = deviceId();
    this.api = new Api(session.token, dev);
    this.sig = new Signaling({
      token: session.token, deviceId: dev, renew: () => this.renewToken(),
    });
    this.presence = new Map();
    this.calls = new CallController({
      api: this.api, sig: this.sig, me: session, deviceId: dev,
      presenceOf: (id) => this.presence.get(id), toneRegion: this.info.toneRegion,
    });
    this.calls.addEventListener('view', (e) => this.render(e.detail));
    this.calls.addEventListener('announce', (e) => announce(e.detail));
    this.calls.addEventListener('toast', (e) => toast(e.detail, 'warn'));
    this.sig.addEventListener('status', (e) => {
      const online = e.detail.online;
      banner(online ? '' : 'No connection to the server — reconnecting…');
      if (!online) this.presence.clear();
      this.home?.setState({ online });
    });
    this.sig.addEventListener('presence', (e) => {
      for (const u of e.detail) this.presence.set(u.userId, u.status);
      this.home?.setState({ presence: this.presence });
    });
    watchMicrophone((blocked) => {
      this.micBlocked = blocked;
      this.calls?.setMicBlocked(blocked);
      this.home?.setState({ micBlocked: blocked });
    });
    this.sig.addEventListener('token', (e) => {
      this.session = { ...this.session, token: e.detail.token, expiresAt: e.detail.expiresAt };
      this.api.token = e.detail.token;
      localStorage.setItem(SESSION_KEY, JSON.stringify(this.session));
    });
    this.sig.addEventListener('expired', (e) => this.signOut(signInAgain(e.detail.reason)));
    document.getElementById('me').textContent = session.name;
    document.getElementById('sign-out').hidden = false;
    window.dialtone = {
      stats: () => this.calls.stats(), candidatesRefused: () => this.calls.candidatesRefused(), deviceId: dev,
      tone: () => this.calls.tones.current, toneRegion: () => this.calls.tones.region, toneTap: tap,
    };
    this.sig.start();
    registerWorker().then(() => refreshPush(this.api)).catch(() => {});
    this.render({ screen: 'home' });
  }

  // A fresh token when the current one is about to expire: another development token for a
  // development sign-in; with an identity provider, the page that embeds Dialtone may set
  // `window.dialtoneTokenProvider` to an (async) function that returns a fresh ID token (e.g.
  // Firebase's `user.getIdToken(true)`). Null: none, and the session ends at expiry.
  async renewToken() {
    const s = this.session;
    if (s.dev) {
      const r = await devToken(s.userId, s.name, s.photo);
      return { token: r.token, expiresAt: Date.parse(r.expiresAt) };
    }
    if (typeof window.dialtoneTokenProvider !== 'function') return null;
    const token = await window.dialtoneTokenProvider();
    const fresh = typeof token === 'string' ? sessionFromToken(token) : null;
    if (!fresh || fresh.userId !== s.userId) return null;
    return { token, expiresAt: fresh.expiresAt };
  }

  signOut(error) {
    if (this.api) disablePush(this.api).catch(() => {});
    if (this.calls) { this.calls.hangup(); this.calls.dispose(); }
    if (this.sig) this.sig.stop();
    clearInterval(this.peopleTimer);
    localStorage.removeItem(SESSION_KEY);
    this.sig = this.calls = this.home = null;
    ringingLook(null);
    document.getElementById('me').textContent = '';
    document.getElementById('sign-out').hidden = true;
    banner('');
    this.signInScreen(error);
  }

  render(view) {
    if (view.toast) toast(view.toast, /failed|not|lost|Missed/i.test(view.toast) ? 'warn' : 'info');
    ringingLook(view.screen === 'incoming' ? view.other : null);
    const same = this.current && this.current.name === view.screen;
    if (same && this.current.screen.update) { this.current.screen.update(view); return; }
    if (same && view.screen === 'home') { if (view.error) this.homeScreen(view.error); return; }
    if (view.screen !== 'home') this.home = null;
    clearInterval(this.peopleTimer);
    const now = () => this.sig.now();
    const c = this.calls;
    const again = () => { if (view.other) c.call(view.other); };
    switch (view.screen) {
      case 'home': this.homeScreen(view.error); break;
      case 'calling': this.mount('calling', screens.calling(view, { onHangup: () => c.hangup() })); break;
      case 'incoming':
        this.mount('incoming', screens.incoming(view, {
          onAccept: () => c.accept(), onDecline: () => c.decline(), now,
        }));
        break;
      case 'incall':
        this.mount('incall', screens.inCall(view, {
          onHangup: () => c.hangup(), onMute: () => c.toggleMute(),
          onOutput: (id) => c.setOutput(id), onDismissNotice: () => c.dismissNotice(),
          onSwitch: () => c.switchToNotice(), now,
        }));
        break;
      case 'ended':
      case 'outcome':
        this.mount(view.screen, screens.outcome(view, { onAgain: again, onClose: () => c.home() }));
        break;
      default: break;
    }
    if (!['ended', 'outcome', 'incoming'].includes(view.screen)) this.root.focus({ preventScroll: true });
  }

  homeScreen(error) {
    const api = this.api;
    const screen = screens.home({
      me: this.session, error, directory: this.info.directory, online: this.sig.online,
      micBlocked: this.micBlocked, presence: this.presence,
    }, {
      onCall: (user) => this.calls.call(user),
      onAddContact: (userId) => api.post('/v1/contacts', { userId }),
      onDetails: async (callId, onClose) =>
        callDetails(await api.get(`/v1/calls/${encodeURIComponent(callId)}/timeline`), this.session, { onClose }),
      pushState,
      onEnablePush: () => enablePush(api, this.info.vapidPublicKey),
      load: async () => {
        const [u, c] = await Promise.allSettled([api.get('/v1/users'), api.get('/v1/calls?limit=30')]);
        if (u.status === 'rejected' && u.reason.code === 'unauthorized') {
          this.signOut(signInAgain(u.reason.message));
          return {};
        }
        return { users: u.value?.users, calls: c.value?.calls };
      },
    });
    this.mount('home', screen);
    this.home = screen;
    const refresh = () => screen.refresh().then((ids) => {
      if (JSON.stringify(ids) !== JSON.stringify(this.sig.watched || [])) this.sig.watch(ids);
    }).catch(() => {});
    refresh();
    clearInterval(this.peopleTimer);
    this.peopleTimer = setInterval(refresh, PEOPLE_EVERY_MS);
    this.refreshHome = refresh;
  }
}

// Screen readers hear what changes without a focus move: an incoming call, the other side's
// mute, connected, how a call ended.
function announce(text) {
  const region = document.getElementById('announcer');
  region.textContent = '';
  setTimeout(() => { region.textContent = text; }, 50);
}

// While a call rings: the tab's title says who, and its icon changes (a tab in the background).
let ringingTimer = null;
function ringingLook(other) {
  const icon = document.getElementById('favicon');
  if (!other) {
    if (!ringingTimer) return;
    clearInterval(ringingTimer);
    ringingTimer = null;
    document.title = 'Dialtone';
    icon.href = icon.dataset.idle;
    return;
  }
  if (ringingTimer) return;
  let on = false;
  const flip = () => {
    on = !on;
    document.title = on ? `Incoming call — ${other.name}` : `☎ ${other.name} is calling`;
  };
  flip();
  icon.href = icon.dataset.ringing;
  ringingTimer = setInterval(flip, 1000);
}

// The microphone's permission: blocked (denied) is told on the home and incoming screens before
// anyone presses Call or Accept; `onChange(blocked)` again whenever the person changes it.
async function watchMicrophone(onChange) {
  try {
    const status = await navigator.permissions.query({ name: 'microphone' });
    onChange(status.state === 'denied');
    status.addEventListener('change', () => onChange(status.state === 'denied'));
  } catch (e) {
    /* no Permissions API for the microphone: found at Call or Accept, as before */
  }
}

const app = new App();
// A network change is noticed here, not at the WebSocket's ping timeout: back online, or the
// connection type changed (Wi-Fi to mobile data).
window.addEventListener('online', () => app.calls?.networkChanged('online'));
navigator.connection?.addEventListener?.('change', () => app.calls?.networkChanged('connection change'));
app.boot().catch((e) => {
  document.getElementById('screen').replaceChildren(h('p', { class: 'error', role: 'alert' },
    `Dialtone could not start: ${e.message}`));
});
