// SPDX-License-Identifier: Apache-2.0
// Accept → first audio through each kind of path, and address change → audio back, for the C++
// CLI and for Chromium, in the field lab (tests/web/lab.mjs), same run, same topology.
//
//   DIALTONED=… DIALTONE_CLI=… node bench/paths.mjs [rounds]     (root: network namespaces)
//
// "accept → first audio": from the moment the answering side accepts (the CLI's "accepted" line;
// Chromium's click on Accept) until audio is received on both sides (the CLI's "media: audio
// flowing"; a page's first inbound RTP packets). "address change → audio": from replacing the
// caller's address until audio flows again on both sides.
import { join } from 'node:path';
import * as t from '../tests/web/lib.mjs';
import { Lab, audioBackAt } from '../tests/web/lab.mjs';

const ROUNDS = Number(process.argv[2] || 5);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor((s.length - 1) / 2)]; };

// Each path: how the answering side's network (b) is set before the call, and where the
// answering side sits. The restricted side answers: its session is up before the call, as an
// app's is (the SDK probes TURN when it signs in, not when a call starts; bench/paths.mjs waits
// for that). A caller started for the call would add its probe to the call's setup: 0.4 s where
// UDP is blocked, 1.9 s where only 443 is open.
const PATHS = {
  host: { answerOn: 'a' },  // both on one private network
  srflx: {},
  'relay/udp': { nat: 'symmetric' },
  'relay/tcp': { firewall: 'no-udp' },
  'relay/443': { firewall: 'only-443' },  // TLS from Chromium, plain TCP from the C++ SDK
};
const RESTRICTED = 'b';

// Only what differs is changed: a NAT rebuilt flushes its connection tracking, which would cut
// the pages' WebSockets between rounds.
const labState = {};
function setLab(lab, p) {
  for (const s of ['a', 'b']) {
    const nat = (s === RESTRICTED && p.nat) || 'eim';
    const firewall = (s === RESTRICTED && p.firewall) || 'open';
    if (labState[`nat${s}`] !== nat) { lab.nat(s, nat); labState[`nat${s}`] = nat; }
    if (labState[`fw${s}`] !== firewall) { lab.firewall(s, firewall); labState[`fw${s}`] = firewall; }
    lab.restoreAddress(s);
  }
}

// Resolves with the time (ms since `since`) at which `proc`'s output contains `text`.
async function lineAt(cli, text, ms = 30000) {
  await cli.waitFor(text, ms);
  return Date.now();
}

async function cliRound(lab, server, p, round, changeAddress) {
  const dir = lab.dir;
  const bob = lab.cli(p.answerOn || 'b', server, `bob${round}`, ['answer', '--input', 'tone:880',
    '--record', join(dir, `b${round}.wav`), '--duration', '60']);
  await bob.waitFor('waiting for a call');
  await sleep(2500);  // its TURN probe, started at sign-in (up to 1.9 s where only 443 is open)
  const alice = lab.cli('a', server, `alice${round}`, ['call', `bob${round}`, '--input', 'tone:440',
    '--output', 'none', '--duration', '60']);
  const accepted = await lineAt(bob, 'accepted');
  const [ta, tb] = await Promise.all([lineAt(alice, 'media: audio flowing'), lineAt(bob, 'media: audio flowing')]);
  let back = null;
  if (changeAddress) {
    await sleep(1000);
    const since = Date.now();
    lab.changeAddress('a');
    const [ra, rb] = await Promise.all([lineAt(alice, 'media: reconnected'), lineAt(bob, 'media: reconnected')]);
    back = Math.max(ra, rb) - since;
  }
  alice.kill();
  await alice.exited;
  bob.kill();
  await bob.exited;
  return { setup: Math.max(ta, tb) - accepted, back };
}

async function inbound(page) {
  return page.evaluate(async () => {
    let n = 0;
    for (const s of await window.dialtone.stats()) if (s.type === 'inbound-rtp' && s.kind === 'audio') n += s.packetsReceived || 0;
    return n;
  });
}

async function until(fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn().catch(() => false)) return Date.now();
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}

async function browserRound(lab, server, p, round, pages, changeAddress) {
  const [a, b] = pages;
  await t.call(a, 'bobweb');
  await t.screen(b, 'incoming', 20000);
  const accepted = Date.now();
  await b.click('#accept');
  const [ta, tb] = await Promise.all([until(async () => (await inbound(a)) > 0), until(async () => (await inbound(b)) > 0)]);
  let back = null;
  if (changeAddress) {
    await sleep(1000);
    const counts = async (pg) => inbound(pg);
    const before = [await counts(a), await counts(b)];
    const since = Date.now();
    lab.changeAddress('a');
    const back1 = (pg, i) => audioBackAt(() => counts(pg), before[i], since, 20000);
    const [ra, rb] = await Promise.all([back1(a, 0), back1(b, 1)]);
    back = Math.max(ra, rb) - since;
  }
  await a.click('#hangup');
  await t.screen(a, 'ended');
  await t.screen(b, 'ended');
  await sleep(500);
  return { setup: Math.max(ta, tb) - accepted, back };
}

const lab = await Lab.create();
const browsers = [];  // closed whatever happens
let server;
try {
  const turn = await lab.startCoturn('bench-secret');
  server = await lab.startServer(turn);
  const rows = [];
  const signedIn = async (p) => {
    const pa = await lab.chromium('a', server, 440); const pb = await lab.chromium(p.answerOn || 'b', server, 880);
    browsers.push(pa, pb);
    await t.signIn(pa, 'Alice', 'aliceweb'); await t.signIn(pb, 'Bob', 'bobweb');
    return [pa, pb];
  };
  const closeAll = async () => { for (const b of browsers.splice(0)) await b.closeAll(); };
  for (const [name, p] of Object.entries(PATHS)) {
    const cxx = []; const web = [];
    for (let r = 0; r < ROUNDS; ++r) {
      setLab(lab, p);
      cxx.push((await cliRound(lab, server, p, `${name.replace(/\W/g, '')}${r}`, false)).setup);
    }
    setLab(lab, p);
    const pages = await signedIn(p);
    for (let r = 0; r < ROUNDS; ++r) web.push((await browserRound(lab, server, p, r, pages, false)).setup);
    await closeAll();
    rows.push([name, median(cxx), median(web)]);
    console.error(`${name}: C++ ${cxx.join(' ')}; Chromium ${web.join(' ')}`);
  }
  // The caller's address replaced mid-call (both behind endpoint-independent NAT): a fresh pair
  // of pages each round (the old address is gone from under their WebSockets too).
  const cxxBack = []; const webBack = [];
  for (let r = 0; r < ROUNDS; ++r) {
    setLab(lab, PATHS.srflx);
    cxxBack.push((await cliRound(lab, server, PATHS.srflx, `move${r}`, true)).back);
  }
  for (let r = 0; r < ROUNDS; ++r) {
    setLab(lab, PATHS.srflx);
    webBack.push((await browserRound(lab, server, PATHS.srflx, r, await signedIn(PATHS.srflx), true)).back);
    await closeAll();
  }
  rows.push(['address change → audio back (srflx)', median(cxxBack), median(webBack)]);
  console.error(`address change: C++ ${cxxBack.join(' ')}; Chromium ${webBack.join(' ')}`);
  const udp = rows.find((r) => r[0] === 'relay/udp'); const tcp = rows.find((r) => r[0] === 'relay/tcp');
  console.log(`| path (${ROUNDS} rounds, median ms) | C++ ↔ C++ | Chromium ↔ Chromium |`);
  console.log('|---|---|---|');
  for (const [name, c, w] of rows) console.log(`| ${name} | ${c} | ${w} |`);
  console.log(`| relay/tcp ÷ relay/udp | ${(tcp[1] / udp[1]).toFixed(2)} | ${(tcp[2] / udp[2]).toFixed(2)} |`);
} catch (e) {
  console.error(e, `\n--- dialtoned (exit ${server?.proc.exitCode ?? server?.proc.signalCode}):\n${server?.log.join('').slice(-3000)}`);
  process.exitCode = 1;
} finally {
  for (const b of browsers) await b.closeAll().catch(() => {});
  await lab.destroy();
}
