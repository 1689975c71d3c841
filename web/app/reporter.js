// SPDX-License-Identifier: Apache-2.0
// A call's media events for the server's call timeline (`report` op; docs/protocol.md, "Call
// timeline"): the path as it connected and as it changed, first audio, recoveries with cause and
// outcome, device changes, and a quality sample every 5 s. Sent together every 5 s and once
// more when the call is torn down, each with its `ago` and its `at` in the server's clock (so a
// report held up in a stalled connection is still placed right). Only types, numbers and the
// words the protocol allows: no address, no SDP.

const FLUSH_MS = 5000;
const SAMPLE_EVERY_MS = 5000;
const MAX_PER_REPORT = 32;
const MAX_HELD = 96;

const TYPES = ['host', 'srflx', 'prflx', 'relay'];

// The selected candidate pair of a getStats report as {local, remote, protocol}, or null.
export function pathOf(report) {
  const byId = new Map();
  report.forEach((s) => byId.set(s.id, s));
  let pair = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
  });
  if (!pair) {
    report.forEach((s) => {
      if (!pair && s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
    });
  }
  if (!pair) return null;
  const local = byId.get(pair.localCandidateId);
  const remote = byId.get(pair.remoteCandidateId);
  if (!local || !remote || !TYPES.includes(local.candidateType) || !TYPES.includes(remote.candidateType)) return null;
  // How this side reaches its first hop: for a relay, how it reaches the TURN server.
  const protocol = local.candidateType === 'relay' ? (local.relayProtocol || 'udp') : (local.protocol || 'udp');
  if (!['udp', 'tcp', 'tls'].includes(protocol)) return null;
  return { local: local.candidateType, remote: remote.candidateType, protocol };
}

export class Reporter {
  // send(events): the `report` op (a promise: a network failure or a server that could not store
  // them puts the events back, a refusal is only logged); serverNow(): the server's clock as the
  // signaling estimates it.
  constructor(send, serverNow = Date.now) {
    this.send = send;
    this.serverNow = serverNow;
    this.held = [];
    this.path = null;
    this.once = new Set();
    this.lastSample = 0;
    this.lastBytes = null;
    this.lostAt = 0;
    this.closed = false;
    this.retries = 0;
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
  }

  add(type, fields = {}) {
    this.held.push({ type, ...fields, at: Date.now() });
    if (this.held.length > MAX_HELD) {
      const q = this.held.findIndex((e) => e.type === 'quality');
      this.held.splice(q >= 0 ? q : 0, 1);
    }
  }

  // An event that happens once per call (first audio).
  first(type) {
    if (this.once.has(type)) return;
    this.once.add(type);
    this.add(type);
  }

  // From each getStats report: the path (reported when it is new) and, every 5 s, a sample.
  stats(report, quality) {
    const p = pathOf(report);
    if (p && (!this.path || p.local !== this.path.local || p.remote !== this.path.remote ||
              p.protocol !== this.path.protocol)) {
      this.add(this.path ? 'path_changed' : 'media_connected', p);
      this.path = p;
    }
    const now = Date.now();
    if (!quality || now - this.lastSample < SAMPLE_EVERY_MS) return;
    const sample = {
      lossPercent: clamp(quality.lossPercent, 0, 100),
      jitterMs: clamp(quality.jitterMs, 0, 60000),
    };
    if (typeof quality.rttMs === 'number') sample.rttMs = clamp(quality.rttMs, 0, 60000);
    if (this.lastBytes && now > this.lastBytes.at) {
      const kbps = ((quality.bytesReceived - this.lastBytes.bytes) * 8) / (now - this.lastBytes.at);
      if (kbps >= 0) sample.bitrateKbps = clamp(kbps, 0, 100000);
    }
    let level = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio' && typeof s.audioLevel === 'number') level = s.audioLevel;
    });
    if (level !== null) sample.audioLevel = clamp(level, 0, 1);
    this.lastBytes = { bytes: quality.bytesReceived, at: now };
    this.lastSample = now;
    this.add('quality', sample);
  }

  recoveryStarted(cause) {
    this.lostAt = Date.now();
    this.add('recovery_started', { cause });
  }

  recoveryEnded(outcome) {
    if (!this.lostAt) return;
    this.add('recovery_ended', { outcome, durationMs: Date.now() - this.lostAt });
    this.lostAt = 0;
  }

  // Held events go, 32 per report, each with its age and its time in the server's clock (kept
  // from the first try: a report sent again is then stored once). A report that got no answer
  // (the link dropped or stalled past the request's timeout) comes back to be sent again.
  flush() {
    const now = Date.now();
    const offset = this.serverNow() - now;
    while (this.held.length) {
      const events = this.held.splice(0, MAX_PER_REPORT).filter((e) => now - e.at <= 600000);
      if (!events.length) continue;
      for (const e of events) e.serverAt ??= new Date(Math.min(e.at, now) + offset).toISOString();
      const batch = events.map(({ at, serverAt, ...e }) => ({ ...e, ago: Math.max(0, now - at), at: serverAt }));
      this.send(batch).catch((e) => {
        // No answer, or the server could not store it this time (its store unavailable, a
        // write colliding with another node's): again. Anything else is a refusal.
        if (!['network', 'unavailable', 'internal'].includes(e?.code)) {
          console.warn('dialtone: a report was refused', e);
          return;
        }
        this.held.unshift(...events);
        // Closed: no timer runs any more, so tries of their own (a minute's worth; offline, each
        // waits in the signaling until it is back or the request times out).
        if (this.closed && this.retries++ < 12) setTimeout(() => this.flush(), FLUSH_MS);
      });
    }
  }

  // The call is over for this tab: what is held goes now.
  close() {
    clearInterval(this.timer);
    this.closed = true;
    this.flush();
  }
}

function clamp(x, lo, hi) {
  return Math.min(hi, Math.max(lo, Number.isFinite(x) ? x : lo));
}
