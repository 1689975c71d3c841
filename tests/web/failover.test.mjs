// SPDX-License-Identifier: Apache-2.0
// A cluster without a load balancer: two dialtoned nodes on PostgreSQL and NATS, each listing
// both in public_urls. The page comes from node 1; when node 1 dies mid-call, both browsers move
// their WebSocket (and requests) to node 2, the call stays up, and hanging up works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as t from './lib.mjs';

let pg; let nats; let n1; let n2; let chrome; let dataDir;
before(async () => {
  pg = await t.startPostgres();
  nats = await t.startNats();
  const [p1, p2] = [await t.freePort(), await t.freePort()];
  dataDir = t.tempDir('dialtone-web-cluster-');
  const flags = ['--store', pg.url(), '--bus', nats.url,
    '--public-urls', `http://127.0.0.1:${p1},http://127.0.0.1:${p2}`];
  n1 = await t.startServer(flags, { listen: `127.0.0.1:${p1}`, dataDir });
  n2 = await t.startServer(flags, { listen: `127.0.0.1:${p2}`, dataDir });
  chrome = await t.launch();
});
after(async () => {
  await chrome?.close();
  await n1?.stop();
  await n2?.stop();
  await nats?.stop();
  await pg?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('the node the page came from dies mid-call: both move to the other node and carry on', async () => {
  const b = await chrome.page(n1);
  await t.signIn(b, 'Bea', 'bea');
  const a = await chrome.page(n1);
  await t.signIn(a, 'Abe', 'abe');
  await t.connect(a, b, 'bea');
  const before = await t.timerSeconds(a);

  await n1.crash();
  // Both pages reconnect to node 2 (CORS and the page's connect-src allow it).
  const token = await b.evaluate(() => JSON.parse(localStorage.getItem('dialtone.session')).token);
  const users = async () => (await fetch(`${n2.url}/v1/users/bea`, {
    headers: { Authorization: `Bearer ${token}` },
  })).json();
  const until = Date.now() + 15000;
  let online = false;
  while (!online && Date.now() < until) {
    online = (await users().catch(() => ({}))).online === true;
    if (!online) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(online, 'bea is connected to node 2');
  // Longer than the dead node's detection: the call goes on, the timer keeps counting.
  await new Promise((r) => setTimeout(r, 5000));
  for (const p of [a, b]) assert.equal(await p.evaluate(() => document.body.dataset.screen), 'incall');
  // (The display ticks once a second, so it may lag the 5 s by up to one.)
  const after = await t.timerSeconds(a);
  assert.ok(after >= before + 4, `the timer went on: ${before} s → ${after} s`);
  const heard = await t.listen(b);
  assert.ok(t.near(heard.hz, 440), `bea still hears abe's tone: ${JSON.stringify(heard)}`);

  await a.click('#hangup');
  await t.screen(b, 'ended');
  await t.screen(a, 'ended');
});
