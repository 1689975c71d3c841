// SPDX-License-Identifier: Apache-2.0
// The calls of the field lab (lab.mjs): the ends a call can have — the C++ CLI, Chromium,
// aiortc — and the cases each pairing runs (lab.test.mjs on one node, lab_cluster.test.mjs on
// three). Each case checks the tones both ways and prints and asserts the selected pair.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as t from './lib.mjs';
import { browserPath, audioBackAt } from './lab.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));

// The lab the ends and cases run in (set by the test file).
export const ctx = { lab: null };

// media_recovery_timeout_s (30 s by default): 15 s in the lab, 6 s for the long blackout.
const RECOVERY_TIMEOUT_S = 15;
const SHORT_RECOVERY_TIMEOUT_S = 6;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The last second of a recording (the CLI's, aiortc's) is mostly `hz`.
function recordingEndsWith(wav, hz) {
  const { rate, samples } = t.readWav(wav);
  const len = Math.min(samples.length, rate);
  return t.toneShare(samples, rate, hz, samples.length - len, len) > 0.5;
}

// True as soon as `check` (a tone test) passes, false if it never does within `ms`.
async function heardWithin(ms, check) {
  for (const end = Date.now() + ms; ;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await sleep(500);
  }
}

// One end of a call. `hz`: the tone it sends.
export class CliEnd {
  constructor(server, side, user, hz) {
    Object.assign(this, { server, side, user, hz, kind: 'C++', recoveryS: RECOVERY_TIMEOUT_S });
  }
  args(extra) {
    this.wav = join(ctx.lab.dir, `${this.user}-${Date.now()}.wav`);
    return ['--input', `tone:${this.hz}`, '--record', this.wav, '--duration', '120',
      '--media-recovery-timeout', String(this.recoveryS), ...extra];
  }
  async ready() {}
  async call(other) {
    this.cli = ctx.lab.cli(this.side, this.server, this.user, ['call', other.user, ...this.args([])]);
  }
  async answerNext() {
    this.cli = ctx.lab.cli(this.side, this.server, this.user, ['answer', ...this.args([])]);
    await this.cli.waitFor('waiting for a call');
  }
  async accept() {}
  async connected() { await this.cli.waitFor('media: audio flowing', 30000); }
  async path() {
    const m = await this.cli.waitFor(/media path: (\S+) (\S+) (\S+)/, 10000);
    const all = [...this.cli.output().matchAll(/media path: (\S+) (\S+) (\S+)/g)].at(-1);
    return { local: all?.[1] ?? m[1], remote: all?.[2] ?? m[2], protocol: all?.[3] ?? m[3] };
  }
  // Resolves when audio flows again after a loss (the SDK's "reconnected": DTLS up and audio
  // received on the rebuilt path).
  async audioBack(since, ms) {
    const from = this.cli.output().length;
    await this.cli.waitFor('media: reconnecting', ms).catch(() => {});
    const end = Date.now() + ms;
    while (!this.cli.output().slice(from).includes('media: reconnected') &&
           !this.cli.output().includes('media: reconnected')) {
      if (Date.now() > end) throw new Error(`${this.user}: audio never came back:\n${this.cli.output()}`);
      await sleep(20);
    }
    return Date.now() - since;
  }
  // Share of `hz` in what was received in the last second (the recording until now).
  // The tone fills the last second of the recording, within 6 s (the writer buffers; a path
  // just rebuilt may still be starting).
  async hears(hz) {
    return heardWithin(6000, () => recordingEndsWith(this.wav, hz));
  }
  async hangUp() { this.cli.kill(); return this.cli.exited; }
  // The call ended failed/network, said once, and the CLI exited with 13 (failed).
  async failedNetwork(ms) {
    await this.cli.waitFor('failed (network)', ms);
    assert.equal(await this.cli.exited, 13, this.cli.output());
    // Once ("failed (network)" as its own line; the summary after it says "call failed …").
    assert.equal(this.cli.output().split('\nfailed (network)').length - 1, 1, this.cli.output());
  }
  async ended() { return this.cli.exited; }
  output() { return this.cli.output(); }
  async close() {
    this.cli?.kill();
    if (process.env.LAB_DEBUG && this.cli) console.log(`--- ${this.user}:\n${this.cli.output()}`);
  }
}

export class BrowserEnd {
  constructor(server, side, user, hz) {
    Object.assign(this, { server, side, user, hz, kind: 'Chromium', recoveryS: RECOVERY_TIMEOUT_S });
  }
  async ready() {
    if (this.page) return;
    this.page = await ctx.lab.chromium(this.side, this.server, this.hz);
    await this.page.evaluate((s) => { window.dialtoneMediaRecoveryTimeoutS = s; }, this.recoveryS);
    await t.signIn(this.page, this.user[0].toUpperCase() + this.user.slice(1), this.user);
  }
  async call(other) { await t.call(this.page, other.user); }
  async answerNext() {}
  async accept() {
    await t.screen(this.page, 'incoming', 20000);
    await this.page.click('#accept');
  }
  async connected() {
    await this.page.waitForFunction(() => document.getElementById('timer')?.textContent, null, { timeout: 30000 });
    await t.poll(this.page, async () => {
      for (const s of await window.dialtone.stats()) if (s.type === 'inbound-rtp' && s.packetsReceived > 10) return true;
      return false;
    }, { timeout: 15000, what: `${this.user}: audio arriving` });
  }
  async path() { return browserPath(this.page); }
  async audioBack(since, ms) {
    const count = () => t.rtp(this.page).then((r) => r.packetsReceived);
    const at = await audioBackAt(count, await count().catch(() => 0), since, ms)
      .catch(() => { throw new Error(`${this.user}: audio never came back`); });
    return at - since;
  }
  async hears(hz) {
    return heardWithin(6000, async () => {
      const h = await t.listen(this.page);
      return t.near(h.hz, hz) && h.db > -70;
    });
  }
  // Chromium's own floor after an address change: ms from `since` until a fresh
  // RTCPeerConnection in this page gathers a host candidate on `address`. Chromium on Linux
  // hands WebRTC a new network list only 2 s after the address appears (its
  // NetworkChangeNotifierLinux debounces IP address changes by 2000 ms), so no page can use the
  // new address sooner.
  async seesAddress(address, since, ms) {
    for (const end = Date.now() + ms; Date.now() < end;) {
      const started = Date.now();
      const seen = await this.page.evaluate(async (want) => {
        const pc = new RTCPeerConnection();
        pc.createDataChannel('probe');
        const found = new Promise((resolve) => {
          pc.onicecandidate = (e) => { if (!e.candidate) resolve(false); else if (e.candidate.address === want) resolve(true); };
          setTimeout(() => resolve(false), 100);
        });
        await pc.setLocalDescription(await pc.createOffer());
        const r = await found;
        pc.close();
        return r;
      }, address).catch(() => false);
      if (seen) return started - since;  // (it gathered on it within this probe's 100 ms)
      await sleep(20);
    }
    throw new Error(`${this.user}: Chromium never gathered on ${address}`);
  }
  async hangUp() { await this.page.click('#hangup'); }
  async ended() { await t.screen(this.page, 'ended'); }
  // The call ended failed/network and the page says so (the outcome screen names the network).
  async failedNetwork(ms) {
    await t.screen(this.page, 'ended', ms);
    const text = await this.page.textContent('body');
    assert.match(text, /network|connection/i, text);
  }
  output() { return ''; }
  async close() { await this.page?.closeAll(); this.page = null; }
}

// aiortc (tests/web/aiortc_peer.py): an independent, spec-strict WebRTC peer.
export class AiortcEnd {
  constructor(server, side, user, hz) { Object.assign(this, { server, side, user, hz, kind: 'aiortc' }); }
  async ready() {}
  start(args) {
    this.wav = join(ctx.lab.dir, `${this.user}-${Date.now()}.wav`);
    const proc = ctx.lab.spawn(ctx.lab.client(this.side), '/usr/bin/python3', [join(HERE, 'aiortc_peer.py'),
      '--server', this.server.url, '--user', this.user, '--tone', String(this.hz), '--record', this.wav, ...args]);
    let output = '';
    proc.stdout.on('data', (d) => { output += d; });
    proc.stderr.on('data', (d) => { output += d; });
    this.exited = new Promise((r) => proc.once('exit', (code, signal) => r(signal ? `signal ${signal}` : code)));
    this.proc = proc;
    this.output = () => output;
  }
  async waitFor(re, ms) {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.output());
      if (m) return m;
      if (this.proc.exitCode !== null || Date.now() > end) throw new Error(`aiortc: no ${re} in:\n${this.output()}`);
      await sleep(50);
    }
  }
  async call(other) { this.start(['--call', other.user]); }
  async answerNext() { this.start(['--answer']); await this.waitFor(/waiting for a call/, 15000); }
  async accept() {}
  async connected() { await this.waitFor(/media: audio flowing/, 30000); }
  async path() {
    const m = await this.waitFor(/media path: (\S+) (\S+) (\S+)/, 10000);
    return { local: m[1], remote: m[2], protocol: m[3] };
  }
  async hears(hz) {
    return heardWithin(6000, () => recordingEndsWith(this.wav, hz));
  }
  async hangUp() { this.proc.kill('SIGTERM'); return this.ended(); }
  // The call ended normally, and every candidate the other side sent named a section.
  async ended() {
    const code = await this.exited;
    assert.match(this.output(), /candidates: applied [1-9]\d*, refused 0/, this.output());
    return code;
  }
  async close() { if (this.proc?.exitCode === null) this.proc.kill('SIGTERM'); }
}

// a calls b; b answers; both connected with audio; returns both paths.
export async function place(a, b) {
  await a.ready(); await b.ready();
  await b.answerNext();
  await a.call(b);
  await b.accept();
  try {
    await a.connected(); await b.connected();
  } catch (e) {
    // Either end's failure names its own output; the other end's is half of the story.
    e.message += `\n--- ${a.kind} (a) ---\n${a.output()}\n--- ${b.kind} (b) ---\n${b.output()}`;
    throw e;
  }
  // ICE goes on checking better pairs after the first one carries audio (Chromium nominates
  // early and moves to a better pair when one succeeds): the path it settles on.
  await sleep(2500);
  const pa = await a.path(); const pb = await b.path();
  console.log(`    ${a.kind} (a) path ${JSON.stringify(pa)}; ${b.kind} (b) path ${JSON.stringify(pb)}`);
  return [pa, pb];
}

export async function tonesBothWays(a, b) {
  assert.ok(await a.hears(b.hz), `${a.user} does not hear ${b.hz} Hz\n${a.output()}`);
  assert.ok(await b.hears(a.hz), `${b.user} does not hear ${a.hz} Hz\n${b.output()}`);
}

export function reset() {
  for (const s of ['a', 'b']) { ctx.lab.nat(s, 'eim'); ctx.lab.firewall(s, 'open'); ctx.lab.restoreAddress(s); }
}

// The side whose network misbehaves (a) and the other (b), in the order the lab measures.
export async function audioBackOnBoth(a, b, since, ms) {
  const [ta, tb] = await Promise.all([a.audioBack(since, ms), b.audioBack(since, ms)]);
  console.log(`    audio back after ${ta} ms on ${a.kind} (a), ${tb} ms on ${b.kind} (b)`);
  return Math.max(ta, tb);
}

// The summary of a call that went well: ended by a person, nothing to explain, no recovery
// given up.
function wentWell(s) {
  assert.equal(s.state, 'ended', JSON.stringify(s));
  assert.equal(s.likelyCause, null, s.likelyCause);
  assert.equal(typeof s.setupMs, 'number');
  for (const x of [s.caller, s.receiver]) {
    assert.ok(!x.recoveries.some((r) => r.outcome === 'gave_up'), JSON.stringify(x));
  }
}

// The summary sides of the ends that report (not aiortc).
function reporting(sides) {
  return [sides.a, sides.b].filter((x) => x.reported);
}

export const CASES = [
  ['both behind endpoint-independent NAT: direct over server-reflexive candidates', async (a, b) => {
    let [pa, pb] = await place(a, b);
    // The relay may carry the first audio (its checks need no hole punched); ICE moves to the
    // direct pair once that one's checks get through both NATs. Under load that can take a few
    // seconds: wait for it, up to 10 s.
    for (let end = Date.now() + 10000; (pa.local === 'relay' || pa.remote === 'relay') && Date.now() < end;) {
      await sleep(500);
      [pa, pb] = [await a.path(), await b.path()];
    }
    console.log(`    settled: ${JSON.stringify(pa)} / ${JSON.stringify(pb)}`);
    for (const p of [pa, pb]) {
      assert.notEqual(p.local, 'relay', JSON.stringify(p));
      assert.notEqual(p.remote, 'relay', JSON.stringify(p));
      assert.ok(['srflx', 'prflx'].includes(p.remote), `the other side is reached at its NAT: ${JSON.stringify(p)}`);
      assert.equal(p.protocol, 'udp');
    }
    await tonesBothWays(a, b);
  }, (s, sides) => {
    wentWell(s);
    for (const side of reporting(sides)) {
      assert.match(side.path.words, /^direct \((srflx|prflx|host) to (srflx|prflx)\)$/, JSON.stringify(side));
      assert.equal(side.path.protocol, 'udp');
    }
  }],
  ['one side behind a symmetric NAT: through the relay', async (a, b) => {
    ctx.lab.nat('a', 'symmetric');
    const [pa, pb] = await place(a, b);
    assert.ok(pa.local === 'relay' || pb.local === 'relay', `${JSON.stringify(pa)} ${JSON.stringify(pb)}`);
    assert.ok(pa.local === 'relay' || pa.remote === 'relay');
    await tonesBothWays(a, b);
  }, (s, sides) => {
    wentWell(s);
    for (const side of reporting(sides)) assert.match(side.path.words, /^relayed over UDP$/, JSON.stringify(side));
  }],
  ['one side with all outbound UDP blocked: TURN over TCP', async (a, b) => {
    ctx.lab.firewall('a', 'no-udp');
    const [pa] = await place(a, b);
    assert.equal(pa.local, 'relay');
    assert.equal(pa.protocol, 'tcp');
    await tonesBothWays(a, b);
  }, (s, sides, ends) => {
    wentWell(s);
    if (ends.a.kind === 'aiortc') return;
    assert.equal(sides.a.path.words, 'relayed over TCP');
    assert.ok(s.notes.some((n) => /no UDP: relayed over TCP/.test(n)), JSON.stringify(s.notes));
  }],
  ['one side where only TCP to port 443 passes: TURN on 443 (TLS from the browser)', async (a, b) => {
    ctx.lab.firewall('a', 'only-443');
    const [pa] = await place(a, b);
    assert.equal(pa.local, 'relay');
    // Chromium speaks TLS to turns:…:443. libnice 0.1.21 speaks plain TCP to the same port (it
    // has TLS only for Google's and Microsoft's dialects): the C++ SDK says "tcp", truthfully.
    assert.equal(pa.protocol, a.kind === 'Chromium' ? 'tls' : 'tcp');
    await tonesBothWays(a, b);
  }, (s, sides, ends) => {
    wentWell(s);
    assert.equal(sides.a.path.words, ends.a.kind === 'Chromium' ? 'relayed over TLS' : 'relayed over TCP');
  }],
  ['an address change mid-call: recovers by itself, audio back within 2 s (a browser: 0.5 s after Chromium sees the address)', async (a, b) => {
    await place(a, b);
    const since = Date.now();
    if (process.env.WEB_DEBUG) console.log(`address change @${since % 100000}`);
    const address = ctx.lab.changeAddress('a');
    const [took, floor] = await Promise.all([audioBackOnBoth(a, b, since, 10000),
      a.seesAddress ? a.seesAddress(address, since, 10000) : 0]);
    if (a.seesAddress) {
      // A browser whose own address changed cannot be back before Chromium lets WebRTC see
      // the new address (2 s on Linux, measured here): within 2 s of the change is impossible
      // for it, so it is held to 0.5 s after Chromium's own floor (0.2-0.26 s here).
      console.log(`    Chromium gathers on the new address after ${floor} ms`);
      assert.ok(took <= Math.max(2000, floor + 500), `audio came back after ${took} ms (Chromium's floor ${floor} ms)`);
    } else {
      assert.ok(took <= 2000, `audio came back after ${took} ms`);
    }
    await tonesBothWays(a, b);
  }, (s, sides) => {
    wentWell(s);
    // The path was rebuilt, and said so: a recovery that recovered, none that gave up.
    const recoveries = reporting(sides).flatMap((x) => x.recoveries);
    assert.ok(recoveries.some((r) => r.outcome === 'recovered'), JSON.stringify(recoveries));
  }],
  ['a 5 s blackout: the call recovers', async (a, b) => {
    await place(a, b);
    ctx.lab.firewall('a', 'blackout');
    await sleep(5000);
    ctx.lab.firewall('a', 'open');
    // Back on the same path (ICE kept it) or on a rebuilt one: either way the tones return.
    await sleep(2000);
    await tonesBothWays(a, b);
  }, (s) => wentWell(s)],
  [`a blackout longer than media_recovery_timeout_s (${SHORT_RECOVERY_TIMEOUT_S} s): failed/network on both sides, once`, async (a, b) => {
    a.recoveryS = b.recoveryS = SHORT_RECOVERY_TIMEOUT_S;
    await place(a, b);
    ctx.lab.firewall('a', 'blackout');
    // b still reaches the server: it gives up after the timeout and fails the call; a learns
    // it when its network comes back (it has given up by itself meanwhile).
    await b.failedNetwork(SHORT_RECOVERY_TIMEOUT_S * 1000 + 8000);
    ctx.lab.firewall('a', 'open');
    await a.failedNetwork(15000);
    return 'ended';
  }, Object.assign((s, sides) => {
    assert.equal(s.state, 'failed');
    assert.equal(s.reason, 'network');
    assert.match(s.likelyCause, /^path lost \d+(\.\d)? s, gave up \(.+'s side\)$/, s.likelyCause);
    // A side gave up and said so; each side reported its recovery — the side behind the
    // blackout too, its reports having waited in a stalled connection (placed by their `at`,
    // not by when they arrived) — given up, or unfinished when the other side ended the call first.
    const recoveries = reporting(sides).map((x) => x.recoveries);
    assert.ok(recoveries.flat().some((r) => r.outcome === 'gave_up'), JSON.stringify(recoveries));
    for (const r of recoveries) {
      assert.ok(r.some((x) => ['gave_up', 'unfinished'].includes(x.outcome)), JSON.stringify(recoveries));
    }
    for (const x of reporting(sides)) assert.ok(x.path, `the path before the blackout: ${JSON.stringify(x)}`);
  }, {
    // A browser behind the blackout may be back on the WebSocket only ~30 s later (Chromium's
    // connect attempt made during the blackout backs off): its held reports arrive then.
    lateReportsMs: 45000,
  })],
];



// The call's timeline and summary, read back through the operator API once both ends are
// done (their last reports are sent as their media closes), checked by the case's
// `check(summary, sides)` — `sides` maps a and b to the summary's side objects — and printed.
// A report can arrive a little after the call's end (one held up in a stalled connection), so
// the check is retried for up to 10 s (a case's `check.lateReportsMs`) before its failure counts. aiortc sends no reports: its
// side is checked for that only.
async function checkTimeline(a, b, check) {
  const server = a.server;
  let details, failure;
  for (const end = Date.now() + (check.lateReportsMs ?? 10000); ;) {
    const [call] = ctx.lab.operator(server, `/v1/admin/calls?user=${a.user}&limit=1`).calls;
    assert.ok(call, `no call of ${a.user}`);
    details = ctx.lab.operator(server, `/v1/admin/calls/${call.callId}/timeline`);
    const { summary } = details;
    try {
      assert.ok(!is_active(summary.state), `the call is still ${summary.state}`);
      for (const [e, side] of [[a, summary.caller], [b, summary.receiver]]) {
        assert.equal(side.reported, e.kind !== 'aiortc', `${e.kind} reported: ${JSON.stringify(side)}`);
      }
      check(summary, { a: summary.caller, b: summary.receiver }, { a, b });
      failure = null;
    } catch (e) {
      failure = e;
    }
    if (!failure || Date.now() > end) break;
    await sleep(250);
  }
  const { call, timeline, summary } = details;
  const start = Date.parse(call.timestamp);
  console.log(`    timeline of ${call.callId} (${timeline.length} events):`);
  for (const e of timeline) {
    const { at, type, ...rest } = e;
    console.log(`      +${((Date.parse(at) - start) / 1000).toFixed(3)} s ${type} ${JSON.stringify(rest)}`);
  }
  console.log(`    summary: ${JSON.stringify(summary)}`);
  if (failure) throw failure;
}

function is_active(state) {
  return ['calling', 'ringing', 'accepted', 'connecting', 'connected'].includes(state);
}

// One case for a pairing (made by `make`): the network reset before and after; both CLIs exit 0
// (a crash at teardown, seen once after TURN over TCP, shows here).
export async function runCase(make, body, check) {
  reset();
  const [a, b] = make();
  try {
    if (await body(a, b) !== 'ended') {
      const codeA = await a.hangUp();
      if (codeA !== undefined) assert.equal(codeA, 0, a.output());
      const code = await b.ended();
      if (code !== undefined) assert.equal(code, 0, b.output());
    }
    if (check) await checkTimeline(a, b, check);
  } finally {
    await a.close(); await b.close();
    reset();
  }
}
