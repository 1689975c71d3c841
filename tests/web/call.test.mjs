// SPDX-License-Identifier: Apache-2.0
// Alice and Bob, each in a Chromium of their own (Alice's microphone plays 440 Hz, Bob's
// 660 Hz), call each other through a real dialtoned: the screens, the shared timer, audio both
// ways (getStats and an AnalyserNode on the received track), hang-up seen by both, history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import * as t from './lib.mjs';

let server; let alice; let bob; let photos;
before(async () => {
  server = await t.startServer();
  // Bob's photo, served over http on this machine (what a development server accepts).
  photos = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'image/svg+xml' });
    res.end('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1" fill="#e67e22"/></svg>');
  });
  await new Promise((r) => photos.listen(0, '127.0.0.1', r));
  alice = await t.launch({ hz: 440 });
  bob = await t.launch({ hz: 660 });
});
after(async () => {
  await alice?.close();
  await bob?.close();
  await server?.stop();
  photos?.close();
});

test('a call from the first ring to hang-up, with audio both ways', async () => {
  const b = await bob.page(server);
  await t.shot(b, 'sign-in');
  await t.signIn(b, 'Bob Builder', 'bob', `http://127.0.0.1:${photos.address().port}/bob.svg`);
  const a = await alice.page(server);
  await t.signIn(a, 'Alice Liddell', 'alice');
  await a.waitForSelector('#people li[data-user="bob"] .presence.online');
  await t.shot(a, 'home');

  await t.call(a, 'bob');
  await t.screen(a, 'calling');
  await t.screen(b, 'incoming');
  // The caller sees the receiver's device ringing; the receiver sees the caller and a countdown.
  await a.waitForFunction(() => /Ringing/.test(document.getElementById('call-status').textContent));
  assert.match(await b.textContent('.person .name'), /Alice Liddell/);
  assert.match(await a.textContent('.person .name'), /Bob Builder/);
  const left = Number((await b.textContent('#countdown')).replace(/\D/g, ''));
  assert.ok(left > 40 && left <= 45, `countdown ${left}`);
  await t.shot(a, 'calling');
  await t.shot(b, 'incoming');

  await b.click('#accept');
  await t.screen(a, 'incall');
  await t.screen(b, 'incall');
  // Each sees the other person (the spec's profile fix).
  assert.match(await a.textContent('.person .name'), /Bob Builder/);
  assert.match(await b.textContent('.person .name'), /Alice Liddell/);
  // The timer starts on `connected` and is the same on both sides (server's connectedAt).
  await a.waitForFunction(() => document.getElementById('timer').textContent !== '', null, { timeout: 20000 });
  await b.waitForFunction(() => document.getElementById('timer').textContent !== '', null, { timeout: 20000 });
  await a.waitForTimeout(2200);
  const [ta, tb] = await Promise.all([t.timerSeconds(a), t.timerSeconds(b)]);
  assert.ok(ta >= 2 && Math.abs(ta - tb) <= 1, `timers ${ta} and ${tb}`);

  // Audio both ways: RTP counters grow, and each hears the other's tone.
  const [ra1, rb1] = await Promise.all([t.rtp(a), t.rtp(b)]);
  await a.waitForTimeout(1000);
  const [ra2, rb2] = await Promise.all([t.rtp(a), t.rtp(b)]);
  assert.ok(ra2.bytesReceived > ra1.bytesReceived && ra2.bytesSent > ra1.bytesSent, JSON.stringify([ra1, ra2]));
  assert.ok(rb2.bytesReceived > rb1.bytesReceived && rb2.bytesSent > rb1.bytesSent, JSON.stringify([rb1, rb2]));
  const [ha, hb] = await Promise.all([t.listen(a), t.listen(b)]);
  assert.ok(t.near(ha.hz, 660) && ha.db > -70, `Alice hears ${JSON.stringify(ha)}`);
  assert.ok(t.near(hb.hz, 440) && hb.db > -70, `Bob hears ${JSON.stringify(hb)}`);
  // The quality indicator shows one of the five levels.
  await a.waitForFunction(() => document.getElementById('quality').dataset.level !== '', null, { timeout: 5000 });
  assert.equal(await a.getAttribute('#quality', 'data-level'), 'excellent');
  // Both show the same security code, six digits from the two DTLS fingerprints.
  for (const p of [a, b]) {
    await p.waitForFunction(() => /^\d{3} \d{3}$/.test(document.getElementById('security-code')?.textContent || ''),
      null, { timeout: 5000 });
  }
  assert.equal(await a.textContent('#security-code'), await b.textContent('#security-code'));

  // Mute shows on the other side.
  await a.click('#mute');
  assert.equal(await a.getAttribute('#mute', 'aria-pressed'), 'true');
  await b.waitForSelector('#other-muted:not([hidden])');
  await t.shot(b, 'in-call');
  await a.click('#mute');
  await b.waitForSelector('#other-muted', { state: 'hidden' });

  // Speaker: the output device is chosen with setSinkId on the remote audio element.
  const outputs = await b.$$eval('#output option', (o) => o.map((x) => x.value));
  assert.ok(outputs.length >= 1, 'no audio outputs listed');
  const target = outputs[outputs.length - 1];
  await b.selectOption('#output', target);
  await b.waitForFunction((id) => document.getElementById('remote-audio').sinkId === id, target);
  const after = await t.listen(b);
  assert.ok(t.near(after.hz, 440) && after.db > -70, `Bob hears after the switch ${JSON.stringify(after)}`);

  // Bob hangs up: both see "Call ended", then their home screens.
  await b.click('#hangup');
  await t.screen(a, 'ended');
  assert.match(await a.textContent('#ended'), /Call ended/);
  await t.shot(a, 'call-ended');
  await t.screen(a, 'home', 5000);
  await t.screen(b, 'home', 5000);

  // History on both sides, with the direction and a duration.
  await a.waitForSelector('#history li[data-direction="dialed"]');
  assert.match(await a.textContent('#history li[data-direction="dialed"] .detail'), /Outgoing · .* · 0:0\d/);
  await b.waitForSelector('#history li[data-direction="received"]');
  await t.shot(b, 'history');

  // Call details: the server's summary in words, each side's path (both tabs reported theirs,
  // the C-less way: from getStats), the loss chart, and the timeline; no address anywhere.
  await a.click('#history li[data-direction="dialed"] .details-button');
  await a.waitForSelector('#call-details');
  assert.match(await a.textContent('#details-outcome'), /^Call ended \(ended by user\), set up in \d/);
  assert.equal(await a.$('#details-cause'), null, 'a likely cause for a call that went well');
  const lines = await a.$$eval('#details-summary li', (l) => l.map((x) => x.textContent));
  // (Under a second in ms, then in seconds: a loaded sanitized run took 1.0 s.)
  assert.ok(lines.some((l) => /^You: direct \(host to host\), first audio (\d+ ms|\d+\.\d s) after answer$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^Bob Builder: direct \(host to host\), first audio/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^Quality good: MOS 4\.\d/.test(l)), lines.join('\n'));
  assert.equal(await a.$$eval('.quality-chart polyline', (p) => p.map((x) => x.dataset.side).sort().join()), 'caller,receiver');
  const types = await a.$$eval('#details-timeline li', (l) => l.map((x) => x.dataset.type));
  for (const type of ['state', 'media_connected', 'first_audio_received', 'quality', 'device_changed', 'signals']) {
    assert.ok(types.includes(type), `no ${type} in ${types.join()}`);
  }
  const text = await a.textContent('#call-details');
  assert.doesNotMatch(text, /127\.0\.0\.1|a=candidate|v=0/);
  await t.shot(a, 'call-details');
  await a.click('#details-close');
  await a.waitForSelector('#call-details', { state: 'detached' });
});

test('the server crashes mid-call: the call goes on, the tabs reconnect and resync', async () => {
  const b = await bob.page(server);
  await t.signIn(b, 'Bob Builder', 'bob');
  const a = await alice.page(server);
  await t.signIn(a, 'Alice Liddell', 'alice');
  await t.connect(a, b, 'bob');
  await server.crash();
  for (const p of [a, b]) await p.waitForSelector('#banner:not([hidden])');
  assert.match(await a.textContent('#banner'), /No connection to the server/);
  await t.shot(a, 'server-reconnecting');
  // Media is peer to peer: audio keeps flowing while the server is down.
  const heard = await t.listen(b);
  assert.ok(t.near(heard.hz, 440), `Bob hears ${JSON.stringify(heard)} while the server is down`);
  await server.restart();
  for (const p of [a, b]) await p.waitForSelector('#banner', { state: 'hidden', timeout: 20000 });
  assert.equal(await a.evaluate(() => document.body.dataset.screen), 'incall');
  assert.equal(await b.evaluate(() => document.body.dataset.screen), 'incall');
  // The restarted server still knows the call: hanging up ends it on both sides.
  await a.click('#hangup');
  await t.screen(b, 'ended');
  await t.screen(a, 'ended');
});
