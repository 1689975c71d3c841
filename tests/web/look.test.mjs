// SPDX-License-Identifier: Apache-2.0
// What the client looks like to eyes and to screen readers: every text's contrast computed from
// the rendered colours (WCAG AA: 4.5:1, 3:1 for large text) on every screen, light and dark;
// the accessibility tree (Playwright's ariaSnapshot) of the call screens; what is announced;
// the ringing tab's title and icon; the web app manifest and its icons.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { chromium } from 'playwright-core';
import * as t from './lib.mjs';

let server; let chrome;
before(async () => {
  server = await t.startServer();
  chrome = await t.launch();
});
after(async () => {
  await chrome?.close();
  await server?.stop();
});

async function checkContrast(page, name, problems) {
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    for (const p of await t.lowContrast(page)) problems.push(`${name} (${colorScheme}): ${p}`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

test('contrast, names, announcements, the ringing tab, on every screen', async () => {
  const problems = [];
  const b = await chrome.page(server);
  await checkContrast(b, 'sign-in', problems);
  await t.signIn(b, 'Bo Ek', 'bo');
  const a = await chrome.page(server);
  await t.signIn(a, 'Ann Aho', 'ann');
  await a.waitForSelector('#people li[data-user="bo"] .presence[data-status="online"]', { timeout: 15000 });
  await checkContrast(a, 'home', problems);
  // The presence dot is not read out; the status is.
  const homeTree = await a.locator('#people').ariaSnapshot();
  assert.match(homeTree, /Online/);
  assert.doesNotMatch(homeTree, /●/);
  assert.match(homeTree, /button "Call Bo Ek"/);

  await t.call(a, 'bo');
  await t.screen(b, 'incoming');
  await checkContrast(a, 'calling', problems);
  await checkContrast(b, 'incoming', problems);
  // The incoming call: named buttons, announced, and the tab's title and icon say it.
  const incomingTree = await b.locator('main').ariaSnapshot();
  assert.match(incomingTree, /button "Decline call from Ann Aho"/);
  assert.match(incomingTree, /button "Accept call from Ann Aho"/);
  await b.waitForFunction(() => /Incoming call from Ann Aho/.test(document.getElementById('announcer').textContent));
  assert.match(await b.title(), /Ann Aho/);
  assert.match(await b.getAttribute('#favicon', 'href'), /ringing\.svg$/);

  await b.click('#accept');
  await t.talking(a, b);
  assert.equal(await b.title(), 'Dialtone');
  assert.match(await b.getAttribute('#favicon', 'href'), /icon\.svg$/);
  // Mute: one name, its state as pressed — and the other side hears of it.
  let tree = await b.locator('.callbar').ariaSnapshot();
  assert.match(tree, /button "Mute microphone"/);
  assert.doesNotMatch(tree, /Unmute/);
  await b.click('#mute');
  tree = await b.locator('.callbar').ariaSnapshot();
  assert.match(tree, /button "Mute microphone" \[pressed\]/);
  await b.waitForSelector('#self-muted:not([hidden])');
  await a.waitForFunction(() => /Bo Ek muted their microphone/.test(document.getElementById('announcer').textContent));
  await checkContrast(a, 'in call, the other muted', problems);
  await checkContrast(b, 'in call, muted', problems);

  await a.click('#hangup');
  await t.screen(b, 'ended');
  await checkContrast(b, 'ended', problems);
  await b.waitForFunction(() => /Call ended/.test(document.getElementById('announcer').textContent));

  // An outcome and a warning toast.
  await t.screen(b, 'home', 10000);
  await t.screen(a, 'home', 10000);
  await t.call(a, 'bo');
  await t.screen(b, 'incoming');
  await b.click('#decline');
  await t.outcomeIs(a, /declined/);
  await checkContrast(a, 'outcome', problems);
  // A toast (a missed call): Bo's phone rings, Ann gives up.
  await a.click('#close');
  await t.call(a, 'bo');
  await t.screen(b, 'incoming');
  await a.click('#hangup');
  await t.toastSeen(b, /Missed call from Ann Aho/);
  await checkContrast(b, 'toast', problems);
  assert.deepEqual(problems, []);
});

test('the manifest and its icons: the page can be installed', async () => {
  const page = await chrome.page(server);
  const href = await page.getAttribute('link[rel="manifest"]', 'href');
  const manifest = await (await fetch(new URL(href, server.url))).json();
  assert.equal(manifest.name, 'Dialtone');
  assert.equal(manifest.display, 'standalone');
  assert.equal(manifest.start_url, '/');
  const sizes = new Set();
  for (const icon of manifest.icons) {
    const res = await fetch(new URL(icon.src, new URL(href, server.url)));
    assert.equal(res.status, 200, icon.src);
    assert.equal(res.headers.get('content-type'), icon.type, icon.src);
    const body = Buffer.from(await res.arrayBuffer());
    if (icon.type === 'image/png') {
      // The PNG's own size (IHDR) is the one the manifest declares.
      const [w, h] = [body.readUInt32BE(16), body.readUInt32BE(20)];
      assert.equal(`${w}x${h}`, icon.sizes, icon.src);
      sizes.add(icon.sizes);
    }
  }
  assert.ok(sizes.has('192x192') && sizes.has('512x512'));
  assert.ok(manifest.icons.some((i) => i.purpose === 'maskable'));
  // Chromium's own verdict, in a profile of its own (an incognito context is never installable).
  const dir = t.tempDir('dialtone-profile-');
  const profile = await chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', args: t.CHROMIUM_ARGS });
  try {
    const p = await profile.newPage();
    await p.goto(server.url);
    await p.waitForSelector('#name');
    const cdp = await profile.newCDPSession(p);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    assert.deepEqual(installabilityErrors, []);
  } finally {
    await profile.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // iOS: an apple-touch-icon.
  const touch = await page.getAttribute('link[rel="apple-touch-icon"]', 'href');
  assert.equal((await fetch(new URL(touch, server.url))).status, 200);
});
