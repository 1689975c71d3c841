// SPDX-License-Identifier: Apache-2.0
// Tokens that expire while the tab is open: development tokens of 6 s are renewed in band (one
// WebSocket for the whole call, the call goes on); with an identity provider, the page's
// window.dialtoneTokenProvider is asked for fresh ones; without it the session ends at expiry
// with a clear message on the sign-in screen; a token the server refuses ends at once, with the
// server's reason.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import * as t from './lib.mjs';

const SECRET = 'tokens-test-hs256-secret-0123456789';
const LIFETIME_S = 6;
let chrome;
before(async () => { chrome = await t.launch(); });
after(async () => { await chrome?.close(); });

function jwt(sub, seconds, secret = SECRET) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = { sub, name: sub, exp: Math.floor(Date.now() / 1000) + seconds };
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

// Counts the WebSockets a page opens.
function sockets(page) {
  const count = { n: 0 };
  page.on('websocket', () => { count.n += 1; });
  return count;
}

const storedToken = (p) => p.evaluate(() => JSON.parse(localStorage.getItem('dialtone.session'))?.token);
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

test('development tokens are renewed in band during a call: one socket, the call goes on', async () => {
  const server = await t.startServer(['--dev-token-lifetime-s', String(LIFETIME_S)]);
  try {
    const a = await chrome.page(server);
    const b = await chrome.page(server);
    const sa = sockets(a); const sb = sockets(b);
    await t.signIn(a, 'Ann', 'ann');
    await t.signIn(b, 'Ben', 'ben');
    const first = await storedToken(a);
    await t.connect(a, b, 'ben');
    const before = await t.rtp(b);
    await wait(LIFETIME_S * 2.5 * 1000);  // two lifetimes and a half: each token outlived
    for (const p of [a, b]) {
      assert.equal(await p.evaluate(() => document.body.dataset.screen), 'incall');
      assert.equal(await p.evaluate(() => document.getElementById('banner')?.textContent || ''), '');
    }
    assert.notEqual(await storedToken(a), first);
    assert.ok((await t.rtp(b)).packetsReceived > before.packetsReceived);
    assert.equal(sa.n, 1);
    assert.equal(sb.n, 1);
    assert.doesNotMatch(server.log.join(""), /WS_TOKEN_EXPIRED/);
    await a.context().close();
    await b.context().close();
  } finally {
    await server.stop();
  }
});

test('with an identity provider, window.dialtoneTokenProvider keeps the session; without it, it ends clearly', async () => {
  const server = await t.startServer(['--jwt-hs256-secret', SECRET]);
  try {
    // Kept: the embedding page provides fresh tokens.
    const context = await chrome.browser.newContext();
    const kept = await context.newPage();
    let minted = 0;
    await kept.exposeFunction('mintToken', () => { minted += 1; return jwt('kay', LIFETIME_S); });
    await kept.addInitScript(() => { window.dialtoneTokenProvider = () => window.mintToken(); });
    const sk = sockets(kept);
    await kept.goto(`${server.url}/#token=${jwt('kay', LIFETIME_S)}`);
    await kept.waitForSelector('#people');

    // Ended: no provider. (A page of its own: a fragment change alone would not reload one.)
    const lostContext = await chrome.browser.newContext();
    const lost = await lostContext.newPage();
    await lost.goto(`${server.url}/#token=${jwt('lou', LIFETIME_S)}`);
    await lost.waitForSelector('#people');

    await lost.waitForFunction(() => /session expired — sign in again/.test(
      document.querySelector('.signin .error')?.textContent || ''), null, { timeout: 20000 });
    assert.equal(await lost.evaluate(() => localStorage.getItem('dialtone.session')), null);
    assert.match(server.log.join(""), /WS_TOKEN_EXPIRED user=lou/);

    await wait(LIFETIME_S * 1000);
    assert.ok(await kept.$('#people'), 'the provided session was signed out');
    assert.ok(minted >= 2, `minted ${minted}`);
    assert.equal(sk.n, 1);
    assert.doesNotMatch(server.log.join(""), /WS_TOKEN_EXPIRED user=kay/);
    await context.close();
    await lostContext.close();

    // A token the server refuses (signed with another key) ends at once with the server's reason.
    const forgedContext = await chrome.browser.newContext();
    const forged = await forgedContext.newPage();
    await forged.goto(`${server.url}/#token=${jwt('fay', 3600, 'another-secret-0123456789abcdef')}`);
    await forged.waitForFunction(() => /no longer accepts your sign-in \(token signature is not valid/.test(
      document.querySelector('.signin .error')?.textContent || ''), null, { timeout: 10000 });
    await forgedContext.close();
  } finally {
    await server.stop();
  }
});
