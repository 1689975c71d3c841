// SPDX-License-Identifier: Apache-2.0
// This tab's part in calls: which screen to show, the media of the call this tab is the device
// of, and the intents it sends. The server decides every transition; this only follows the
// snapshots (newest version wins) and shows them. Emits 'view' whenever what to show changes.

import { Peer } from './peer.js';
import { QualityMeter } from './quality.js';
import { Reporter } from './reporter.js';
import { Tones } from './tones.js';
import * as media from './media.js';
import { firstName } from './ui.js';

export const ACTIVE = new Set(['calling', 'ringing', 'accepted', 'connecting', 'connected']);
const OWN_KEY = 'dialtone.ownCalls';
const OFFLINE_INCOMING = 'No connection to the server — you can answer once it is back.';
// The screen after a call that was connected stays this long, then home.
const ENDED_MS = 4000;
const RESTART_AFTER_MS = 2000;
const RESTART_EVERY_MS = 5000;
const STATS_EVERY_MS = 2000;
// A media path lost this long ends the call (fail, reason network), as the C++ SDK's
// mediaRecoveryTimeoutS; a page embedding the client may set window.dialtoneMediaRecoveryTimeoutS.
const MEDIA_RECOVERY_TIMEOUT_S = 30;
// A path with no audio packet for STALL_MS (checked every STALL_CHECK_MS) is restarted.
const STALL_MS = 800;
const STALL_CHECK_MS = 200;
// Sustained loss above this (two samples in a row) restarts ICE, as the SDK rebuilds its path.
const RESTART_ABOVE_LOSS = 20;
function recoveryTimeoutMs() {
  const s = Number(window.dialtoneMediaRecoveryTimeoutS);
  return (Number.isFinite(s) && s >= 1 && s <= 3600 ? s : MEDIA_RECOVERY_TIMEOUT_S) * 1000;
}

function ownCalls() {
  try { return JSON.parse(sessionStorage.getItem(OWN_KEY)) || []; } catch (e) { return []; }
}
function setOwn(callId, own) {
  const list = ownCalls().filter((id) => id !== callId);
  if (own) list.push(callId);
  sessionStorage.setItem(OWN_KEY, JSON.stringify(list.slice(-20)));
}

// What the caller is shown when a call it placed ends before it is answered: a title, a
// line more, whether "Call again" makes sense, and the tone the caller hears.
function outcomeForCaller(call, fullName) {
  const name = firstName(fullName);
  switch (call.state) {
    case 'rejected':
      return call.reason === 'media_device'
        ? { title: `${name} could not answer`, detail: 'Their microphone could not be used.', again: true, tone: 'failed' }
        : { title: `${name} declined`, detail: null, again: true, tone: 'declined' };
    case 'timeout': return { title: 'No answer', detail: `${name} did not pick up.`, again: true, tone: 'ended' };
    case 'busy': return { title: `${name} is on another call`, detail: 'Try again in a moment.', again: true, tone: 'busy' };
    case 'failed':
      return { title: 'Call failed', detail: call.reason === 'network' ? 'The connection was lost.' : null, again: true, tone: 'failed' };
    default: return null;  // cancelled by this side: back home
  }
}

// When placing the call fails before it rings.
function outcomeForCreate(e, fullName) {
  const name = firstName(fullName);
  switch (e.code) {
    case 'busy': return { title: `${name} is on another call`, detail: 'Try again in a moment.', again: true, tone: 'busy' };
    case 'already_in_call': return { title: 'You are already in a call', detail: 'On another device or tab: end it there first.', again: false, tone: 'failed' };
    case 'not_found': return { title: `${name} is not on Dialtone`, detail: 'They have not signed in yet.', again: false, tone: 'failed' };
    case 'offline': return { title: 'No connection', detail: 'The call was not placed: this page cannot reach the server.', again: true, tone: 'failed' };
    case 'network': return { title: 'Connection lost', detail: 'The call was not placed.', again: true, tone: 'failed' };
    case 'rate_limited': return { title: 'Too many calls', detail: e.message, again: false, tone: 'failed' };
    default: return { title: 'Call failed', detail: e.message, again: true, tone: 'failed' };
  }
}

function endedText(call) {
  if (call.state === 'failed') {
    return call.reason === 'media_timeout' ? 'Call failed: no audio path could be set up'
      : call.reason === 'media_device' ? 'Call ended: a microphone failed'
        : call.reason === 'network' ? 'Call failed: the connection was lost' : 'Call failed';
  }
  if (call.reason === 'network') return 'Call ended: connection lost';
  return 'Call ended';
}

export class CallController extends EventTarget {
  // presenceOf(userId): 'online' | 'in_call' | 'offline' | undefined, as the server last said.
  constructor({ api, sig, me, deviceId, presenceOf = () => undefined, toneRegion = 'auto' }) {
    super();
    this.api = api;
    this.sig = sig;
    this.me = me;
    this.deviceId = deviceId;
    this.presenceOf = presenceOf;
    this.c = null;            // the current call of this tab (see begin())
    this.view = { screen: 'home' };
    this.tones = new Tones(window.dialtoneToneRegion || toneRegion);
    this.notice = null;       // someone who called during this call: {callId, other}
    this.outputId = localStorage.getItem('dialtone.output') || '';
    this.ice = null;          // {servers, until}
    this.over = [];           // calls this tab is done with (the last few): a late update of
                              // one never rings again
    sig.addEventListener('call', (e) => this.onCall(e.detail));
    sig.addEventListener('signal', (e) => this.onSignal(e.detail));
    sig.addEventListener('hello', () => this.resync());
    // An incoming call while the server is away: Accept waits for it (Decline does not).
    sig.addEventListener('status', (e) => {
      if (this.view.screen !== 'incoming' || !this.c || this.c.accepting) return;
      this.show({ ...this.view, status: e.detail.online ? null : OFFLINE_INCOMING });
    });
    // Leaving the page while this tab carries a call asks first ("Leave call?"); a reload comes
    // back into the call (resync, below) within the server's presence grace.
    this.onBeforeUnload = (e) => {
      if (this.c && this.c.own && this.c.callId) { e.preventDefault(); e.returnValue = ''; }
    };
    addEventListener('beforeunload', this.onBeforeUnload);
  }

  dispose() {
    removeEventListener('beforeunload', this.onBeforeUnload);
    this.tones.stop();
    if (this.c) this.teardown();
  }

  show(view) {
    this.view = view;
    this.dispatchEvent(new CustomEvent('view', { detail: view }));
  }

  // A sentence for screen readers (main.js puts it in a live region).
  announce(text) {
    this.dispatchEvent(new CustomEvent('announce', { detail: text }));
  }

  // An outcome screen for a call this tab placed: the tone, the words, "Call again".
  outcome(other, o, call = null) {
    if (o.tone) this.tones[o.tone]();
    this.announce(o.detail ? `${o.title}. ${o.detail}` : o.title);
    this.show({ screen: 'outcome', other, outcome: o, call });
  }

  other(call) {
    const caller = call.callerId === this.me.userId;
    return caller ? { userId: call.receiverId, name: call.receiverName, photo: call.receiverPhoto }
      : { userId: call.callerId, name: call.callerName, photo: call.callerPhoto };
  }

  // --- ICE servers: GET /v1/turn-credentials, kept until 80 % of their lifetime -----------
  async iceServers() {
    if (this.ice && Date.now() < this.ice.until) return this.ice.servers;
    try {
      const r = await this.api.get('/v1/turn-credentials');
      const servers = Array.isArray(r.iceServers) ? r.iceServers : [];
      this.ice = { servers, until: Date.now() + 800 * (r.ttlSeconds || 0) };
      return servers;
    } catch (e) {
      console.warn('dialtone: no ICE servers from the server, trying direct paths only', e);
      return [];
    }
  }

  // --- intents ---------------------------------------------------------------------------
  async call(user) {
    if (this.c) return;
    this.notice = null;
    const other = { ...user };
    if (!this.sig.online) { this.outcome(other, outcomeForCreate({ code: 'offline' }, other.name)); return; }
    const c = this.begin({ role: 'caller', other, own: true });
    // As the server said before the call (once it rings, they are "in a call" to everyone).
    c.otherOffline = this.presenceOf(other.userId) === 'offline';
    this.show({ screen: 'calling', other, status: this.callingStatus(c) });
    try {
      [c.stream, c.iceServers] = await Promise.all([media.openMic(), this.iceServers()]);
    } catch (e) {
      this.abandon(c);
      this.outcome(other, { title: 'Microphone unavailable', detail: e.message, again: true, tone: null });
      return;
    }
    if (c.cancelled) { this.abandon(c); this.home(); return; }
    let doc;
    try {
      doc = await this.sig.request('create', { receiverId: user.userId }, { now: true });
    } catch (e) {
      if (e.code === 'network' && this.c === c) {
        // The link dropped before the answer: the call may have been placed. The resync after
        // the next hello shows it (adopted in onCall); if none comes, it was not.
        c.createLost = true;
        this.show({ screen: 'calling', other, status: 'Connection lost — checking whether the call was placed…' });
        c.createTimer = setTimeout(() => {
          if (this.c !== c || c.callId) return;
          this.forsake(c);
          this.outcome(other, outcomeForCreate(e, other.name));
        }, 5000);
        return;
      }
      this.abandon(c);
      if (e.call && e.code === 'busy') this.outcome(other, outcomeForCreate(e, other.name), e.call);
      else this.outcome(other, outcomeForCreate(e, other.name));
      return;
    }
    if (doc.receiverId === this.me.userId) c.role = 'receiver';  // glare: we answered theirs
    this.attach(c, doc);
    if (c.cancelled) this.hangup();
  }

  // Gives up a call whose create lost its answer: if it was placed after all, it is ended as
  // soon as a snapshot shows it (onCall), rather than left ringing with nobody to answer to.
  forsake(c) {
    this.forsaken = { receiverId: c.other.userId, until: Date.now() + 60000 };
    this.abandon(c);
  }

  // "Calling…", with what the server said of the other person's presence before the call.
  callingStatus(c) {
    if (c.otherOffline) return `${firstName(c.other.name)} is offline — trying to reach their phone…`;
    return 'Calling…';
  }

  async accept() {
    const c = this.c;
    if (!c || !c.incoming || c.accepting) return;
    if (!this.sig.online) {
      // Nothing is sent while the server cannot hear it; Decline still works, and the
      // countdown is the server's deadline.
      this.show({ ...this.view, status: OFFLINE_INCOMING });
      return;
    }
    c.accepting = true;
    this.tones.stop();
    this.show({ ...this.view, status: 'Connecting…', accepting: true });
    try {
      [c.stream, c.iceServers] = await Promise.all([media.openMic(), this.iceServers()]);
    } catch (e) {
      // No microphone: the call ends at once for both sides, with the reason — nobody is left
      // waiting. (A microphone blocked already is said on the incoming screen before Accept.)
      this.sig.request('reject', { callId: c.callId, reason: 'media_device' }).catch(() => {});
      this.abandon(c);
      this.show({ screen: 'home', error: e.message });
      return;
    }
    if (this.c !== c) { media.stopStream(c.stream); return; }
    c.own = true;
    setOwn(c.callId, true);
    this.startPeer(c);
    try {
      const doc = await this.sig.request('accept', { callId: c.callId });
      this.apply(doc);
    } catch (e) {
      if (e.call) this.apply(e.call);
      else if (this.c === c) { this.abandon(c); this.home(e.message); }
    }
  }

  decline() {
    const c = this.c;
    if (!c || !c.incoming) return;
    this.tones.stop();
    this.sig.request('reject', { callId: c.callId }).catch((e) => e.call && this.apply(e.call));
    if (!this.sig.online) {
      // Sent once the server is back (or the call times out there); this tab is done with it.
      this.teardown();
      this.home('Declined — the server will hear it once it is back.');
    }
  }

  hangup() {
    const c = this.c;
    if (!c) return;
    if (!c.callId) { c.cancelled = true; if (c.createLost) { this.forsake(c); this.home(); } return; }
    this.sig.request('end', { callId: c.callId }).then((d) => this.apply(d), (e) => {
      if (e.call) this.apply(e.call);
      else if (this.c === c) { this.abandon(c); this.home(e.message); }
    });
  }

  // The notice of someone who called during this call: not now.
  dismissNotice() {
    this.notice = null;
    this.refresh();
  }

  // End this call and call them.
  switchToNotice() {
    const n = this.notice;
    if (!n) return;
    this.notice = null;
    this.afterEnd = () => this.call(n.other);
    this.hangup();
  }

  toggleMute() {
    const c = this.c;
    if (!c || !c.stream) return;
    c.muted = !c.muted;
    for (const t of c.stream.getAudioTracks()) t.enabled = !c.muted;
    this.refresh();
    this.sig.request('mute', { callId: c.callId, muted: c.muted }).catch(() => {});
  }

  async setOutput(id) {
    try {
      await media.remoteAudio().setSinkId(id);
      this.outputId = id;
      localStorage.setItem('dialtone.output', id);
      this.c?.reporter?.add('device_changed', { kind: 'output', change: 'changed' });
      this.refresh();
    } catch (e) {
      this.refresh({ error: `That output cannot be used: ${e.message}` });
    }
  }

  // --- snapshots ---------------------------------------------------------------------------
  onCall(doc) {
    if (!doc || typeof doc.callId !== 'string') return;
    if (this.c && this.c.callId === doc.callId) { this.apply(doc); return; }
    if (this.c && this.c.createLost && !this.c.callId && doc.callerId === this.me.userId &&
        doc.receiverId === this.c.other.userId && ACTIVE.has(doc.state)) {
      // The create whose answer was lost took effect: this is our call.
      clearTimeout(this.c.createTimer);
      this.attach(this.c, doc);
      return;
    }
    if (this.c && doc.state === 'busy' && doc.receiverId === this.me.userId &&
        !this.over.includes(doc.callId)) {
      // Someone called during this call and was told this user is busy.
      this.over = [doc.callId, ...this.over.slice(0, 15)];
      const other = this.other(doc);
      this.announce(`${other.name} is calling you. They hear that you are busy.`);
      if (!this.c.reached) {
        // Not talking yet (ringing, or placing a call): a word, not a choice.
        this.dispatchEvent(new CustomEvent('toast', { detail: `${other.name} called you — they heard that you are busy.` }));
        return;
      }
      this.notice = { callId: doc.callId, other };
      this.tones.waiting();
      this.refresh();
      return;
    }
    if (this.forsaken && doc.callerId === this.me.userId && ACTIVE.has(doc.state) &&
        doc.receiverId === this.forsaken.receiverId && Date.now() < this.forsaken.until &&
        !doc.answeredBy) {
      this.forsaken = null;
      this.over = [doc.callId, ...this.over.slice(0, 15)];
      this.sig.request('end', { callId: doc.callId }).catch(() => {});
      return;
    }
    if (this.c || !ACTIVE.has(doc.state) || this.over.includes(doc.callId)) return;
    if (ownCalls().includes(doc.callId)) {
      // This tab was the call's device before a reload: back into the call.
      this.rejoin(doc);
      return;
    }
    if (doc.receiverId === this.me.userId && !doc.answeredBy &&
        (doc.state === 'calling' || doc.state === 'ringing')) {
      this.incoming(doc);
    }
  }

  incoming(doc) {
    const c = this.begin({ role: 'receiver', other: this.other(doc), own: false });
    c.incoming = true;
    c.callId = doc.callId;
    c.call = doc;
    this.tones.ring();
    this.announce(`Incoming call from ${c.other.name}`);
    this.show({ screen: 'incoming', other: c.other, call: doc, micBlocked: this.micBlocked });
    this.sig.request('ringing', { callId: doc.callId }).catch(() => {});
    this.iceServers();  // warm the cache for accept
  }

  // After a reload: the call this tab carried is still on (within the presence grace). New
  // media, and a new path: the caller offers from a fresh connection, the receiver asks for one.
  async rejoin(doc) {
    const role = doc.callerId === this.me.userId ? 'caller' : 'receiver';
    const c = this.begin({ role, other: this.other(doc), own: true });
    c.callId = doc.callId;
    const ringing = doc.state === 'calling' || doc.state === 'ringing';
    if (ringing) {
      // Still ringing: the calling screen again; media start once it is answered (apply()).
      this.show({ screen: 'calling', other: c.other, status: 'Calling…' });
    } else {
      c.call = doc;
      c.reached = true;
      c.reconnecting = true;
      this.refresh();
    }
    try {
      [c.stream, c.iceServers] = await Promise.all([media.openMic(), this.iceServers()]);
    } catch (e) {
      if (this.c !== c) return;
      this.sig.request('fail', { callId: c.callId, reason: 'media_device' }).catch(() => {});
      this.refresh({ error: e.message });
      return;
    }
    if (this.c !== c) { media.stopStream(c.stream); return; }
    if (ringing) {
      if (!c.call) this.apply(doc);  // (else applied meanwhile)
      else if (c.reached && !c.peer) this.startCallerPeer(c);  // answered meanwhile
      return;
    }
    this.startPeer(c);
    c.wasConnected = true;  // the restart loop applies: it was up before the reload
    if (role === 'caller') c.peer.renew().catch((e) => this.mediaError(c, e));
    else c.peer.restart().catch(() => {});
    this.announce(`Back in the call with ${c.other.name}`);
  }

  // The caller offers once the call is answered.
  startCallerPeer(c) {
    this.startPeer(c);
    c.peer.start().catch((e) => this.mediaError(c, e));
  }

  attach(c, doc) {
    c.callId = doc.callId;
    setOwn(doc.callId, true);
    if (c.role === 'receiver') { c.incoming = true; this.startPeer(c); }
    this.apply(doc);
  }

  apply(doc) {
    const c = this.c;
    if (!c || doc.callId !== c.callId) return;
    if (c.call && doc.version <= c.call.version) return;
    const before = c.call;
    c.call = doc;
    if (!ACTIVE.has(doc.state)) { this.finish(doc); return; }
    if (c.incoming && !c.own) {
      if (doc.answeredBy && doc.answeredBy !== this.deviceId) {
        this.tones.stop();
        this.teardown();
        this.home('Answered on another device');
        return;
      }
      this.show({ ...this.view, screen: 'incoming', other: c.other, call: doc,
        status: c.accepting ? 'Connecting…' : this.view.status || null });
      return;
    }
    if (c.role === 'caller' && (doc.state === 'calling' || doc.state === 'ringing')) {
      if (doc.state === 'ringing' && this.tones.current !== 'ringback') this.tones.ringback();
      const status = doc.state === 'calling' ? this.callingStatus(c) : 'Ringing…';
      this.show({ screen: 'calling', other: c.other, status, call: doc });
      return;
    }
    // accepted / connecting / connected: the call screen.
    if (this.tones.current === 'ringback') this.tones.stop();
    if (doc.state === 'connected' && before?.state !== 'connected' && !c.connectedOnce) {
      c.connectedOnce = true;
      this.tones.connected();
      this.announce(`Connected with ${c.other.name}`);
    }
    const meta = doc.metadata || {};
    const otherMuted = !!(c.role === 'caller' ? meta.receiverMuted : meta.callerMuted);
    if (c.reached && otherMuted !== !!c.otherMuted) {
      this.announce(otherMuted ? `${c.other.name} muted their microphone` : `${c.other.name} unmuted`);
    }
    c.otherMuted = otherMuted;
    c.reached = true;
    if (c.role === 'caller' && !c.peer && c.stream) this.startCallerPeer(c);
    this.refresh();
  }

  // The call screen's view from the current call.
  refresh(extra = {}) {
    const c = this.c;
    if (!c || !c.reached) return;
    const doc = c.call;
    this.show({
      screen: 'incall', other: c.other, call: doc,
      connectedAt: doc.state === 'connected' && doc.connectedAt ? Date.parse(doc.connectedAt) : null,
      status: doc.state === 'connected' ? null : 'Connecting…',
      muted: !!c.muted, otherMuted: !!c.otherMuted, quality: c.quality || null,
      securityCode: c.securityCode || null, reconnecting: !!c.reconnecting, outputId: this.outputId,
      notice: this.notice, ...extra,
    });
  }

  finish(doc) {
    const c = this.c;
    const reached = c.reached;
    const name = c.other.name;
    this.tones.stop();
    this.teardown();
    const next = this.afterEnd;
    this.afterEnd = null;
    const missed = this.notice;
    this.notice = null;
    if (next) { next(); return; }
    if (reached) {
      this.tones.ended();
      const text = endedText(doc);
      this.announce(text);
      this.show({ screen: 'ended', other: c.other, call: doc,
        outcome: { title: text, detail: missed ? `${missed.other.name} called during the call.` : null, again: true } });
      clearTimeout(this.endedTimer);
      this.endedTimer = setTimeout(() => { if (!this.c && this.view.screen === 'ended') this.home(); }, ENDED_MS);
    } else if (c.role === 'caller') {
      const o = outcomeForCaller(doc, name);
      if (o) this.outcome(c.other, o, doc);
      else this.home();
    } else if (doc.state === 'timeout' || doc.reason === 'cancelled') {
      this.announce(`Missed call from ${name}`);
      this.home(`Missed call from ${name}`);
    } else {
      this.home();
    }
  }

  home(toast) {
    this.show({ screen: 'home', toast });
  }

  // The microphone's permission, as the browser tells it: blocked shows before a call.
  setMicBlocked(blocked) {
    this.micBlocked = blocked;
    if (this.view.screen === 'incoming') this.show({ ...this.view, micBlocked: blocked });
  }

  onSignal({ callId, data }) {
    const c = this.c;
    if (!c || c.callId !== callId) return;
    if (!c.peer) { (c.signals ||= []).push(data); return; }
    c.peer.handle(data).catch((e) => this.mediaError(c, e));
  }

  // After (re)connecting to the server: a call this tab holds may have ended meanwhile.
  async resync() {
    const c = this.c;
    if (!c || !c.callId) return;
    try {
      this.apply(await this.api.get(`/v1/calls/${encodeURIComponent(c.callId)}`));
    } catch (e) {
      if (e.code === 'not_found' && this.c === c) { this.teardown(); this.home('Call ended'); }
    }
  }

  // --- media ---------------------------------------------------------------------------------
  begin({ role, other, own }) {
    clearTimeout(this.endedTimer);
    this.c = { role, other, own, callId: null, call: null, stream: null, peer: null };
    return this.c;
  }

  startPeer(c) {
    c.meter = new QualityMeter();
    if (!c.reporter) c.reporter = new Reporter((events) => this.sig.request('report', { callId: c.callId, events }), () => this.sig.now());
    c.peer = new Peer({
      role: c.role, iceServers: c.iceServers || [], stream: c.stream,
      send: (data) => this.sig.signal(c.callId, data),
      on: {
        track: (stream) => media.playRemote(stream, this.outputId).catch(() => {}),
        ice: (state) => this.onIce(c, state),
        connected: () => {
          c.reporter.first('first_audio_sent');  // SRTP flows from DTLS on
          this.whenAudioFlows(c);
          this.showSecurityCode(c);
        },
      },
    });
    for (const t of c.stream.getAudioTracks()) {
      t.addEventListener('ended', () => {
        if (this.c !== c) return;
        c.reporter.add('device_changed', { kind: 'microphone', change: 'lost' });
        this.sig.request('fail', { callId: c.callId, reason: 'media_device' }).catch(() => {});
        this.refresh({ error: 'The microphone stopped working (unplugged?). The call was ended.' });
      });
    }
    for (const s of c.signals || []) c.peer.handle(s).catch((e) => this.mediaError(c, e));
    c.signals = [];
    c.statsTimer = setInterval(() => this.sampleQuality(c), STATS_EVERY_MS);
    c.stallTimer = setInterval(() => this.watchStall(c), STALL_CHECK_MS);
  }

  // A path that went quiet (no audio packet for STALL_MS while ICE still says connected: an
  // address that vanished, a route that changed) is restarted at once rather than after ICE's
  // own timeouts. Silence is not quiet: Opus DTX still sends a packet every 400 ms, so it takes
  // two DTX packets lost in a row to restart a path that was fine.
  async watchStall(c) {
    if (this.c !== c || !c.peer || !c.wasConnected || c.gaveUp) return;
    let packets = 0;
    (await c.peer.pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') packets += s.packetsReceived || 0;
    });
    const now = Date.now();
    if (packets !== c.stallPackets) {
      c.stallPackets = packets;
      c.lastPacketAt = now;
      // Audio flows again (ICE may never have left "connected"): no longer reconnecting.
      const ice = c.peer.pc.iceConnectionState;
      if (c.reconnecting && (ice === 'connected' || ice === 'completed')) this.onIce(c, ice);
      return;
    }
    if (now - (c.lastPacketAt || now) < STALL_MS || now - (c.lastStallRestart || 0) < 4000) return;
    c.lastStallRestart = now;
    console.debug(`dialtone: no audio for ${now - c.lastPacketAt} ms; restarting ICE`);
    // The address may be gone (the browser says nothing of it): the WebSocket on it would hold
    // the restart's offer until its ping timeout. A new one carries it at once.
    this.sig.reconnectNow();
    this.reconnecting(c, 'stall');
    c.peer.restart().catch((e) => console.warn('dialtone: ICE restart failed', e));
  }

  // The security code of the connection now up (again after the other side rebuilt its
  // transport: a new certificate, a new code).
  async showSecurityCode(c) {
    const code = await c.peer.securityCode().catch(() => null);
    if (this.c !== c || !code || code === c.securityCode) return;
    c.securityCode = code;
    this.refresh();
  }

  // `ready` once ICE and DTLS are up and the first audio packets have arrived.
  whenAudioFlows(c) {
    if (c.readySent || c.waitingAudio) return;
    c.waitingAudio = setInterval(async () => {
      if (this.c !== c || !c.peer) { clearInterval(c.waitingAudio); return; }
      const report = await c.peer.pc.getStats();
      let packets = 0;
      report.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') packets += s.packetsReceived || 0; });
      if (packets > 0 && !c.readySent) {
        clearInterval(c.waitingAudio);
        c.reporter.first('first_audio_received');
        c.readySent = true;
        this.sig.request('ready', { callId: c.callId }).then((d) => this.apply(d), () => {});
      }
    }, 50);
  }

  // Once the media path has been up, any ICE state but connected for RESTART_AFTER_MS (at once
  // when failed) shows "Reconnecting…" and restarts ICE, again every RESTART_EVERY_MS. That
  // includes a fresh connection still checking after the other side rebuilt its transport.
  onIce(c, state) {
    if (this.c !== c) return;
    if (state === 'connected' || state === 'completed') {
      c.wasConnected = true;
      clearTimeout(c.restartTimer);
      c.restartTimer = null;
      clearTimeout(c.lostTimer);
      c.lostTimer = null;
      if (c.reconnecting) {
        c.reconnecting = false;
        c.reporter?.recoveryEnded('recovered');
        this.refresh();
      }
      return;
    }
    if (!c.wasConnected || c.restartTimer || state === 'closed') return;
    const again = () => {
      if (this.c !== c || !c.peer) return;
      const s = c.peer.pc.iceConnectionState;
      if (s === 'connected' || s === 'completed') { c.restartTimer = null; return; }
      this.reconnecting(c, s === 'failed' ? 'ice_failed' : 'ice_disconnected');
      c.peer.restart().catch((e) => console.warn('dialtone: ICE restart failed', e));
      c.restartTimer = setTimeout(again, RESTART_EVERY_MS);
    };
    c.restartTimer = setTimeout(again, state === 'failed' ? 0 : RESTART_AFTER_MS);
  }

  // "Reconnecting…" with a deadline: a path that stays lost ends the call rather than leaving
  // both people waiting in front of "Reconnecting…".
  reconnecting(c, cause) {
    if (!c.reconnecting) {
      c.reconnecting = true;
      c.reporter?.recoveryStarted(cause);
      this.refresh();
    }
    if (c.lostTimer) return;
    c.lostTimer = setTimeout(() => {
      if (this.c !== c || !c.reconnecting) return;
      const seconds = Math.round(recoveryTimeoutMs() / 1000);
      console.warn(`dialtone: the media path was lost for ${seconds} s; ending the call`);
      c.gaveUp = true;
      c.reporter?.recoveryEnded('gave_up');
      c.reporter?.flush();
      if (c.peer) { c.peer.close(); c.peer = null; }
      clearTimeout(c.restartTimer);
      this.refresh({ status: 'Connection lost', error: `The connection was lost for ${seconds} s. The call has ended.` });
      // The server has the final word (the other side may have failed it already); when it
      // cannot be reached, the call ends here and the other side's own deadline ends it there.
      this.sig.request('fail', { callId: c.callId, reason: 'network' })
        .then((d) => this.apply(d))
        .catch(() => {
          if (this.c === c) this.finish({ ...c.call, state: 'failed', reason: 'network' });
        });
    }, recoveryTimeoutMs());
  }

  // The network changed (window online, navigator.connection change): signaling connects again
  // at once, and a call in progress restarts ICE on the new network without waiting for the
  // old path to time out.
  networkChanged(why) {
    console.debug(`dialtone: network changed (${why})`);
    this.sig.reconnectNow();
    const c = this.c;
    if (!c || !c.peer || !c.wasConnected || c.gaveUp) return;
    this.reconnecting(c, 'network_change');
    // At once, even over a fresh connection being set up: it was made on the old network.
    c.peer.restart(true).catch((e) => console.warn('dialtone: ICE restart failed', e));
  }

  async sampleQuality(c) {
    if (this.c !== c || !c.peer || c.call?.state !== 'connected') return;
    const report = await c.peer.pc.getStats();
    const q = c.meter.read(report);
    if (!q || this.c !== c) return;
    c.reporter.stats(report, q);
    c.quality = q;
    this.refresh();
    // Sustained loss: restart ICE (a better pair, or a new relay), at most every few seconds.
    c.highLoss = q.lossPercent > RESTART_ABOVE_LOSS ? (c.highLoss || 0) + 1 : 0;
    if (c.highLoss >= 2 && c.peer && Date.now() - (c.lastLossRestart || 0) > 4000) {
      c.lastLossRestart = Date.now();
      c.highLoss = 0;
      console.debug(`dialtone: sustained loss (${q.lossPercent.toFixed(1)} %); restarting ICE`);
      c.peer.restart().catch((e) => console.warn('dialtone: ICE restart failed', e));
    }
  }

  // A signaling step that fails before media ever flowed fails the call; once it has flowed,
  // the restart loop (onIce) keeps trying, so one bad step in a renegotiation does not end it.
  mediaError(c, e) {
    console.error('dialtone: media error', e);
    if (this.c !== c || !c.callId || c.wasConnected) return;
    this.sig.request('fail', { callId: c.callId, reason: 'media_failed' }).catch(() => {});
  }

  // The getStats report of the current call, for diagnostics (window.dialtone.stats()).
  async stats() {
    const c = this.c;
    if (!c || !c.peer) return [];
    const out = [];
    (await c.peer.pc.getStats()).forEach((s) => out.push(s));
    return out;
  }

  // The other side's candidates this call's connection refused (window.dialtone).
  candidatesRefused() {
    return this.c?.peer?.candidatesRefused || 0;
  }

  abandon(c) {
    if (this.c === c) this.teardown();
    else media.stopStream(c.stream);
  }

  teardown() {
    const c = this.c;
    if (!c) return;
    this.c = null;
    if (c.callId) this.over = [c.callId, ...this.over.slice(0, 15)];
    clearInterval(c.statsTimer);
    clearInterval(c.stallTimer);
    clearInterval(c.waitingAudio);
    clearTimeout(c.restartTimer);
    clearTimeout(c.lostTimer);
    clearTimeout(c.createTimer);
    if (c.reporter) c.reporter.close();
    if (c.peer) c.peer.close();
    media.stopStream(c.stream);
    media.stopRemote();
    if (c.callId) setOwn(c.callId, false);
  }
}
