// SPDX-License-Identifier: Apache-2.0
// Push never delays signaling: the same call flows (dialtone-bench, 10 pairs, each receiver with
// two push targets, FCM and APNs) against dialtoned without push targets, with push services that
// answer at once, and with push services that never answer (every request hangs until
// push_timeout_s). The push services are the loopback stand-ins of tests/push, which verify every
// request as the real ones do. Prints op→event latency and flow rate of each, and the ratios.
//   node bench/push_bench.mjs <dialtone-bench> [seconds]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [bench, seconds = '10'] = process.argv.slice(2);
const repo = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'dialtone-push-bench-'));
const vec = (f) => JSON.parse(readFileSync(join(repo, 'tests/push/data', f), 'utf8'));
const fcm = vec('fcm-oauth-jwt.json');
const apns = vec('apns-jwt.json');
writeFileSync(join(dir, 'config.json'), JSON.stringify({
  cert: join(repo, 'tests/push/certs/server.pem'), key: join(repo, 'tests/push/certs/server.key'),
  fcm: { publicKeyPem: fcm.public_key_pem, clientEmail: fcm.service_account_json.client_email,
    projectId: fcm.service_account_json.project_id },
  apns: { publicKeyPem: apns.public_key_pem, keyId: apns.key_id, teamId: apns.team_id, bundleId: 'com.example.callapp' },
}));
const fake = spawn(process.execPath, [join(repo, 'tests/push/fake_push_service.mjs'), join(dir, 'config.json')],
  { stdio: ['ignore', 'pipe', 'inherit'] });
const [tls, control] = await new Promise((resolve, reject) => {
  fake.stdout.on('data', (d) => {
    const m = /LISTENING (\d+) (\d+)/.exec(d.toString());
    if (m) resolve([m[1], m[2]]);
  });
  fake.once('exit', () => reject(new Error('the fake push service did not start')));
});
const base = `https://127.0.0.1:${tls}`;
writeFileSync(join(dir, 'sa.json'), JSON.stringify({ ...fcm.service_account_json, token_uri: `${base}/token` }), { mode: 0o600 });
writeFileSync(join(dir, 'AuthKey.p8'), apns.p8_private_key_pem, { mode: 0o600 });
const pushFlags = ['--fcm-service-account-file', join(dir, 'sa.json'), '--fcm-base-url', base,
  '--apns-key-file', join(dir, 'AuthKey.p8'), '--apns-key-id', apns.key_id, '--apns-team-id', apns.team_id,
  '--apns-bundle-id', 'com.example.callapp', '--apns-base-url', base, '--push-ca-file',
  join(repo, 'tests/push/certs/ca.pem'), '--push-timeout-s', '5'];
const setMode = (m) => fetch(`http://127.0.0.1:${control}/control/mode`, { method: 'POST', body: JSON.stringify(m) });

// CPU seconds a process has used (utime + stime), from /proc.
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function run(label, devices) {
  const cpu0 = cpuSeconds(fake.pid);
  const args = ['--pairs', '10', '--flows', '100000000', '--duration', seconds, '--push-devices', String(devices)];
  for (const f of pushFlags) args.push(`--server-arg=${f}`);
  const r = spawnSync(bench, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${label}: dialtone-bench failed\n${r.stdout}\n${r.stderr}`);
  const num = (re) => { const m = re.exec(r.stdout); return m ? Number(m[1]) : NaN; };
  const fakeCpu = cpuSeconds(fake.pid) - cpu0;
  const row = {
    label, flows: num(/flows_per_s=([\d.]+)/), p50: num(/op_to_event_us p50=([\d.]+)/), p99: num(/ p99=([\d.]+)/),
    cpu: num(/server_cpu_ms_per_flow=([\d.]+)/),
  };
  const flows = num(/ flows=(\d+)/);
  console.log(`${label.padEnd(34)} flows/s=${row.flows}  op→event p50=${row.p50}us p99=${row.p99}us  `
    + `server cpu/flow=${row.cpu}ms  push services' cpu/flow=${(1000 * fakeCpu / flows).toFixed(3)}ms`);
  return row;
}

// Pushes when many calls start at once: `calls` callers call at the same moment (`rounds` times),
// each receiver with one FCM target. Per incoming-call push: create sent → the push's request
// arrived at the provider (its headers; both clocks are this machine's). With `--push-concurrency`
// below the burst, also how soon a freed slot is used: the (C+j)-th request to arrive against the
// j-th answer sent (the earliest moment its slot could be free).
async function burst(label, { calls, rounds = 3, delayMs = 0, concurrency = 0 }) {
  await setMode({ hangAll: false, record: true, delayMs });
  await fetch(`http://127.0.0.1:${control}/control/clear`, { method: 'POST' });
  const args = ['--pairs', String(calls), '--push-devices', '1', '--burst-rounds', String(rounds),
    '--user-prefix', `b${calls}d${delayMs}c${concurrency}`];
  const flags = [...pushFlags];
  if (concurrency) flags.push('--push-concurrency', String(concurrency));
  for (const f of flags) args.push(`--server-arg=${f}`);
  const cpu0 = cpuSeconds(fake.pid);
  const r = spawnSync(bench, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${label}: dialtone-bench failed\n${r.stdout}\n${r.stderr}`);
  const fakeCpu = cpuSeconds(fake.pid) - cpu0;
  const created = new Map();
  const answered = [];
  for (const m of r.stdout.matchAll(/^CREATE (\S+) ([\d.]+) ([\d.]+)$/gm)) {
    created.set(m[1], Number(m[2]));
    answered.push(Number(m[3]) - Number(m[2]));
  }
  answered.sort((a, b) => a - b);
  const { events } = await (await fetch(`http://127.0.0.1:${control}/control/events`)).json();
  if (process.env.BENCH_DEBUG) { const kinds = {}; for (const e of events) { const k = e.service + '/' + (e.data?.type ?? e.status) + '/' + created.has(e.data?.callId); kinds[k] = (kinds[k] || 0) + 1; } console.error(JSON.stringify(kinds)); }
  const pushes = events.filter((e) => e.service === 'fcm' && e.data?.type === 'incoming_call'
    && created.has(e.data.callId));
  // At least once: a push may be sent again (a retried request the provider had received).
  // The first arrival per call counts; the others are reported.
  const first = new Map();
  for (const e of pushes)
    if (!first.has(e.data.callId) || e.startMs < first.get(e.data.callId).startMs) first.set(e.data.callId, e);
  const again = pushes.length - first.size;
  const pct = (v, p) => (v.length ? v[Math.min(v.length - 1, Math.floor(p / 100 * v.length))] : NaN);
  const lat = [...first.values()].map((e) => e.startMs - created.get(e.data.callId)).sort((a, b) => a - b);
  if (process.env.BENCH_DEBUG) {
    // Per round (rounds are seconds apart): create → answer and create → push, and the calls whose
    // push arrived more than once.
    const byRound = (pairs) => {
      const m = new Map();
      for (const [t, v] of pairs) {
        const k = Math.round(t / 1000);
        if (!m.has(k)) m.set(k, []);
        m.get(k).push(v);
      }
      return [...m.values()].map((v) => v.sort((a, b) => a - b));
    };
    const answers = byRound([...r.stdout.matchAll(/^CREATE \S+ ([\d.]+) ([\d.]+)$/gm)]
      .map((m) => [Number(m[1]), Number(m[2]) - Number(m[1])]));
    const arrivals = byRound([...first.values()].map((e) => [created.get(e.data.callId),
      e.startMs - created.get(e.data.callId)]));
    answers.forEach((a, i) => console.error(`round ${i + 1}: create→answer p50=${pct(a, 50).toFixed(1)} `
      + `max=${a.at(-1).toFixed(1)}  create→push p50=${pct(arrivals[i], 50).toFixed(1)} `
      + `p90=${pct(arrivals[i], 90).toFixed(1)} max=${arrivals[i].at(-1).toFixed(1)}`));
    const perCall = new Map();
    for (const e of pushes) perCall.set(e.data.callId, [...(perCall.get(e.data.callId) || []), e]);
    for (const list of [...perCall.values()].filter((l) => l.length > 1).slice(0, 5)) {
      const t = created.get(list[0].data.callId);
      console.error(`sent again: ${list.map((e) => `at ${(e.startMs - t).toFixed(1)}ms status=${e.status}`).join(', ')}`);
    }
  }
  const row = { label, pushes: first.size, again, expected: calls * rounds, p50: pct(lat, 50), p99: pct(lat, 99), max: pct(lat, 100) };
  let slot = '';
  if (concurrency) {
    // Per round: arrivals and answers in order; the (C+j)-th arrival waited for the j-th answer.
    const gaps = [];
    const byRound = new Map();
    for (const e of pushes) {
      const t = created.get(e.data.callId);
      const k = Math.round(t / 1000);  // rounds are seconds apart; a round's creates within ms
      if (!byRound.has(k)) byRound.set(k, []);
      byRound.get(k).push(e);
    }
    for (const list of byRound.values()) {
      const arrivals = list.map((e) => e.startMs).sort((a, b) => a - b);
      const answers = list.map((e) => e.answeredMs).sort((a, b) => a - b);
      for (let j = 0; concurrency + j < arrivals.length; ++j) gaps.push(arrivals[concurrency + j] - answers[j]);
    }
    gaps.sort((a, b) => a - b);
    row.slotP50 = pct(gaps, 50);
    row.slotP99 = pct(gaps, 99);
    row.slotMax = gaps.at(-1);
    slot = `  freed slot → next push p50=${row.slotP50.toFixed(1)}ms p99=${row.slotP99.toFixed(1)}ms max=${row.slotMax.toFixed(1)}ms`;
  }
  // The stand-in provider is one Node event loop on the same two cores: it takes each request in
  // turn, so its CPU per request × a round's requests is a floor under that round's last arrival.
  row.providerMsPerRequest = (1000 * fakeCpu) / events.length;
  row.replyP50 = pct(answered, 50);
  row.replyP99 = pct(answered, 99);
  console.log(`${label.padEnd(44)} pushes=${row.pushes}/${row.expected}${again ? ` (+${again} sent again)` : ''}  create→push p50=${row.p50.toFixed(1)}ms `
    + `p99=${row.p99.toFixed(1)}ms max=${row.max.toFixed(1)}ms  (create→its answer p50=${row.replyP50.toFixed(1)}ms `
    + `p99=${row.replyP99.toFixed(1)}ms; provider CPU per request ${row.providerMsPerRequest.toFixed(3)}ms)${slot}`);
  await setMode({ hangAll: false, record: false, delayMs: 0 });
  return row;
}

const part = process.env.BENCH_PART || 'all';  // all, flows or burst
try {
  if (part !== 'flows') {
    const calls = Number(process.env.BENCH_CALLS || 500);
    const only = process.env.BENCH_BURST;  // one of them: now, slow, slots
    if (!only || only === 'now') await burst(`${calls} calls at once, provider answers at once`, { calls });
    if (!only || only === 'slow') await burst(`${calls} calls at once, provider answers in 200 ms`, { calls, delayMs: 200 });
    if (!only || only === 'slots') await burst(`${calls} calls at once, push_concurrency 8`, { calls, concurrency: 8 });
  }
  if (part !== 'burst') await flowLines();
} finally {
  fake.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

// Signaling while pushing: the same flows without push targets, with services that answer and
// with services that hang.
async function flowLines() {
  await setMode({ hangAll: false, record: false });
  const none = run('no push targets', 0);
  const ok = run('2 targets each, services answer', 2);
  await setMode({ hangAll: true, record: false });
  const hung = run('2 targets each, services hang', 2);
  const ratio = (a, b) => (a / b).toFixed(2);
  console.log(`ratios to "no push targets": answering p50 ${ratio(ok.p50, none.p50)}x p99 ${ratio(ok.p99, none.p99)}x `
    + `flows ${ratio(ok.flows, none.flows)}x; hanging p50 ${ratio(hung.p50, none.p50)}x p99 ${ratio(hung.p99, none.p99)}x `
    + `flows ${ratio(hung.flows, none.flows)}x`);
}
