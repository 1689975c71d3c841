// SPDX-License-Identifier: Apache-2.0
// The call-progress tones' region (tone_region, else each browser's language) and what the page
// plays, measured with an AnalyserNode: the British ringback's double ring, and the connect and
// end cues. (Ringback, busy and declined in North American values: outcomes.test.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as t from './lib.mjs';

let auto; let uk; let chrome;
before(async () => {
  auto = await t.startServer();
  uk = await t.startServer(['--tone-region', 'uk']);
  chrome = await t.launch();
});
after(async () => {
  await chrome?.close();
  await auto?.stop();
  await uk?.stop();
});

async function pageIn(server, locale) {
  const context = await chrome.browser.newContext({ locale, viewport: { width: 390, height: 760 } });
  await context.grantPermissions(['microphone'], { origin: server.url });
  const page = await context.newPage();
  await page.goto(server.url);
  return page;
}

test('the region follows the browser\'s language unless the server names one', async () => {
  const expected = { 'en-US': 'us', 'en-GB': 'uk', 'fr-FR': 'fr', 'de-DE': 'eu', 'ja-JP': 'jp', 'en-AU': 'au', 'pt-BR': 'eu' };
  for (const [locale, region] of Object.entries(expected)) {
    const page = await pageIn(auto, locale);
    await t.signIn(page, `User ${locale}`, `u-${locale.toLowerCase()}`);
    assert.equal(await page.evaluate(() => window.dialtone.toneRegion()), region, locale);
    await page.context().close();
  }
  const page = await pageIn(uk, 'en-US');
  await t.signIn(page, 'Us Er', 'us-er');
  assert.equal(await page.evaluate(() => window.dialtone.toneRegion()), 'uk');
  await page.context().close();
});

test('British ringback (400 + 450 Hz, 0.4 on, 0.2 off, 0.4 on, 2 off); connect and end cues', async () => {
  const b = await chrome.page(uk);
  await t.signIn(b, 'Gil', 'gil');
  const a = await chrome.page(uk);
  await t.signIn(a, 'Hex', 'hex');
  await t.call(a, 'gil');
  await t.screen(b, 'incoming');
  await t.statusIs(a, /Ringing/);
  const ring = await t.recordTones(a, [400, 450, 425], 3400);
  assert.ok(ring.some((s) => s.level[400] > -60 && s.level[450] > -60), 'no 400 + 450 Hz');
  // The double ring: two short bursts close together, then a long pause.
  const runs = t.cadence(ring, 400);
  const ons = runs.filter((r) => r.on).map((r) => r.ms);
  const offs = runs.filter((r) => !r.on).map((r) => r.ms);
  assert.ok(ons.some((ms) => ms >= 250 && ms <= 550), `bursts ${JSON.stringify(runs)}`);
  assert.ok(offs.some((ms) => ms <= 350) && offs.some((ms) => ms >= 1700), `pauses ${JSON.stringify(runs)}`);

  // Connect: a rising cue (660 then 880 Hz) as the call connects; end: falling (880, 660, 440).
  const cue = t.recordTones(a, [660, 880, 440], 6000);
  await b.click('#accept');
  const heard = await cue;
  const first = (hz) => heard.find((s) => s.level[hz] > -60)?.t ?? Infinity;
  assert.ok(first(660) < first(880) && first(880) < Infinity, 'no rising connect cue');
  await a.waitForFunction(() => document.getElementById('timer')?.textContent, null, { timeout: 20000 });
  const end = t.recordTones(b, [880, 660, 440], 1500);
  await b.waitForTimeout(100);
  await a.click('#hangup');
  const ended = await end;
  const at = (hz) => ended.find((s) => s.level[hz] > -60)?.t ?? Infinity;
  assert.ok(at(880) < at(660) && at(660) < at(440) && at(440) < Infinity, 'no falling end cue');
});

test('a call that cannot be made: the special information tone (950, 1400, 1800 Hz), then congestion', async () => {
  const a = await chrome.page(uk);
  await t.signIn(a, 'Ida', 'ida');
  const heard = t.recordTones(a, [950, 1400, 1800, 400], 2500);
  await a.fill('#other-id', 'nobody-here');
  await a.click('#call-by-id');
  await t.outcomeIs(a, /nobody-here is not on Dialtone/);
  const samples = await heard;
  const at = (hz) => samples.find((s) => s.level[hz] > -60)?.t ?? Infinity;
  assert.ok(at(950) < at(1400) && at(1400) < at(1800) && at(1800) < Infinity, 'no rising SIT');
  assert.ok(at(400) > at(1800) && at(400) < Infinity, 'no congestion tone after it');
});
