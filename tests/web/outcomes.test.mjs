// SPDX-License-Identifier: Apache-2.0
// Every way a call can end before it is answered, and a user with two tabs: each checked on
// the screens of both people, against a real dialtoned.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

let server; let quick; let chrome;
before(async () => {
  server = await t.startServer();
  quick = await t.startServer(['--ring-timeout-s', '3']);  // for the timeout
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

test('declined: the caller is told, both are back home, both histories say so', async () => {
  const [a, b] = await pair(server, ['Ann', 'ann'], ['Ben', 'ben']);
  await t.call(a, 'ben');
  await t.screen(b, 'incoming');
  // Keyboard: the incoming screen puts the focus on Accept; Decline is one Shift+Tab away.
  await b.waitForFunction(() => document.activeElement?.id === 'accept');
  await b.keyboard.press('Shift+Tab');
  await b.keyboard.press('Enter');
  await t.toastSeen(a, /Call rejected/);
  await t.shot(a, 'toast-rejected');
  await t.screen(a, 'home');
  await t.screen(b, 'home');
  assert.match(await history(b, 'declined'), /Declined/);
  assert.match(await history(a, 'dialed'), /Outgoing .* rejected/);
});

test('no answer: the server times the call out; caller hears "No answer", receiver "Missed call"', async () => {
  const [a, b] = await pair(quick, ['Amy', 'amy'], ['Bill', 'bill']);
  await t.call(a, 'bill');
  await t.screen(b, 'incoming');
  // The countdown follows the server's 3 s deadline, not a local 45 s.
  assert.ok(Number((await b.textContent('#countdown')).replace(/\D/g, '')) <= 3);
  await t.toastSeen(a, /No answer/, 10000);
  await t.toastSeen(b, /Missed call from Amy/, 10000);
  await t.screen(b, 'home');
  assert.match(await history(b, 'missed'), /Missed/);
});

test('busy: calling someone who is in a call', async () => {
  const [a, b] = await pair(server, ['Cid', 'cid'], ['Dot', 'dot']);
  const c = await chrome.page(server);
  await t.signIn(c, 'Eve', 'eve');
  await t.call(a, 'dot');
  await t.screen(b, 'incoming');
  await b.click('#accept');
  await t.screen(b, 'incall');
  await t.call(c, 'dot');
  await t.toastSeen(c, /User busy/);
  await t.screen(c, 'home');
  // The call in progress is untouched.
  assert.equal(await b.evaluate(() => document.body.dataset.screen), 'incall');
  await a.click('#hangup');
  await t.screen(b, 'ended');
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
  await t.statusIs(a, /Ringing on 2 devices/);
  await t.shot(a, 'ringing-two-devices');
  await b2.click('#accept');
  await t.screen(b2, 'incall');
  await t.screen(b1, 'home', 5000);
  await t.toastSeen(b1, /Answered on another device/);
  await t.screen(a, 'incall');
  await a.waitForFunction(() => document.getElementById('timer').textContent !== '', null, { timeout: 20000 });
  await b2.click('#hangup');
  await t.screen(a, 'ended');
});
