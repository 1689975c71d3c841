// SPDX-License-Identifier: Apache-2.0
// The contract check: every HTTP answer and WebSocket message the integration tests received
// (recorded by tests/support/harness.cpp into DIALTONE_CONTRACT_DIR, one .jsonl per test
// process) must be one that docs/openapi.yaml or docs/asyncapi.yaml describes, exactly:
// a documented path, method and status, the documented media type, and a body valid against
// the schema (JSON Schema 2020-12, Ajv). An answer the spec does not list — a new status, a new
// field in a closed object, a missing field — fails the suite, so the spec cannot drift.
//
//   node validate.mjs <docs dir> <records dir>
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const [docsDir, recordsDir] = process.argv.slice(2);
if (!docsDir || !recordsDir) {
  console.error('usage: node validate.mjs <docs dir> <records dir>');
  process.exit(2);
}
const BASE = 'https://dialtone.invalid/';
const openapi = YAML.parse(fs.readFileSync(path.join(docsDir, 'openapi.yaml'), 'utf8'));
const asyncapi = YAML.parse(fs.readFileSync(path.join(docsDir, 'asyncapi.yaml'), 'utf8'));

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ ...openapi, $id: BASE + 'openapi.yaml' });
ajv.addSchema({ ...asyncapi, $id: BASE + 'asyncapi.yaml' });
const compiled = new Map();
function validator(ref) {
  if (!compiled.has(ref)) compiled.set(ref, ajv.compile({ $ref: ref }));
  return compiled.get(ref);
}
const pointer = (...parts) =>
  '#/' + parts.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

// Path templates, the most literal first (/v1/calls/{callId}/timeline before …/{op}).
const templates = Object.keys(openapi.paths)
  .map((t) => ({
    template: t,
    re: new RegExp('^' + t.replace(/\{[^}]+\}/g, '[^/]+') + '$'),
    literal: t.split('/').filter((s) => s && !s.startsWith('{')).length,
  }))
  .sort((a, b) => b.literal - a.literal);

function operationFor(target, method) {
  const p = target.split('?')[0];
  for (const t of templates) {
    if (!t.re.test(p)) continue;
    const op = openapi.paths[t.template][method];
    if (op) return { template: t.template, method, op };
  }
  return null;
}

function response(op, status) {
  let r = op.responses[String(status)];
  if (r && r.$ref) r = openapi.components.responses[r.$ref.split('/').pop()];
  return r;
}
function responsePointer(found, status) {
  const raw = found.op.responses[String(status)];
  if (raw.$ref) return raw.$ref.slice(1); // '/components/responses/Error'
  return pointer('paths', found.template, found.method, 'responses', String(status)).slice(1);
}

const problems = new Map(); // key → {count, example}
function problem(key, example) {
  const p = problems.get(key) || { count: 0, example };
  p.count++;
  problems.set(key, p);
}
function schemaErrors(v) {
  return ajv.errorsText(v.errors, { separator: '; ' }).slice(0, 600);
}

function checkHttp(rec) {
  const method = rec.method.toLowerCase();
  const what = `${rec.method} ${rec.target.split('?')[0]} → ${rec.status}`;
  // CORS preflight (docs/protocol.md, "Server facts"): 204 and no body, for an allowed origin.
  if (method === 'options' && rec.status === 204) {
    if (rec.body !== null || rec.raw) problem(`${what}: a preflight answer has a body`, rec);
    return;
  }
  const found = operationFor(rec.target, method === 'head' ? 'get' : method);
  if (!found) {
    // Not an operation of the contract: the answer must be the contract's error.
    if (rec.status < 400) problem(`${what}: an undocumented request succeeded`, rec);
    else if (!validator(BASE + 'openapi.yaml#/components/schemas/ErrorBody')(rec.body))
      problem(`${what}: an undocumented request's answer is not the error body`, rec);
    return;
  }
  const key = `${rec.method} ${found.template} → ${rec.status}`;
  const r = response(found.op, rec.status);
  if (!r) {
    problem(`${key}: status not in docs/openapi.yaml`, rec);
    return;
  }
  if (method === 'head') return; // the GET answer's headers, no body
  const type = (rec.contentType || '').split(';')[0].trim();
  if (!r.content) {
    if (rec.body !== null || rec.raw) problem(`${key}: a body where the spec has none`, rec);
    return;
  }
  if (!r.content[type]) {
    problem(`${key}: media type '${type}' not in docs/openapi.yaml`, rec);
    return;
  }
  if (type !== 'application/json') return;
  if (rec.body === null) {
    problem(`${key}: not JSON`, rec);
    return;
  }
  const ref = BASE + 'openapi.yaml#' + responsePointer(found, rec.status) +
    pointer('content', type, 'schema').slice(1);
  const v = validator(ref);
  if (!v(rec.body)) problem(`${key}: ${schemaErrors(v)}`, rec);
}

function checkWs(rec) {
  if (!rec.message) {
    problem('WebSocket: a message that is not JSON', rec);
    return;
  }
  const type = rec.message.type;
  const name = Object.keys(asyncapi.components.messages).find(
    (m) => (asyncapi.components.messages[m].name || m) === type,
  );
  if (!name || name === 'op') {
    problem(`WebSocket: message type '${type}' not in docs/asyncapi.yaml`, rec);
    return;
  }
  const v = validator(BASE + 'asyncapi.yaml' + pointer('components', 'messages', name, 'payload'));
  if (!v(rec.message)) problem(`WebSocket ${type}: ${schemaErrors(v)}`, rec);
}

let http = 0;
let ws = 0;
const files = fs.existsSync(recordsDir)
  ? fs.readdirSync(recordsDir).filter((f) => f.endsWith('.jsonl'))
  : [];
for (const f of files) {
  const lines = fs.readFileSync(path.join(recordsDir, f), 'utf8').split('\n');
  for (const line of lines) {
    if (!line) continue;
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      continue; // a line cut short by a test process that was killed
    }
    if (rec.kind === 'http') {
      http++;
      checkHttp(rec);
    } else if (rec.kind === 'ws') {
      ws++;
      checkWs(rec);
    }
  }
}
console.log(`checked ${http} HTTP answers and ${ws} WebSocket messages from ${files.length} ` +
  `test processes against docs/openapi.yaml and docs/asyncapi.yaml`);
if (http + ws === 0) {
  console.error('nothing was recorded: the integration tests did not run with DIALTONE_CONTRACT_DIR');
  process.exit(1);
}
if (problems.size) {
  console.error(`${problems.size} kinds of answer do not match the contract:`);
  for (const [key, p] of [...problems].sort((a, b) => b[1].count - a[1].count)) {
    const ex = JSON.stringify(p.example).slice(0, 400);
    console.error(`- ${key} (${p.count}×)\n    e.g. ${ex}`);
  }
  process.exit(1);
}
console.log('every answer matches the contract');
