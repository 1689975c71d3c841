// SPDX-License-Identifier: Apache-2.0
// This tab's part in calls: which screen to show, the media of the call this tab is the device
// of, and the intents it sends. The server decides every transition; this only follows the
// snapshots (newest version wins) and shows them. Emits 'view' whenever what to show changes.

import { Peer } from './peer.js';
import { QualityMeter } from './quality.js';
import { Reporter } from './reporter.js';
import { Ringtone } from './ringtone.js';
import * as media from './media.js';

export const ACTIVE = new Set(['calling', 'ringing', 'accepted', 'connecting', 'connected']);
const OWN_KEY = 'dialtone.ownCalls';
const ENDED_MS = 2000;
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

// What the caller is told when a call it placed ends before it is answered.
function outcomeForCaller(call, name) {
  switch (call.state) {
    case 'rejected':
      return call.reason === 'media_device' ? `${name} could not use their microphone`
        : 'Call rejected';
    case 'timeout': return 'No answer';
    case 'busy': return 'User busy';
    case 'failed': return 'Call failed';
    default: return call.reason === 'cancelled' ? 'Call cancelled' : 'Call ended';
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
  constructor({ api, sig, me, deviceId }) {
    super();
    this.api = api;
    this.sig = sig;
    this.me = me;
    this.deviceId = deviceId;
    this.c = null;            // the current call of this tab (see begin())
    this.view = { screen: 'home' };
    this.ringtone = new Ringtone();
    this.outputId = localStorage.getItem('dialtone.output') || '';
    this.ice = null;          // {servers, until}
    this.over = [];           // calls this tab is done with (the last few): a late update of
                              // one never rings again
    sig.addEventListener('call', (e) => this.onCall(e.detail));
    sig.addEventListener('signal', (e) => this.onSignal(e.detail));
    sig.addEventListener('hello', () => this.resync());
    this.onPageHide = () => this.leaveOnUnload();
    addEventListener('pagehide', this.onPageHide);
  }

  dispose() {
    removeEventListener('pagehide', this.onPageHide);
    if (this.c) this.teardown();
  }

  show(view) {
    this.view = view;
    this.dispatchEvent(new CustomEvent('view', { detail: view }));
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
    const c = this.begin({ role: 'caller', other: user, own: true });
    this.show({ screen: 'calling', other: user, status: 'Calling…' });
    try {
      [c.stream, c.iceServers] = await Promise.all([media.openMic(), this.iceServers()]);
    } catch (e) {
      this.abandon(c);
      this.show({ screen: 'home', error: e.message });
      return;
    }
    if (c.cancelled) { this.abandon(c); this.home(); return; }
    let doc;
    try {
      doc = await this.sig.request('create', { receiverId: user.userId });
    } catch (e) {
      this.abandon(c);
      const msg = e.code === 'busy' ? 'User busy'
        : e.code === 'already_in_call' ? 'You are already in a call (on another device?)'
        : e.code === 'not_found' ? `${user.name} has not signed in to Dialtone yet`
        : e.message;
      this.home(msg);
      return;
    }
    if (doc.receiverId === this.me.userId) c.role = 'receiver';  // glare: we answered theirs
    this.attach(c, doc);
    if (c.cancelled) this.hangup();
  }

  async accept() {
    const c = this.c;
    if (!c || !c.incoming || c.accepting) return;
    c.accepting = true;
    this.ringtone.stop();
    this.show({ ...this.view, status: 'Connecting…' });
    try {
      [c.stream, c.iceServers] = await Promise.all([media.openMic(), this.iceServers()]);
    } catch (e) {
      // No microphone: the call ends at once for both sides, with the reason.
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
    this.ringtone.stop();
    this.sig.request('reject', { callId: c.callId }).catch((e) => e.call && this.apply(e.call));
  }

  hangup() {
    const c = this.c;
    if (!c) return;
    if (!c.callId) { c.cancelled = true; return; }  // not created yet: cancel when it is
    this.sig.request('end', { callId: c.callId }).then((d) => this.apply(d), (e) => {
      if (e.call) this.apply(e.call);
      else if (this.c === c) { this.abandon(c); this.home(e.message); }
    });
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
    if (this.c || !ACTIVE.has(doc.state) || this.over.includes(doc.callId)) return;
    const mine = ownCalls().includes(doc.callId);
    if (mine) {
      // This tab was the call's device before a reload: its media are gone, end it cleanly.
      this.sig.request('end', { callId: doc.callId, reason: 'network' }).catch(() => {});
      setOwn(doc.callId, false);
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
    this.ringtone.start();
    this.show({ screen: 'incoming', other: c.other, call: doc });
    this.sig.request('ringing', { callId: doc.callId }).catch(() => {});
    this.iceServers();  // warm the cache for accept
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
    c.call = doc;
    if (!ACTIVE.has(doc.state)) { this.finish(doc); return; }
    if (c.incoming && !c.own) {
      if (doc.answeredBy && doc.answeredBy !== this.deviceId) {
        this.ringtone.stop();
        this.teardown();
        this.home('Answered on another device');
        return;
      }
      this.show({ screen: 'incoming', other: c.other, call: doc,
        status: c.accepting ? 'Connecting…' : null });
      return;
    }
    if (c.role === 'caller' && (doc.state === 'calling' || doc.state === 'ringing')) {
      const n = doc.ringingDevices || 0;
      const status = doc.state === 'calling' ? 'Calling…'
        : n > 1 ? `Ringing on ${n} devices…` : 'Ringing…';
      this.show({ screen: 'calling', other: c.other, status, call: doc });
      return;
    }
    // accepted / connecting / connected: the call screen.
    c.reached = true;
    if (c.role === 'caller' && !c.peer) { this.startPeer(c); c.peer.start().catch((e) => this.mediaError(c, e)); }
    this.refresh();
  }

  // The call screen's view from the current call.
  refresh(extra = {}) {
    const c = this.c;
    if (!c || !c.reached) return;
    const doc = c.call;
    const otherMuted = doc.metadata
      ? !!(c.role === 'caller' ? doc.metadata.receiverMuted : doc.metadata.callerMuted) : false;
    this.show({
      screen: 'incall', other: c.other, call: doc,
      connectedAt: doc.state === 'connected' && doc.connectedAt ? Date.parse(doc.connectedAt) : null,
      status: doc.state === 'connected' ? null : 'Connecting…',
      muted: !!c.muted, otherMuted, quality: c.quality || null, securityCode: c.securityCode || null,
      reconnecting: !!c.reconnecting, outputId: this.outputId, ...extra,
    });
  }

  finish(doc) {
    const c = this.c;
    const reached = c.reached;
    const name = c.other.name;
    this.ringtone.stop();
    this.teardown();
    if (reached) {
      this.show({ screen: 'ended', other: c.other, call: doc, text: endedText(doc) });
      clearTimeout(this.endedTimer);
      this.endedTimer = setTimeout(() => { if (!this.c) this.home(); }, ENDED_MS);
    } else if (c.role === 'caller') {
      this.home(outcomeForCaller(doc, name));
    } else if (doc.state === 'timeout' || doc.reason === 'cancelled') {
      this.home(`Missed call from ${name}`);
    } else {
      this.home();
    }
  }

  home(toast) {
    this.show({ screen: 'home', toast });
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
    if (c.reporter) c.reporter.close();
    if (c.peer) c.peer.close();
    media.stopStream(c.stream);
    media.stopRemote();
    if (c.callId) setOwn(c.callId, false);
  }

  // Closing or reloading the tab ends the call this tab carries (nobody is left talking to a
  // closed tab); an incoming call keeps ringing on the user's other devices.
  leaveOnUnload() {
    const c = this.c;
    if (c && c.callId && c.own && this.sig.ws && this.sig.online) {
      this.sig.ws.send(JSON.stringify({ id: 0, op: 'end', callId: c.callId }));
      setOwn(c.callId, false);
    }
  }
}
