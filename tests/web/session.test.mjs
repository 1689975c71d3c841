// SPDX-License-Identifier: Apache-2.0
// The client's honesty about its session: presence pushed by the server (not read every few
// seconds), the server gone (nothing offered that cannot work, nothing sent late), and a reload
// in the middle of a call (asked first, then back in the call).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

let server; let chrome;
before(async () => {
  server = await t.startServer(['--presence-grace-s', '20']);
  chrome = await t.launch();
});
after(async () => {
  await chrome?.close();
  await server?.stop();
});

const status = (page, user) => page.getAttribute(`#people li[data-user="${user}"] .presence`, 'data-status');

// The page's WebSocket through a proxy that passes the first `create` to the server and cuts
// the link at once, before its answer; new links are refused for `downMs` after that.
async function cutAfterCreate(page, downMs) {
  const link = { cut: false };
  let downUntil = 0;
  await page.routeWebSocket(/\/v1\/ws/, (ws) => {
    if (Date.now() < downUntil) { ws.close(); return; }
    const upstream = ws.connectToServer();
    upstream.onMessage((m) => ws.send(m));
    ws.onMessage((m) => {
      upstream.send(m);
      if (!link.cut && JSON.parse(m).op === 'create') {
        link.cut = true;
        downUntil = Date.now() + downMs;
        ws.close();
        upstream.close();
      }
    });
  });
  return link;
}

test('presence is pushed: in a call, online, offline, with the list never read again', async () => {
  const cy = await chrome.page(server);
  await t.signIn(cy, 'Cy', 'cy');
  const di = await chrome.page(server);
  await t.signIn(di, 'Di', 'di');
  const a = await chrome.page(server);
  await t.signIn(a, 'Ann', 'ann');
  await a.waitForSelector('#people li[data-user="cy"] .presence[data-status="online"]', { timeout: 15000 });
  await a.waitForSelector('#people li[data-user="di"]', { timeout: 15000 });
  // From now on the list cannot be read: only what the server pushes can change it.
  let reads = 0;
  await a.route('**/v1/users', (route) => { reads += 1; route.abort(); });
  await t.connect(cy, di, 'di');
  await a.waitForSelector('#people li[data-user="cy"] .presence[data-status="in_call"]', { timeout: 5000 });
  assert.equal(await a.textContent('#people li[data-user="di"] .presence'), 'In a call');
  await cy.click('#hangup');
  await a.waitForSelector('#people li[data-user="cy"] .presence[data-status="online"]', { timeout: 5000 });
  await cy.close();
  await a.waitForSelector('#people li[data-user="cy"] .presence[data-status="offline"]', { timeout: 5000 });
  assert.equal(await status(a, 'di'), 'online');
  assert.ok(reads <= 1, `the list was read ${reads} times`);
});

test('calling someone offline says so while their phone is being reached', async () => {
  const b = await chrome.page(server);
  await t.signIn(b, 'Gwen Offline', 'gwen');
  const a = await chrome.page(server);
  await t.signIn(a, 'Hank', 'hank');
  await a.waitForSelector('#people li[data-user="gwen"]', { timeout: 15000 });
  await b.close();
  await a.waitForSelector('#people li[data-user="gwen"] .presence[data-status="offline"]', { timeout: 5000 });
  await t.call(a, 'gwen');
  await t.statusIs(a, /^Gwen is offline — trying to reach their phone…$/);
  await a.click('#hangup');
  await t.screen(a, 'home');
});

test('the server goes away: Call is off, nobody is shown online, and nothing is placed late', async () => {
  const b = await chrome.page(server);
  await t.signIn(b, 'Bea', 'bea');
  const a = await chrome.page(server);
  await t.signIn(a, 'Abe', 'abe');
  await a.waitForSelector('#people li[data-user="bea"] .presence[data-status="online"]', { timeout: 15000 });
  await server.crash();
  await a.waitForSelector('#offline-note:not([hidden])', { timeout: 10000 });
  assert.match(await a.textContent('#banner'), /No connection to the server/);
  assert.equal(await status(a, 'bea'), 'unknown');
  assert.equal(await a.isDisabled('#people button[data-user="bea"]'), true);
  assert.equal(await a.isDisabled('#call-by-id'), true);
  await t.shot(a, 'offline');
  await server.restart();
  await a.waitForSelector('#offline-note', { state: 'hidden', timeout: 15000 });
  await a.waitForSelector('#people li[data-user="bea"] .presence[data-status="online"]', { timeout: 15000 });
  assert.equal(await a.isDisabled('#people button[data-user="bea"]'), false);
  // Nothing rang meanwhile or after.
  assert.equal(await b.evaluate(() => document.body.dataset.screen), 'home');
});

test('the link drops as a call is placed: the call is found again, placed once', async () => {
  const b = await chrome.page(server);
  await t.signIn(b, 'Ike', 'ike');
  const a = await chrome.page(server);
  // The first `create` reaches the server, and the link is cut before its answer comes back.
  const link = await cutAfterCreate(a, 0);
  await a.reload();
  await t.signIn(a, 'Jo', 'jo');
  await t.call(a, 'ike');
  await t.screen(b, 'incoming');
  // Back on a new link, the call is the one the server made: ringing, not placed again.
  await t.statusIs(a, /^Ringing…$/, 15000);
  assert.ok(link.cut);
  await a.click('#hangup');
  await t.screen(b, 'home');
  const { calls } = await t.apiGet(a, '/v1/calls?limit=10');
  assert.equal(calls.filter((c) => c.receiverId === 'ike').length, 1);
});

test('a call placed as the link died, given up before the link came back, is ended, not left ringing', async () => {
  const b = await chrome.page(server);
  await t.signIn(b, 'Mo', 'mo');
  const a = await chrome.page(server);
  // The first `create` reaches the server; then no link at all for 7 s.
  await cutAfterCreate(a, 7000);
  await a.reload();
  await t.signIn(a, 'Ned', 'ned');
  await t.call(a, 'mo');
  await t.screen(b, 'incoming');  // it was placed
  await t.outcomeIs(a, /^Connection lost$/, 10000);  // …but the caller could not know
  // Back on a link, the caller's tab sees its forsaken call and ends it: Mo stops ringing.
  await t.screen(b, 'home', 20000);
  await t.toastSeen(b, /Missed call from Ned/);
});

test('an incoming call while the server is away: Accept waits for it, Decline does not', async () => {
  const b = await chrome.page(server);
  await t.signIn(b, 'Cas', 'cas');
  const a = await chrome.page(server);
  await t.signIn(a, 'Dan', 'dan');
  await t.call(a, 'cas');
  await t.screen(b, 'incoming');
  await server.crash();
  await b.waitForFunction(() => /No connection to the server/.test(document.getElementById('incoming-status')?.textContent || ''), null, { timeout: 10000 });
  await b.click('#accept');
  assert.equal(await b.evaluate(() => document.body.dataset.screen), 'incoming');
  assert.equal(await b.isDisabled('#decline'), false);
  await server.restart();
  await b.waitForFunction(() => document.getElementById('incoming-status')?.hidden, null, { timeout: 15000 });
  // Back: Accept works, and the call connects.
  await b.click('#accept');
  await t.talking(a, b);
  await a.click('#hangup');
  await t.screen(b, 'ended');
});

test('a reload during a call asks first, then comes back into the call', async () => {
  const b = await chrome.page(server);
  await t.signIn(b, 'Eli', 'eli');
  const a = await chrome.page(server);
  await t.signIn(a, 'Flo', 'flo');
  await t.connect(a, b, 'eli');
  const before = await t.timerSeconds(b);
  let asked = null;
  b.once('dialog', (d) => { asked = d.type(); d.accept(); });
  await b.reload();
  assert.equal(asked, 'beforeunload', 'no "Leave call?" before the reload');
  // Back in the same call: the shared timer goes on, and audio flows again both ways.
  await t.screen(b, 'incall', 15000);
  await b.waitForFunction(() => document.getElementById('timer')?.textContent, null, { timeout: 20000 });
  assert.ok(await t.timerSeconds(b) >= before);
  for (let i = 0; (await t.rtp(b)).bytesReceived < 2000; i++) {
    assert.ok(i < 200, 'no audio after the reload');
    await b.waitForTimeout(100);
  }
  const r1 = await t.rtp(a);
  await a.waitForTimeout(1000);
  const r2 = await t.rtp(a);
  assert.ok(r2.bytesReceived > r1.bytesReceived, 'the other side hears the reloaded tab');
  assert.equal(await a.evaluate(() => document.body.dataset.screen), 'incall');
  await b.click('#hangup');
  await t.screen(a, 'ended');
});

test('a caller who reloads while it rings is back on the calling screen, and the call connects', async () => {
  const b = await chrome.page(server);
  await t.signIn(b, 'Kit', 'kit');
  const a = await chrome.page(server);
  await t.signIn(a, 'Lou', 'lou');
  await t.call(a, 'kit');
  await t.screen(b, 'incoming');
  await t.statusIs(a, /Ringing/);
  a.once('dialog', (d) => d.accept());
  await a.reload();
  await t.screen(a, 'calling', 15000);
  await t.statusIs(a, /Ringing/);
  assert.equal(await b.evaluate(() => document.body.dataset.screen), 'incoming');
  await b.click('#accept');
  await t.talking(a, b);
  await a.click('#hangup');
  await t.screen(b, 'ended');
});
