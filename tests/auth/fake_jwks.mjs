// SPDX-License-Identifier: Apache-2.0
// A loopback identity provider that rotates its keys, as Firebase Auth or an OIDC provider
// does: it publishes a JWKS over HTTPS with a Cache-Control max-age and signs ID tokens
// (RS256, with Node's own crypto: an implementation independent of dialtoned's).
//
//   node fake_jwks.mjs <cert.pem> <key.pem>
//   prints: LISTENING <tls port> <control port>
//
// TLS port:      GET /jwks.json   the published keys; Cache-Control: public, max-age=<maxAge>
// Control port (plain HTTP, for the tests):
//   POST /control/rotate {retire}  a new signing key (kid k<n>) is published; retire: true drops
//        the others from the JWKS (as providers do a while after a rotation). → {kid}
//   POST /control/token {sub, iss, aud, kid?, ttl?, unpublished?}  an ID token signed by the
//        key `kid` (default: the newest); unpublished: by a key never published. → {token}
//   POST /control/mode {mode, maxAge}  mode: up | down (503) | garbage (200, not JSON) | hang
//   GET  /control/stats  → {fetches, kids}: JWKS requests answered so far, kids published
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const [certPath, keyPath] = process.argv.slice(2);
const keys = [];  // {kid, privateKey, publicJwk, published}
let nextKid = 1;
let mode = 'up';
let maxAge = 3600;
let fetches = 0;

function newKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `k${nextKid++}`;
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk, published: true };
}

function sign(key, claims) {
  const b64u = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64u({ alg: 'RS256', typ: 'JWT', kid: key.kid })}.${b64u(claims)}`;
  const sig = crypto.sign('sha256', Buffer.from(input), key.privateKey).toString('base64url');
  return `${input}.${sig}`;
}

keys.push(newKey());

const jwks = https.createServer(
  { cert: fs.readFileSync(certPath), key: fs.readFileSync(keyPath) }, (req, res) => {
    if (req.method !== 'GET' || req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    if (mode === 'hang') return;  // never answers
    fetches++;
    if (mode === 'down') {
      res.writeHead(503, { 'Content-Type': 'text/plain' }).end('maintenance');
      return;
    }
    const body = mode === 'garbage'
      ? '<html>login</html>'
      : JSON.stringify({ keys: keys.filter((k) => k.published).map((k) => k.publicJwk) });
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': `public, max-age=${maxAge}, must-revalidate, no-transform`,
    }).end(body);
  });

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => resolve(data ? JSON.parse(data) : {}));
  });
}

const control = http.createServer(async (req, res) => {
  const reply = (o) => res.writeHead(200, { 'Content-Type': 'application/json' })
    .end(JSON.stringify(o));
  const body = await readBody(req);
  if (req.url === '/control/rotate') {
    const k = newKey();
    if (body.retire) for (const old of keys) old.published = false;
    keys.push(k);
    return reply({ kid: k.kid });
  }
  if (req.url === '/control/token') {
    const key = body.unpublished ? { ...newKey(), published: false }
      : keys.find((k) => k.kid === (body.kid || keys[keys.length - 1].kid));
    if (!key) return res.writeHead(404).end();
    const now = Math.floor(Date.now() / 1000);
    return reply({
      token: sign(key, {
        iss: body.iss, aud: body.aud, sub: body.sub, iat: now, exp: now + (body.ttl || 3600),
      }),
    });
  }
  if (req.url === '/control/mode') {
    if (body.mode) mode = body.mode;
    if (body.maxAge !== undefined) maxAge = body.maxAge;
    return reply({ mode, maxAge });
  }
  if (req.url === '/control/stats') {
    return reply({ fetches, kids: keys.filter((k) => k.published).map((k) => k.kid) });
  }
  res.writeHead(404).end();
});

jwks.listen(0, '127.0.0.1', () => control.listen(0, '127.0.0.1', () => {
  console.log(`LISTENING ${jwks.address().port} ${control.address().port}`);
}));
process.on('SIGTERM', () => process.exit(0));
