// SPDX-License-Identifier: Apache-2.0
// The browser's service worker rings through Web Push when Dialtone's tab is not in front:
// dialtoned encrypts for the subscription and signs with VAPID; the loopback Web Push service
// (tests/push/fake_push_service.mjs) checks and decrypts it, as a browser vendor's push service
// and the browser's push stack would; the decrypted message is then handed to the page's
// service worker over the DevTools protocol (ServiceWorker.deliverPushMessage), which is where
// Chromium's own push stack would hand it. Chromium cannot reach a real push service here
// (no network; and Playwright's contexts are incognito, where the Push API is off), so the
// page's own subscribe() is checked for its clear failure message instead.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

let server; let fake; let chrome;
before(async () => {
  fake = await t.startFakePush();
  server = await t.startServer(fake.flags);
  chrome = await t.launch();
});
after(async () => {
  await chrome?.close();
  await server?.stop();
  await fake?.stop();
});

async function api(method, path, token, body) {
  const res = await fetch(server.url + path, {
    method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function devToken(userId, name) {
  return (await api('POST', '/v1/dev/token', null, { userId, name })).body.token;
}

async function waitFor(fn, what, ms = 10000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The decrypted Web Push message of `type` for call `callId`, as the push service received it.
function pushed(subId, type, callId) {
  return waitFor(async () => (await fake.events()).find((e) => e.service === 'webpush' && e.ok
    && e.target === subId && e.payload?.type === type && e.payload.callId === callId), `${type} push`);
}

test('the service worker shows the ring, closes it when the caller gives up, and shows a missed call', async () => {
  const bob = await chrome.page(server, { notifications: true });
  await t.signIn(bob, 'Bob', 'bob');
  await bob.evaluate(() => navigator.serviceWorker.ready);
  // The page offers background ringing; here the browser's push service refuses, and says so.
  await bob.waitForSelector('#enable-push:not([hidden])');
  await bob.click('#enable-push');
  await bob.waitForFunction(() => /push service refused/.test(document.querySelector('#push-status').textContent));

  // What a browser with a push service would have registered (as Bob, from this browser).
  const info = (await api('GET', '/v1/info')).body;
  const subscription = await fake.subscribe(info.vapidPublicKey);
  const subId = subscription.endpoint.split('/').pop();
  const bobToken = await bob.evaluate(() => JSON.parse(localStorage.getItem('dialtone.session')).token);
  const reg = await api('POST', '/v1/devices', bobToken,
    { deviceId: 'bob-browser-push', platform: 'webpush', subscription });
  assert.equal(reg.status, 200, JSON.stringify(reg.body));

  const cdp = await bob.context().newCDPSession(bob);
  const registrations = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
  await cdp.send('ServiceWorker.enable');
  const sw = await waitFor(() => registrations.find((r) => r.scopeURL === `${server.url}/` && !r.isDeleted), 'the registration');
  const deliver = (payload) => cdp.send('ServiceWorker.deliverPushMessage',
    { origin: `${server.url}/`, registrationId: sw.registrationId, data: JSON.stringify(payload) });
  const notifications = () => bob.evaluate(async () =>
    (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, tag: n.tag, body: n.body })));
  // Delivers `payload` until `done()` holds. DevTools' deliverPushMessage sometimes loses a
  // message sent soon after the previous one (seen in about one run in four: delivering the
  // same message again shows it at once); the worker's handling is idempotent (tags).
  const deliverUntil = async (payload, done, what) => {
    for (let attempt = 1; ; attempt++) {
      await deliver(payload);
      try {
        return await waitFor(done, what, attempt < 3 ? 3000 : 10000);
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
  };

  // Ann calls; the push service gets the ring, encrypted for Bob's subscription.
  const ann = await devToken('ann', 'Ann');
  const created = await api('POST', '/v1/calls', ann, { receiverId: 'bob' });
  assert.equal(created.status, 201);
  const callId = created.body.callId;
  const ring = await pushed(subId, 'incoming_call', callId);
  assert.equal(ring.urgency, 'high');
  assert.equal(ring.payload.callerName, 'Ann');
  const shown = await deliverUntil(ring.payload,
    async () => (await notifications()).find((n) => n.tag === `call-${callId}`), 'the ring notification');
  assert.equal(shown.title, 'Ann is calling');

  // Ann gives up: a stop-ringing push, then a missed-call push.
  assert.equal((await api('POST', `/v1/calls/${callId}/end`, ann)).status, 200);
  const stop = await pushed(subId, 'call_cancelled', callId);
  assert.equal(stop.payload.reason, 'cancelled');
  await deliverUntil(stop.payload,
    async () => !(await notifications()).some((n) => n.tag === `call-${callId}`), 'the ring to close');
  const missed = await pushed(subId, 'missed_call', callId);
  const note = await deliverUntil(missed.payload,
    async () => (await notifications()).find((n) => n.tag === `missed-${callId}`), 'the missed-call notification');
  assert.equal(note.title, 'Missed call');
  assert.equal(note.body, 'Ann');
  assert.ok((await fake.events()).every((e) => e.ok), 'every push passed the push service checks');

  // Signing out forgets this browser's push registration.
  await bob.evaluate(() => localStorage.setItem('dialtone.pushDeviceId', 'bob-browser-push'));
  await bob.click('#sign-out');
  await waitFor(async () => (await api('GET', '/v1/devices', bobToken)).body.devices.length === 0, 'the registration to go');
});
