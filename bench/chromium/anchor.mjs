// SPDX-License-Identifier: Apache-2.0
// The anchor of the media benchmark: Chromium to Chromium in one page, on loopback (and through
// TURN when --turn is given): from createOffer to the first remote audio, per iteration.
// Prints one JSON line: {"mode","firstAudioMs":[...],"firstPacketMs":[...]} (first decoded
// samples, first RTP packet).
// Uses Debian's /usr/bin/chromium through playwright-core (never a downloaded browser).
import { chromium } from 'playwright-core';

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const i = a.indexOf('=');
  return i < 0 ? [a, ''] : [a.slice(0, i), a.slice(i + 1)];
}));
const iterations = Number(args['--iterations'] ?? 10);
const turn = args['--turn'] ? JSON.parse(args['--turn']) : null;  // an RTCIceServer

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection'],
});
const page = await (await browser.newContext()).newPage();
page.on('crash', () => console.error('anchor: the page crashed'));
page.on('console', (m) => process.env.ANCHOR_DEBUG && console.error('page:', m.text()));
await page.setContent('<html><body>anchor</body></html>');

const ms = await page.evaluate(async ({ iterations, turn }) => {
  // A 440 Hz tone from WebAudio (the page is not a secure context, so no getUserMedia).
  const ctx = new AudioContext();
  const osc = ctx.createOscillator();
  const dest = ctx.createMediaStreamDestination();
  osc.connect(dest);
  osc.start();
  const mic = dest.stream;
  const config = turn ? { iceServers: [turn], iceTransportPolicy: 'relay' } : {};
  const results = [], packets = [];
  for (let i = 0; i < iterations; ++i) {
    const a = new RTCPeerConnection(config), b = new RTCPeerConnection(config);
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    mic.getAudioTracks().forEach((t) => a.addTrack(t, mic));
    // First remote packet and first decoded remote audio, polled as fast as timers go.
    let firstPacket = NaN;
    const firstAudio = new Promise((resolve) => {
      b.ontrack = (e) => {
        // Chromium decodes remote audio only when something plays it: an unmuted element.
        const out = new Audio();
        out.srcObject = e.streams[0] ?? new MediaStream([e.track]);
        out.play();
        const poll = async () => {
          const stats = await e.receiver.getStats();
          for (const s of stats.values()) {
            if (s.type !== 'inbound-rtp') continue;
            if (isNaN(firstPacket) && (s.packetsReceived ?? 0) > 0) firstPacket = performance.now();
            if ((s.totalSamplesReceived ?? 0) > 0) return resolve(performance.now());
          }
          setTimeout(poll, 1);
        };
        poll();
      };
    });
    const t0 = performance.now();
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(offer);
    const answer = await b.createAnswer();
    await b.setLocalDescription(answer);
    await a.setRemoteDescription(answer);
    const timeout = new Promise((r) => setTimeout(() => r(NaN), 10000));
    results.push((await Promise.race([firstAudio, timeout])) - t0);
    packets.push(firstPacket - t0);
    a.close();
    b.close();
  }
  return { audio: results, packet: packets };
}, { iterations, turn });

console.log(JSON.stringify({ mode: turn ? 'turn' : 'loopback', firstAudioMs: ms.audio,
                             firstPacketMs: ms.packet }));
await browser.close();
