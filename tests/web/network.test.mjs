// SPDX-License-Identifier: Apache-2.0
// The network under the call: ICE servers from GET /v1/turn-credentials (a real coturn hands
// out relay candidates), and a media path cut for a few seconds — the "Reconnecting…" banner,
// a fresh connection, audio again. Runs in a private network namespace (CTest starts it with
// `unshare -n`), where nftables can drop media without touching anything else on the machine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as t from './lib.mjs';

const SECRET = 'web-test-secret';
let server; let coturn; let alice; let bob;
before(async () => {
  coturn = await t.startCoturn(SECRET);
  server = await t.startServer(['--turn-secret', SECRET, '--turn-urls', coturn.url]);
  alice = await t.launch({ hz: 440 });
  bob = await t.launch({ hz: 660 });
});
after(async () => {
  await alice?.close();
  await bob?.close();
  await server?.stop();
  await coturn?.stop();
});

test('TURN from the server, then a cut in the media path: reconnecting, a new connection, audio back', async (ctx) => {
  // No direct path between the two browsers: the call goes through the TURN server that
  // GET /v1/turn-credentials named, or it does not connect. (With a direct path open, Chromium may
  // connect on it before it has even asked the TURN server for a relay.)
  ctx.after(t.onlyRelay(server, coturn));
  const b = await bob.page(server);
  await t.signIn(b, 'Bob', 'bob');
  const a = await alice.page(server);
  await t.signIn(a, 'Alice', 'alice');
  await t.connect(a, b, 'bob');
  const connectedAt = Date.now();
  // Each side's path runs through a relay of this coturn, allocated with the server's TURN
  // credentials (by this side or the other: Chromium may stop gathering once it is connected).
  const { min, max } = coturn.relayPorts;
  for (const p of [a, b]) {
    const ends = await t.poll(p, async () => {
      const all = await window.dialtone.stats();
      const byId = new Map(all.map((s) => [s.id, s]));
      const pair = byId.get(all.find((s) => s.type === 'transport')?.selectedCandidatePairId);
      if (!pair) return null;
      return [byId.get(pair.localCandidateId), byId.get(pair.remoteCandidateId)]
        .map((c) => ({ type: c?.candidateType, address: c?.address, port: c?.port }));
    }, { what: 'a selected candidate pair' });
    assert.ok(ends.some((c) => c.type === 'relay' && c.address === '127.0.0.1' && c.port >= min && c.port <= max),
      `the selected pair ${JSON.stringify(ends)}; coturn relays from 127.0.0.1:${min}-${max}`);
  }

  const ufrags = () => a.evaluate(async () => [...new Set((await window.dialtone.stats())
    .filter((s) => s.type === 'local-candidate').map((s) => s.usernameFragment))]);
  const before = await ufrags();
  const restore = t.cutMedia(server);
  let restored = false;
  try {
    await a.waitForSelector('#reconnecting:not([hidden])', { timeout: 20000 });
    await t.shot(a, 'reconnecting');
    // Signaling still works: Alice's tab offers a fresh connection (a new ufrag).
  } finally {
    restore();
    restored = true;
  }
  assert.ok(restored);
  for (const p of [a, b]) await p.waitForSelector('#reconnecting', { state: 'hidden', timeout: 30000 });
  // The path came back through a fresh connection: candidates of a new ICE generation (ufrag).
  const afterCut = await ufrags();
  assert.ok(afterCut.some((u) => !before.includes(u)), `ufrags ${before} then ${afterCut}`);
  await a.waitForTimeout(1000);
  const [ha, hb] = await Promise.all([t.listen(a), t.listen(b)]);
  assert.ok(t.near(ha.hz, 660) && ha.db > -70, `Alice hears ${JSON.stringify(ha)}`);
  assert.ok(t.near(hb.hz, 440) && hb.db > -70, `Bob hears ${JSON.stringify(hb)}`);
  // The call survived: same call, still connected, timer still running.
  assert.equal(await a.evaluate(() => document.body.dataset.screen), 'incall');
  const shown = await t.timerSeconds(a);
  assert.ok(shown >= Math.floor((Date.now() - connectedAt) / 1000) - 1, `the timer shows ${shown} s`);
  await a.click('#hangup');
  await t.screen(b, 'ended');
});

test('the C++ CLI calls a browser, the path is cut: both ends rebuild it, audio both ways again', async () => {
  const b = await bob.page(server);
  await t.signIn(b, 'Bob', 'bob');
  const dir = t.tempDir('dialtone-web-net-');
  const robot = t.cli(server, 'robot', ['call', 'bob', '--input', 'tone:880', '--record', join(dir, 'robot.wav'),
    '--ice-address', '127.0.0.1', '--duration', '90']);
  try {
    await t.screen(b, 'incoming', 20000);
    await b.click('#accept');
    await b.waitForFunction(() => document.getElementById('timer')?.textContent, null, { timeout: 20000 });
    const restore = t.cutMedia(server);
    try {
      await b.waitForSelector('#reconnecting:not([hidden])', { timeout: 20000 });
    } finally {
      restore();
    }
    await b.waitForSelector('#reconnecting', { state: 'hidden', timeout: 40000 });
    await b.waitForTimeout(1500);
    const h = await t.listen(b);
    assert.ok(t.near(h.hz, 880) && h.db > -70, `the browser hears ${JSON.stringify(h)}\n${robot.output()}`);
    await b.waitForTimeout(1000);
    await b.click('#hangup');
    assert.equal(await robot.exited, 0, robot.output());
    // The CLI's recording ends with the browser's tone: audio came back that way too.
    const { rate, samples } = t.readWav(join(dir, 'robot.wav'));
    const share = t.toneShare(samples, rate, 660, samples.length - rate, rate);
    assert.ok(share > 0.5, `660 Hz is ${share} of the CLI's last second\n${robot.output()}`);
  } finally {
    robot.kill();
    await robot.exited.catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
