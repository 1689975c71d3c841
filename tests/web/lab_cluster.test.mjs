// SPDX-License-Identifier: Apache-2.0
// The field lab's cases (lab_calls.mjs) once on a three-node cluster: dialtoned on
// 198.51.100.2, .3 and .4 sharing PostgreSQL and NATS, each end of a call on a different node
// (every signal crosses the bus). One pairing: the C++ CLI calling Chromium.
import { test, before, after } from 'node:test';
import { Lab } from './lab.mjs';
import { ctx, CliEnd, BrowserEnd, CASES, runCase } from './lab_calls.mjs';

let nodes = [];
before(async () => {
  ctx.lab = await Lab.create();
  const turn = await ctx.lab.startCoturn('lab-secret');
  const { store, bus } = await ctx.lab.startClusterServices();
  const dataDir = `${ctx.lab.dir}/cluster`;
  const addresses = ['198.51.100.2', '198.51.100.3', '198.51.100.4'];
  const flags = ['--store', store, '--bus', bus, '--public-urls', addresses.map((a) => `http://${a}:443`).join(',')];
  for (const address of addresses) nodes.push(await ctx.lab.startServer(turn, flags, { address, dataDir }));
});
after(async () => { await ctx.lab?.destroy(); });

// Node 1 for the caller, node 3 for the callee.
const make = () => [new CliEnd(nodes[0], 'a', 'mona', 440), new BrowserEnd(nodes[2], 'b', 'ned', 880)];
for (const [name, body, check] of CASES) test(`cluster, C++ ↔ Chromium: ${name}`, () => runCase(make, body, check));
