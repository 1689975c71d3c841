// SPDX-License-Identifier: Apache-2.0
// The browser and the C++ client on the two ends of one call, both directions: each side's
// tone is detected on the other (an AnalyserNode in the page; the CLI's recording).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as t from './lib.mjs';

let server; let chrome; let dir; const clis = [];
before(async () => {
  server = await t.startServer();
  chrome = await t.launch({ hz: 440 });
  dir = t.tempDir('dialtone-web-cli-');
});
after(async () => {
  for (const c of clis) c.kill();
  await chrome?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The share of the recording's last seconds that is `hz`.
function heard(wav, hz) {
  const { rate, samples } = t.readWav(wav);
  const len = Math.min(samples.length, rate);  // the last second
  return t.toneShare(samples, rate, hz, samples.length - len, len);
}

test('a browser calls the CLI', async () => {
  const robot = t.cli(server, 'robot', ['answer', '--input', 'tone:880', '--record', join(dir, 'robot.wav'),
    '--ice-address', '127.0.0.1', '--duration', '40']);
  clis.push(robot);
  await robot.waitFor('waiting for a call');
  const a = await chrome.page(server);
  await t.signIn(a, 'Alice', 'alice');
  await t.call(a, 'robot');
  await t.screen(a, 'incall', 20000);
  await a.waitForFunction(() => document.getElementById('timer').textContent !== '', null, { timeout: 20000 });
  await a.waitForTimeout(1500);
  const h = await t.listen(a);
  assert.ok(t.near(h.hz, 880) && h.db > -70, `the browser hears ${JSON.stringify(h)}`);
  // The browser and the CLI show the same security code (from both DTLS fingerprints).
  await a.waitForFunction(() => /^\d{3} \d{3}$/.test(document.getElementById('security-code')?.textContent || ''),
    null, { timeout: 5000 });
  const code = await a.textContent('#security-code');
  await robot.waitFor(`security code ${code}`, 5000);
  await a.click('#hangup');
  await t.screen(a, 'ended');
  assert.equal(await robot.exited, 0, robot.output());
  const share = heard(join(dir, 'robot.wav'), 440);
  assert.ok(share > 0.5, `440 Hz is ${share} of what the CLI recorded\n${robot.output()}`);
});

test('the CLI calls a browser', async () => {
  const b = await chrome.page(server);
  await t.signIn(b, 'Bob', 'bob');
  const robot = t.cli(server, 'robot', ['call', 'bob', '--input', 'tone:880', '--record', join(dir, 'robot2.wav'),
    '--ice-address', '127.0.0.1', '--hangup-after', '4', '--duration', '40']);
  clis.push(robot);
  await t.screen(b, 'incoming', 20000);
  await b.click('#accept');
  await t.screen(b, 'incall');
  await b.waitForFunction(() => document.getElementById('timer').textContent !== '', null, { timeout: 20000 });
  const h = await t.listen(b);
  assert.ok(t.near(h.hz, 880) && h.db > -70, `the browser hears ${JSON.stringify(h)}`);
  // Every candidate the CLI (the offerer) sent names a section of its offer: none refused.
  assert.equal(await b.evaluate(() => window.dialtone.candidatesRefused()), 0);
  await t.screen(b, 'ended', 15000);  // the CLI hangs up
  assert.equal(await robot.exited, 0, robot.output());
  const share = heard(join(dir, 'robot2.wav'), 440);
  assert.ok(share > 0.5, `440 Hz is ${share} of what the CLI recorded\n${robot.output()}`);
});
