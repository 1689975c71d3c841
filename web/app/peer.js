// SPDX-License-Identifier: Apache-2.0
// One call's WebRTC link, in the signaling shapes of protocol v1 (the browser's own JSON).
// The caller offers; the receiver answers. Candidates that arrive before the description they
// belong to are kept until it is set. A new path is a new connection on both sides: the caller
// replaces its RTCPeerConnection and offers, and an offer from a new transport on the other side
// (the C++ SDK rebuilds its transport to restart) replaces the receiver's.

// What identifies the other side's transport: its SDP session (the o= line's id stays the same
// through renegotiations of one connection) and its DTLS fingerprint. webrtcbin shares one
// certificate per process, so a rebuilt C++ transport shows only in the session id.
function transportOf(sdp) {
  const origin = /^o=\S+ (\S+)/m.exec(sdp || '');
  const fp = /^a=fingerprint:(.+)$/m.exec(sdp || '');
  return `${origin ? origin[1] : ''}|${fp ? fp[1].trim() : ''}`;
}

// The DTLS fingerprint an SDP declares (the first a=fingerprint line: session level, else the
// first media section), normalized as "sha-256 AB:CD:…".
export function fingerprintOf(sdp) {
  const m = /^a=fingerprint:(\S+) ([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){15,63})[ \t]*$/m.exec(sdp || '');
  return m ? `${m[1].toLowerCase()} ${m[2].toUpperCase()}` : null;
}

// The security code both sides show (docs/protocol.md, "Security code"): the first four bytes
// of SHA-256("dialtone-sas-1\n" + lower + "\n" + higher) of the two fingerprints, as a number
// mod 1 000 000, in two groups of three digits.
export async function securityCode(localSdp, remoteSdp) {
  const a = fingerprintOf(localSdp); const b = fingerprintOf(remoteSdp);
  if (!a || !b) return null;
  const [lo, hi] = a < b ? [a, b] : [b, a];
  const digest = new DataView(await crypto.subtle.digest('SHA-256',
    new TextEncoder().encode(`dialtone-sas-1\n${lo}\n${hi}`)));
  const n = digest.getUint32(0) % 1000000;
  return `${String(Math.floor(n / 1000)).padStart(3, '0')} ${String(n % 1000).padStart(3, '0')}`;
}

// How long a fresh connection (the caller's renew()) gets to come up before a restart may
// replace it: ICE and DTLS take well under a second here, a few seconds on a loaded machine.
const RENEW_GRACE_MS = 5000;

export class Peer {
  // role: 'caller' | 'receiver'; send(data) relays a signal; on: {track, ice, connected}
  constructor({ role, iceServers, stream, send, on }) {
    this.role = role;
    this.iceServers = iceServers;
    this.stream = stream;
    this.send = send;
    this.on = on;
    this.queued = [];
    this.closed = false;
    this.pc = this.create();
  }

  create() {
    const pc = new RTCPeerConnection({
      iceServers: this.iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require',
    });
    for (const track of this.stream.getAudioTracks()) pc.addTrack(track, this.stream);
    pc.ontrack = (ev) => {
      if (this.pc !== pc) return;
      this.on.track(ev.streams[0] || new MediaStream([ev.track]));
    };
    pc.onicecandidate = (ev) => {
      if (this.pc !== pc) return;
      const c = ev.candidate;
      if (!c || !c.candidate) {
        this.send({ type: 'candidate', candidate: '' });
      } else {
        // As the browser gave them: the section's a=mid and its index (null when unknown).
        this.send({
          type: 'candidate', candidate: c.candidate, sdpMid: c.sdpMid ?? null,
          sdpMLineIndex: c.sdpMLineIndex ?? null,
        });
      }
    };
    pc.oniceconnectionstatechange = () => {
      console.debug(`dialtone: ICE ${pc.iceConnectionState}${this.pc === pc ? '' : ' (replaced)'}`);
      if (this.pc === pc) this.on.ice(pc.iceConnectionState);
    };
    pc.onconnectionstatechange = () => {
      if (this.pc === pc && pc.connectionState === 'connected') this.on.connected();
    };
    return pc;
  }

  // The code of the descriptions this connection uses now.
  securityCode() {
    const pc = this.pc;
    return securityCode(pc.currentLocalDescription?.sdp, pc.currentRemoteDescription?.sdp);
  }

  // The caller's first offer.
  async start() {
    await this.offer(false);
  }

  async offer(iceRestart) {
    const pc = this.pc;
    if (pc.signalingState !== 'stable') await pc.setLocalDescription({ type: 'rollback' });
    if (iceRestart) pc.restartIce();
    const offer = await pc.createOffer({ iceRestart });
    if (this.closed || this.pc !== pc) return;
    await pc.setLocalDescription(offer);
    this.send({ type: 'offer', sdp: pc.localDescription.sdp });
  }

  // Ask for (receiver) or make (caller) a new path. The caller starts a fresh connection (new
  // ICE agent, new DTLS) rather than an ICE restart of this one: after the address it used is
  // gone, the C++ SDK's webrtcbin does not bring an ICE-restarted connection back (the field
  // lab shows it), and a fresh one is what the SDK does itself. The other side sees a new
  // session and starts over too (a browser here, a C++ transport there).
  // A fresh connection being set up is left to finish (RENEW_GRACE_MS) unless `force` (a new
  // network): the several ways a lost path is noticed — no audio, ICE's state, loss, the other
  // side's request — each asking again would replace it before it could connect, over and over
  // on a slow machine.
  async restart(force = false) {
    if (this.closed) return;
    if (this.role !== 'caller') {
      this.send({ type: 'restart' });
    } else if (!force && this.settingUp()) {
      console.debug(`dialtone: a new connection is being set up (${this.pc.iceConnectionState}); restart left to it`);
    } else {
      await this.renew();
    }
  }

  // The caller's fresh connection, made less than RENEW_GRACE_MS ago, still on its way up.
  settingUp() {
    const s = this.pc.iceConnectionState;
    return Date.now() - (this.renewedAt || 0) < RENEW_GRACE_MS &&
      !['connected', 'completed', 'failed', 'closed'].includes(s);
  }

  async renew() {
    this.renewedAt = Date.now();
    const old = this.pc;
    this.pc = this.create();
    old.close();
    this.queued = [];
    this.on.ice(this.pc.iceConnectionState);  // a path to set up again: 'new'
    await this.offer(false);
  }

  async handle(data) {
    if (this.closed || !data || typeof data !== 'object') return;
    const pc = this.pc;
    switch (data.type) {
      case 'offer': {
        if (this.role !== 'receiver' || typeof data.sdp !== 'string') return;
        const old = pc.remoteDescription;
        if (old && transportOf(old.sdp) !== transportOf(data.sdp)) {
          console.debug('dialtone: the other side has a new transport; new connection');
          // A new transport on the other side: start over with a fresh connection.
          this.pc = this.create();
          pc.close();
          this.queued = [];
          this.on.ice(this.pc.iceConnectionState);  // a path to set up again: 'new'
        }
        await this.pc.setRemoteDescription({ type: 'offer', sdp: data.sdp });
        await this.flush();
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        this.send({ type: 'answer', sdp: this.pc.localDescription.sdp });
        return;
      }
      case 'answer':
        if (this.role !== 'caller' || typeof data.sdp !== 'string') return;
        if (pc.signalingState !== 'have-local-offer') return;  // a stale answer
        await pc.setRemoteDescription({ type: 'answer', sdp: data.sdp });
        await this.flush();
        return;
      case 'candidate':
        if (typeof data.candidate !== 'string') return;
        if (!pc.remoteDescription) this.queued.push(data);
        else await this.add(data);
        return;
      case 'restart':
        // Both sides notice a lost path at about the same time: a restart asked for just after
        // our own (the other side asked before it saw our offer), or while our fresh connection
        // is being set up, would only replace it again.
        if (this.role === 'caller' && Date.now() - (this.renewedAt || 0) >= 3000) await this.restart();
        return;
      default:
    }
  }

  // Candidates as sent (W3C rules: the mid decides, else the index); one the browser refuses is
  // said at debug level and counted (window.dialtone.candidatesRefused), never dropped unseen.
  async add(c) {
    try {
      if (c.candidate === '') await this.pc.addIceCandidate();
      else await this.pc.addIceCandidate({
        candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null,
      });
    } catch (e) {
      // Expected for a candidate of an older generation (before a restart); anything else is a
      // peer that names its sections wrongly.
      this.candidatesRefused = (this.candidatesRefused || 0) + 1;
      console.debug(`dialtone: candidate refused (${e.name}: ${e.message}); ${this.candidatesRefused} so far`);
    }
  }

  async flush() {
    const q = this.queued;
    this.queued = [];
    for (const c of q) await this.add(c);
  }

  close() {
    this.closed = true;
    this.pc.close();
  }
}
