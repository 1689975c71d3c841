// SPDX-License-Identifier: Apache-2.0
// Test support for the browser client: real dialtoned processes, Debian's Chromium through
// playwright-core (never a downloaded browser), tones in and tone detection out.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const DIALTONED = process.env.DIALTONED;
export const DIALTONE_CLI = process.env.DIALTONE_CLI;
export const ARTIFACTS = process.env.WEB_ARTIFACTS || join(tmpdir(), 'dialtone-web-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

export function tempDir(prefix = 'dialtone-web-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

// Resolves with the first line of a child's stdout that matches, or rejects after ms.
function waitForLine(proc, re, ms, what) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no line matching ${re} in ${ms} ms`)), ms);
    const onData = (d) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) { clearTimeout(timer); proc.stdout.off('data', onData); resolve(m); }
    };
    proc.stdout.on('data', onData);
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited (${code}) before ${re}`)); });
  });
}

// Ends a child we started (SIGTERM, then waits for it) and removes its directory.
async function stopChild(proc, dir) {
  if (proc.exitCode === null && proc.signalCode === null) {  // (a killed child has only the latter)
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}

// A real dialtoned on an ephemeral loopback port with its own data directory. crash() kills it
// (SIGKILL); restart() starts it again on the same port and data, as after a crash.
// `listen` picks the port; `dataDir` may be shared by the nodes of a cluster (their
// development-token key).
export async function startServer(flags = [], { listen: at = '127.0.0.1:0', dataDir } = {}) {
  if (!DIALTONED) throw new Error('DIALTONED (path of the server binary) is not set');
  const dir = tempDir('dialtoned-web-');
  const server = { dir, log: [] };
  const run = async (listen) => {
    const proc = spawn(DIALTONED, ['--listen', listen, '--data-dir', dataDir ?? join(dir, 'data'),
      '--log-level', 'info', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stderr.on('data', (d) => server.log.push(d.toString()));
    const m = await waitForLine(proc, /LISTENING ([\d.]+):(\d+)/, 15000, 'dialtoned');
    server.proc = proc;
    server.url = `http://127.0.0.1:${m[2]}`;
  };
  await run(at);
  server.stop = () => stopChild(server.proc, dir);
  server.crash = async () => {
    const exited = new Promise((r) => server.proc.once('exit', r));
    server.proc.kill('SIGKILL');
    await exited;
  };
  server.restart = () => run(`127.0.0.1:${new URL(server.url).port}`);
  return server;
}

// A free loopback TCP port (for servers whose URLs must be known before they start).
export async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, ms, what) {
  const net = await import('node:net');
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((r) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); r(true); });
      c.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Debian's PostgreSQL 15 in a temporary directory (as the postgres user when root): url(db)
// creates a database and returns its URL.
export async function startPostgres() {
  const dir = tempDir('dialtone-web-pg-');
  const asPg = process.getuid() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  if (asPg.length) spawnSync('chown', ['postgres', dir]);
  const bin = '/usr/lib/postgresql/15/bin';
  const run = (args) => spawnSync(asPg[0] ?? args[0], asPg.length ? [...asPg.slice(1), ...args] : args.slice(1));
  const init = run([`${bin}/initdb`, '-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const args = [`${bin}/postgres`, '-D', join(dir, 'data'), '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'];
  const proc = spawn(asPg[0] ?? args[0], asPg.length ? [...asPg.slice(1), ...args] : args.slice(1),
    { stdio: 'ignore' });
  await waitForPort(port, 30000, 'PostgreSQL');
  let n = 0;
  return {
    url(name = `db${++n}`) {
      for (let i = 0; i < 100; i++) {  // it may still be starting up
        const r = run(['/usr/bin/psql', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres',
          '-c', `CREATE DATABASE ${name}`]);
        if (r.status === 0) return `postgresql://postgres@127.0.0.1:${port}/${name}`;
        spawnSync('sleep', ['0.1']);
      }
      throw new Error('cannot create a PostgreSQL database');
    },
    stop: () => stopChild(proc, dir),
  };
}

// Debian's nats-server on a free loopback port.
export async function startNats() {
  const dir = tempDir('dialtone-web-nats-');
  const port = await freePort();
  const proc = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await waitForPort(port, 15000, 'nats-server');
  return { url: `nats://127.0.0.1:${port}`, stop: () => stopChild(proc, dir) };
}

// The loopback push services of tests/push (FCM, APNs, Web Push) on Node: a Web Push service
// that checks VAPID and decrypts what dialtoned sends. flags: dialtoned's flags to use it.
const REPO = new URL('../..', import.meta.url).pathname;
export async function startFakePush() {
  const dir = tempDir('dialtone-fake-push-');
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({
    cert: join(REPO, 'tests/push/certs/server.pem'), key: join(REPO, 'tests/push/certs/server.key'),
    fcm: {}, apns: {},
  }));
  const proc = spawn(process.execPath, [join(REPO, 'tests/push/fake_push_service.mjs'), config],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const m = await waitForLine(proc, /LISTENING (\d+) (\d+)/, 10000, 'fake push service');
  const control = `http://127.0.0.1:${m[2]}`;
  const json = async (path, body) => (await fetch(control + path, body === undefined ? {} : {
    method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' },
  })).json();
  return {
    flags: ['--webpush-hosts', '127.0.0.1', '--push-ca-file', join(REPO, 'tests/push/certs/ca.pem'),
      '--vapid-subject', 'mailto:ops@example.com'],
    subscribe: (applicationServerKey) => json('/control/subscribe', { applicationServerKey }),
    events: async () => (await json('/control/events')).events,
    stop: () => stopChild(proc, dir),
  };
}

// A mono 16-bit 48 kHz WAV of a sine tone (Chromium's fake microphone loops it).
export function toneWav(path, hz, seconds = 10) {
  const rate = 48000;
  const n = rate * seconds;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + n * 2, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; ++i) buf.writeInt16LE(Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  writeFileSync(path, buf);
  return path;
}

// Reads a 16-bit PCM WAV (as written by the C++ SDK's recorder): {rate, channels, samples[]}.
export function readWav(path) {
  const b = readFileSync(path);
  let off = 12;
  let rate = 0; let channels = 1; let data = null;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') { channels = b.readUInt16LE(off + 10); rate = b.readUInt32LE(off + 12); }
    if (id === 'data') { data = b.subarray(off + 8, Math.min(b.length, off + 8 + size)); break; }
    off += 8 + size + (size & 1);
  }
  if (!data) throw new Error(`${path}: no data chunk`);
  const frames = Math.floor(data.length / (2 * channels));
  const samples = new Float32Array(frames);
  for (let i = 0; i < frames; ++i) samples[i] = data.readInt16LE(i * 2 * channels) / 32768;
  return { rate, channels, samples };
}

// Power of one frequency in a window (Goertzel), normalized to the window's energy.
export function toneShare(samples, rate, hz, from = 0, len = samples.length) {
  const k = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0; let s2 = 0; let energy = 0;
  for (let i = from; i < from + len && i < samples.length; ++i) {
    const s0 = samples[i] + k * s1 - s2;
    s2 = s1; s1 = s0;
    energy += samples[i] * samples[i];
  }
  const power = s1 * s1 + s2 * s2 - k * s1 * s2;
  return energy > 0 ? (2 * power) / (len * energy) : 0;
}

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection'];

// One Chromium whose fake microphone plays a tone of `hz`; micAllowed: false refuses the
// permission, microphone: false leaves the machine's real (here: absent) devices.
export async function launch({ hz = 440, micAllowed = true, microphone = true } = {}) {
  const dir = tempDir('dialtone-chromium-');
  const args = [...CHROMIUM_ARGS];
  if (microphone) {
    args.push('--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${toneWav(join(dir, 'tone.wav'), hz)}`);
  }
  if (micAllowed) args.push('--use-fake-ui-for-media-stream');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
  return {
    browser,
    async page(server, { notifications = false } = {}) {
      const context = await browser.newContext({ viewport: { width: 390, height: 760 } });
      const permissions = [...(micAllowed ? ['microphone'] : []), ...(notifications ? ['notifications'] : [])];
      if (permissions.length) await context.grantPermissions(permissions, { origin: server.url });
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('page error:', e.message));
      page.on('console', (m) => { if (m.type() === 'error' || process.env.WEB_DEBUG) console.error(`page ${m.type()}:`, m.text()); });
      await page.goto(server.url);
      return page;
    },
    async close() {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function signIn(page, name, userId, photo = '') {
  await page.fill('#name', name);
  if (userId) await page.fill('#user-id', userId);
  if (photo) await page.fill('#photo', photo);
  await page.click('button[type=submit]');
  await page.waitForSelector('#people');
}

// Clicks the Call button of a user on the home screen (the list refreshes every 5 s).
export async function call(page, userId) {
  await page.click(`#people button[data-user="${userId}"]`, { timeout: 15000 });
}

// `a` calls `b` (user id `bUserId`), `b` accepts, and both show the call timer (media is up).
export async function connect(a, b, bUserId) {
  await call(a, bUserId);
  await screen(b, 'incoming');
  await b.click('#accept');
  await talking(a, b);
}

// Each page shows the call timer: the call is connected there (media up).
export async function talking(...pages) {
  for (const p of pages) {
    await p.waitForFunction(() => document.getElementById('timer')?.textContent, null, { timeout: 20000 });
  }
}

export async function screen(page, name, timeout = 15000) {
  await page.waitForSelector(`body[data-screen="${name}"]`, { timeout });
}

export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

// Seconds shown by the call timer (m:ss or h:mm:ss).
export async function timerSeconds(page) {
  const t = await page.textContent('#timer');
  const parts = t.trim().split(':').map(Number);
  return parts.reduce((a, b) => a * 60 + b, 0);
}

// What arrives on the remote audio element: an AnalyserNode over ~1 s, the dominant frequency
// and the level in dBFS of its bin.
export async function listen(page, ms = 1000) {
  return page.evaluate(async (ms) => {
    const el = document.getElementById('remote-audio');
    if (!el.srcObject) return { hz: 0, db: -Infinity };
    const ctx = new AudioContext();
    const src = ctx.createMediaStreamSource(el.srcObject);
    const an = ctx.createAnalyser();
    an.fftSize = 8192;
    src.connect(an);
    const sum = new Float64Array(an.frequencyBinCount);
    const bins = new Float32Array(an.frequencyBinCount);
    const end = performance.now() + ms;
    let n = 0;
    while (performance.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      an.getFloatFrequencyData(bins);
      for (let i = 0; i < bins.length; ++i) sum[i] += 10 ** (bins[i] / 10);
      ++n;
    }
    let best = 1;
    for (let i = 2; i < sum.length; ++i) if (sum[i] > sum[best]) best = i;
    const hz = (best * ctx.sampleRate) / an.fftSize;
    const db = 10 * Math.log10(sum[best] / n);
    await ctx.close();
    return { hz, db };
  }, ms);
}

// The current call's RTP counters from getStats (through window.dialtone.stats()).
export async function rtp(page) {
  return page.evaluate(async () => {
    let bytesReceived = 0; let bytesSent = 0; let packetsReceived = 0;
    for (const s of await window.dialtone.stats()) {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') { bytesReceived += s.bytesReceived; packetsReceived += s.packetsReceived; }
      if (s.type === 'outbound-rtp' && s.kind === 'audio') bytesSent += s.bytesSent;
    }
    return { bytesReceived, bytesSent, packetsReceived };
  });
}

// Evaluates `fn` (it may be async) in the page until it returns something truthy, and returns that.
// (Playwright's waitForFunction does not await a promise: an async predicate passes at once.)
export async function poll(page, fn, { timeout = 10000, interval = 100, what = 'the condition' } = {}) {
  const until = Date.now() + timeout;
  for (;;) {
    const value = await page.evaluate(fn);
    if (value) return value;
    if (Date.now() >= until) throw new Error(`${what}: not met in ${timeout} ms`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

export function near(hz, target, tolerance = 15) {
  return Math.abs(hz - target) <= tolerance;
}

// Waits for a toast whose text matches.
export async function toastSeen(page, re, timeout = 10000) {
  await page.waitForFunction((src) => [...document.querySelectorAll('#toasts .toast')]
    .some((t) => new RegExp(src).test(t.textContent)), re.source, { timeout });
}

// GET `path` of the API as the page's signed-in user, in the page: the JSON body.
export async function apiGet(page, path) {
  return page.evaluate(async (path) => {
    const s = JSON.parse(localStorage.getItem('dialtone.session'));
    return (await fetch(path, { headers: { Authorization: `Bearer ${s.token}` } })).json();
  }, path);
}

// The site's microphone permission for the page's profile, as a person sets it in the site
// settings ('denied', 'granted', 'prompt'), through Chromium's DevTools protocol (the setting
// lasts as long as its session: it is not detached).
export async function setMicrophone(page, server, setting) {
  const cdp = await page.context().newCDPSession(page);
  const { targetInfo } = await cdp.send('Target.getTargetInfo');
  await cdp.send('Browser.setPermission', { permission: { name: 'microphone' }, setting,
    origin: server.url, browserContextId: targetInfo.browserContextId });
}

// The outcome screen (a call that ended before it was answered) with a title that matches.
export async function outcomeIs(page, re, timeout = 10000) {
  await screen(page, 'outcome', timeout);
  await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('ended')?.textContent || ''),
    re.source, { timeout });
}

// What the page's call sounds play (tones.js, through an AnalyserNode on all of them) for `ms`:
// every ~20 ms, the level (dBFS of its FFT bin) at each frequency of `hz`.
export async function recordTones(page, hz, ms) {
  return page.evaluate(async ({ hz, ms }) => {
    window.toneAnalyser ||= window.dialtone.toneTap();
    const an = window.toneAnalyser;
    const bins = new Float32Array(an.frequencyBinCount);
    const binOf = (f) => Math.round(f / (an.context.sampleRate / an.fftSize));
    const samples = [];
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      an.getFloatFrequencyData(bins);
      const level = {};
      // The strongest of the bin and its neighbours (a tone between two bins).
      for (const f of hz) level[f] = Math.max(bins[binOf(f) - 1], bins[binOf(f)], bins[binOf(f) + 1]);
      samples.push({ t: performance.now() - t0, level });
      await new Promise((r) => setTimeout(r, 20));
    }
    return samples;
  }, { hz, ms });
}

// The on/off runs of frequency `hz` in recorded samples: [{on, ms}] (a level above -60 dBFS is
// on), without the first and last runs (cut by the recording's edges).
export function cadence(samples, hz, threshold = -60) {
  const runs = [];
  for (const s of samples) {
    const on = s.level[hz] > threshold;
    const last = runs[runs.length - 1];
    if (last && last.on === on) last.end = s.t;
    else runs.push({ on, start: s.t, end: s.t });
  }
  return runs.slice(1, -1).map((r) => ({ on: r.on, ms: Math.round(r.end - r.start) }));
}

// Text of the caller's status line ("Calling…", "Ringing…").
export async function statusIs(page, re, timeout = 10000) {
  await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('call-status')?.textContent || ''),
    re.source, { timeout });
}

// The C++ command-line client as a child process, with its output collected.
export function cli(server, user, args) {
  if (!DIALTONE_CLI) throw new Error('DIALTONE_CLI (path of the dialtone binary) is not set');
  const proc = spawn(DIALTONE_CLI, ['--server', server.url, '--user', user, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d) => { output += d; });
  proc.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((r) => proc.once('exit', (code) => r(code)));
  return {
    proc, exited,
    output: () => output,
    async waitFor(text, ms = 20000) {
      const end = Date.now() + ms;
      while (!output.includes(text)) {
        if (proc.exitCode !== null || Date.now() > end) throw new Error(`dialtone: no "${text}" in:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    kill() { if (proc.exitCode === null) proc.kill('SIGTERM'); },
  };
}

// A real coturn on loopback with a shared secret (TURN REST), as the C++ tests run it.
export async function startCoturn(secret) {
  const dir = tempDir('coturn-web-');
  const port = 30000 + Math.floor(Math.random() * 10000);
  const minPort = 50000 + Math.floor(Math.random() * 140) * 100;
  const proc = spawn('turnserver', ['-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1',
    `--listening-port=${port}`, `--min-port=${minPort}`, `--max-port=${minPort + 99}`,
    `--static-auth-secret=${secret}`, '--realm=dialtone.test', '--no-tls', '--no-dtls', '--no-cli',
    '--allow-loopback-peers', '--fingerprint', '-v', '--log-file=stdout', '--simple-log',
    `--pidfile=${join(dir, 'turnserver.pid')}`, `--db=${join(dir, 'turndb')}`],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  proc.stdout.on('data', (d) => { log += d; });
  await waitForLine(proc, /IO method \(admin thread\)/, 10000, 'turnserver');
  return {
    url: `turn:127.0.0.1:${port}?transport=udp`,
    log: () => log,
    port,
    // The ports it relays from: a relay candidate on one of them was allocated by this turnserver.
    relayPorts: { min: minPort, max: minPort + 99 },
    stop: () => stopChild(proc, dir),
  };
}

// Runs a shell command (with `input` on its stdin), returns its output; fails with its stderr.
export function sh(cmd, input) {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
}

// A table of its own with one chain on the output hook (which sees both directions of loopback
// traffic), its rules in order. Written as accepts before a drop: nftables 1.0.6 (Debian 12)
// merges two adjacent `!=` port matches into one comparison of both ports, which drops what
// either one alone would have let through.
function nftOut(table, rules) {
  sh(`nft add table inet ${table} && nft add chain inet ${table} out '{ type filter hook output priority 0; }' && ` +
    rules.map((r) => `nft add rule inet ${table} out ${r}`).join(' && '));
}

// nftables in this test's private network namespace: drop every media packet — all UDP, and
// TCP (Chromium also pairs TCP host candidates) except dialtoned's port, so signaling goes on —
// until the returned function is called.
export function cutMedia(server) {
  const port = new URL(server.url).port;
  nftOut('webcut', [`tcp dport ${port} accept`, `tcp sport ${port} accept`, 'meta l4proto { tcp, udp } drop']);
  return () => sh('nft delete table inet webcut');
}

// nftables in this test's private network namespace: only paths through `coturn` — UDP to or
// from its port or its relay ports — and TCP to dialtoned's port (signaling) go; direct paths
// between the peers are dropped, so a call connects through TURN or not at all. The returned
// function lifts it.
export function onlyRelay(server, coturn) {
  const port = new URL(server.url).port;
  const turn = `{ ${coturn.port}, ${coturn.relayPorts.min}-${coturn.relayPorts.max} }`;
  nftOut('webrelay', [`udp dport ${turn} accept`, `udp sport ${turn} accept`, 'meta l4proto udp drop',
    `tcp dport ${port} accept`, `tcp sport ${port} accept`, 'meta l4proto tcp drop']);
  return () => sh('nft delete table inet webrelay');
}

// Every visible text of the page whose contrast with what is behind it is below WCAG AA (4.5:1,
// 3:1 for large text), from the rendered colours: the text's colour over the backgrounds of
// the element and its ancestors, composed.
export function lowContrast(page) {
  return page.evaluate(() => {
    const parse = (s) => {
      let m = /rgba?\(([^)]+)\)/.exec(s);
      if (m) {
        const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
        return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
      }
      m = /color\(srgb ([^)]+)\)/.exec(s);  // color-mix() resolves to this
      if (m) {
        const p = m[1].split(/[\s/]+/).filter(Boolean).map(Number);
        return { r: p[0] * 255, g: p[1] * 255, b: p[2] * 255, a: p.length > 3 ? p[3] : 1 };
      }
      return null;
    };
    const over = (top, under) => ({
      r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
      b: top.b * top.a + under.b * (1 - top.a), a: 1,
    });
    const lum = ({ r, g, b }) => {
      const f = (v) => { const x = v / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    // What is painted behind an element: the backgrounds of it and its ancestors, composed.
    const behind = (el) => {
      const chain = [];
      for (let e = el; e; e = e.parentElement) chain.unshift(e);
      let c = { r: 255, g: 255, b: 255, a: 1 };
      for (const e of chain) {
        const b = parse(getComputedStyle(e).backgroundColor);
        if (b && b.a > 0) c = over(b, c);
      }
      return c;
    };
    const problems = [];
    for (const el of document.body.querySelectorAll('*')) {
      const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim();
      if (!text || !el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
      if (el.closest('[hidden], .visually-hidden, :disabled, option, select')) continue;
      const style = getComputedStyle(el);
      const bg = behind(el);
      const fg = over(parse(style.color), bg);
      const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) problems.push(`"${text.slice(0, 40)}" ${ratio.toFixed(2)}:1`);
    }
    return problems;
  });
}
