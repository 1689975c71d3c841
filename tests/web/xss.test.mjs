// SPDX-License-Identifier: Apache-2.0
// Hostile data from the server's users — names, reasons, photo URLs — is shown as text or
// dropped, never run: a display name that is HTML shows as those characters, no injected script
// executes, the page's Content-Security-Policy allows no inline script, and photo URLs other
// than https: on the photo hosts (or http: on this machine) are never loaded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

const EVIL_NAME = '<img src=x onerror="window.__pwned=1;alert(1)">';
const EVIL_REASON = '<script>window.__pwned=2</script>';
let server; let chrome;
before(async () => {
  server = await t.startServer(['--photo-hosts', 'cdn.example.org']);
  chrome = await t.launch();
});
after(async () => {
  await chrome?.close();
  await server?.stop();
});

async function api(method, path, body, token) {
  const res = await fetch(`${server.url}${path}`, {
    method, body: body ? JSON.stringify(body) : undefined,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, body: await res.json() };
}

test('hostile names and reasons are text; no injected script runs', async () => {
  const page = await chrome.page(server);
  let dialogs = 0;
  page.on('dialog', (d) => { dialogs += 1; d.dismiss().catch(() => {}); });
  // The page's policy: scripts from the server only, none inline, no eval.
  const res = await fetch(`${server.url}/`);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  // Images from the photo hosts only (and this machine, in development mode): no other host
  // learns who looked at a profile, or when a phone rang.
  assert.match(csp, /img-src 'self' data: https:\/\/cdn\.example\.org http:\/\/127\.0\.0\.1:\*/);
  assert.doesNotMatch(csp, /https: /);

  await t.signIn(page, 'Alice', 'alice');
  const mallory = (await api('POST', '/v1/dev/token', { userId: 'mallory', name: EVIL_NAME })).body.token;
  // The home screen lists mallory by that name, as characters.
  await page.waitForFunction((n) => document.getElementById('people')?.textContent.includes(n),
    EVIL_NAME, { timeout: 15000 });
  // Mallory calls: the incoming screen shows the name as text.
  const created = await api('POST', '/v1/calls', { receiverId: 'alice' }, mallory);
  assert.equal(created.status, 201);
  await t.screen(page, 'incoming');
  assert.ok((await page.textContent('.person .name')).includes(EVIL_NAME));
  // Mallory cancels with a hostile reason; the history shows the name as text.
  await api('POST', `/v1/calls/${created.body.callId}/end`, { reason: EVIL_REASON }, mallory);
  await t.screen(page, 'home');
  await page.waitForFunction((n) => document.getElementById('history')?.textContent.includes(n),
    EVIL_NAME, { timeout: 15000 });
  await t.shot(page, 'xss-home');

  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.evaluate(() => document.querySelectorAll('img[src="x"], script:not([src])').length), 0);
  assert.equal(dialogs, 0);
  // Even markup that got into the DOM could not run inline script: the policy forbids it.
  const inline = await page.evaluate(async () => {
    const s = document.createElement('script');
    s.textContent = 'window.__inline = 1';
    document.body.append(s);
    await new Promise((r) => setTimeout(r, 100));
    return window.__inline;
  });
  assert.equal(inline, undefined);
});

test('photo URLs: https on the photo hosts (or http on this machine) only', async () => {
  // The server refuses the others at sign-in.
  for (const photo of ['javascript:alert(1)', 'data:image/svg+xml,<svg onload=alert(1)>', 'http://example.org/a.png',
    'https://tracker.example/a.png'])
    assert.equal((await api('POST', '/v1/dev/token', { userId: 'eve', name: 'Eve', photo })).status, 400, photo);
  // And the page never loads them, whatever arrives.
  const page = await chrome.page(server);
  const verdicts = await page.evaluate(async () => {
    const ui = await import(new URL('ui.js', document.querySelector('script[type=module]').src).href);
    return ['https://cdn.example.org/a.png', 'http://127.0.0.1:1/a.png', 'javascript:alert(1)',
      'data:image/png;base64,AAAA', 'http://example.org/a.png', 'https://user:pw@example.org/a.png', '']
      .map((u) => ui.safePhotoUrl(u) !== null);
  });
  assert.deepEqual(verdicts, [true, true, false, false, false, false, false]);
});
