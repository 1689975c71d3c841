// SPDX-License-Identifier: Apache-2.0
// Signing in with an identity provider's token (no development mode): pasted, or handed over in
// the URL's fragment; a token the server refuses is explained and nothing else happens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import * as t from './lib.mjs';

const SECRET = 'an-identity-providers-hs256-secret';
let server; let chrome;
before(async () => {
  server = await t.startServer(['--jwt-hs256-secret', SECRET]);
  chrome = await t.launch();
});
after(async () => {
  await chrome?.close();
  await server?.stop();
});

function jwt(claims, secret = SECRET) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}
const exp = () => Math.floor(Date.now() / 1000) + 3600;

test('a pasted token signs in; a bad one is refused with the reason', async () => {
  const p = await chrome.page(server);
  await p.waitForSelector('#token');
  assert.equal(await p.$('#name'), null);  // no development sign-in with an issuer configured
  await p.fill('#token', jwt({ sub: 'zoe', name: 'Zoë Ångström', exp: exp() }, 'wrong-secret'));
  await p.click('button[type=submit]');
  await p.waitForSelector('.signin .error:not([hidden])');
  assert.match(await p.textContent('.signin .error'), /refused this token/);
  await p.fill('#token', 'not a token');
  await p.click('button[type=submit]');
  await p.waitForFunction(() => /not a JWT/.test(document.querySelector('.signin .error')?.textContent));
  await p.fill('#token', jwt({ sub: 'zoe', name: 'Zoë Ångström', exp: exp() }));
  await p.click('button[type=submit]');
  await p.waitForSelector('#people');
  assert.equal(await p.textContent('#me'), 'Zoë Ångström');
  // The development endpoint is gone.
  const dev = await p.evaluate(async () => (await fetch('/v1/dev/token', { method: 'POST', body: '{}' })).status);
  assert.equal(dev, 404);
});

test('a token in the fragment signs in and leaves the address bar', async () => {
  const context = await chrome.browser.newContext();
  const p = await context.newPage();
  await p.goto(`${server.url}/#token=${jwt({ sub: 'yan', name: 'Yan', exp: exp() })}`);
  await p.waitForSelector('#people');
  assert.equal(await p.textContent('#me'), 'Yan');
  assert.equal(new URL(p.url()).hash, '');
  // Signing out forgets the token.
  await p.click('#sign-out');
  await p.waitForSelector('#token');
  assert.equal(await p.evaluate(() => localStorage.getItem('dialtone.session')), null);
  await context.close();
});

test('with an identity provider People shows contacts only: add one by id, call one by id', async () => {
  const open = async (sub, name) => {
    const context = await chrome.browser.newContext();
    const p = await context.newPage();
    await p.goto(`${server.url}/#token=${jwt({ sub, name, exp: exp() })}`);
    await p.waitForSelector('#people');
    return { p, context };
  };
  const zed = await open('zed', 'Zed');
  const amy = await open('amy', 'Amy');
  // Strangers: nobody listed, and the page says why.
  await zed.p.waitForFunction(() => /No contacts yet/.test(document.getElementById('people').textContent));
  assert.equal(await zed.p.$('#people [data-user="amy"]'), null);
  // Zed adds Amy: nothing shows until Amy adds Zed too.
  await zed.p.fill('#other-id', 'amy');
  await zed.p.click('#add-contact');
  await zed.p.waitForFunction(() => /once they add you too/.test(document.getElementById('by-id-status').textContent));
  await amy.p.fill('#other-id', 'nobody-here');
  await amy.p.click('#add-contact');
  await amy.p.waitForFunction(() => /There is no nobody-here/.test(document.getElementById('by-id-status').textContent));
  await amy.p.fill('#other-id', 'zed');
  await amy.p.click('#add-contact');
  await amy.p.waitForFunction(() => /zed is a contact now/.test(document.getElementById('by-id-status').textContent));
  await zed.p.waitForSelector('#people [data-user="amy"]', { timeout: 15000 });
  assert.match(await zed.p.textContent('#people'), /Amy/);
  // Anyone can be called by id, listed or not.
  await zed.p.fill('#other-id', 'amy');
  await zed.p.click('#call-by-id');
  await t.screen(zed.p, 'calling');
  await t.screen(amy.p, 'incoming');
  await zed.p.click('#hangup');
  await t.screen(zed.p, 'home');
  await zed.context.close();
  await amy.context.close();
});
