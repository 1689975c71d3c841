// SPDX-License-Identifier: Apache-2.0
// The sounds of a call, generated with WebAudio (no asset): the ringer of an incoming call, and
// the call-progress tones a caller knows from the phone network — ringback, busy, declined,
// failed — after ITU-T E.180 and the national values of its Supplement 2, plus the short connect
// and end cues of a phone's calling app. One AudioContext; every sound goes through one gain
// node (`tap()` gives an AnalyserNode on it: what the page plays, for the tests).
//
// Regions: 'auto' (from the browser's language: en-US → us), or one of REGIONS. A page may set
// window.dialtoneToneRegion; the server's `tone_region` comes through GET /v1/info.

// frequencies (Hz, summed; `mod`: amplitude-modulated at that rate) and cadence (s: on, off, …).
export const REGIONS = {
  // North America (E.180 Suppl. 2: United States, Canada).
  us: {
    ringback: { hz: [440, 480], cadence: [2, 4] },
    busy: { hz: [480, 620], cadence: [0.5, 0.5] },
    congestion: { hz: [480, 620], cadence: [0.25, 0.25] },
  },
  // CEPT (ETSI TR 101 041): most of Europe, and E.180's recommended 425 Hz elsewhere.
  eu: {
    ringback: { hz: [425], cadence: [1, 4] },
    busy: { hz: [425], cadence: [0.5, 0.5] },
    congestion: { hz: [425], cadence: [0.25, 0.25] },
  },
  // United Kingdom (also Ireland's ringback).
  uk: {
    ringback: { hz: [400, 450], cadence: [0.4, 0.2, 0.4, 2] },
    busy: { hz: [400], cadence: [0.375, 0.375] },
    congestion: { hz: [400], cadence: [0.4, 0.35, 0.225, 0.525] },
  },
  fr: {
    ringback: { hz: [440], cadence: [1.5, 3.5] },
    busy: { hz: [440], cadence: [0.5, 0.5] },
    congestion: { hz: [440], cadence: [0.25, 0.25] },
  },
  au: {
    ringback: { hz: [400, 450], cadence: [0.4, 0.2, 0.4, 2] },
    busy: { hz: [425], cadence: [0.375, 0.375] },
    congestion: { hz: [425], cadence: [0.375, 0.375] },
  },
  jp: {
    ringback: { hz: [400], mod: 16, cadence: [1, 2] },
    busy: { hz: [400], cadence: [0.5, 0.5] },
    congestion: { hz: [400], cadence: [0.5, 0.5] },
  },
};

const BY_COUNTRY = { US: 'us', CA: 'us', GB: 'uk', IE: 'uk', FR: 'fr', AU: 'au', NZ: 'au', JP: 'jp' };

// The region to use: explicit, else the page's or the server's setting, else the language's.
export function regionFor(setting, languages = navigator.languages || [navigator.language]) {
  const s = String(setting || 'auto').toLowerCase();
  if (REGIONS[s]) return s;
  for (const lang of languages) {
    const country = /[-_]([A-Za-z]{2})\b/.exec(lang || '')?.[1]?.toUpperCase();
    if (country) return BY_COUNTRY[country] || 'eu';
  }
  return 'eu';
}

// The special information tone (E.180 §6: 950, 1400, 1800 Hz, 330 ms each) before a failure.
const SIT = [950, 1400, 1800];
// A phone's connect and end cues (not network tones): rising, and falling, short notes.
const CONNECT = [[660, 0.09], [880, 0.12]];
const END = [[880, 0.1], [660, 0.1], [440, 0.16]];
const LEVEL = 0.12;
// How long a busy, declined or failure tone plays before it stops by itself.
const BUSY_S = 3;

let ctx = null;
let master = null;

function context() {
  if (!ctx) {
    ctx = new AudioContext();
    master = ctx.createGain();
    master.gain.value = 1;
    master.connect(ctx.destination);
  }
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  return ctx;
}

// A browser may keep audio suspended until the user touches the page: resume on first input.
export function unlockOnInput() {
  const unlock = () => { if (ctx && ctx.state === 'suspended') ctx.resume().catch(() => {}); };
  for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, unlock);
}

// An AnalyserNode on everything the tones play (tests, diagnostics).
export function tap() {
  const ac = context();
  const an = ac.createAnalyser();
  an.fftSize = 4096;
  an.smoothingTimeConstant = 0;
  master.connect(an);
  return an;
}

// Schedules `hz` (summed, optionally modulated) between t0 and t1 on `out`.
function note(ac, out, hz, t0, t1, mod) {
  const g = ac.createGain();
  g.gain.setValueAtTime(0, t0);
  g.gain.linearRampToValueAtTime(LEVEL / hz.length, t0 + 0.01);
  g.gain.setValueAtTime(LEVEL / hz.length, Math.max(t0 + 0.01, t1 - 0.01));
  g.gain.linearRampToValueAtTime(0, t1);
  let sink = g;
  if (mod) {
    const am = ac.createGain();
    am.gain.value = 0.5;
    const lfo = ac.createOscillator();
    lfo.frequency.value = mod;
    const depth = ac.createGain();
    depth.gain.value = 0.5;
    lfo.connect(depth).connect(am.gain);
    lfo.start(t0);
    lfo.stop(t1);
    am.connect(g);
    sink = am;
  }
  g.connect(out);
  for (const f of hz) {
    const osc = ac.createOscillator();
    osc.frequency.value = f;
    osc.connect(sink);
    osc.start(t0);
    osc.stop(t1);
  }
}

export class Tones {
  constructor(region = 'auto') {
    this.setRegion(region);
    this.playing = null;  // {name, out, timer}
  }

  setRegion(region) { this.region = regionFor(region); }

  // What plays now: 'ring', 'ringback', 'busy', 'declined', 'failed', 'connected', 'ended' or null.
  get current() { return this.playing?.name || null; }

  // The incoming-call ringer: 440 + 480 Hz, 2 s on, 4 s off, until stopped.
  ring() { this.cadenced('ring', { hz: [440, 480], cadence: [2, 4] }, Infinity); }
  // The caller hears the other side ringing, until stopped.
  ringback() { this.cadenced('ringback', REGIONS[this.region].ringback, Infinity); }
  // The other person is in a call: the busy tone, for a few seconds.
  busy() { this.cadenced('busy', REGIONS[this.region].busy, BUSY_S); }
  // Declined: as a phone network signals a rejected call — the busy tone, for a few seconds.
  declined() { this.cadenced('declined', REGIONS[this.region].busy, BUSY_S); }
  // The call could not be made (unreachable, no answer from the network, an error): the special
  // information tone, then the congestion tone.
  failed() {
    const ac = this.begin('failed');
    if (!ac) return;
    const t = ac.currentTime + 0.02;
    SIT.forEach((f, i) => note(ac, this.playing.out, [f], t + i * 0.33, t + (i + 1) * 0.33));
    this.schedule(REGIONS[this.region].congestion, t + 1.1, t + 1.1 + BUSY_S);
    this.stopAt(1.1 + BUSY_S);
  }
  connected() { this.cue('connected', CONNECT); }
  // Someone else calls during a call (E.180's call waiting tone: the region's tone, two short
  // bursts).
  waiting() {
    const f = REGIONS[this.region].busy.hz;
    this.cue('waiting', [[f[0], 0.2], [f[0], 0.2]], 0.2);
  }
  ended() { this.cue('ended', END); }

  stop() {
    const p = this.playing;
    if (!p) return;
    this.playing = null;
    clearTimeout(p.timer);
    clearInterval(p.refill);
    try { p.out.disconnect(); } catch (e) { /* already */ }
  }

  // --- internals -------------------------------------------------------------------------
  begin(name) {
    this.stop();
    let ac;
    try { ac = context(); } catch (e) { return null; }  // no audio: the screen still says it
    const out = ac.createGain();
    out.connect(master);
    this.playing = { name, out };
    return ac;
  }

  // A cadence from now for `seconds` (Infinity: scheduled a few cycles ahead, topped up).
  cadenced(name, tone, seconds) {
    const ac = this.begin(name);
    if (!ac) return;
    const p = this.playing;
    const cycle = tone.cadence.reduce((a, b) => a + b, 0);
    let until = ac.currentTime + 0.02;
    const fill = (end) => { until = this.schedule(tone, until, end); };
    if (seconds === Infinity) {
      fill(until + 3 * cycle);
      p.refill = setInterval(() => { if (this.playing === p) fill(until + cycle); }, cycle * 1000);
    } else {
      fill(until + seconds);
      this.stopAt(seconds + 0.1);
    }
  }

  // Whole on/off periods of `tone` from t0 until t1; returns where the schedule ends.
  schedule(tone, t0, t1) {
    const ac = context();
    let t = t0;
    for (;;) {
      for (let i = 0; i < tone.cadence.length; i += 2) {
        const on = tone.cadence[i]; const off = tone.cadence[i + 1] || 0;
        if (t + on > t1 + 1e-6) return t;
        note(ac, this.playing.out, tone.hz, t, t + on, tone.mod);
        t += on + off;
      }
    }
  }

  cue(name, notes, gap = 0.03) {
    const ac = this.begin(name);
    if (!ac) return;
    let t = ac.currentTime + 0.02;
    for (const [f, d] of notes) { note(ac, this.playing.out, [f], t, t + d); t += d + gap; }
    this.stopAt(t - ac.currentTime + 0.05);
  }

  stopAt(seconds) {
    const p = this.playing;
    p.timer = setTimeout(() => { if (this.playing === p) this.stop(); }, seconds * 1000);
  }
}
