// SPDX-License-Identifier: Apache-2.0
// The WebSocket of protocol v1: one per tab. Reconnects with backoff and jitter, re-sends the
// requests that had no reply, estimates the server's clock, and emits:
//   'hello'   {userId, deviceId, serverTime}
//   'call'    the call document (every snapshot, in the server's order)
//   'signal'  {callId, from, data}
//   'presence' [{userId, status}]        — of the users this tab watches (watch())
//   'status'  {online: bool, attempt}   — the link to the server went up or down
//   'token'   {token, expiresAt}        — a renewed token is in use (expiresAt: ms, or null)
//   'expired' {reason}                  — the token is refused (the server's reason) and none
//                                         replaced it
//
// Tokens: when the server says the token is about to expire (token_expiring), `renew()` is
// asked for a fresh one and it is sent in band ({"op":"auth"}) — no reconnect, no gap in a call.
// When there is none, the server closes the socket at expiry (close code 4001): `renew()` is asked
// once more and the socket comes back at once with its token, else 'expired'.

import { Api, ApiError, nodes } from './api.js';

const REQUEST_TIMEOUT_MS = 10000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10000;
const CLOSE_TOKEN_EXPIRED = 4001;  // docs/protocol.md, "Close codes"

export class Signaling extends EventTarget {
  constructor({ token, deviceId, renew }) {
    super();
    this.token = token;
    this.renew = renew || (async () => null);  // -> {token, expiresAt} or null
    this.deviceId = deviceId;
    this.ws = null;
    this.online = false;
    this.nextId = 1;
    this.pending = new Map();  // id -> {msg, resolve, reject, sentAt, timer}
    this.attempt = 0;
    this.closed = false;
    this.offset = 0;           // server clock - local clock, ms
    this.bestRtt = Infinity;
  }

  // Server time now, in ms since epoch.
  now() { return Date.now() + this.offset; }

  start() { this.connect(); }

  stop() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(1000);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ApiError('network', 'signed out'));
    }
    this.pending.clear();
  }

  // The network changed (online again, another connection type): the WebSocket may be bound
  // to an address that is gone. Connect again at once instead of at the ping timeout or after
  // the backoff.
  reconnectNow() {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    const ws = this.ws;
    this.ws = null;
    this.online = false;
    this.dropUnresendable();
    if (ws) { ws.onclose = null; ws.close(); }
    this.emit('status', { online: false, attempt: 0 });
    this.connect();
  }

  connect() {
    if (this.closed) return;
    const q = new URLSearchParams({ access_token: this.token, deviceId: this.deviceId });
    const ws = new WebSocket(`${nodes.base().replace(/^http/, 'ws')}/v1/ws?${q}`);
    this.ws = ws;
    let greeted = false;
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (!msg || typeof msg !== 'object') return;
      if (msg.type === 'hello') {
        greeted = true;
        this.attempt = 0;
        // A first estimate (the delivery delay is unknown); replies refine it.
        const t = Date.parse(msg.serverTime);
        if (this.bestRtt === Infinity && !Number.isNaN(t)) this.offset = t - Date.now();
        this.online = true;
        this.emit('status', { online: true });
        this.emit('hello', msg);
        if (this.watched) this.watch(this.watched);
        // Requests that were in flight when the link dropped: the server answers a repeat
        // of an op that already took effect with the current document.
        for (const p of this.pending.values()) ws.send(JSON.stringify(p.msg));
      } else if (msg.type === 'reply') {
        this.reply(msg);
      } else if (msg.type === 'call' && msg.call) {
        this.emit('call', msg.call);
      } else if (msg.type === 'signal') {
        this.emit('signal', { callId: msg.callId, from: msg.from, data: msg.data });
      } else if (msg.type === 'presence' && Array.isArray(msg.users)) {
        this.emit('presence', msg.users);
      } else if (msg.type === 'token_expiring') {
        this.renewInBand();
      }
    };
    ws.onclose = async (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.online = false;
      this.dropUnresendable();
      if (this.closed) return;
      // Closed for an expired token (4001), or refused before the hello (a browser does not see
      // the upgrade's 401, so an HTTP request asks why): a fresh token, at once, or the end —
      // never a silent retry of a refused token.
      let refused = ev.code === CLOSE_TOKEN_EXPIRED ? (ev.reason || 'token expired') : null;
      if (!refused && !greeted) {
        this.emit('status', { online: false, attempt: this.attempt });
        refused = await this.refusal();
        if (this.closed) return;
      }
      if (refused) {
        this.emit('status', { online: false, attempt: this.attempt });
        const fresh = await this.fresh();
        if (this.closed) return;
        if (fresh) { this.connect(); return; }
        this.emit('expired', { reason: refused });
        return;
      }
      // Several nodes: the next one at once (a node that went away is not waited for), until
      // all of them failed in a row. Then full jitter: 0..min(max, min * 2^attempt).
      if (greeted) this.failures = 0;
      this.failures = (this.failures || 0) + 1;
      let delay;
      if (nodes.list.length > 1) nodes.advance();
      if (nodes.list.length > 1 && this.failures < nodes.list.length) {
        delay = Math.random() * BACKOFF_MIN_MS / 2;
      } else {
        delay = Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
        this.attempt += 1;
        this.failures = 0;
      }
      this.emit('status', { online: false, attempt: this.attempt });
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
  }

  // Why the server refuses this token (its 401 message), or null when it does not (or cannot
  // be reached: then the usual backoff).
  async refusal() {
    try {
      await new Api(this.token, this.deviceId).get('/v1/calls?limit=1');
      return null;
    } catch (e) {
      return e.code === 'unauthorized' ? e.message : null;
    }
  }

  // A fresh token from renew(), now in use (and announced), or null.
  async fresh() {
    let r = null;
    try { r = await this.renew(); } catch (e) { r = null; }
    if (!r || !r.token || r.token === this.token) return null;
    this.token = r.token;
    this.emit('token', { token: r.token, expiresAt: r.expiresAt || null });
    return r.token;
  }

  // token_expiring: renew in band. A refused renewal changes nothing on the server; the socket
  // then closes at expiry (4001) and fresh() is tried again there.
  async renewInBand() {
    if (this.renewing) return;
    this.renewing = true;
    try {
      const token = await this.fresh();
      if (token && this.online) await this.request('auth', { token });
    } catch (e) {
      /* refused or timed out: the close at expiry decides */
    } finally {
      this.renewing = false;
    }
  }

  // Sends an op; resolves with the reply's call document (or the reply), rejects with ApiError.
  // An op in flight when the link drops is sent again once it is back (the server answers a
  // repeat with the current document) — unless `now` is set: such an op (placing a call) is
  // refused at once without a link ('offline'), and fails when the link drops before its
  // reply ('network'), rather than taking effect later than the person meant it.
  request(op, fields = {}, { now = false } = {}) {
    const id = this.nextId++;
    const msg = { id, op, ...fields };
    if (now && !(this.online && this.ws)) {
      return Promise.reject(new ApiError('offline', 'No connection to the server.'));
    }
    return new Promise((resolve, reject) => {
      const p = { msg, resolve, reject, sentAt: Date.now(), now };
      p.timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ApiError('network', 'The server did not answer in time.'));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, p);
      if (this.online && this.ws) this.ws.send(JSON.stringify(msg));
    });
  }

  // The ops that must not be sent again on a new link (request's `now`) fail.
  dropUnresendable() {
    for (const [id, p] of this.pending) {
      if (!p.now) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new ApiError('network', 'The connection to the server was lost.'));
    }
  }

  // The users whose presence this tab is told of (again after each reconnect: a watch lives
  // as long as its WebSocket). Resolves with those the server watches.
  watch(userIds) {
    this.watched = [...userIds];
    if (!this.online) return Promise.resolve(null);
    return this.request('watch', { userIds: this.watched }, { now: true })
      .then((r) => r.userIds, () => null);
  }

  // A signal's reply carries nothing; its failure (the call ended meanwhile) is not an error.
  signal(callId, data) {
    return this.request('signal', { callId, data }).catch(() => {});
  }

  reply(msg) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    this.sample(msg.serverTime, p.sentAt, Date.now());
    if (msg.ok) {
      p.resolve(msg.call ?? msg);
    } else {
      const e = msg.error || {};
      p.reject(new ApiError(e.code || 'unknown', e.message || 'request failed', 0, msg.call));
    }
  }

  // Clock offset from the sample with the smallest round trip (the tightest bound).
  sample(serverTime, sentAt, receivedAt) {
    const t = Date.parse(serverTime);
    if (Number.isNaN(t)) return;
    const rtt = receivedAt - sentAt;
    if (rtt > this.bestRtt) return;
    this.bestRtt = rtt;
    this.offset = t - (sentAt + rtt / 2);
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
}
