// SPDX-License-Identifier: Apache-2.0
// The incoming-call ring, generated with WebAudio (no asset): 440 + 480 Hz, 2 s on, 4 s off.

let ctx = null;

function context() {
  if (!ctx) ctx = new AudioContext();
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  return ctx;
}

// A browser may keep audio suspended until the user touches the page: resume on first input.
export function unlockOnInput() {
  const unlock = () => { if (ctx && ctx.state === 'suspended') ctx.resume().catch(() => {}); };
  for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, unlock);
}

export class Ringtone {
  start() {
    if (this.timer) return;
    const ring = () => {
      const ac = context();
      const gain = ac.createGain();
      gain.connect(ac.destination);
      const t = ac.currentTime;
      gain.gain.setValueAtTime(0, t);
      gain.gain.linearRampToValueAtTime(0.15, t + 0.05);
      gain.gain.setValueAtTime(0.15, t + 1.95);
      gain.gain.linearRampToValueAtTime(0, t + 2);
      for (const f of [440, 480]) {
        const osc = ac.createOscillator();
        osc.frequency.value = f;
        osc.connect(gain);
        osc.start(t);
        osc.stop(t + 2);
      }
      this.nodes = gain;
    };
    try { ring(); } catch (e) { return; }  // no audio output: the screen still shows the call
    this.timer = setInterval(ring, 6000);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.nodes) this.nodes.disconnect();
    this.nodes = null;
  }
}
