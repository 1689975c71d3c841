// SPDX-License-Identifier: Apache-2.0
// Every screen of the browser client at a phone's size and a desktop's, light and dark: the
// screenshots of docs/screenshots (SCREENSHOTS_DIR=docs/screenshots; by default they land in the
// test artifacts), and what must hold on every one of them — nothing wider than the window,
// a header of one line however long the names, a call's actions in one row, every text's
// contrast at least WCAG AA.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as t from './lib.mjs';

const OUT = process.env.SCREENSHOTS_DIR || join(t.ARTIFACTS, 'screens');
mkdirSync(OUT, { recursive: true });
const SIZES = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 800 } };

let server; let chrome;
before(async () => {
  server = await t.startServer(['--ring-timeout-s', '60']);
  chrome = await t.launch();
});
after(async () => {
  await chrome?.close();
  await server?.stop();
});

// What does not hold, on which screen (every screenshot is taken first).
const problems = [];

// The page at both sizes and in both schemes: a screenshot of each, and the checks that hold
// on every screen.
async function capture(page, name) {
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport);
    for (const colorScheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
      await page.waitForTimeout(50);  // a frame with the new styles
      await page.screenshot({ path: join(OUT, `${name}-${size}-${colorScheme}.png`) });
      const look = await page.evaluate(() => {
        const tops = [...document.querySelectorAll('.callbar > .action')]
          .filter((el) => el.checkVisibility()).map((el) => Math.round(el.getBoundingClientRect().top));
        return {
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          header: document.querySelector('.bar').getBoundingClientRect().height,
          rows: new Set(tops).size,
        };
      });
      if (look.overflow > 0) problems.push(`${name} (${size}): ${look.overflow} px wider than the window`);
      if (look.header > 64) problems.push(`${name} (${size}): the header is ${look.header} px high (more than a line)`);
      if (look.rows > 1) problems.push(`${name} (${size}): the call's actions are on ${look.rows} rows`);
      for (const p of await t.lowContrast(page)) problems.push(`${name} (${size}, ${colorScheme}): contrast ${p}`);
    }
  }
  await page.setViewportSize(SIZES.phone);
  await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'no-preference' });
}

test('every screen, phone and desktop, light and dark', async () => {
  const bart = await chrome.page(server);
  await t.signIn(bart, 'Bartholomew Featherstonehaugh-Wolfeschlegelsteinhausen', 'bart');
  const ann = await chrome.page(server);
  // Others to show on the list: one in a call, one offline.
  const cy = await chrome.page(server);
  await t.signIn(cy, 'Cy', 'cy');
  const di = await chrome.page(server);
  await t.signIn(di, 'Di', 'di');
  const ed = await chrome.page(server);
  await t.signIn(ed, 'Ed', 'ed');
  await ed.close();
  const flo = await chrome.page(server);
  await t.signIn(flo, 'Flo', 'flo');
  await capture(ann, 'signin');
  await t.signIn(ann, 'Ann', 'ann');
  await t.connect(cy, di, 'di');  // Cy and Di are in a call

  await ann.waitForSelector('#people [data-user="bart"]', { timeout: 15000 });
  await capture(ann, 'home');

  await t.call(ann, 'bart');
  await t.screen(bart, 'incoming');
  await t.statusIs(ann, /Ringing/);
  await capture(ann, 'calling');
  await capture(bart, 'incoming');

  await bart.click('#accept');
  await t.talking(ann, bart);
  await bart.click('#mute');
  await ann.waitForSelector('#other-muted:not([hidden])');
  await capture(ann, 'in-call');
  await capture(bart, 'in-call-muted');
  // Someone calls Bart during the call.
  await t.call(flo, 'bart');
  await bart.waitForSelector('#call-notice', { timeout: 15000 });
  await capture(bart, 'in-call-notice');
  await bart.click('#notice-dismiss');
  await ann.click('#hangup');
  await t.screen(bart, 'ended');
  await capture(bart, 'call-ended');
  await t.screen(ann, 'home', 10000);

  // Declined: what the caller sees.
  await t.screen(bart, 'home', 10000);
  await t.call(ann, 'bart');
  await t.screen(bart, 'incoming');
  await bart.click('#decline');
  await ann.waitForFunction(() => document.body.dataset.screen !== 'calling', null, { timeout: 10000 });
  await capture(ann, 'declined');

  // Busy: calling someone in a call.
  await t.screen(ann, 'home', 10000).catch(() => {});
  await ann.goto(server.url);
  await ann.waitForSelector('#people [data-user="cy"]', { timeout: 15000 });
  await t.call(ann, 'cy');
  await ann.waitForFunction(() => document.body.dataset.screen !== 'calling', null, { timeout: 10000 });
  await capture(ann, 'busy');

  // The microphone blocked for the site: said on the home screen.
  await t.setMicrophone(ann, server, 'denied');
  await ann.goto(server.url);
  await ann.waitForSelector('#mic-warning:not([hidden])');
  await capture(ann, 'microphone-blocked');
  await t.setMicrophone(ann, server, 'granted');

  // The server goes away.
  await ann.goto(server.url);
  await ann.waitForSelector('#people');
  await server.crash();
  await ann.waitForSelector('#banner:not([hidden])', { timeout: 15000 });
  await capture(ann, 'offline');
  await server.restart();
  assert.deepEqual(problems, []);
});
