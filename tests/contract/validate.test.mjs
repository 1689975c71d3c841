// SPDX-License-Identifier: Apache-2.0
// The contract check itself: it passes what the contract describes and fails everything else
// (a field too many or missing, an undocumented status, media type or message, a success for an
// undocumented request, nothing recorded at all).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const docs = path.join(here, '..', '..', 'docs');

function check(records) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-contract-'));
  try {
    fs.writeFileSync(path.join(dir, '1.jsonl'), records.map((r) => JSON.stringify(r)).join('\n'));
    const r = spawnSync(process.execPath, [path.join(here, 'validate.mjs'), docs, dir], {
      encoding: 'utf8',
    });
    return { ok: r.status === 0, out: r.stdout + r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const now = '2026-12-05T20:57:34.712Z';
const call = {
  callId: 'p3Q8aaaaaaaaaaaaaaaaaa', callerId: 'alice', callerName: 'Alice', callerPhoto: '',
  receiverId: 'bob', receiverName: 'Bob', receiverPhoto: '', type: 'audio', timestamp: now,
  channelName: 'p3Q8aaaaaaaaaaaaaaaaaa', state: 'calling', callerReady: false,
  receiverReady: false, connectedAt: null, callStartedAt: null, durationSeconds: null,
  lastUpdated: now, ringDeadline: now, reason: null, answeredBy: null, ringingDevices: 0,
  metadata: { callerMuted: false, receiverMuted: false }, version: 1,
};
const http = (method, target, status, body, contentType = 'application/json') =>
  ({ kind: 'http', method, target, status, contentType, body });
const ws = (message) => ({ kind: 'ws', message });

test('what the contract describes passes', () => {
  const r = check([
    http('POST', '/v1/calls', 201, call),
    http('GET', `/v1/calls/${call.callId}`, 200, { ...call, delivery: { pushTargets: 1, pushSent: 0, pushFailed: 0 } }),
    http('POST', `/v1/calls/${call.callId}/accept`, 409,
      { error: { code: 'invalid_transition', message: 'no' }, call }),
    http('GET', '/nowhere', 404, { error: { code: 'not_found', message: 'no such endpoint' } }),
    http('GET', '/metrics', 200, null, 'text/plain; version=0.0.4'),
    ws({ type: 'hello', userId: 'alice', deviceId: 'd1', serverTime: now }),
    ws({ type: 'reply', id: 7, ok: true, call, serverTime: now }),
    ws({ type: 'signal', callId: call.callId, from: 'bob',
      data: { type: 'candidate', candidate: 'c', sdpMid: '0', usernameFragment: 'u' } }),
  ]);
  assert.ok(r.ok, r.out);
  assert.match(r.out, /checked 5 HTTP answers and 3 WebSocket messages/);
});

for (const [what, record, says] of [
  ['a field the document does not have', http('GET', `/v1/calls/${call.callId}`, 200, { ...call, extra: 1 }), /must NOT have unevaluated properties/],
  ['a missing field', http('GET', `/v1/calls/${call.callId}`, 200, { ...call, version: undefined }), /must have required property 'version'/],
  ['an undocumented status', http('GET', `/v1/calls/${call.callId}`, 418, {}), /status not in docs\/openapi.yaml/],
  ['an undocumented media type', http('GET', '/v1/info', 200, null, 'text/plain'), /media type 'text\/plain'/],
  ['an undocumented request that succeeded', http('GET', '/v2/calls', 200, {}), /an undocumented request succeeded/],
  ['an error that is not the error body', http('GET', '/v2/calls', 404, { message: 'no' }), /not the error body/],
  ['an undocumented message', ws({ type: 'surprise' }), /message type 'surprise'/],
  ['a message with a field too many', ws({ type: 'hello', userId: 'a', deviceId: 'd', serverTime: now, x: 1 }), /must NOT have additional properties/],
  ['a message that is not JSON', { kind: 'ws', raw: 'oops' }, /not JSON/],
]) {
  test(`fails on ${what}`, () => {
    const r = check([record]);
    assert.equal(r.ok, false, r.out);
    assert.match(r.out, says);
  });
}

test('fails when nothing was recorded', () => {
  const r = check([]);
  assert.equal(r.ok, false);
  assert.match(r.out, /nothing was recorded/);
});
