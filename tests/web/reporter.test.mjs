// SPDX-License-Identifier: Apache-2.0
// The browser's reporter (web/app/reporter.js) on its own, in Node: what a `report` carries.
// The whole path — Chromium's getStats to the server's timeline — is checked in call.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Reporter, pathOf } from '../../web/app/reporter.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function stats(local, remote, protocol = 'udp') {
  return new Map([
    ['T', { id: 'T', type: 'transport', selectedCandidatePairId: 'P' }],
    ['P', { id: 'P', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R' }],
    ['L', { id: 'L', type: 'local-candidate', candidateType: local, protocol, address: '10.0.0.2' }],
    ['R', { id: 'R', type: 'remote-candidate', candidateType: remote, protocol: 'udp' }],
  ]);
}

test('events leave with their age and their time in the server\'s clock, no address', async () => {
  const sent = [];
  const offset = 90_000;  // the server's clock is 90 s ahead of this one
  const r = new Reporter(async (events) => sent.push(events), () => Date.now() + offset);
  const before = Date.now();
  r.stats(stats('srflx', 'relay'), null);
  await sleep(40);
  r.first('first_audio_received');
  r.first('first_audio_received');
  r.close();
  assert.equal(sent.length, 1);
  const [connected, audio] = sent[0];
  assert.deepEqual(Object.keys(connected).sort(), ['ago', 'at', 'local', 'protocol', 'remote', 'type']);
  assert.equal(connected.type, 'media_connected');
  assert.ok(connected.ago >= 40, JSON.stringify(connected));
  const at = Date.parse(connected.at);
  assert.ok(at >= before + offset && at <= Date.now() + offset, `${connected.at} in the server's clock`);
  assert.equal(audio.type, 'first_audio_received');
  assert.equal(sent[0].length, 2, 'first audio once');
  assert.ok(!JSON.stringify(sent).includes('10.0.0.2'));
});

test('a changed path is reported as such; a relay says how it reaches the TURN server', () => {
  const sent = [];
  const r = new Reporter(async (events) => sent.push(events));
  r.stats(stats('host', 'host'), null);
  r.stats(stats('host', 'host'), null);
  const relayed = stats('relay', 'srflx', 'udp');
  relayed.get('L').relayProtocol = 'tls';
  r.stats(relayed, null);
  r.close();
  assert.deepEqual(sent[0].map((e) => [e.type, e.local, e.protocol]),
    [['media_connected', 'host', 'udp'], ['path_changed', 'relay', 'tls']]);
  assert.equal(pathOf(new Map()), null);
});

test('at most 32 events per report', () => {
  const sent = [];
  const r = new Reporter(async (events) => sent.push(events));
  for (let i = 0; i < 40; i++) r.add('device_changed', { kind: 'output', change: 'changed' });
  r.close();
  assert.deepEqual(sent.map((b) => b.length), [32, 8]);
});

test('a report that got no answer or could not be stored is sent again with the same times; a refused one is not', async () => {
  const sent = [];
  let answer = 'network';
  const r = new Reporter(async (events) => {
    sent.push(events);
    if (answer) throw Object.assign(new Error('no answer'), { code: answer });
  }, () => Date.now() + 5000);
  r.add('recovery_started', { cause: 'stall' });
  r.flush();
  await sleep(0);
  answer = null;
  await sleep(20);
  r.flush();
  await sleep(0);
  assert.equal(sent.length, 2, 'sent again');
  assert.equal(sent[1][0].at, sent[0][0].at, 'the same `at`: the server stores it once');
  assert.ok(sent[1][0].ago >= sent[0][0].ago + 20);
  // The server could not store it this time (its store unavailable): again too.
  answer = 'unavailable';
  r.add('first_audio_received');
  r.flush();
  await sleep(0);
  answer = null;
  r.flush();
  await sleep(0);
  assert.equal(sent.length, 4, 'sent again after unavailable');
  assert.equal(sent[3][0].at, sent[2][0].at);
  answer = 'bad_request';
  r.add('first_audio_sent');
  r.flush();
  await sleep(0);
  r.flush();
  assert.equal(sent.length, 5, 'refused: not sent again');
  r.close();
});
