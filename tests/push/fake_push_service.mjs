// SPDX-License-Identifier: Apache-2.0
// Loopback stand-ins for the push services dialtoned talks to: Google's OAuth2 token endpoint
// and FCM HTTP v1, APNs, and a Web Push service. Each checks what the real one checks —
// signatures against the public keys, headers, payload fields, expiry — and answers as the
// real one does. Written from the reference notes alone, with Node's own crypto, so it is an
// independent check of the server's implementation.
//
//   node fake_push_service.mjs <config.json>
//   config: {cert, key, fcm: {publicKeyPem, clientEmail, projectId},
//            apns: {publicKeyPem, keyId, teamId, bundleId}}
//   prints: LISTENING <tls port> <control port>
//
// TLS port (HTTP/2 with HTTP/1.1 fallback, except APNs which is HTTP/2 only):
//   POST /token                              OAuth2 JWT-bearer grant
//   POST /v1/projects/<id>/messages:send     FCM
//   POST /3/device/<hex token>               APNs
//   POST /wp/<id>                            Web Push (subscriptions made by /control/subscribe)
// Control port (plain HTTP, for the tests):
//   POST /control/subscribe {applicationServerKey}  → a browser's PushSubscription JSON
//   POST /control/script {target, responses:[{status, body, headers, hang}]}
//        the next requests to `target` (a device token or subscription id) get these answers
//   GET  /control/events   every request seen: {service, target, ok, error, status, ...}
//   GET  /control/pending  requests held open by a `hang` answer
//   POST /control/mode {hangAll, record, delayMs, goawayAfter}  hang every well-formed push (a
//        provider that stopped answering); record: false keeps no events (long benchmark runs);
//        delayMs: every push is answered that long after it arrived (a distant provider);
//        goawayAfter: N — each HTTP/2 connection goes away after its N-th request (0: never)
//   POST /control/clear   forget the events seen so far
// Each event has `at` (ms since the epoch, the request fully read) and, for benchmarks,
// `startMs` and `answeredMs` (fractional ms since the epoch: when the request's headers arrived,
// when its answer was sent).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const events = [];
const scripts = new Map();        // target → [answer, ...]
const subscriptions = new Map();  // id → {ecdh, auth, applicationServerKey, endpoint}
const accessTokens = new Map();   // token → expiry (ms)
const pending = new Set();
let tlsPort = 0;
const mode = { hangAll: false, record: true, delayMs: 0, goawayAfter: 0 };
let seq = 0;

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const fromB64u = (s) => Buffer.from(s, 'base64url');

class Refusal extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.body = body;
  }
}
const refuse = (status, body, message) => { throw new Refusal(status, body, message); };

// A compact JWS: its parts, decoded, and whether `verify(signingInput, signature)` holds.
function parseJws(token, what) {
  const parts = String(token || '').split('.');
  if (parts.length !== 3) refuse(401, null, `${what}: not a compact JWS`);
  for (const p of parts) if (!/^[A-Za-z0-9_-]*$/.test(p)) refuse(401, null, `${what}: not base64url`);
  let header, claims;
  try {
    header = JSON.parse(fromB64u(parts[0]).toString('utf8'));
    claims = JSON.parse(fromB64u(parts[1]).toString('utf8'));
  } catch {
    refuse(401, null, `${what}: header or claims are not JSON`);
  }
  return { header, claims, input: `${parts[0]}.${parts[1]}`, signature: fromB64u(parts[2]) };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// ---- OAuth2 token endpoint (Google) ----------------------------------------------------
function oauthToken(req, body) {
  if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded'))
    refuse(400, { error: 'invalid_request' }, 'token request is not form-encoded');
  const form = new URLSearchParams(body.toString('utf8'));
  if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
    refuse(400, { error: 'unsupported_grant_type' }, 'wrong grant_type');
  const jws = parseJws(form.get('assertion'), 'assertion');
  if (jws.header.alg !== 'RS256') refuse(400, { error: 'invalid_grant' }, 'alg is not RS256');
  if (!crypto.verify('sha256', Buffer.from(jws.input), config.fcm.publicKeyPem, jws.signature))
    refuse(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }, 'bad signature');
  const c = jws.claims;
  const now = Date.now() / 1000;
  if (c.iss !== config.fcm.clientEmail) refuse(400, { error: 'invalid_grant' }, 'iss is not the client_email');
  if (!String(c.scope).split(' ').includes('https://www.googleapis.com/auth/firebase.messaging'))
    refuse(400, { error: 'invalid_scope' }, 'scope lacks firebase.messaging');
  if (c.aud !== `https://127.0.0.1:${tlsPort}/token`) refuse(400, { error: 'invalid_grant' }, `aud ${c.aud}`);
  if (!Number.isInteger(c.iat) || !Number.isInteger(c.exp)) refuse(400, { error: 'invalid_grant' }, 'iat/exp not integers');
  if (Math.abs(c.iat - now) > 60 || c.exp - c.iat > 3600 || c.exp <= now)
    refuse(400, { error: 'invalid_grant' }, 'iat/exp outside a reasonable timeframe');
  if ('sub' in c) refuse(400, { error: 'invalid_grant' }, 'sub is only for domain-wide delegation');
  const token = `ya29.fake-${++seq}`;
  const lifetime = config.fcm.expiresIn ?? 3599;
  accessTokens.set(token, Date.now() + lifetime * 1000);
  return { status: 200, body: { access_token: token, expires_in: lifetime, token_type: 'Bearer' } };
}

// ---- FCM HTTP v1 ------------------------------------------------------------------------
const fcmError = (status, code, message, details = []) =>
  ({ error: { code: status, message, status: code, details } });

function fcmSend(req, body, project, ev) {
  const auth = String(req.headers.authorization || '');
  const expiry = accessTokens.get(auth.replace(/^Bearer /, ''));
  if (!auth.startsWith('Bearer ') || !expiry || expiry < Date.now())
    refuse(401, fcmError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.'),
           'no valid access token');
  if (project !== config.fcm.projectId) refuse(403, fcmError(403, 'PERMISSION_DENIED', 'wrong project'), 'wrong project');
  if (!String(req.headers['content-type']).startsWith('application/json'))
    refuse(400, fcmError(400, 'INVALID_ARGUMENT', 'not JSON'), 'content-type is not JSON');
  let doc;
  try { doc = JSON.parse(body.toString('utf8')); } catch { refuse(400, fcmError(400, 'INVALID_ARGUMENT', 'bad JSON'), 'bad JSON'); }
  const m = doc.message;
  const bad = (why) => refuse(400, fcmError(400, 'INVALID_ARGUMENT', why), why);
  if (!m || typeof m !== 'object') bad('no message');
  const targets = ['token', 'topic', 'condition'].filter((k) => k in m);
  if (targets.length !== 1 || typeof m.token !== 'string') bad('exactly one target (token) required');
  ev.target = m.token;
  const data = m.data || {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string') bad(`Invalid value at 'message.data[${k}]' (TYPE_STRING)`);
    if (['from', 'message_type', 'gcm'].includes(k) || k.startsWith('google.') || k.startsWith('gcm.notification.'))
      bad(`reserved data key ${k}`);
  }
  const size = Object.entries(data).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (size > 4096) bad('payload over 4096 bytes');
  if (m.android) {
    if (m.android.priority && !['high', 'normal', 'HIGH', 'NORMAL'].includes(m.android.priority)) bad('bad priority');
    if (m.android.ttl !== undefined) {
      const t = /^(\d+)(\.\d+)?s$/.exec(m.android.ttl);
      if (!t || Number(t[1]) > 2419200) bad('bad ttl');
    }
  }
  ev.data = data;
  ev.android = m.android || null;
  ev.notification = m.notification || null;
  return { status: 200, body: { name: `projects/${project}/messages/0:${Date.now()}%${++seq}` } };
}

// ---- APNs -------------------------------------------------------------------------------
const apnsTokens = new WeakMap();  // HTTP/2 session → {jwt, at}

function apnsSend(req, body, token, ev) {
  ev.target = token;
  const no = (status, reason) => refuse(status, { reason }, reason);
  if (req.httpVersion !== '2.0') no(400, 'HTTP/2 required');
  if (!/^[0-9a-f]+$/.test(token) || token.length % 2) no(400, 'BadDeviceToken');
  const auth = String(req.headers.authorization || '');
  if (!auth.startsWith('bearer ')) no(403, 'MissingProviderToken');
  const jwt = auth.slice(7);
  let jws;
  try { jws = parseJws(jwt, 'provider token'); } catch { no(403, 'InvalidProviderToken'); }
  const h = jws.header;
  if (Object.keys(h).sort().join() !== 'alg,kid' || h.alg !== 'ES256' || h.kid !== config.apns.keyId)
    no(403, 'InvalidProviderToken');
  if (jws.signature.length !== 64 ||
      !crypto.verify('sha256', Buffer.from(jws.input), { key: config.apns.publicKeyPem, dsaEncoding: 'ieee-p1363' }, jws.signature))
    no(403, 'InvalidProviderToken');
  const now = Date.now() / 1000;
  if (jws.claims.iss !== config.apns.teamId || !Number.isInteger(jws.claims.iat)) no(403, 'InvalidProviderToken');
  if (jws.claims.iat > now + 60) no(403, 'InvalidProviderToken');
  if (jws.claims.iat < now - 3600) no(403, 'ExpiredProviderToken');
  const session = req.stream?.session;  // gone if the client already reset the stream
  const seen = session && apnsTokens.get(session);
  if (seen && seen.jwt !== jwt && Date.now() - seen.at < 20 * 60 * 1000) no(429, 'TooManyProviderTokenUpdates');
  if (session && (!seen || seen.jwt !== jwt)) apnsTokens.set(session, { jwt, at: Date.now() });

  const type = req.headers['apns-push-type'];
  const topic = req.headers['apns-topic'];
  const priority = req.headers['apns-priority'] ?? '10';
  if (!topic) no(400, 'MissingTopic');
  if (!['alert', 'background', 'voip'].includes(type)) no(400, 'InvalidPushType');
  if (type === 'voip' ? topic !== `${config.apns.bundleId}.voip` : topic !== config.apns.bundleId)
    no(400, 'DeviceTokenNotForTopic');
  if (!['1', '5', '10'].includes(priority) || (type === 'background' && priority !== '5')) no(400, 'BadPriority');
  const exp = req.headers['apns-expiration'];
  if (exp !== undefined && !/^\d+$/.test(exp)) no(400, 'BadExpirationDate');
  const id = req.headers['apns-id'];
  if (id !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) no(400, 'BadMessageId');
  if (body.length === 0) no(400, 'PayloadEmpty');
  if (body.length > (type === 'voip' ? 5120 : 4096)) no(413, 'PayloadTooLarge');
  let payload;
  try { payload = JSON.parse(body.toString('utf8')); } catch { no(400, 'BadPayload'); }
  if (typeof payload !== 'object' || !payload.aps) no(400, 'BadPayload');
  Object.assign(ev, { pushType: type, topic, priority, expiration: exp === undefined ? null : Number(exp), payload });
  return { status: 200, headers: { 'apns-id': id || crypto.randomUUID() } };
}

// ---- Web Push ---------------------------------------------------------------------------
function subscribe(applicationServerKey) {
  const id = crypto.randomBytes(12).toString('base64url');
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = crypto.randomBytes(16);
  const endpoint = `https://127.0.0.1:${tlsPort}/wp/${id}`;
  subscriptions.set(id, { ecdh, auth, applicationServerKey, endpoint });
  return { endpoint, expirationTime: null, keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(auth) } };
}

const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

// RFC 8291 / RFC 8188, the receiving side.
function decrypt(sub, body) {
  if (body.length < 86 + 17) throw new Error('body too short');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20];
  if (idlen !== 65 || rs < 18) throw new Error('bad aes128gcm header');
  const asPublic = body.subarray(21, 86);
  const record = body.subarray(86);
  if (record.length > rs) throw new Error('more than one record');
  const uaPublic = sub.ecdh.getPublicKey();
  const secret = sub.ecdh.computeSecret(asPublic);
  const prkKey = hmac(sub.auth, secret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = hmac(prkKey, Buffer.concat([keyInfo, Buffer.from([1])]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12);
  const d = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
  d.setAuthTag(record.subarray(record.length - 16));
  const plain = Buffer.concat([d.update(record.subarray(0, record.length - 16)), d.final()]);
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (end < 0 || plain[end] !== 2) throw new Error('no last-record delimiter');
  return plain.subarray(0, end).toString('utf8');
}

function webPush(req, body, id, ev) {
  ev.target = id;
  const sub = subscriptions.get(id);
  if (!sub) refuse(404, null, 'no such subscription');
  const ttl = req.headers.ttl;
  if (ttl === undefined || !/^\d+$/.test(ttl)) refuse(400, null, 'TTL header missing or bad');
  const urgency = req.headers.urgency;
  if (urgency !== undefined && !['very-low', 'low', 'normal', 'high'].includes(urgency)) refuse(400, null, 'bad Urgency');
  const topic = req.headers.topic;
  if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) refuse(400, null, 'bad Topic');
  if (req.headers['content-encoding'] !== 'aes128gcm') refuse(400, null, 'Content-Encoding is not aes128gcm');
  const m = /^vapid t=([^,\s]+), k=([A-Za-z0-9_-]+)$/.exec(String(req.headers.authorization || ''));
  if (!m) refuse(401, null, 'Authorization is not "vapid t=…, k=…"');
  if (m[2] !== sub.applicationServerKey) refuse(403, null, 'k is not the applicationServerKey of the subscription');
  const k = fromB64u(m[2]);
  const key = crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64u(k.subarray(1, 33)), y: b64u(k.subarray(33, 65)) }, format: 'jwk' });
  const jws = parseJws(m[1], 'VAPID token');
  if (jws.header.alg !== 'ES256' || jws.signature.length !== 64 ||
      !crypto.verify('sha256', Buffer.from(jws.input), { key, dsaEncoding: 'ieee-p1363' }, jws.signature))
    refuse(403, null, 'VAPID signature does not verify');
  const now = Date.now() / 1000;
  if (jws.claims.aud !== new URL(sub.endpoint).origin) refuse(403, null, `aud ${jws.claims.aud}`);
  if (!(jws.claims.exp > now) || jws.claims.exp > now + 24 * 3600) refuse(403, null, 'exp not within 24 h');
  if (!/^(mailto:|https:)/.test(String(jws.claims.sub))) refuse(403, null, 'sub is not a contact URI');
  if (body.length > 4096) refuse(413, null, 'body over 4096 bytes');
  let text;
  try { text = decrypt(sub, body); } catch (e) { refuse(400, null, `cannot decrypt: ${e.message}`); }
  Object.assign(ev, { ttl: Number(ttl), urgency: urgency ?? null, topic: topic ?? null, payload: JSON.parse(text) });
  return { status: 201, headers: { location: `${sub.endpoint}/m/${++seq}` } };
}

// ---- dispatch ---------------------------------------------------------------------------
const now = () => performance.timeOrigin + performance.now();  // ms since the epoch, fractional
// Per HTTP/2 connection: its number (the events' `connection`), its requests, its last stream.
const connections = new WeakMap();
let connectionSeq = 0;
function connectionOf(req) {
  const session = req.stream && req.stream.session;
  if (!session) return null;  // HTTP/1.1
  if (!connections.has(session)) connections.set(session, { number: ++connectionSeq, count: 0, last: Infinity });
  return connections.get(session);
}
// goawayAfter: a provider going away as APNs and FCM do for maintenance — after the N-th request
// on a connection it sends GOAWAY (NO_ERROR, that request the last it processes), answers what it
// took and closes; a request that arrives after it is refused (REFUSED_STREAM, never processed,
// not recorded), for the client to send again on a new connection.
function refusedAfterGoaway(req) {
  const st = connectionOf(req);
  if (!st || !(mode.goawayAfter > 0)) return false;
  const session = req.stream.session;
  if (req.stream.id > st.last) {
    req.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    return true;
  }
  if (++st.count === mode.goawayAfter) {
    st.last = req.stream.id;
    session.goaway(http2.constants.NGHTTP2_NO_ERROR, req.stream.id);
    session.close();  // once the streams it took are answered
  }
  return false;
}

async function handle(req, res) {
  if (refusedAfterGoaway(req)) return;
  const startMs = now();
  const body = await readBody(req);
  const url = new URL(req.url, 'https://127.0.0.1');
  const ev = { at: Date.now(), startMs, path: url.pathname, httpVersion: req.httpVersion, ok: false, headers: req.headers,
    connection: connectionOf(req)?.number ?? 0 };
  let m;
  let answer;
  try {
    if (req.method !== 'POST') refuse(405, null, 'only POST');
    if (url.pathname === '/token') {
      ev.service = 'oauth';
      answer = oauthToken(req, body);
    } else if ((m = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(url.pathname))) {
      ev.service = 'fcm';
      answer = fcmSend(req, body, m[1], ev);
    } else if ((m = /^\/3\/device\/([^/]+)$/.exec(url.pathname))) {
      ev.service = 'apns';
      answer = apnsSend(req, body, m[1], ev);
    } else if ((m = /^\/wp\/([^/]+)$/.exec(url.pathname))) {
      ev.service = 'webpush';
      answer = webPush(req, body, m[1], ev);
    } else {
      refuse(404, null, 'no such path');
    }
    ev.ok = true;
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    ev.error = e.message;
    answer = { status: e.status, body: e.body };
  }
  // A scripted answer replaces the real one for a well-formed request.
  const script = ev.ok && ev.target !== undefined ? scripts.get(ev.target) : undefined;
  if (script && script.length) answer = script.shift();
  else if (mode.hangAll && ev.ok && ev.service !== 'oauth') answer = { hang: true };
  ev.status = answer.hang ? 'hung' : answer.status;
  if (mode.record) events.push(ev);
  if (answer.hang) {
    pending.add(res);
    res.on('close', () => pending.delete(res));
    return;
  }
  if (mode.delayMs > 0 && ev.service !== 'oauth') await new Promise((r) => setTimeout(r, mode.delayMs));
  res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.headers || {}) });
  res.end(answer.body === undefined || answer.body === null ? '' : JSON.stringify(answer.body));
  ev.answeredMs = now();
}

const server = http2.createSecureServer(
  // maxSessionMemory (MB): at Node's default of 10, about half of the 500-request bursts on one
  // connection ended in "Error in the HTTP2 framing layer" at libcurl (some pushes re-sent); at
  // 200 none did in seven. (With push_concurrency 8 the connection still ends after ~1,070
  // streams, GOAWAY INTERNAL_ERROR from Node — cause not found.)
  { cert: fs.readFileSync(config.cert), key: fs.readFileSync(config.key), allowHTTP1: true, maxSessionMemory: 200 },
  (req, res) => handle(req, res).catch((e) => { console.error(e); res.writeHead(500); res.end(); }));

const control = http.createServer(async (req, res) => {
  const body = await readBody(req);
  const reply = (status, doc) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(doc));
  };
  try {
    if (req.method === 'POST' && req.url === '/control/subscribe')
      return reply(200, subscribe(JSON.parse(body).applicationServerKey));
    if (req.method === 'POST' && req.url === '/control/script') {
      const s = JSON.parse(body);
      scripts.set(s.target, [...(scripts.get(s.target) || []), ...s.responses]);
      return reply(200, {});
    }
    if (req.method === 'GET' && req.url === '/control/events') return reply(200, { events });
    if (req.method === 'POST' && req.url === '/control/clear') {
      events.length = 0;
      return reply(200, {});
    }
    if (req.method === 'POST' && req.url === '/control/mode') {
      Object.assign(mode, JSON.parse(body));
      return reply(200, mode);
    }
    if (req.method === 'GET' && req.url === '/control/pending') return reply(200, { pending: pending.size });
    reply(404, { error: 'no such control endpoint' });
  } catch (e) {
    reply(400, { error: String(e) });
  }
});

// A test may hold its control connection idle for long (a benchmark runs in between): never
// closed under it.
control.keepAliveTimeout = 0;

server.listen(0, '127.0.0.1', () => {
  tlsPort = server.address().port;
  control.listen(0, '127.0.0.1', () => {
    process.stdout.write(`LISTENING ${tlsPort} ${control.address().port}\n`);
  });
});
process.on('SIGTERM', () => process.exit(0));
