// SPDX-License-Identifier: Apache-2.0
// Every way a call can end before it is answered, as a caller knows it from a phone: the tone
// (ringback, busy, declined — North American values here, --tone-region us, measured with an
// AnalyserNode on what the page plays), a screen that says what happened with "Call again",
// and the history in words. Also someone calling during a call, and a user with two tabs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

let server; let quick; let chrome;
before(async () => {
  server = await t.startServer(['--tone-region', 'us']);
  quick = await t.startServer(['--ring-timeout-s', '3', '--tone-region', 'us']);  // for the timeout
  chrome = await t.launch();
});
after(async () => {
  await chrome?.close();
  await server?.stop();
  await quick?.stop();
});

async function pair(srv, a, b) {
  const pb = await chrome.page(srv);
  await t.signIn(pb, b[0], b[1]);
  const pa = await chrome.page(srv);
  await t.signIn(pa, a[0], a[1]);
  return [pa, pb];
}

async function history(page, direction) {
  await page.waitForSelector(`#history li[data-direction="${direction}"]`);
  return page.textContent(`#history li[data-direction="${direction}"] .detail`);
}

// On/off runs near `on` and `off` ms (the analyser's 85 ms window and 20 ms sampling blur them).
function assertCadence(runs, on, off, what) {
  const ons = runs.filter((r) => r.on).map((r) => r.ms);
  const offs = runs.filter((r) => !r.on).map((r) => r.ms);
  assert.ok(ons.length >= 1 && offs.length >= 1, `${what}: ${JSON.stringify(runs)}`);
  for (const ms of ons) assert.ok(Math.abs(ms - on) <= 150, `${what}: on ${ms} ms, not ${on}: ${JSON.stringify(runs)}`);
  for (const ms of offs) assert.ok(Math.abs(ms - off) <= 150, `${what}: off ${ms} ms, not ${off}: ${JSON.stringify(runs)}`);
}

test('declined: ringback, then the busy tone and "… declined" with Call again; histories in words', async () => {
  const [a, b] = await pair(server, ['Ann', 'ann'], ['Ben Tonkin', 'ben']);
  await t.call(a, 'ben');
  await t.screen(b, 'incoming');
  await t.statusIs(a, /^Ringing…$/);
  // The caller hears ringback (US: 440 + 480 Hz, 2 s on, 4 s off); the receiver its ringer.
  const ring = await t.recordTones(a, [440, 480, 620], 2600);
  assert.ok(ring.some((s) => s.level[440] > -60 && s.level[480] > -60), 'no ringback');
  assert.ok(ring.every((s) => s.level[620] < -60), 'busy tone during ringback');
  const on = t.cadence(ring, 440).find((r) => r.on);
  if (on) assert.ok(Math.abs(on.ms - 2000) <= 150, `ringback on ${on.ms} ms`);
  assert.equal(await b.evaluate(() => window.dialtone.tone()), 'ring');
  // Keyboard: the incoming screen puts the focus on Accept; Decline is one Shift+Tab away.
  await b.waitForFunction(() => document.activeElement?.id === 'accept');
  await b.keyboard.press('Shift+Tab');
  await b.keyboard.press('Enter');
  await t.outcomeIs(a, /^Ben declined$/);
  assertCadence(t.cadence(await t.recordTones(a, [480, 620], 2200), 620), 500, 500, 'declined (busy tone)');
  await t.shot(a, 'outcome-declined');
  await t.screen(b, 'home');
  assert.match(await history(b, 'declined'), /^Declined · /);
  // Close: home, and the history says what happened, in words.
  await a.click('#close');
  await t.screen(a, 'home');
  assert.match(await history(a, 'dialed'), /^Outgoing · .* · Declined$/);
});

test('Call again places the call again', async () => {
  const [a, b] = await pair(server, ['Cal', 'cal'], ['Dee', 'dee']);
  await t.call(a, 'dee');
  await t.screen(b, 'incoming');
  await b.click('#decline');
  await t.outcomeIs(a, /^Dee declined$/);
  await a.click('#call-again');
  await t.screen(b, 'incoming');
  await t.statusIs(a, /Ringing/);
  await a.click('#hangup');
  await t.screen(b, 'home');
});

test('no answer: the server times the call out; the caller sees "No answer", the receiver "Missed call"', async () => {
  const [a, b] = await pair(quick, ['Amy', 'amy'], ['Bill', 'bill']);
  await t.call(a, 'bill');
  await t.screen(b, 'incoming');
  // The countdown follows the server's 3 s deadline, not a local 45 s.
  assert.ok(Number((await b.textContent('#countdown')).replace(/\D/g, '')) <= 3);
  await t.outcomeIs(a, /^No answer$/, 10000);
  await t.toastSeen(b, /Missed call from Amy/, 10000);
  await t.screen(b, 'home');
  assert.match(await history(b, 'missed'), /^Missed/);
});

test('busy: the caller hears the busy tone; the person in the call is told who called', async () => {
  const [a, b] = await pair(server, ['Cid', 'cid'], ['Dot', 'dot']);
  const c = await chrome.page(server);
  await t.signIn(c, 'Eve Ng', 'eve');
  await t.call(a, 'dot');
  await t.screen(b, 'incoming');
  await b.click('#accept');
  await t.screen(b, 'incall');
  await b.waitForFunction(() => document.getElementById('timer')?.textContent, null, { timeout: 20000 });
  // Eve sees Dot "In a call" before calling (pushed, not polled).
  await c.waitForSelector('#people li[data-user="dot"] .presence[data-status="in_call"]', { timeout: 5000 });
  await t.call(c, 'dot');
  await t.outcomeIs(c, /^Dot is on another call$/);
  assertCadence(t.cadence(await t.recordTones(c, [480, 620], 2200), 620), 500, 500, 'busy tone');
  // Dot, in the call, is told: not now, or end this call and call Eve.
  await b.waitForSelector('#call-notice');
  assert.match(await b.textContent('#call-notice'), /Eve is calling you/);
  assert.match(await b.textContent('#announcer'), /Eve Ng is calling you/);
  await t.shot(b, 'incall-notice');
  await b.click('#notice-dismiss');
  await b.waitForSelector('#call-notice', { state: 'detached' });
  assert.equal(await b.evaluate(() => document.body.dataset.screen), 'incall');
  // Again, and this time Dot switches: the call with Cid ends and Eve's phone rings.
  await c.click('#close');
  await t.call(c, 'dot');
  await t.outcomeIs(c, /on another call/);
  await b.waitForSelector('#call-notice');
  await b.click('#notice-switch');
  await t.screen(a, 'ended');
  await t.screen(c, 'incoming', 10000);
  assert.match(await c.textContent('.person .name'), /Dot/);
  await c.click('#decline');
  await t.outcomeIs(b, /Eve declined/);
});

test('someone calls while one is still placing a call: told in a word, the call goes on', async () => {
  const [a, b] = await pair(server, ['Jan', 'jan'], ['Kai', 'kai']);
  const c = await chrome.page(server);
  await t.signIn(c, 'Lea Ohm', 'lea');
  await t.call(a, 'kai');
  await t.screen(b, 'incoming');
  await t.call(c, 'jan');
  await t.outcomeIs(c, /^Jan is on another call$/);
  await t.toastSeen(a, /Lea Ohm called you — they heard that you are busy/);
  assert.equal(await a.evaluate(() => document.body.dataset.screen), 'calling');
  await a.click('#hangup');
  await t.screen(b, 'home');
});

test('cancelled before an answer: the incoming screen goes away at once', async () => {
  const [a, b] = await pair(server, ['Fay', 'fay'], ['Gus', 'gus']);
  await t.call(a, 'gus');
  await t.screen(b, 'incoming');
  await t.statusIs(a, /Ringing/);
  await a.click('#hangup');
  await t.screen(b, 'home', 5000);
  await t.toastSeen(b, /Missed call from Fay/);
  await t.screen(a, 'home');
});

test('two tabs of one user: both ring, one answers, the other stops ringing', async () => {
  const [a, b1] = await pair(server, ['Hal', 'hal'], ['Ivy', 'ivy']);
  const b2 = await b1.context().newPage();  // same browser profile: signed in already
  await b2.goto(server.url);
  await b2.waitForSelector('#people');
  await t.call(a, 'ivy');
  await t.screen(b1, 'incoming');
  await t.screen(b2, 'incoming');
  // The caller is not told how many devices the other person has.
  await t.statusIs(a, /^Ringing…$/);
  await b2.click('#accept');
  await t.screen(b2, 'incall');
  await t.screen(b1, 'home', 5000);
  await t.toastSeen(b1, /Answered on another device/);
  await t.screen(a, 'incall');
  await a.waitForFunction(() => document.getElementById('timer').textContent !== '', null, { timeout: 20000 });
  await b2.click('#hangup');
  await t.screen(a, 'ended');
});
