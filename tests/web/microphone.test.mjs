// SPDX-License-Identifier: Apache-2.0
// No microphone for the page: said before anyone presses Call or Accept when the browser says it
// is blocked, a message that says what to do, and nobody is left waiting — neither the person
// who called nor the one who tried to answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

let server; let allowed; let denied; let none;
before(async () => {
  server = await t.startServer();
  allowed = await t.launch();
  denied = await t.launch({ micAllowed: false });  // the permission prompt is refused
  none = await t.launch({ microphone: false });    // this machine has no audio input
});
after(async () => {
  await allowed?.close();
  await none?.close();
  await denied?.close();
  await server?.stop();
});

// Ava (with a microphone) calls Nomi, whose browser is `browser`; Nomi presses Accept.
async function answerWith(browser) {
  const b = await browser.page(server);
  // Keeps the last ringing document the page received, to deliver it again late.
  await b.evaluate(() => {
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        window.lastWs = this;
        this.addEventListener('message', (ev) => {
          const m = JSON.parse(ev.data);
          if (m.type === 'call' && ['calling', 'ringing'].includes(m.call.state)) window.lastRinging = ev.data;
        });
      }
    };
  });
  await t.signIn(b, 'Nomi Crofone', 'nomi');
  const a = await allowed.page(server);
  await t.signIn(a, 'Ava', 'ava');
  await t.call(a, 'nomi');
  await t.screen(b, 'incoming');
  await b.click('#accept');
  await t.screen(b, 'home');
  return [a, b];
}

test('answering without a microphone ends the call for both, with the reason', async () => {
  const [a, b] = await answerWith(denied);
  const msg = await b.textContent('.home .error');
  assert.match(msg, /Microphone access is blocked\. Allow the microphone for this site/);
  // An update sent before the server saw the refusal, arriving after it: the call does not ring
  // again, and the message stays (under load this once replaced the message with a bare home).
  await b.evaluate(() => window.lastWs.onmessage({ data: window.lastRinging }));
  await b.waitForTimeout(300);
  assert.equal(await b.evaluate(() => document.body.dataset.screen), 'home');
  assert.match(await b.textContent('.home .error'), /Microphone access is blocked/);
  await t.shot(b, 'microphone-denied');
  await t.outcomeIs(a, /^Nomi could not answer$/);
  assert.match(await a.textContent('.outcome-detail'), /microphone could not be used/);
  await b.waitForSelector('#history li[data-direction="declined"]');
  assert.match(await b.textContent('#history li .detail'), /Missed \(no microphone\)/);
  await a.click('#close');
  await t.screen(a, 'home');
  const r = (await t.apiGet(a, '/v1/calls?limit=1')).calls[0];
  assert.equal(r.state, 'rejected');
  assert.equal(r.reason, 'media_device');
});

test('calling without a microphone places no call', async () => {
  const b = await denied.page(server);
  await t.signIn(b, 'Nomi Crofone', 'nomi');
  const a = await allowed.page(server);
  await t.signIn(a, 'Ava', 'ava');
  await t.call(b, 'ava');
  await t.outcomeIs(b, /^Microphone unavailable$/);
  assert.match(await b.textContent('.outcome-detail'), /Microphone access is blocked/);
  await a.waitForTimeout(500);
  assert.equal(await a.evaluate(() => document.body.dataset.screen), 'home');
  assert.equal((await t.apiGet(a, '/v1/users/nomi/busy')).busy, false);
});

test('a machine without any microphone is told so', async () => {
  const [a, b] = await answerWith(none);
  assert.match(await b.textContent('.home .error'), /No microphone was found\. Connect one/);
  await t.outcomeIs(a, /could not answer/);
});

test('a microphone the browser says is blocked is told on the home and incoming screens, before Call or Accept', async () => {
  const b = await denied.page(server);
  // The site's microphone permission set to "block", as a person does in the site settings.
  await t.setMicrophone(b, server, 'denied');
  await b.reload();
  await t.signIn(b, 'Nomi Crofone', 'nomi');
  await b.waitForSelector('.home #mic-warning:not([hidden])');
  assert.match(await b.textContent('#mic-warning'), /microphone is blocked for this site/);
  const a = await allowed.page(server);
  await t.signIn(a, 'Ava', 'ava');
  await t.call(a, 'nomi');
  await t.screen(b, 'incoming');
  await b.waitForSelector('.incoming #mic-warning:not([hidden])');
  await t.shot(b, 'incoming-microphone-blocked');
  await b.click('#decline');
  await t.outcomeIs(a, /declined/);
  // Allowed again in the site settings: the warning goes, no reload needed.
  await t.setMicrophone(b, server, 'granted');
  await t.screen(b, 'home');
  await b.waitForSelector('.home #mic-warning', { state: 'hidden', timeout: 5000 });
});
