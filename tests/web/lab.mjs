// SPDX-License-Identifier: Apache-2.0
// The field lab: real networks in network namespaces, built and removed by the test.
//
//   public segment 198.51.100.0/24 (bridge in ns "pub"):
//     198.51.100.1  coturn: STUN + TURN on 3478 (UDP and TCP), TURN over TLS on 443
//     198.51.100.2  dialtoned on 443 (plain HTTP: the firewall cases only care about the port);
//                   for a cluster, more nodes on .3, .4, with PostgreSQL and NATS on the
//                   segment's loopback
//   side a: client ns 10.0.1.2/24 → router ns (lan 10.0.1.1, wan 198.51.100.10) → public
//   side b: client ns 10.0.2.2/24 → router ns (lan 10.0.2.1, wan 198.51.100.20) → public
//
// Each router translates with nftables masquerade: "eim" keeps the client's source port where
// it can (one mapping per internal address and port, whatever the destination: endpoint-
// independent mapping, with the filtering of a stateful firewall), "symmetric" picks a random
// port for every new destination (`masquerade random`). Its forward chain is the firewall:
// "open", "no-udp" (all UDP dropped), "only-443" (only TCP to port 443), "blackout" (nothing).
// The private networks have no route to each other: host candidates cannot work, as between
// two homes.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import * as t from './lib.mjs';

const LAB_ADMIN_TOKEN = 'lab-operator-token-0123456789abcdef0123456789';

export const PUBLIC = { turn: '198.51.100.1', server: '198.51.100.2' };
const SIDES = { a: 1, b: 2 };

const { sh } = t;

export class Lab {
  constructor() {
    this.id = `dtl${process.pid % 100000}`;
    this.dir = t.tempDir('dialtone-lab-');
    this.children = [];
  }

  ns(name) { return `${this.id}-${name}`; }

  // GET `path` of the operator API (docs/protocol.md, "Operators") from the public segment.
  operator(server, path) {
    const script = `fetch(${JSON.stringify(server.url + path)}, { headers: { authorization: 'Bearer ${LAB_ADMIN_TOKEN}' } })` +
      '.then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); })' +
      '.catch((e) => { console.error(e); process.exit(2); })';
    const r = spawnSync('ip', ['netns', 'exec', this.ns('pub'), process.execPath, '-e', script], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`operator ${path}: ${r.stdout}${r.stderr}`);
    return JSON.parse(r.stdout);
  }
  client(side) { return this.ns(side); }
  router(side) { return this.ns(`r${side}`); }
  exec(ns, cmd) { return sh(`ip netns exec ${ns} ${cmd}`); }

  static async create() {
    const lab = new Lab();
    try {
      lab.build();
    } catch (e) {
      await lab.destroy();
      throw e;
    }
    return lab;
  }

  build() {
    const pub = this.ns('pub');
    for (const n of ['pub', 'ra', 'a', 'rb', 'b']) sh(`ip netns add ${this.ns(n)}`);
    for (const n of ['pub', 'ra', 'a', 'rb', 'b']) sh(`ip -n ${this.ns(n)} link set lo up`);
    sh(`ip -n ${pub} link add br0 type bridge && ip -n ${pub} link set br0 up`);
    sh(`ip -n ${pub} addr add ${PUBLIC.turn}/24 dev br0 && ip -n ${pub} addr add ${PUBLIC.server}/24 dev br0`);
    // The rest of the internet: packets for anywhere else vanish, as they would upstream.
    sh(`ip -n ${pub} route add blackhole default`);
    for (const [side, n] of Object.entries(SIDES)) {
      const r = this.router(side); const c = this.client(side);
      sh(`ip link add wan netns ${r} type veth peer name p${side} netns ${pub}`);
      sh(`ip -n ${pub} link set p${side} master br0 up`);
      sh(`ip -n ${r} addr add 198.51.100.${n * 10}/24 dev wan && ip -n ${r} link set wan up`);
      sh(`ip link add lan netns ${r} type veth peer name eth0 netns ${c}`);
      sh(`ip -n ${r} addr add 10.0.${n}.1/24 dev lan && ip -n ${r} link set lan up`);
      sh(`ip -n ${c} addr add 10.0.${n}.2/24 dev eth0 && ip -n ${c} link set eth0 up`);
      sh(`ip -n ${c} route add default via 10.0.${n}.1`);
      // A new address replaces the old one without taking the routes with it.
      this.exec(c, 'sysctl -qw net.ipv4.conf.all.promote_secondaries=1 net.ipv4.conf.eth0.promote_secondaries=1');
      this.exec(r, 'sysctl -qw net.ipv4.ip_forward=1');
      this.nat(side, 'eim');
      this.firewall(side, 'open');
    }
  }

  // The router's address translation: "eim" or "symmetric".
  nat(side, kind) {
    const r = this.router(side);
    spawnSync('ip', ['netns', 'exec', r, 'nft', 'delete', 'table', 'ip', 'lab_nat']);
    // Unsolicited packets to the router are dropped before their connection-tracking entry is
    // confirmed: otherwise the first connectivity check from the other side (sent before this
    // side's own) would take the mapping this side's next packet needs, and Linux would map
    // that packet to another port — a symmetric NAT after all.
    sh(`ip netns exec ${r} nft -f -`, `table ip lab_nat {
  chain post { type nat hook postrouting priority srcnat; oifname "wan" masquerade${kind === 'symmetric' ? ' random' : ''}; }
  chain unsolicited { type filter hook input priority filter; iifname "wan" ct state new drop; }
}`);
    this.exec(r, 'conntrack -F 2>/dev/null || true');
  }

  // The router's firewall for what leaves the private network: "open", "no-udp", "only-443",
  // "blackout" (nothing passes either way).
  firewall(side, kind) {
    const r = this.router(side);
    spawnSync('ip', ['netns', 'exec', r, 'nft', 'delete', 'table', 'inet', 'lab_fw']);
    const rules = {
      open: '',
      'no-udp': 'iifname "lan" meta l4proto udp drop;',
      'only-443': 'ct state established,related accept; iifname "lan" tcp dport 443 accept; iifname "lan" drop;',
      blackout: 'drop;',
    }[kind];
    if (rules === undefined) throw new Error(`no firewall "${kind}"`);
    sh(`ip netns exec ${r} nft -f -`, `table inet lab_fw {
  chain filter_forward { type filter hook forward priority 0; policy accept; ${rules} }
}`);
  }

  // The client's interface gets a new address and the old one goes (as when a phone moves to
  // another network): every socket bound to the old address is dead from now on.
  changeAddress(side, host = 3) {
    const c = this.client(side); const n = SIDES[side];
    const old = this.exec(c, 'ip -4 -o addr show dev eth0').match(/inet ([\d.]+)\/24/)[1];
    sh(`ip -n ${c} addr add 10.0.${n}.${host}/24 dev eth0`);
    sh(`ip -n ${c} addr del ${old}/24 dev eth0`);
    sh(`ip -n ${c} route replace default via 10.0.${n}.1`);
    return `10.0.${n}.${host}`;
  }

  // Back to the side's first address (10.0.n.2), as built.
  restoreAddress(side) {
    const c = this.client(side); const n = SIDES[side];
    const have = [...this.exec(c, 'ip -4 -o addr show dev eth0').matchAll(/inet ([\d.]+)\/24/g)].map((m) => m[1]);
    if (have.length === 1 && have[0] === `10.0.${n}.2`) return;
    if (!have.includes(`10.0.${n}.2`)) sh(`ip -n ${c} addr add 10.0.${n}.2/24 dev eth0`);
    for (const a of have) if (a !== `10.0.${n}.2`) sh(`ip -n ${c} addr del ${a}/24 dev eth0`);
    sh(`ip -n ${c} route replace default via 10.0.${n}.1`);
  }

  spawn(ns, cmd, args, opts = {}) {
    const proc = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.push(proc);
    return proc;
  }

  // coturn on the public segment: STUN/TURN on 3478 (UDP and TCP), TURN over TLS on 443 with a
  // certificate for its address signed by the lab's CA (this.ca).
  async startCoturn(secret) {
    const d = join(this.dir, 'coturn');
    sh(`mkdir -p ${d}`);
    this.ca = join(d, 'ca.pem');
    sh(`cd ${d} && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=lab-ca ` +
       '-keyout ca.key -out ca.pem 2>/dev/null && ' +
       `openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=${PUBLIC.turn} -keyout turn.key -out turn.csr 2>/dev/null && ` +
       `printf 'subjectAltName=IP:${PUBLIC.turn}\\n' > ext && ` +
       'openssl x509 -req -in turn.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out turn.pem 2>/dev/null');
    const proc = this.spawn(this.ns('pub'), 'turnserver', ['-n', `--listening-ip=${PUBLIC.turn}`,
      `--relay-ip=${PUBLIC.turn}`, '--listening-port=3478', '--tls-listening-port=443',
      `--cert=${join(d, 'turn.pem')}`, `--pkey=${join(d, 'turn.key')}`, '--min-port=50000', '--max-port=50999',
      '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=lab.test', '--no-dtls', '--no-cli',
      '--fingerprint', '--no-multicast-peers',
      // As in conf/turnserver.conf: no relaying into private networks (a check towards a
      // private host candidate is refused, not sent into the void).
      ...['0.0.0.0-0.255.255.255', '10.0.0.0-10.255.255.255', '100.64.0.0-100.127.255.255',
        '169.254.0.0-169.254.255.255', '172.16.0.0-172.31.255.255', '192.168.0.0-192.168.255.255',
        'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff']
        .map((r) => `--denied-peer-ip=${r}`),
      '-v', '--log-file=stdout', '--simple-log', `--pidfile=${join(d, 'turnserver.pid')}`,
      `--db=${join(d, 'turndb')}`]);
    let log = '';
    proc.stdout.on('data', (x) => { log += x; });
    proc.stderr.on('data', (x) => { log += x; });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`coturn did not start:\n${log}`)), 10000);
      const check = () => { if (/IO method \(admin thread\)/.test(log)) { clearTimeout(timer); resolve(); } };
      proc.stdout.on('data', check);
      proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`coturn exited (${code}):\n${log}`)); });
    });
    this.turnLog = () => log;
    return {
      secret,
      urls: [`stun:${PUBLIC.turn}:3478`, `turn:${PUBLIC.turn}:3478?transport=udp`,
        `turn:${PUBLIC.turn}:3478?transport=tcp`, `turns:${PUBLIC.turn}:443?transport=tcp`],
    };
  }

  // dialtoned on the public segment (port 443 of `address`: 198.51.100.2, or another address
  // of the segment for further nodes of a cluster), handing out the lab's STUN and TURN servers.
  // Nodes of one cluster share `dataDir` (the development-token key).
  async startServer(turn, flags = [], { address = PUBLIC.server, dataDir } = {}) {
    const d = dataDir ?? join(this.dir, 'dialtoned');
    sh(`mkdir -p ${d}`);
    const pub = this.ns('pub');
    if (!this.exec(pub, 'ip -4 -o addr show dev br0').includes(`inet ${address}/`)) {
      sh(`ip -n ${pub} addr add ${address}/24 dev br0`);
    }
    const stun = turn.urls.filter((u) => u.startsWith('stun:'));
    const relays = turn.urls.filter((u) => u.startsWith('turn'));
    // The operator token: the tests read each call's timeline through the operator API.
    const env = { ...process.env, DIALTONED_ADMIN_TOKEN: LAB_ADMIN_TOKEN };
    const proc = this.spawn(pub, t.DIALTONED, ['--listen', `${address}:443`, '--data-dir', d,
      '--log-level', 'info', '--stun-urls', stun.join(','), '--turn-urls', relays.join(','),
      '--turn-secret', turn.secret,
      // The lab's public segment is private to this test: development tokens on purpose.
      '--dev-tokens-public', 'true', ...flags], { env });
    const server = { log: [], url: `http://${address}:443`, proc };
    proc.stderr.on('data', (x) => server.log.push(x.toString()));
    await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`dialtoned did not start:\n${server.log.join('')}`)), 15000);
      proc.stdout.on('data', (x) => { out += x; if (/LISTENING/.test(out)) { clearTimeout(timer); resolve(); } });
      proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`dialtoned exited (${code}):\n${server.log.join('')}`)); });
    });
    return server;
  }

  // PostgreSQL and NATS for a cluster, on the public segment's own loopback (where only the
  // nodes reach them). Returns dialtoned's --store and --bus.
  async startClusterServices() {
    const pub = this.ns('pub');
    // Its own directory in /tmp (the lab's is root's alone), owned by the postgres user.
    const d = t.tempDir('dialtone-lab-pg-');
    this.pgDir = d;
    sh(`chown postgres ${d}`);
    const bin = '/usr/lib/postgresql/15/bin';
    sh(`runuser -u postgres -- ${bin}/initdb -D ${d}/data -A trust -U postgres --no-sync >/dev/null`);
    this.spawn(pub, 'runuser', ['-u', 'postgres', '--', `${bin}/postgres`, '-D', `${d}/data`, '-p', '5432',
      '-k', d, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off']);
    this.spawn(pub, '/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', '4222']);
    const ready = (cmd) => spawnSync('ip', ['netns', 'exec', pub, 'bash', '-c', cmd]).status === 0;
    const waitFor = async (what, cmd) => {
      for (let end = Date.now() + 30000; !ready(cmd);) {
        if (Date.now() > end) throw new Error(`${what} did not start in the lab`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await waitFor('PostgreSQL', 'pg_isready -q -h 127.0.0.1 -p 5432');
    sh(`ip netns exec ${pub} runuser -u postgres -- psql -q -h 127.0.0.1 -p 5432 -c 'CREATE DATABASE dialtone'`);
    await waitFor('NATS', 'exec 3<>/dev/tcp/127.0.0.1/4222');
    return { store: 'postgresql://postgres@127.0.0.1:5432/dialtone', bus: 'nats://127.0.0.1:4222' };
  }

  // The C++ CLI on a side; output collected; waitFor(text) as in lib.mjs.
  cli(side, server, user, args) {
    const proc = this.spawn(this.client(side), t.DIALTONE_CLI, ['--server', server.url, '--user', user, ...args]);
    let output = '';
    proc.stdout.on('data', (d) => { output += d; });
    proc.stderr.on('data', (d) => { output += d; });
    const exited = new Promise((r) => proc.once('exit', (code, signal) => r(signal ? `signal ${signal}` : code)));
    return {
      proc, exited,
      output: () => output,
      async waitFor(re, ms = 20000) {
        const end = Date.now() + ms;
        for (;;) {
          const m = typeof re === 'string' ? (output.includes(re) ? [re] : null) : re.exec(output);
          if (m) return m;
          if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > end) {
            throw new Error(`dialtone on ${side}: no ${re} in:\n${output}`);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      kill() { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM'); },
    };
  }

  // Chromium on a side (its own network namespace), the fake microphone playing `hz`.
  async chromium(side, server, hz) {
    const d = t.tempDir('dialtone-lab-chromium-');
    const wrapper = join(d, 'chromium');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${this.client(side)} /usr/bin/chromium "$@"\n`);
    chmodSync(wrapper, 0o755);
    const browser = await chromium.launch({
      executablePath: wrapper,
      args: [...t.CHROMIUM_ARGS, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
        `--use-file-for-fake-audio-capture=${t.toneWav(join(d, 'tone.wav'), hz)}`,
        // The lab serves plain HTTP on a public address: let it count as secure (microphone).
        `--unsafely-treat-insecure-origin-as-secure=${server.url}`,
        // TURN over TLS to the lab's own CA.
        '--ignore-certificate-errors'],
    });
    const context = await browser.newContext({ viewport: { width: 390, height: 760 } });
    await context.grantPermissions(['microphone'], { origin: server.url });
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error(`page ${side} error:`, e.message));
    page.on('console', (m) => { if (['error', 'warning'].includes(m.type()) || process.env.WEB_DEBUG) console.error(`page ${side} ${m.type()} @${Date.now() % 100000}:`, m.text()); });
    await page.goto(server.url);
    page.closeAll = async () => { await browser.close(); rmSync(d, { recursive: true, force: true }); };
    return page;
  }

  async destroy() {
    for (const p of this.children) {
      if (p.exitCode === null && p.signalCode === null) {
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
        if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      }
    }
    for (const n of ['a', 'ra', 'b', 'rb', 'pub']) spawnSync('ip', ['netns', 'del', this.ns(n)]);
    rmSync(this.dir, { recursive: true, force: true });
    if (this.pgDir) rmSync(this.pgDir, { recursive: true, force: true });
  }
}

// The selected candidate pair of a page's call, from getStats: {local, remote, protocol} as
// the C++ SDK reports it (protocol: the relay's for a relayed local candidate).
export async function browserPath(page) {
  return page.evaluate(async () => {
    const all = await window.dialtone.stats();
    const byId = new Map(all.map((s) => [s.id, s]));
    const transport = all.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
    const pair = transport ? byId.get(transport.selectedCandidatePairId)
      : all.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
    if (!pair) return null;
    const l = byId.get(pair.localCandidateId); const r = byId.get(pair.remoteCandidateId);
    return {
      local: l.candidateType, remote: r.candidateType,
      protocol: l.candidateType === 'relay' ? (l.relayProtocol || l.protocol) : l.protocol,
    };
  });
}

// When a page's audio is back after a loss: the time (Date.now()) of the first inbound packet
// after a gap of at least 250 ms without any (packets come every 20 ms while audio flows; a
// fresh connection's counters restart from zero, which is not audio yet). `count()`: the
// page's inbound packets now; `last`: the count before the loss.
export async function audioBackAt(count, last, since, ms) {
  let lastGrowth = since; let gap = false;
  for (const end = Date.now() + ms; Date.now() <= end;) {
    await new Promise((r) => setTimeout(r, 20));
    const n = await count().catch(() => last);
    if (n < last) {
      last = n;
    } else if (n > last) {
      last = n;
      if (gap) return Date.now();
      lastGrowth = Date.now();
    } else if (Date.now() - lastGrowth >= 250) {
      gap = true;
    }
  }
  throw new Error('audio never came back');
}

